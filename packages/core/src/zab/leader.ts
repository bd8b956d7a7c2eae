/**
 * The leader: discovery (collect FOLLOWERINFO, choose a new epoch, collect ACKEPOCH),
 * learner synchronisation (DIFF, TRUNC or SNAP per learner, then NEWLEADER; established once
 * a quorum acknowledges), and broadcast (prepare, PROPOSAL, ACK from a quorum, COMMIT, INFORM
 * for observers). Each phase carries its own state. Once established it also owns the global
 * sessions (leader-sessions.ts) and container collection (container-collector.ts).
 */
import { checkAcl, type Id, Perms } from '../acl.js';
import { formatEnsembleConfig } from '../ensemble-config.js';
import { assert, assertNever, ErrorCode } from '../errors.js';
import { configPath } from '../path.js';
import { type PreparableRequest, RequestPreparer, type RestoreRequest } from '../prep/preparer.js';
import type { ReconfigRequest } from '../requests.js';
import { noSessionId } from '../sessions/session-ids.js';
import { restoreProblem } from '../tree/snapshot-node.js';
import type { SessionId, Txn } from '../txn.js';
import { makeZxid, type Zxid } from '../zxid.js';
import { ContainerCollector } from './container-collector.js';
import { internalCxid, type PeerContext, type TxnOrigin } from './context.js';
import type { SyncProgress } from './events.js';
import { LeaderSessions } from './leader-sessions.js';
import { planLearnerSync } from './learner-sync-plan.js';
import type { LeaderMessage, LearnerMessage, RelayedTransferOutcome } from './messages.js';
import type { PeerBound } from './options.js';
import type { ServerId } from './quorum.js';
import { prepareReconfig, type ReconfigContext } from './reconfig-plan.js';
import type { FollowerLagVisitor, LearnerView } from './status.js';
import { type StreamStart, SyncStream } from './sync-stream.js';
import { txnBytes } from './txn-log.js';

/**
 * Where a learner stands with us: connected, epoch acknowledged, its learner sync streaming,
 * NEWLEADER sent (it now gets proposals and commits), NEWLEADER acknowledged.
 */
type LearnerStage = 'info' | 'epochAcked' | 'streaming' | 'newLeaderSent' | 'newLeaderAcked';

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
  /** Its learner sync, from SYNCBEGIN until it acknowledges NEWLEADER. */
  stream: SyncStream | undefined;
  /** PROPOSALs sent to a follower and not yet acknowledged, oldest first: its lag. */
  readonly unacked: SentProposal[];
  unackedTxns: number;
  unackedBytes: number;
  /** When its acknowledgements last took a proposal off `unacked`. */
  ackProgressMs: number;
}

/** One PROPOSAL message sent to a follower, until the follower acknowledges its last zxid. */
interface SentProposal {
  readonly lastZxid: Zxid;
  readonly txns: number;
  readonly bytes: number;
  readonly sentMs: number;
}

/** Collecting FOLLOWERINFO, then (once an epoch is chosen) ACKEPOCH from a quorum. */
interface Discovery {
  readonly kind: 'discovery';
  /** Chosen once a quorum has sent FOLLOWERINFO; undefined until then. */
  epoch: number | undefined;
  /** The last zxid each learner reported in its ACKEPOCH, kept until learner sync starts. */
  readonly lastZxidOf: Map<ServerId, Zxid>;
  /**
   * The learners whose ACKEPOCH raised their acceptedEpoch to ours: they promised it to us
   * alone, and only they count toward the quorum of acks, so that two would-be leaders of one
   * epoch can never both synchronise (ZAB's Leadership). Kept across a learner's reconnects.
   */
  readonly promisedBy: Set<ServerId>;
}

/** Learners are being synchronised; established once a quorum acknowledged NEWLEADER. */
interface LearnerSync {
  readonly kind: 'learnerSync';
  readonly epoch: number;
  /** Set once a quorum acknowledged NEWLEADER and our own currentEpoch is being made durable. */
  establishing: boolean;
}

/** Established: proposing, committing, and owning sessions and container collection. */
interface Broadcast {
  readonly kind: 'broadcast';
  readonly epoch: number;
  /**
   * (epoch, 0) and (epoch, zxidCounterLimit): a proposal compares its zxid with these rather
   * than taking it apart, since every BigInt operation allocates and each write proposes one.
   */
  readonly epochStartZxid: Zxid;
  readonly counterLimitZxid: Zxid;
  readonly preparer: RequestPreparer;
  readonly sessions: LeaderSessions;
  readonly containers: ContainerCollector;
  /** The end of the history this leader brought: committed on establishing. */
  readonly historyZxid: Zxid;
  lastProposedZxid: Zxid;
  committedZxid: Zxid;
  /** Proposed and not yet applied here: at most `proposalsInFlightMax`. */
  proposalsInFlight: number;
  nextPingMs: number;
  /** Proposals prepared this step, sent as one PROPOSAL per learner at the end of the step. */
  unsentProposals: Txn[];
  /** The last proposal sent to the followers (pings say so: a learner finds a lost one). */
  lastSentZxid: Zxid;
  /**
   * A restore proposed and not yet applied here: a barrier. Nothing else is proposed until it
   * is applied, so that every later proposal is prepared against the restored state.
   */
  restoreZxid: Zxid | undefined;
  /** Learners' requests that came during a restore, proposed once it is applied (bounded). */
  held: HeldRequest[];
}

/** A learner's forwarded request kept behind a restore. */
interface HeldRequest {
  readonly from: ServerId;
  readonly sessionId: SessionId;
  readonly cxid: number;
  readonly authInfo: readonly Id[];
  readonly request: PreparableRequest;
}

type LeaderPhase = Discovery | LearnerSync | Broadcast;

/**
 * A leadership transfer: first the successor catches up while the leader goes on proposing
 * (`catchingUp`, abandoned at the deadline with nothing lost), then the leader proposes
 * nothing new and waits for its proposals to commit and the successor to acknowledge them
 * all (`draining`), then it steps down for the successor.
 */
interface Transfer {
  /** The server asked for; undefined: the most up-to-date synced voter, chosen on the way. */
  readonly to: ServerId | undefined;
  readonly startedMs: number;
  readonly deadlineMs: number;
  stage: 'catchingUp' | 'draining';
  /** Chosen when draining starts. */
  successor: ServerId | undefined;
  /** The learner that asked for it, told if it does not hand over; undefined: asked here. */
  readonly askedBy: ServerId | undefined;
}

/** What a transfer came to in this step, for the peer to act on. */
export type TransferStep =
  /** Every learner was told; the peer elects, voting for `successor`'s vote. */
  | { readonly kind: 'handOver'; readonly successor: ServerId; readonly zxid: Zxid; readonly epoch: number }
  /** The successor did not catch up in time: the leader leads on. */
  | { readonly kind: 'timedOut'; readonly reason: string }
  /** Draining could not finish (its successor lost, or the deadline): step down and elect as usual. */
  | { readonly kind: 'abandon'; readonly reason: string };

/**
 * Why the leader proposes a transaction. Only a client's request is checked against the
 * session's owner; the leader's own proposals act for no connection.
 */
type ProposalSource =
  /** A client's request through server `via` (this leader included). */
  | { readonly kind: 'client'; readonly via: ServerId }
  | { readonly kind: 'sessionExpiry' }
  | { readonly kind: 'containerCollection'; readonly path: string }
  /** The static configuration gets a version of its own (see `versionStaticConfig`). */
  | { readonly kind: 'configVersion' }
  /** The admin restore command, asked here or through a learner. */
  | { readonly kind: 'restore' };

/** What the leader proposes to give a static configuration its version: the same members. */
const staticConfigRequest: ReconfigRequest = {
  op: 'reconfig',
  joiningServers: null,
  leavingServers: null,
  newMembers: null,
  fromConfig: -1n,
};

/** The longest a transfer asked through a learner may take, whatever it asks for. */
const transferTimeoutMaxMs = 60_000;

/** What `syncs` answers while none streams. */
const noLeaderSyncs: readonly SyncProgress[] = Object.freeze([]);

