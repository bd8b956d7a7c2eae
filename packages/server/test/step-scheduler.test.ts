/**
 * A client that awaits every reply before its next request chains microtasks through the
 * driver: the drivers must still let the event loop turn (timers, peer messages), or a burst
 * of in-process reads would freeze every timer of the process, and a leader would lose its
 * lease with followers it could not hear.
 */
import type { ZabClient } from '@zabkit/client';
import { afterEach, describe, expect, it } from 'vitest';
import { type Ensemble, LocalServer, startEnsemble } from '../src/index.js';
import { StepScheduler } from '../src/step-scheduler.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Reads in a loop, each awaited, until a timer set before the loop fires or `limitMs` of
 * wall time passes; returns whether the timer fired while the reads went on, and how many
 * reads were answered.
 */
async function readsLetATimerFire(
  client: ZabClient,
  limitMs: number,
): Promise<{ fired: boolean; reads: number }> {
  let fired = false;
  const timer = setTimeout(() => {
    fired = true;
  }, 0);
  const started = performance.now();
  let reads = 0;
  while (!fired && performance.now() - started < limitMs) {
    await client.getData('/');
    reads++;
  }
  clearTimeout(timer);
  return { fired, reads };
}

describe('drivers give the event loop a turn during a burst of awaited requests', () => {
  it('LocalServer', async () => {
    const server = LocalServer.start({ tickTimeMs: 2000 });
    cleanups.push(() => server.close());
    const client = await server.client();
    cleanups.push(() => client.close());
    const { fired, reads } = await readsLetATimerFire(client, 5000);
    expect(fired).toBe(true);
    expect(reads).toBeGreaterThan(0);
  });

  it('the peer driver, and a 3-server leader keeps its lease through a long burst of reads', async () => {
    const ensemble: Ensemble = await startEnsemble({ servers: 3, tickTimeMs: 200 });
    cleanups.push(() => ensemble.close());
    const leader = await ensemble.waitForLeader();
    const client = await ensemble.client({ servers: [leader] });
    cleanups.push(() => client.close());
    const { fired } = await readsLetATimerFire(client, 5000);
    expect(fired).toBe(true);
    // Three times syncLimit (5 ticks of 200 ms): were the loop never to turn, the leader would
    // hear no follower for all of it and drop its clients.
    const started = performance.now();
    while (performance.now() - started < 3000) await client.getData('/');
    expect(ensemble.leader()).toBe(leader);
    expect(client.state).toBe('connected');
  });

  it('StepScheduler lets the loop turn even when the process is preempted between steps', async () => {
    // A loaded machine: the OS takes the CPU away for 2 ms after every step, so no two steps
    // are ever less than a millisecond apart although the event loop never turned.
    let clockMs = 0;
    const scheduler = new StepScheduler(10, () => clockMs);
    let turned = false;
    setImmediate(() => {
      turned = true;
    });
    let steps = 0;
    await new Promise<void>((resolve) => {
      const step = () => {
        steps++;
        clockMs += 2;
        if (turned || steps >= 1000) resolve();
        else scheduler.schedule(step);
      };
      scheduler.schedule(step);
    });
    expect(turned).toBe(true);
    // The budget (10 ms) is spent after at most one restart of the run: a dozen steps.
    expect(steps).toBeLessThanOrEqual(12);
  });

  it('StepScheduler runs steps in microtasks until the budget is spent, then on the next turn', async () => {
    const scheduler = new StepScheduler(0);
    const order: string[] = [];
    // The first step of a turn is a microtask; with a budget of 0 the next waits for a turn.
    scheduler.schedule(() => order.push('first'));
    scheduler.schedule(() => order.push('second'));
    await Promise.resolve();
    order.push('microtasks done');
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['first', 'microtasks done', 'second']);
    expect(() => new StepScheduler(-1)).toThrow(RangeError);
  });
});
