/**
 * @zabkit/client: the promise API to a zabkit (or ZooKeeper) session, over TCP or over any
 * `LinkFactory` (an in-process server, such as `@zabkit/server`'s LocalServer, is one).
 *
 * @packageDocumentation
 */

export {
  type ACL,
  digestOf,
  ErrorCode,
  type Id,
  Ids,
  type MultiOp,
  type MultiReadOp,
  type OpResult,
  Perms,
  type Stat,
  ZabError,
} from '@zabkit/core';
export { ZabClient } from './client.js';
export { type DataCodec, json, utf8 } from './codec.js';
export { type CancelReason, RequestCancelledError, type RequestOutcome } from './errors.js';
export type { ClientLink, LinkCloseReason, LinkFactory, LinkHandlers, LinkMessage } from './link.js';
export { jsonLogger, type LogFn, type Logger, type LogLevel, silentLogger } from './log.js';
export type { CreateModeName, WatcherTypeName } from './modes.js';
export type {
  ClientEvents,
  ClientOptions,
  CodecOption,
  CreateNodeOptions,
  CreateOptions,
  DeleteRecursiveOptions,
  EnsembleConfigReading,
  GetDataOptions,
  OperationOptions,
  ParentMode,
  ReconfigOptions,
  SessionExpiredEvent,
  SessionRenewedEvent,
  SetDataOptions,
  UpdateOptions,
  UpdateResult,
  VersionOptions,
  WatchOptions,
} from './options.js';
export {
  BoundedExponentialBackoffRetry,
  ExponentialBackoffRetry,
  exponentialRetriesMax,
  type RandomizedRetryOptions,
  type ReconnectBackoff,
  RetryForever,
  RetryNTimes,
  RetryOneTime,
  type RetryPolicy,
  RetryUntilElapsed,
} from './retry.js';
export {
  DigestMd5Client,
  type DigestParts,
  digestProtocol,
  digestResponse,
  digestServerName,
  parseDirectives,
  type SaslDigestCredentials,
  SaslFailure,
} from './sasl-digest.js';
export type { ExpiryDetector } from './session.js';
export type { ClientState, StateListener } from './state.js';
export {
  connectTcp,
  type HostPort,
  parseConnectString,
  splitChroot,
  TcpLinkFactory,
  type TcpLinkOptions,
  type TcpTlsOptions,
} from './tcp-link.js';
export { type ClientTimers, type RandomSource, realTimers } from './timers.js';
export {
  type OperationTrace,
  operationChannelName,
  operationTracingChannelName,
} from './trace.js';
export { type Data, Transaction, TransactionError } from './transaction.js';
export type { WatchedEvent, WatchKind, WatchListener } from './watch-registry.js';
export { WatchStream, type WatchStreamHooks } from './watch-stream.js';
