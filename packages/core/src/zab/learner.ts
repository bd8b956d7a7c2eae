/**
 * A follower or an observer: it connects to the leader (FOLLOWERINFO), promises the new
 * epoch (ACKEPOCH, after acceptedEpoch is durable), takes the leader's learner sync (DIFF,
 * TRUNC or SNAP, streamed in chunks: sync-intake.ts), makes it durable before
 * acknowledging NEWLEADER, and serves once UPTODATE arrives. In
 * broadcast it logs proposals and acknowledges them only once durable, applies what is
 * committed and durable, forwards its clients' writes, client syncs and session checks.
 */
import type { Id } from '../acl.js';
import { assert } from '../errors.js';
import type { WriteOrigin } from '../front/client-front.js';
import type { PreparableRequest, RestoreRequest } from '../prep/preparer.js';
import type { PendingRevalidation } from '../sessions/admission.js';
import { noSessionId } from '../sessions/session-ids.js';
import type { SessionId, Txn } from '../txn.js';
import type { Zxid } from '../zxid.js';
import { internalCxid, type PeerContext, type TxnOrigin } from './context.js';
import type { SyncProgress } from './events.js';
import type { LeaderMessage } from './messages.js';
import type { ServerId } from './quorum.js';
import { SyncIntake } from './sync-intake.js';
import { followsContiguously } from './txn-log.js';

type Phase = 'connecting' | 'learnerSync' | 'broadcast';

export class LearnerRole {
  private phase: Phase = 'connecting';
  /**
   * Set once NEWLEADER confirmed our log matches the leader's. Before that, a proposal or a
   * commit could land on a history with a hole (a learner sync that was lost), so neither is
   * accepted.
   */
  private historyVerified = false;
  private epoch = -1;
  private lastHeardMs: number;
  /**
   * Connecting must reach the learner sync by this time, and once NEWLEADER is taken, UPTODATE
   * must come by it, however chatty the leader is. The sync's stream in between is bounded by
   * its progress instead (syncStallLimitTicks), so a large state can take as long as it needs.
   */
  private setupDeadlineMs: number;
  private nextFollowerInfoMs = 0;
  private readonly touches = new Set<SessionId>();
  /** Client syncs: waiting for the leader's zxid (undefined), then for it to be applied. */
  private readonly clientSyncWaiters: { origin: WriteOrigin; zxid: Zxid | undefined }[] = [];
  private readonly revalidations = new Map<number, PendingRevalidation>();
  /**
   * Numbers what we forward to the leader (writes and client syncs), so the leader can tell a
   * duplicate (ignored) or a gap (the link lost or reordered something: it drops us and we
   * reconnect) from the next in line. Clients' FIFO order rests on it.
   */
  private forwardSeq = 0;
  /** The leader's learner sync, once SYNCBEGIN came: taken once, a late duplicate must not rewind the log. */
  private intake: SyncIntake | undefined;
  /** Set once NEWLEADER closed the stream. */
  private streamDone = false;

  constructor(
    private readonly peer: PeerContext,
    readonly leaderId: ServerId,
    readonly observer: boolean,
    private readonly attempt: number,
    /**
     * The leader told us itself that it leads an established ensemble: it answers FOLLOWERINFO
     * at once and pings us, so its silence while we join it (outside a stream under way) counts
     * against syncLimit, not initLimit. A server that joined a leader just before the leader
     * was cut off would otherwise hold the rest of the ensemble's election up for initLimit.
     */
    private readonly leaderEstablished = false,
  ) {
    this.lastHeardMs = peer.nowMs;
    this.setupDeadlineMs = peer.nowMs + peer.options.initLimitTicks * peer.server.tickTimeMs;
    this.sendFollowerInfo();
  }

  get serving(): boolean {
    return this.phase === 'broadcast';
  }

  private sendFollowerInfo(): void {
    this.nextFollowerInfoMs = this.peer.nowMs + this.peer.server.tickTimeMs;
    this.peer.send(this.leaderId, {
      kind: 'followerInfo',
      acceptedEpoch: this.peer.acceptedEpoch,
      observer: this.observer,
      attempt: this.attempt,
    });
  }

