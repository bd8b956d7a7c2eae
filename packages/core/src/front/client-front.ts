/**
 * The client-facing half of a server: connections, per-session FIFO, reads served from the
 * local tree, watch registration and delivery, authentication. It is the same on a
 * standalone server and on every member of an ensemble; what differs is the commit path
 * that writes are handed to and that reports back each applied transaction.
 */
import { type ACL, authenticate, checkAcl, type Id, Perms, userNameOf } from '../acl.js';
import { assert, assertNever, ErrorCode, type ErrorCodeValue } from '../errors.js';
import { rootPath } from '../path.js';
import type {
  ClientRequest,
  GetChildrenRequest,
  GetDataRequest,
  OpName,
  OpResult,
  ReadRequest,
  Reply,
  ResultByOp,
  SetWatchesRequest,
  SyncRequest,
  WatchRequest,
  WriteRequest,
} from '../requests.js';
import { isWriteRequest } from '../requests.js';
import type { ApplyOutcome, DataTree, TreeChange, TxnResult } from '../tree/data-tree.js';
import type { SessionId, Txn } from '../txn.js';
import { AddWatchMode, EventType, type EventTypeValue } from '../watches/events.js';
import { type Delivery, WatchManager } from '../watches/watch-manager.js';
import type { Zxid } from '../zxid.js';
import type { ClientOutput, CloseReason, ConnectionId } from './client-io.js';

/** Where a front sends writes, and how it keeps sessions alive. */
export interface CommitPath {
  /** Hands a write (or a closeSession) on; its outcome returns through `applied`. */
  submit(origin: WriteOrigin, request: WriteRequest | { readonly op: 'closeSession' }): void;
  /** Refreshes a session's deadline; false when the session is gone or closing. */
  touch(sessionId: SessionId): boolean;
  /** Brings this server up to the leader's commit point; answers through `synced`. */
  sync(origin: WriteOrigin): void;
}

/** Which connection and request a transaction answers. */
export interface WriteOrigin {
  readonly connectionId: ConnectionId;
  readonly sessionId: SessionId;
  readonly xid: number;
  readonly authInfo: readonly Id[];
}

/**
 * A request awaiting its turn to be answered. Writes and syncs complete when the commit path
 * says so (`reply` is then set); queued reads are served when they reach the head, so they
 * see every earlier write of the session.
 */
type PendingEntry =
  | { readonly kind: 'write'; readonly xid: number; readonly op: OpName; reply?: Reply; zxid?: Zxid }
  | { readonly kind: 'sync'; readonly xid: number; readonly path: string; reply?: Reply }
  | {
      readonly kind: 'queued';
      readonly xid: number;
      readonly request: Exclude<ClientRequest, WriteRequest | SyncRequest>;
    };

interface Connection {
  readonly connectionId: ConnectionId;
  readonly sessionId: SessionId;
  readonly authInfo: Id[];
  /** Requests answered in order: writes in flight, and requests queued behind them. */
  readonly pending: PendingEntry[];
}

/** The front's settings: the super digest that may bypass ACLs. */
export interface ClientFrontOptions {
  readonly superDigest?: string | undefined;
}

/** The client-facing half of a server: connections, reads, watches, and replies in order. */
export class ClientFront {
  readonly watches = new WatchManager();
  private readonly connections = new Map<ConnectionId, Connection>();
  private readonly connectionBySession = new Map<SessionId, ConnectionId>();
  private outputs: ClientOutput[] = [];

  constructor(
    private readonly tree: DataTree,
    private readonly commit: CommitPath,
    private readonly options: ClientFrontOptions = {},
  ) {}

  /** Takes the outputs produced since the last call. */
  drainOutputs(): ClientOutput[] {
    const outputs = this.outputs;
    this.outputs = [];
    return outputs;
  }

  /** Queues an output for the next `drainOutputs`; the owning server uses it for connects and refusals. */
  emit(output: ClientOutput): void {
    this.outputs.push(output);
  }

  /** How many client connections are attached. */
  connectionCount(): number {
    return this.connections.size;
  }

  /** The connection a session is attached through, if any. */
  connectionOf(sessionId: SessionId): ConnectionId | undefined {
    return this.connectionBySession.get(sessionId);
  }

  /** Requests of a connection waiting for their answer (0 when it is not attached). */
  pendingCount(connectionId: ConnectionId): number {
    return this.connections.get(connectionId)?.pending.length ?? 0;
  }

  /** The session a connection belongs to, if it is attached. */
  sessionOf(connectionId: ConnectionId): SessionId | undefined {
    return this.connections.get(connectionId)?.sessionId;
  }

