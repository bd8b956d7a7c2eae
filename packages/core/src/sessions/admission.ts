/**
 * Session admission: what happens to a client connection before it may send requests. A new
 * session is proposed as a createSession transaction and answered once it is applied here;
 * a resumed one is checked against what this server has seen and the session's password,
 * then vouched for by the leader (the only server that knows whether a session still lives).
 * Passwords derive from the session id and the ensemble's secret (the leader's, which every
 * learner adopts when it syncs), so any member can check them.
 */
import { assert } from '../errors.js';
import type { ClientFront } from '../front/client-front.js';
import type { ConnectionId, ConnectRequest } from '../front/client-io.js';
import type { PreparableRequest } from '../prep/preparer.js';
import type { ResolvedServerOptions } from '../server-options.js';
import type { DataTree } from '../tree/data-tree.js';
import type { SessionId, Txn } from '../txn.js';
import type { TxnOrigin } from '../zab/context.js';
import { passwordLengthBytes, provenSessionId, SessionIdGenerator, sessionPassword } from './session-ids.js';
import { negotiateTimeout } from './session-tracker.js';

/** A client connection waiting for the leader to vouch for the session it resumes. */
export interface PendingRevalidation {
  readonly connectionId: ConnectionId;
  readonly sessionId: SessionId;
  readonly clientAddress: string;
}

/** What admission needs of the peer's current role. */
export interface AdmissionPort {
  /** True when clients can be served: the leader is established or the learner up to date. */
  isServing(): boolean;
  /** Proposes (or forwards) the createSession of a new session. */
  submitCreate(sessionId: SessionId, request: PreparableRequest, origin: TxnOrigin): void;
  /**
   * Asks the leader whether a resumed session lives: answered at once on the leader, later on a
   * learner; either way through `finishResume`.
   */
  revalidate(pending: PendingRevalidation): void;
  /** The timeout the leader tracks for a session not yet applied here, if it leads. */
  trackedTimeoutOf(sessionId: SessionId): number | undefined;
  /** The secret passwords derive from now. */
  sessionSecret(): Uint8Array;
  /** True while the peer serves in read-only mode (looking, cut off from its quorum). */
  isReadOnly(): boolean;
  /** The timeout of a read-only mode session this peer made, if it lives. */
  localSessionTimeoutOf(sessionId: SessionId): number | undefined;
  /** Records a new read-only mode session: it lives on this peer alone. */
  addLocalSession(sessionId: SessionId, timeoutMs: number): void;
}

/** Connects, resumes and refuses client sessions on one peer. */
export class SessionAdmission {
  private readonly sessionIds: SessionIdGenerator;

  constructor(
    private readonly server: ResolvedServerOptions,
    serverId: number,
    startTimeMs: number,
    private readonly tree: DataTree,
    private readonly front: ClientFront,
    private readonly port: AdmissionPort,
  ) {
    this.sessionIds = new SessionIdGenerator(serverId, startTimeMs);
  }

  /** A client's first message: a new session, or one it resumes. */
  connect(connectionId: ConnectionId, request: ConnectRequest): void {
    if (this.front.sessionOf(connectionId) !== undefined) {
      // A connection opens with one ConnectRequest: another on an attached connection is refused.
      this.front.close(connectionId, 'refused');
      return;
    }
    if (!this.port.isServing()) {
      if (this.port.isReadOnly() && request.readOnly) this.connectReadOnly(connectionId, request);
      else this.front.emit({ kind: 'close', connectionId, reason: 'refused' });
      return;
    }
    if (request.sessionId === 0n) {
      this.create(connectionId, request);
      return;
    }
    if (request.lastZxidSeen > this.tree.lastZxid) {
      // The client has seen more than this server has applied: it must not go back in time.
      this.front.emit({ kind: 'close', connectionId, reason: 'refused' });
      return;
    }
    // Only the leader knows whether a session lives: a lagging server may not have applied
    // its creation yet. Here only the password is checked.
    const sessionId = provenSessionId(this.port.sessionSecret(), request.sessionId, request.password);
    if (sessionId === undefined) {
      this.refuseExpired(connectionId);
      return;
    }
    this.port.revalidate({ connectionId, sessionId, clientAddress: request.clientAddress });
  }

