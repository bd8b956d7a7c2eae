/**
 * The leader: discovery (collect FOLLOWERINFO, choose a new epoch, collect ACKEPOCH),
 * learner synchronisation (DIFF, TRUNC or SNAP per learner, then NEWLEADER; established once a
 * quorum acknowledges), and broadcast (prepare, PROPOSAL, ACK from a quorum, COMMIT, INFORM
 * for observers). It also owns the global sessions: expiry, touches relayed by learners,
 * revalidation of moved sessions.
 */
import type { Id } from '../acl.js';
import { ErrorCode } from '../errors.js';
import { type PreparableRequest, RequestPreparer } from '../prep/preparer.js';
import { SessionTracker } from '../sessions/session-tracker.js';
import { ttlOf } from '../stat.js';
import type { SessionId, Txn } from '../txn.js';
import { counterOf, makeZxid, nextZxid, type Zxid } from '../zxid.js';
import type { PeerContext, TxnOrigin } from './context.js';
import type { LeaderMessage, LearnerMessage, LearnerSyncMode } from './messages.js';
import type { ServerId } from './quorum.js';

type LearnerStage = 'info' | 'epochAcked' | 'learnerSyncSent' | 'newLeaderAcked';

interface LearnerLink {
  readonly serverId: ServerId;
  readonly observer: boolean;
  readonly acceptedEpoch: number;
  /** The learner's attempt to follow that this link belongs to. */
  readonly attempt: number;
  /** The `seq` the next forwarded request or client sync must carry. */
  nextForwardSeq: number;
  stage: LearnerStage;
  /** Highest zxid the learner acknowledged as durable. */
  ackedZxid: Zxid;
  /** The end of our log when we synchronised it: durable there once it acks NEWLEADER. */
  learnerSyncedThroughZxid: Zxid;
  lastHeardMs: number;
}

type Phase = 'discovery' | 'learnerSync' | 'broadcast';

export class LeaderRole {
  private phase: Phase = 'discovery';
  private epoch = -1;
  private readonly learners = new Map<ServerId, LearnerLink>();
  private readonly deadlineMs: number;
  private selfNewLeaderDurable = false;
  private preparer: RequestPreparer | undefined;
  private tracker: SessionTracker | undefined;
  private lastProposedZxid: Zxid;
  private committedZxid: Zxid;
  private nextPingMs = 0;
  private nextContainerCheckMs = 0;
  /** Container and TTL deletions proposed and not yet applied, by zxid. */
  private readonly containerDeletesInFlight = new Map<Zxid, string>();
  /** Proposals prepared this step, sent as one PROPOSAL per learner at the end of the step. */
  private unsentProposals: Txn[] = [];

  constructor(private readonly peer: PeerContext) {
    this.deadlineMs = peer.nowMs + peer.options.initLimitTicks * peer.server.tickTimeMs;
    this.lastProposedZxid = peer.log.lastZxid;
    this.committedZxid = peer.tree.lastZxid;
    // The leader's own FOLLOWERINFO: it may already have a quorum on its own.
    this.checkDiscoveryQuorum();
  }

  get established(): boolean {
    return this.phase === 'broadcast';
  }

  get currentEpochOfLeadership(): number {
    return this.epoch;
  }

  private voters(ids: Iterable<ServerId>): ServerId[] {
    return [...ids].filter((id) => this.peer.quorum.voters.has(id));
  }

  // ---- discovery ----------------------------------------------------------------------

  private checkDiscoveryQuorum(): void {
    if (this.phase !== 'discovery' || this.epoch >= 0) return;
    const connected = [this.peer.serverId, ...this.learners.keys()];
    if (!this.peer.quorum.containsQuorum(connected)) return;
    // The new epoch exceeds every epoch a quorum member has promised to follow.
    let highest = this.peer.acceptedEpoch;
    for (const learner of this.learners.values()) highest = Math.max(highest, learner.acceptedEpoch);
    this.epoch = highest + 1;
    this.peer.setEpochs(this.epoch, this.peer.currentEpoch);
    for (const learner of this.learners.values()) {
      this.peer.sendAfterPersist(learner.serverId, { kind: 'leaderInfo', epoch: this.epoch });
    }
    this.checkEpochAckQuorum();
  }