  /** Binds a connection to its session; a previous connection of that session is closed. */
  attach(connectionId: ConnectionId, sessionId: SessionId, clientAddress: string): void {
    const previous = this.connectionBySession.get(sessionId);
    if (previous !== undefined && previous !== connectionId) this.close(previous, 'sessionMoved');
    this.connections.set(connectionId, {
      connectionId,
      sessionId,
      authInfo: [{ scheme: 'ip', id: clientAddress }],
      pending: [],
    });
    this.connectionBySession.set(sessionId, connectionId);
  }

  /** Forgets a connection and its watches, telling the client when `reason` is given. */
  close(connectionId: ConnectionId, reason?: CloseReason): void {
    const connection = this.connections.get(connectionId);
    if (connection === undefined) return;
    this.connections.delete(connectionId);
    if (this.connectionBySession.get(connection.sessionId) === connectionId) {
      this.connectionBySession.delete(connection.sessionId);
    }
    this.watches.removeWatcher(connectionId);
    if (reason !== undefined) this.emit({ kind: 'close', connectionId, reason });
  }

  /** Closes every connection (the server stopped serving); clients reconnect elsewhere. */
  closeAll(reason: CloseReason): void {
    for (const connectionId of [...this.connections.keys()]) this.close(connectionId, reason);
  }

  /**
   * Takes one client request. It refreshes the session (SessionExpired if it is gone), applies auth at
   * once, hands writes and syncs to the commit path, and serves reads locally, queueing them behind
   * the session's pending writes so each session's replies keep their order.
   */
  request(connectionId: ConnectionId, xid: number, request: ClientRequest): void {
    const connection = this.connections.get(connectionId);
    if (connection === undefined) return;
    if (!this.commit.touch(connection.sessionId)) {
      this.reply(connection, xid, failure(request, ErrorCode.SessionExpired));
      return;
    }
    // Authentication takes effect at once, as in ZooKeeper, ahead of queued requests.
    if (request.op === 'auth') {
      this.reply(connection, xid, this.authenticate(connection, request.scheme, request.auth));
      return;
    }
    if (isWriteRequest(request) || request.op === 'closeSession') {
      connection.pending.push({ kind: 'write', xid, op: request.op });
      const origin = {
        connectionId,
        sessionId: connection.sessionId,
        xid,
        authInfo: [...connection.authInfo],
      };
      this.commit.submit(origin, request.op === 'closeSession' ? { op: 'closeSession' } : request);
      return;
    }
    if (request.op === 'sync') {
      connection.pending.push({ kind: 'sync', xid, path: request.path });
      this.commit.sync({ connectionId, sessionId: connection.sessionId, xid, authInfo: [] });
      return;
    }
    if (connection.pending.length > 0) {
      connection.pending.push({ kind: 'queued', xid, request });
      return;
    }
    this.reply(connection, xid, this.serve(connection, request));
  }

  /** The commit path has brought this server up to date for a sync request. */
  synced(origin: WriteOrigin): void {
    const connection = this.connections.get(origin.connectionId);
    if (connection === undefined || connection.sessionId !== origin.sessionId) return;
    const entry = connection.pending.find(
      (candidate) => candidate.xid === origin.xid && candidate.kind === 'sync',
    );
    if (entry === undefined || entry.kind !== 'sync') return;
    entry.reply = { ok: true, op: 'sync', result: { path: entry.path } };
    this.drainQueued(connection);
  }

  /**
   * The commit path refuses a write or a sync it was handed (ThrottledOp when a bound is
   * reached): the client gets the error in its turn, after every earlier request's answer.
   */
  refused(origin: WriteOrigin, code: ErrorCodeValue): void {
    const connection = this.connections.get(origin.connectionId);
    if (connection === undefined || connection.sessionId !== origin.sessionId) return;
    const entry = connection.pending.find(
      (candidate) =>
        candidate.xid === origin.xid && candidate.kind !== 'queued' && candidate.reply === undefined,
    );
    assert(
      entry !== undefined && entry.kind !== 'queued',
      () => `no write or sync ${origin.xid} pending to refuse`,
    );
    entry.reply = { ok: false, op: entry.kind === 'sync' ? 'sync' : entry.op, code };
    this.drainQueued(connection);
  }