/** The ZAB leader role: discovery, learner synchronisation, then broadcast. */
export class LeaderRole {
  private phase: LeaderPhase = {
    kind: 'discovery',
    epoch: undefined,
    lastZxidOf: new Map(),
    promisedBy: new Set(),
  };
  /**
   * Set when the peer gives this role up (it went looking): a write it asked for may still
   * become durable afterwards, and what it meant to do then must not happen.
   */
  private retired = false;
  /**
   * In the order they joined: proposals and commits go out in this order, which the
   * simulator's seeds and the golden transcripts pin.
   */
  private readonly learners = new Map<ServerId, LearnerLink>();
  /** The same learners in server id order, for views and lag visits without a sort. */
  private readonly learnersById: LearnerLink[] = [];
  /** Discovery and learner sync must finish by this time. */
  private readonly deadlineMs: number;
  /** Set by `leave`: nothing new is proposed, and `finishLeaving` waits for what is in flight. */
  private leaving = false;
  /** A leadership transfer under way (see `transferLeadership`). */
  private transfer: Transfer | undefined;

  constructor(private readonly peer: PeerContext) {
    assert(peer.quorum.voters.has(peer.serverId), 'only a voter leads');
    this.deadlineMs = peer.nowMs + peer.options.initLimitTicks * peer.server.tickTimeMs;
    // The leader's own FOLLOWERINFO: it may already have a quorum on its own.
    this.checkDiscoveryQuorum();
  }

  get established(): boolean {
    return this.phase.kind === 'broadcast';
  }

  /** Session ids by the time (ms, the peer's clock) they expire at; empty before broadcast. */
  sessionExpiries(): Map<number, SessionId[]> {
    return this.phase.kind === 'broadcast' ? this.phase.sessions.expiryBuckets() : new Map();
  }

  /** The learners connected to this leader, in server id order. */
  learnerViews(): LearnerView[] {
    return this.learnersById.map((l) => ({
      serverId: l.serverId,
      observer: l.observer,
      voting: this.peer.quorum.voters.has(l.serverId),
      synced: l.stage === 'newLeaderAcked',
      ackedZxid: l.ackedZxid,
      lastHeardMs: l.lastHeardMs,
      lagTxns: l.unackedTxns,
      lagBytes: l.unackedBytes,
      oldestUnacknowledgedAgeMs: this.oldestUnacknowledgedAgeMs(l),
    }));
  }

  /**
   * Each follower's lag (observers acknowledge nothing, so lag by nothing), in server id order,
   * as `learnerViews` reports it: for a metric read at every proposal, without building views.
   */
  visitFollowerLags(visit: FollowerLagVisitor): void {
    for (const l of this.learnersById)
      if (!l.observer) visit(l.serverId, l.unackedTxns, this.oldestUnacknowledgedAgeMs(l));
  }

  private oldestUnacknowledgedAgeMs(l: LearnerLink): number {
    return l.unacked.length === 0 ? 0 : this.peer.nowMs - l.unacked[0]!.sentMs;
  }

  /** Adds a learner, or replaces the link of one that connected again, keeping `learnersById` sorted. */
  private addLearner(link: LearnerLink): void {
    const byId = this.learnersById;
    let at = byId.length;
    while (at > 0 && byId[at - 1]!.serverId >= link.serverId) at--;
    if (byId[at]?.serverId === link.serverId) byId[at] = link;
    else byId.splice(at, 0, link);
    // A learner that connected again keeps its place in `learners` (Map.set on a known key).
    this.learners.set(link.serverId, link);
    assert(byId.length === this.learners.size, 'learnersById holds the learners');
  }

  private removeLearner(serverId: ServerId): void {
    this.learners.delete(serverId);
    const at = this.learnersById.findIndex((l) => l.serverId === serverId);
    if (at >= 0) this.learnersById.splice(at, 1);
    assert(this.learnersById.length === this.learners.size, 'learnersById holds the learners');
  }

  /** The epoch this leader leads, once chosen. */
  private get epoch(): number | undefined {
    return this.phase.epoch;
  }

  /** The last zxid proposed; before broadcast, the end of the history this leader brings. */
  private get lastProposedZxid(): Zxid {
    return this.phase.kind === 'broadcast' ? this.phase.lastProposedZxid : this.peer.log.lastZxid;
  }

  private voters(ids: Iterable<ServerId>): ServerId[] {
    return [...ids].filter((id) => this.peer.quorum.voters.has(id));
  }

  private learnersAt(stage: LearnerStage): ServerId[] {
    return [...this.learners.values()].filter((l) => l.stage === stage).map((l) => l.serverId);
  }

  // ---- discovery ----------------------------------------------------------------------

  private checkDiscoveryQuorum(): void {
    const phase = this.phase;
    if (phase.kind !== 'discovery' || phase.epoch !== undefined) return;
    const connected = [this.peer.serverId, ...this.learners.keys()];
    if (!this.peer.quorum.containsQuorum(connected)) return;
    // The new epoch exceeds every epoch a quorum member has promised to follow.
    let highest = this.peer.acceptedEpoch;
    for (const learner of this.learners.values()) highest = Math.max(highest, learner.acceptedEpoch);
    phase.epoch = highest + 1;
    assert(phase.epoch > this.peer.acceptedEpoch, 'a new epoch exceeds our own promise');
    this.peer.setEpochs(phase.epoch, this.peer.currentEpoch);
    assert(this.peer.acceptedEpoch === phase.epoch, 'the leader accepts the epoch it proposes');
    for (const learner of this.learners.values()) {
      assert(learner.acceptedEpoch < phase.epoch, 'the new epoch exceeds every learner promise');
      this.peer.sendAfterPersist(learner.serverId, { kind: 'leaderInfo', epoch: phase.epoch });
    }
    this.checkEpochAckQuorum();
  }

  private onFollowerInfo(from: ServerId, acceptedEpoch: number, observer: boolean, attempt: number): void {
    const known = this.learners.get(from);
    const epoch = this.epoch;
    // A resend or a duplicate of the attempt we are already handling.
    if (known !== undefined && known.attempt === attempt) {
      if (known.stage === 'info' && epoch !== undefined)
        this.peer.sendAfterPersist(from, { kind: 'leaderInfo', epoch });
      return;
    }
    if (known !== undefined) this.syncEnded(known, `server ${from} connected again`);
    const link: LearnerLink = {
      serverId: from,
      observer,
      acceptedEpoch,
      attempt,
      nextForwardSeq: 1,
      stage: 'info',
      ackedZxid: makeZxid(0, 0),
      learnerSyncedThroughZxid: makeZxid(0, 0),
      lastHeardMs: this.peer.nowMs,
      stream: undefined,
      unacked: [],
      unackedTxns: 0,
      unackedBytes: 0,
      ackProgressMs: this.peer.nowMs,
    };
    this.addLearner(link);
    if (epoch === undefined) {
      this.checkDiscoveryQuorum();
      return;
    }
    if (acceptedEpoch > epoch) {
      // The learner promised a later epoch (to a leader that never got established) and can
      // never follow ours. ZooKeeper leaves it out until the next election; we hold that
      // election now, so the whole ensemble serves again. The new epoch exceeds its promise.
      this.peer.lookForLeader(`server ${from} accepted epoch ${acceptedEpoch}, beyond ours (${epoch})`);
      return;
    }
    this.peer.sendAfterPersist(from, { kind: 'leaderInfo', epoch });
  }

