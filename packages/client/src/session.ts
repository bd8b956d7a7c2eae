/**
 * The session under a client: its state machine (connecting, connected, disconnected, expired,
 * closed), the link to the current server, replies matched to requests, watch callbacks,
 * heartbeats, reconnection with backoff, and the session's end.
 *
 * Every path here is a server path: chroots and namespaces are the client's business
 * (`client.ts`). A session expires when a server says so, or, as in ZooKeeper 3.9
 * (ZOOKEEPER-4508), when the client has not heard from any server for 4/3 of the negotiated
 * timeout: by then the ensemble has expired it, and waiting for a server to confirm can take
 * forever when none is reachable. A managed session then opens a new one and says so.
 */
import {
  type ClientRequest,
  type ConnectRequest,
  ErrorCode,
  type ErrorCodeValue,
  isWriteRequest,
  ownedReply,
  type ReadRequest,
  type Reply,
  zxid as toZxid,
  ZabError,
  type Zxid,
  zeroZxid,
} from '@zabkit/core';
import type { ClientLink, LinkCloseReason, LinkFactory, LinkMessage } from './link.js';
import type { Logger } from './log.js';
import { toClientPath } from './paths.js';
import { PendingRequests } from './pending-requests.js';
import { checkReconnectBackoff, type ReconnectBackoff, reconnectDelayMs } from './retry.js';
import type { OperationScope } from './scope.js';
import type { ClientState } from './state.js';
import { type ClientTimers, type RandomSource, realTimers } from './timers.js';
import { type WatchedEvent, type WatchKind, type WatchListener, WatchRegistry } from './watch-registry.js';

/** How a session is opened and kept; the public `ClientOptions` are these and more. */
export interface SessionOptions {
  readonly allowReadOnly?: boolean | undefined;
  readonly sessionTimeoutMs?: number | undefined;
  readonly sessionId?: bigint | undefined;
  readonly password?: Uint8Array | undefined;
  readonly connectTimeoutMs?: number | undefined;
  readonly clientAddress?: string | undefined;
  readonly heartbeat?: boolean | undefined;
  readonly onListenerError?: ((error: unknown, event: WatchedEvent) => void) | undefined;
  readonly timers?: ClientTimers | undefined;
  readonly random?: RandomSource | undefined;
  readonly reconnect?: ReconnectBackoff | undefined;
  readonly expireLocally?: boolean | undefined;
  readonly renewSession?: boolean | undefined;
  readonly logger?: Logger | undefined;
}

/** Who found out that a session expired. */
export type ExpiryDetector = 'client' | 'server';

/** What the session tells the clients over it. */
export type SessionEvent =
  | { readonly kind: 'state'; readonly state: ClientState }
  | { readonly kind: 'expired'; readonly sessionId: bigint; readonly detectedBy: ExpiryDetector }
  | { readonly kind: 'renewed'; readonly previousSessionId: bigint; readonly sessionId: bigint };

/**
 * A request waiting for its reply. One object and one promise per request: the session
 * settles the caller's promise itself, with `map` applied to a successful result, rather than
 * through a chain of reactions (a request's reply is on every operation's path).
 */
class Pending {
  resolve: (value: unknown) => void = noop;
  reject: (error: Error) => void = noop;

  constructor(
    /**
     * Runs when the reply arrives, before any later message is handled: watch listeners must
     * be registered before an event that follows the reply can be dispatched.
     */
    readonly onReply: ((reply: Reply) => void) | undefined,
    /**
     * What a successful result resolves as; undefined: the promise resolves with the reply
     * itself, successful or not. Otherwise an unsuccessful reply rejects with ZooKeeper's
     * error for `clientPath`, or for the reply's path seen from `root`.
     */
    readonly map: ((result: unknown) => unknown) | undefined,
    readonly clientPath: string | undefined,
    readonly root: string,
  ) {}

