/**
 * @zabkit/core: zabkit's pure, deterministic core. No I/O, no clock, no randomness: every
 * input arrives through a `step` function and every effect leaves as data.
 *
 * @packageDocumentation
 */

export { encodeBase64 } from './acl/base64.js';
export { sha1 } from './acl/sha1.js';
export * from './acl.js';
export { type ClockReading, clockAt } from './clock.js';
export * from './ensemble-config.js';
export * from './errors.js';
export {
  ClientFront,
  type ClientFrontOptions,
  type CommitPath,
  type WriteOrigin,
} from './front/client-front.js';
export * from './front/client-io.js';
export * from './link.js';
export * from './owned-bytes.js';
export * from './path.js';
export {
  checkAndIncrementVersion,
  type InternalRequest,
  type PreparableRequest,
  type PreparerOptions,
  type PrepInput,
  type QuotaNotice,
  RequestPreparer,
  type RestoreRequest,
} from './prep/preparer.js';
export {
  type CrashLoss,
  ReadyPipeline,
  type ReadyPipelineOptions,
  type StorageWrite,
  type WriteCompletion,
} from './ready/pipeline.js';
export * from './requests.js';
export { type ResolvedServerOptions, resolveServerOptions, type ServerOptions } from './server-options.js';
export {
  decodedSessionId,
  noSessionId,
  passwordLengthBytes,
  provenSessionId,
  SessionIdGenerator,
  samePassword,
  sessionPassword,
} from './sessions/session-ids.js';
export { negotiateTimeout, type SessionTimeoutBounds, SessionTracker } from './sessions/session-tracker.js';
export * from './stat.js';
export {
  type Epochs,
  type LoadOptions,
  type PeerStorage,
  type PersistedState,
  type SnapshotChunk,
  type SnapshotCursor,
  type StorageAction,
  type StorageRead,
  snapshotNodeBytes,
} from './storage.js';
export { type StagedSnapshot, StorageImage } from './storage-image.js';
export type { PeerTransport, TransportHandlers } from './transport.js';
export {
  type ApplyOutcome,
  DataTree,
  type SnapshotNode,
  type TreeChange,
  type TreeSnapshot,
  type TxnResult,
} from './tree/data-tree.js';
export {
  containerLifetime,
  ephemeralOwnerOf,
  isEphemeralOf,
  lifetimeOf,
  type NodeLifetime,
  persistentLifetime,
} from './tree/lifetime.js';
export {
  parseStatsTrack,
  quotaLimitNode,
  quotaLimitPath,
  quotaStatNode,
  quotaStatPath,
  StatsTrack,
} from './tree/quotas.js';
export { restoreProblem } from './tree/snapshot-node.js';
export { SnapshotStream } from './tree/snapshot-stream.js';
export { Znode } from './tree/znode.js';
export * from './txn.js';
export { decodeUtf8, encodeUtf8 } from './utf8.js';
export * from './watches/events.js';
export { type Delivery, type WatcherId, WatchManager } from './watches/watch-manager.js';
export type { PeerContext, TxnOrigin } from './zab/context.js';
export { betterVote, type ElectionOptions, type ElectionOutput, FastLeaderElection } from './zab/election.js';
export type {
  LeadershipTransferOutcome,
  PeerEvent,
  SyncFailure,
  SyncProgress,
  SyncSide,
} from './zab/events.js';
export type {
  ElectionMessage,
  Envelope,
  LeaderMessage,
  LearnerMessage,
  LearnerSyncMode,
  PeerMessage,
  PeerRole,
  RelayedTransferOutcome,
  Vote,
} from './zab/messages.js';
export {
  type BoundsReached,
  type PeerBound,
  type PeerOptions,
  type ResolvedPeerOptions,
  resolvePeerOptions,
} from './zab/options.js';
export type { LinkClosure } from './zab/outbox.js';
export { type PeerInput, type PeerReady, ZabPeer, type ZabPeerOptions } from './zab/peer.js';
export { JointQuorum, MajorityQuorum, type QuorumVerifier, type ServerId } from './zab/quorum.js';
export type {
  FollowerLagVisitor,
  LearnerView,
  PeerStatus,
  ReplicaStats,
  SessionSummary,
} from './zab/status.js';
export { followsContiguously, TxnLog, txnBytes } from './zab/txn-log.js';
export * from './zxid.js';
