/**
 * A ZAB peer: one member of an ensemble, driven through `step(input) -> Ready` in the
 * manner of etcd-io/raft's RawNode. It owns the replicated tree, its log mirror and epochs,
 * the client front, and exactly one role at a time: looking (Fast Leader Election),
 * leading, following or observing. It never waits: storage actions and messages leave in
 * the Ready, and durability comes back as a `persisted` input.
 */
import { assert, assertNever } from '../errors.js';
import type { PreparableRequest } from '../prep/preparer.js';
import type { WriteRequest } from '../requests.js';
import type { ClientOutput, ConnectionId, ConnectRequest, ServerInput } from '../server/io.js';
import { type CommitPath, ReplicaFront, type WriteOrigin } from '../server/replica-front.js';
import {
  passwordLengthBytes,
  SessionIdGenerator,
  samePassword,
  sessionPassword,
} from '../server/session-ids.js';
import {
  type ResolvedServerOptions,
  resolveServerOptions,
  type ServerOptions,
} from '../server/standalone.js';
import { negotiateTimeout } from '../sessions/session-tracker.js';
import type { Epochs, PersistedState, StorageAction } from '../storage.js';
import { DataTree } from '../tree/data-tree.js';
import type { SessionId, Txn } from '../txn.js';
import { type Zxid, zeroZxid } from '../zxid.js';
import type { PeerContext, PeerOptions, ResolvedPeerOptions, TxnOrigin } from './context.js';
import { FastLeaderElection } from './election.js';
import { LeaderRole } from './leader.js';
import { LearnerRole, type PendingRevalidation } from './learner.js';
import type {
  ElectionMessage,
  Envelope,
  LeaderMessage,
  LearnerMessage,
  PeerMessage,
  PeerRole,
  Vote,
} from './messages.js';
import { MajorityQuorum, type ServerId } from './quorum.js';
import { TxnLog } from './txn-log.js';

/** Everything a peer steps on: time, messages, broken links, durability, clients. */
export type PeerInput =
  | Exclude<ServerInput, { readonly kind: 'persisted' }>
  | { readonly kind: 'message'; readonly from: ServerId; readonly message: PeerMessage }
  /** The transport lost the link to `peer`. */
  | { readonly kind: 'linkDown'; readonly peer: ServerId }
  /** Everything persisted up to and including the Ready numbered `seq` is durable. */
  | { readonly kind: 'persistedThrough'; readonly seq: number };

/**
 * What the driver must do, in order: carry out `persist` (and once it is durable answer
 * `persistedThrough(persistSeq)`), send `messages` at once, send `messagesAfterPersist` only
 * once `persist` is durable, and deliver `toClients`.
 */
export interface PeerReady {
  readonly persist: readonly StorageAction[];
  /** The number to report back once `persist` is durable; 0 when nothing was persisted. */
  readonly persistSeq: number;
  readonly messages: readonly Envelope[];
  readonly messagesAfterPersist: readonly Envelope[];
  readonly toClients: readonly ClientOutput[];
}

/** A peer's options: its ensemble, limits and server settings. */
export interface ZabPeerOptions extends PeerOptions, Omit<ServerOptions, 'serverId'> {}

function resolvePeerOptions(options: ZabPeerOptions): ResolvedPeerOptions {
  const resolved: ResolvedPeerOptions = {
    serverId: options.serverId,
    voters: options.voters,
    observers: options.observers ?? [],
    initLimitTicks: options.initLimitTicks ?? 10,
    syncLimitTicks: options.syncLimitTicks ?? 5,
    electionFinalizeWaitMs: options.electionFinalizeWaitMs ?? 200,
    electionResendIntervalMs: options.electionResendIntervalMs ?? 200,
    snapCount: options.snapCount ?? 100_000,
    proposalBatchMax: options.proposalBatchMax ?? 1000,
    zxidCounterLimit: options.zxidCounterLimit ?? 0xffff_ffff,
  };
  const problems: string[] = [];
  if (!resolved.voters.includes(resolved.serverId) && !resolved.observers.includes(resolved.serverId)) {
    problems.push(`server ${resolved.serverId} is neither a voter nor an observer`);
  }
  if (!(resolved.initLimitTicks > 0)) problems.push('initLimitTicks must be positive');
  if (!(resolved.syncLimitTicks > 0)) problems.push('syncLimitTicks must be positive');
  if (!(resolved.snapCount > 0)) problems.push('snapCount must be positive');
  if (!(resolved.proposalBatchMax > 0)) problems.push('proposalBatchMax must be positive');
  if (problems.length > 0) throw new RangeError(`invalid peer options: ${problems.join('; ')}`);
  return resolved;
}