  settle(reply: Reply): void {
    const map = this.map;
    if (map === undefined) {
      this.resolve(reply);
      return;
    }
    if (!reply.ok) {
      const path =
        this.clientPath ?? (reply.path === undefined ? undefined : toClientPath(this.root, reply.path));
      this.reject(new ZabError(reply.code, path));
      return;
    }
    let value: unknown;
    try {
      value = map(reply.result);
    } catch (error) {
      this.reject(error as Error);
      return;
    }
    this.resolve(value);
  }
}

const noop = (): void => {};

/** Errors of requests that never left the client: certainly not applied. */
const notSentErrors = new WeakSet<Error>();

/** True when `error` rejected a request before it was sent. */
export function wasNotSent(error: unknown): boolean {
  return error instanceof Error && notSentErrors.has(error);
}

/** The longest a real timer can be set for; used to hold a process open while a caller waits. */
const keepAliveMs = 2_147_483_647;

export class Session {
  private link: ClientLink | undefined;
  private currentState: ClientState = 'connecting';
  private nextXid = 1;
  private readonly pending = new PendingRequests<Pending>();
  readonly watches = new WatchRegistry();
  private readonly listeners = new Set<(event: SessionEvent) => void>();
  private readonly authentications: { scheme: string; auth: Uint8Array }[] = [];
  /** Whether a server that can write has answered this client: until then its session is read-only mode's. */
  private seenReadWriteServer = false;
  private session: { id: bigint; password: Uint8Array; timeoutMs: number } = {
    id: 0n,
    password: new Uint8Array(16),
    timeoutMs: 0,
  };
  private lastZxidSeen: Zxid = zeroZxid;
  private connectWaiter: { resolve: () => void; reject: (error: Error) => void } | undefined;
  private reconnectTimer: unknown;
  /** Attempts since the last connection: the backoff grows with it, and restarts once connected. */
  private reconnectAttempt = 0;
  /**
   * Links opened so far. The factory picks the server by it, so each new link goes to the next
   * server of the list, also after a connection that worked was lost, as ZooKeeper's host
   * provider does: a server that accepts a session but stalls cannot hold the client forever.
   */
  private linksOpened = 0;
  private heartbeatTimer: unknown;
  private expiryTimer: unknown;
  private handshakeTimer: unknown;
  /** The session a managed client is replacing, while it opens the new one. */
  private renewingFrom: bigint | undefined;
  readonly timers: ClientTimers;
  readonly random: RandomSource;
  private lastSentMs = 0;
  private lastHeardMs = 0;
  /**
   * On real time, one clock read stands for every request sent and message heard in the
   * same synchronous stretch (an in-process server answers a burst of replies in one): a
   * clock read per request and per reply was about a tenth of an in-process read's cost.
   * The stamp is the stretch's first event's time, at most that stretch earlier than the
   * last's: for the heartbeat a ping a little early, for the 4/3 expiry margin nothing.
   * Any other clock (a test's, the simulator's) is read at every event, as it may move
   * between two of them without a microtask between.
   */
  private readonly coarseStamps: boolean;
  private sentStamped = false;
  private heardStamped = false;
  private readonly endSentStamp = () => {
    this.sentStamped = false;
  };
  private readonly endHeardStamp = () => {
    this.heardStamped = false;
  };

  constructor(
    private readonly links: LinkFactory,
    private readonly options: SessionOptions,
  ) {
    this.timers = options.timers ?? realTimers;
    this.coarseStamps = this.timers === realTimers;
    this.random = options.random ?? Math.random;
    checkReconnectBackoff(options.reconnect ?? {});
    if (options.sessionId !== undefined) {
      // The caller vouches for the session, as ZooKeeper's client takes one it is given.
      this.seenReadWriteServer = true;
      this.session = {
        id: options.sessionId,
        password: options.password ?? new Uint8Array(16),
        timeoutMs: 0,
      };
    }
  }

  get state(): ClientState {
    return this.currentState;
  }

  get sessionId(): bigint {
    return this.session.id;
  }

  get sessionPassword(): Uint8Array {
    return this.session.password;
  }

  get sessionTimeoutMs(): number {
    return this.session.timeoutMs;
  }

