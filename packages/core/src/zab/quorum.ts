/**
 * Who makes a quorum. A verifier of its own so that weighted or hierarchical quorums can
 * replace the majority rule without touching the protocol code.
 */
import { assert } from '../errors.js';

import type { Zxid } from '../zxid.js';

/** A server's id in the ensemble (the myid). */
export type ServerId = number;

/** Decides whether a set of servers is a quorum. */
export interface QuorumVerifier {
  /** Servers that vote in elections and whose acks count. */
  readonly voters: ReadonlySet<ServerId>;
  /** Servers that follow the leader without voting. */
  readonly observers: ReadonlySet<ServerId>;
  /** True when `ids` (voters among them count, others are ignored) form a quorum. */
  containsQuorum(ids: Iterable<ServerId>): boolean;
  /**
   * The highest zxid that a quorum has acknowledged, given each server's highest acknowledged
   * zxid (servers that do not vote are ignored); undefined while no quorum has acked.
   */
  highestAcked(acks: readonly (readonly [ServerId, Zxid])[]): Zxid | undefined;
}

/** A majority of the voters: more than half of them. */
export class MajorityQuorum implements QuorumVerifier {
  readonly voters: ReadonlySet<ServerId>;
  readonly observers: ReadonlySet<ServerId>;

  constructor(voters: Iterable<ServerId>, observers: Iterable<ServerId> = []) {
    this.voters = new Set(voters);
    this.observers = new Set(observers);
    assert(this.voters.size > 0, 'a quorum needs at least one voter');
    for (const id of this.observers) assert(!this.voters.has(id), `server ${id} is both voter and observer`);
  }

  containsQuorum(ids: Iterable<ServerId>): boolean {
    let count = 0;
    for (const id of new Set(ids)) if (this.voters.has(id)) count++;
    return count * 2 > this.voters.size;
  }

  highestAcked(acks: readonly (readonly [ServerId, Zxid])[]): Zxid | undefined {
    // A majority holds the k-th highest ack, k being the majority's size: sort and pick.
    const voting: Zxid[] = [];
    for (const [id, zxid] of acks) if (this.voters.has(id)) voting.push(zxid);
    const majority = Math.floor(this.voters.size / 2) + 1;
    if (voting.length < majority) return undefined;
    voting.sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
    return voting[majority - 1];
  }

  /** Every server, voters first, in ascending order. */
  members(): ServerId[] {
    return [...[...this.voters].sort((a, b) => a - b), ...[...this.observers].sort((a, b) => a - b)];
  }
}
