/**
 * The options and events of the client, in a module of their own so that the client, its
 * operation runner and the transaction builder share them without importing each other.
 */
import type { ACL, Stat } from '@zabkit/core';
import type { DataCodec } from './codec.js';
import type { Logger } from './log.js';
import type { CreateModeName } from './modes.js';
import type { ReconnectBackoff, RetryPolicy } from './retry.js';
import type { ExpiryDetector } from './session.js';
import type { ClientState } from './state.js';
import type { ClientTimers, RandomSource } from './timers.js';
import type { WatchedEvent, WatchListener } from './watch-registry.js';

/**
 * Bounds and retries for one operation. An operation cut short by `signal` or `timeoutMs`
 * rejects with a RequestCancelledError whose `outcome` says whether its request may still be
 * applied (`unknown`) or certainly was not (`notSent`).
 */
export interface OperationOptions {
  /** Abandons the operation when aborted. */
  readonly signal?: AbortSignal | undefined;
  /** Abandons the operation after this many milliseconds, retries included. Default: the client's `requestTimeoutMs`, else none. */
  readonly timeoutMs?: number | undefined;
  /**
   * The retry policy for this call, or `false` for none. Default: the client's `retryPolicy`.
   * Only operations that are safe to repeat are retried (see `ZabClient`).
   */
  readonly retry?: RetryPolicy | false | undefined;
}

/** How to create a znode: its mode, ACL and, for TTL modes, its TTL. */
export interface CreateOptions {
  readonly mode?: CreateModeName;
  readonly acl?: readonly ACL[];
  /** Required with the TTL modes: how long the node may sit unchanged and childless. */
  readonly ttlMs?: number;
}

/** How a client opens and keeps its session. */
export interface ClientOptions {
  /**
   * Accept a read-only server (ZooKeeper's readonlymode) when no quorum is reachable; the
   * state is then `connectedReadOnly`. Default false.
   */
  readonly allowReadOnly?: boolean | undefined;
  /** Requested session timeout; the server clamps it to its bounds. Default 30 s. */
  readonly sessionTimeoutMs?: number | undefined;
  /** Resume this session instead of creating one (with `password`). */
  readonly sessionId?: bigint | undefined;
  /** The password of the session named by `sessionId` (16 bytes). */
  readonly password?: Uint8Array | undefined;
  /** How long to wait for a session before giving up on `connect`. Default: the session timeout. */
  readonly connectTimeoutMs?: number | undefined;
  /** The address the server sees for ip ACLs of in-process links. Default 127.0.0.1. */
  readonly clientAddress?: string | undefined;
  /**
   * Send pings when idle, a third of the session timeout apart, as ZooKeeper clients do
   * (default true). Turning them off lets a test watch a silent session expire.
   */
  readonly heartbeat?: boolean | undefined;
  /** Called when a watch listener throws; by default the error goes to the logger, else the console. */
  readonly onListenerError?: ((error: unknown, event: WatchedEvent) => void) | undefined;
  /**
   * The clock and timers the client runs on. Default: the real ones. The simulator passes
   * virtual ones, so a client (and the recipes on it) replays exactly from a seed.
   */
  readonly timers?: ClientTimers | undefined;
  /** Where jitter and protected-node ids come from. Default `Math.random` (ids from `crypto.randomUUID`). */
  readonly random?: RandomSource | undefined;
  /** Waits between reconnect attempts (exponential, with jitter). */
  readonly reconnect?: ReconnectBackoff | undefined;
  /**
   * Report the session expired when no server has been heard for 4/3 of the negotiated
   * timeout, without waiting for a server to say so (ZooKeeper 3.9's client-side expiry).
   * Default true.
   */
  readonly expireLocally?: boolean | undefined;
  /**
   * Managed sessions: after the session expires, open a new one on the same client and emit
   * `sessionRenewed`. Ephemerals and watches of the old session are gone; credentials given
   * with `addAuth` are presented again. Default false: an expired client is finished.
   */
  readonly renewSession?: boolean | undefined;
  /** Where the client logs (pino's call order); default none, except listener errors on the console. */
  readonly logger?: Logger | undefined;
  /** Paths are below this node on the server (a chroot). `connectTcp` takes it from the connect string. */
  readonly chroot?: string | undefined;
  /** The retry policy of every operation that does not choose its own. Default none. */
  readonly retryPolicy?: RetryPolicy | undefined;
  /** The deadline of every operation that does not set `timeoutMs`. Default none. */
  readonly requestTimeoutMs?: number | undefined;
}

/** What `expired` tells: the session that ended, and who noticed. */
export interface SessionExpiredEvent {
  /** The session that expired. */
  readonly sessionId: bigint;
  /** `server`: a server said so. `client`: no server was heard for 4/3 of the timeout. */
  readonly detectedBy: ExpiryDetector;
}

/** What `sessionRenewed` tells a managed client's owner. */
export interface SessionRenewedEvent {
  /** The session that expired. */
  readonly previousSessionId: bigint;
  /** The new session, already connected. */
  readonly sessionId: bigint;
}

