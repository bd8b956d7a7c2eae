/**
 * A standalone server: one replica that is its own leader. Writes are prepared, handed to
 * the driver to persist, and applied once `persisted` says they are durable; the same
 * step/Ready boundary the replicated peer uses, with a quorum of one.
 */
import { type PreparableRequest, RequestPreparer } from '../prep/preparer.js';
import { negotiateTimeout, SessionTracker } from '../sessions/session-tracker.js';
import { ttlOf } from '../stat.js';
import { DataTree } from '../tree/data-tree.js';
import type { SessionId, Txn } from '../txn.js';
import { makeZxid, nextZxid, type Zxid, zeroZxid } from '../zxid.js';
import type { ClientOutput, ConnectionId, ConnectRequest, Ready, ServerInput } from './io.js';
import { type CommitPath, ReplicaFront, type WriteOrigin } from './replica-front.js';
import { passwordLengthBytes, SessionIdGenerator, samePassword, sessionPassword } from './session-ids.js';

/** A server's settings: tick time, session bounds, limits, secrets. */
export interface ServerOptions {
  /** This server's id (0 for a standalone server, as in ZooKeeper). */
  readonly serverId?: number;
  /** The length of a tick: the unit of session expiry buckets. */
  readonly tickTimeMs?: number;
  /** Defaults to 2 ticks. */
  readonly minSessionTimeoutMs?: number;
  /** Defaults to 20 ticks. */
  readonly maxSessionTimeoutMs?: number;
  /** Largest znode data accepted; 1 MiB by default. */
  readonly dataSizeMaxBytes?: number;
  /** TTL nodes; on by default in zabkit (off by default in ZooKeeper). */
  readonly extendedTypesEnabled?: boolean;
  /** How often empty containers and expired TTL nodes are looked for. */
  readonly containerCheckIntervalMs?: number;
  /** `user:base64(sha1(user:password))` of the super user, if any. */
  readonly superDigest?: string;
  /** Secret bytes that session passwords derive from: the driver's randomness. */
  readonly sessionSecret: Uint8Array;
  /** The clock when the server starts; session ids and the first tick derive from it. */
  readonly startTimeMs: number;
}

/** Server options with every default filled in. */
export type ResolvedServerOptions = Required<Omit<ServerOptions, 'superDigest'>> & {
  readonly superDigest: string | undefined;
};

/** Fills in defaults and checks the options; throws RangeError naming what is wrong. */
export function resolveServerOptions(options: ServerOptions): ResolvedServerOptions {
  const tickTimeMs = options.tickTimeMs ?? 2000;
  const resolved = {
    serverId: options.serverId ?? 0,
    tickTimeMs,
    minSessionTimeoutMs: options.minSessionTimeoutMs ?? 2 * tickTimeMs,
    maxSessionTimeoutMs: options.maxSessionTimeoutMs ?? 20 * tickTimeMs,
    dataSizeMaxBytes: options.dataSizeMaxBytes ?? 1024 * 1024,
    extendedTypesEnabled: options.extendedTypesEnabled ?? true,
    containerCheckIntervalMs: options.containerCheckIntervalMs ?? 60_000,
    superDigest: options.superDigest,
    sessionSecret: options.sessionSecret,
    startTimeMs: options.startTimeMs,
  };
  const problems: string[] = [];
  if (!(tickTimeMs > 0)) problems.push('tickTimeMs must be positive');
  if (!(resolved.minSessionTimeoutMs > 0)) problems.push('minSessionTimeoutMs must be positive');
  if (resolved.maxSessionTimeoutMs < resolved.minSessionTimeoutMs) {
    problems.push('maxSessionTimeoutMs must not be below minSessionTimeoutMs');
  }
  if (!(resolved.dataSizeMaxBytes >= 0)) problems.push('dataSizeMaxBytes must not be negative');
  if (!(resolved.containerCheckIntervalMs > 0)) problems.push('containerCheckIntervalMs must be positive');
  if (resolved.sessionSecret.length === 0) problems.push('sessionSecret must not be empty');
  if (problems.length > 0) throw new RangeError(`invalid server options: ${problems.join('; ')}`);
  return resolved;
}

/** Why a transaction was prepared, so its application can answer the right party. */
type TxnOrigin =
  | { readonly kind: 'client'; readonly origin: WriteOrigin }
  | { readonly kind: 'connect'; readonly connectionId: ConnectionId; readonly sessionId: SessionId }
  | { readonly kind: 'expiry' }
  | { readonly kind: 'container'; readonly path: string };

