/**
 * The client-facing front of a peer: the connections attached to a session here, each with
 * its identities and its replies in request order. It hands writes and syncs to the commit
 * path and answers them when that path reports back; it serves reads, watch requests,
 * whoAmI and ping itself, from the local tree. It is the same on a one-voter ensemble and on
 * every member of a larger one.
 *
 * The parts live in their own modules: reads are pure functions of the tree (`reads.ts`),
 * watches are `ConnectionWatches`, identities `ConnectionAuth`, the per-session FIFO a
 * `ReplyQueue`. This class keeps the connection table and routes between them.
 */
import type { Id } from '../acl.js';
import { assert, ErrorCode, type ErrorCodeValue } from '../errors.js';
import type {
  ClientRequest,
  OpName,
  ReadRequest,
  ReconfigRequest,
  Reply,
  WriteRequest,
} from '../requests.js';
import { isWriteRequest } from '../requests.js';
import type { DataTree, TreeChange, TxnResult } from '../tree/data-tree.js';
import type { SessionId, Txn } from '../txn.js';
import type { Zxid } from '../zxid.js';
import type { ClientOutput, CloseReason, ConnectionId } from './client-io.js';
import { ConnectionAuth } from './connection-auth.js';
import { ConnectionWatches } from './connection-watches.js';
import { type LeaveWatch, leaveWatches, type Reader, serveRead } from './reads.js';
import { type LocalRequest, ReplyQueue, type ReplySink } from './reply-queue.js';

/** Where a front sends writes, and how it keeps sessions alive. */
export interface CommitPath {
  /**
   * Hands a write (a closeSession, a reconfig) on; its outcome returns through `applied`, or
   * `refused` when the commit path will not take it.
   */
  submit(
    origin: WriteOrigin,
    request: WriteRequest | ReconfigRequest | { readonly op: 'closeSession' },
  ): void;
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

/** The front's settings. */
export interface ClientFrontOptions {
  /** `user:base64(sha1(user:password))` of the super user, who passes every ACL. */
  readonly superDigest?: string | undefined;
  /**
   * enforce.auth.schemes: when not empty, a connection that holds no identity of one of them
   * has its first request other than auth answered SessionClosedRequireSaslAuth, and is closed
   * (its session lives on until it expires), as ZooKeeper's AuthenticationHelper does.
   */
  readonly enforceAuthSchemes?: readonly string[];
  /**
   * Most requests one connection may have waiting for their answer: the peer's bound of that
   * name. The peer enforces it before it hands a request on (it reads `pendingCount`); the
   * front asserts it.
   */
  readonly requestsPendingPerSessionMax: number;
}

/** One attached client connection: its session, identities and replies in order. */
class Connection implements Reader {
  readonly auth: ConnectionAuth;
  readonly replies: ReplyQueue;

  constructor(
    readonly connectionId: ConnectionId,
    readonly sessionId: SessionId,
    clientAddress: string,
    requestsPendingMax: number,
    sink: ReplySink,
    /** Registers a watch its reads leave: made once per connection, not once per read. */
    readonly leaveWatch: LeaveWatch,
  ) {
    this.auth = new ConnectionAuth(clientAddress);
    this.replies = new ReplyQueue(requestsPendingMax, sink);
  }

  get authInfo(): readonly Id[] {
    return this.auth.authInfo;
  }
}

/** No schemes enforced: shared, not made for every request. */
const noSchemes: readonly string[] = [];

/** The client-facing front of a peer: connections, reads, watches, and replies in order. */
export class ClientFront {
  readonly watches: ConnectionWatches;
  private readonly connections = new Map<ConnectionId, Connection>();
  private readonly connectionBySession = new Map<SessionId, ConnectionId>();
  private outputs: ClientOutput[] = [];
  private staleReplyCount = 0;

  constructor(
    private readonly tree: DataTree,
    private readonly commit: CommitPath,
    private readonly options: ClientFrontOptions,
  ) {
    assert(options.requestsPendingPerSessionMax > 0, 'a connection may have a request pending');
    this.watches = new ConnectionWatches(
      (output) => this.outputs.push(output),
      (connectionId) => this.connections.get(connectionId)?.authInfo,
    );
  }

  /** Takes the outputs produced since the last call. */
  drainOutputs(): ClientOutput[] {
    const outputs = this.outputs;
    this.outputs = [];
    return outputs;
  }

  /** Queues an output for the next `drainOutputs`; the peer uses it for connects and refusals. */
  emit(output: ClientOutput): void {
    this.outputs.push(output);
  }

