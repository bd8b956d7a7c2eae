/**
 * @zabkit/client: the promise API to a zabkit (or ZooKeeper) session, and an in-process
 * server to embed.
 *
 * @packageDocumentation
 */
export { ZabClient, type ClientOptions, type ClientState } from './client.js';
export { LocalServer, type LocalServerOptions } from './local-server.js';
export type { ClientLink, LinkCloseReason, LinkFactory, LinkHandlers, LinkMessage } from './link.js';
export type { CreateModeName, WatcherTypeName } from './modes.js';
export { Transaction, TransactionError, type CreateOptions, type Data } from './transaction.js';
export { WatchStream } from './watch-stream.js';
export type { WatchedEvent, WatchListener, WatchKind } from './watch-registry.js';
export { ErrorCode, Ids, Perms, ZabError, digestOf, type ACL, type Id, type Stat } from '@zabkit/core';
