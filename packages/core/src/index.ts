/**
 * @zabkit/core: zabkit's pure, deterministic core. No I/O, no clock, no randomness: every
 * input arrives through a `step` function and every effect leaves as data.
 *
 * @packageDocumentation
 */
export * from './acl.js';
export * from './errors.js';
export * from './path.js';
export * from './requests.js';
export * from './stat.js';
export * from './txn.js';
export * from './zxid.js';
export { DataTree, type ApplyOutcome, type TreeChange, type TxnResult } from './tree/data-tree.js';
export { Znode } from './tree/znode.js';
export {
  RequestPreparer,
  checkAndIncrementVersion,
  type InternalRequest,
  type PreparableRequest,
  type PrepInput,
  type PreparerOptions,
} from './prep/preparer.js';
export { SessionTracker, negotiateTimeout, type SessionTimeoutBounds } from './sessions/session-tracker.js';
export * from './watches/events.js';
export { WatchManager, type Delivery, type WatcherId } from './watches/watch-manager.js';
export * from './server/io.js';
export { ReplicaFront, type CommitPath, type FrontOptions, type WriteOrigin } from './server/replica-front.js';
export { SessionIdGenerator, sessionPassword, samePassword, passwordLengthBytes } from './server/session-ids.js';
export {
  StandaloneServer,
  resolveServerOptions,
  type ServerOptions,
  type ResolvedServerOptions,
} from './server/standalone.js';
export { sha1 } from './acl/sha1.js';
export { encodeBase64 } from './acl/base64.js';