  private onFollowerInfo(from: ServerId, acceptedEpoch: number, observer: boolean, attempt: number): void {
    const known = this.learners.get(from);
    // A resend or a duplicate of the attempt we are already handling.
    if (known !== undefined && known.attempt === attempt) {
      if (known.stage === 'info' && this.epoch >= 0)
        this.peer.sendAfterPersist(from, { kind: 'leaderInfo', epoch: this.epoch });
      return;
    }
    this.learners.set(from, {
      serverId: from,
      observer,
      acceptedEpoch,
      attempt,
      nextForwardSeq: 1,
      stage: 'info',
      ackedZxid: makeZxid(0, 0),
      learnerSyncedThroughZxid: makeZxid(0, 0),
      lastHeardMs: this.peer.nowMs,
    });
    if (this.epoch >= 0) {
      if (acceptedEpoch > this.epoch) {
        // The learner promised a later epoch (to a leader that never got established) and can
        // never follow ours. ZooKeeper leaves it out until the next election; we hold that
        // election now, so the whole ensemble serves again. The new epoch exceeds its promise.
        this.peer.lookForLeader(
          `server ${from} accepted epoch ${acceptedEpoch}, beyond ours (${this.epoch})`,
        );
        return;
      }
      this.peer.sendAfterPersist(from, { kind: 'leaderInfo', epoch: this.epoch });
      return;
    }
    this.checkDiscoveryQuorum();
  }

  private onAckEpoch(learner: LearnerLink, currentEpoch: number, lastZxid: Zxid): void {
    if (learner.stage !== 'info') return;
    const ownLast = this.peer.log.lastZxid;
    const ahead =
      currentEpoch > this.peer.currentEpoch ||
      (currentEpoch === this.peer.currentEpoch && lastZxid > ownLast);
    if (ahead && this.phase === 'discovery' && !learner.observer) {
      // A quorum member knows more than we do: the election was wrong; try again.
      this.peer.lookForLeader(`server ${learner.serverId} is ahead of its leader`);
      return;
    }
    learner.stage = 'epochAcked';
    if (this.phase === 'discovery') {
      this.pendingLastZxid.set(learner.serverId, lastZxid);
      this.checkEpochAckQuorum();
      return;
    }
    this.syncLearner(learner, lastZxid);
  }

  private readonly pendingLastZxid = new Map<ServerId, Zxid>();

  private checkEpochAckQuorum(): void {
    if (this.phase !== 'discovery' || this.epoch < 0) return;
    const acked = this.voters(
      [...this.learners.values()].filter((l) => l.stage === 'epochAcked').map((l) => l.serverId),
    );
    if (!this.peer.quorum.containsQuorum([this.peer.serverId, ...acked])) return;
    this.phase = 'learnerSync';
    for (const learner of this.learners.values()) {
      if (learner.stage === 'epochAcked')
        this.syncLearner(learner, this.pendingLastZxid.get(learner.serverId)!);
    }
    this.pendingLastZxid.clear();
    this.checkNewLeaderQuorum();
  }

  // ---- learner synchronisation ----------------------------------------------------------

  /** Sends a learner what it lacks (DIFF), what it must drop (TRUNC) or everything (SNAP). */
  private syncLearner(learner: LearnerLink, peerLastZxid: Zxid): void {
    const log = this.peer.log;
    const common = log.floor(peerLastZxid);
    let mode: LearnerSyncMode;
    let truncateTo: Zxid | undefined;
    let txns: Txn[];
    let snapshot: ReturnType<PeerContext['tree']['snapshot']> | undefined;
    if (common === undefined) {
      mode = 'snap';
      snapshot = this.peer.tree.snapshot();
      txns = log.entriesAfter(snapshot.zxid) ?? [];
    } else if (common === peerLastZxid) {
      mode = 'diff';
      txns = log.entriesAfter(common)!;
    } else {
      mode = 'trunc';
      truncateTo = common;
      txns = log.entriesAfter(common)!;
    }
    this.peer.send(learner.serverId, {
      kind: 'learnerSync',
      epoch: this.epoch,
      mode,
      truncateTo,
      snapshot,
      txns,
    });
    this.peer.send(learner.serverId, { kind: 'newLeader', epoch: this.epoch, lastZxid: log.lastZxid });
    learner.stage = 'learnerSyncSent';
    learner.learnerSyncedThroughZxid = log.lastZxid;
  }

  private onAckNewLeader(learner: LearnerLink): void {
    if (learner.stage !== 'learnerSyncSent') return;
    learner.stage = 'newLeaderAcked';
    // Everything sent in the learner sync is durable on the learner.
    if (learner.learnerSyncedThroughZxid > learner.ackedZxid)
      learner.ackedZxid = learner.learnerSyncedThroughZxid;
    if (this.phase === 'broadcast') {
      this.peer.send(learner.serverId, {
        kind: 'upToDate',
        epoch: this.epoch,
        commitZxid: this.committedZxid,
      });
      this.recomputeCommit();
      return;
    }
    this.checkNewLeaderQuorum();
  }