/** A single ZooKeeper server as a pure state machine: feed it inputs with `step`, perform the `Ready`. */
export class StandaloneServer implements CommitPath {
  readonly options: ResolvedServerOptions;
  readonly tree = new DataTree();
  readonly front: ReplicaFront;
  private readonly tracker: SessionTracker;
  private readonly preparer: RequestPreparer;
  private readonly sessionIds: SessionIdGenerator;
  private nowMs: number;
  private lastProposedZxid: Zxid = zeroZxid;
  private readonly unpersisted: { readonly txn: Txn; readonly origin: TxnOrigin }[] = [];
  private persistQueue: Txn[] = [];
  private nextContainerCheckMs: number;
  private readonly containerDeletesInFlight = new Set<string>();

  constructor(options: ServerOptions) {
    this.options = resolveServerOptions(options);
    this.nowMs = this.options.startTimeMs;
    this.nextContainerCheckMs = this.nowMs + this.options.containerCheckIntervalMs;
    this.tracker = new SessionTracker(this.options.tickTimeMs);
    this.sessionIds = new SessionIdGenerator(this.options.serverId, this.options.startTimeMs);
    this.preparer = new RequestPreparer(this.tree, {
      dataSizeMaxBytes: this.options.dataSizeMaxBytes,
      extendedTypesEnabled: this.options.extendedTypesEnabled,
      isSessionActive: (sessionId) => this.tracker.isActive(sessionId),
    });
    this.front = new ReplicaFront(this.tree, this, { superDigest: this.options.superDigest });
  }

  /** The zxid of the last transaction applied to the tree. */
  get lastZxid(): Zxid {
    return this.tree.lastZxid;
  }

  /** The server's clock in ms: the latest tick it has seen (it never goes back). */
  get now(): number {
    return this.nowMs;
  }

  /** Sessions the server tracks (including ones being created or closed). */
  get sessionCount(): number {
    return this.tracker.size;
  }

  /**
   * Takes one input (tick, connect, request, disconnect or persisted) and returns what the driver must
   * do next. Transactions apply only after a `persisted` input covering their zxid.
   */
  step(input: ServerInput): Ready {
    switch (input.kind) {
      case 'tick':
        this.tick(input.nowMs);
        break;
      case 'connect':
        this.connect(input.connectionId, input.request);
        break;
      case 'request':
        this.front.request(input.connectionId, input.xid, input.request);
        break;
      case 'disconnect':
        this.front.close(input.connectionId);
        break;
      case 'persisted':
        this.persisted(input.zxid);
        break;
    }
    const persist = this.persistQueue;
    this.persistQueue = [];
    return { persist, toClients: this.front.drainOutputs() };
  }

  // CommitPath: the front hands writes here.
  submit(origin: WriteOrigin, request: PreparableRequest): void {
    if (request.op === 'closeSession') this.tracker.setClosing(origin.sessionId);
    this.propose(origin.sessionId, origin.authInfo, request, { kind: 'client', origin });
  }

  /** A standalone server is its own commit point: a sync completes in its turn. */
  sync(origin: WriteOrigin): void {
    this.front.synced(origin);
  }

  touch(sessionId: SessionId): boolean {
    return this.tracker.touch(sessionId, this.nowMs);
  }

  private propose(
    sessionId: SessionId,
    authInfo: WriteOrigin['authInfo'],
    request: PreparableRequest,
    origin: TxnOrigin,
  ): void {
    const zxid = this.lastProposedZxid === zeroZxid ? makeZxid(0, 1) : nextZxid(this.lastProposedZxid);
    this.lastProposedZxid = zxid;
    const cxid = origin.kind === 'client' ? origin.origin.xid : -1;
    const txn = this.preparer.prepare({ zxid, timeMs: this.nowMs, sessionId, cxid, authInfo, request });
    this.unpersisted.push({ txn, origin });
    this.persistQueue.push(txn);
  }

  private tick(nowMs: number): void {
    if (nowMs > this.nowMs) this.nowMs = nowMs;
    for (const sessionId of this.tracker.expire(this.nowMs)) {
      this.propose(sessionId, [], { op: 'closeSession' }, { kind: 'expiry' });
    }
    if (this.nowMs >= this.nextContainerCheckMs) {
      this.nextContainerCheckMs = this.nowMs + this.options.containerCheckIntervalMs;
      this.collectContainers();
    }
  }