  get lastSeenZxid(): Zxid {
    return this.lastZxidSeen;
  }

  /** True when this session is replaced by a new one after it expires. */
  get renews(): boolean {
    return this.options.renewSession === true;
  }

  get logger(): Logger | undefined {
    return this.options.logger;
  }

  /** Follows the session's events; returns a function that stops it. */
  subscribe(listener: (event: SessionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  isConnected(): boolean {
    return this.currentState === 'connected' || this.currentState === 'connectedReadOnly';
  }

  private emit(event: SessionEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }

  private setState(state: ClientState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    this.emit({ kind: 'state', state });
  }

  /** Opens the first session; resolves once a server has established it. */
  open(): Promise<void> {
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
    this.clearHandshakeTimer();
    const link = this.links.open(
      {
        message: (message) => {
          if (this.link === link) this.onMessage(message);
        },
        closed: (reason) => {
          if (this.link === link) this.onLinkClosed(reason);
        },
      },
      this.linksOpened++,
    );
    this.link = link;
    // A server that accepts the connection but never answers the handshake must not hold the
    // client: ZooKeeper's clients give each server a share of the session timeout.
    this.handshakeTimer = this.timers.setTimeout(
      () => {
        this.handshakeTimer = undefined;
        if (this.link !== link || this.isConnected()) return;
        this.options.logger?.debug(
          { attempt: this.reconnectAttempt },
          'zabkit client: no handshake; next server',
        );
        link.close();
        this.onLinkClosed('lost');
      },
      Math.max(1, Math.floor(this.requestedTimeoutMs() / 3)),
    );
    // As ZooKeeper's client: a session only read-only servers have seen lives on one of them
    // alone, so it is not resumed elsewhere; a new one is asked for (seenRwServerBefore).
    const resumable = this.seenReadWriteServer || this.session.id === 0n;
    const request: ConnectRequest = {
      sessionId: resumable ? this.session.id : 0n,
      password: resumable ? this.session.password : new Uint8Array(16),
      timeoutMs: this.requestedTimeoutMs(),
      lastZxidSeen: this.lastZxidSeen,
      readOnly: this.options.allowReadOnly ?? false,
      clientAddress: this.options.clientAddress ?? '127.0.0.1',
    };
    link.connect(request);
  }

  private requestedTimeoutMs(): number {
    return this.options.sessionTimeoutMs ?? 30_000;
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer !== undefined) this.timers.clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
  }

  private onMessage(message: LinkMessage): void {
    this.noteHeard();
    switch (message.kind) {
      case 'connected':
        this.onConnected(message);
        return;
      case 'reply': {
        this.seeZxid(message.zxid);
        const pending = this.pending.take(message.xid);
        if (pending === undefined) return;
        // A server in this process (its link reads at once) hands over the replica's own
        // bytes: the caller gets a copy. Over TCP they were decoded for this reply alone.
        const reply = this.link?.readNow === undefined ? message.reply : ownedReply(message.reply);
        pending.onReply?.(reply);
        pending.settle(reply);
        return;
      }
      case 'watch': {
        if (message.zxid > 0n) this.seeZxid(toZxid(message.zxid));
        const reached = this.watches.materialize(message.event.type, message.event.path);
        if (reached === undefined) return;
        for (const [listener, root] of reached.listeners) {
          this.deliver(listener, { type: reached.type, path: toClientPath(root, message.event.path) });
        }
        return;
      }
    }
  }

  private noteHeard(): void {
    if (!this.coarseStamps) {
      this.lastHeardMs = this.timers.now();
      return;
    }
    if (this.heardStamped) return;
    this.heardStamped = true;
    this.lastHeardMs = this.timers.now();
    queueMicrotask(this.endHeardStamp);
  }

  private noteSent(): void {
    if (!this.coarseStamps) {
      this.lastSentMs = this.timers.now();
      return;
    }
    if (this.sentStamped) return;
    this.sentStamped = true;
    this.lastSentMs = this.timers.now();
    queueMicrotask(this.endSentStamp);
  }

  private seeZxid(zxid: Zxid): void {
    if (zxid > this.lastZxidSeen) this.lastZxidSeen = zxid;
  }

  private onConnected(message: Extract<LinkMessage, { kind: 'connected' }>): void {
    if (message.timeoutMs <= 0) {
      this.expire('server');
      return;
    }
    this.session = { id: message.sessionId, password: message.password, timeoutMs: message.timeoutMs };
    if (message.readOnly !== true) this.seenReadWriteServer = true;
    this.clearHandshakeTimer();
    this.reconnectAttempt = 0;
    this.clearExpiryTimer();
    this.startHeartbeat();
    this.setState(message.readOnly === true ? 'connectedReadOnly' : 'connected');
    this.restoreSessionState();
    const renewedFrom = this.renewingFrom;
    this.renewingFrom = undefined;
    if (renewedFrom !== undefined) {
      this.options.logger?.info(
        { previousSessionId: renewedFrom, sessionId: message.sessionId },
        'zabkit client: a new session replaces the expired one',
      );
      this.emit({ kind: 'renewed', previousSessionId: renewedFrom, sessionId: message.sessionId });
    }
    const waiter = this.connectWaiter;
    this.connectWaiter = undefined;
    waiter?.resolve();
  }

  /** After a reconnect: authenticate again and re-register every watch (ZooKeeper's setWatches). */
  private restoreSessionState(): void {
    for (const { scheme, auth } of this.authentications) {
      this.call({ op: 'auth', scheme, auth }).catch(() => undefined);
    }
    if (this.watches.isEmpty()) return;
    const request: ClientRequest = {
      op: 'setWatches',
      relativeZxid: this.lastZxidSeen,
      dataWatches: this.watches.paths('data'),
      existWatches: this.watches.paths('exist'),
      childWatches: this.watches.paths('child'),
      persistentWatches: this.watches.paths('persistent'),
      persistentRecursiveWatches: this.watches.paths('persistentRecursive'),
    };
    this.call(request).catch(() => undefined);
  }

  /**
   * Sets the server's watches again for the listeners of `kinds` still registered at `path`
   * (setWatches, from the last zxid seen: a change already missed fires at once).
   */
  rearm(kinds: readonly WatchKind[], path: string): void {
    const wanted = (kind: WatchKind) => (kinds.includes(kind) && this.watches.has(kind, path) ? [path] : []);
    const request: ClientRequest = {
      op: 'setWatches',
      relativeZxid: this.lastZxidSeen,
      dataWatches: wanted('data'),
      existWatches: wanted('exist'),
      childWatches: wanted('child'),
      persistentWatches: wanted('persistent'),
      persistentRecursiveWatches: wanted('persistentRecursive'),
    };
    if (!kinds.some((kind) => this.watches.has(kind, path))) return;
    this.call(request).catch(() => undefined);
  }

  /** Remembers credentials, so they are presented again on every reconnect and new session. */
  rememberAuthentication(scheme: string, auth: Uint8Array): void {
    this.authentications.push({ scheme, auth });
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
      this.expire('server');
      return;
    }
    if (reason === 'sessionClosed') {
      this.shutdown('closed', ErrorCode.ConnectionLoss);
      return;
    }
    if (reason === 'authFailed') {
      // As ZooKeeper's client: a refused login ends the client (AUTH_FAILED), it does not retry.
      this.shutdown('closed', ErrorCode.AuthFailed);
      return;
    }
    this.failPending(ErrorCode.ConnectionLoss);
    if (this.isConnected()) {
      this.options.logger?.warn(
        { sessionId: this.session.id, reason },
        'zabkit client: disconnected, reconnecting with the same session',
      );
      this.setState('disconnected');
    }
    this.armExpiryTimer();
    this.scheduleReconnect();
  }