  /**
   * Writes applied for a connection of this front that had closed (or moved to another
   * session) by then, so that their reply went nowhere, over the front's life: ZooKeeper's
   * stale_replies, the replies its FinalRequestProcessor makes for a closed connection.
   */
  get staleReplies(): number {
    return this.staleReplyCount;
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
    return this.connections.get(connectionId)?.replies.length ?? 0;
  }

  /** The session a connection belongs to, if it is attached. */
  sessionOf(connectionId: ConnectionId): SessionId | undefined {
    return this.connections.get(connectionId)?.sessionId;
  }

  /** Binds a connection to its session; a previous connection of that session is closed. */
  attach(connectionId: ConnectionId, sessionId: SessionId, clientAddress: string): void {
    assert(!this.connections.has(connectionId), () => `connection ${connectionId} attaches once`);
    const previous = this.connectionBySession.get(sessionId);
    if (previous !== undefined) this.close(previous, 'sessionMoved');
    const sink: ReplySink = {
      serveLocal: (request) => this.serveLocal(connection, request),
      send: (xid, reply, zxid) => this.send(connectionId, xid, reply, zxid),
    };
    const max = this.options.requestsPendingPerSessionMax;
    const leaveWatch: LeaveWatch = (table, path) => this.watches.add(connectionId, table, path);
    const connection = new Connection(connectionId, sessionId, clientAddress, max, sink, leaveWatch);
    this.connections.set(connectionId, connection);
    this.connectionBySession.set(sessionId, connectionId);
    this.assertTablesAgree();
  }

  /** Forgets a connection and its watches, telling the client when `reason` is given. */
  close(connectionId: ConnectionId, reason?: CloseReason): void {
    const connection = this.connections.get(connectionId);
    if (connection === undefined) return;
    assert(
      this.connectionBySession.get(connection.sessionId) === connectionId,
      'an attached connection is the one its session is attached through',
    );
    this.connections.delete(connectionId);
    this.connectionBySession.delete(connection.sessionId);
    this.watches.forget(connectionId);
    if (reason !== undefined) this.emit({ kind: 'close', connectionId, reason });
    this.assertTablesAgree();
  }

  /** Closes every connection (the peer stopped serving); clients reconnect elsewhere. */
  closeAll(reason: CloseReason): void {
    for (const connectionId of [...this.connections.keys()]) this.close(connectionId, reason);
    assert(this.connections.size === 0, 'no connection is left attached');
  }

  /**
   * Takes one client request. It refreshes the session (SessionExpired if it is gone), applies auth at
   * once, hands writes and syncs to the commit path, and serves the rest locally, queueing it behind
   * the session's pending writes so each session's replies keep their order.
   */
  request(connectionId: ConnectionId, xid: number, request: ClientRequest): void {
    const connection = this.connections.get(connectionId);
    if (connection === undefined) return;
    if (!this.commit.touch(connection.sessionId)) {
      this.send(connectionId, xid, failure(request.op, ErrorCode.SessionExpired), undefined);
      return;
    }
    // Authentication takes effect at once, as in ZooKeeper, ahead of queued requests.
    if (request.op === 'auth') {
      const reply = connection.auth.addAuth(request.scheme, request.auth, this.options.superDigest);
      this.send(connectionId, xid, reply, undefined);
      return;
    }
    const enforced = this.options.enforceAuthSchemes ?? noSchemes;
    if (enforced.length > 0 && !connection.auth.holdsAnyOf(enforced)) {
      // The reply goes out ahead of the session's pending ones, as ZooKeeper's does: it
      // answers before the request enters its pipeline. Then only this connection closes.
      this.send(connectionId, xid, failure(request.op, ErrorCode.SessionClosedRequireSaslAuth), undefined);
      this.close(connectionId, 'refused');
      return;
    }
    if (isWriteRequest(request) || request.op === 'closeSession' || request.op === 'reconfig') {
      connection.replies.awaitWrite(xid, request.op);
      const origin = { connectionId, sessionId: connection.sessionId, xid, authInfo: connection.authInfo };
      this.commit.submit(origin, request.op === 'closeSession' ? { op: 'closeSession' } : request);
      return;
    }
    if (request.op === 'sync') {
      connection.replies.awaitSync(xid, request.path);
      this.commit.sync({ connectionId, sessionId: connection.sessionId, xid, authInfo: [] });
      return;
    }
    if (connection.replies.length > 0) {
      connection.replies.queueLocal(xid, request);
      return;
    }
    this.send(connectionId, xid, this.serveLocal(connection, request), undefined);
  }