  /**
   * Deletes containers that had children and are empty again, and TTL nodes that have been
   * childless and unchanged for longer than their TTL (ZooKeeper's ContainerManager).
   */
  private collectContainers(): void {
    const candidates: string[] = [];
    for (const path of this.tree.containers()) {
      const node = this.tree.getNode(path)!;
      if (node.cversion > 0 && node.children.size === 0) candidates.push(path);
    }
    for (const path of this.tree.ttlNodes()) {
      const node = this.tree.getNode(path)!;
      const ttlMs = Number(ttlOf(node.ephemeralOwner));
      if (node.children.size === 0 && this.nowMs - node.mtime > ttlMs) candidates.push(path);
    }
    for (const path of candidates.sort()) {
      if (this.containerDeletesInFlight.has(path)) continue;
      this.containerDeletesInFlight.add(path);
      this.propose(0n, [], { op: 'deleteContainer', path }, { kind: 'container', path });
    }
  }

  private connect(connectionId: ConnectionId, request: ConnectRequest): void {
    if (request.sessionId === 0n) {
      const sessionId = this.sessionIds.take();
      const timeoutMs = negotiateTimeout(request.timeoutMs, this.options);
      this.tracker.add(sessionId, timeoutMs, this.nowMs);
      this.front.attach(connectionId, sessionId, request.clientAddress);
      this.propose(
        sessionId,
        [],
        { op: 'createSession', timeoutMs },
        { kind: 'connect', connectionId, sessionId },
      );
      return;
    }
    // A client that has seen more than this server knows must go elsewhere.
    if (request.lastZxidSeen > this.tree.lastZxid) {
      this.front.emit({ kind: 'close', connectionId, reason: 'refused' });
      return;
    }
    const sessionId = request.sessionId;
    const password = sessionPassword(this.options.sessionSecret, sessionId);
    const live = this.tracker.isActive(sessionId) && this.tree.hasSession(sessionId);
    if (!live || !samePassword(password, request.password)) {
      this.front.emit(expiredConnect(connectionId));
      this.front.emit({ kind: 'close', connectionId, reason: 'sessionExpired' });
      return;
    }
    this.tracker.touch(sessionId, this.nowMs);
    this.front.attach(connectionId, sessionId, request.clientAddress);
    const timeoutMs = this.tracker.timeoutOf(sessionId)!;
    this.front.emit({ kind: 'connected', connectionId, sessionId, password, timeoutMs });
  }

  private persisted(zxid: Zxid): void {
    while (this.unpersisted.length > 0 && this.unpersisted[0]!.txn.zxid <= zxid) {
      const { txn, origin } = this.unpersisted.shift()!;
      this.applyCommitted(txn, origin);
    }
  }

  private applyCommitted(txn: Txn, origin: TxnOrigin): void {
    const outcome = this.tree.apply(txn);
    this.preparer.applied(txn.zxid);
    this.front.applied(txn, outcome, origin.kind === 'client' ? origin.origin : undefined);
    switch (origin.kind) {
      case 'connect': {
        if (this.front.sessionOf(origin.connectionId) !== origin.sessionId) return;
        const password = sessionPassword(this.options.sessionSecret, origin.sessionId);
        const timeoutMs = this.tracker.timeoutOf(origin.sessionId) ?? 0;
        this.front.emit({
          kind: 'connected',
          connectionId: origin.connectionId,
          sessionId: origin.sessionId,
          password,
          timeoutMs,
        });
        return;
      }
      case 'container':
        this.containerDeletesInFlight.delete(origin.path);
        return;
      case 'client':
      case 'expiry':
        if (txn.body.kind !== 'closeSession') return;
        this.tracker.remove(txn.sessionId);
        this.closeSessionConnection(
          txn.sessionId,
          origin.kind === 'client' ? 'sessionClosed' : 'sessionExpired',
        );
        return;
    }
  }

  private closeSessionConnection(sessionId: SessionId, reason: 'sessionClosed' | 'sessionExpired'): void {
    const connectionId = this.front.connectionOf(sessionId);
    if (connectionId !== undefined) this.front.close(connectionId, reason);
  }
}

function expiredConnect(connectionId: ConnectionId): ClientOutput {
  return {
    kind: 'connected',
    connectionId,
    sessionId: 0n,
    password: new Uint8Array(passwordLengthBytes),
    timeoutMs: 0,
  };
}
