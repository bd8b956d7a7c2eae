/**
 * The messages ZAB peers exchange. These are zabkit's own: nothing needs to interoperate
 * with Java ZooKeeper peers, only the semantics must match. Every message after election
 * carries the epoch it belongs to, so a peer can drop what an older leader sent.
 */
import type { Id } from '../acl.js';
import type { PreparableRequest } from '../prep/preparer.js';
import type { SnapshotNode } from '../tree/data-tree.js';
import type { SessionId, Txn } from '../txn.js';
import type { Zxid } from '../zxid.js';
import type { ServerId } from './quorum.js';

/** Where a peer stands: looking for a leader, following, leading or observing. */
export type PeerRole = 'looking' | 'following' | 'leading' | 'observing';

/** A vote in Fast Leader Election: ordered by (peerEpoch, zxid, leader). */
export interface Vote {
  readonly leader: ServerId;
  readonly zxid: Zxid;
  readonly peerEpoch: number;
}

/** A Fast Leader Election notification. */
export type ElectionMessage = {
  readonly kind: 'notification';
  readonly vote: Vote;
  /** The sender's logical clock: which round of elections it is in. */
  readonly electionEpoch: number;
  readonly state: PeerRole;
};

/**
 * How a leader brings a learner's log in line with its own (ZAB's synchronisation phase),
 * as ZooKeeper names the modes. Not to be confused with a client's `sync` operation.
 */
export type LearnerSyncMode = 'diff' | 'trunc' | 'snap';

/** How a leadership transfer asked through a learner ended at the leader, short of a hand-over. */
export type RelayedTransferOutcome = 'refused' | 'timedOut' | 'abandoned';

/** What a follower or observer sends its leader. */
export type LearnerMessage =
  | {
      readonly kind: 'followerInfo';
      readonly acceptedEpoch: number;
      readonly observer: boolean;
      /**
       * Names this attempt to follow (resends repeat it): a late duplicate from an attempt
       * the leader already took in must not reset a learner that is serving.
       */
      readonly attempt: number;
    }
  | {
      readonly kind: 'ackEpoch';
      readonly epoch: number;
      readonly currentEpoch: number;
      readonly lastZxid: Zxid;
      /**
       * True when this LEADERINFO raised the learner's acceptedEpoch to `epoch`: a promise
       * made to this leader alone. False when the learner had promised `epoch` already,
       * perhaps to another would-be leader of it (ZooKeeper's ACKEPOCH with currentEpoch -1):
       * such an ack must not count toward the quorum that lets a leader synchronise.
       */
      readonly promisedNow: boolean;
    }
  /**
   * The learner has logged all NEWLEADER said, in the attempt to follow its followerInfo
   * named: an ack that arrives late from an earlier attempt acknowledges nothing now.
   */
  | { readonly kind: 'ackNewLeader'; readonly epoch: number; readonly attempt: number }
  /**
   * Credit for a learner sync's stream: every chunk through `seq` is taken and durable here,
   * so the leader may send more. Cumulative, and repeated while the stream lasts (from its
   * start, `seq` 0 before any chunk is durable), so a lost one costs nothing.
   */
  | {
      readonly kind: 'syncAck';
      readonly epoch: number;
      readonly seq: number;
      /**
       * A count that grows while the stream arrives here: each chunk taken, and each report
       * from the transport that bytes of one still on its way came in. Over a slow link a chunk
       * may take longer than the stall limit to arrive whole: the leader counts its stream as
       * moving while this grows, so the sync is as slow as the link and no slower.
       */
      readonly arrivals: number;
    }
  /** Acknowledges every proposal up to and including `zxid`: all are durable on the learner. */
  | { readonly kind: 'ack'; readonly epoch: number; readonly zxid: Zxid }
  /** Answers a ping with the sessions the learner's clients kept alive since the last one. */
  | {
      readonly kind: 'pingReply';
      readonly epoch: number;
      readonly touches: readonly SessionId[];
      /**
       * The `seq` of the last request or client sync the learner forwarded (0 for none). The
       * link is FIFO, so a leader that has not seen it knows one was lost, even when nothing
       * is forwarded after it.
       */
      readonly forwardedSeq: number;
    }
  /** A write (or session change) a client sent to the learner, forwarded for preparation. */
  | {
      readonly kind: 'request';
      readonly epoch: number;
      /** Numbers forwarded requests and client syncs within an attempt: 1, 2, 3... See `forwardSeq`. */
      readonly seq: number;
      readonly sessionId: SessionId;
      readonly cxid: number;
      readonly authInfo: readonly Id[];
      readonly request: PreparableRequest;
    }
  /** A client's `sync`, forwarded: the leader answers with the last zxid it proposed. */
  | {
      readonly kind: 'clientSync';
      readonly epoch: number;
      readonly seq: number;
      readonly sessionId: SessionId;
      readonly cxid: number;
    }
  | {
      readonly kind: 'revalidate';
      readonly epoch: number;
      readonly sessionId: SessionId;
      readonly connectionId: number;
    }
  /**
   * Asks the leader to hand leadership over (the embedding API's transferLeadership, called
   * on a learner): to server `to`, or to the most up-to-date synced voter when `to` is -1.
   */
  | {
      readonly kind: 'transferLeadership';
      readonly epoch: number;
      readonly to: ServerId | -1;
      /** How long the leader may take (catching the successor up, then draining). */
      readonly timeoutMs: number;
    };

