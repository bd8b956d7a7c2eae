/**
 * Times remembered by zxid for the metrics that measure a transaction from one stage to a
 * later one (queued to logged, proposed to acked and committed). Transactions pass each stage
 * in zxid order, so the times form a queue: a bounded ring, oldest first, that is appended at
 * one end and taken from the other. A Map keyed by BigInt zxids cost the metrics more per
 * write than the rest of the driver's step (its deletes dominated the profile).
 *
 * @module
 */

/** A bounded queue of (zxid, time) pairs with zxids strictly increasing from oldest to newest. */
export class ZxidTimes {
  private readonly zxids: bigint[];
  private readonly times: Float64Array;
  /** Index of the oldest pair. */
  private head = 0;
  private count = 0;

  /** @param capacity pairs kept at most: when full, a new one pushes out the oldest. */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity <= 0)
      throw new RangeError('capacity must be a positive integer');
    this.zxids = new Array<bigint>(capacity).fill(0n);
    this.times = new Float64Array(capacity);
  }

  /** How many pairs are remembered. */
  get size(): number {
    return this.count;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  /**
   * Remembers `timeMs` for `zxid`. The newest zxid again updates its time; a lower one means
   * the sequence started over (a new epoch, a truncated log), so everything before is dropped.
   */
  push(zxid: bigint, timeMs: number): void {
    if (this.count > 0) {
      const newest = this.slot(this.count - 1);
      const newestZxid = this.zxids[newest]!;
      if (zxid === newestZxid) {
        this.times[newest] = timeMs;
        return;
      }
      if (zxid < newestZxid) this.clear();
    }
    if (this.count === this.capacity) {
      this.head = this.slot(1);
      this.count--;
    }
    const at = this.slot(this.count);
    this.zxids[at] = zxid;
    this.times[at] = timeMs;
    this.count++;
  }

  /** The time remembered for `zxid`, or undefined; nothing is forgotten. */
  find(zxid: bigint): number | undefined {
    // Binary search over the ring's logical order: the zxids are sorted.
    let low = 0;
    let high = this.count - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const at = this.slot(middle);
      const found = this.zxids[at]!;
      if (found === zxid) return this.times[at];
      if (found < zxid) low = middle + 1;
      else high = middle - 1;
    }
    return undefined;
  }

  /**
   * Forgets every pair older than `zxid` and takes `zxid`'s own: its time, or undefined when it
   * was not remembered (then only the older ones go).
   */
  take(zxid: bigint): number | undefined {
    while (this.count > 0) {
      const at = this.head;
      const oldest = this.zxids[at]!;
      if (oldest > zxid) return undefined;
      this.head = this.slot(1);
      this.count--;
      if (oldest === zxid) return this.times[at];
    }
    return undefined;
  }

  /**
   * Takes the oldest pair if its zxid is at most `zxidMax`: its time, or undefined (and nothing
   * taken) when there is none. Called in a loop, it takes every pair through `zxidMax` in order.
   */
  takeOldestThrough(zxidMax: bigint): number | undefined {
    if (this.count === 0) return undefined;
    const at = this.head;
    if (this.zxids[at]! > zxidMax) return undefined;
    this.head = this.slot(1);
    this.count--;
    return this.times[at];
  }

  /** The array index of the pair `offset` places after the oldest. */
  private slot(offset: number): number {
    const index = this.head + offset;
    return index >= this.capacity ? index - this.capacity : index;
  }
}
