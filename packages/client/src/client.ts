/**
 * ZabClient: the promise API over one session. It owns the session's state machine
 * (connecting, connected, disconnected, expired, closed), matches replies to requests,
 * keeps watch callbacks, and on a lost link reconnects with the same session and
 * re-registers its watches.
 */
import {
  type ACL,
  AddWatchMode,
  type ClientRequest,
  type ConnectRequest,
  ErrorCode,
  type ErrorCodeValue,
  Ids,
  type MultiOp,
  type MultiReadOp,
  type OpResult,
  type Reply,
  type ResultByOp,
  type Stat,
  zxid as toZxid,
  ZabError,
  type Zxid,
  zeroZxid,
} from '@zabkit/core';
import type { ClientLink, LinkCloseReason, LinkFactory, LinkMessage } from './link.js';
import { type WatcherTypeName, watcherTypeNumber } from './modes.js';
import type { ClientState, StateListener } from './state.js';
import {
  type CreateOptions,
  checkMultiResults,
  createOp,
  type Data,
  Transaction,
  toBytes,
} from './transaction.js';
import { type WatchedEvent, type WatchKind, type WatchListener, WatchRegistry } from './watch-registry.js';
import { WatchStream } from './watch-stream.js';

/** How a client opens and keeps its session. */
export interface ClientOptions {
  /**
   * Accept a read-only server (ZooKeeper's readonlymode) when no quorum is reachable; the
   * state is then `connectedReadOnly`. Default false.
   */
  readonly allowReadOnly?: boolean;
  /** Requested session timeout; the server clamps it to its bounds. Default 30 s. */
  readonly sessionTimeoutMs?: number;
  /** Resume this session instead of creating one (with `password`). */
  readonly sessionId?: bigint;
  /** The password of the session named by `sessionId` (16 bytes). */
  readonly password?: Uint8Array;
  /** How long to wait for a session before giving up on `connect`. Default: the session timeout. */
  readonly connectTimeoutMs?: number;
  /** The address the server sees for ip ACLs of in-process links. Default 127.0.0.1. */
  readonly clientAddress?: string;
  /**
   * Send pings when idle, a third of the session timeout apart, as ZooKeeper clients do
   * (default true). Turning them off lets a test watch a silent session expire.
   */
  readonly heartbeat?: boolean;
  /** Called when a watch listener throws; by default the error is logged to the console. */
  readonly onListenerError?: (error: unknown, event: WatchedEvent) => void;
  /**
   * The clock and timers the client runs on. Default: the real ones. The simulator passes
   * virtual ones, so a client (and the recipes on it) replays exactly from a seed.
   */
  readonly timers?: ClientTimers;
}

/** A clock and one-shot timers: what a client needs of time. */
export interface ClientTimers {
  /** Milliseconds on the clock the timers run on. */
  now(): number;
  /**
   * Runs `callback` after `delayMs`. The timer keeps a process alive only with `keepAlive`
   * (the connect deadline, which a caller awaits); retries and heartbeats do not.
   */
  setTimeout(callback: () => void, delayMs: number, keepAlive?: boolean): unknown;
  /** Cancels a timer made by `setTimeout`; unknown handles are ignored. */
  clearTimeout(handle: unknown): void;
}