/** What a leader sends its learners. */
export type LeaderMessage =
  | { readonly kind: 'leaderInfo'; readonly epoch: number }
  /**
   * Starts bringing a learner's log in line with the leader's (DIFF, TRUNC or SNAP). A stream
   * of chunks follows, numbered 1, 2, 3... (for a SNAP the snapshot's, then transactions),
   * each bounded in size and sent only as the learner's `syncAck`s give credit; NEWLEADER
   * comes once the stream has reached the end of the leader's log.
   */
  | {
      readonly kind: 'syncBegin';
      readonly epoch: number;
      /** The learner's attempt to follow this sync answers (its followerInfo's). */
      readonly attempt: number;
      readonly mode: LearnerSyncMode;
      /** For 'trunc': drop every entry after this zxid first. */
      readonly truncateTo: Zxid | undefined;
      /** For 'snap': the zxid of the snapshot that replaces the learner's state. */
      readonly snapshotZxid: Zxid | undefined;
    }
  /** A piece of a SNAP's snapshot, in snapshot order (parents before children). */
  | {
      readonly kind: 'syncSnapshotChunk';
      readonly epoch: number;
      readonly attempt: number;
      readonly seq: number;
      readonly nodes: readonly SnapshotNode[];
      /**
       * Global sessions with their timeouts, a chunk's worth at most: they come first, in as
       * many chunks as they take (those carry no nodes and are not staged).
       */
      readonly sessions: readonly (readonly [SessionId, number])[];
      /** This chunk ends the snapshot: transactions follow, if any. */
      readonly last: boolean;
    }
  /** Transactions of a learner sync, after the truncation or snapshot, in zxid order. */
  | {
      readonly kind: 'syncTxns';
      readonly epoch: number;
      readonly attempt: number;
      readonly seq: number;
      readonly txns: readonly Txn[];
    }
  /**
   * Follows the learner sync's stream: the learner must now hold exactly up to `lastZxid`. It
   * checks, because a lost piece of the sync must never be acknowledged as a history held.
   */
  | {
      readonly kind: 'newLeader';
      readonly epoch: number;
      readonly attempt: number;
      readonly lastZxid: Zxid;
      /**
       * The ensemble's session secret, which the learner adopts and keeps: any member can then
       * check the password of a session created on another.
       */
      readonly sessionSecret: Uint8Array;
    }
  /** The learner may serve: everything up to `commitZxid` is committed. */
  | { readonly kind: 'upToDate'; readonly epoch: number; readonly commitZxid: Zxid }
  | { readonly kind: 'proposal'; readonly epoch: number; readonly txns: readonly Txn[] }
  /** Everything up to and including `zxid` is committed. */
  | { readonly kind: 'commit'; readonly epoch: number; readonly zxid: Zxid }
  /** For observers: committed transactions, proposal and commit in one. */
  | { readonly kind: 'inform'; readonly epoch: number; readonly txns: readonly Txn[] }
  /**
   * Keeps the learner's leader alive, and says what the leader has sent it so far, so that a
   * lost last PROPOSAL, INFORM or COMMIT is found without waiting for the next write.
   */
  | {
      readonly kind: 'ping';
      readonly epoch: number;
      /** The last transaction sent to this learner: proposed (to a follower) or informed (to an observer). */
      readonly sentThroughZxid: Zxid;
      /** Everything up to and including this zxid is committed. */
      readonly commitZxid: Zxid;
    }
  /**
   * The leader is leaving the ensemble, every proposal it made committed (the COMMITs went
   * before this on the same link): elect a new leader now rather than wait for syncLimit.
   */
  | { readonly kind: 'leaderLeaving'; readonly epoch: number }
  /**
   * The leader steps down for `successor`, which has acknowledged everything it proposed,
   * through `zxid` (every proposal committed, the COMMITs before this on the same link):
   * elect at once, voting for the successor, which wins the ballot's ties for a while.
   */
  | {
      readonly kind: 'leadershipTransfer';
      readonly epoch: number;
      readonly successor: ServerId;
      readonly zxid: Zxid;
    }
  /**
   * How a transfer a learner asked for (its `transferLeadership`) ended at the leader when it
   * did not hand over: refused at once, or timed out or abandoned later. Only the learner that
   * asked is told; a hand-over it sees as `leadershipTransfer`.
   */
  | {
      readonly kind: 'transferOutcome';
      readonly epoch: number;
      readonly outcome: RelayedTransferOutcome;
      readonly reason: string;
    }
  /** Answers a forwarded client sync: the client's server applies up to `zxid`, then replies. */
  | {
      readonly kind: 'clientSyncReply';
      readonly epoch: number;
      readonly sessionId: SessionId;
      readonly cxid: number;
      readonly zxid: Zxid;
    }
  | {
      readonly kind: 'revalidateReply';
      readonly epoch: number;
      readonly sessionId: SessionId;
      readonly connectionId: number;
      readonly valid: boolean;
    };

/**
 * The sender's configuration in force (a reconfig's, version > 0), sent to a peer that is
 * electing, as ZooKeeper's notifications carry the sender's config: a peer that missed a
 * reconfig learns the voters it must hear from, and adopts the configuration if it is newer.
 */
export type ConfigMessage = { readonly kind: 'configNotice'; readonly config: string };

/** Every message between peers. */
export type PeerMessage = ElectionMessage | LearnerMessage | LeaderMessage | ConfigMessage;

/** A message to or from a peer. */
export interface Envelope {
  readonly from: ServerId;
  readonly to: ServerId;
  readonly message: PeerMessage;
}