  private checkNewLeaderQuorum(): void {
    if (this.phase !== 'learnerSync' || this.selfNewLeaderDurable) return;
    const acked = this.voters(
      [...this.learners.values()].filter((l) => l.stage === 'newLeaderAcked').map((l) => l.serverId),
    );
    if (!this.peer.quorum.containsQuorum([this.peer.serverId, ...acked])) return;
    this.selfNewLeaderDurable = true;
    this.peer.setEpochs(this.epoch, this.epoch, () => this.establish());
  }

  /** A quorum holds our history and our currentEpoch is durable: commit it all and serve. */
  private establish(): void {
    if (this.phase !== 'learnerSync') return;
    this.phase = 'broadcast';
    const history = this.peer.log.lastZxid;
    this.lastProposedZxid = history;
    this.committedZxid = history;
    this.peer.commitThrough(history);
    const now = this.peer.nowMs;
    this.preparer = new RequestPreparer(this.peer.tree, {
      dataSizeMaxBytes: this.peer.server.dataSizeMaxBytes,
      extendedTypesEnabled: this.peer.server.extendedTypesEnabled,
      isSessionActive: (sessionId) => this.tracker?.isActive(sessionId) ?? false,
    });
    // Every global session gets a full timeout from now, as ZooKeeper's new leader gives it.
    this.tracker = new SessionTracker(this.peer.server.tickTimeMs);
    for (const [sessionId, timeoutMs] of this.peer.tree.sessions())
      this.tracker.add(sessionId, timeoutMs, now);
    this.nextContainerCheckMs = now + this.peer.server.containerCheckIntervalMs;
    for (const learner of this.learners.values()) {
      if (learner.stage === 'newLeaderAcked') {
        this.peer.send(learner.serverId, {
          kind: 'upToDate',
          epoch: this.epoch,
          commitZxid: this.committedZxid,
        });
      }
    }
  }

  // ---- broadcast ----------------------------------------------------------------------

  /**
   * Which server each session is attached to (ZooKeeper's session owner). A request that
   * reaches us through any other server comes from a connection the client has left: it
   * fails with SessionMoved, so a write delayed on the old path cannot land after the client
   * has moved on. Unknown after an election until a server touches the session.
   */
  private readonly owners = new Map<SessionId, ServerId>();

  /** True when `server` may act for the session; claims it when nobody has yet. */
  private ownedBy(sessionId: SessionId, server: ServerId): boolean {
    const owner = this.owners.get(sessionId);
    if (owner === undefined) {
      this.owners.set(sessionId, server);
      return true;
    }
    return owner === server;
  }

  /** Prepares a write and proposes it. Only once established. */
  propose(
    sessionId: SessionId,
    cxid: number,
    authInfo: readonly Id[],
    request: PreparableRequest,
    via: ServerId = this.peer.serverId,
  ): Zxid | undefined {
    if (this.phase !== 'broadcast' || this.preparer === undefined || this.tracker === undefined)
      return undefined;
    if (counterOf(this.lastProposedZxid) >= this.peer.options.zxidCounterLimit) {
      // The counter is exhausted: a new epoch starts the count again.
      this.peer.lookForLeader('zxid counter exhausted');
      return undefined;
    }
    const zxid =
      this.lastProposedZxid >> 32n === BigInt(this.epoch)
        ? nextZxid(this.lastProposedZxid)
        : makeZxid(this.epoch, 1);
    if (request.op === 'createSession') {
      this.tracker.add(sessionId, request.timeoutMs, this.peer.nowMs);
      this.owners.set(sessionId, via);
    }
    const moved = cxid !== -1 && request.op !== 'createSession' && !this.ownedBy(sessionId, via);
    if (request.op === 'closeSession' && !moved) {
      this.tracker.setClosing(sessionId);
      this.owners.delete(sessionId);
    }
    const txn: Txn = moved
      ? {
          zxid,
          timeMs: this.peer.nowMs,
          sessionId,
          cxid,
          body: { kind: 'error', code: ErrorCode.SessionMoved },
        }
      : this.preparer.prepare({ zxid, timeMs: this.peer.nowMs, sessionId, cxid, authInfo, request });
    this.lastProposedZxid = zxid;
    this.peer.appendToLog([txn]);
    this.unsentProposals.push(txn);
    return zxid;
  }