type Role =
  | { readonly kind: 'looking' }
  | { readonly kind: 'leading'; readonly leader: LeaderRole }
  | { readonly kind: 'following' | 'observing'; readonly learner: LearnerRole };

interface DurabilityMark {
  readonly seq: number;
  /** Once durable, the log holds everything up to here. */
  loggedThrough: Zxid | undefined;
  readonly callbacks: (() => void)[];
}

/** One ZooKeeper ensemble member as a pure state machine: feed it inputs with `step`, perform the Ready. */
export class ZabPeer implements PeerContext, CommitPath {
  readonly serverId: ServerId;
  readonly options: ResolvedPeerOptions;
  readonly server: ResolvedServerOptions;
  readonly quorum: MajorityQuorum;
  readonly tree: DataTree;
  readonly log: TxnLog;
  readonly front: ReplicaFront;
  private readonly election: FastLeaderElection;
  private readonly sessionIds: SessionIdGenerator;
  private role: Role = { kind: 'looking' };
  private now: number;
  private epochs: Epochs;
  private persistedZxid: Zxid;
  private committedZxid: Zxid;
  private readonly origins = new Map<string, TxnOrigin>();
  private appliedSinceSnapshot = 0;
  private previousSnapshotZxid: Zxid;
  // The Ready being assembled.
  private persistActions: StorageAction[] = [];
  private messages: Envelope[] = [];
  private messagesAfterPersist: Envelope[] = [];
  private persistSeq = 0;
  private currentMark: DurabilityMark | undefined;
  private readonly marks: DurabilityMark[] = [];
  private readonly onApplied: ((txn: Txn) => void) | undefined;
  /** Why the peer last gave up a role: for logs and tests. */
  lastLookingReason = 'starting';

  constructor(
    options: ZabPeerOptions,
    state: PersistedState = emptyState(),
    nowMs: number = options.startTimeMs,
  ) {
    this.options = resolvePeerOptions(options);
    this.onApplied = options.onApplied;
    this.server = resolveServerOptions({ ...options, serverId: options.serverId });
    this.serverId = options.serverId;
    this.quorum = new MajorityQuorum(this.options.voters, this.options.observers);
    this.now = nowMs;
    this.epochs = state.epochs;
    this.tree = state.snapshot === undefined ? new DataTree() : DataTree.fromSnapshot(state.snapshot);
    this.log = new TxnLog(this.tree.lastZxid, state.log);
    // Restored entries are durable; none beyond the snapshot is known to be committed yet.
    this.persistedZxid = this.log.lastZxid;
    this.committedZxid = this.tree.lastZxid;
    this.previousSnapshotZxid = this.tree.lastZxid;
    this.front = new ReplicaFront(this.tree, this, { superDigest: this.server.superDigest });
    this.sessionIds = new SessionIdGenerator(this.serverId, nowMs);
    this.election = new FastLeaderElection(this.serverId, this.quorum, {
      finalizeWaitMs: this.options.electionFinalizeWaitMs,
      resendIntervalMs: this.options.electionResendIntervalMs,
    });
    this.startElection();
  }

  // ---- PeerContext ----------------------------------------------------------------------

  get nowMs(): number {
    return this.now;
  }
  get acceptedEpoch(): number {
    return this.epochs.acceptedEpoch;
  }
  get currentEpoch(): number {
    return this.epochs.currentEpoch;
  }
  get lastPersistedZxid(): Zxid {
    return this.persistedZxid;
  }

  send(to: ServerId, message: PeerMessage): void {
    if (to === this.serverId) return;
    this.messages.push({ from: this.serverId, to, message });
  }

  sendAfterPersist(to: ServerId, message: PeerMessage): void {
    if (to === this.serverId) return;
    this.messagesAfterPersist.push({ from: this.serverId, to, message });
  }

  private mark(): DurabilityMark {
    if (this.currentMark === undefined) {
      this.currentMark = { seq: ++this.persistSeq, loggedThrough: undefined, callbacks: [] };
      this.marks.push(this.currentMark);
    }
    return this.currentMark;
  }

  persist(action: StorageAction, onDurable?: () => void): void {
    this.persistActions.push(action);
    const mark = this.mark();
    if (onDurable !== undefined) mark.callbacks.push(onDurable);
    if (action.kind === 'truncate' && this.persistedZxid > action.afterZxid)
      this.persistedZxid = action.afterZxid;
    if (action.kind === 'reset') {
      // Nothing is durable until the new state is; then everything up to the snapshot is.
      this.persistedZxid = zeroZxid;
      mark.loggedThrough = action.snapshot.zxid;
    }
  }

