/**
 * A peer's ZAB options: its ensemble, time limits, snapshots, batching, and a named bound on
 * every queue the peer keeps. Each bound is validated here, up front, and asserted where it
 * is used; a peer that reaches one behaves as ZooKeeper does (refuses the request with
 * ThrottledOp, closes the connection, drops the learner) and counts it in `status()`.
 */
import type { EnsembleConfig } from '../ensemble-config.js';
import type { Txn } from '../txn.js';
import type { ServerId } from './quorum.js';

/** The ZAB options of a peer: ensemble, time limits, snapshots, batching, bounds. */
export interface PeerOptions {
  readonly serverId: ServerId;
  readonly voters: readonly ServerId[];
  readonly observers?: readonly ServerId[];
  /** Ticks a learner has to connect to and sync with its leader (ZooKeeper's initLimit). */
  readonly initLimitTicks?: number;
  /** Ticks a learner may fall silent before the leader drops it, and vice versa (syncLimit). */
  readonly syncLimitTicks?: number;
  /** How long a quorum's agreement must stand before an election decides. */
  readonly electionFinalizeWaitMs?: number;
  /** How often a looking peer sends its vote again. */
  readonly electionResendIntervalMs?: number;
  /**
   * Take a snapshot after between snapCount/2 and snapCount applied transactions, the point
   * drawn afresh after each snapshot (ZooKeeper's snapCount and its randomised roll), so the
   * replicas of an ensemble do not all snapshot at once.
   */
  readonly snapCount?: number;
  /**
   * Where the snapshot points fall between snapCount/2 and snapCount: the core has no
   * randomness of its own, so the driver draws this number at random (the simulator from its
   * seed). The same number gives the same points. Default: the server id.
   */
  readonly snapshotRandomSeed?: number;
  /**
   * About how many bytes one chunk of a learner sync's stream carries (1 MiB): snapshot nodes
   * or transactions, whole, so a single larger one travels alone. No sync message grows with
   * the state.
   */
  readonly syncChunkBytes?: number;
  /**
   * Most bytes of a learner sync a leader has sent and the learner has not yet acknowledged
   * as durable (8 MiB): the flow-control window. With `syncChunkBytes` it bounds what one sync
   * holds in memory on either side, whatever the size of the state.
   */
  readonly syncWindowBytes?: number;
  /**
   * Ticks a learner sync's stream may make no progress (nothing of it reaching the learner:
   * no chunk, no bytes of one on its way; no credit reaching the leader, nor word of such
   * bytes) before the side waiting gives up, says why and starts over (default initLimitTicks,
   * as ZooKeeper bounds each read of a sync by initLimit, not each packet).
   */
  readonly syncStallLimitTicks?: number;
  /**
   * Most bytes of proposals a leader has sent a follower and the follower has not yet
   * acknowledged (64 MiB, as the TCP transport's queue per peer). A follower beyond it is
   * slower than the writes and would hold ever more of the leader's memory: it is dropped and
   * syncs again, as is one whose oldest unacknowledged proposal is older than syncLimit
   * (ZooKeeper's "Closing connection to peer due to transaction timeout").
   */
  readonly learnerLagBytesMax?: number;
  /** Most transactions in one PROPOSAL message. */
  readonly proposalBatchMax?: number;
  /**
   * Largest zxid counter a leader uses before forcing a new election, 2^32 - 1 normally;
   * lowered in tests to exercise the rollover.
   */
  readonly zxidCounterLimit?: number;
  /**
   * Most requests one session's connection may have waiting for their answer (1000). One more
   * closes the connection, as ZooKeeper closes a connection whose request it had to drop: the
   * client reconnects with its session and learns the outcome of what was outstanding.
   */
  readonly requestsPendingPerSessionMax?: number;
  /**
   * Most proposals a leader has made and not yet applied (10,000). A local client's write
   * beyond it is refused with ThrottledOp; a learner forwarding one is dropped (it connects
   * again); session expiry and container collection wait for room.
   */
  readonly proposalsInFlightMax?: number;
  /**
   * Most learners a leader is synchronising at once, sent their DIFF, TRUNC or SNAP and not yet
   * acknowledging NEWLEADER (10, ZooKeeper's maxConcurrentSnapSyncs). A learner beyond it is
   * dropped and connects again. At least half the voters (rounded down), so a quorum can sync.
   */
  readonly learnerSyncsPendingMax?: number;
  /**
   * Most writes, session creations and client syncs a learner has forwarded to its leader and
   * not yet seen answered (10,000). A client's request beyond it is refused with ThrottledOp;
   * a new session is refused (the client tries again).
   */
  readonly forwardedRequestsPendingMax?: number;
  /**
   * Most resumed sessions a learner is waiting for its leader to vouch for (1000). A client
   * resuming beyond it is refused and tries again.
   */
  readonly revalidationsPendingMax?: number;
  /**
   * Whether clients may change the membership with `reconfig` (ZooKeeper's reconfigEnabled,
   * false by default: a reconfig is then answered ReconfigDisabled).
   */
  readonly reconfigEnabled?: boolean;
  /**
   * ZooKeeper's `skipACL=yes` as it bears on reconfig: the leader does not check WRITE on
   * /zookeeper/config (ZooKeeper skips every ACL check then; zabkit only this one). Default false.
   */
  readonly reconfigSkipsAcl?: boolean;
  /** Told of every transaction this peer applies, in order: for checkers and tools. */
  readonly onApplied?: (txn: Txn) => void;
  /**
   * The membership `/zookeeper/config` shows, as ZooKeeper keeps it in an ensemble (the
   * server.N lines and version=); unset, the node stays empty, as a standalone ZooKeeper's.
   */
  readonly ensembleConfig?: EnsembleConfig;
  /**
   * A reconfig's configuration the driver kept as proposed and not yet committed (a server's
   * `zoo.cfg.dynamic.next`, ZooKeeper's last seen quorum verifier at start). The log may
   * lack it: the file is written as the proposal arrives, before it is durable. It counts as
   * proposed (decisions need its quorum too) when it is beyond everything the log holds,
   * until the log passes its zxid without it or a configuration as new takes effect; at or
   * below the log's end it is ignored (the log's own proposal is the one, or it was truncated).
   */
  readonly proposedEnsembleConfig?: EnsembleConfig;
}