  private onAckEpoch(learner: LearnerLink, currentEpoch: number, lastZxid: Zxid, promisedNow: boolean): void {
    if (learner.stage !== 'info') return;
    const phase = this.phase;
    const ownLast = this.peer.log.lastZxid;
    const ahead =
      currentEpoch > this.peer.currentEpoch ||
      (currentEpoch === this.peer.currentEpoch && lastZxid > ownLast);
    if (ahead && phase.kind === 'discovery' && !learner.observer) {
      // It acknowledged an epoch (or holds a zxid) beyond ours: its ack must not choose this
      // epoch. As ZooKeeper's LearnerHandler gives such a follower up ("Follower is ahead of
      // the leader") and its leader goes on, it is dropped, and this leader is established by
      // a quorum of the others (none of them ahead, so its history holds all they hold) or
      // elects again after initLimit. Electing again at once livelocked (sim seed 2532): a
      // server that acknowledged a NEWLEADER no quorum did is ahead by its epoch alone, and
      // the others, not knowing it, elect this server again before it looks.
      this.forget(learner, `server ${learner.serverId} is ahead of its leader`);
      return;
    }
    learner.stage = 'epochAcked';
    if (phase.kind === 'discovery') {
      phase.lastZxidOf.set(learner.serverId, lastZxid);
      if (promisedNow) phase.promisedBy.add(learner.serverId);
      this.checkEpochAckQuorum();
      return;
    }
    if (this.learnerSyncRoom() === 0) {
      this.dropLearner(learner, 'learnerSyncsPending');
      return;
    }
    this.syncLearner(learner, lastZxid);
  }

  private checkEpochAckQuorum(): void {
    const phase = this.phase;
    if (phase.kind !== 'discovery' || phase.epoch === undefined) return;
    // An ack of an epoch promised before may be the learner's second promise of it: the
    // first could have gone to another server, which may count it toward its own quorum.
    const acked = this.voters(this.learnersAt('epochAcked')).filter((id) => phase.promisedBy.has(id));
    if (!this.peer.quorum.containsQuorum([this.peer.serverId, ...acked])) return;
    assert(this.peer.acceptedEpoch === phase.epoch, 'the chosen epoch is accepted before learner sync');
    this.phase = { kind: 'learnerSync', epoch: phase.epoch, establishing: false };
    const waiting = [...this.learners.values()].filter((learner) => learner.stage === 'epochAcked');
    const room = this.learnerSyncRoom();
    // Voters first when not all fit: the bound leaves room for a quorum of them (validated).
    if (waiting.length > room) waiting.sort((a, b) => Number(a.observer) - Number(b.observer));
    for (const [index, learner] of waiting.entries()) {
      if (index >= room) {
        this.dropLearner(learner, 'learnerSyncsPending');
        continue;
      }
      const lastZxid = phase.lastZxidOf.get(learner.serverId);
      assert(lastZxid !== undefined, 'a learner that acked the epoch reported its last zxid');
      this.syncLearner(learner, lastZxid);
    }
    this.checkNewLeaderQuorum();
  }

  // ---- learner synchronisation --------------------------------------------------------

  /**
   * Starts streaming a learner what it lacks (DIFF), what it must drop first (TRUNC) or a
   * snapshot (SNAP), then our log to its end; NEWLEADER follows once the stream catches up.
   * A SNAP streams the newest snapshot already stored if the log mirror reaches beyond it,
   * else one taken now.
   */
  private syncLearner(learner: LearnerLink, peerLastZxid: Zxid): void {
    assert(this.learnerSyncRoom() > 0, 'a learner sync needs room');
    const epoch = this.epoch;
    assert(epoch !== undefined, 'learner sync needs an epoch');
    assert(this.phase.kind !== 'discovery', 'learner sync starts after discovery');
    assert(learner.stage === 'epochAcked', 'a learner is synced once, after it acked the epoch');
    const log = this.peer.log;
    const plan = planLearnerSync(log, peerLastZxid);
    let start: StreamStart;
    let takeSnapshot = false;
    if (plan.mode !== 'snap') start = plan;
    else {
      const stored = this.peer.storedSnapshotZxid;
      takeSnapshot = stored === undefined || stored < log.baseZxid;
      const snapshotZxid = takeSnapshot ? this.peer.tree.lastZxid : stored!;
      start = { mode: 'snap', snapshotZxid, snapshotDurable: !takeSnapshot };
    }
    const peer = this.peer;
    const stream = new SyncStream(
      {
        get nowMs() {
          return peer.nowMs;
        },
        log,
        chunkBytes: this.peer.options.syncChunkBytes,
        windowBytes: this.peer.options.syncWindowBytes,
        send: (message) => this.peer.send(learner.serverId, message),
        readSnapshot: (zxid, cursor, bytesMax, onChunk, onFailure) =>
          this.peer.readSnapshot(zxid, cursor, bytesMax, onChunk, onFailure),
      },
      learner.serverId,
      epoch,
      learner.attempt,
      start,
    );
    learner.stream = stream;
    learner.stage = 'streaming';
    if (takeSnapshot) {
      const zxid = this.peer.takeSnapshot(() => stream.snapshotDurable());
      assert(start.mode === 'snap' && zxid === start.snapshotZxid, 'the snapshot taken is the one streamed');
    }
    this.peer.event({ kind: 'syncStarted', ...stream.progress() });
  }

  /** Sends what each stream's window allows; NEWLEADER to those that caught up. */
  private pumpStreams(): void {
    for (const learner of this.learners.values()) {
      const stream = learner.stream;
      if (learner.stage !== 'streaming' || stream === undefined) continue;
      if (stream.pump()) this.sendNewLeader(learner);
    }
  }

  /** The stream has sent our log to its end: NEWLEADER, and from now on proposals and commits. */
  private sendNewLeader(learner: LearnerLink): void {
    const epoch = this.epoch;
    assert(epoch !== undefined && learner.stage === 'streaming', 'NEWLEADER ends a stream');
    const log = this.peer.log;
    this.peer.send(learner.serverId, {
      kind: 'newLeader',
      epoch,
      attempt: learner.attempt,
      lastZxid: log.lastZxid,
      sessionSecret: this.peer.sessionSecret,
    });
    learner.stage = 'newLeaderSent';
    learner.learnerSyncedThroughZxid = log.lastZxid;
  }

  private onAckNewLeader(learner: LearnerLink): void {
    if (learner.stage !== 'newLeaderSent') return;
    learner.stage = 'newLeaderAcked';
    const stream = learner.stream;
    if (stream !== undefined) {
      learner.stream = undefined;
      this.peer.event({
        kind: 'syncFinished',
        ...stream.progress(),
        durationMs: this.peer.nowMs - stream.startedMs,
        lastZxid: learner.learnerSyncedThroughZxid,
      });
    }
    // Everything sent in the learner sync is durable on the learner.
    if (learner.learnerSyncedThroughZxid > learner.ackedZxid)
      learner.ackedZxid = learner.learnerSyncedThroughZxid;
    this.acknowledged(learner);
    const phase = this.phase;
    if (phase.kind === 'broadcast') {
      this.peer.send(learner.serverId, {
        kind: 'upToDate',
        epoch: phase.epoch,
        commitZxid: phase.committedZxid,
      });
      this.recomputeCommit();
      return;
    }
    this.checkNewLeaderQuorum();
  }

  private checkNewLeaderQuorum(): void {
    const phase = this.phase;
    if (phase.kind !== 'learnerSync' || phase.establishing) return;
    const acked = this.voters(this.learnersAt('newLeaderAcked'));
    if (!this.peer.quorum.containsQuorum([this.peer.serverId, ...acked])) return;
    phase.establishing = true;
    this.peer.setEpochs(phase.epoch, phase.epoch, () => this.establish());
  }

  /** The peer stopped leading: nothing this role scheduled may act any more. */
  retire(): void {
    this.retired = true;
  }

