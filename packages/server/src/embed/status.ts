/**
 * What an embedded peer says of itself for a health endpoint: its role and leader, how far
 * it has applied and how far behind it is, its sessions and the last thing that went wrong,
 * read off the running peer in one call, without parsing four-letter words.
 *
 * @module
 */
import { counterOf, epochOf, type PeerRole, type PeerStatus, type Zxid } from '@zabkit/core';
import type { PeerFatalError } from '../fatal.js';

/** Where a peer stands with its leader's history. */
export type SyncState =
  /** Not serving: looking for a leader, or joined and still synchronising. */
  | 'unsynced'
  /** Serving, with at most `lagTxnsMax` transactions logged here and not yet applied. */
  | 'synced'
  /** Serving, but more than `lagTxnsMax` transactions behind what it has logged. */
  | 'lagging';

/** An embedded peer's role: ZAB's four, or `stopped` once it was closed or failed for good. */
export type EmbeddedPeerRole = PeerRole | 'stopped';

/** A snapshot of an embedded peer for health endpoints. */
export interface PeerHealth {
  /** This peer's server id. */
  readonly id: number;
  /** What it is doing now. */
  readonly role: EmbeddedPeerRole;
  /** The leader it follows or is, while it serves. */
  readonly leaderId: number | undefined;
  /** True when it answers clients (joined and synced with an established leader). */
  readonly serving: boolean;
  /** Synced, lagging or not synced at all. */
  readonly sync: SyncState;
  /** The epoch of the leader whose history it holds. */
  readonly epoch: number;
  /** The last transaction applied to its tree (what its reads see). */
  readonly zxid: Zxid;
  /** The highest zxid it knows committed. */
  readonly committedZxid: Zxid;
  /** The last transaction in its log. */
  readonly loggedZxid: Zxid;
  /** Transactions logged here and not yet applied: how far its reads trail its log. */
  readonly lagTxns: number;
  /** Live sessions in the ensemble's tree, as this replica has applied it. */
  readonly sessions: number;
  /** Client connections attached here, in process and over TCP. */
  readonly connections: number;
  /** Why it last went looking for a leader. */
  readonly lookingReason: string;
  /** The error it stopped with for good, if it did; then `role` is `stopped`. */
  readonly fatal: PeerFatalError | undefined;
  /** The last error worth a health check's attention: the fatal one, else the last logged at error level. */
  readonly lastError: string | undefined;
}

/** Transactions between `applied` and `logged`: exact within an epoch, the new epoch's count across one. */
export function lagBetween(applied: Zxid, logged: Zxid): number {
  if (logged <= applied) return 0;
  return epochOf(logged) === epochOf(applied) ? counterOf(logged) - counterOf(applied) : counterOf(logged);
}

/** The sync state a peer status stands for. */
export function syncStateOf(status: PeerStatus, lagTxnsMax: number): SyncState {
  if (!status.serving) return 'unsynced';
  return lagBetween(status.lastAppliedZxid, status.lastLoggedZxid) > lagTxnsMax ? 'lagging' : 'synced';
}
