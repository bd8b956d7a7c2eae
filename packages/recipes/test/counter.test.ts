import { describe, expect, it } from 'vitest';
import { SharedCounter, type VersionedValue } from '../src/counter.js';
import { sleep, useServers } from './support.js';

const { connect } = useServers();

describe('SharedCounter', () => {
  it('N clients × M concurrent increments give the exact total', async () => {
    const zks = await connect(5);
    const perClient = 20;
    const results = await Promise.all(
      zks.map(async (zk) => {
        const counter = new SharedCounter(zk, '/app/counters/c');
        const seen: number[] = [];
        for (let i = 0; i < perClient; i++) seen.push(await counter.increment());
        return seen;
      }),
    );
    expect(await new SharedCounter(zks[0]!, '/app/counters/c').get()).toBe(zks.length * perClient);
    // Each increment returned a distinct value: no two CAS writes won from the same version.
    const all = results.flat();
    expect(new Set(all).size).toBe(all.length);
    expect(Math.max(...all)).toBe(zks.length * perClient);
  });

  it('trySet succeeds only at the expected version; set, add, decrement; stored as decimal text', async () => {
    const [zk] = await connect(1);
    const counter = new SharedCounter(zk!, '/c', 7);
    const first = await counter.getVersioned();
    expect(first.value).toBe(7);
    expect(await counter.trySet(10, first.version)).toBe(true);
    expect(await counter.trySet(11, first.version)).toBe(false);
    expect(await counter.get()).toBe(10);
    await counter.set(-4);
    expect(await counter.add(9)).toBe(5);
    expect(await counter.decrement()).toBe(4);
    expect(new TextDecoder().decode((await zk!.getData('/c')).data)).toBe('4');
  });

  it('emits changed events for changes made elsewhere, and stops on close', async () => {
    const [a, b] = await connect(2);
    const watched = new SharedCounter(a!, '/w');
    const seen: VersionedValue[] = [];
    watched.on('changed', (value) => seen.push(value));
    await watched.start();
    const other = new SharedCounter(b!, '/w');
    await other.add(3);
    const deadline = Date.now() + 2000;
    while (!seen.some((value) => value.value === 3) && Date.now() < deadline) await sleep(5);
    expect(seen.at(-1)?.value).toBe(3);
    await watched.close();
    const count = seen.length;
    await other.add(1);
    await sleep(50);
    expect(seen.length).toBe(count);
  });
});