  /** A quorum holds our history and our currentEpoch is durable: commit it all and serve. */
  private establish(): void {
    const phase = this.phase;
    // A leader that went looking while its epoch was being written establishes nothing: it
    // would send UPTODATE, and its followers would serve with no leader.
    if (this.retired || phase.kind !== 'learnerSync') return;
    assert(phase.establishing, 'establishing follows a NEWLEADER quorum');
    assert(this.peer.currentEpoch === phase.epoch, 'an established leader holds its epoch as current');
    const history = this.peer.log.lastZxid;
    assert(
      this.peer.lastPersistedZxid === history,
      'the history a leader brings is durable before it serves',
    );
    // The history is committed before sessions are tracked, so that they are read from the
    // tree as it stands once every committed transaction is applied.
    this.peer.commitThrough(history);
    assert(this.peer.tree.lastZxid === history, 'the whole history is applied on establishing');
    const now = this.peer.nowMs;
    const sessions = new LeaderSessions(this.peer.server.tickTimeMs, this.peer.tree.sessions(), now);
    const preparer = new RequestPreparer(this.peer.tree, {
      dataSizeMaxBytes: this.peer.server.dataSizeMaxBytes,
      extendedTypesEnabled: this.peer.server.extendedTypesEnabled,
      enforceQuota: this.peer.server.enforceQuota,
      onQuotaExceeded: this.peer.server.onQuotaNotice,
      isSessionActive: (sessionId) => sessions.isActive(sessionId),
      changeCounts: this.peer.changeRecordCounts,
    });
    this.phase = {
      kind: 'broadcast',
      epoch: phase.epoch,
      epochStartZxid: makeZxid(phase.epoch, 0),
      counterLimitZxid: makeZxid(phase.epoch, this.peer.options.zxidCounterLimit),
      preparer,
      sessions,
      containers: new ContainerCollector(this.peer.server.containerCheckIntervalMs, now),
      historyZxid: history,
      lastProposedZxid: history,
      committedZxid: history,
      proposalsInFlight: 0,
      nextPingMs: 0,
      unsentProposals: [],
      lastSentZxid: history,
      restoreZxid: undefined,
      held: [],
    };
    for (const learner of this.learners.values()) {
      if (learner.stage !== 'newLeaderAcked') continue;
      this.peer.send(learner.serverId, { kind: 'upToDate', epoch: phase.epoch, commitZxid: history });
    }
    this.versionStaticConfig();
  }

  /**
   * With reconfig enabled, a static configuration (version 0, from zoo.cfg's server lines)
   * gets a version when a leader is first established, as ZooKeeper's leader gives it the
   * first zxid of its epoch (ZOOKEEPER-1783): the same members, proposed as a reconfig
   * (so at this epoch's first zxid, counter 1), so that every server writes it down as a
   * dynamic configuration and a later reconfig's fromConfig names a version that exists.
   */
  private versionStaticConfig(): void {
    const membership = this.peer.membership;
    const config = membership.committed;
    if (!this.peer.options.reconfigEnabled || config === undefined || config.version !== 0n) return;
    if (this.quiesced) return;
    if (membership.pending !== undefined) return;
    this.propose(noSessionId, internalCxid, [], staticConfigRequest, { kind: 'configVersion' });
  }

  // ---- broadcast ----------------------------------------------------------------------

  /** Prepares a write and proposes it; undefined when it cannot be proposed (not established). */
  private propose(
    sessionId: SessionId,
    cxid: number,
    authInfo: readonly Id[],
    request: PreparableRequest,
    source: ProposalSource,
  ): Zxid | undefined {
    const phase = this.phase;
    if (phase.kind !== 'broadcast') return undefined;
    assert(
      phase.proposalsInFlight < this.peer.options.proposalsInFlightMax,
      'a proposal needs room in flight',
    );
    // Nothing proposed is beyond this leader's epoch: at or above (epoch, 0) means in it.
    const last = phase.lastProposedZxid;
    const inEpoch = last >= phase.epochStartZxid;
    if (inEpoch && last >= phase.counterLimitZxid) {
      // The counter is exhausted in this epoch: a new epoch starts the count again. Only this
      // epoch's count matters: a history that ended at the limit in an earlier epoch is
      // followed by (epoch, 1), and stepping down for it would do so at every election.
      this.peer.lookForLeader('zxid counter exhausted');
      return undefined;
    }
    // Below the limit, so the counter has room: (last + 1) stays in the epoch.
    const zxid = (inEpoch ? last + 1n : phase.epochStartZxid + 1n) as Zxid;
    // In the leader's own epoch by construction; the history it brings is older.
    assert(zxid > phase.lastProposedZxid, 'zxids rise');
    assert(zxid > phase.historyZxid, 'a proposal follows the history the leader brought');
    const now = this.peer.nowMs;
    if (request.op === 'createSession') {
      assert(source.kind === 'client', 'sessions are created for clients');
      phase.sessions.created(sessionId, request.timeoutMs, source.via, now);
    }
    const moved =
      source.kind === 'client' &&
      request.op !== 'createSession' &&
      !phase.sessions.ownedBy(sessionId, source.via);
    if (request.op === 'closeSession' && !moved) phase.sessions.closing(sessionId);
    // Stamped with the wall clock when prepared, as ZooKeeper's leader stamps a txn header.
    const timeMs = this.peer.wallMs;
    let txn: Txn;
    if (moved) txn = { zxid, timeMs, sessionId, cxid, body: { kind: 'error', code: ErrorCode.SessionMoved } };
    else if (source.kind === 'configVersion') {
      const members = this.peer.membership.committed?.members ?? [];
      txn = {
        zxid,
        timeMs,
        sessionId,
        cxid,
        body: { kind: 'reconfig', config: formatEnsembleConfig({ members, version: zxid }) },
      };
    } else if (request.op === 'restore') {
      assert(source.kind === 'restore', 'a restore is proposed as one');
      const { token, nodes, sessions } = request;
      txn = { zxid, timeMs, sessionId, cxid, body: { kind: 'restore', token, nodes, sessions } };
      phase.restoreZxid = zxid;
    } else if (request.op === 'reconfig') {
      const body = phase.sessions.isActive(sessionId)
        ? prepareReconfig(request, zxid, this.reconfigContext(authInfo))
        : ({ kind: 'error', code: ErrorCode.SessionExpired } as const);
      txn = { zxid, timeMs, sessionId, cxid, body };
    } else txn = phase.preparer.prepare({ zxid, timeMs, sessionId, cxid, authInfo, request });
    assert(txn.zxid === zxid, 'the preparer keeps the zxid it was given');
    phase.lastProposedZxid = zxid;
    phase.proposalsInFlight++;
    this.peer.appendToLog([txn]);
    phase.unsentProposals.push(txn);
    if (source.kind === 'containerCollection') phase.containers.proposed(zxid, source.path);
    return zxid;
  }

  /**
   * What a reconfig is checked against: the membership, the session's right to WRITE
   * /zookeeper/config, and the voters connected and synced now (heard from within syncLimit,
   * this leader included), as ZooKeeper's Leader.isQuorumSynced counts them.
   */
  private reconfigContext(authInfo: readonly Id[]): ReconfigContext {
    const membership = this.peer.membership;
    const configNode = this.peer.tree.getNode(configPath);
    const syncedVoters = new Set<ServerId>([this.peer.serverId]);
    const silenceLimitMs = this.peer.options.syncLimitTicks * this.peer.server.tickTimeMs;
    for (const learner of this.learners.values()) {
      if (
        !learner.observer &&
        learner.stage === 'newLeaderAcked' &&
        this.peer.nowMs - learner.lastHeardMs <= silenceLimitMs
      )
        syncedVoters.add(learner.serverId);
    }
    return {
      enabled: this.peer.options.reconfigEnabled,
      // skipACL=yes: ZooKeeper's checkACL returns at once, for reconfig as for everything else.
      authorized:
        this.peer.options.reconfigSkipsAcl ||
        (configNode !== undefined && checkAcl(configNode.acl, Perms.Write, authInfo)),
      config: membership.committed,
      inProgress: membership.pending !== undefined,
      syncedVoters,
    };
  }

