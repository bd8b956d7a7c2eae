/**
 * What a peer reports happened, for its driver to log: plain data in the Ready, so the core
 * stays free of I/O and a test can assert on it. Learner syncs are reported at both ends:
 * started, finished (with their size and duration) or failed (with the reason).
 */
import type { Zxid } from '../zxid.js';
import type { LearnerSyncMode, PeerMessage } from './messages.js';
import type { ServerId } from './quorum.js';

/** Which end of a learner sync a peer is: the leader streaming it, or the learner taking it. */
export type SyncSide = 'leader' | 'learner';

/** How far a learner sync has gone: its size so far and when it started. */
export interface SyncProgress {
  readonly side: SyncSide;
  /** The other end: the learner the leader syncs, or the leader the learner follows. */
  readonly peer: ServerId;
  readonly mode: LearnerSyncMode;
  /** For a SNAP, the zxid of the snapshot streamed. */
  readonly snapshotZxid: Zxid | undefined;
  /** Chunks sent (leader) or taken (learner) so far. */
  readonly chunks: number;
  /** Bytes of nodes and transactions in those chunks, as `snapshotNodeBytes` and `txnBytes` count them. */
  readonly bytes: number;
  /** Bytes the leader has sent that the learner has not yet acknowledged (0 on the learner). */
  readonly unacknowledgedBytes: number;
  /** Transactions of the leader's log the stream has yet to send (0 on the learner). */
  readonly behindTxns: number;
  readonly startedMs: number;
}

/** Something a peer did that an operator would want in the log. */
export type PeerEvent =
  | ({ readonly kind: 'syncStarted' } & SyncProgress)
  | ({ readonly kind: 'syncFinished'; readonly durationMs: number; readonly lastZxid: Zxid } & SyncProgress)
  | ({ readonly kind: 'syncFailed'; readonly durationMs: number; readonly reason: string } & SyncProgress)
  /**
   * A peer sent a message no correct peer sends (zxids out of order, of a later epoch than
   * the message, ...): it was refused before any role saw it, and the relation with that
   * peer ended as if its link had broken.
   */
  | {
      readonly kind: 'peerMessageRefused';
      readonly peer: ServerId;
      readonly message: PeerMessage['kind'];
      readonly reason: string;
    }
  /** A restarted peer found a snapshot staged by a sync that never finished, and drops it. */
  | { readonly kind: 'incompleteSnapshotsDiscarded'; readonly zxids: readonly Zxid[] }
  /**
   * A snapshot fell due at `zxid` while the one before it is still being written: it is taken
   * once that one is out of the tree, at the next transaction applied (ZooKeeper skips it:
   * "Too busy to snap"). The log keeps everything meanwhile.
   */
  | { readonly kind: 'snapshotDeferred'; readonly zxid: Zxid }
  /**
   * A leader dropped a follower that fell too far behind the proposals (by `lagBytes`, or a
   * proposal unacknowledged for syncLimit): it connects again and syncs.
   */
  | {
      readonly kind: 'learnerDropped';
      readonly peer: ServerId;
      readonly lagTxns: number;
      readonly lagBytes: number;
      readonly oldestUnacknowledgedAgeMs: number;
      readonly reason: string;
    }
  /**
   * How a restore went here: `forwarded` to the leader (asked of a learner), `proposed` by
   * the leader at `zxid`, `refused` (why in `reason`; a refusal on the leader of a restore a
   * learner forwarded is not sent back: the learner's server times out), `applied` at `zxid`
   * (on every replica: its clients were disconnected).
   */
  | {
      readonly kind: 'restore';
      readonly outcome: 'forwarded' | 'proposed' | 'refused' | 'applied';
      readonly token: string;
      readonly zxid: Zxid | undefined;
      /** The learner that forwarded it, on the leader. */
      readonly via: ServerId | undefined;
      readonly reason: string;
    }
  /** How a leadership transfer asked of this peer (the `transferLeadership` input) went. */
  | {
      readonly kind: 'leadershipTransfer';
      readonly outcome: LeadershipTransferOutcome;
      /** The server it hands over to, once chosen. */
      readonly successor: ServerId | undefined;
      readonly reason: string;
    };

/**
 * A leadership transfer's steps and ends: `started` (the leader waits for its successor to
 * catch up), `forwarded` (a learner asked its leader), `handedOver` (the leader stepped down
 * for its successor), `refused` (it could not begin: not serving, no such voter, a reconfig
 * or a transfer in progress...), `timedOut` (the successor did not catch up in time: the
 * leader leads on), `abandoned` (the leader had stopped proposing but could not finish: it
 * stepped down without a successor, and the ensemble elects as usual).
 */
export type LeadershipTransferOutcome =
  | 'started'
  | 'forwarded'
  | 'handedOver'
  | 'refused'
  | 'timedOut'
  | 'abandoned';

/** A learner sync that failed, as `status()` keeps the last one. */
export interface SyncFailure {
  readonly side: SyncSide;
  readonly peer: ServerId;
  readonly mode: LearnerSyncMode;
  readonly reason: string;
  readonly atMs: number;
}
