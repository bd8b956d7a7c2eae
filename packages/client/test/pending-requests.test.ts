import { describe, expect, it } from 'vitest';
import { PendingRequests } from '../src/pending-requests.js';

describe('the requests a session waits on (PendingRequests)', () => {
  it('hands each request back once, by xid, in order or not', () => {
    const table = new PendingRequests<string>();
    for (let xid = 1; xid <= 5; xid++) table.add(xid, `r${xid}`);
    expect(table.size).toBe(5);
    expect(table.take(1)).toBe('r1');
    // One answered ahead of the others (as auth is), then one no longer waiting.
    expect(table.take(4)).toBe('r4');
    expect(table.take(4)).toBeUndefined();
    expect(table.take(99)).toBeUndefined();
    expect(table.size).toBe(3);
    expect(table.take(2)).toBe('r2');
    expect(table.takeAll()).toEqual(['r3', 'r5']);
    expect(table.size).toBe(0);
    expect(table.take(3)).toBeUndefined();
  });

  it('keeps its order and answers right when emptied, refilled and moved down', () => {
    const table = new PendingRequests<number>();
    // A request that stays while thousands after it are answered: the arrays move down.
    table.add(0, 0);
    let xid = 1;
    for (let round = 0; round < 3; round++) {
      const first = xid;
      for (let i = 0; i < 3000; i++, xid++) table.add(xid, xid);
      for (let x = first; x < xid; x++) expect(table.take(x)).toBe(x);
      expect(table.size).toBe(1);
    }
    table.add(xid, xid);
    expect(table.takeAll()).toEqual([0, xid]);
    // Emptied, it starts again.
    table.add(7, 7);
    table.add(8, 8);
    expect(table.take(8)).toBe(8);
    expect(table.take(7)).toBe(7);
    expect(table.size).toBe(0);
    expect(table.takeAll()).toEqual([]);
  });

  it('matches a Map of the same requests under a random mix of sends and answers', () => {
    const table = new PendingRequests<number>();
    const model = new Map<number, number>();
    let seed = 19;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    let xid = 1;
    for (let step = 0; step < 20_000; step++) {
      if (random() < 0.55 || model.size === 0) {
        table.add(xid, xid * 10);
        model.set(xid, xid * 10);
        xid++;
      } else {
        const keys = [...model.keys()];
        // Mostly the oldest, as replies come; sometimes any, or one not waiting.
        const pick = random();
        const key = pick < 0.8 ? keys[0]! : pick < 0.95 ? keys[Math.floor(random() * keys.length)]! : -1;
        expect(table.take(key)).toBe(model.get(key));
        model.delete(key);
      }
      expect(table.size).toBe(model.size);
    }
    expect(table.takeAll()).toEqual([...model.values()]);
  });
});