  receive(message: LeaderMessage): void {
    if (message.kind !== 'leaderInfo' && message.epoch !== this.epoch) return;
    // A sync's messages name the attempt to follow they answer: a late one from an earlier
    // attempt (the same leader, the same epoch) must not begin, feed or end this one's.
    if (isSyncMessage(message) && message.attempt !== this.attempt) return;
    this.lastHeardMs = this.peer.nowMs;
    if (!this.streamDone) this.intake?.heard();
    switch (message.kind) {
      case 'leaderInfo':
        this.onLeaderInfo(message.epoch);
        return;
      case 'syncBegin':
        this.onSyncBegin(message);
        return;
      case 'syncSnapshotChunk':
        if (this.streamOpen('a snapshot chunk')) this.intake!.snapshotChunk(message);
        return;
      case 'syncTxns':
        if (this.streamOpen('sync transactions')) this.intake!.txns(message);
        return;
      case 'newLeader': {
        if (this.phase !== 'learnerSync' || this.streamDone) return;
        const intake = this.intake;
        if (intake === undefined || !intake.historyComplete) {
          this.peer.lookForLeader(
            `learner sync incomplete at NEWLEADER: ${intake === undefined ? 'no SYNCBEGIN came' : 'the snapshot is not whole'}`,
          );
          return;
        }
        if (this.peer.log.lastZxid !== message.lastZxid) {
          this.peer.lookForLeader(
            `learner sync incomplete: log ends at ${this.peer.log.lastZxid}, leader sent ${message.lastZxid}`,
          );
          return;
        }
        // The history the leader sent is persisted before the epoch (ordered actions), then we ack.
        // The leader's session secret too: once this peer acknowledges, it may lead next.
        if (message.sessionSecret.length === 0) {
          this.peer.lookForLeader('the leader sent an empty session secret');
          return;
        }
        this.historyVerified = true;
        this.streamDone = true;
        this.setupDeadlineMs =
          this.peer.nowMs + this.peer.options.initLimitTicks * this.peer.server.tickTimeMs;
        this.peer.adoptSessionSecret(message.sessionSecret);
        this.peer.setEpochs(this.peer.acceptedEpoch, this.epoch);
        assert(this.peer.currentEpoch === this.epoch, 'a learner holding the history takes its epoch');
        this.peer.sendAfterPersist(this.leaderId, {
          kind: 'ackNewLeader',
          epoch: this.epoch,
          attempt: this.attempt,
        });
        this.peer.event({
          kind: 'syncFinished',
          ...intake.progress(),
          durationMs: this.peer.nowMs - intake.startedMs,
          lastZxid: message.lastZxid,
        });
        return;
      }
      case 'upToDate':
        // Only after NEWLEADER: an UPTODATE left over from an earlier attempt must not make
        // us serve a history we have not been given.
        if (this.phase !== 'learnerSync' || !this.historyVerified) return;
        if (!this.holdsCommitted(message.commitZxid, 'UPTODATE')) return;
        this.phase = 'broadcast';
        this.peer.commitThrough(message.commitZxid);
        assert(this.serving, 'UPTODATE makes a learner serve');
        return;
      case 'proposal':
        this.onProposal(message.txns);
        return;
      case 'commit':
        if (this.historyVerified && this.holdsCommitted(message.zxid, 'COMMIT'))
          this.peer.commitThrough(message.zxid);
        return;
      case 'inform':
        if (!this.historyVerified) {
          this.peer.lookForLeader('INFORM before NEWLEADER: the learner sync was lost');
          return;
        }
        if (!this.appendContiguous(message.txns)) return;
        if (message.txns.length > 0) this.peer.commitThrough(message.txns[message.txns.length - 1]!.zxid);
        return;
      case 'ping':
        this.onPing(message.sentThroughZxid, message.commitZxid);
        return;
      case 'clientSyncReply':
        this.onClientSyncReply(message.sessionId, message.cxid, message.zxid);
        return;
      case 'revalidateReply':
        this.onRevalidateReply(message.connectionId, message.valid);
        return;
      case 'leaderLeaving':
        // Looking is always allowed; this only spares the wait for syncLimit to run out.
        this.peer.lookForLeader(`leader ${this.leaderId} handed leadership over`);
        return;
      case 'transferOutcome':
        // The end of a transfer this learner asked for: whoever waits for it here hears why.
        this.peer.event({
          kind: 'leadershipTransfer',
          outcome: message.outcome,
          successor: undefined,
          reason: `leader ${this.leaderId}: ${message.reason}`,
        });
        return;
      case 'leadershipTransfer':
        // As leaderLeaving, voting for the successor, which acknowledged every proposal.
        this.peer.lookForLeader(
          `leader ${this.leaderId} handed leadership over to server ${message.successor}`,
          {
            leader: message.successor,
            zxid: message.zxid,
            peerEpoch: message.epoch,
          },
        );
        return;
    }
  }