  /**
   * Called at the end of every step: learner syncs' streams send what their windows allow,
   * then one batched PROPOSAL per synchronised learner.
   */
  flush(): void {
    this.pumpStreams();
    const phase = this.phase;
    if (phase.kind !== 'broadcast' || phase.unsentProposals.length === 0) return;
    const batchMax = this.peer.options.proposalBatchMax;
    const lagBytesMax = this.peer.options.learnerLagBytesMax;
    const unsent = phase.unsentProposals;
    const now = this.peer.nowMs;
    for (let start = 0; start < unsent.length; start += batchMax) {
      const txns = unsent.slice(start, start + batchMax);
      let bytes = 0;
      for (const txn of txns) bytes += txnBytes(txn);
      const sent: SentProposal = {
        lastZxid: txns[txns.length - 1]!.zxid,
        txns: txns.length,
        bytes,
        sentMs: now,
      };
      // One object for every follower: the transport frames it once for all their links.
      const proposal: LeaderMessage = { kind: 'proposal', epoch: phase.epoch, txns };
      for (const learner of [...this.learners.values()]) {
        if (learner.observer || (learner.stage !== 'newLeaderSent' && learner.stage !== 'newLeaderAcked'))
          continue;
        if (learner.unackedBytes > 0 && learner.unackedBytes + bytes > lagBytesMax) {
          // Slower than the writes: what it has not taken would pile up here without end.
          this.dropLagging(learner, 'learnerLagBytes', `more than learnerLagBytesMax (${lagBytesMax})`);
          continue;
        }
        this.peer.send(learner.serverId, proposal);
        learner.unacked.push(sent);
        learner.unackedTxns += sent.txns;
        learner.unackedBytes += sent.bytes;
      }
    }
    phase.lastSentZxid = unsent[unsent.length - 1]!.zxid;
    phase.unsentProposals = [];
  }

  /** The leader's own log became durable up to a point: its own ack. */
  persistedOwnLog(): void {
    this.recomputeCommit();
  }

  /** Whether a learner may acknowledge `zxid`: committed already, or a proposal of ours. */
  private ackable(zxid: Zxid): boolean {
    const phase = this.phase;
    if (phase.kind !== 'broadcast') return true;
    if (zxid <= phase.committedZxid) return true;
    return zxid <= phase.lastProposedZxid && this.peer.log.contains(zxid);
  }

  private recomputeCommit(): void {
    const phase = this.phase;
    if (phase.kind !== 'broadcast') return;
    if (this.learners.size === 0) {
      // No learner at all (a standalone server, on every write): our own durable log is the
      // only ack, and nobody needs a COMMIT or an INFORM.
      this.commitOwnLog(phase);
      return;
    }
    const acks: [ServerId, Zxid][] = [[this.peer.serverId, this.peer.lastPersistedZxid]];
    for (const learner of this.learners.values()) {
      if (!learner.observer && learner.stage === 'newLeaderAcked')
        acks.push([learner.serverId, learner.ackedZxid]);
    }
    const acked = this.peer.quorum.highestAcked(acks);
    let commit = phase.committedZxid;
    if (acked !== undefined && acked > commit)
      commit = acked > phase.lastProposedZxid ? phase.lastProposedZxid : acked;
    if (commit <= phase.committedZxid) return;
    // A follower outside the membership (syncing before a reconfig adds it) acks like any
    // other, but only voters' acks may decide: the commit holds without every non-voter's.
    const ackedCommit: ServerId[] = [];
    for (const [id, zxid] of acks)
      if (zxid >= commit && this.peer.quorum.voters.has(id)) ackedCommit.push(id);
    assert(
      this.peer.quorum.containsQuorum(ackedCommit),
      'a commit is acknowledged by a quorum of voters, non-voting learners aside',
    );
    assert(commit <= phase.lastProposedZxid, 'nothing beyond the last proposal commits');
    const newlyCommitted = this.peer.log.entriesAfter(phase.committedZxid, commit) ?? [];
    phase.committedZxid = commit;
    // One COMMIT for every follower and one INFORM for every observer, each framed once.
    const commitMessage: LeaderMessage = { kind: 'commit', epoch: phase.epoch, zxid: commit };
    const inform: LeaderMessage = { kind: 'inform', epoch: phase.epoch, txns: newlyCommitted };
    for (const learner of this.learners.values()) {
      if (learner.stage !== 'newLeaderAcked' && learner.stage !== 'newLeaderSent') continue;
      if (learner.observer) {
        if (newlyCommitted.length > 0) this.peer.send(learner.serverId, inform);
      } else {
        this.peer.send(learner.serverId, commitMessage);
      }
    }
    this.peer.commitThrough(commit);
  }

  private commitOwnLog(phase: Broadcast): void {
    if (!this.peer.quorum.containsQuorum([this.peer.serverId])) return;
    const durable = this.peer.lastPersistedZxid;
    const commit = durable > phase.lastProposedZxid ? phase.lastProposedZxid : durable;
    if (commit <= phase.committedZxid) return;
    phase.committedZxid = commit;
    this.peer.commitThrough(commit);
  }

  // ---- messages -----------------------------------------------------------------------

  receive(from: ServerId, message: LearnerMessage): void {
    if (message.kind === 'followerInfo') {
      this.onFollowerInfo(from, message.acceptedEpoch, message.observer, message.attempt);
      return;
    }
    const learner = this.learners.get(from);
    const epoch = this.epoch;
    if (learner === undefined || epoch === undefined || message.epoch !== epoch) return;
    learner.lastHeardMs = this.peer.nowMs;
    switch (message.kind) {
      case 'ackEpoch':
        this.onAckEpoch(learner, message.currentEpoch, message.lastZxid, message.promisedNow);
        return;
      case 'ackNewLeader':
        // A late copy from the learner's previous attempt: that sync's NEWLEADER is not this one's.
        if (message.attempt !== learner.attempt) return;
        this.onAckNewLeader(learner);
        return;
      case 'syncAck':
        if (learner.stage === 'streaming') learner.stream?.acked(message.seq, message.arrivals);
        return;
      case 'ack':
        if (!this.ackable(message.zxid)) {
          // A correct learner acknowledges only proposals we sent it: drop this one.
          const reason = `acknowledged ${message.zxid}, which we never proposed`;
          this.peer.event({ kind: 'peerMessageRefused', peer: from, message: 'ack', reason });
          this.forget(learner, reason);
          return;
        }
        if (message.zxid > learner.ackedZxid) learner.ackedZxid = message.zxid;
        this.acknowledged(learner);
        this.recomputeCommit();
        return;
      case 'pingReply':
        if (message.forwardedSeq >= learner.nextForwardSeq) {
          // The learner forwarded something we never received, and the link is FIFO: it was
          // lost. Its session waits for an answer that cannot come; forget the learner so it
          // connects afresh and its clients learn the outcome is unknown.
          this.forget(
            learner,
            `server ${learner.serverId} forwarded request ${learner.nextForwardSeq}, which never came`,
          );
          return;
        }
        if (this.phase.kind !== 'broadcast') return;
        for (const sessionId of message.touches) this.phase.sessions.touch(sessionId, this.peer.nowMs);
        return;
      case 'request':
        if (!this.inForwardOrder(learner, message.seq)) return;
        // A leaving leader proposes nothing new; the learner looks for a new leader once told,
        // and its client learns the request's outcome is unknown (it was never proposed).
        if (this.quiesced) return;
        if (message.request.op === 'restore') {
          this.proposeRestore(message.request, from);
          return;
        }
        if (this.phase.kind === 'broadcast' && this.phase.restoreZxid !== undefined) {
          const { sessionId, cxid, authInfo, request } = message;
          this.hold(learner, { from, sessionId, cxid, authInfo, request });
          return;
        }
        if (this.proposalRoom() === 0) {
          // The learner's request cannot be refused on its own: dropped, the learner connects
          // again and its clients learn that their outstanding requests' outcome is unknown.
          this.dropLearner(learner, 'proposalsInFlight');
          return;
        }
        this.propose(message.sessionId, message.cxid, message.authInfo, message.request, {
          kind: 'client',
          via: from,
        });
        return;
      case 'clientSync':
        if (!this.inForwardOrder(learner, message.seq)) return;
        this.peer.send(from, {
          kind: 'clientSyncReply',
          epoch,
          sessionId: message.sessionId,
          cxid: message.cxid,
          zxid: this.lastProposedZxid,
        });
        return;
      case 'revalidate':
        this.peer.send(from, {
          kind: 'revalidateReply',
          epoch,
          sessionId: message.sessionId,
          connectionId: message.connectionId,
          valid: this.revalidate(message.sessionId, from),
        });
        return;
      case 'transferLeadership': {
        // Asked through a learner (the embedding API called there): bounded, as it is here.
        const to = message.to === -1 ? undefined : message.to;
        const timeoutMs = Math.min(Math.max(1, message.timeoutMs), transferTimeoutMaxMs);
        const refusal = this.transferLeadership(to, timeoutMs, from);
        this.peer.event({
          kind: 'leadershipTransfer',
          outcome: refusal === undefined ? 'started' : 'refused',
          successor: to,
          reason: refusal ?? `asked by server ${from}`,
        });
        // The learner that asked could not see this refusal for itself: tell it why.
        if (refusal !== undefined)
          this.peer.send(from, {
            kind: 'transferOutcome',
            epoch: message.epoch,
            outcome: 'refused',
            reason: refusal,
          });
        return;
      }
      default:
        // followerInfo was handled above; nothing else reaches here.
        assertNever(message, 'learner message');
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
      this.forget(learner, `request ${learner.nextForwardSeq} from server ${learner.serverId} never came`);
      return false;
    }
    learner.nextForwardSeq++;
    return true;
  }

