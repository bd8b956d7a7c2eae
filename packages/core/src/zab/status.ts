/**
 * What a peer tells its driver about itself: where it stands (`PeerStatus`), and the few
 * read-only views a driver needs for health answers and checkers, so that nothing outside
 * the core reaches into its tree, log or client front.
 */
import type { Zxid } from '../zxid.js';
import type { SyncFailure, SyncProgress } from './events.js';
import type { PeerRole, Vote } from './messages.js';
import type { BoundsReached } from './options.js';
import type { ServerId } from './quorum.js';

/** What a peer reports of itself: for drivers, health answers, logs and tests. */
export interface PeerStatus {
  readonly serverId: ServerId;
  readonly role: PeerRole;
  /** The leader this peer follows or is, once it serves; undefined while looking or syncing. */
  readonly leaderId: ServerId | undefined;
  /** True when clients can be served: the leader is established or the learner up to date. */
  readonly serving: boolean;
  /** True while the peer, cut off from its quorum, serves reads in read-only mode. */
  readonly readOnly: boolean;
  /** The epoch this peer has promised to follow (ZAB's acceptedEpoch). */
  readonly acceptedEpoch: number;
  /** The epoch of the last leader whose history this peer holds (ZAB's currentEpoch). */
  readonly currentEpoch: number;
  /** The zxid of the last transaction in the log, durable or not. */
  readonly lastLoggedZxid: Zxid;
  /** The highest zxid storage has confirmed durable. */
  readonly lastPersistedZxid: Zxid;
  /** The highest zxid known to be committed. */
  readonly lastCommittedZxid: Zxid;
  /** The zxid of the last transaction applied to the tree. */
  readonly lastAppliedZxid: Zxid;
  /** Why the peer last went looking for a leader ('starting' until it first does). */
  readonly lookingReason: string;
  /** The vote this peer proposes while looking, or the leader it settled on. */
  readonly vote: Vote;
  /** The round of Fast Leader Election this peer is in or last decided (its logical clock). */
  readonly electionRound: number;
  /** Client connections attached to a session here. */
  readonly connections: number;
  /** How often each bound on a queue was reached (see the `...Max` options). */
  readonly boundsReached: BoundsReached;
  /** Learner syncs under way: those a leader streams, or the one a learner takes. */
  readonly syncs: readonly SyncProgress[];
  /** The last learner sync that failed here, at either end, and why. */
  readonly lastSyncFailure: SyncFailure | undefined;
  /**
   * Whether the peer stays in its ensemble, is leaving it (after the `leave` input: a leader
   * letting its proposals commit) or has left.
   */
  readonly departure: 'staying' | 'leaving' | 'left';
}

/** What a replica holds, in numbers: for four-letter words and metrics. */
export interface ReplicaStats {
  /** Znodes in the tree, the root included. */
  readonly nodeCount: number;
  /** Bytes of znode data and paths, roughly, as ZooKeeper's approximate data size. */
  readonly approximateDataSize: number;
  /** Ephemeral znodes, over every owner. */
  readonly ephemeralCount: number;
  /** Data watches registered on this server: connections watching, paths watched, watches. */
  readonly watches: { readonly watchers: number; readonly paths: number; readonly watches: number };
  /** Data and child watch registrations together (ZooKeeper's watch_count). */
  readonly watchCount: number;
}

/** The sessions a replica's tree knows, and who owns its ephemerals. */
export interface SessionSummary {
  /** Every live session, with its negotiated timeout in ms. */
  readonly sessions: ReadonlyMap<bigint, number>;
  /** Ephemeral znodes by owner, sorted; an owner that is not a live session would be a bug. */
  readonly ephemeralsByOwner: ReadonlyMap<bigint, readonly string[]>;
}

/** Called per follower with `LearnerView`'s lagTxns and oldestUnacknowledgedAgeMs. */
export type FollowerLagVisitor = (
  serverId: ServerId,
  lagTxns: number,
  oldestUnacknowledgedAgeMs: number,
) => void;

/** A learner as its leader sees it: for metrics, admin commands and dashboards. */
export interface LearnerView {
  readonly serverId: ServerId;
  /** An observer (no vote) rather than a follower. */
  readonly observer: boolean;
  /**
   * A voter in the configuration in force (or one proposed). False for an observer, and for a
   * follower outside the membership: a server started to be added by a reconfig syncs and
   * follows before it is a member (ZooKeeper's non-voting follower), never counted in a quorum.
   */
  readonly voting: boolean;
  /** Synchronised and acknowledged NEWLEADER: it follows the broadcast. */
  readonly synced: boolean;
  /** The highest zxid it acknowledged as durable (a follower; an observer acknowledges none). */
  readonly ackedZxid: Zxid;
  /** When the leader last heard from it, on the peer's clock. */
  readonly lastHeardMs: number;
  /** Transactions proposed to it and not yet acknowledged: how far a follower lags (0 for an observer). */
  readonly lagTxns: number;
  /** The bytes of those transactions (`txnBytes`); at most `learnerLagBytesMax`. */
  readonly lagBytes: number;
  /** How long ago (at the peer's last step) the oldest of them was sent; 0 when it lags by none. */
  readonly oldestUnacknowledgedAgeMs: number;
}
