/**
 * The metrics' queue of times by zxid against a model: an insertion-ordered Map, which is
 * what the metrics kept before, with the same bound and the same drop-the-oldest rule.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ZxidTimes } from '../src/metrics/zxid-times.js';

type Op =
  | { readonly kind: 'push'; readonly step: number; readonly timeMs: number }
  | { readonly kind: 'restart'; readonly back: number; readonly timeMs: number }
  | { readonly kind: 'find' | 'take' | 'takeThrough'; readonly back: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  // Mostly forwards, sometimes the newest zxid again.
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('push' as const),
      step: fc.integer({ min: 0, max: 3 }),
      timeMs: fc.integer({ min: 0, max: 1e6 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('restart' as const),
      back: fc.integer({ min: 1, max: 20 }),
      timeMs: fc.integer({ min: 0, max: 1e6 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom('find' as const, 'take' as const, 'takeThrough' as const),
      back: fc.integer({ min: -2, max: 12 }),
    }),
  },
);

/** The model: a Map in insertion order, zxids increasing, the oldest dropped past `capacity`. */
class MapModel {
  readonly times = new Map<bigint, number>();
  constructor(private readonly capacity: number) {}
  push(zxid: bigint, timeMs: number): void {
    const newest = [...this.times.keys()].at(-1);
    if (newest !== undefined && zxid < newest) this.times.clear();
    this.times.set(zxid, timeMs);
    if (this.times.size > this.capacity) this.times.delete(this.times.keys().next().value!);
  }
  take(zxid: bigint): number | undefined {
    const found = this.times.get(zxid);
    for (const key of [...this.times.keys()]) if (key <= zxid) this.times.delete(key);
    return found;
  }
  takeThrough(zxid: bigint): number[] {
    const taken: number[] = [];
    for (const [key, time] of [...this.times]) {
      if (key > zxid) break;
      taken.push(time);
      this.times.delete(key);
    }
    return taken;
  }
}

describe('ZxidTimes', () => {
  it('remembers, finds and takes as an ordered Map bounded to its capacity does', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(op, { maxLength: 200 }), (capacity, ops) => {
        const queue = new ZxidTimes(capacity);
        const model = new MapModel(capacity);
        let newest = 0x5_0000_0000n;
        for (const each of ops) {
          if (each.kind === 'push') {
            newest += BigInt(each.step);
            queue.push(newest, each.timeMs);
            model.push(newest, each.timeMs);
          } else if (each.kind === 'restart') {
            newest -= BigInt(each.back);
            queue.push(newest, each.timeMs);
            model.push(newest, each.timeMs);
          } else {
            const zxid = newest - BigInt(each.back);
            if (each.kind === 'find') expect(queue.find(zxid)).toBe(model.times.get(zxid));
            else if (each.kind === 'take') expect(queue.take(zxid)).toBe(model.take(zxid));
            else {
              const taken: number[] = [];
              for (let t = queue.takeOldestThrough(zxid); t !== undefined; t = queue.takeOldestThrough(zxid))
                taken.push(t);
              expect(taken).toEqual(model.takeThrough(zxid));
            }
          }
          expect(queue.size).toBe(model.times.size);
        }
      }),
    );
  });

  it('keeps the newest pairs when full and wraps around its ring', () => {
    const queue = new ZxidTimes(3);
    for (let zxid = 1n; zxid <= 5n; zxid++) queue.push(zxid, Number(zxid) * 10);
    expect(queue.size).toBe(3);
    expect(queue.find(2n)).toBeUndefined();
    expect([queue.find(3n), queue.find(4n), queue.find(5n)]).toEqual([30, 40, 50]);
    expect(queue.take(4n)).toBe(40);
    expect(queue.size).toBe(1);
    expect(queue.takeOldestThrough(4n)).toBeUndefined();
    expect(queue.takeOldestThrough(5n)).toBe(50);
    expect(queue.size).toBe(0);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new ZxidTimes(0)).toThrow(RangeError);
    expect(() => new ZxidTimes(1.5)).toThrow(RangeError);
  });
});