/** Real time, with timers that do not hold the process open. */
export const realTimers: ClientTimers = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs, keepAlive = false) => {
    const handle = setTimeout(callback, delayMs);
    if (!keepAlive) handle.unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

type Pending = {
  readonly op: ClientRequest['op'];
  /**
   * Runs when the reply arrives, before any later message is handled: watch listeners must
   * be registered before an event that follows the reply can be dispatched.
   */
  readonly onReply: ((reply: Reply) => void) | undefined;
  readonly resolve: (reply: Reply) => void;
  readonly reject: (error: Error) => void;
};

const reconnectDelayMaxMs = 1000;

/** A session with a zabkit (or ZooKeeper) ensemble: the promise API, watches, and failover between servers with the same session. */
export class ZabClient {
  private link: ClientLink | undefined;
  private currentState: ClientState = 'connecting';
  private nextXid = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly watchRegistry = new WatchRegistry();
  private readonly stateListeners = new Set<StateListener>();
  private readonly authentications: { scheme: string; auth: Uint8Array }[] = [];
  private session: { id: bigint; password: Uint8Array; timeoutMs: number } = {
    id: 0n,
    password: new Uint8Array(16),
    timeoutMs: 0,
  };
  private lastZxidSeen: Zxid = zeroZxid;
  private connectWaiter: { resolve: () => void; reject: (error: Error) => void } | undefined;
  private reconnectTimer: unknown;
  private reconnectAttempt = 0;
  private heartbeatTimer: unknown;
  private readonly timers: ClientTimers;
  private lastSentMs = 0;

  private constructor(
    private readonly links: LinkFactory,
    private readonly options: ClientOptions,
  ) {
    this.timers = options.timers ?? realTimers;
    if (options.sessionId !== undefined) {
      this.session = {
        id: options.sessionId,
        password: options.password ?? new Uint8Array(16),
        timeoutMs: 0,
      };
    }
  }

  /** Opens a session through `links`; resolves once the server has established it. */
  static async connect(links: LinkFactory, options: ClientOptions = {}): Promise<ZabClient> {
    const client = new ZabClient(links, options);
    await client.open();
    return client;
  }

  /** Where the session stands now; `onStateChange` reports each change. */
  get state(): ClientState {
    return this.currentState;
  }

  /** The server-assigned session id; pass it with `sessionPassword` to resume the session elsewhere. */
  get sessionId(): bigint {
    return this.session.id;
  }

  /** The session's 16-byte password, needed with `sessionId` to resume it. */
  get sessionPassword(): Uint8Array {
    return this.session.password;
  }

  /** The timeout the server negotiated. */
  get sessionTimeoutMs(): number {
    return this.session.timeoutMs;
  }

  /** The highest zxid this client has seen in a reply or event. */
  get lastSeenZxid(): Zxid {
    return this.lastZxidSeen;
  }

  /** Calls `listener` on every state change; returns a function that stops it. */
  onStateChange(listener: StateListener): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  private isConnected(): boolean {
    return this.currentState === 'connected' || this.currentState === 'connectedReadOnly';
  }

  private setState(state: ClientState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    for (const listener of [...this.stateListeners]) listener(state);
  }

  private open(): Promise<void> {
    const timeoutMs = this.options.connectTimeoutMs ?? this.options.sessionTimeoutMs ?? 30_000;
    return new Promise<void>((resolve, reject) => {
      // Held open: a process awaiting only this connect must wait for its outcome.
      const deadline = this.timers.setTimeout(
        () => {
          this.connectWaiter = undefined;
          this.shutdown('closed', ErrorCode.ConnectionLoss);
          reject(new ZabError(ErrorCode.ConnectionLoss, undefined, `no session within ${timeoutMs} ms`));
        },
        timeoutMs,
        true,
      );
      this.connectWaiter = {
        resolve: () => {
          this.timers.clearTimeout(deadline);
          resolve();
        },
        reject: (error) => {
          this.timers.clearTimeout(deadline);
          reject(error);
        },
      };
      this.openLink();
    });
  }

  private openLink(): void {
    const link = this.links.open(
      {
        message: (message) => {
          if (this.link === link) this.onMessage(message);
        },
        closed: (reason) => {
          if (this.link === link) this.onLinkClosed(reason);
        },
      },
      this.reconnectAttempt,
    );
    this.link = link;
    const request: ConnectRequest = {
      sessionId: this.session.id,
      password: this.session.password,
      timeoutMs: this.options.sessionTimeoutMs ?? 30_000,
      lastZxidSeen: this.lastZxidSeen,
      readOnly: this.options.allowReadOnly ?? false,
      clientAddress: this.options.clientAddress ?? '127.0.0.1',
    };
    link.connect(request);
  }

  private onMessage(message: LinkMessage): void {
    switch (message.kind) {
      case 'connected':
        this.onConnected(message);
        return;
      case 'reply': {
        this.seeZxid(message.zxid);
        const pending = this.pending.get(message.xid);
        if (pending === undefined) return;
        this.pending.delete(message.xid);
        pending.onReply?.(message.reply);
        pending.resolve(message.reply);
        return;
      }
      case 'watch': {
        if (message.zxid > 0n) this.seeZxid(toZxid(message.zxid));
        const reached = this.watchRegistry.materialize(message.event.type, message.event.path);
        if (reached === undefined) return;
        for (const listener of reached.listeners) this.deliver(listener, reached.event);
        return;
      }
    }
  }

  private seeZxid(zxid: Zxid): void {
    if (zxid > this.lastZxidSeen) this.lastZxidSeen = zxid;
  }

  private onConnected(message: Extract<LinkMessage, { kind: 'connected' }>): void {
    if (message.timeoutMs <= 0) {
      this.shutdown('expired', ErrorCode.SessionExpired);
      return;
    }
    this.session = { id: message.sessionId, password: message.password, timeoutMs: message.timeoutMs };
    this.reconnectAttempt = 0;
    this.startHeartbeat();
    this.setState(message.readOnly === true ? 'connectedReadOnly' : 'connected');
    this.restoreSessionState();
    const waiter = this.connectWaiter;
    this.connectWaiter = undefined;
    waiter?.resolve();
  }

  /** After a reconnect: authenticate again and re-register every watch (ZooKeeper's setWatches). */
  private restoreSessionState(): void {
    for (const { scheme, auth } of this.authentications) {
      this.call({ op: 'auth', scheme, auth }).catch(() => undefined);
    }
    if (this.watchRegistry.isEmpty()) return;
    const request: ClientRequest = {
      op: 'setWatches',
      relativeZxid: this.lastZxidSeen,
      dataWatches: this.watchRegistry.paths('data'),
      existWatches: this.watchRegistry.paths('exist'),
      childWatches: this.watchRegistry.paths('child'),
      persistentWatches: this.watchRegistry.paths('persistent'),
      persistentRecursiveWatches: this.watchRegistry.paths('persistentRecursive'),
    };
    this.call(request).catch(() => undefined);
  }

  private startHeartbeat(): void {
    if (this.heartbeatTimer !== undefined || this.options.heartbeat === false) return;
    const intervalMs = Math.max(1, Math.floor(this.session.timeoutMs / 3));
    const beat = () => {
      this.heartbeatTimer = this.timers.setTimeout(beat, Math.max(1, Math.floor(intervalMs / 2)));
      if (!this.isConnected()) return;
      if (this.timers.now() - this.lastSentMs < intervalMs) return;
      this.call({ op: 'ping' }).catch(() => undefined);
    };
    this.heartbeatTimer = this.timers.setTimeout(beat, Math.max(1, Math.floor(intervalMs / 2)));
  }

  private onLinkClosed(reason: LinkCloseReason): void {
    this.link = undefined;
    if (reason === 'sessionExpired') {
      this.shutdown('expired', ErrorCode.SessionExpired);
      return;
    }
    if (reason === 'sessionClosed') {
      this.shutdown('closed', ErrorCode.ConnectionLoss);
      return;
    }
    this.failPending(ErrorCode.ConnectionLoss);
    if (this.isConnected()) this.setState('disconnected');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.currentState === 'closed' || this.currentState === 'expired') return;
    const delayMs = Math.min(
      reconnectDelayMaxMs,
      this.reconnectAttempt === 0 ? 0 : 10 * 2 ** this.reconnectAttempt,
    );
    this.reconnectAttempt++;
    // A client retrying on its own must not keep an otherwise finished process alive:
    // the real timers are unref'd.
    this.reconnectTimer = this.timers.setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.currentState === 'closed' || this.currentState === 'expired') return;
      this.openLink();
    }, delayMs);
  }

  private failPending(code: ErrorCodeValue): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const request of pending) request.reject(new ZabError(code));
  }

  private shutdown(state: 'closed' | 'expired', code: ErrorCodeValue): void {
    if (this.reconnectTimer !== undefined) this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.heartbeatTimer !== undefined) this.timers.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.link?.close();
    this.link = undefined;
    this.failPending(code);
    this.watchRegistry.clear();
    this.setState(state);
    const waiter = this.connectWaiter;
    this.connectWaiter = undefined;
    waiter?.reject(new ZabError(code));
  }

  /** Sends one request and resolves with its reply, whether it succeeded or not. */
  private call(request: ClientRequest, onReply?: (reply: Reply) => void): Promise<Reply> {
    if (!this.isConnected() || this.link === undefined) {
      const code = this.currentState === 'expired' ? ErrorCode.SessionExpired : ErrorCode.ConnectionLoss;
      return Promise.reject(
        new ZabError(code, 'path' in request ? request.path : undefined, `client is ${this.currentState}`),
      );
    }
    const xid = this.nextXid;
    this.nextXid = this.nextXid === 0x7fff_ffff ? 1 : this.nextXid + 1;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(xid, { op: request.op, onReply, resolve, reject });
      this.lastSentMs = this.timers.now();
      this.link!.send(xid, request);
    });
  }

  /** Sends a request and unwraps a successful result, or throws ZooKeeper's error. */
  private async run<Op extends ClientRequest['op']>(
    request: ClientRequest & { op: Op },
    onReply?: (reply: Reply) => void,
  ): Promise<ResultByOp[Op]> {
    const reply = await this.call(request, onReply);
    if (!reply.ok) {
      throw new ZabError(reply.code, reply.path ?? ('path' in request ? request.path : undefined));
    }
    return reply.result as ResultByOp[Op];
  }

  // ---- znodes -------------------------------------------------------------------------

  private registerOnSuccess(kind: WatchKind, path: string, listener: WatchListener | undefined) {
    if (listener === undefined) return undefined;
    return (reply: Reply) => {
      if (reply.ok) this.watchRegistry.add(kind, path, listener);
    };
  }

  /** Creates a znode and resolves with its path (with the sequence suffix, if any). */
  async create(path: string, data?: Data, options?: CreateOptions): Promise<string> {
    return (await this.create2(path, data, options)).path;
  }

  /** Creates a znode and resolves with its path and Stat (ZooKeeper's create2). */
  create2(path: string, data?: Data, options?: CreateOptions): Promise<{ path: string; stat: Stat }> {
    return this.run(createOp(path, data, options) as ClientRequest & { op: 'create' });
  }

  /** Deletes a znode; `version` -1 deletes whatever the version (ZooKeeper's delete). */
  async delete(path: string, version = -1): Promise<void> {
    await this.run({ op: 'delete', path, version });
  }

  /** The node's Stat, or null when it does not exist. A watch fires on create, change or delete. */
  async exists(path: string, options: { watch?: WatchListener } = {}): Promise<Stat | null> {
    const watch = options.watch;
    const reply = await this.call({ op: 'exists', path, watch: watch !== undefined }, (reply) => {
      if (watch === undefined) return;
      if (reply.ok) this.watchRegistry.add('data', path, watch);
      else if (reply.code === ErrorCode.NoNode) this.watchRegistry.add('exist', path, watch);
    });
    if (reply.ok) return (reply.result as ResultByOp['exists']).stat;
    if (reply.code === ErrorCode.NoNode) return null;
    throw new ZabError(reply.code, path);
  }

  /** A znode's data and Stat; `watch` leaves a one-shot data watch. */
  async getData(
    path: string,
    options: { watch?: WatchListener } = {},
  ): Promise<{ data: Uint8Array; stat: Stat }> {
    return this.run(
      { op: 'getData', path, watch: options.watch !== undefined },
      this.registerOnSuccess('data', path, options.watch),
    );
  }

  /** Sets a node's data if its version is `version` (-1: any). Resolves with the new Stat. */
  async setData(path: string, data: Data, version = -1): Promise<Stat> {
    return (await this.run({ op: 'setData', path, data: toBytes(data), version })).stat;
  }

  /** The names of a znode's children, sorted; `watch` leaves a one-shot child watch. */
  async getChildren(path: string, options: { watch?: WatchListener } = {}): Promise<string[]> {
    return [...(await this.getChildrenWithStat(path, options)).children];
  }

  /** The children with the parent's Stat (ZooKeeper's getChildren2). */
  async getChildrenWithStat(
    path: string,
    options: { watch?: WatchListener } = {},
  ): Promise<{ children: readonly string[]; stat: Stat }> {
    return this.run(
      { op: 'getChildren', path, watch: options.watch !== undefined },
      this.registerOnSuccess('child', path, options.watch),
    );
  }

  /** The number of nodes below `path`, at any depth. */
  async getAllChildrenNumber(path: string): Promise<number> {
    return (await this.run({ op: 'getAllChildrenNumber', path })).totalNumber;
  }

  /** This session's ephemeral nodes whose paths start with `prefixPath`. */
  async getEphemerals(prefixPath = '/'): Promise<string[]> {
    return [...(await this.run({ op: 'getEphemerals', prefixPath })).ephemerals];
  }

  /** A znode's ACL and Stat; needs READ or ADMIN on it. */
  getACL(path: string): Promise<{ acl: readonly ACL[]; stat: Stat }> {
    return this.run({ op: 'getACL', path });
  }

  /** Replaces a znode's ACL if its ACL version is `version` (-1: any); answers the new Stat. */
  async setACL(path: string, acl: readonly ACL[], version = -1): Promise<Stat> {
    return (await this.run({ op: 'setACL', path, acl, version })).stat;
  }

  /** Waits until this server has every write committed before the call (then reads are fresher). */
  async sync(path = '/'): Promise<void> {
    await this.run({ op: 'sync', path });
  }

  /** Starts a transaction: ops added to it are committed all together or not at all. */
  transaction(): Transaction {
    return new Transaction((ops) => this.multi(ops));
  }

  /** Runs ops atomically. A failure rejects with a TransactionError holding every op's result. */
  async multi(ops: readonly MultiOp[]): Promise<readonly OpResult[]> {
    const { results } = await this.run({ op: 'multi', ops });
    return checkMultiResults(ops, results);
  }

  /** Several reads answered from one state; each op succeeds or fails on its own. */
  async multiRead(ops: readonly MultiReadOp[]): Promise<readonly OpResult[]> {
    return (await this.run({ op: 'multiRead', ops })).results;
  }

  // ---- authentication -----------------------------------------------------------------

  /** Adds credentials to the session, e.g. `addAuth('digest', 'user:password')`. */
  async addAuth(scheme: string, auth: Data): Promise<void> {
    const bytes = toBytes(auth);
    await this.run({ op: 'auth', scheme, auth: bytes });
    this.authentications.push({ scheme, auth: bytes });
  }

  /** The identities this session has authenticated as (ZooKeeper's whoAmI). */
  async whoAmI(): Promise<readonly { authScheme: string; user: string }[]> {
    return (await this.run({ op: 'whoAmI' })).clientInfo;
  }

  // ---- watches ------------------------------------------------------------------------

  /** Adds a persistent watch: `listener` sees every change until the watch is removed. */
  async addWatch(
    path: string,
    listener: WatchListener,
    options: { recursive?: boolean } = {},
  ): Promise<void> {
    const recursive = options.recursive ?? false;
    await this.run(
      { op: 'addWatch', path, mode: recursive ? AddWatchMode.PersistentRecursive : AddWatchMode.Persistent },
      this.registerOnSuccess(recursive ? 'persistentRecursive' : 'persistent', path, listener),
    );
  }

  /**
   * A persistent watch as an async iterator:
   * `for await (const event of zk.watch('/config', { recursive: true })) { ... }`.
   * Leaving the loop removes the watch.
   */
  watch(path: string, options: { recursive?: boolean; signal?: AbortSignal } = {}): WatchStream {
    return new WatchStream({
      start: (listener) => this.addWatch(path, listener, options),
      stop: (listener) =>
        this.removeWatches(path, options.recursive ? 'persistentRecursive' : 'persistent', listener).catch(
          () => undefined,
        ),
      onState: (listener) => this.onStateChange(listener),
      signal: options.signal,
    });
  }

  /**
   * Removes watches of `type` at `path`: only `listener` when given (the server's watch goes
   * once no listener of that kind is left), otherwise all of them.
   */
  async removeWatches(path: string, type: WatcherTypeName, listener?: WatchListener): Promise<void> {
    const kinds = this.watchRegistry.kindsFor(watcherTypeNumber(type));
    if (listener !== undefined) {
      const removed = kinds.map((kind) => this.watchRegistry.remove(kind, path, listener)).some(Boolean);
      if (!removed) throw new ZabError(ErrorCode.NoWatcher, path);
      if (kinds.some((kind) => this.watchRegistry.has(kind, path))) return;
    }
    await this.run({ op: 'removeWatches', path, watcherType: watcherTypeNumber(type) });
    for (const kind of kinds) this.watchRegistry.remove(kind, path);
  }

  /** Resolves when the server holds a watch of `type` at `path`; rejects with NoWatcher otherwise. */
  async checkWatches(path: string, type: WatcherTypeName): Promise<void> {
    await this.run({ op: 'checkWatches', path, watcherType: watcherTypeNumber(type) });
  }

  /** True when this client has a listener of `kind` registered at `path`. */
  hasWatch(kind: WatchKind, path: string): boolean {
    return this.watchRegistry.has(kind, path);
  }

  // ---- lifecycle ----------------------------------------------------------------------

  /** Closes the session: its ephemerals are deleted and its watches dropped. */
  async close(): Promise<void> {
    if (this.currentState === 'closed' || this.currentState === 'expired') return;
    if (this.isConnected()) {
      try {
        await this.run({ op: 'closeSession' });
      } catch {
        // The session ends either way: the server expires it if the close did not get through.
      }
    }
    this.shutdown('closed', ErrorCode.ConnectionLoss);
  }

  /** A throwing listener must not stop delivery to the others, nor break the client. */
  private deliver(listener: WatchListener, event: WatchedEvent): void {
    try {
      listener(event);
    } catch (error) {
      if (this.options.onListenerError) this.options.onListenerError(error, event);
      else console.error('zabkit: a watch listener threw', error);
    }
  }

  /** Drops the current link as if the network failed; the client reconnects on its own. */
  simulateConnectionLoss(): void {
    const link = this.link;
    if (link === undefined) return;
    link.close();
    this.onLinkClosed('lost');
  }
}

export type { ClientState, StateListener };
export { Ids };
