/**
 * What an embedded peer announces: role changes (looking, following, leading, observing),
 * leader changes, sync state (synced, lagging, unsynced), the membership in force, a fatal
 * error, and its close. Each
 * is an event of its own and a `change` event besides, and `peer.changes()` iterates them.
 *
 * @module
 */
import type { PeerFatalError } from '../fatal.js';
import type { JoinChange } from './join.js';
import type { MembershipView } from './membership.js';

export type { JoinChange } from './join.js';

import type { EmbeddedPeerRole, SyncState } from './status.js';

/** The peer took up another role. */
export interface RoleChange {
  readonly kind: 'role';
  readonly role: EmbeddedPeerRole;
  readonly previous: EmbeddedPeerRole;
}

/** The leader this peer serves under changed (undefined: none while it is not serving). */
export interface LeaderChange {
  readonly kind: 'leader';
  readonly leaderId: number | undefined;
  readonly previous: number | undefined;
}

/** The peer became synced, started lagging, or stopped serving. */
export interface SyncChange {
  readonly kind: 'sync';
  readonly state: SyncState;
  readonly previous: SyncState;
  /** Transactions logged here and not yet applied, when the state changed. */
  readonly lagTxns: number;
}

/** The peer stopped for good: its storage failed or it broke an invariant. */
export interface FatalChange {
  readonly kind: 'fatal';
  readonly error: PeerFatalError;
}

/**
 * The membership in force here changed: a reconfig committed, or this peer learned a newer
 * configuration while electing or syncing.
 */
export interface MembershipChange {
  readonly kind: 'membership';
  /** The configuration now in force. */
  readonly membership: MembershipView;
  /** The version of the one before it (undefined when the peer had none). */
  readonly previousVersion: bigint | undefined;
}

/** How a peer left when closed: see `PeerDriver.leave`; `failed` when it had stopped for good already. */
export type Departure = 'handedOver' | 'left' | 'timedOut' | 'failed';

/** The peer was closed; nothing follows. */
export interface ClosedChange {
  readonly kind: 'closed';
  /** Whether it handed leadership over, left as a follower, timed out or had already failed. */
  readonly departure: Departure;
}

/** Anything an embedded peer announces. */
export type PeerChange =
  | RoleChange
  | LeaderChange
  | SyncChange
  | MembershipChange
  | JoinChange
  | FatalChange
  | ClosedChange;

/** The events of an embedded peer, for `peer.on(...)`, `events.on` and `events.once`. */
export interface PeerChangeEvents {
  /** Every change below, as one stream. */
  change: [PeerChange];
  role: [RoleChange];
  leader: [LeaderChange];
  sync: [SyncChange];
  membership: [MembershipChange];
  join: [JoinChange];
  fatal: [PeerFatalError];
  closed: [];
}

/** Thrown by a `peer.changes()` iterator whose consumer fell more than `bufferMax` changes behind. */
export class ChangesOverflowError extends Error {
  override readonly name = 'ChangesOverflowError';
}

/**
 * A bounded async iterator of changes: it buffers up to `bufferMax` of them for a slow
 * consumer and then fails with ChangesOverflowError rather than grow or drop one unseen. It
 * ends after `closed`.
 */
export class ChangeStream implements AsyncIterableIterator<PeerChange> {
  private readonly buffer: PeerChange[] = [];
  private waiting: ((result: IteratorResult<PeerChange>) => void) | undefined;
  private done = false;
  private overflowed = false;

  constructor(
    private readonly bufferMax: number,
    private readonly unsubscribe: () => void,
  ) {
    if (!Number.isInteger(bufferMax) || bufferMax < 1)
      throw new RangeError('bufferMax must be a positive integer');
  }

  /** Takes one change in; called by the peer. */
  push(change: PeerChange): void {
    if (this.done) return;
    if (change.kind === 'closed') this.unsubscribe();
    if (this.waiting !== undefined) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: change, done: false });
      if (change.kind === 'closed') this.done = true;
      return;
    }
    if (this.buffer.length >= this.bufferMax) {
      this.overflowed = true;
      this.unsubscribe();
      return;
    }
    this.buffer.push(change);
  }

  next(): Promise<IteratorResult<PeerChange>> {
    const change = this.buffer.shift();
    if (change !== undefined) {
      if (change.kind === 'closed' && this.buffer.length === 0) this.finish();
      return Promise.resolve({ value: change, done: false });
    }
    if (this.overflowed) {
      this.finish();
      return Promise.reject(
        new ChangesOverflowError(`the consumer fell more than ${this.bufferMax} peer changes behind`),
      );
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    // Only an empty buffer makes a consumer wait, and only a full one overflows.
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<PeerChange>> {
    this.finish();
    this.waiting?.({ value: undefined, done: true });
    this.waiting = undefined;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<PeerChange> {
    return this;
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.buffer.length = 0;
    this.unsubscribe();
  }
}