  /**
   * Serves a read for an attached connection at once, outside any step: the replica's applied
   * state as its last step left it, with the connection's identities checked against the
   * node's ACL exactly as a queued read is. Nothing changes: no watch is left (a request
   * asking for one is refused with BadArguments), the session is not refreshed, and the read
   * does not wait behind the session's writes in flight (a write is seen once its reply has
   * been sent). Undefined when the connection is not attached here (never connected, closed,
   * or the peer stopped serving and let its connections go).
   */
  readNow(connectionId: ConnectionId, request: ReadRequest): Reply | undefined {
    const connection = this.connections.get(connectionId);
    if (connection === undefined) return undefined;
    if (request.op === 'multiRead' ? request.ops.some(asksForWatch) : asksForWatch(request))
      return failure(request.op, ErrorCode.BadArguments);
    return serveRead(this.tree, connection, request);
  }

  /**
   * Identities the driver verified for a connection (a TLS client certificate, a SASL
   * exchange): held from its next request on, as identities `auth` proves are.
   */
  authenticated(connectionId: ConnectionId, identities: readonly Id[]): void {
    this.connections.get(connectionId)?.auth.addVerified(identities);
  }

  /** The commit path has brought this server up to date for a sync request. */
  synced(origin: WriteOrigin): void {
    const connection = this.connectionOfOrigin(origin);
    if (connection === undefined) return;
    if (connection.replies.answerSync(origin.xid)) connection.replies.drain();
  }

  /**
   * The commit path refuses a write or a sync it was handed (ThrottledOp when a bound is
   * reached): the client gets the error in its turn, after every earlier request's answer.
   */
  refused(origin: WriteOrigin, code: ErrorCodeValue): void {
    const connection = this.connectionOfOrigin(origin);
    if (connection === undefined) return;
    connection.replies.refuse(origin.xid, code);
    connection.replies.drain();
  }

  /**
   * Ends a session that lives on this server alone (a read-only mode session): its
   * closeSession is answered here, then its connection closes.
   */
  closeLocalSession(origin: WriteOrigin): void {
    const connection = this.connectionOfOrigin(origin);
    if (connection === undefined) return;
    connection.replies.answerWrite(origin.xid, { kind: 'closeSession' }, this.tree.lastZxid);
    connection.replies.drain();
    this.close(origin.connectionId, 'sessionClosed');
  }

  /**
   * Reports an applied transaction (its changes are the first `changeCount` of `changes`,
   * read now and not kept): fires its watches, then answers the write if it came
   * from one of this front's connections, then serves what was queued behind it.
   */
  applied(
    txn: Txn,
    changes: readonly TreeChange[],
    changeCount: number,
    origin: WriteOrigin | undefined,
    result: TxnResult | undefined,
  ): void {
    for (let i = 0; i < changeCount; i++) this.watches.fire(changes[i]!, txn.zxid);
    if (origin === undefined) return;
    assert(result !== undefined, 'a write answered here has its result built');
    const connection = this.connectionOfOrigin(origin);
    if (connection === undefined) {
      this.staleReplyCount++;
      return;
    }
    connection.replies.answerWrite(origin.xid, result, txn.zxid);
    connection.replies.drain();
  }

  /** The connection a write or sync came from, while it is still attached to the same session. */
  private connectionOfOrigin(origin: WriteOrigin): Connection | undefined {
    const connection = this.connections.get(origin.connectionId);
    if (connection === undefined || connection.sessionId !== origin.sessionId) return undefined;
    return connection;
  }

  /** Serves what the front answers itself: ping, whoAmI, watch requests and reads. */
  private serveLocal(connection: Connection, request: LocalRequest): Reply {
    switch (request.op) {
      case 'ping':
        return { ok: true, op: 'ping', result: {} };
      case 'whoAmI':
        return connection.auth.whoAmI();
      case 'addWatch':
      case 'removeWatches':
      case 'checkWatches':
      case 'setWatches':
        return this.watches.serve(this.tree, connection.connectionId, request);
      default: {
        const reply = serveRead(this.tree, connection, request);
        // Only a read that asked for a watch, or a multiRead (whose ops may), can leave one:
        // asking first spares the common read the call.
        if (request.op === 'multiRead' || ('watch' in request && request.watch)) {
          leaveWatches(request, reply, connection.leaveWatch);
        }
        return reply;
      }
    }
  }

  private send(connectionId: ConnectionId, xid: number, reply: Reply, zxid: Zxid | undefined): void {
    this.outputs.push({ kind: 'reply', connectionId, xid, zxid: zxid ?? this.tree.lastZxid, reply });
  }

  /** Every attached connection is its session's one, and every session's one is attached. */
  private assertTablesAgree(): void {
    assert(this.connections.size === this.connectionBySession.size, 'one attached connection per session');
  }
}

/** True when a read asks to leave a watch. */
function asksForWatch(request: { readonly op: string }): boolean {
  return 'watch' in request && request.watch === true;
}

function failure(op: OpName, code: ErrorCodeValue): Reply {
  return { ok: false, op, code };
}
