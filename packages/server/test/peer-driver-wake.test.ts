import { MemoryStorage } from '@zabkit/storage-memory';
import { MemoryNetwork } from '@zabkit/transport-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { PeerDriver } from '../src/index.js';

const drivers: PeerDriver[] = [];
afterEach(async () => {
  await Promise.all(drivers.splice(0).map((driver) => driver.stop()));
});

async function until(condition: () => boolean, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) return Number.POSITIVE_INFINITY;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - started;
}

describe('the driver ticks when a protocol timer falls due', () => {
  it('elects and fails over long before the next regular tick', async () => {
    const network = new MemoryNetwork();
    // Regular ticks every 30 s: only the wake-ups for due timers can move anything.
    const regularTickMs = 30_000;
    for (const serverId of [1, 2, 3]) {
      drivers.push(
        await PeerDriver.start({
          peer: {
            serverId,
            voters: [1, 2, 3],
            tickTimeMs: 200,
            electionFinalizeWaitMs: 50,
            electionResendIntervalMs: 100,
            sessionSecret: new Uint8Array(32).fill(7),
            startTimeMs: Date.now(),
          },
          storage: new MemoryStorage(),
          transport: network.endpoint(serverId),
          tickIntervalMs: regularTickMs,
        }),
      );
    }
    const serving = () => drivers.filter((d) => d.peer.status().serving);
    expect(await until(() => serving().length === 3, 10_000)).toBeLessThan(10_000);
    const leader = drivers.find((d) => d.peer.status().role === 'leading')!;
    // A silent leader: the followers notice after syncLimit (5 ticks of 200 ms) and elect.
    network.isolate(leader.serverId);
    const others = drivers.filter((d) => d !== leader);
    const failoverMs = await until(
      () =>
        others.some((d) => d.peer.status().role === 'leading' && d.peer.status().serving) &&
        others.every((d) => d.peer.status().serving),
      15_000,
    );
    expect(failoverMs).toBeLessThan(15_000);
  }, 40_000);
});
