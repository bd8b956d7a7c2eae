import { describe, expect, it } from 'vitest';
import { Barrier } from '../src/barrier.js';
import { DoubleBarrier } from '../src/double-barrier.js';
import { sleep, useServers } from './support.js';

const { connect } = useServers();

describe('Barrier', () => {
  it('waiters block until the barrier is removed', async () => {
    const [a, b, c] = await connect(3);
    await new Barrier(a!, '/app/barriers/one').setBarrier();
    const passed: string[] = [];
    const waits = [b!, c!].map((zk, i) =>
      new Barrier(zk, '/app/barriers/one').waitOnBarrier().then((result) => {
        passed.push(`w${i}:${result}`);
      }),
    );
    await sleep(50);
    expect(passed).toEqual([]);
    await new Barrier(a!, '/app/barriers/one').removeBarrier();
    await Promise.all(waits);
    expect(passed.sort()).toEqual(['w0:true', 'w1:true']);
  });

  it('a wait on an absent barrier passes at once; a timeout returns false and removes its watch', async () => {
    const [a, b] = await connect(2);
    expect(await new Barrier(b!, '/free').waitOnBarrier({ timeoutMs: 1000 })).toBe(true);
    const barrier = new Barrier(a!, '/held');
    await barrier.setBarrier();
    await barrier.setBarrier(); // idempotent
    const started = Date.now();
    expect(await new Barrier(b!, '/held').waitOnBarrier({ timeoutMs: 80 })).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(70);
    await sleep(10);
    expect(b!.hasWatch('data', '/held')).toBe(false);
  });

  it('an aborted wait rejects', async () => {
    const [a] = await connect(1);
    await new Barrier(a!, '/held').setBarrier();
    const controller = new AbortController();
    const wait = new Barrier(a!, '/held').waitOnBarrier({ signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(wait).rejects.toThrow();
  });
});

describe('DoubleBarrier', () => {
  it('nobody passes enter before all entered, nor leave before all left', async () => {
    const count = 4;
    const zks = await connect(count);
    const arrive: number[] = [];
    const entered: number[] = [];
    const startLeave: number[] = [];
    const left: number[] = [];
    let clock = 0;
    const tick = () => ++clock;
    await Promise.all(
      zks.map(async (zk, i) => {
        const barrier = new DoubleBarrier(zk, '/app/double', count);
        await sleep(i * 25);
        arrive[i] = tick();
        expect(await barrier.enter({ timeoutMs: 5000 })).toBe(true);
        entered[i] = tick();
        await sleep((count - i) * 25);
        startLeave[i] = tick();
        expect(await barrier.leave({ timeoutMs: 5000 })).toBe(true);
        left[i] = tick();
      }),
    );
    expect(Math.min(...entered)).toBeGreaterThan(Math.max(...arrive));
    expect(Math.min(...left)).toBeGreaterThan(Math.max(...startLeave));
    expect((await zks[0]!.getChildren('/app/double')).filter((name) => name !== 'ready')).toEqual([]);
  });

  it('enter times out (false) when too few members come, and cleans its node up', async () => {
    const [a, b] = await connect(2);
    const started = Date.now();
    const results = await Promise.all([
      new DoubleBarrier(a!, '/short', 3).enter({ timeoutMs: 100 }),
      new DoubleBarrier(b!, '/short', 3).enter({ timeoutMs: 100 }),
    ]);
    expect(results).toEqual([false, false]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(await a!.getChildren('/short')).toEqual([]);
  });

  it('leave times out (false) while another member stays', async () => {
    const [a, b] = await connect(2);
    const first = new DoubleBarrier(a!, '/stay', 2);
    const second = new DoubleBarrier(b!, '/stay', 2);
    expect(await Promise.all([first.enter(), second.enter()])).toEqual([true, true]);
    expect(await first.leave({ timeoutMs: 80 })).toBe(false);
    expect(await Promise.all([first.leave({ timeoutMs: 2000 }), second.leave({ timeoutMs: 2000 })])).toEqual([
      true,
      true,
    ]);
  });
});