  private onLeaderInfo(epoch: number): void {
    if (this.phase !== 'connecting') return;
    if (epoch < this.peer.acceptedEpoch) {
      this.peer.lookForLeader(`leader proposed epoch ${epoch} below our accepted ${this.peer.acceptedEpoch}`);
      return;
    }
    this.epoch = epoch;
    this.phase = 'learnerSync';
    // The promise must be durable before the leader hears it (ZAB's discovery phase). An
    // epoch we promised before may have been promised to another server: the ack says so.
    const promisedNow = epoch > this.peer.acceptedEpoch;
    if (promisedNow) this.peer.setEpochs(epoch, this.peer.currentEpoch);
    assert(this.peer.acceptedEpoch === epoch, 'a learner accepts the epoch it acknowledges');
    assert(this.peer.currentEpoch <= epoch, 'the new epoch is not behind our current one');
    this.peer.sendAfterPersist(this.leaderId, {
      kind: 'ackEpoch',
      epoch,
      currentEpoch: this.peer.currentEpoch,
      lastZxid: this.peer.log.lastZxid,
      promisedNow,
    });
  }

  /** Starts taking the leader's learner sync: truncate first for a TRUNC, start staging for a SNAP. */
  private onSyncBegin(message: Extract<LeaderMessage, { kind: 'syncBegin' }>): void {
    if (this.phase !== 'learnerSync' || this.intake !== undefined) return;
    const { log, tree } = this.peer;
    if (message.mode === 'snap') {
      const zxid = message.snapshotZxid;
      if (zxid === undefined) {
        this.peer.lookForLeader('the leader began a SNAP without naming its snapshot');
        return;
      }
      // Stage beside the current state, which stays whole until the snapshot is.
      this.peer.persist({ kind: 'stageBegin', zxid });
    } else if (message.mode === 'trunc') {
      const truncateTo = message.truncateTo;
      if (truncateTo === undefined || tree.lastZxid > truncateTo) {
        // We applied only committed transactions; a leader asking us to drop one is broken.
        this.peer.lookForLeader(`leader truncates below our applied zxid ${tree.lastZxid}`);
        return;
      }
      if (!log.contains(truncateTo)) {
        // A leader truncates to the last zxid our histories share: one our log holds.
        this.peer.lookForLeader(`leader truncates to ${truncateTo}, which our log does not hold`);
        return;
      }
      log.truncateAfter(truncateTo);
      this.peer.membership.truncatedTo(truncateTo);
      this.peer.persist({ kind: 'truncate', afterZxid: truncateTo });
      assert(log.lastZxid <= truncateTo, 'a TRUNC drops everything after its zxid');
      assert(log.lastZxid >= tree.lastZxid, 'a TRUNC keeps everything applied');
    }
    const epoch = this.epoch;
    const peer = this.peer;
    const intake = new SyncIntake(
      {
        get nowMs() {
          return peer.nowMs;
        },
        stageChunk: (zxid, index, chunk, onDurable) =>
          this.peer.persist({ kind: 'stageChunk', zxid, index, nodes: chunk.nodes }, onDurable),
        whenDurable: (callback) => this.peer.whenDurable(callback),
        installSnapshot: (incoming, zxid, chunks, nodes, sessions) =>
          this.peer.installSnapshot(incoming, zxid, chunks, nodes, sessions),
        appendTxns: (chunk, onDurable) => {
          if (!this.appendContiguous(chunk.txns)) return false;
          this.peer.whenDurable(onDurable);
          return true;
        },
        acknowledge: (seq, arrivals) =>
          this.peer.send(this.leaderId, { kind: 'syncAck', epoch, seq, arrivals }),
        fail: (reason) => this.peer.lookForLeader(reason),
      },
      this.leaderId,
      message.mode,
      message.mode === 'snap' ? message.snapshotZxid : undefined,
    );
    this.intake = intake;
    this.peer.event({ kind: 'syncStarted', ...intake.progress() });
  }

  /** True when a stream chunk may be taken now; a chunk before SYNCBEGIN means SYNCBEGIN was lost. */
  private streamOpen(what: string): boolean {
    if (this.phase !== 'learnerSync' || this.streamDone) return false;
    if (this.intake !== undefined) return true;
    this.peer.lookForLeader(`${what} from leader ${this.leaderId} before SYNCBEGIN`);
    return false;
  }

