/**
 * A peer's in-memory view of its durable transaction log: every transaction after the
 * latest snapshot, in zxid order. The leader synchronises learners from it (DIFF and
 * TRUNC); when a learner is behind the oldest entry kept, it gets a snapshot instead.
 */

import type { ACL } from '../acl.js';
import { assert } from '../errors.js';
import { snapshotNodeBytes } from '../tree/snapshot-node.js';
import type { MultiPartTxn, Txn, TxnBody } from '../txn.js';
import { counterOf, epochOf, type Zxid, zeroZxid } from '../zxid.js';

/** How many of the newest entries a lookup tries before it searches the whole log. */
const tailLooksMax = 4;

/** True when `next` may follow `previous` in a log: no gap inside an epoch (ZOOKEEPER-4925). */
export function followsContiguously(previous: Zxid, next: Zxid): boolean {
  if (next <= previous) return false;
  if (epochOf(next) === epochOf(previous)) return counterOf(next) === counterOf(previous) + 1;
  return counterOf(next) === 1;
}

function aclBytes(acl: readonly ACL[]): number {
  let bytes = 4;
  for (const entry of acl) bytes += 8 + (entry.id.scheme.length + entry.id.id.length) * 3;
  return bytes;
}

function bodyBytes(body: TxnBody | MultiPartTxn): number {
  switch (body.kind) {
    case 'create':
      return 24 + body.path.length * 3 + (body.data?.length ?? 0) + aclBytes(body.acl);
    case 'setData':
      return 12 + body.path.length * 3 + (body.data?.length ?? 0);
    case 'setACL':
      return 12 + body.path.length * 3 + aclBytes(body.acl);
    case 'delete':
    case 'check':
      return 12 + body.path.length * 3;
    case 'closeSession': {
      let bytes = 8;
      for (const path of body.ephemeralPaths) bytes += 4 + path.length * 3;
      return bytes;
    }
    case 'multi': {
      let bytes = 8;
      for (const part of body.parts) bytes += bodyBytes(part);
      return bytes;
    }
    case 'reconfig':
      return 8 + body.config.length * 3;
    case 'restore': {
      let bytes = 8 + body.token.length * 3 + body.sessions.length * 12;
      for (const node of body.nodes) bytes += snapshotNodeBytes(node);
      return bytes;
    }
    default:
      return 8;
  }
}

/**
 * About how many bytes a transaction takes encoded (at most a few dozen bytes off): how
 * chunks of a learner sync's stream are sized.
 */
export function txnBytes(txn: Txn): number {
  return 32 + bodyBytes(txn.body);
}

/** The transactions after the latest snapshot, in zxid order, kept in memory for syncing learners. */
export class TxnLog {
  private entries: Txn[] = [];
  /** Entries at or below this zxid live only in the snapshot. */
  private base: Zxid;

  constructor(baseZxid: Zxid = zeroZxid, entries: readonly Txn[] = []) {
    this.base = baseZxid;
    for (const txn of entries) this.append(txn);
  }

  /** The zxid the log starts after: entries at or below it live only in the snapshot. */
  get baseZxid(): Zxid {
    return this.base;
  }

  /** The zxid of the last entry, or `baseZxid` when the log is empty. */
  get lastZxid(): Zxid {
    return this.entries.length === 0 ? this.base : this.entries[this.entries.length - 1]!.zxid;
  }

  /** How many transactions the log holds. */
  get size(): number {
    return this.entries.length;
  }

  /** Adds a transaction after the last one; its zxid must be higher (asserted). */
  append(txn: Txn): void {
    assert(txn.zxid > this.lastZxid, () => `log append out of order: ${txn.zxid} after ${this.lastZxid}`);
    this.entries.push(txn);
  }

  /** Index of the first entry with zxid > `zxid`. */
  private indexAfter(zxid: Zxid): number {
    const entries = this.entries;
    // Acks and commits name the newest entries of a log that may hold a snapCount of them:
    // a look at its tail answers nearly every call before a search of the whole.
    let high = entries.length;
    for (let looked = 0; looked < tailLooksMax && high > 0; looked++) {
      if (entries[high - 1]!.zxid <= zxid) return high;
      high--;
    }
    let low = 0;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (entries[mid]!.zxid <= zxid) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** True when the log holds `zxid`, or `zxid` is the snapshot point. */
  contains(zxid: Zxid): boolean {
    if (zxid === this.base) return true;
    const index = this.indexAfter(zxid) - 1;
    return index >= 0 && this.entries[index]!.zxid === zxid;
  }

  /** The largest zxid at or below `zxid` that the log holds (or the base), else undefined. */
  floor(zxid: Zxid): Zxid | undefined {
    if (zxid < this.base) return undefined;
    const index = this.indexAfter(zxid) - 1;
    return index >= 0 ? this.entries[index]!.zxid : this.base;
  }

  /** How many entries follow `zxid` (all of them for a `zxid` older than the log reaches). */
  countAfter(zxid: Zxid): number {
    return this.entries.length - (zxid < this.base ? 0 : this.indexAfter(zxid));
  }

  /** Every entry after `zxid`, or undefined when `zxid` is older than the log reaches. */
  entriesAfter(zxid: Zxid, through: Zxid = this.lastZxid): Txn[] | undefined {
    if (zxid < this.base) return undefined;
    return this.entries.slice(this.indexAfter(zxid), this.indexAfter(through));
  }

  /**
   * The entries after `zxid`, as many as fit in about `bytesMax` bytes (`txnBytes`) but at
   * least one if there is one: the next chunk of a learner sync. `zxid` must be in the log's
   * reach (asserted).
   */
  chunkAfter(zxid: Zxid, bytesMax: number): Txn[] {
    assert(zxid >= this.base, 'a chunk starts within the log');
    const start = this.indexAfter(zxid);
    let end = start;
    let bytes = 0;
    while (end < this.entries.length) {
      const size = txnBytes(this.entries[end]!);
      if (end > start && bytes + size > bytesMax) break;
      bytes += size;
      end++;
    }
    return this.entries.slice(start, end);
  }

  /** Drops every entry after `zxid` (a TRUNC). */
  truncateAfter(zxid: Zxid): void {
    assert(zxid >= this.base, `cannot truncate to ${zxid}, below the snapshot at ${this.base}`);
    this.entries.length = this.indexAfter(zxid);
  }

  /** Replaces everything with a snapshot taken at `zxid`. */
  reset(zxid: Zxid): void {
    this.entries = [];
    this.base = zxid;
  }

  /** Forgets entries at or below `zxid`, which a snapshot now covers. */
  compact(zxid: Zxid): void {
    if (zxid <= this.base) return;
    this.entries = this.entries.slice(this.indexAfter(zxid));
    this.base = zxid;
  }
}