  /** A client moved to `server`: its session is valid if alive here; touch it and move its owner. */
  revalidate(sessionId: SessionId, server: ServerId = this.peer.serverId): boolean {
    if (this.phase.kind !== 'broadcast') return false;
    return this.phase.sessions.revalidate(sessionId, server, this.peer.nowMs);
  }

  touch(sessionId: SessionId): boolean {
    if (this.phase.kind !== 'broadcast') return false;
    return this.phase.sessions.touch(sessionId, this.peer.nowMs);
  }

  /** The timeout the leader tracks for a session, once established. */
  sessionTimeoutOf(sessionId: SessionId): number | undefined {
    return this.phase.kind === 'broadcast' ? this.phase.sessions.timeoutOf(sessionId) : undefined;
  }

  /** The lost link to a learner: forget it until it connects again. */
  linkDown(peer: ServerId): void {
    const learner = this.learners.get(peer);
    if (learner !== undefined) this.forget(learner, `lost the link to server ${peer}`, 'keepLink');
  }

  /** The follower's acknowledgements reach `ackedZxid`: the proposals through it leave its lag. */
  private acknowledged(learner: LearnerLink): void {
    const unacked = learner.unacked;
    let taken = 0;
    while (taken < unacked.length && unacked[taken]!.lastZxid <= learner.ackedZxid) {
      learner.unackedTxns -= unacked[taken]!.txns;
      learner.unackedBytes -= unacked[taken]!.bytes;
      taken++;
    }
    if (taken > 0) {
      unacked.splice(0, taken);
      learner.ackProgressMs = this.peer.nowMs;
    }
    assert(
      learner.unackedTxns >= 0 &&
        learner.unackedBytes >= 0 &&
        (unacked.length > 0 || learner.unackedBytes === 0),
      'a follower lags by what was sent it and not acknowledged',
    );
  }

  /**
   * Drops a follower that fell too far behind (`why`), saying by how much: it connects again
   * and syncs, as ZooKeeper closes the link to a follower that does not keep up.
   */
  private dropLagging(learner: LearnerLink, bound: PeerBound | undefined, why: string): void {
    const oldest = learner.unacked[0];
    // Whole ms: the monotonic clock a driver reads has fractions no operator needs.
    const age = oldest === undefined ? 0 : Math.round(this.peer.nowMs - oldest.sentMs);
    this.forget(
      learner,
      `server ${learner.serverId} fell behind: ${learner.unackedTxns} proposals (${learner.unackedBytes} bytes) unacknowledged, the oldest for ${age} ms, ${why}; dropped to sync again`,
    );
    this.peer.event({
      kind: 'learnerDropped',
      peer: learner.serverId,
      lagTxns: learner.unackedTxns,
      lagBytes: learner.unackedBytes,
      oldestUnacknowledgedAgeMs: age,
      reason: why,
    });
    if (bound !== undefined) this.peer.boundReached(bound);
  }

  /**
   * Forgets a learner; a learner sync under way fails with `reason`. The link is closed too
   * (unless it is down already, or `keepLink` says the learner should come back only after its
   * own timeout): the learner learns at once that it was dropped and looks for a leader, then
   * syncs again, instead of noticing our silence only after syncLimit, as ZooKeeper's
   * LearnerHandler closes its socket when it gives a learner up.
   */
  private forget(learner: LearnerLink, reason: string, link?: 'keepLink'): void {
    this.removeLearner(learner.serverId);
    this.syncEnded(learner, reason);
    if (link === undefined) this.peer.closeLink(learner.serverId, reason);
  }

  /** A learner's sync ends unfinished (if one was under way): reported with the reason. */
  private syncEnded(learner: LearnerLink, reason: string): void {
    const stream = learner.stream;
    if (stream === undefined) return;
    learner.stream = undefined;
    this.peer.event({
      kind: 'syncFailed',
      ...stream.progress(),
      durationMs: this.peer.nowMs - stream.startedMs,
      reason,
    });
  }

  /** This leader steps down: every learner sync under way fails with `reason`. */
  abandon(reason: string): void {
    for (const learner of this.learners.values())
      this.syncEnded(learner, `the leader stepped down: ${reason}`);
  }

  /** The oldest zxid a learner sync under way still streams: purges and compaction stop there. */
  retainFrom(): Zxid | undefined {
    let oldest: Zxid | undefined;
    for (const learner of this.learners.values()) {
      const zxid = learner.stream?.retainFrom();
      if (zxid !== undefined && (oldest === undefined || zxid < oldest)) oldest = zxid;
    }
    return oldest;
  }

  /** The learner syncs under way, for `status()`. */
  syncs(): readonly SyncProgress[] {
    // Called for every status: no array made while no sync streams (nearly always).
    let syncs: SyncProgress[] | undefined;
    for (const learner of this.learners.values())
      if (learner.stream !== undefined) (syncs ??= []).push(learner.stream.progress());
    return syncs ?? noLeaderSyncs;
  }

  /** Drops learners whose sync stream is stuck (or cannot go on), saying why. */
  private checkStreams(now: number): void {
    const limitMs = this.peer.options.syncStallLimitTicks * this.peer.server.tickTimeMs;
    for (const learner of [...this.learners.values()]) {
      const stream = learner.stream;
      if (learner.stage !== 'streaming' || stream === undefined) continue;
      const problem =
        stream.failure ?? stream.stallReason(now, limitMs) ?? stream.fallingBehindReason(limitMs);
      if (problem !== undefined)
        this.forget(learner, `sync to server ${learner.serverId} stalled: ${problem}`);
    }
  }

  /** A committed transaction was applied: session and container bookkeeping. */
  applied(txn: Txn): void {
    const phase = this.phase;
    if (phase.kind !== 'broadcast') return;
    assert(txn.zxid <= phase.committedZxid, 'only committed transactions are applied');
    phase.preparer.applied(txn.zxid);
    if (txn.body.kind === 'closeSession') phase.sessions.closed(txn.sessionId);
    phase.containers.applied(txn.zxid);
    if (txn.body.kind === 'restore') {
      // Applied through the history or as our own proposal: either way the sessions are the
      // snapshot's from now on, and nothing prepared before it is outstanding.
      assert(phase.preparer.outstandingCount === 0, 'nothing is prepared beyond a restore');
      phase.sessions.restored(this.peer.tree.sessions(), this.peer.nowMs);
    }
    if (txn.zxid > phase.historyZxid) {
      // Only this leader's own proposals count; its history was applied on establishing.
      phase.proposalsInFlight--;
      assert(phase.proposalsInFlight >= 0, 'more proposals applied than made');
    }
    if (txn.zxid === phase.restoreZxid) this.restoreApplied(phase);
  }