  /** The learner sync under way, for `status()`. */
  syncProgress(): SyncProgress | undefined {
    return this.intake === undefined || this.streamDone ? undefined : this.intake.progress();
  }

  /**
   * This role ends (the peer goes looking): a learner sync under way fails with `reason`, and
   * a SNAP staged and never installed is dropped from storage.
   */
  abandon(reason: string): void {
    const intake = this.intake;
    if (intake === undefined || this.streamDone) return;
    this.streamDone = true;
    if (intake.staging) this.peer.persist({ kind: 'stageDiscard' });
    this.peer.event({
      kind: 'syncFailed',
      ...intake.progress(),
      durationMs: this.peer.nowMs - intake.startedMs,
      reason,
    });
  }

  /** Logs transactions that follow on from our log; a gap means we missed some: start over. */
  private appendContiguous(txns: readonly Txn[]): boolean {
    let last = this.peer.log.lastZxid;
    for (const txn of txns) {
      if (txn.zxid > last && !followsContiguously(last, txn.zxid)) {
        this.peer.lookForLeader(`gap in the log: ${txn.zxid} after ${last}`);
        return false;
      }
      if (txn.zxid <= last) continue;
      last = txn.zxid;
    }
    const fresh = txns.filter((txn) => txn.zxid > this.peer.log.lastZxid);
    if (fresh.length > 0) this.peer.appendToLog(fresh);
    assert(this.peer.log.lastZxid === last, 'the log ends at the last transaction taken');
    return true;
  }

  private onPing(sentThroughZxid: Zxid, commitZxid: Zxid): void {
    this.peer.send(this.leaderId, {
      kind: 'pingReply',
      epoch: this.epoch,
      touches: [...this.touches],
      forwardedSeq: this.forwardSeq,
    });
    this.touches.clear();
    if (this.phase !== 'broadcast') return;
    // The link is FIFO: whatever the leader sent before this ping has arrived, unless lost. A
    // lost last proposal would leave its write (and the session's later requests) waiting
    // until some other write showed the gap, which may never come.
    if (sentThroughZxid > this.peer.log.lastZxid) {
      this.peer.lookForLeader(
        `lost a transaction from leader ${this.leaderId}: it sent up to ${sentThroughZxid}, our log ends at ${this.peer.log.lastZxid}`,
      );
      return;
    }
    // A lost COMMIT is made good here rather than by the next one.
    if (this.holdsCommitted(commitZxid, 'a ping')) this.peer.commitThrough(commitZxid);
  }

  /**
   * Whether we hold `zxid`, which the leader says is committed. A correct leader only commits
   * what it sent us first (the link is FIFO): a zxid we have applied, or one in our log.
   * Anything else means a lost proposal or a broken leader: we look for another one rather
   * than apply a history we do not hold.
   */
  private holdsCommitted(zxid: Zxid, what: string): boolean {
    const { log, tree } = this.peer;
    if (zxid <= tree.lastZxid || log.contains(zxid)) return true;
    this.peer.lookForLeader(
      `leader ${this.leaderId} committed ${zxid} in ${what}, which our log (through ${log.lastZxid}) does not hold`,
    );
    return false;
  }

  private onProposal(txns: readonly Txn[]): void {
    if (this.phase === 'connecting' || this.observer) return;
    if (!this.historyVerified) {
      this.peer.lookForLeader('PROPOSAL before NEWLEADER: the learner sync was lost');
      return;
    }
    if (!this.appendContiguous(txns) || txns.length === 0) return;
    // ACK only once the proposals are durable: the leader counts this ack toward a quorum.
    this.peer.sendAfterPersist(this.leaderId, {
      kind: 'ack',
      epoch: this.epoch,
      zxid: txns[txns.length - 1]!.zxid,
    });
  }

  // ---- clients --------------------------------------------------------------------------

  /** Forwards a local client's write (or session change) to the leader. */
  forward(
    sessionId: SessionId,
    cxid: number,
    authInfo: readonly Id[],
    request: PreparableRequest,
    origin: TxnOrigin,
  ): boolean {
    if (this.phase !== 'broadcast') return false;
    this.peer.expectTxn(sessionId, cxid, origin);
    this.peer.send(this.leaderId, {
      kind: 'request',
      epoch: this.epoch,
      seq: ++this.forwardSeq,
      sessionId,
      cxid,
      authInfo,
      request,
    });
    return true;
  }

