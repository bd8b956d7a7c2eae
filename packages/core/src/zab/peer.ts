/**
 * A ZAB peer: one member of an ensemble, driven through `step(input) -> Ready` in the
 * manner of etcd-io/raft's RawNode. It owns the replicated tree, its log mirror and epochs,
 * and exactly one role at a time: looking (Fast Leader Election), leading, following or
 * observing. It is a dispatcher: the outbox gathers what the Ready carries and tracks
 * durability, the applier changes the tree, session admission takes client connections in,
 * the client front serves requests, and the role runs the protocol. It never waits: storage
 * actions and messages leave in the Ready, and durability comes back as an input.
 */

import type { ACL } from '../acl.js';
import { type ClockReading, clockAt } from '../clock.js';
import { type EnsembleConfig, formatEnsembleConfig, parseEnsembleConfig } from '../ensemble-config.js';
import { assert, assertNever, ErrorCode } from '../errors.js';
import { ClientFront, type CommitPath, type WriteOrigin } from '../front/client-front.js';
import type { ClientInput, ClientOutput, ConnectionId } from '../front/client-io.js';
import { quotaPath } from '../path.js';
import type { ChangeRecordCounts } from '../prep/change-records.js';
import type { PreparableRequest, RestoreRequest } from '../prep/preparer.js';
import type {
  ClientRequest,
  ReadRequest,
  ReconfigRequest,
  Reply,
  WriteRequest,
  ZnodeData,
} from '../requests.js';
import { type ResolvedServerOptions, resolveServerOptions, type ServerOptions } from '../server-options.js';
import { type PendingRevalidation, SessionAdmission } from '../sessions/admission.js';
import { samePassword } from '../sessions/session-ids.js';
import type { Stat } from '../stat.js';
import type { Epochs, PersistedState, SnapshotChunk, StorageAction, StorageRead } from '../storage.js';
import { DataTree, type TreeSnapshot } from '../tree/data-tree.js';
import type { NodeLifetime } from '../tree/lifetime.js';
import type { SessionId, Txn } from '../txn.js';
import { encodeUtf8 } from '../utf8.js';
import { formatZxid, type Zxid } from '../zxid.js';
import { Applier, SnapshotPoints } from './applier.js';
import { internalCxid, type PeerContext, type TxnOrigin } from './context.js';
import { FastLeaderElection } from './election.js';
import type { LeadershipTransferOutcome, PeerEvent, SyncFailure } from './events.js';
import { LeaderRole } from './leader.js';
import { LearnerRole } from './learner.js';
import { Membership } from './membership.js';
import { messageFault } from './message-checks.js';
import type {
  ElectionMessage,
  Envelope,
  LeaderMessage,
  LearnerMessage,
  PeerMessage,
  Vote,
} from './messages.js';
import {
  noBoundsReached,
  type PeerBound,
  type PeerOptions,
  type ResolvedPeerOptions,
  resolvePeerOptions,
} from './options.js';
import { type LinkClosure, Outbox } from './outbox.js';
import type { QuorumVerifier, ServerId } from './quorum.js';
import type { FollowerLagVisitor, LearnerView, PeerStatus, ReplicaStats, SessionSummary } from './status.js';
import { TxnLog } from './txn-log.js';

/** Everything a peer steps on: time, messages, broken links, durability, clients. */
export type PeerInput =
  /**
   * Time has passed: timers that are due fire (elections, pings, session expiry, container
   * collection). The time itself comes with every step, not with this input.
   */
  | { readonly kind: 'tick' }
  | ClientInput
  | { readonly kind: 'message'; readonly from: ServerId; readonly message: PeerMessage }
  /** The transport lost the link to `peer`. */
  | { readonly kind: 'linkDown'; readonly peer: ServerId }
  /**
   * Bytes of a message from `from` arrived, not yet the whole of it: the peer is alive and the
   * link carries. A large message over a slow link (a 1 MiB sync chunk at 100 KB/s) takes
   * longer than syncLimit to arrive whole; a learner counts its leader as heard, and its sync
   * as moving, while these come, as ZooKeeper bounds each socket read rather than each
   * message. A transport that reads messages a piece at a time reports this about once a
   * tick at most while a message is incomplete; one that delivers whole messages never does.
   */
  | { readonly kind: 'linkProgress'; readonly from: ServerId }
  /** Everything persisted up to and including the Ready numbered `seq` is durable. */
  | { readonly kind: 'persistedThrough'; readonly seq: number }
  /** The answer to a read in `reads` of an earlier Ready. */
  | { readonly kind: 'snapshotRead'; readonly readId: number; readonly chunk: SnapshotChunk }
  /** A read in `reads` of an earlier Ready failed: why, in the store's words. */
  | { readonly kind: 'snapshotReadFailed'; readonly readId: number; readonly reason: string }
  /**
   * This peer is leaving the ensemble (its host is shutting down). A leader first lets its
   * proposals in flight commit, proposing nothing new, then tells its learners to elect at
   * once; any other peer leaves at once. A peer that has left (`status().departure`) ignores
   * every input: the driver stops it.
   */
  | { readonly kind: 'leave' }
  /**
   * Hand leadership over to voter `to` (or the most up-to-date synced voter) within
   * `timeoutMs`: a leader lets the successor catch up while it goes on proposing, then stops
   * proposing, waits until every proposal is committed and acknowledged by the successor,
   * and steps down with every learner voting for the successor. A follower or observer asks
   * its leader. Each step and the end are `leadershipTransfer` events.
   */
  | { readonly kind: 'transferLeadership'; readonly to?: ServerId; readonly timeoutMs: number }
  /**
   * Replace the whole replicated state with a snapshot's (the admin restore command): the
   * leader proposes it as one transaction, a learner forwards it to its leader. Every
   * replica applies it in one step and closes its client connections; sessions the snapshot
   * holds resume, the others are gone. `restore` events say how it goes, the `applied` one
   * carrying `request.token`.
   */
  | { readonly kind: 'restore'; readonly request: RestoreRequest };

/**
 * What one step asks of the driver. The order between the parts is the contract; drivers
 * keep it by handing every Ready to a `ReadyPipeline` rather than by hand.
 *
 * - `messages` go at once.
 * - `persist` is carried out after every earlier Ready's actions, in order; once it is
 *   durable the driver steps `persistedThrough(persistSeq)`. Reporting a seq covers every
 *   earlier one, so a driver that writes several Readies as one batch reports the last.
 * - `messagesAfterPersist` go only once this Ready's `persist` and every earlier one are
 *   durable. When `persist` is empty (`persistSeq` is 0) they still wait for every earlier
 *   persist that is not yet durable, and go at once only when none is outstanding; no
 *   `persistedThrough` is owed for an empty persist.
 * - `toClients` are delivered at once, in order.
 * - `reads` are carried out whenever the driver likes, concurrently with writes, each
 *   answered by a `snapshotRead` (or `snapshotReadFailed`) input: the peer reads only what it
 *   knows is durable and keeps from purges.
 * - `events` are for the log.
 */