  /** Called at the end of every step: one batched PROPOSAL per learner. */
  flush(): void {
    if (this.unsentProposals.length === 0) return;
    const batchMax = this.peer.options.proposalBatchMax;
    for (let start = 0; start < this.unsentProposals.length; start += batchMax) {
      const txns = this.unsentProposals.slice(start, start + batchMax);
      for (const learner of this.learners.values()) {
        if (learner.observer || (learner.stage !== 'learnerSyncSent' && learner.stage !== 'newLeaderAcked'))
          continue;
        this.peer.send(learner.serverId, { kind: 'proposal', epoch: this.epoch, txns });
      }
    }
    this.unsentProposals = [];
  }

  /** The leader's own log became durable up to a point: its own ack. */
  persistedOwnLog(): void {
    this.recomputeCommit();
  }

  private recomputeCommit(): void {
    if (this.phase !== 'broadcast') return;
    if (this.learners.size === 0) {
      // No learner at all (a standalone server, on every write): our own durable log is the
      // only ack, and nobody needs a COMMIT or an INFORM.
      this.commitOwnLog();
      return;
    }
    const acks = new Map<ServerId, Zxid>([[this.peer.serverId, this.peer.lastPersistedZxid]]);
    for (const learner of this.learners.values()) {
      if (!learner.observer && learner.stage === 'newLeaderAcked')
        acks.set(learner.serverId, learner.ackedZxid);
    }
    // The highest zxid that a quorum has acknowledged.
    const candidates = [...new Set(acks.values())].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
    let commit = this.committedZxid;
    for (const candidate of candidates) {
      if (candidate <= commit) break;
      const holders = [...acks].filter(([, zxid]) => zxid >= candidate).map(([id]) => id);
      if (this.peer.quorum.containsQuorum(holders)) {
        commit = candidate > this.lastProposedZxid ? this.lastProposedZxid : candidate;
        break;
      }
    }
    if (commit <= this.committedZxid) return;
    const newlyCommitted = this.peer.log.entriesAfter(this.committedZxid, commit) ?? [];
    this.committedZxid = commit;
    for (const learner of this.learners.values()) {
      if (learner.stage !== 'newLeaderAcked' && learner.stage !== 'learnerSyncSent') continue;
      if (learner.observer) {
        if (newlyCommitted.length > 0)
          this.peer.send(learner.serverId, { kind: 'inform', epoch: this.epoch, txns: newlyCommitted });
      } else {
        this.peer.send(learner.serverId, { kind: 'commit', epoch: this.epoch, zxid: commit });
      }
    }
    this.peer.commitThrough(commit);
  }

  private commitOwnLog(): void {
    if (!this.peer.quorum.containsQuorum([this.peer.serverId])) return;
    const durable = this.peer.lastPersistedZxid;
    const commit = durable > this.lastProposedZxid ? this.lastProposedZxid : durable;
    if (commit <= this.committedZxid) return;
    this.committedZxid = commit;
    this.peer.commitThrough(commit);
  }

  // ---- messages -----------------------------------------------------------------------

  receive(from: ServerId, message: LearnerMessage): void {
    if (message.kind === 'followerInfo') {
      this.onFollowerInfo(from, message.acceptedEpoch, message.observer, message.attempt);
      return;
    }
    const learner = this.learners.get(from);
    if (learner === undefined || message.epoch !== this.epoch) return;
    learner.lastHeardMs = this.peer.nowMs;
    switch (message.kind) {
      case 'ackEpoch':
        this.onAckEpoch(learner, message.currentEpoch, message.lastZxid);
        return;
      case 'ackNewLeader':
        this.onAckNewLeader(learner);
        return;
      case 'ack':
        if (message.zxid > learner.ackedZxid) learner.ackedZxid = message.zxid;
        this.recomputeCommit();
        return;
      case 'pingReply':
        for (const sessionId of message.touches) this.tracker?.touch(sessionId, this.peer.nowMs);
        return;
      case 'request':
        if (!this.inForwardOrder(learner, message.seq)) return;
        this.propose(message.sessionId, message.cxid, message.authInfo, message.request, from);
        return;
      case 'clientSync':
        if (!this.inForwardOrder(learner, message.seq)) return;
        this.reply(from, {
          kind: 'clientSyncReply',
          epoch: this.epoch,
          sessionId: message.sessionId,
          cxid: message.cxid,
          zxid: this.lastProposedZxid,
        });
        return;
      case 'revalidate':
        this.reply(from, {
          kind: 'revalidateReply',
          epoch: this.epoch,
          sessionId: message.sessionId,
          connectionId: message.connectionId,
          valid: this.revalidate(message.sessionId, from),
        });
        return;
    }
  }