  /**
   * Forwards a restore to the leader, in order with this learner's other requests; false when
   * this learner does not serve yet. It answers no client: it is known done once applied here.
   */
  forwardRestore(request: RestoreRequest): boolean {
    if (this.phase !== 'broadcast') return false;
    this.peer.send(this.leaderId, {
      kind: 'request',
      epoch: this.epoch,
      seq: ++this.forwardSeq,
      sessionId: noSessionId,
      cxid: internalCxid,
      authInfo: [],
      request,
    });
    return true;
  }

  /**
   * Asks the leader to hand leadership over to `to` (any synced voter when undefined);
   * false when this learner does not serve yet (nothing is sent).
   */
  askTransfer(to: ServerId | undefined, timeoutMs: number): boolean {
    if (this.phase !== 'broadcast') return false;
    this.peer.send(this.leaderId, { kind: 'transferLeadership', epoch: this.epoch, to: to ?? -1, timeoutMs });
    return true;
  }

  /** A client asks for sync: ask the leader for its latest zxid, then wait until applied. */
  clientSync(origin: WriteOrigin): void {
    assert(this.phase === 'broadcast', 'only a serving learner has clients to sync');
    this.clientSyncWaiters.push({ origin, zxid: undefined });
    this.peer.send(this.leaderId, {
      kind: 'clientSync',
      epoch: this.epoch,
      seq: ++this.forwardSeq,
      sessionId: origin.sessionId,
      cxid: origin.xid,
    });
  }

  private onClientSyncReply(sessionId: SessionId, cxid: number, zxid: Zxid): void {
    const waiter = this.clientSyncWaiters.find(
      (candidate) =>
        candidate.origin.sessionId === sessionId &&
        candidate.origin.xid === cxid &&
        candidate.zxid === undefined,
    );
    if (waiter === undefined) return;
    waiter.zxid = zxid;
    this.releaseClientSyncs();
  }

  /** Answers every client sync whose target zxid is applied. */
  releaseClientSyncs(): void {
    const applied = this.peer.tree.lastZxid;
    for (let i = 0; i < this.clientSyncWaiters.length; ) {
      const waiter = this.clientSyncWaiters[i]!;
      if (waiter.zxid !== undefined && waiter.zxid <= applied) {
        this.clientSyncWaiters.splice(i, 1);
        this.peer.front.synced(waiter.origin);
      } else {
        i++;
      }
    }
  }

  /** Records a session touch to relay with the next ping; false if the session is unknown. */
  touch(sessionId: SessionId): boolean {
    if (!this.peer.tree.hasSession(sessionId)) return false;
    this.touches.add(sessionId);
    return true;
  }

  /** Client syncs forwarded to the leader and not yet answered. */
  get clientSyncsPending(): number {
    return this.clientSyncWaiters.length;
  }

  /** Resumed sessions waiting for the leader to vouch for them. */
  get revalidationsPending(): number {
    return this.revalidations.size;
  }

  /** Asks the leader whether a resumed session lives; the answer finishes the resume. */
  revalidate(pending: PendingRevalidation): void {
    this.revalidations.set(pending.connectionId, pending);
    this.peer.send(this.leaderId, {
      kind: 'revalidate',
      epoch: this.epoch,
      sessionId: pending.sessionId,
      connectionId: pending.connectionId,
    });
  }

  /** The connection went away before the leader answered: its answer will find nobody. */
  forgetRevalidation(connectionId: number): void {
    this.revalidations.delete(connectionId);
  }

  private onRevalidateReply(connectionId: number, valid: boolean): void {
    const pending = this.revalidations.get(connectionId);
    if (pending === undefined) return;
    this.revalidations.delete(connectionId);
    this.onRevalidated(pending, valid);
  }

  /** Set by the peer: finishes a resumed connection once the leader has answered. */
  onRevalidated: (pending: PendingRevalidation, valid: boolean) => void = () => undefined;

  /**
   * True when the tick would go looking now: the leader silent past syncLimit (initLimit while
   * connecting or syncing), or not synchronised within initLimit. The peer asks before it
   * handles any input, so a learner that wakes past its leader's lease takes nothing that
   * waited (a message would renew the lease it has already lost) before it goes looking.
   */
  leaseExpired(): boolean {
    const now = this.peer.nowMs;
    if (this.phase !== 'broadcast' && now >= this.setupDeadlineMs) return true;
    return now - this.lastHeardMs > this.silenceLimitTicks() * this.peer.server.tickTimeMs;
  }