  private authenticate(connection: Connection, scheme: string, auth: Uint8Array): Reply {
    const ids = authenticate(scheme, auth, this.options.superDigest);
    if (ids === undefined) return { ok: false, op: 'auth', code: ErrorCode.AuthFailed };
    for (const id of ids) {
      if (!connection.authInfo.some((known) => known.scheme === id.scheme && known.id === id.id)) {
        connection.authInfo.push(id);
      }
    }
    return { ok: true, op: 'auth', result: {} };
  }

  private reply(connection: Connection, xid: number, reply: Reply): void {
    this.emit({ kind: 'reply', connectionId: connection.connectionId, xid, zxid: this.tree.lastZxid, reply });
  }

  /**
   * Reports an applied transaction: fires its watches, then answers the write if it came
   * from one of this front's connections, then serves what was queued behind it.
   */
  applied(txn: Txn, outcome: ApplyOutcome, origin: WriteOrigin | undefined): void {
    for (const change of outcome.changes) this.fireWatches(change, txn);
    if (origin === undefined) return;
    const connection = this.connections.get(origin.connectionId);
    if (connection === undefined || connection.sessionId !== origin.sessionId) return;
    const entry = connection.pending.find(
      (candidate) => candidate.xid === origin.xid && candidate.kind === 'write',
    );
    assert(entry?.kind === 'write', () => `no write ${origin.xid} pending for its session`);
    entry.reply = toWriteReply(outcome.result, entry.op);
    entry.zxid = txn.zxid;
    this.drainQueued(connection);
  }

  /** Answers, in request order, every entry at the head of the queue that can be answered. */
  private drainQueued(connection: Connection): void {
    for (;;) {
      const head = connection.pending[0];
      if (head === undefined) return;
      if (head.kind === 'queued') {
        connection.pending.shift();
        this.reply(connection, head.xid, this.serve(connection, head.request));
        continue;
      }
      if (head.reply === undefined) return;
      connection.pending.shift();
      const zxid = head.kind === 'write' && head.zxid !== undefined ? head.zxid : this.tree.lastZxid;
      this.emit({
        kind: 'reply',
        connectionId: connection.connectionId,
        xid: head.xid,
        zxid,
        reply: head.reply,
      });
    }
  }

  private fireWatches(change: TreeChange, txn: Txn): void {
    let deliveries: Delivery[];
    switch (change.kind) {
      case 'created':
        deliveries = this.watches.nodeCreated(change.path);
        break;
      case 'deleted':
        deliveries = this.watches.nodeDeleted(change.path);
        break;
      case 'dataChanged':
        deliveries = this.watches.nodeDataChanged(change.path);
        break;
      default:
        assertNever(change, 'tree change');
    }
    for (const delivery of deliveries) {
      const acl = aclForEvent(change, delivery.event.type);
      const connection = this.connections.get(delivery.watcher);
      if (connection === undefined) continue;
      // ZooKeeper filters every event by the watcher's READ permission on the node.
      if (!checkAcl(acl, Perms.Read, connection.authInfo)) continue;
      this.emit({ kind: 'watch', connectionId: delivery.watcher, zxid: txn.zxid, event: delivery.event });
    }
  }

  private serve(connection: Connection, request: Exclude<ClientRequest, WriteRequest | SyncRequest>): Reply {
    switch (request.op) {
      case 'ping':
        return { ok: true, op: 'ping', result: {} };
      case 'whoAmI':
        return {
          ok: true,
          op: 'whoAmI',
          result: {
            clientInfo: connection.authInfo.map((id) => ({ authScheme: id.scheme, user: userNameOf(id) })),
          },
        };
      case 'auth':
        return this.authenticate(connection, request.scheme, request.auth);
      case 'closeSession':
        return { ok: false, op: 'closeSession', code: ErrorCode.SystemError };
      case 'addWatch':
      case 'removeWatches':
      case 'checkWatches':
      case 'setWatches':
        return this.serveWatchRequest(connection, request);
      default:
        return this.serveRead(connection, request);
    }
  }