/** Peer options with every default filled in. */
export type ResolvedPeerOptions = Required<
  Omit<PeerOptions, 'observers' | 'onApplied' | 'ensembleConfig' | 'proposedEnsembleConfig'>
> & {
  readonly observers: readonly ServerId[];
  readonly ensembleConfig: EnsembleConfig | undefined;
  readonly proposedEnsembleConfig: EnsembleConfig | undefined;
};

/** The queues a peer bounds: each has a `...Max` option, and `status()` counts how often it was full. */
export type PeerBound =
  | 'requestsPendingPerSession'
  | 'proposalsInFlight'
  | 'learnerSyncsPending'
  | 'learnerLagBytes'
  | 'forwardedRequestsPending'
  | 'revalidationsPending';

/** How often each bound was reached since the peer started. */
export type BoundsReached = { readonly [bound in PeerBound]: number };

/** No bound reached yet. */
export function noBoundsReached(): { [bound in PeerBound]: number } {
  return {
    requestsPendingPerSession: 0,
    proposalsInFlight: 0,
    learnerSyncsPending: 0,
    learnerLagBytes: 0,
    forwardedRequestsPending: 0,
    revalidationsPending: 0,
  };
}

/** Fills in defaults and checks the options; throws RangeError naming everything wrong. */
export function resolvePeerOptions(options: PeerOptions): ResolvedPeerOptions {
  const resolved: ResolvedPeerOptions = {
    serverId: options.serverId,
    voters: options.voters,
    observers: options.observers ?? [],
    initLimitTicks: options.initLimitTicks ?? 10,
    syncLimitTicks: options.syncLimitTicks ?? 5,
    electionFinalizeWaitMs: options.electionFinalizeWaitMs ?? 200,
    electionResendIntervalMs: options.electionResendIntervalMs ?? 200,
    snapCount: options.snapCount ?? 100_000,
    snapshotRandomSeed: options.snapshotRandomSeed ?? options.serverId,
    syncChunkBytes: options.syncChunkBytes ?? 1024 * 1024,
    syncWindowBytes: options.syncWindowBytes ?? 8 * 1024 * 1024,
    syncStallLimitTicks: options.syncStallLimitTicks ?? options.initLimitTicks ?? 10,
    learnerLagBytesMax: options.learnerLagBytesMax ?? 64 * 1024 * 1024,
    proposalBatchMax: options.proposalBatchMax ?? 1000,
    zxidCounterLimit: options.zxidCounterLimit ?? 0xffff_ffff,
    requestsPendingPerSessionMax: options.requestsPendingPerSessionMax ?? 1000,
    proposalsInFlightMax: options.proposalsInFlightMax ?? 10_000,
    learnerSyncsPendingMax: options.learnerSyncsPendingMax ?? 10,
    forwardedRequestsPendingMax: options.forwardedRequestsPendingMax ?? 10_000,
    revalidationsPendingMax: options.revalidationsPendingMax ?? 1000,
    reconfigEnabled: options.reconfigEnabled ?? false,
    reconfigSkipsAcl: options.reconfigSkipsAcl ?? false,
    ensembleConfig: options.ensembleConfig,
    proposedEnsembleConfig: options.proposedEnsembleConfig,
  };
  const problems: string[] = [];
  if (!resolved.voters.includes(resolved.serverId) && !resolved.observers.includes(resolved.serverId)) {
    problems.push(`server ${resolved.serverId} is neither a voter nor an observer`);
  }
  const positive = [
    'initLimitTicks',
    'syncLimitTicks',
    'snapCount',
    'syncChunkBytes',
    'syncWindowBytes',
    'syncStallLimitTicks',
    'learnerLagBytesMax',
    'proposalBatchMax',
    'requestsPendingPerSessionMax',
    'proposalsInFlightMax',
    'learnerSyncsPendingMax',
    'forwardedRequestsPendingMax',
    'revalidationsPendingMax',
  ] as const;
  for (const key of positive) {
    if (!(resolved[key] > 0)) problems.push(`${key} must be positive`);
  }
  if (!Number.isInteger(resolved.snapshotRandomSeed)) problems.push('snapshotRandomSeed must be an integer');
  const quorumLearners = Math.floor(resolved.voters.length / 2);
  if (resolved.learnerSyncsPendingMax < quorumLearners) {
    problems.push(`learnerSyncsPendingMax must be at least ${quorumLearners}, or no quorum could sync`);
  }
  if (resolved.syncWindowBytes < resolved.syncChunkBytes)
    problems.push('syncWindowBytes must be at least syncChunkBytes');
  if (problems.length > 0) throw new RangeError(`invalid peer options: ${problems.join('; ')}`);
  return resolved;
}
