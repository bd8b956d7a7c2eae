/**
 * @zabkit/client: the promise API to a zabkit (or ZooKeeper) session, over TCP or over any
 * `LinkFactory` (an in-process server, such as `@zabkit/server`'s LocalServer, is one).
 *
 * @packageDocumentation
 */

export { type ACL, digestOf, ErrorCode, type Id, Ids, Perms, type Stat, ZabError } from '@zabkit/core';
export {
  type ClientOptions,
  type ClientState,
  type ClientTimers,
  realTimers,
  type StateListener,
  ZabClient,
} from './client.js';
export type { ClientLink, LinkCloseReason, LinkFactory, LinkHandlers, LinkMessage } from './link.js';
export { jsonLogger, type LogFn, type Logger, type LogLevel, silentLogger } from './log.js';
export type { CreateModeName, WatcherTypeName } from './modes.js';
export {
  connectTcp,
  type HostPort,
  parseConnectString,
  TcpLinkFactory,
  type TcpLinkOptions,
} from './tcp-link.js';
export { type CreateOptions, type Data, Transaction, TransactionError } from './transaction.js';
export type { WatchedEvent, WatchKind, WatchListener } from './watch-registry.js';
export { WatchStream, type WatchStreamHooks } from './watch-stream.js';