export interface PeerReady {
  /** Storage actions to carry out in order, after every earlier Ready's. */
  readonly persist: readonly StorageAction[];
  /** The number to report back once `persist` is durable; 0 when nothing was persisted. */
  readonly persistSeq: number;
  /** Messages to send at once. */
  readonly messages: readonly Envelope[];
  /** Messages to send once this and every earlier persist are durable, even if `persist` is empty. */
  readonly messagesAfterPersist: readonly Envelope[];
  /** Outputs for client connections, in order. */
  readonly toClients: readonly ClientOutput[];
  /** Storage reads to carry out, each answered by an input. */
  readonly reads: readonly StorageRead[];
  /** What happened, for the driver to log. */
  readonly events: readonly PeerEvent[];
  /**
   * The membership that took effect in this step (a committed reconfig, or a newer one this
   * peer learned while electing or syncing), if any: the driver writes it down (a server its
   * `zoo.cfg.dynamic.<version>` file) and tells its transport the members' addresses. It is
   * already durable in the log: the driver need not order it with `persist`.
   */
  readonly activatedConfig: EnsembleConfig | undefined;
  /**
   * Links to break now (the transport's `disconnect`), after this Ready's `messages` went: the
   * peer sent what no correct peer sends, or this leader dropped that learner. Both ends see
   * the link down at once (a dropped follower looks for a leader and syncs again without
   * waiting for syncLimit), and it is made again as usual.
   */
  readonly closeLinks: readonly LinkClosure[];
  /**
   * The membership a reconfig logged in this step proposes (not yet committed), if one did:
   * a server writes it to `zoo.cfg.dynamic.next`, as ZooKeeper's setLastSeenQuorumVerifier
   * does, and a restart hands it back (`proposedEnsembleConfig`) in case the log never got it.
   * Absent when none was logged.
   */
  readonly proposedConfig?: EnsembleConfig | undefined;
}

/** A peer's options: its ensemble, limits and server settings. */
export interface ZabPeerOptions extends PeerOptions, ServerOptions {}

/** Entries a lone voter's in-memory log may hold before it drops the applied ones. */
const soloLogRetainMax = 1024;

type Role =
  | { readonly kind: 'looking' }
  | { readonly kind: 'leading'; readonly leader: LeaderRole }
  | { readonly kind: 'following' | 'observing'; readonly learner: LearnerRole };

/** The syncs of a peer with none under way, shared by every status that shows none. */
const noSyncs: PeerStatus['syncs'] = Object.freeze([]);

/** One ZooKeeper ensemble member as a pure state machine: feed it inputs with `step`, perform the Ready. */
export class ZabPeer {
  readonly serverId: ServerId;
  readonly options: ResolvedPeerOptions;
  readonly server: ResolvedServerOptions;
  /** Who is in the ensemble as this peer knows it: the configuration in force, one proposed. */
  private readonly membership: Membership;
  /** Change records made and forgotten by every preparer this peer led with. */
  private readonly changeRecordTotals: ChangeRecordCounts = { queued: 0, removed: 0 };
  /** Set when a configuration took effect this step: the role checks it still fits at the step's end. */
  private membershipChanged = false;
  private readonly tree: DataTree;
  private readonly log: TxnLog;
  private readonly front: ClientFront;
  private readonly outbox: Outbox;
  private readonly applier: Applier;
  private readonly admission: SessionAdmission;
  private readonly election: FastLeaderElection;
  /** What the roles may use of this peer. */
  private readonly context: PeerContext;
  private role: Role = { kind: 'looking' };
  /** FOLLOWERINFO that reached us in this election round, before we knew we would lead (one per peer). */
  private readonly earlyFollowerInfos = new Map<
    ServerId,
    Extract<LearnerMessage, { kind: 'followerInfo' }>
  >();
  /**
   * The clock timers read (election, pings, session expiry, quorum check, learner deadlines):
   * the monotonic reading, never the wall clock.
   */
  private now: number;
  /** The wall clock as last stepped: what transactions are stamped with. */
  private wallMs: number;
  private epochs: Epochs;
  /**
   * What session passwords derive from: the one storage kept, else the driver's random bytes
   * (kept from the first start on), replaced by the leader's when this peer syncs.
   */
  private sessionSecret: Uint8Array;
  private followAttempts = 0;
  /**
   * How often each bound was reached, as `status()` shows it: replaced, never changed, when a
   * bound is reached (rarely), so that every status can share it rather than copy it.
   */
  private boundsReached: Readonly<ReturnType<typeof noBoundsReached>> = Object.freeze(noBoundsReached());
  /** Why the peer last gave up a role: for logs and tests. */
  private lastLookingReason = 'starting';
  /** When this peer last started looking for a leader (its clock). */
  private lookingSinceMs = 0;
  /**
   * Read-only mode: set once a looking peer with readOnlyModeEnabled has looked for its grace
   * period, with the sessions it made since (timeout, last heard of); cleared when it
   * leads or follows again, closing their connections, as ZooKeeper shuts its read-only
   * server down.
   */
  private readOnly: Map<SessionId, { readonly timeoutMs: number; lastHeardMs: number }> | undefined;
  private lastSyncFailure: SyncFailure | undefined;
  private nextReadId = 1;
  /** Reads asked for and not yet answered, by id: forgotten when the role changes. */
  private readonly pendingReads = new Map<
    number,
    { readonly onChunk: (chunk: SnapshotChunk) => void; readonly onFailure: (reason: string) => void }
  >();
  /** Whether the peer is leaving the ensemble (the `leave` input), or has left. */
  private departure: PeerStatus['departure'] = 'staying';