  setEpochs(acceptedEpoch: number, currentEpoch: number, onDurable?: () => void): void {
    assert(acceptedEpoch >= this.epochs.acceptedEpoch, 'acceptedEpoch never goes down');
    assert(currentEpoch <= acceptedEpoch, 'currentEpoch never exceeds acceptedEpoch');
    this.epochs = { acceptedEpoch, currentEpoch };
    this.persist({ kind: 'epochs', epochs: this.epochs }, onDurable);
  }

  appendToLog(txns: readonly Txn[]): void {
    for (const txn of txns) this.log.append(txn);
    this.persistActions.push({ kind: 'append', txns });
    this.mark().loggedThrough = this.log.lastZxid;
  }

  commitThrough(zxid: Zxid): void {
    if (zxid > this.committedZxid) this.committedZxid = zxid;
    this.applyCommitted();
  }

  expectTxn(sessionId: SessionId, cxid: number, origin: TxnOrigin): void {
    this.origins.set(originKey(sessionId, cxid), origin);
  }

  lookForLeader(reason: string): void {
    this.lastLookingReason = reason;
    this.startElection();
  }

  // ---- state for drivers and tests ---------------------------------------------------------

  get state(): PeerRole {
    return this.role.kind;
  }

  /** The leader this peer follows or is, once it serves; undefined while looking. */
  get leaderId(): ServerId | undefined {
    switch (this.role.kind) {
      case 'leading':
        return this.role.leader.established ? this.serverId : undefined;
      case 'following':
      case 'observing':
        return this.role.learner.serving ? this.role.learner.leaderId : undefined;
      default:
        return undefined;
    }
  }

  /** True when clients can be served: the leader is established or the learner up to date. */
  get serving(): boolean {
    return this.leaderId !== undefined;
  }

  get committed(): Zxid {
    return this.committedZxid;
  }

  get vote(): Vote {
    return this.election.currentVote;
  }

  // ---- step ---------------------------------------------------------------------------------

  /** Handles one input and returns what the driver must do next; `stepAll` batches several. */
  step(input: PeerInput): PeerReady {
    return this.stepAll([input]);
  }

  /**
   * Handles several inputs and answers with one Ready: proposals prepared for all of them
   * leave as one batched PROPOSAL per learner, and their storage actions as one write.
   */
  stepAll(inputs: readonly PeerInput[]): PeerReady {
    for (const input of inputs) this.handleInput(input);
    if (this.role.kind === 'leading') this.role.leader.flush();
    const leaderId = this.leaderId;
    if (leaderId !== undefined) {
      this.election.announce({
        leader: leaderId,
        zxid: this.log.lastZxid,
        peerEpoch: this.epochs.currentEpoch,
      });
    }
    return this.takeReady();
  }

  private handleInput(input: PeerInput): void {
    switch (input.kind) {
      case 'tick':
        this.tick(input.nowMs);
        break;
      case 'message':
        this.receive(input.from, input.message);
        break;
      case 'linkDown':
        this.linkDown(input.peer);
        break;
      case 'persistedThrough':
        this.onPersisted(input.seq);
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
      default:
        assertNever(input, 'peer input');
    }
  }

  private takeReady(): PeerReady {
    const ready: PeerReady = {
      persist: this.persistActions,
      persistSeq:
        this.persistActions.length > 0 || this.currentMark !== undefined ? this.currentMark!.seq : 0,
      messages: this.messages,
      messagesAfterPersist: this.messagesAfterPersist,
      toClients: this.front.drainOutputs(),
    };
    this.persistActions = [];
    this.messages = [];
    this.messagesAfterPersist = [];
    this.currentMark = undefined;
    return ready;
  }

  private tick(nowMs: number): void {
    if (nowMs > this.now) this.now = nowMs;
    switch (this.role.kind) {
      case 'looking': {
        const output = this.election.tick(this.now);
        this.sendElection(output.send);
        if (output.decided !== undefined) this.decided(output.decided);
        return;
      }
      case 'leading':
        this.role.leader.tick();
        return;
      default:
        this.role.learner.tick();
    }
  }

  private receive(from: ServerId, message: PeerMessage): void {
    if (message.kind === 'notification') {
      this.receiveNotification(from, message);
      return;
    }
    if (this.role.kind === 'leading') {
      if (isLearnerMessage(message)) this.role.leader.receive(from, message);
      return;
    }
    if (
      (this.role.kind === 'following' || this.role.kind === 'observing') &&
      from === this.role.learner.leaderId
    ) {
      if (isLeaderMessage(message)) this.role.learner.receive(message);
    }
  }