  private serveRead(connection: Connection, request: ReadRequest): Reply {
    const watcher = connection.connectionId;
    const auth = connection.authInfo;
    try {
      switch (request.op) {
        case 'exists': {
          // The one read ZooKeeper checks its path for: a NUL is BadArguments, before any watch.
          if (request.path.includes('\0'))
            return { ok: false, op: 'exists', code: ErrorCode.BadArguments, path: request.path };
          const node = this.readable(request.path, auth, Perms.Read, true);
          if (request.watch) this.watches.addDataWatch(request.path, watcher);
          if (node === undefined)
            return { ok: false, op: 'exists', code: ErrorCode.NoNode, path: request.path };
          return { ok: true, op: 'exists', result: { stat: node.stat() } };
        }
        case 'getData':
          return { ok: true, op: 'getData', result: this.getData(request, auth, watcher) };
        case 'getChildren':
          return { ok: true, op: 'getChildren', result: this.getChildren(request, auth, watcher) };
        case 'getAllChildrenNumber': {
          this.readable(request.path, auth, Perms.Read);
          const totalNumber = this.tree.descendantCount(request.path);
          return { ok: true, op: 'getAllChildrenNumber', result: { totalNumber } };
        }
        case 'getEphemerals': {
          const prefix = request.prefixPath.trim();
          const all = this.tree.ephemeralsOf(connection.sessionId);
          const ephemerals =
            prefix === '' || prefix === '/' ? all : all.filter((path) => path.startsWith(prefix));
          return { ok: true, op: 'getEphemerals', result: { ephemerals } };
        }
        case 'getACL':
          return { ok: true, op: 'getACL', result: this.getAcl(request.path, auth) };
        case 'multiRead':
          return {
            ok: true,
            op: 'multiRead',
            result: { results: request.ops.map((op) => this.readOne(op, auth, watcher)) },
          };
        default:
          return assertNever(request, 'read request');
      }
    } catch (error) {
      if (error instanceof ReadFailure)
        return { ok: false, op: request.op, code: error.code, path: error.path };
      throw error;
    }
  }

  private readOne(
    op: GetDataRequest | GetChildrenRequest,
    auth: readonly Id[],
    watcher: ConnectionId,
  ): OpResult {
    try {
      if (op.op === 'getData') return { op: 'getData', ...this.getData(op, auth, watcher) };
      return { op: 'getChildren', children: this.getChildren(op, auth, watcher).children };
    } catch (error) {
      if (error instanceof ReadFailure) return { op: 'error', code: error.code };
      throw error;
    }
  }

  /**
   * The node at `path` after ZooKeeper's read checks: NoNode when it is missing (unless
   * `missingOk`), NoAuth without `perm`. ZooKeeper looks a read's path up as given, so a
   * malformed path is simply missing, and "" names the root (its key in ZooKeeper's tree).
   */
  private readable(path: string, auth: readonly Id[], perm: number, missingOk = false) {
    const node = this.tree.getNode(path === '' ? rootPath : path);
    if (node === undefined) {
      if (missingOk) return undefined;
      throw new ReadFailure(ErrorCode.NoNode, path);
    }
    if (!checkAcl(node.acl, perm, auth)) throw new ReadFailure(ErrorCode.NoAuth, path);
    return node;
  }

  private getData(
    request: GetDataRequest,
    auth: readonly Id[],
    watcher: ConnectionId,
  ): ResultByOp['getData'] {
    const node = this.readable(request.path, auth, Perms.Read)!;
    if (request.watch) this.watches.addDataWatch(request.path, watcher);
    return { data: node.data, stat: node.stat() };
  }

  private getChildren(
    request: GetChildrenRequest,
    auth: readonly Id[],
    watcher: ConnectionId,
  ): ResultByOp['getChildren'] {
    const node = this.readable(request.path, auth, Perms.Read)!;
    if (request.watch) this.watches.addChildWatch(request.path, watcher);
    return { children: node.sortedChildren(), stat: node.stat() };
  }

  /** getACL needs READ or ADMIN; without ADMIN, digest hashes are masked as ZooKeeper does. */
  private getAcl(path: string, auth: readonly Id[]): ResultByOp['getACL'] {
    const node = this.readable(path, auth, Perms.Read | Perms.Admin)!;
    const acl: readonly ACL[] = checkAcl(node.acl, Perms.Admin, auth)
      ? node.acl
      : node.acl.map((entry) =>
          entry.id.scheme === 'digest'
            ? { perms: entry.perms, id: { scheme: 'digest', id: entry.id.id.replace(/:.*/, ':x') } }
            : entry,
        );
    return { acl, stat: node.stat() };
  }