  /**
   * Read-only mode, as ZooKeeper's ReadOnlyZooKeeperServer: a new session lives on this
   * server alone (no transaction: there is no quorum to take one); one it made resumes; a
   * replicated session is refused (ZooKeeper: "Refusing global session reconnection in RO
   * mode"), and so is a client that has seen more than this server has.
   */
  private connectReadOnly(connectionId: ConnectionId, request: ConnectRequest): void {
    if (request.lastZxidSeen > this.tree.lastZxid) {
      this.front.emit({ kind: 'close', connectionId, reason: 'refused' });
      return;
    }
    let sessionId: SessionId;
    let timeoutMs: number;
    if (request.sessionId === 0n) {
      sessionId = this.sessionIds.take();
      timeoutMs = negotiateTimeout(request.timeoutMs, this.server);
      this.port.addLocalSession(sessionId, timeoutMs);
    } else {
      const proven = provenSessionId(this.port.sessionSecret(), request.sessionId, request.password);
      const known = proven === undefined ? undefined : this.port.localSessionTimeoutOf(proven);
      if (proven === undefined || known === undefined) {
        this.front.emit({ kind: 'close', connectionId, reason: 'refused' });
        return;
      }
      sessionId = proven;
      timeoutMs = known;
    }
    this.front.attach(connectionId, sessionId, request.clientAddress);
    this.front.emit({
      kind: 'connected',
      connectionId,
      sessionId,
      password: sessionPassword(this.port.sessionSecret(), sessionId),
      timeoutMs,
      readOnly: true,
    });
  }

  private create(connectionId: ConnectionId, request: ConnectRequest): void {
    const sessionId = this.sessionIds.take();
    const timeoutMs = negotiateTimeout(request.timeoutMs, this.server);
    assert(timeoutMs >= this.server.minSessionTimeoutMs, 'negotiated timeout below the minimum');
    assert(timeoutMs <= this.server.maxSessionTimeoutMs, 'negotiated timeout above the maximum');
    this.front.attach(connectionId, sessionId, request.clientAddress);
    const origin: TxnOrigin = { kind: 'connect', connectionId, sessionId };
    this.port.submitCreate(sessionId, { op: 'createSession', timeoutMs }, origin);
  }

  /** The leader has answered for a resumed session: attach it, or tell the client it expired. */
  finishResume(pending: PendingRevalidation, valid: boolean): void {
    if (!valid) {
      this.refuseExpired(pending.connectionId);
      return;
    }
    if (this.front.sessionOf(pending.connectionId) !== undefined) {
      // The connection connected again meanwhile and is attached: it is refused, as above.
      this.front.close(pending.connectionId, 'refused');
      return;
    }
    this.front.attach(pending.connectionId, pending.sessionId, pending.clientAddress);
    this.front.emit({
      kind: 'connected',
      connectionId: pending.connectionId,
      sessionId: pending.sessionId,
      password: sessionPassword(this.port.sessionSecret(), pending.sessionId),
      timeoutMs: this.sessionTimeoutOf(pending.sessionId),
    });
  }

  /** A transaction was applied: a session created for a connection here answers it; a closed one ends its connection. */
  sessionApplied(txn: Txn, origin: TxnOrigin | undefined): void {
    if (origin?.kind === 'connect' && txn.body.kind === 'createSession') {
      assert(origin.sessionId === txn.sessionId, 'a createSession answers the connection that asked for it');
      this.front.emit({
        kind: 'connected',
        connectionId: origin.connectionId,
        sessionId: origin.sessionId,
        password: sessionPassword(this.port.sessionSecret(), origin.sessionId),
        timeoutMs: txn.body.timeoutMs,
      });
    }
    if (txn.body.kind === 'closeSession') {
      const connectionId = this.front.connectionOf(txn.sessionId);
      if (connectionId !== undefined)
        this.front.close(connectionId, origin ? 'sessionClosed' : 'sessionExpired');
    }
  }

  private sessionTimeoutOf(sessionId: SessionId): number {
    const known = this.tree.sessions().get(sessionId);
    if (known !== undefined) return known;
    return this.port.trackedTimeoutOf(sessionId) ?? this.server.minSessionTimeoutMs;
  }

  /** ZooKeeper's answer to a session that is gone: a zero timeout and session id, then a close. */
  private refuseExpired(connectionId: ConnectionId): void {
    this.front.emit({
      kind: 'connected',
      connectionId,
      sessionId: 0n,
      password: new Uint8Array(passwordLengthBytes),
      timeoutMs: 0,
    });
    this.front.emit({ kind: 'close', connectionId, reason: 'sessionExpired' });
  }
}