  private receiveNotification(from: ServerId, message: ElectionMessage): void {
    if (this.role.kind !== 'looking') {
      // A peer still looking learns from us who leads.
      if (message.state === 'looking') this.send(from, this.election.answerWhileDecided(this.role.kind));
      return;
    }
    const output = this.election.receive(from, message, this.now);
    this.sendElection(output.send);
    if (output.decided !== undefined) this.decided(output.decided);
  }

  private sendElection(send: readonly { to: ServerId | 'voters'; message: ElectionMessage }[]): void {
    for (const { to, message } of send) {
      if (to !== 'voters') {
        this.send(to, message);
        continue;
      }
      for (const voter of this.quorum.voters) this.send(voter, message);
    }
  }

  private linkDown(peer: ServerId): void {
    if (this.role.kind === 'leading') this.role.leader.linkDown(peer);
    else if (this.role.kind !== 'looking') this.role.learner.linkDown(peer);
  }

  private startElection(): void {
    this.front.closeAll('refused');
    this.origins.clear();
    this.role = { kind: 'looking' };
    const output = this.election.start(this.log.lastZxid, this.epochs.currentEpoch, this.now);
    this.sendElection(output.send);
  }

  private followAttempts = 0;

  private decided(vote: Vote): void {
    if (vote.leader === this.serverId) {
      this.role = { kind: 'leading', leader: new LeaderRole(this) };
      return;
    }
    const observer = this.quorum.observers.has(this.serverId);
    // Unique per attempt, across restarts too: the clock has moved on since any earlier one.
    const attempt = this.nowMs * 1000 + (this.followAttempts++ % 1000);
    const learner = new LearnerRole(this, vote.leader, observer, attempt);
    learner.onRevalidated = (pending, valid) => this.finishResume(pending, valid);
    this.role = { kind: observer ? 'observing' : 'following', learner };
  }

  // ---- durability and application ----------------------------------------------------------

  private onPersisted(seq: number): void {
    let loggedMore = false;
    while (this.marks.length > 0 && this.marks[0]!.seq <= seq) {
      const mark = this.marks.shift()!;
      if (mark.loggedThrough !== undefined && mark.loggedThrough > this.persistedZxid) {
        // A later truncation may have cut the log below what this mark covered.
        this.persistedZxid = mark.loggedThrough <= this.log.lastZxid ? mark.loggedThrough : this.log.lastZxid;
        loggedMore = true;
      }
      for (const callback of mark.callbacks) callback();
    }
    if (loggedMore) {
      if (this.role.kind === 'leading') this.role.leader.persistedOwnLog();
      this.applyCommitted();
    }
  }

  /** Applies, in order, every logged transaction that is both committed and durable here. */
  private applyCommitted(): void {
    const limit = this.committedZxid < this.persistedZxid ? this.committedZxid : this.persistedZxid;
    if (limit <= this.tree.lastZxid) return;
    const txns = this.log.entriesAfter(this.tree.lastZxid, limit) ?? [];
    for (const txn of txns) this.applyOne(txn);
    if (this.role.kind === 'following' || this.role.kind === 'observing')
      this.role.learner.releaseClientSyncs();
  }

  private applyOne(txn: Txn): void {
    const outcome = this.tree.apply(txn);
    this.onApplied?.(txn);
    const key = originKey(txn.sessionId, txn.cxid);
    const origin = this.origins.get(key);
    if (origin !== undefined) this.origins.delete(key);
    if (this.role.kind === 'leading') this.role.leader.applied(txn);
    this.front.applied(txn, outcome, origin?.kind === 'client' ? origin.origin : undefined);
    if (origin?.kind === 'connect' && txn.body.kind === 'createSession') {
      this.front.emit({
        kind: 'connected',
        connectionId: origin.connectionId,
        sessionId: origin.sessionId,
        password: sessionPassword(this.server.sessionSecret, origin.sessionId),
        timeoutMs: txn.body.timeoutMs,
      });
    }
    if (txn.body.kind === 'closeSession') {
      const connectionId = this.front.connectionOf(txn.sessionId);
      if (connectionId !== undefined)
        this.front.close(connectionId, origin ? 'sessionClosed' : 'sessionExpired');
    }
    this.maybeSnapshot();
  }

  private maybeSnapshot(): void {
    this.appliedSinceSnapshot++;
    if (this.appliedSinceSnapshot < this.options.snapCount) return;
    this.appliedSinceSnapshot = 0;
    const snapshot = this.tree.snapshot();
    this.persist({ kind: 'snapshot', snapshot });
    // Keep one snapshot's worth of log before the newest snapshot, so that learners a little
    // behind still get a DIFF rather than a whole snapshot.
    this.persist({ kind: 'purge', throughZxid: this.previousSnapshotZxid });
    this.log.compact(this.previousSnapshotZxid);
    this.previousSnapshotZxid = snapshot.zxid;
  }