  /**
   * Proposes a restore (the admin command, asked here or forwarded by learner `via`): the
   * snapshot's nodes must list each parent before its children, from the root. Returns why
   * it is refused, or undefined once proposed; the server that asked hears of it applied.
   */
  proposeRestore(request: RestoreRequest, via?: ServerId): string | undefined {
    const { token } = request;
    const refuse = (reason: string) => {
      this.peer.event({ kind: 'restore', outcome: 'refused', token, zxid: undefined, via, reason });
      return reason;
    };
    const phase = this.phase;
    if (phase.kind !== 'broadcast') return refuse('the leader is not established yet');
    if (this.quiesced) return refuse('the leader is leaving');
    if (phase.restoreZxid !== undefined) return refuse('a restore is under way already');
    if (this.proposalRoom() === 0) {
      this.peer.boundReached('proposalsInFlight');
      return refuse('proposals in flight are at their bound');
    }
    const problem = restoreProblem(request.nodes, phase.lastProposedZxid);
    if (problem !== undefined) return refuse(problem);
    const zxid = this.propose(noSessionId, internalCxid, [], request, { kind: 'restore' });
    if (zxid === undefined) return refuse('the leader is not established');
    const reason = `${request.nodes.length} nodes, ${request.sessions.length} sessions`;
    this.peer.event({ kind: 'restore', outcome: 'proposed', token, zxid, via, reason });
    return undefined;
  }

  /** Keeps a learner's request behind a restore, or drops the learner when too many wait. */
  private hold(learner: LearnerLink, request: HeldRequest): void {
    const phase = this.phase;
    assert(phase.kind === 'broadcast' && phase.restoreZxid !== undefined, 'requests wait only on a restore');
    if (phase.held.length >= this.peer.options.proposalsInFlightMax) {
      this.dropLearner(learner, 'proposalsInFlight');
      return;
    }
    phase.held.push(request);
  }

  /** The restore is applied here: the barrier lifts, and what waited behind it is proposed. */
  private restoreApplied(phase: Broadcast): void {
    phase.restoreZxid = undefined;
    const held = phase.held;
    phase.held = [];
    // A leader that began leaving meanwhile proposes nothing new, as for any request then.
    if (this.quiesced) return;
    for (const request of held) {
      // A learner dropped meanwhile connects again: its clients learn the outcome is unknown.
      if (!this.learners.has(request.from)) continue;
      if (this.proposalRoom() === 0) {
        this.dropLearner(this.learners.get(request.from)!, 'proposalsInFlight');
        continue;
      }
      this.propose(request.sessionId, request.cxid, request.authInfo, request.request, {
        kind: 'client',
        via: request.from,
      });
    }
  }

  /**
   * True when the tick would step down now: not synchronised within initLimit, or no quorum of
   * voters heard from within syncLimit (the lease a leader serves on). The peer asks before it
   * handles any input, so a leader that wakes past its lease never answers what waited.
   */
  leaseExpired(): boolean {
    const now = this.peer.nowMs;
    const phase = this.phase;
    if (phase.kind !== 'broadcast') return now >= this.deadlineMs;
    const silenceLimitMs = this.peer.options.syncLimitTicks * this.peer.server.tickTimeMs;
    const alive = [this.peer.serverId];
    for (const learner of this.learners.values()) {
      if (learner.stage === 'newLeaderAcked' && now - learner.lastHeardMs <= silenceLimitMs)
        alive.push(learner.serverId);
    }
    return !this.peer.quorum.containsQuorum(alive);
  }

  /** When `tick` will next act: the setup deadline, the next ping, or a learner falling silent. */
  nextDueMs(): number {
    const phase = this.phase;
    if (phase.kind !== 'broadcast') return this.deadlineMs;
    const silenceLimitMs = this.peer.options.syncLimitTicks * this.peer.server.tickTimeMs;
    let due = phase.nextPingMs;
    if (this.transfer !== undefined) due = Math.min(due, this.transfer.deadlineMs);
    for (const learner of this.learners.values())
      due = Math.min(due, learner.lastHeardMs + silenceLimitMs + 1);
    return due;
  }

  tick(): void {
    const now = this.peer.nowMs;
    this.checkStreams(now);
    const phase = this.phase;
    if (phase.kind !== 'broadcast') {
      if (now >= this.deadlineMs)
        this.peer.lookForLeader(`no quorum synchronised within initLimit (${phase.kind})`);
      return;
    }
    const tickMs = this.peer.server.tickTimeMs;
    if (now >= phase.nextPingMs) {
      phase.nextPingMs = now + Math.max(1, Math.floor(tickMs / 2));
      for (const learner of this.learners.values()) {
        this.peer.send(learner.serverId, {
          kind: 'ping',
          epoch: phase.epoch,
          // An observer is sent committed transactions only; a follower every proposal.
          sentThroughZxid: learner.observer ? phase.committedZxid : phase.lastSentZxid,
          commitZxid: phase.committedZxid,
        });
      }
    }
    // Step down when a quorum of voters has not been heard from within syncLimit.
    if (this.leaseExpired()) {
      this.peer.lookForLeader('lost the quorum');
      return;
    }
    const silenceLimitMs = this.peer.options.syncLimitTicks * tickMs;
    for (const learner of [...this.learners.values()]) {
      if (now - learner.lastHeardMs > silenceLimitMs) {
        // Whole ms: the monotonic clock a driver reads has fractions no operator needs.
        this.forget(
          learner,
          `server ${learner.serverId} silent for ${Math.round(now - learner.lastHeardMs)} ms`,
        );
        continue;
      }
      // Heard from, yet proposals wait and none was acknowledged for syncLimit: it is stuck
      // (ZooKeeper's SyncLimitCheck, "Closing connection to peer due to transaction timeout",
      // counts from the oldest proposal instead; a follower that acknowledges, only slowly,
      // is left to learnerLagBytesMax, so one slow disk write does not make it resync).
      const oldest = learner.unacked[0];
      if (oldest !== undefined && now - Math.max(oldest.sentMs, learner.ackProgressMs) > silenceLimitMs)
        this.dropLagging(
          learner,
          undefined,
          `proposals unacknowledged and no acknowledgement for more than syncLimit (${silenceLimitMs} ms)`,
        );
    }
    // A leaving leader proposes nothing new: expiries and deletions are its successor's. Nor
    // does one with a restore in flight: what it would expire or delete may be gone after it.
    if (this.quiesced || phase.restoreZxid !== undefined) return;
    // Expiries and container deletions wait for room in flight; the rest stay due.
    for (const sessionId of phase.sessions.expire(now, this.proposalRoom()))
      this.propose(sessionId, internalCxid, [], { op: 'closeSession' }, { kind: 'sessionExpiry' });
    const room = this.proposalRoom();
    if (room === 0) return;
    for (const path of phase.containers.due(this.peer.tree, now, this.peer.wallMs).slice(0, room)) {
      this.propose(
        noSessionId,
        internalCxid,
        [],
        { op: 'deleteContainer', path },
        { kind: 'containerCollection', path },
      );
    }
  }

  /**
   * Writes from this leader's own clients go straight to preparation; 'throttled' when
   * proposals in flight are at their bound (the caller refuses the request).
   */
  submitLocal(
    sessionId: SessionId,
    cxid: number,
    authInfo: readonly Id[],
    request: PreparableRequest,
    origin: TxnOrigin,
  ): 'proposed' | 'throttled' | 'notEstablished' | 'leaving' {
    if (this.quiesced) return 'leaving';
    if (this.phase.kind !== 'broadcast') return 'notEstablished';
    // Behind a restore this leader's own clients are throttled: their connections close once
    // it is applied anyway, and they retry.
    if (this.phase.restoreZxid !== undefined) return 'throttled';
    if (this.proposalRoom() === 0) {
      this.peer.boundReached('proposalsInFlight');
      return 'throttled';
    }
    this.peer.expectTxn(sessionId, cxid, origin);
    const zxid = this.propose(sessionId, cxid, authInfo, request, {
      kind: 'client',
      via: this.peer.serverId,
    });
    return zxid === undefined ? 'notEstablished' : 'proposed';
  }

  /** Whether a leadership transfer is under way (it ends with the role if not before). */
  get transferring(): boolean {
    return this.transfer !== undefined;
  }

  /** Whether the leader proposes nothing new: it is leaving, or draining for a transfer. */
  private get quiesced(): boolean {
    return this.leaving || this.transfer?.stage === 'draining';
  }

