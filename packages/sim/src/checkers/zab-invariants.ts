/**
 * The invariants of ZooKeeper's TLA+ specification that the simulator checks as a run goes
 * (the world calls these at the moment each can be judged; each returns what is wrong, or
 * undefined):
 *
 * - Leadership: at most one leader per epoch, counting a leader from its NEWLEADER on, while
 *   it still synchronises its followers, and not only once it serves.
 * - Integrity: a transaction delivered anywhere was proposed by some leader.
 * - ProcessConsistency: a follower that acknowledges NEWLEADER holds a prefix of its leader's
 *   history.
 */
import type { ServerId, Zxid } from '@zabkit/core';

/** A peer's history as the simulator follows it: entries by zxid, those at or below `base` known only to a snapshot. */
export interface TrackedHistory {
  readonly entries: ReadonlyMap<Zxid, string>;
  readonly base: Zxid;
}

/** Leadership: records who leads each epoch and says when a second server does. */
export class LeadershipChecker {
  /** Who led each epoch, from its NEWLEADER on. */
  readonly leaderOfEpoch = new Map<number, ServerId>();

  note(epoch: number, id: ServerId, phase: 'in sync' | 'serving'): string | undefined {
    const known = this.leaderOfEpoch.get(epoch);
    if (known === undefined) this.leaderOfEpoch.set(epoch, id);
    else if (known !== id) return `servers ${known} and ${id} both led epoch ${epoch} (${id} ${phase})`;
    return undefined;
  }
}

/** Integrity: what a leader proposed, by zxid, and whether a delivery matches one. */
export class IntegrityChecker {
  private readonly proposed = new Map<Zxid, string>();

  /** A leader proposed `entry` at `zxid`; two different proposals for one zxid are wrong too. */
  propose(zxid: Zxid, entry: string): string | undefined {
    const known = this.proposed.get(zxid);
    this.proposed.set(zxid, entry);
    if (known !== undefined && known !== entry) return `${hex(zxid)} proposed as ${known} and as ${entry}`;
    return undefined;
  }

  delivered(id: ServerId, zxid: Zxid, entry: string): string | undefined {
    const proposal = this.proposed.get(zxid);
    if (proposal === entry) return undefined;
    const what = proposal === undefined ? '' : ` (proposed: ${proposal})`;
    return `server ${id} delivered ${hex(zxid)} (${entry}), which no leader proposed${what}`;
  }
}

/**
 * ProcessConsistency: every entry the follower holds is the leader's at that zxid, and the
 * follower lacks none of the leader's up to its own last, wherever both histories know it.
 */
export function checkHistoryPrefix(follower: TrackedHistory, leader: TrackedHistory): string | undefined {
  let last = follower.base;
  for (const [zxid, entry] of follower.entries) {
    if (zxid > last) last = zxid;
    if (zxid <= leader.base) continue;
    const theirs = leader.entries.get(zxid);
    if (theirs !== entry)
      return `it holds ${hex(zxid)} (${entry}) where the leader has ${theirs ?? 'nothing'}`;
  }
  for (const zxid of leader.entries.keys())
    if (zxid > follower.base && zxid <= last && !follower.entries.has(zxid))
      return `it lacks ${hex(zxid)}, which the leader has`;
  return undefined;
}

function hex(zxid: Zxid): string {
  return zxid.toString(16);
}