  /**
   * `clock` is what the driver's clocks read at start; a number stands for both (a simulator's
   * single virtual clock).
   */
  constructor(
    options: ZabPeerOptions,
    state: PersistedState = emptyState(),
    clock: ClockReading | number = options.startTimeMs,
  ) {
    const start = typeof clock === 'number' ? clockAt(clock) : clock;
    assert(Number.isFinite(start.wallMs) && Number.isFinite(start.monotonicMs), 'a clock reads a number');
    this.options = resolvePeerOptions(options);
    this.server = resolveServerOptions(options);
    this.serverId = options.serverId;
    this.now = start.monotonicMs;
    this.wallMs = start.wallMs;
    this.epochs = state.epochs;
    assert(
      this.epochs.currentEpoch <= this.epochs.acceptedEpoch,
      'restored currentEpoch exceeds acceptedEpoch',
    );
    this.tree =
      state.tree ?? (state.snapshot === undefined ? new DataTree() : DataTree.fromSnapshot(state.snapshot));
    const onQuotaNotice = this.server.onQuotaNotice;
    if (onQuotaNotice !== undefined)
      this.tree.onQuotaStatsRecounted = (path) => onQuotaNotice({ recounted: path });
    // The configuration in force: the newer of the options' and the one a reconfig left in
    // the restored tree (its /zookeeper/config is then replicated, not this server's own).
    let ensembleConfig = this.options.ensembleConfig;
    const restored = this.tree.replicatedEnsembleConfig();
    if (restored !== undefined && (ensembleConfig === undefined || restored.version > ensembleConfig.version))
      ensembleConfig = restored;
    else if (ensembleConfig !== undefined)
      this.tree.setEnsembleConfig(
        encodeUtf8(formatEnsembleConfig(ensembleConfig)),
        ensembleConfig.version,
        start.wallMs,
      );
    this.membership = new Membership(ensembleConfig, this.options.voters, this.options.observers);
    // A reconfig logged and not applied is proposed: decisions need its quorum too.
    this.membership.logged(state.log);
    this.log = new TxnLog(this.tree.lastZxid, state.log);
    // A proposal the driver kept (zoo.cfg.dynamic.next) that may not have reached the log.
    const kept = this.options.proposedEnsembleConfig;
    if (kept !== undefined) this.membership.keptProposal(kept, this.log.lastZxid);
    this.outbox = new Outbox(this.serverId, this.log);
    this.sessionSecret = state.sessionSecret ?? this.server.sessionSecret;
    assert(this.sessionSecret.length > 0, 'a session secret is never empty');
    if (state.sessionSecret === undefined)
      this.outbox.persist({ kind: 'sessionSecret', secret: this.sessionSecret });
    const incomplete = state.incompleteSnapshots ?? [];
    if (incomplete.length > 0) {
      // A sync (or a snapshot) was cut short by a stop: what it staged never became the state.
      this.outbox.persist({ kind: 'stageDiscard' });
      this.outbox.event({ kind: 'incompleteSnapshotsDiscarded', zxids: incomplete });
    }
    this.front = new ClientFront(this.tree, this.commitPath(), {
      superDigest: this.server.superDigest,
      enforceAuthSchemes: this.server.enforceAuthSchemes,
      requestsPendingPerSessionMax: this.options.requestsPendingPerSessionMax,
    });
    this.front.watches.onTriggered = this.server.onWatchesTriggered;
    const snapshotPoints = new SnapshotPoints(this.options.snapCount, this.options.snapshotRandomSeed);
    this.applier = new Applier(
      this.tree,
      this.log,
      this.outbox,
      this.front,
      snapshotPoints,
      {
        onApplied: options.onApplied,
        roleApplied: (txn) => {
          if (txn.body.kind === 'reconfig') this.configApplied(txn);
          if (txn.body.kind === 'restore') this.restoreApplied(txn);
          if (this.role.kind === 'leading') this.role.leader.applied(txn);
        },
        sessionApplied: (txn, origin) => this.admission.sessionApplied(txn, origin),
        afterApplied: () => {
          this.learner?.releaseClientSyncs();
          // A lone voter without observers never synchronises a learner from its log: it keeps
          // only a few applied entries in memory (storage has them all), sparing the garbage
          // collector the copying of every transaction it ever wrote.
          if (
            this.log.size >= soloLogRetainMax &&
            this.quorum.voters.size === 1 &&
            this.quorum.observers.size === 0
          )
            this.log.compact(this.tree.lastZxid);
        },
        retainFrom: () => (this.role.kind === 'leading' ? this.role.leader.retainFrom() : undefined),
      },
      state.snapshot?.zxid,
    );
    // Session ids start from the wall clock, as ZooKeeper's do: unique across restarts.
    this.admission = new SessionAdmission(this.server, this.serverId, start.wallMs, this.tree, this.front, {
      isServing: () => this.serving,
      isReadOnly: () => this.readOnly !== undefined,
      localSessionTimeoutOf: (sessionId) => this.readOnly?.get(sessionId)?.timeoutMs,
      addLocalSession: (sessionId, timeoutMs) => {
        assert(this.readOnly !== undefined, 'a local session is made in read-only mode');
        this.readOnly.set(sessionId, { timeoutMs, lastHeardMs: this.now });
      },
      submitCreate: (sessionId, request, origin) =>
        this.submitRequest(sessionId, internalCxid, [], request, origin),
      revalidate: (pending) => this.revalidate(pending),
      trackedTimeoutOf: (sessionId) =>
        this.role.kind === 'leading' ? this.role.leader.sessionTimeoutOf(sessionId) : undefined,
      sessionSecret: () => this.sessionSecret,
    });
    this.context = this.makeContext();
    const membership = this.membership;
    this.election = new FastLeaderElection(this.serverId, this.quorumView(), {
      inForce: {
        get voters() {
          return membership.committedQuorumVerifier.voters;
        },
        get observers() {
          return membership.committedQuorumVerifier.observers;
        },
        containsQuorum: (ids) => membership.committedQuorumVerifier.containsQuorum(ids),
        highestAcked: (acks) => membership.committedQuorumVerifier.highestAcked(acks),
      },
      finalizeWaitMs: this.options.electionFinalizeWaitMs,
      resendIntervalMs: this.options.electionResendIntervalMs,
    });
    this.startElection();
  }

  // ---- state for drivers and tests ---------------------------------------------------------

  /** The quorum decisions need now: the configuration in force, joint with a proposed one. */
  get quorum(): QuorumVerifier {
    return this.membership.quorum;
  }

  /** The configuration in force, if the ensemble has one (none when named by ids alone). */
  get ensembleConfig(): EnsembleConfig | undefined {
    return this.membership.committed;
  }

  /** The configuration a logged reconfig proposes, until it is applied here. */
  get pendingEnsembleConfig(): EnsembleConfig | undefined {
    return this.membership.pending;
  }

  /** A verifier that always reads the current quorum, for parts that keep one for good. */
  private quorumView(): QuorumVerifier {
    const peer = this;
    return {
      get voters() {
        return peer.quorum.voters;
      },
      get observers() {
        return peer.quorum.observers;
      },
      containsQuorum: (ids) => peer.quorum.containsQuorum(ids),
      highestAcked: (acks) => peer.quorum.highestAcked(acks),
    };
  }

  /** Where the peer stands: role, leader, epochs, how far its log, commit point and tree reach. */
  status(): PeerStatus {
    return {
      serverId: this.serverId,
      role: this.role.kind,
      leaderId: this.leaderId,
      serving: this.serving,
      readOnly: this.readOnly !== undefined,
      acceptedEpoch: this.epochs.acceptedEpoch,
      currentEpoch: this.epochs.currentEpoch,
      lastLoggedZxid: this.log.lastZxid,
      lastPersistedZxid: this.outbox.lastPersistedZxid,
      lastCommittedZxid: this.applier.lastCommittedZxid,
      lastAppliedZxid: this.tree.lastZxid,
      lookingReason: this.lastLookingReason,
      vote: this.election.currentVote,
      electionRound: this.election.clock,
      connections: this.front.connectionCount(),
      boundsReached: this.boundsReached,
      syncs: this.syncs(),
      lastSyncFailure: this.lastSyncFailure,
      departure: this.departure,
    };
  }

  private syncs(): PeerStatus['syncs'] {
    if (this.role.kind === 'leading') return this.role.leader.syncs();
    const progress = this.learner?.syncProgress();
    return progress === undefined ? noSyncs : [progress];
  }

  /**
   * When the earliest of the peer's protocol timers falls due (election decision and resend,
   * a learner's deadlines and resends, a leader's pings and its quorum check), on the clock
   * its timers read; undefined when none is set. A driver that ticks on a coarse interval
   * ticks once more at this time, so failover does not wait for the next regular tick.
   * Session expiry and container collection keep to the regular ticks.
   */
  nextTimerDueMs(): number | undefined {
    switch (this.role.kind) {
      case 'looking':
        return this.election.nextDueMs();
      case 'leading':
        return this.role.leader.nextDueMs();
      default:
        return this.role.learner.nextDueMs();
    }
  }

  /**
   * The znode at `path` as this replica holds it, for tools and tests (no ACL check): its Stat
   * as clients see it, and its lifetime (persistent, ephemeral and whose, container or TTL),
   * which the Stat shows only in part.
   */
  znodeAt(
    path: string,
  ): { readonly stat: Stat; readonly lifetime: NodeLifetime; readonly acl: readonly ACL[] } | undefined {
    const node = this.tree.getNode(path);
    return node === undefined ? undefined : { stat: node.stat(), lifetime: node.lifetime, acl: node.acl };
  }