  /**
   * Begins handing leadership over to `to` (a voter synced with us), or to the most
   * up-to-date synced voter, within `timeoutMs`. Returns why it cannot begin, or undefined
   * when it has: `transferStep`, called at every step's end, then says how it goes.
   */
  transferLeadership(to: ServerId | undefined, timeoutMs: number, askedBy?: ServerId): string | undefined {
    assert(timeoutMs > 0, 'a transfer has time to finish');
    if (this.phase.kind !== 'broadcast') return 'the leader is not established yet';
    if (this.leaving) return 'the leader is leaving';
    if (this.transfer !== undefined) return 'a leadership transfer is in progress';
    if (this.peer.membership.pending !== undefined) return 'a reconfig is in progress';
    if (to !== undefined) {
      if (to === this.peer.serverId) return 'this server leads already';
      if (!this.peer.quorum.voters.has(to)) return `server ${to} is not a voter`;
      if (this.learners.get(to)?.stage !== 'newLeaderAcked')
        return `server ${to} is not synced with this leader`;
    } else if (this.successorCandidates().length === 0) return 'no voter is synced with this leader';
    const now = this.peer.nowMs;
    this.transfer = {
      to,
      startedMs: now,
      deadlineMs: now + timeoutMs,
      stage: 'catchingUp',
      successor: undefined,
      askedBy,
    };
    return undefined;
  }

  /** Tells the learner that asked for `transfer`, if one did, how it ended short of a hand-over. */
  private tellAsker(
    transfer: Transfer,
    epoch: number,
    outcome: RelayedTransferOutcome,
    reason: string,
  ): void {
    if (transfer.askedBy === undefined || !this.learners.has(transfer.askedBy)) return;
    this.peer.send(transfer.askedBy, { kind: 'transferOutcome', epoch, outcome, reason });
  }

  /** Synced voters (followers that acknowledged NEWLEADER), the most up to date first, then by id. */
  private successorCandidates(): LearnerLink[] {
    return [...this.learners.values()]
      .filter(
        (learner) =>
          !learner.observer &&
          learner.stage === 'newLeaderAcked' &&
          this.peer.quorum.voters.has(learner.serverId),
      )
      .sort((a, b) =>
        a.ackedZxid === b.ackedZxid ? b.serverId - a.serverId : a.ackedZxid > b.ackedZxid ? -1 : 1,
      );
  }

  /**
   * Moves a transfer on, at the end of every step: from catching up to draining once the
   * successor has acknowledged everything committed (or half the time is gone and its
   * acknowledgements still progress), then, once every proposal is committed and acknowledged by the successor, tells
   * every learner (after the COMMITs on the same link) and returns `handOver`.
   */
  transferStep(): TransferStep | undefined {
    const transfer = this.transfer;
    const phase = this.phase;
    if (transfer === undefined || phase.kind !== 'broadcast' || this.leaving) return undefined;
    const now = this.peer.nowMs;
    if (transfer.stage === 'catchingUp') {
      const candidate =
        transfer.to === undefined ? this.successorCandidates()[0] : this.learners.get(transfer.to);
      const synced = candidate !== undefined && candidate.stage === 'newLeaderAcked';
      const caughtUp = synced && candidate.ackedZxid >= phase.committedZxid;
      // Under steady writes the successor may trail the commit point by a proposal or two at
      // every step: halfway through, one whose acknowledgements still progress will do.
      const halfway = now >= transfer.startedMs + (transfer.deadlineMs - transfer.startedMs) / 2;
      const progressing = synced && candidate.ackProgressMs >= transfer.startedMs;
      if (synced && (caughtUp || (halfway && progressing)) && this.peer.membership.pending === undefined) {
        transfer.stage = 'draining';
        transfer.successor = candidate.serverId;
      } else if (now >= transfer.deadlineMs) {
        this.transfer = undefined;
        const reason =
          candidate === undefined
            ? `server ${transfer.to ?? '(any)'} is not connected to this leader`
            : `server ${candidate.serverId} did not catch up in time`;
        this.tellAsker(transfer, phase.epoch, 'timedOut', reason);
        return { kind: 'timedOut', reason };
      } else return undefined;
    }
    assert(transfer.successor !== undefined, 'a draining transfer has chosen its successor');
    const successor = this.learners.get(transfer.successor);
    if (successor === undefined || successor.stage !== 'newLeaderAcked' || now >= transfer.deadlineMs) {
      this.transfer = undefined;
      const reason =
        successor === undefined || successor.stage !== 'newLeaderAcked'
          ? `lost server ${transfer.successor} while handing leadership over to it`
          : `server ${transfer.successor} did not acknowledge every proposal in time`;
      // Before leaderLeaving on the same link: the learner hears why the leader goes.
      this.tellAsker(transfer, phase.epoch, 'abandoned', reason);
      this.stepDownAll();
      return { kind: 'abandon', reason };
    }
    if (phase.proposalsInFlight > 0 || phase.unsentProposals.length > 0) return undefined;
    assert(
      phase.committedZxid === phase.lastProposedZxid,
      'a leader hands over with every proposal committed',
    );
    if (successor.ackedZxid < phase.lastProposedZxid) return undefined;
    this.transfer = undefined;
    for (const learner of this.learners.values())
      this.peer.send(learner.serverId, {
        kind: 'leadershipTransfer',
        epoch: phase.epoch,
        successor: successor.serverId,
        zxid: phase.lastProposedZxid,
      });
    return {
      kind: 'handOver',
      successor: successor.serverId,
      zxid: phase.lastProposedZxid,
      epoch: phase.epoch,
    };
  }

  /** Tells every learner to elect at once: this leader steps down without a successor. */
  private stepDownAll(): void {
    const epoch = this.epoch;
    if (epoch === undefined) return;
    for (const learner of this.learners.values())
      this.peer.send(learner.serverId, { kind: 'leaderLeaving', epoch });
  }

  /**
   * The peer is leaving the ensemble: from now on no client write, forwarded request,
   * session expiry or container deletion is proposed. Proposals already made go on to commit;
   * `finishLeaving` tells when they have.
   */
  leave(): void {
    this.leaving = true;
  }

  /**
   * Once a leaving leader's every proposal is applied (so committed, its COMMITs sent), sends
   * each learner `leaderLeaving` after those COMMITs on the same link, and returns true: the
   * learners elect at once instead of waiting for syncLimit. A leader still establishing has
   * nothing in flight and finishes at once.
   */
  finishLeaving(): boolean {
    if (!this.leaving) return false;
    const phase = this.phase;
    if (phase.kind === 'broadcast' && (phase.proposalsInFlight > 0 || phase.unsentProposals.length > 0))
      return false;
    if (phase.kind === 'broadcast')
      assert(phase.committedZxid === phase.lastProposedZxid, 'a leader leaves with every proposal committed');
    const epoch = this.epoch;
    if (epoch !== undefined)
      for (const learner of this.learners.values())
        this.peer.send(learner.serverId, { kind: 'leaderLeaving', epoch });
    return true;
  }

  /** How many more learners may be synchronised at once before the bound on pending learner syncs. */
  private learnerSyncRoom(): number {
    const pending = this.learnersAt('streaming').length + this.learnersAt('newLeaderSent').length;
    const room = this.peer.options.learnerSyncsPendingMax - pending;
    assert(room >= 0, 'pending learner syncs within their bound');
    return room;
  }

  /** How many more proposals may be made before the bound on proposals in flight. */
  private proposalRoom(): number {
    if (this.phase.kind !== 'broadcast') return 0;
    const room = this.peer.options.proposalsInFlightMax - this.phase.proposalsInFlight;
    assert(room >= 0, 'proposals in flight within their bound');
    return room;
  }

  /**
   * Forgets a learner because a bound was reached; it times out and connects again. Its link
   * stays: closed, the learner would be back at once, and dropped again while the bound holds.
   */
  private dropLearner(learner: LearnerLink, bound: PeerBound): void {
    this.forget(learner, `${bound} reached`, 'keepLink');
    this.peer.boundReached(bound);
  }
}
