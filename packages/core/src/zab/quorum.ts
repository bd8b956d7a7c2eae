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
    if (Array.isArray(ids)) {
      // What the protocol passes on every step (its lease, every commit): a few ids, where
      // a scan for an earlier copy costs less than building a Set.
      const list: readonly ServerId[] = ids;
      for (let i = 0; i < list.length; i++) {
        const id = list[i]!;
        if (this.voters.has(id) && list.indexOf(id) === i) count++;
      }
    } else {
      for (const id of new Set(ids)) if (this.voters.has(id)) count++;
    }
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

/**
 * The quorum while the membership changes: a set decides only if it holds a quorum of every
 * configuration that may be in force, the one committed and the one proposed (ZooKeeper's
 * Proposal.qvAcksetPairs and its vote trackers with the last seen verifier). This is how
 * reconfiguration keeps its invariant: at no moment can two disjoint sets decide, since a
 * decision of the old ensemble and one of the new each need a majority of the other's
 * configuration too. Voters are those of either; an observer of one that votes in the
 * other counts as a voter.
 */
export class JointQuorum implements QuorumVerifier {
  readonly voters: ReadonlySet<ServerId>;
  readonly observers: ReadonlySet<ServerId>;

  constructor(readonly parts: readonly QuorumVerifier[]) {
    assert(parts.length > 0, 'a joint quorum joins at least one configuration');
    const voters = new Set<ServerId>();
    for (const part of parts) for (const id of part.voters) voters.add(id);
    const observers = new Set<ServerId>();
    for (const part of parts) for (const id of part.observers) if (!voters.has(id)) observers.add(id);
    this.voters = voters;
    this.observers = observers;
  }

  containsQuorum(ids: Iterable<ServerId>): boolean {
    const set = [...ids];
    return this.parts.every((part) => part.containsQuorum(set));
  }

  highestAcked(acks: readonly (readonly [ServerId, Zxid])[]): Zxid | undefined {
    // Acks are cumulative (a server that acked z acked all before it): what a quorum of every
    // part acked is the lowest of what each part's quorum acked.
    let lowest: Zxid | undefined;
    for (const part of this.parts) {
      const acked = part.highestAcked(acks);
      if (acked === undefined) return undefined;
      if (lowest === undefined || acked < lowest) lowest = acked;
    }
    return lowest;
  }
}