/**
 * A client's events, for `on`/`once` and `events.once`/`events.on`: `state` on every change,
 * then one event named after the new state (`connected`, `disconnected`, ...); `expired` carries
 * who detected it; `sessionRenewed` follows when a managed client has a new session.
 */
export interface ClientEvents {
  state: [state: ClientState];
  connecting: [];
  connected: [];
  connectedReadOnly: [];
  disconnected: [];
  closed: [];
  expired: [event: SessionExpiredEvent];
  sessionRenewed: [event: SessionRenewedEvent];
  /** Node's: a listener is about to be added. */
  newListener: [event: string | symbol, listener: (...args: never[]) => void];
  /** Node's: a listener was removed. */
  removeListener: [event: string | symbol, listener: (...args: never[]) => void];
}

/** Options of calls that may leave a one-shot watch. */
export interface WatchOptions extends OperationOptions {
  /** A one-shot watch: called once, at the next change the call's kind of watch reports. */
  readonly watch?: WatchListener | undefined;
}

/** Options of `getData`. */
export interface GetDataOptions extends WatchOptions {}

/**
 * A membership change for `reconfig`, in ZooKeeper's terms: incremental (`joining` and/or
 * `leaving`) or whole (`newMembers`), never both.
 */
export interface ReconfigOptions extends OperationOptions {
  /**
   * Servers to add (or to change, for an id already a member), each as a dynamic file's line:
   * `server.N=host:quorumPort:electionPort[:participant|:observer];[clientAddress:]clientPort`.
   * A list, or one comma-separated string as ZooKeeper's API takes it.
   */
  readonly joining?: string | readonly string[] | undefined;
  /** Ids of servers to remove: a list, or one comma-separated string. */
  readonly leaving?: string | readonly (number | string)[] | undefined;
  /**
   * The whole new membership (a non-incremental change): lines as `joining` takes them, a list
   * or one string with the lines separated by commas or newlines.
   */
  readonly newMembers?: string | readonly string[] | undefined;
  /**
   * The configuration version the change is meant for (the `version=` of `getConfig`): the
   * leader refuses with BadVersion when the current one differs. -1n (the default) skips the check.
   */
  readonly fromConfig?: bigint | undefined;
}

/** The ensemble's configuration as `/zookeeper/config` holds it, from `getConfig` or `reconfig`. */
export interface EnsembleConfigReading {
  /**
   * The text: one `server.N=host:quorumPort:electionPort:role[;clientAddress:clientPort]` line
   * per member, then `version=<hex>`; empty on a standalone server.
   */
  readonly text: string;
  /** The raw bytes of the node. */
  readonly data: Uint8Array;
  /**
   * The configuration's version, from the text's `version=` line (the zxid of the reconfig
   * that made it; 0 for a static membership); undefined when the text has none.
   */
  readonly version: bigint | undefined;
  /** The node's Stat (its mzxid is the version's zxid; dataVersion stays -1 on ZooKeeper). */
  readonly stat: Stat;
}

/** A codec for an operation's data. */
export interface CodecOption<T> {
  /** Turns the data into values of T and back (`utf8`, `json()`). */
  readonly codec: DataCodec<T>;
}

/** Options of `setData`. */
export interface SetDataOptions extends OperationOptions {
  /** Applies only at this data version; -1 (the default) at any. Versioned sets can be retried. */
  readonly version?: number | undefined;
}

/** Options of `delete` and `setACL`. */
export interface VersionOptions extends OperationOptions {
  /** Applies only at this version; -1 (the default) at any. Versioned calls can be retried. */
  readonly version?: number | undefined;
}

/** How parents missing under a created node are made. */
export type ParentMode = 'container' | 'persistent';

/** Options of `create` and `create2`. */
export interface CreateNodeOptions extends CreateOptions, OperationOptions {
  /**
   * Make missing parents first: as containers (`true` or `'container'`, Curator's
   * creatingParentContainersIfNeeded: the server removes them once empty) or `'persistent'`.
   */
  readonly createParents?: boolean | ParentMode | undefined;
  /**
   * Curator's protection: the node's name starts with `_c_<uuid>-`, so that after a connection
   * loss the client finds out whether its create was applied instead of guessing. Makes
   * sequential creates safe to retry.
   */
  readonly protected?: boolean | undefined;
}

/** Options of `deleteRecursive`. */
export interface DeleteRecursiveOptions extends OperationOptions {
  /** Deletes per multi. Default 1000 (ZooKeeper's deleteall); batches also stay under 512 KiB. */
  readonly batchSize?: number | undefined;
}

/** Options of `update`. */
export interface UpdateOptions extends OperationOptions {
  /** How many version conflicts to go through before failing with BadVersion. Default 100. */
  readonly conflictsMax?: number | undefined;
}

/** What `update` did. */
export interface UpdateResult<T> {
  /** False when the updater returned `undefined` and nothing was written. */
  readonly updated: boolean;
  /** The value now stored (written, or read when nothing was written). */
  readonly value: T;
  /** The node's Stat after the update (or as read). */
  readonly stat: Stat;
}