  /**
   * The nodes under /zookeeper/quota that have no children (each quota's zookeeper_limits and
   * zookeeper_stats) with their data, as ZooKeeper's quota gauges walk them: as much work as
   * there are quota nodes.
   */
  quotaLeaves(): readonly { readonly path: string; readonly data: ZnodeData }[] {
    const leaves: { path: string; data: ZnodeData }[] = [];
    const pending = [quotaPath];
    for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
      const node = this.tree.getNode(path);
      if (node === undefined) continue;
      if (node.childCount === 0) leaves.push({ path, data: node.data });
      else for (const child of node.childNames()) pending.push(`${path}/${child}`);
    }
    return leaves;
  }

  /**
   * A copy of the applied tree and its sessions, at `zxid` (for an online backup): as much
   * work as the tree is large, so tools call it on demand, not per request.
   */
  treeSnapshot(): TreeSnapshot {
    return this.tree.snapshot();
  }

  /**
   * Serves a read for a connection attached here at once, between steps, without stepping:
   * the local replica's applied (committed) state as of the last step, with the same ACL
   * checks as a read sent through `step`. No watch (BadArguments if asked for), no refresh of
   * the session, no waiting behind the session's writes in flight. Undefined when the
   * connection is not attached (the caller treats it as a lost connection). It changes
   * nothing, so the peer stays as deterministic as its inputs.
   */
  readNow(connectionId: ConnectionId, request: ReadRequest): Reply | undefined {
    if (this.departure === 'left') return undefined;
    return this.front.readNow(connectionId, request);
  }

  /** What this replica holds, in numbers: for four-letter words and metrics. */
  replicaStats(): ReplicaStats {
    return {
      nodeCount: this.tree.nodeCount,
      approximateDataSize: this.tree.approximateDataSize(),
      ephemeralCount: this.tree.ephemeralCount(),
      watches: this.front.watches.counts(),
      watchCount: this.front.watches.watchCount(),
    };
  }

  /** The sessions this replica's tree knows, and the owners of its ephemerals. */
  sessionSummary(): SessionSummary {
    const ephemeralsByOwner = new Map<bigint, readonly string[]>();
    for (const owner of this.tree.sessionsWithEphemerals())
      ephemeralsByOwner.set(owner, this.tree.ephemeralsOf(owner));
    return { sessions: new Map(this.tree.sessions()), ephemeralsByOwner };
  }

  /** The data watches' paths by session, sorted (ZooKeeper's wchc; wchp inverts it). */
  dataWatchesBySession(): ReadonlyMap<SessionId, readonly string[]> {
    const bySession = new Map<SessionId, string[]>();
    for (const [connectionId, paths] of this.front.watches.dataWatchesByConnection()) {
      const sessionId = this.front.sessionOf(connectionId);
      if (sessionId !== undefined) bySession.set(sessionId, paths);
    }
    return bySession;
  }

  /** Session ids by the time (ms) they expire at, earliest first: known to the leader alone. */
  sessionExpiries(): ReadonlyMap<number, readonly SessionId[]> {
    return this.role.kind === 'leading' ? this.role.leader.sessionExpiries() : new Map();
  }

  /**
   * The change records this peer made while leading and forgot once applied, over its life:
   * ZooKeeper's outstanding_changes_queued and outstanding_changes_removed.
   */
  changeRecordCounts(): Readonly<ChangeRecordCounts> {
    return { ...this.changeRecordTotals };
  }

  /** Writes applied after their client's connection closed, their reply unsent (ZooKeeper's stale_replies). */
  staleReplies(): number {
    return this.front.staleReplies;
  }

  /** The learners this peer leads (none unless it is leading), in server id order. */
  learners(): readonly LearnerView[] {
    return this.role.kind === 'leading' ? this.role.leader.learnerViews() : [];
  }

  /**
   * Each follower's lag, as `learners()` reports it, in server id order (none unless
   * leading): for what reads it at every proposal, without building the views.
   */
  visitFollowerLags(visit: FollowerLagVisitor): void {
    if (this.role.kind === 'leading') this.role.leader.visitFollowerLags(visit);
  }

  /** A digest of the applied tree: equal on every replica that has applied the same zxid. */
  digest(): string {
    return this.tree.digest();
  }

  /** The leader this peer follows or is, once it serves; undefined while looking. */
  private get leaderId(): ServerId | undefined {
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
  private get serving(): boolean {
    return this.leaderId !== undefined;
  }

  // ---- step ---------------------------------------------------------------------------------

  /**
   * Handles one input at the time `clock` reads and returns what the driver must do next;
   * `stepAll` batches several.
   */
  step(input: PeerInput, clock: ClockReading): PeerReady {
    return this.stepAll([input], clock);
  }

  /**
   * Handles several inputs at the time `clock` reads and answers with one Ready: proposals
   * prepared for all of them leave as one batched PROPOSAL per learner, and their storage
   * actions as one write. Writes prepared in this step are stamped with `clock.wallMs`.
   */
  stepAll(inputs: readonly PeerInput[], clock: ClockReading): PeerReady {
    this.advanceClock(clock);
    // Timers due by now fire before any input, whatever order the driver delivers them in: a
    // process resumed after a pause may be handed what waited in its sockets before its timers
    // run (an event loop polls before its timers phase), and a leader past its lease must step
    // down before it answers a read that waited, or it serves a stale one.
    if (inputs[0]?.kind !== 'tick' && this.leaseExpired()) this.tick();
    for (const input of inputs) this.handleInput(input);
    this.fitRoleToMembership();
    if (this.role.kind === 'leading') this.role.leader.flush();
    if (this.role.kind === 'leading' && this.role.leader.finishLeaving()) {
      if (this.departure === 'staying') {
        // Removed from the voters by a reconfig: it stays in the ensemble's life, not its lead.
        this.lookForLeader('a reconfig removed this leader from the voters: handed leadership over');
      } else this.retire('handed leadership over');
    }
    if (this.role.kind === 'leading') this.stepTransfer(this.role.leader);
    const leaderId = this.leaderId;
    const announced = this.election.currentVote;
    // Announce only a change of leader or epoch: a step is on every request's path.
    if (
      leaderId !== undefined &&
      (announced.leader !== leaderId || announced.peerEpoch !== this.epochs.currentEpoch)
    ) {
      this.election.announce({
        leader: leaderId,
        zxid: this.log.lastZxid,
        peerEpoch: this.epochs.currentEpoch,
      });
    }
    return this.takeReady();
  }

  /** Moves the clocks to the driver's reading; neither goes back. */
  private advanceClock(clock: ClockReading): void {
    assert(Number.isFinite(clock.wallMs) && Number.isFinite(clock.monotonicMs), 'a clock reads a number');
    if (clock.wallMs > this.wallMs) this.wallMs = clock.wallMs;
    // Timers follow the monotonic clock alone: setting the wall clock, either way, must neither
    // expire every session at once nor freeze a deposed leader's quorum check.
    if (clock.monotonicMs > this.now) this.now = clock.monotonicMs;
  }

  private handleInput(input: PeerInput): void {
    // A peer that left takes part in nothing: no vote, no ack, no client.
    if (this.departure === 'left') return;
    switch (input.kind) {
      case 'tick':
        this.tick();
        break;
      case 'message':
        this.receive(input.from, input.message);
        break;
      case 'linkDown':
        this.linkDown(input.peer);
        break;
      case 'linkProgress':
        // A leader judges its learners by what they say: a learner in a sync reports what
        // arrives in its syncAcks, and one in broadcast sends little that could take long.
        if (this.role.kind !== 'looking' && this.role.kind !== 'leading')
          this.role.learner.linkProgress(input.from);
        break;
      case 'persistedThrough':
        this.onPersisted(input.seq);
        break;
      case 'snapshotRead': {
        const pending = this.pendingReads.get(input.readId);
        if (pending === undefined) break;
        this.pendingReads.delete(input.readId);
        pending.onChunk(input.chunk);
        break;
      }
      case 'snapshotReadFailed': {
        const pending = this.pendingReads.get(input.readId);
        if (pending === undefined) break;
        this.pendingReads.delete(input.readId);
        pending.onFailure(input.reason);
        break;
      }
      case 'connect':
        this.admission.connect(input.connectionId, input.request);
        break;
      case 'request':
        this.request(input.connectionId, input.xid, input.request);
        break;
      case 'authenticated':
        this.front.authenticated(input.connectionId, input.identities);
        break;
      case 'disconnect':
        this.learner?.forgetRevalidation(input.connectionId);
        this.front.close(input.connectionId);
        break;
      case 'leave':
        this.leave();
        break;
      case 'transferLeadership':
        this.transferLeadership(input.to, input.timeoutMs);
        break;
      case 'restore':
        this.restore(input.request);
        break;
      default:
        assertNever(input, 'peer input');
    }
  }

  private takeReady(): PeerReady {
    const {
      persist,
      persistSeq,
      messages,
      messagesAfterPersist,
      reads,
      events,
      activatedConfig,
      closeLinks,
      proposedConfig,
    } = this.outbox.take();
    return {
      persist,
      persistSeq,
      messages,
      messagesAfterPersist,
      toClients: this.front.drainOutputs(),
      reads,
      events,
      activatedConfig,
      closeLinks,
      ...(proposedConfig === undefined ? {} : { proposedConfig }),
    };
  }

  /** True when the role's timers would end it now: a leader's quorum lease, a learner's leader. */
  private leaseExpired(): boolean {
    switch (this.role.kind) {
      case 'looking':
        return false;
      case 'leading':
        return this.role.leader.leaseExpired();
      default:
        return this.role.learner.leaseExpired();
    }
  }

  private tick(): void {
    switch (this.role.kind) {
      case 'looking': {
        const output = this.election.tick(this.now);
        this.sendElection(output.send);
        if (output.decided !== undefined) {
          this.decided(output.decided, output.joinedEstablished ?? false);
          return;
        }
        this.tickReadOnly();
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
    // Servers outside the configuration may speak: one joining by reconfig follows before
    // it is a member. Which ids may connect at all is the transport's to say.
    const fault = from === this.serverId ? 'a message from ourselves' : messageFault(message);
    if (fault !== undefined) {
      this.refuseMessage(from, message, fault);
      return;
    }
    if (message.kind === 'notification') {
      this.receiveNotification(from, message);
      return;
    }
    if (message.kind === 'configNotice') {
      this.receiveConfigNotice(message.config);
      return;
    }
    if (this.role.kind === 'leading') {
      if (isLearnerMessage(message)) this.role.leader.receive(from, message);
      return;
    }
    if (this.role.kind === 'looking' && message.kind === 'followerInfo') {
      // A learner that decided before us: kept, so that if we lead it joins at once instead of
      // after its next resend (a tick later).
      this.earlyFollowerInfos.set(from, message);
      return;
    }
    if (
      (this.role.kind === 'following' || this.role.kind === 'observing') &&
      from === this.role.learner.leaderId
    ) {
      if (isLeaderMessage(message)) this.role.learner.receive(message);
    }
  }

  /**
   * A message no correct peer sends: refused before any role sees it, reported, and the
   * relation with its sender ended as if its link had broken (a learner looks for another
   * leader, a leader drops that learner), and its link closed.
   */
  private refuseMessage(from: ServerId, message: PeerMessage, reason: string): void {
    this.outbox.event({ kind: 'peerMessageRefused', peer: from, message: message.kind, reason });
    this.outbox.closeLink(from, `it sent a ${message.kind} no correct peer sends: ${reason}`);
    if (this.role.kind === 'leading') this.role.leader.linkDown(from);
    else if (this.role.kind !== 'looking' && from === this.role.learner.leaderId)
      this.lookForLeader(`leader ${from} sent a ${message.kind} no correct leader sends: ${reason}`);
  }

  private receiveNotification(from: ServerId, message: ElectionMessage): void {
    // A peer that looks again, leads, or follows another has given up the attempt to follow
    // us its early FOLLOWERINFO belongs to: its acceptedEpoch there may be out of date.
    const learnsFromUs =
      (message.state === 'following' || message.state === 'observing') &&
      message.vote.leader === this.serverId;
    if (!learnsFromUs) this.earlyFollowerInfos.delete(from);
    // A peer electing learns our configuration if a reconfig made it: it may have missed it.
    if (message.state === 'looking') {
      const config = this.membership.committed;
      if (config !== undefined && config.version > 0n)
        this.outbox.send(from, { kind: 'configNotice', config: formatEnsembleConfig(config) });
    }
    if (this.role.kind !== 'looking') {
      // A peer still looking learns from us who leads.
      if (message.state === 'looking')
        this.outbox.send(from, this.election.answerWhileDecided(this.role.kind));
      return;
    }
    const output = this.election.receive(from, message, this.now);
    this.sendElection(output.send);
    if (output.decided !== undefined) this.decided(output.decided, output.joinedEstablished ?? false);
  }

  private sendElection(send: readonly { to: ServerId | 'voters'; message: ElectionMessage }[]): void {
    for (const { to, message } of send) {
      if (to !== 'voters') {
        this.outbox.send(to, message);
        continue;
      }
      for (const voter of this.quorum.voters) this.outbox.send(voter, message);
    }
  }

  private linkDown(peer: ServerId): void {
    // What came over the lost link is gone with it, as over a closed connection.
    this.earlyFollowerInfos.delete(peer);
    if (this.role.kind === 'leading') this.role.leader.linkDown(peer);
    else if (this.role.kind !== 'looking') this.role.learner.linkDown(peer);
  }

  /**
   * A looking peer enters read-only mode after its grace period (ZooKeeper waits
   * max(2000 ms, tickTime) before it decides it is partitioned); in it, sessions not heard
   * of for their timeout expire.
   */
  private tickReadOnly(): void {
    if (!this.server.readOnlyModeEnabled) return;
    if (this.readOnly === undefined) {
      if (this.now - this.lookingSinceMs >= Math.max(2000, this.server.tickTimeMs)) this.readOnly = new Map();
      return;
    }
    for (const [sessionId, session] of this.readOnly) {
      if (this.now - session.lastHeardMs <= session.timeoutMs) continue;
      this.readOnly.delete(sessionId);
      const connectionId = this.front.connectionOf(sessionId);
      if (connectionId !== undefined) this.front.close(connectionId, 'sessionExpired');
    }
  }

  /** Leaves read-only mode: its clients reconnect, to a server that can write. */
  private leaveReadOnly(): void {
    if (this.readOnly === undefined) return;
    this.readOnly = undefined;
    this.front.closeAll('refused');
  }

  // ---- roles --------------------------------------------------------------------------------

  private startElection(successor?: Vote): void {
    this.readOnly = undefined;
    this.lookingSinceMs = this.now;
    // Reads asked for by the role that ends answer nobody.
    this.pendingReads.clear();
    this.front.closeAll('refused');
    this.applier.forgetOrigins();
    // A peer that is not serving has no clients and expects no transaction to answer one.
    assert(this.front.connectionCount() === 0, 'a looking peer keeps no client connection');
    assert(this.applier.originsPending === 0, 'a looking peer expects no transaction');
    if (this.role.kind === 'leading') this.role.leader.retire();
    this.role = { kind: 'looking' };
    this.earlyFollowerInfos.clear();
    const output = this.election.start(this.log.lastZxid, this.epochs.currentEpoch, this.now, successor);
    this.sendElection(output.send);
  }

  private decided(vote: Vote, joinedEstablished: boolean): void {
    assert(this.role.kind === 'looking', 'only a looking peer decides an election');
    this.leaveReadOnly();
    if (vote.leader === this.serverId) {
      assert(this.quorum.voters.has(this.serverId), 'only a voter leads');
      const leader = new LeaderRole(this.context);
      this.role = { kind: 'leading', leader };
      for (const [from, message] of this.earlyFollowerInfos) leader.receive(from, message);
      this.earlyFollowerInfos.clear();
      return;
    }
    this.earlyFollowerInfos.clear();
    assert(this.quorum.voters.has(vote.leader), 'a learner follows a voter');
    const observer = this.quorum.observers.has(this.serverId);
    // Unique per attempt, across restarts too: the clock has moved on since any earlier one.
    // The wall clock, not the monotonic one: that one starts again at each restart.
    const attempt = Math.floor(this.wallMs) * 1000 + (this.followAttempts++ % 1000);
    const learner = new LearnerRole(this.context, vote.leader, observer, attempt, joinedEstablished);
    learner.onRevalidated = (pending, valid) => this.admission.finishResume(pending, valid);
    this.role = { kind: observer ? 'observing' : 'following', learner };
  }

  private get learner(): LearnerRole | undefined {
    return this.role.kind === 'following' || this.role.kind === 'observing' ? this.role.learner : undefined;
  }

  /** Builds what the roles may use of this peer: they never see the peer itself. */
  private makeContext(): PeerContext {
    const peer = this;
    return {
      serverId: this.serverId,
      options: this.options,
      server: this.server,
      changeRecordCounts: this.changeRecordTotals,
      get quorum() {
        return peer.quorum;
      },
      membership: this.membership,
      tree: this.tree,
      log: this.log,
      front: this.front,
      get nowMs() {
        return peer.now;
      },
      get wallMs() {
        return peer.wallMs;
      },
      get acceptedEpoch() {
        return peer.epochs.acceptedEpoch;
      },
      get currentEpoch() {
        return peer.epochs.currentEpoch;
      },
      get lastPersistedZxid() {
        return peer.outbox.lastPersistedZxid;
      },
      get sessionSecret() {
        return peer.sessionSecret;
      },
      get storedSnapshotZxid() {
        return peer.applier.storedSnapshotZxid;
      },
      adoptSessionSecret: (secret) => this.adoptSessionSecret(secret),
      send: (to, message) => this.outbox.send(to, message),
      sendAfterPersist: (to, message) => this.outbox.sendAfterPersist(to, message),
      closeLink: (peer, reason) => this.outbox.closeLink(peer, reason),
      persist: (action, onDurable) => this.outbox.persist(action, onDurable),
      whenDurable: (callback) => this.outbox.whenDurable(callback),
      takeSnapshot: (onDurable) => this.applier.takeSnapshot(onDurable),
      readSnapshot: (zxid, cursor, bytesMax, onChunk, onFailure) => {
        const readId = this.nextReadId++;
        this.pendingReads.set(readId, { onChunk, onFailure });
        const read: StorageRead = { kind: 'snapshotChunk', readId, zxid, cursor, bytesMax };
        this.outbox.read(read);
      },
      installSnapshot: (tree, zxid, chunks, nodes, sessions) =>
        this.installSnapshot(tree, zxid, chunks, nodes, sessions),
      event: (event) => this.event(event),
      setEpochs: (acceptedEpoch, currentEpoch, onDurable) =>
        this.setEpochs(acceptedEpoch, currentEpoch, onDurable),
      appendToLog: (txns) => this.appendToLog(txns),
      commitThrough: (zxid) => this.applier.commitThrough(zxid),
      lookForLeader: (reason, successor) => this.lookForLeader(reason, successor),
      boundReached: (bound) => this.boundReached(bound),
      expectTxn: (sessionId, cxid, origin) => this.applier.expect(sessionId, cxid, origin),
    };
  }

  private setEpochs(acceptedEpoch: number, currentEpoch: number, onDurable?: () => void): void {
    assert(acceptedEpoch >= this.epochs.acceptedEpoch, 'acceptedEpoch never goes down');
    assert(currentEpoch >= this.epochs.currentEpoch, 'currentEpoch never goes down');
    assert(currentEpoch <= acceptedEpoch, 'currentEpoch never exceeds acceptedEpoch');
    this.epochs = { acceptedEpoch, currentEpoch };
    this.outbox.persist({ kind: 'epochs', epochs: this.epochs }, onDurable);
  }

  private adoptSessionSecret(secret: Uint8Array): void {
    assert(secret.length > 0, 'a leader sends a session secret');
    if (samePassword(secret, this.sessionSecret)) return;
    this.sessionSecret = secret;
    this.outbox.persist({ kind: 'sessionSecret', secret });
  }

  private appendToLog(txns: readonly Txn[]): void {
    if (txns.length === 0) return;
    for (const txn of txns) this.log.append(txn);
    this.outbox.logged(txns);
    const pending = this.membership.pending;
    this.membership.logged(txns);
    const proposed = this.membership.pending;
    if (proposed !== undefined && proposed !== pending) this.outbox.configProposed(proposed);
  }

  /**
   * A reconfig was applied (so committed): its configuration is in force here from now on.
   * The driver hears of it in this step's Ready; whether this peer's role still fits is
   * checked at the end of the step, once the applier is done.
   */
  private configApplied(txn: Txn): void {
    const config = this.membership.applied(txn);
    if (config === undefined) return;
    this.outbox.configActivated(config);
    this.membershipChanged = true;
  }

  /**
   * Another peer's configuration in force. While electing, a newer one is adopted (it was
   * committed: the sender applied it), as ZooKeeper's election adopts a newer config from a
   * notification, and the round starts again with its voters. A peer that follows or leads
   * learns of reconfigs from its log instead. Text that does not parse is ignored.
   */
  private receiveConfigNotice(text: string): void {
    if (this.role.kind !== 'looking') return;
    let config: EnsembleConfig;
    try {
      config = parseEnsembleConfig(text);
    } catch {
      return;
    }
    if (config.version === 0n || !this.membership.adopt(config)) return;
    this.outbox.configActivated(config);
    this.membershipChanged = true;
  }

  /**
   * After a configuration took effect: a leader that no longer votes hands leadership over
   * (it proposes nothing new, lets what is in flight commit, then tells its learners to
   * elect at once); a learner whose role changed (participant <-> observer) or that left
   * the ensemble connects again in its new role.
   */
  private fitRoleToMembership(): void {
    if (!this.membershipChanged) return;
    this.membershipChanged = false;
    if (this.departure !== 'staying') return;
    const role = this.membership.roleOf(this.serverId);
    if (this.role.kind === 'looking') {
      // A transaction committed before the role ended may be applied while looking: the
      // ballots counted so far were for the old voters, so the round starts again.
      this.lookForLeader('the membership changed while electing');
      return;
    }
    if (this.role.kind === 'leading') {
      if (role !== 'participant') {
        this.role.leader.leave();
      }
      return;
    }
    const learner = this.learner;
    if (learner === undefined) return;
    const wanted = role === 'participant' ? 'following' : role === 'observer' ? 'observing' : undefined;
    if (wanted === this.role.kind) return;
    this.lookForLeader(
      role === undefined
        ? 'removed from the ensemble by a reconfig'
        : `a reconfig made this server ${role === 'participant' ? 'a participant' : 'an observer'}`,
    );
  }

  private lookForLeader(reason: string, successor?: Vote): void {
    assert(reason.length > 0, 'a peer says why it goes looking');
    if (this.departure !== 'staying') {
      // A leaving peer gives up its role by leaving, never by standing for election again.
      this.retire(reason);
      return;
    }
    this.lastLookingReason = reason;
    if (this.role.kind === 'leading') {
      // A transfer ends with the role: whoever waits for it hears so.
      if (this.role.leader.transferring)
        this.outbox.event({ kind: 'leadershipTransfer', outcome: 'abandoned', successor: undefined, reason });
      this.role.leader.abandon(reason);
    } else this.learner?.abandon(reason);
    this.startElection(successor);
  }

  private event(event: PeerEvent): void {
    this.outbox.event(event);
    if (event.kind === 'syncFailed')
      this.lastSyncFailure = {
        side: event.side,
        peer: event.peer,
        mode: event.mode,
        reason: event.reason,
        atMs: this.now,
      };
  }

  /**
   * A SNAP is whole: storage commits the staged snapshot in one atomic step, and the tree,
   * the log mirror and the applier start from it. Nothing is durable until the commit is.
   */
  private installSnapshot(
    incoming: DataTree,
    zxid: Zxid,
    chunks: number,
    nodes: number,
    sessions: readonly (readonly [SessionId, number])[],
  ): void {
    assert(incoming.lastZxid === zxid, 'the tree rebuilt is the snapshot committed');
    assert(this.front.connectionCount() === 0, 'a learner taking a SNAP serves nobody');
    this.outbox.persist({ kind: 'stageCommit', zxid, chunks, nodes, sessions }, () =>
      this.applier.snapshotStored(zxid),
    );
    this.tree.replaceWith(incoming);
    this.log.reset(zxid);
    this.applier.snapshotInstalled(zxid);
    // A snapshot taken after a reconfig carries its configuration: in force here from now on.
    this.membership.truncatedTo(zxid);
    const config = this.tree.replicatedEnsembleConfig();
    if (config !== undefined && this.membership.adopt(config)) {
      this.outbox.configActivated(config);
      this.membershipChanged = true;
    }
    assert(this.tree.lastZxid === zxid && this.log.lastZxid === zxid, 'a SNAP replaces tree and log');
  }

  /** The `restore` input: the leader proposes it, a serving learner forwards it. */
  private restore(request: RestoreRequest): void {
    const { token } = request;
    const report = (outcome: 'forwarded' | 'refused', reason: string) =>
      this.outbox.event({ kind: 'restore', outcome, token, zxid: undefined, via: undefined, reason });
    if (this.role.kind === 'leading') {
      this.role.leader.proposeRestore(request); // it reports the outcome itself
      return;
    }
    const learner = this.learner;
    if (this.readOnly === undefined && learner?.serving === true && learner.forwardRestore(request)) {
      report('forwarded', `asked leader ${learner.leaderId}`);
      return;
    }
    report('refused', 'this server is not serving: no leader to ask');
  }

  /**
   * A restore was applied: the tree is the snapshot's. Every connection closes (its watches,
   * set on the old tree, go with it; a client's reconnection sets them again, and finds its
   * session if the snapshot holds it), and a snapshot is taken at once, so that a restart
   * need not replay the restore and a learner behind it is sent a SNAP of the restored tree.
   */
  private restoreApplied(txn: Txn): void {
    assert(txn.body.kind === 'restore', 'only a restore restores');
    // Origins stay: a write behind the restore finds its connection gone and answers nobody,
    // and a connection still waiting for its session is answered once that is created.
    this.front.closeAll('refused');
    this.applier.takeSnapshot();
    this.outbox.event({
      kind: 'restore',
      outcome: 'applied',
      token: txn.body.token,
      zxid: txn.zxid,
      via: undefined,
      reason: `${txn.body.nodes.length} nodes, ${txn.body.sessions.length} sessions`,
    });
  }

  /** The `transferLeadership` input: a leader begins, a serving learner asks its leader. */
  private transferLeadership(to: ServerId | undefined, timeoutMs: number): void {
    const report = (outcome: LeadershipTransferOutcome, reason: string) =>
      this.outbox.event({ kind: 'leadershipTransfer', outcome, successor: to, reason });
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      report('refused', 'a transfer needs a positive timeout');
      return;
    }
    if (this.role.kind === 'leading') {
      const refusal = this.role.leader.transferLeadership(to, timeoutMs);
      report(refusal === undefined ? 'started' : 'refused', refusal ?? 'the successor catches up');
      return;
    }
    // What a learner can see for itself it refuses here: the leader's refusal would not come back.
    if (to !== undefined && !this.quorum.voters.has(to)) {
      report('refused', `server ${to} is not a voter`);
      return;
    }
    const learner = this.learner;
    if (learner?.serving && learner.askTransfer(to, timeoutMs)) {
      report('forwarded', `asked leader ${learner.leaderId}`);
      return;
    }
    report('refused', 'this server is not serving: no leader to ask');
  }

  /** Moves a leader's transfer on at the end of a step; a hand-over makes this peer elect. */
  private stepTransfer(leader: LeaderRole): void {
    const step = leader.transferStep();
    if (step === undefined) return;
    switch (step.kind) {
      case 'timedOut':
        this.outbox.event({
          kind: 'leadershipTransfer',
          outcome: 'timedOut',
          successor: undefined,
          reason: step.reason,
        });
        return;
      case 'abandon':
        this.outbox.event({
          kind: 'leadershipTransfer',
          outcome: 'abandoned',
          successor: undefined,
          reason: step.reason,
        });
        this.lookForLeader(step.reason);
        return;
      case 'handOver':
        this.outbox.event({
          kind: 'leadershipTransfer',
          outcome: 'handedOver',
          successor: step.successor,
          reason: `every proposal through ${formatZxid(step.zxid)} committed and acknowledged by server ${step.successor}`,
        });
        this.lookForLeader(`handed leadership over to server ${step.successor}`, {
          leader: step.successor,
          zxid: step.zxid,
          peerEpoch: step.epoch,
        });
        return;
      default:
        assertNever(step, 'transfer step');
    }
  }

  private leave(): void {
    if (this.departure !== 'staying') return;
    this.departure = 'leaving';
    if (this.role.kind === 'leading') {
      this.role.leader.leave(); // stepAll retires it once its proposals have committed
      return;
    }
    this.retire('left the ensemble');
  }

  /** The peer has left: no role, no client, no election; every later input is ignored. */
  private retire(reason: string): void {
    assert(this.departure !== 'staying', 'only a leaving peer retires');
    this.departure = 'left';
    this.lastLookingReason = reason;
    // Learner syncs under way end with the role, and reads asked for by it answer nobody.
    if (this.role.kind === 'leading') this.role.leader.abandon(reason);
    else this.learner?.abandon(reason);
    this.pendingReads.clear();
    // A peer in read-only mode leaves it too: its read-only clients move to a member that stays.
    this.readOnly = undefined;
    this.front.closeAll('refused');
    this.applier.forgetOrigins();
    this.role = { kind: 'looking' };
  }

  // ---- durability ---------------------------------------------------------------------------

  private onPersisted(seq: number): void {
    if (!this.outbox.persisted(seq)) return;
    if (this.role.kind === 'leading') this.role.leader.persistedOwnLog();
    this.applier.applyCommitted();
  }

  private boundReached(bound: PeerBound): void {
    this.boundsReached = Object.freeze({ ...this.boundsReached, [bound]: this.boundsReached[bound] + 1 });
  }

  // ---- clients ------------------------------------------------------------------------------

  private request(connectionId: ConnectionId, xid: number, request: ClientRequest): void {
    const pending = this.front.pendingCount(connectionId);
    const max = this.options.requestsPendingPerSessionMax;
    assert(pending <= max, 'requests pending per session within their bound');
    if (pending === max) {
      // ZooKeeper closes a connection whose request it must drop, so that nothing after the
      // dropped request is answered out of order; the client resumes its session elsewhere.
      this.boundReached('requestsPendingPerSession');
      this.front.close(connectionId, 'refused');
      return;
    }
    this.front.request(connectionId, xid, request);
  }

  private revalidate(pending: PendingRevalidation): void {
    if (this.role.kind === 'leading') {
      this.admission.finishResume(pending, this.role.leader.revalidate(pending.sessionId));
      return;
    }
    const learner = this.learner;
    if (learner === undefined) return;
    if (learner.revalidationsPending >= this.options.revalidationsPendingMax) {
      this.boundReached('revalidationsPending');
      this.front.emit({ kind: 'close', connectionId: pending.connectionId, reason: 'refused' });
      return;
    }
    learner.revalidate(pending);
  }

  /** Whether a learner may forward one more request to its leader; counts the bound when not. */
  private roomToForward(learner: LearnerRole): boolean {
    const forwarded = this.applier.originsPending + learner.clientSyncsPending;
    const max = this.options.forwardedRequestsPendingMax;
    assert(forwarded <= max, 'forwarded requests within their bound');
    if (forwarded < max) return true;
    this.boundReached('forwardedRequestsPending');
    return false;
  }

  /** A write or session creation cannot be taken now: the client hears ThrottledOp, a new session a refusal. */
  private refuse(origin: TxnOrigin): void {
    if (origin.kind === 'client') {
      this.front.refused(origin.origin, ErrorCode.ThrottledOp);
      return;
    }
    this.front.close(origin.connectionId, 'refused');
  }

  private submitRequest(
    sessionId: SessionId,
    cxid: number,
    authInfo: WriteOrigin['authInfo'],
    request: PreparableRequest,
    origin: TxnOrigin,
  ): void {
    if (this.role.kind === 'leading') {
      const outcome = this.role.leader.submitLocal(sessionId, cxid, authInfo, request, origin);
      if (outcome === 'throttled') this.refuse(origin);
      // A leaving leader takes no new write: the client moves to another server and tries there.
      if (outcome === 'leaving')
        this.front.close(
          origin.kind === 'client' ? origin.origin.connectionId : origin.connectionId,
          'refused',
        );
      return;
    }
    const learner = this.learner;
    if (learner === undefined) return;
    if (!this.roomToForward(learner)) {
      this.refuse(origin);
      return;
    }
    learner.forward(sessionId, cxid, authInfo, request, origin);
  }

  /**
   * A client's reconfig. ZooKeeper answers ReconfigDisabled unless reconfigEnabled is set
   * (this server's setting, checked here and again by the leader); otherwise it goes to the
   * leader as a write does, which checks it and proposes the new configuration.
   */
  private reconfig(origin: WriteOrigin, request: ReconfigRequest): void {
    if (!this.options.reconfigEnabled) {
      this.front.refused(origin, ErrorCode.ReconfigDisabled);
      return;
    }
    if (this.readOnly !== undefined) {
      this.front.refused(origin, ErrorCode.NotReadOnly);
      return;
    }
    this.submitRequest(origin.sessionId, origin.xid, origin.authInfo, request, { kind: 'client', origin });
  }

  /** Where the client front hands writes, touches and syncs: to the current role. */
  private commitPath(): CommitPath {
    return {
      submit: (
        origin: WriteOrigin,
        request: WriteRequest | ReconfigRequest | { readonly op: 'closeSession' },
      ) => {
        if (request.op === 'reconfig') {
          this.reconfig(origin, request);
          return;
        }
        if (this.readOnly !== undefined) {
          // ZooKeeper's ReadOnlyRequestProcessor: every write is refused; a session made here
          // closes here.
          if (request.op !== 'closeSession') this.front.refused(origin, ErrorCode.NotReadOnly);
          else {
            this.readOnly.delete(origin.sessionId);
            this.front.closeLocalSession(origin);
          }
          return;
        }
        this.submitRequest(origin.sessionId, origin.xid, origin.authInfo, request, {
          kind: 'client',
          origin,
        });
      },
      touch: (sessionId: SessionId) => {
        if (this.readOnly !== undefined) {
          const session = this.readOnly.get(sessionId);
          if (session === undefined) return false;
          session.lastHeardMs = this.now;
          return true;
        }
        if (this.role.kind === 'leading') return this.role.leader.touch(sessionId);
        return this.learner?.touch(sessionId) ?? false;
      },
      sync: (origin: WriteOrigin) => {
        if (this.readOnly !== undefined) {
          this.front.refused(origin, ErrorCode.NotReadOnly);
          return;
        }
        if (this.role.kind === 'leading') {
          this.front.synced(origin);
          return;
        }
        const learner = this.learner;
        if (learner === undefined) return;
        if (!this.roomToForward(learner)) {
          this.front.refused(origin, ErrorCode.ThrottledOp);
          return;
        }
        learner.clientSync(origin);
      },
    };
  }
}

function emptyState(): PersistedState {
  return { epochs: { acceptedEpoch: 0, currentEpoch: 0 }, snapshot: undefined, log: [] };
}

const learnerKinds = new Set<PeerMessage['kind']>([
  'followerInfo',
  'ackEpoch',
  'ackNewLeader',
  'syncAck',
  'ack',
  'pingReply',
  'request',
  'clientSync',
  'revalidate',
  'transferLeadership',
]);

function isLearnerMessage(message: PeerMessage): message is LearnerMessage {
  return learnerKinds.has(message.kind);
}

function isLeaderMessage(message: PeerMessage): message is LeaderMessage {
  return message.kind !== 'notification' && !learnerKinds.has(message.kind);
}