  /** When `tick` will next act: a deadline, the leader's silence limit, or a FOLLOWERINFO resend. */
  nextDueMs(): number {
    // A stream in progress is bounded by its progress, checked on the regular ticks.
    if (this.phase === 'learnerSync' && this.intake !== undefined && !this.streamDone)
      return Number.POSITIVE_INFINITY;
    const tickMs = this.peer.server.tickTimeMs;
    const limitTicks = this.silenceLimitTicks();
    // tick() acts once the silence exceeds the limit, so a millisecond after it.
    let due = this.lastHeardMs + limitTicks * tickMs + 1;
    if (this.phase !== 'broadcast') due = Math.min(due, this.setupDeadlineMs);
    if (this.phase === 'connecting') due = Math.min(due, this.nextFollowerInfoMs);
    return due;
  }

  /** How many ticks of the leader's silence we bear in the present phase. */
  private silenceLimitTicks(): number {
    if (this.phase === 'broadcast') return this.peer.options.syncLimitTicks;
    // An established leader pings us from FOLLOWERINFO on, so its silence for syncLimit means
    // it is gone at any step of joining it (a server restarted and joined within milliseconds
    // is past connecting when the leader is cut off); a stream under way is judged by its
    // progress instead (syncStallLimitTicks), and never here.
    if (this.leaderEstablished && !this.streaming) return this.peer.options.syncLimitTicks;
    return this.peer.options.initLimitTicks;
  }

  /** True while a learner sync's stream runs: SYNCBEGIN came, NEWLEADER not yet. */
  private get streaming(): boolean {
    return this.phase === 'learnerSync' && this.intake !== undefined && !this.streamDone;
  }

  tick(): void {
    const now = this.peer.nowMs;
    const tickMs = this.peer.server.tickTimeMs;
    const intake = this.intake;
    if (this.phase === 'learnerSync' && intake !== undefined && !this.streamDone) {
      // The stream is bounded by its progress, not by initLimit as a whole.
      const stalled = intake.stallReason(now, this.peer.options.syncStallLimitTicks * tickMs);
      if (stalled !== undefined) {
        this.peer.lookForLeader(`sync from leader ${this.leaderId} stalled: ${stalled}`);
        return;
      }
      // Credit again, in case the last went missing: the leader may be waiting on it. Sent
      // before any chunk is durable too: the first may take longer than syncLimit to arrive
      // over a slow link, and the leader must hear meanwhile that we live and what arrives.
      this.peer.send(this.leaderId, {
        kind: 'syncAck',
        epoch: this.epoch,
        seq: intake.acknowledgedSeq,
        arrivals: intake.arrivals,
      });
      return;
    }
    const limitTicks = this.silenceLimitTicks();
    if (this.phase !== 'broadcast' && now >= this.setupDeadlineMs) {
      this.peer.lookForLeader(
        `not synchronised with leader ${this.leaderId} within initLimit (${this.phase})`,
      );
      return;
    }
    if (now - this.lastHeardMs > limitTicks * tickMs) {
      this.peer.lookForLeader(`leader ${this.leaderId} silent for ${limitTicks} ticks (${this.phase})`);
      return;
    }
    if (this.phase === 'connecting' && now >= this.nextFollowerInfoMs) this.sendFollowerInfo();
  }

  /**
   * Bytes of a message from `peer` arrived, not yet the whole message: from our leader, that
   * is hearing from it, and for a sync under way the stream moving.
   */
  linkProgress(peer: ServerId): void {
    if (peer !== this.leaderId) return;
    this.lastHeardMs = this.peer.nowMs;
    if (!this.streamDone) this.intake?.arriving();
  }

  linkDown(peer: ServerId): void {
    if (peer === this.leaderId) this.peer.lookForLeader(`lost the link to leader ${peer}`);
  }
}

/** The leader's messages that carry a learner sync, each naming the attempt it answers. */
function isSyncMessage(
  message: LeaderMessage,
): message is Extract<LeaderMessage, { kind: 'syncBegin' | 'syncSnapshotChunk' | 'syncTxns' | 'newLeader' }> {
  return (
    message.kind === 'syncBegin' ||
    message.kind === 'syncSnapshotChunk' ||
    message.kind === 'syncTxns' ||
    message.kind === 'newLeader'
  );
}
