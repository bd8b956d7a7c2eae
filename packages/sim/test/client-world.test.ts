import { ZabError } from '@zabkit/client';
import { describe, expect, it } from 'vitest';
import { ClientWorld } from '../src/client-world.js';

/** Three real clients increment a counter with compare-and-set under the seed's faults. */
async function counterScenario(seed: number) {
  const sim = new ClientWorld(seed, { rates: { powerLossesPerSecond: 0 } });
  const acknowledged: number[] = [];
  const scenario = (async () => {
    const clients = await Promise.all([sim.client(), sim.client(), sim.client()]);
    await clients[0]!.create('/counter', '0').catch(() => undefined);
    sim.injectFaults(4000);
    await Promise.all(
      clients.map(async (zk, index) => {
        while (sim.world.now < 4000) {
          try {
            const { data, stat } = await zk.getData('/counter');
            const next = Number(new TextDecoder().decode(data)) + 1;
            await zk.setData('/counter', String(next), stat.version);
            acknowledged.push(next);
          } catch (error) {
            if (!(error instanceof ZabError)) throw error;
            await sim.sleep(20 + index);
          }
        }
      }),
    );
    sim.heal();
    const reader = await sim.client();
    await reader.sync('/');
    const final = Number(new TextDecoder().decode((await reader.getData('/counter')).data));
    return { final };
  })();
  const finished = await sim.run(scenario, 60_000);
  const faults = Object.values(sim.world.faultCounts).reduce((a, b) => a + b, 0);
  return {
    finished,
    result: finished ? await scenario : undefined,
    acknowledged,
    trace: sim.world.trace,
    faults,
  };
}

describe('real clients in the simulator', () => {
  it('compare-and-set increments under faults: every acknowledged value is distinct and none lost', async () => {
    for (const seed of [1, 2, 3]) {
      const { finished, result, acknowledged, faults } = await counterScenario(seed);
      expect(finished, `seed ${seed}`).toBe(true);
      console.log(`seed ${seed}: ${acknowledged.length} increments acknowledged, ${faults} faults`);
      // CAS: no value is acknowledged twice; the final value is at least every acknowledged one.
      expect(new Set(acknowledged).size).toBe(acknowledged.length);
      expect(result!.final).toBeGreaterThanOrEqual(Math.max(0, ...acknowledged));
      expect(acknowledged.length).toBeGreaterThan(0);
    }
  }, 60_000);

  it('replays a seed exactly, client code included', async () => {
    const first = await counterScenario(5);
    const second = await counterScenario(5);
    expect(second.trace).toBe(first.trace);
    expect(second.acknowledged).toEqual(first.acknowledged);
  }, 60_000);
});