  /**
   * Client-side expiry: the ensemble expires a session it has not heard from for its timeout;
   * 4/3 of it without hearing from any server (ZooKeeper 3.9's margin) means it surely has.
   */
  private armExpiryTimer(): void {
    if (this.options.expireLocally === false || this.expiryTimer !== undefined) return;
    if (this.session.id === 0n || this.session.timeoutMs <= 0) return;
    const expiresAtMs = this.lastHeardMs + Math.floor((this.session.timeoutMs * 4) / 3);
    this.expiryTimer = this.timers.setTimeout(
      () => {
        this.expiryTimer = undefined;
        if (this.isConnected() || this.currentState === 'closed' || this.currentState === 'expired') return;
        this.options.logger?.warn(
          { sessionId: this.session.id, silentMs: this.timers.now() - this.lastHeardMs },
          'zabkit client: no server heard within 4/3 of the session timeout; the session is expired',
        );
        this.expire('client');
      },
      Math.max(0, expiresAtMs - this.timers.now()),
    );
  }

  private clearExpiryTimer(): void {
    if (this.expiryTimer !== undefined) this.timers.clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
  }

  private scheduleReconnect(): void {
    if (this.currentState === 'closed' || this.currentState === 'expired') return;
    const delayMs = reconnectDelayMs(this.options.reconnect ?? {}, this.reconnectAttempt, this.random);
    this.reconnectAttempt++;
    this.options.logger?.debug(
      { attempt: this.reconnectAttempt, delayMs },
      'zabkit client: reconnect scheduled',
    );
    // A client retrying on its own must not keep an otherwise finished process alive:
    // the real timers are unref'd.
    this.reconnectTimer = this.timers.setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.currentState === 'closed' || this.currentState === 'expired') return;
      this.openLink();
    }, delayMs);
  }

  private failPending(code: ErrorCodeValue): void {
    for (const request of this.pending.takeAll()) request.reject(new ZabError(code));
  }

  /** The session is over (the server's word or the client's): then, if managed, a new one. */
  private expire(detectedBy: ExpiryDetector): void {
    const sessionId = this.session.id;
    this.shutdown('expired', ErrorCode.SessionExpired);
    this.emit({ kind: 'expired', sessionId, detectedBy });
    if (this.renews && this.currentState === 'expired') this.renew(sessionId);
  }

  /** Managed mode: a new session on the same client, with the credentials presented again. */
  private renew(previousSessionId: bigint): void {
    this.renewingFrom = previousSessionId;
    this.session = { id: 0n, password: new Uint8Array(16), timeoutMs: 0 };
    this.reconnectAttempt = 0;
    this.setState('connecting');
    this.scheduleReconnect();
  }

  private shutdown(state: 'closed' | 'expired', code: ErrorCodeValue): void {
    if (this.reconnectTimer !== undefined) this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.heartbeatTimer !== undefined) this.timers.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.clearExpiryTimer();
    this.clearHandshakeTimer();
    this.link?.close();
    this.link = undefined;
    this.failPending(code);
    this.watches.clear();
    if (state === 'closed') this.renewingFrom = undefined;
    this.setState(state);
    const waiter = this.connectWaiter;
    this.connectWaiter = undefined;
    waiter?.reject(new ZabError(code));
  }

  /** The error a request gets when there is no live connection to send it on. */
  private notConnectedError(path: string | undefined): ZabError {
    const code = this.currentState === 'expired' ? ErrorCode.SessionExpired : ErrorCode.ConnectionLoss;
    const error = new ZabError(code, path, `client is ${this.currentState}`);
    notSentErrors.add(error);
    return error;
  }

  /**
   * Sends one request and resolves with its reply, whether it succeeded or not. With a scope,
   * a cancellation abandons the request: a late reply is then dropped.
   */
  call(
    request: ClientRequest,
    onReply?: (reply: Reply) => void,
    scope?: OperationScope,
    path?: string,
  ): Promise<Reply> {
    return this.send<Reply>(request, onReply, scope, path, '/', undefined);
  }

  /**
   * `call`, resolving with `map` of a successful result and rejecting with ZooKeeper's error
   * for `clientPath` (or the reply's path seen from `root`) otherwise, settled from the reply
   * with no promise between.
   */
  callMapped<T>(
    request: ClientRequest,
    onReply: ((reply: Reply) => void) | undefined,
    scope: OperationScope | undefined,
    clientPath: string | undefined,
    root: string,
    map: (result: never) => T,
  ): Promise<T> {
    return this.send<T>(request, onReply, scope, clientPath, root, map as (result: unknown) => unknown);
  }

  private send<T>(
    request: ClientRequest,
    onReply: ((reply: Reply) => void) | undefined,
    scope: OperationScope | undefined,
    path: string | undefined,
    root: string,
    map: ((result: unknown) => unknown) | undefined,
  ): Promise<T> {
    if (scope?.cancelled !== undefined) return Promise.reject(scope.cancelled);
    const link = this.link;
    if (!this.isConnected() || link === undefined) {
      return Promise.reject(this.notConnectedError(path ?? ('path' in request ? request.path : undefined)));
    }
    const xid = this.nextXid;
    this.nextXid = this.nextXid === 0x7fff_ffff ? 1 : this.nextXid + 1;
    const pending = new Pending(onReply, map, path, root);
    const reply = new Promise<T>((resolve, reject) => {
      pending.resolve = resolve as (value: unknown) => void;
      pending.reject = reject;
    });
    this.pending.add(xid, pending);
    this.noteSent();
    try {
      link.send(xid, request);
    } catch (error) {
      this.pending.take(xid);
      return Promise.reject(error);
    }
    if (scope === undefined || !scope.cancellable) return reply;
    return scope.inFlightRace(reply, () => this.pending.take(xid), isWriteRequest(request));
  }

  /**
   * Answers a read at once from the replica of the server this session's link reaches, when
   * that server runs in this process (see `ClientLink.readNow`). Throws ConnectionLoss while
   * not connected, Unimplemented over a link that cannot (a TCP connection).
   */
  readNow(request: ReadRequest, path: string): Reply {
    const link = this.link;
    if (!this.isConnected() || link === undefined) throw this.notConnectedError(path);
    if (link.readNow === undefined)
      throw new ZabError(
        ErrorCode.Unimplemented,
        path,
        'reads at once need a server in this process (LocalServer, an in-process ensemble, an embedded peer)',
      );
    const reply = link.readNow(request);
    if (reply === undefined) throw this.notConnectedError(path);
    return ownedReply(reply);
  }

  /**
   * Resolves once connected; rejects when the session ends first (a managed session waits
   * for its successor instead) or the scope is cancelled.
   */
  whenConnected(scope: OperationScope): Promise<void> {
    if (this.isConnected()) return Promise.resolve();
    if (this.currentState === 'closed' || (this.currentState === 'expired' && !this.renews))
      return Promise.reject(this.notConnectedError(scope.path));
    let stop: () => void = () => undefined;
    // Held open while a caller waits: the reconnect timers alone do not keep a process alive.
    const keepAlive =
      this.timers === realTimers ? this.timers.setTimeout(() => {}, keepAliveMs, true) : undefined;
    const connected = new Promise<void>((resolve, reject) => {
      stop = this.subscribe((event) => {
        if (event.kind !== 'state') return;
        if (event.state === 'connected' || event.state === 'connectedReadOnly') resolve();
        else if (event.state === 'closed' || (event.state === 'expired' && !this.renews))
          reject(this.notConnectedError(scope.path));
      });
    });
    const settle = () => {
      stop();
      if (keepAlive !== undefined) this.timers.clearTimeout(keepAlive);
    };
    return scope.race(connected, settle).finally(settle);
  }

  /** Ends the session: a closeSession request when connected, then shutdown. */
  async close(): Promise<void> {
    if (this.currentState === 'closed' || (this.currentState === 'expired' && !this.renews)) return;
    if (this.isConnected()) {
      try {
        await this.call({ op: 'closeSession' });
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
      else if (this.options.logger)
        this.options.logger.error({ err: error, event }, 'zabkit client: a watch listener threw');
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