  private serveWatchRequest(connection: Connection, request: WatchRequest): Reply {
    const watcher = connection.connectionId;
    if (request.op === 'setWatches') {
      this.setWatches(connection, request);
      return { ok: true, op: 'setWatches', result: {} };
    }
    // No path check, as in ZooKeeper: a watch on a malformed path is registered and never
    // fires; removing one where none was registered is NoWatcher.
    switch (request.op) {
      case 'addWatch':
        if (request.mode !== AddWatchMode.Persistent && request.mode !== AddWatchMode.PersistentRecursive) {
          return { ok: false, op: 'addWatch', code: ErrorCode.BadArguments, path: request.path };
        }
        this.watches.addPersistentWatch(
          request.path,
          watcher,
          request.mode === AddWatchMode.PersistentRecursive,
        );
        return { ok: true, op: 'addWatch', result: {} };
      case 'removeWatches':
        if (!isWatcherType(request.watcherType)) {
          return { ok: false, op: 'removeWatches', code: ErrorCode.BadArguments, path: request.path };
        }
        if (this.watches.removeWatches(request.path, request.watcherType, watcher)) {
          return { ok: true, op: 'removeWatches', result: {} };
        }
        return { ok: false, op: 'removeWatches', code: ErrorCode.NoWatcher, path: request.path };
      case 'checkWatches':
        if (!isWatcherType(request.watcherType)) {
          return { ok: false, op: 'checkWatches', code: ErrorCode.BadArguments, path: request.path };
        }
        if (this.watches.containsWatcher(request.path, request.watcherType, watcher)) {
          return { ok: true, op: 'checkWatches', result: {} };
        }
        return { ok: false, op: 'checkWatches', code: ErrorCode.NoWatcher, path: request.path };
      default:
        return assertNever(request, 'watch request');
    }
  }

  /**
   * Re-registers a reconnecting client's watches. A watch whose condition already changed
   * since `relativeZxid` fires at once instead (with zxid -1, as ZooKeeper sends it).
   */
  private setWatches(connection: Connection, request: SetWatchesRequest): void {
    const watcher = connection.connectionId;
    const fire = (type: EventTypeValue, path: string) =>
      this.emit({ kind: 'watch', connectionId: watcher, zxid: -1n, event: { type, path } });
    for (const path of request.dataWatches) {
      const node = this.tree.getNode(path);
      if (node === undefined) fire(EventType.NodeDeleted, path);
      else if (node.mzxid > request.relativeZxid) fire(EventType.NodeDataChanged, path);
      else this.watches.addDataWatch(path, watcher);
    }
    for (const path of request.existWatches) {
      if (this.tree.getNode(path) !== undefined) fire(EventType.NodeCreated, path);
      else this.watches.addDataWatch(path, watcher);
    }
    for (const path of request.childWatches) {
      const node = this.tree.getNode(path);
      if (node === undefined) fire(EventType.NodeDeleted, path);
      else if (node.pzxid > request.relativeZxid) fire(EventType.NodeChildrenChanged, path);
      else this.watches.addChildWatch(path, watcher);
    }
    for (const path of request.persistentWatches) this.watches.addPersistentWatch(path, watcher, false);
    for (const path of request.persistentRecursiveWatches)
      this.watches.addPersistentWatch(path, watcher, true);
  }
}

/** Watcher types come off the wire as numbers: only ZooKeeper's five are accepted. */
function isWatcherType(type: number): boolean {
  return Number.isInteger(type) && type >= 1 && type <= 5;
}

class ReadFailure extends Error {
  constructor(
    readonly code: ErrorCodeValue,
    readonly path: string,
  ) {
    super(`read failed with ${code}`);
  }
}

function failure(request: ClientRequest, code: ErrorCodeValue): Reply {
  return { ok: false, op: request.op, code };
}

/** The ACL a watcher needs READ on to see an event: the parent's for a child change. */
function aclForEvent(change: TreeChange, type: EventTypeValue): readonly ACL[] {
  if (type === EventType.NodeChildrenChanged && change.kind !== 'dataChanged') return change.parentAcl;
  return change.acl;
}

/** Turns an applied transaction's result into the reply its client expects. */
function toWriteReply(result: TxnResult, op: OpName): Reply {
  if (result.kind === 'error') return { ok: false, op, code: result.code };
  if (op === 'closeSession') return { ok: true, op: 'closeSession', result: {} };
  switch (result.kind) {
    case 'create':
      return { ok: true, op: 'create', result: { path: result.path, stat: result.stat } };
    case 'setData':
      return { ok: true, op: 'setData', result: { stat: result.stat } };
    case 'setACL':
      return { ok: true, op: 'setACL', result: { stat: result.stat } };
    case 'delete':
      return { ok: true, op: 'delete', result: {} };
    case 'check':
      return { ok: true, op: 'check', result: {} };
    case 'multi':
      return { ok: true, op: 'multi', result: { results: result.results } };
    case 'createSession':
    case 'closeSession':
      return { ok: true, op: 'closeSession', result: {} };
    default:
      return assertNever(result, 'transaction result');
  }
}