  /**
   * Forwarded requests must arrive exactly once and in order, or a client's writes could be
   * applied twice or out of order. A duplicate is dropped; a gap means the link lost or
   * reordered something, so we forget the learner: it times out and connects afresh, and
   * its clients learn their outstanding requests' outcome is unknown.
   */
  private inForwardOrder(learner: LearnerLink, seq: number): boolean {
    if (seq < learner.nextForwardSeq) return false;
    if (seq > learner.nextForwardSeq) {
      this.learners.delete(learner.serverId);
      return false;
    }
    learner.nextForwardSeq++;
    return true;
  }

  private reply(to: ServerId, message: LeaderMessage): void {
    this.peer.send(to, message);
  }

  /** A client moved to `server`: its session is valid if alive here; touch it and move its owner. */
  revalidate(sessionId: SessionId, server: ServerId = this.peer.serverId): boolean {
    if (this.tracker === undefined) return false;
    // The tracker knows sessions from the moment their creation is proposed, before it commits.
    const valid = this.tracker.touch(sessionId, this.peer.nowMs);
    if (valid) this.owners.set(sessionId, server);
    return valid;
  }

  touch(sessionId: SessionId): boolean {
    return this.tracker?.touch(sessionId, this.peer.nowMs) ?? false;
  }

  /** The lost link to a learner: forget it until it connects again. */
  linkDown(peer: ServerId): void {
    this.learners.delete(peer);
  }

  /** A committed transaction was applied: session and container bookkeeping. */
  applied(txn: Txn): void {
    this.preparer?.applied(txn.zxid);
    if (txn.body.kind === 'closeSession') this.tracker?.remove(txn.sessionId);
    this.containerDeletesInFlight.delete(txn.zxid);
  }

  tick(): void {
    const now = this.peer.nowMs;
    if (this.phase !== 'broadcast') {
      if (now >= this.deadlineMs)
        this.peer.lookForLeader(`no quorum synchronised within initLimit (${this.phase})`);
      return;
    }
    const tickMs = this.peer.server.tickTimeMs;
    if (now >= this.nextPingMs) {
      this.nextPingMs = now + Math.max(1, Math.floor(tickMs / 2));
      for (const learner of this.learners.values())
        this.peer.send(learner.serverId, { kind: 'ping', epoch: this.epoch });
    }
    // Step down when a quorum of voters has not been heard from within syncLimit.
    const silenceLimitMs = this.peer.options.syncLimitTicks * tickMs;
    const alive = [this.peer.serverId];
    for (const learner of this.learners.values()) {
      if (learner.stage === 'newLeaderAcked' && now - learner.lastHeardMs <= silenceLimitMs)
        alive.push(learner.serverId);
    }
    if (!this.peer.quorum.containsQuorum(alive)) {
      this.peer.lookForLeader('lost the quorum');
      return;
    }
    for (const learner of [...this.learners.values()]) {
      if (now - learner.lastHeardMs > silenceLimitMs) this.learners.delete(learner.serverId);
    }
    for (const sessionId of this.tracker!.expire(now))
      this.propose(sessionId, -1, [], { op: 'closeSession' });
    if (now >= this.nextContainerCheckMs) {
      this.nextContainerCheckMs = now + this.peer.server.containerCheckIntervalMs;
      this.collectContainers();
    }
  }

  private collectContainers(): void {
    const tree = this.peer.tree;
    const candidates: string[] = [];
    for (const path of tree.containers()) {
      const node = tree.getNode(path)!;
      if (node.cversion > 0 && node.children.size === 0) candidates.push(path);
    }
    for (const path of tree.ttlNodes()) {
      const node = tree.getNode(path)!;
      if (node.children.size === 0 && this.peer.nowMs - node.mtime > Number(ttlOf(node.ephemeralOwner))) {
        candidates.push(path);
      }
    }
    const inFlight = new Set(this.containerDeletesInFlight.values());
    for (const path of candidates.sort()) {
      if (inFlight.has(path)) continue;
      const zxid = this.propose(0n, -1, [], { op: 'deleteContainer', path });
      if (zxid !== undefined) this.containerDeletesInFlight.set(zxid, path);
    }
  }

  /** Writes from this leader's own clients go straight to preparation. */
  submitLocal(
    sessionId: SessionId,
    cxid: number,
    authInfo: readonly Id[],
    request: PreparableRequest,
    origin: TxnOrigin,
  ): boolean {
    if (this.phase !== 'broadcast') return false;
    this.peer.expectTxn(sessionId, cxid, origin);
    return this.propose(sessionId, cxid, authInfo, request) !== undefined;
  }

  get proposedZxid(): Zxid {
    return this.lastProposedZxid;
  }

  get sessionTracker(): SessionTracker | undefined {
    return this.tracker;
  }
}