  // ---- clients ------------------------------------------------------------------------------

  private get learner(): LearnerRole | undefined {
    return this.role.kind === 'following' || this.role.kind === 'observing' ? this.role.learner : undefined;
  }

  private connect(connectionId: ConnectionId, request: ConnectRequest): void {
    if (!this.serving) {
      this.front.emit({ kind: 'close', connectionId, reason: 'refused' });
      return;
    }
    if (request.sessionId === 0n) {
      const sessionId = this.sessionIds.take();
      const timeoutMs = negotiateTimeout(request.timeoutMs, this.server);
      this.front.attach(connectionId, sessionId, request.clientAddress);
      const origin: TxnOrigin = { kind: 'connect', connectionId, sessionId };
      this.submitRequest(sessionId, -1, [], { op: 'createSession', timeoutMs }, origin);
      return;
    }
    if (request.lastZxidSeen > this.tree.lastZxid) {
      this.front.emit({ kind: 'close', connectionId, reason: 'refused' });
      return;
    }
    const password = sessionPassword(this.server.sessionSecret, request.sessionId);
    // Only the leader knows whether a session lives: a lagging server may not have applied
    // its creation yet. Here only the password is checked.
    if (!samePassword(password, request.password)) {
      this.refuseExpired(connectionId);
      return;
    }
    const pending = { connectionId, sessionId: request.sessionId, clientAddress: request.clientAddress };
    if (this.role.kind === 'leading') {
      this.finishResume(pending, this.role.leader.revalidate(request.sessionId));
      return;
    }
    this.learner?.revalidate(pending);
  }

  private finishResume(pending: PendingRevalidation, valid: boolean): void {
    if (!valid) {
      this.refuseExpired(pending.connectionId);
      return;
    }
    this.front.attach(pending.connectionId, pending.sessionId, pending.clientAddress);
    this.front.emit({
      kind: 'connected',
      connectionId: pending.connectionId,
      sessionId: pending.sessionId,
      password: sessionPassword(this.server.sessionSecret, pending.sessionId),
      timeoutMs: this.sessionTimeoutOf(pending.sessionId),
    });
  }

  private sessionTimeoutOf(sessionId: SessionId): number {
    const known = this.tree.sessions().get(sessionId);
    if (known !== undefined) return known;
    const tracked =
      this.role.kind === 'leading' ? this.role.leader.sessionTracker?.timeoutOf(sessionId) : undefined;
    return tracked ?? this.server.minSessionTimeoutMs;
  }

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

  private submitRequest(
    sessionId: SessionId,
    cxid: number,
    authInfo: WriteOrigin['authInfo'],
    request: PreparableRequest,
    origin: TxnOrigin,
  ): void {
    if (this.role.kind === 'leading') {
      this.role.leader.submitLocal(sessionId, cxid, authInfo, request, origin);
      return;
    }
    this.learner?.forward(sessionId, cxid, authInfo, request, origin);
  }

  // CommitPath
  submit(origin: WriteOrigin, request: WriteRequest | { readonly op: 'closeSession' }): void {
    this.submitRequest(origin.sessionId, origin.xid, origin.authInfo, request, { kind: 'client', origin });
  }

  touch(sessionId: SessionId): boolean {
    if (this.role.kind === 'leading') return this.role.leader.touch(sessionId);
    return this.learner?.touch(sessionId) ?? false;
  }

  sync(origin: WriteOrigin): void {
    if (this.role.kind === 'leading') {
      this.front.synced(origin);
      return;
    }
    this.learner?.clientSync(origin);
  }
}

function originKey(sessionId: SessionId, cxid: number): string {
  return `${sessionId}:${cxid}`;
}

function emptyState(): PersistedState {
  return { epochs: { acceptedEpoch: 0, currentEpoch: 0 }, snapshot: undefined, log: [] };
}

const learnerKinds = new Set<PeerMessage['kind']>([
  'followerInfo',
  'ackEpoch',
  'ackNewLeader',
  'ack',
  'pingReply',
  'request',
  'clientSync',
  'revalidate',
]);

function isLearnerMessage(message: PeerMessage): message is LearnerMessage {
  return learnerKinds.has(message.kind);
}

function isLeaderMessage(message: PeerMessage): message is LeaderMessage {
  return message.kind !== 'notification' && !learnerKinds.has(message.kind);
}
