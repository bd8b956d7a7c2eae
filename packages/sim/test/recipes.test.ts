/**
 * The recipes under the simulator's faults: real clients running the Mutex and the
 * LeaderLatch against a simulated ensemble with crashes, partitions and clogged links, on
 * virtual time. A holder counts as holding from acquire until release or until its
 * connection drops (when the recipe tells it the lock may be lost): no two may overlap.
 */
import type { ZabClient } from '@zabkit/client';
import { DoubleBarrier, LeaderLatch, Mutex } from '@zabkit/recipes';
import { describe, expect, it } from 'vitest';
import { ClientWorld } from '../src/client-world.js';

interface Interval {
  readonly client: number;
  readonly from: number;
  to: number;
}

function overlaps(intervals: readonly Interval[]): string[] {
  const sorted = [...intervals].sort((a, b) => a.from - b.from);
  const problems: string[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const previous = sorted[i - 1]!;
    const current = sorted[i]!;
    if (current.from < previous.to)
      problems.push(
        `client ${current.client} from ${current.from} while client ${previous.client} held until ${previous.to}`,
      );
  }
  return problems;
}

async function mutexScenario(seed: number) {
  const sim = new ClientWorld(seed, { rates: { powerLossesPerSecond: 0 } });
  const intervals: Interval[] = [];
  const phases: string[] = [];
  const allClients: ZabClient[] = [];
  const scenario = (async () => {
    const clients = await Promise.all([0, 1, 2, 3].map(() => sim.client(1200)));
    allClients.push(...clients);
    sim.injectFaults(6000);
    await Promise.all(
      clients.map(async (zk: ZabClient, id) => {
        const mutex = new Mutex(zk, '/lock');
        while (sim.world.now < 6000 && zk.state !== 'expired' && zk.state !== 'closed') {
          let acquired = false;
          try {
            phases[id] = `acquiring since ${sim.world.now}`;
            acquired = await mutex.acquire();
            phases[id] = `acquired ${acquired} at ${sim.world.now}`;
          } catch {
            await sim.sleep(50);
            continue;
          }
          if (!acquired) continue;
          const interval: Interval = { client: id, from: sim.world.now, to: Number.POSITIVE_INFINITY };
          intervals.push(interval);
          // A careful holder stops acting the moment its connection drops.
          const end = () => {
            if (interval.to === Number.POSITIVE_INFINITY) interval.to = sim.world.now;
          };
          const stopSuspended = mutex.onSuspended(end);
          const stopLost = mutex.onLost(end);
          await sim.sleep(20 + ((id * 7) % 30));
          end();
          stopSuspended();
          stopLost();
          phases[id] = `releasing at ${sim.world.now}`;
          await mutex.release().catch(() => undefined);
          phases[id] = `released at ${sim.world.now}`;
        }
        phases[id] = `done (${zk.state})`;
      }),
    );
  })();
  const finished = await sim.run(scenario, 120_000);
  const faults = Object.values(sim.world.faultCounts).reduce((a, b) => a + b, 0);
  const states = allClients.map((zk) => zk.state);
  return { finished, intervals, faults, violations: sim.world.violations, phases, states };
}

async function latchScenario(seed: number) {
  const sim = new ClientWorld(seed, { rates: { powerLossesPerSecond: 0 } });
  const intervals: Interval[] = [];
  const scenario = (async () => {
    const clients = await Promise.all([0, 1, 2].map(() => sim.client(1200)));
    sim.injectFaults(6000);
    const latches = clients.map((zk, id) => {
      const latch = new LeaderLatch(zk, '/leader', `p${id}`);
      let current: Interval | undefined;
      latch.on('isLeader', () => {
        current = { client: id, from: sim.world.now, to: Number.POSITIVE_INFINITY };
        intervals.push(current);
      });
      latch.on('notLeader', () => {
        if (current !== undefined) current.to = sim.world.now;
        current = undefined;
      });
      return latch;
    });
    await Promise.all(latches.map((latch) => latch.start().catch(() => undefined)));
    await sim.sleep(7000);
    for (const latch of latches) await latch.close().catch(() => undefined);
  })();
  const finished = await sim.run(scenario, 120_000);
  return { finished, intervals, violations: sim.world.violations };
}

/**
 * Three members go through a double barrier twice under faults. Nobody may pass `enter`
 * before all three arrived, nor return from `leave` before all three started leaving.
 */
async function barrierScenario(seed: number, naming: 'by member' | 'default' = 'by member') {
  // Crashes and lost messages but no long partitions: sessions here last 2 s (20 ticks),
  // and a member whose session expires would leave the others waiting for ever, rightly.
  const sim = new ClientWorld(seed, {
    rates: { powerLossesPerSecond: 0, crashesPerSecond: 0.2, partitionsPerSecond: 0 },
  });
  const log: {
    member: number;
    round: number;
    what: 'arrive' | 'entered' | 'leaving' | 'left';
    at: number;
  }[] = [];
  const scenario = (async () => {
    const clients = await Promise.all([0, 1, 2].map(() => sim.client(2000)));
    sim.injectFaults(5000);
    await Promise.all(
      clients.map(async (zk: ZabClient, member) => {
        for (let round = 0; round < 2; round++) {
          // Named by the member, not at random: the names' order decides who waits on whom.
          const barrier = new DoubleBarrier(
            zk,
            `/barrier-${round}`,
            3,
            naming === 'by member' ? { memberName: `m-${member}` } : {},
          );
          await sim.sleep(member * 37);
          log.push({ member, round, what: 'arrive', at: sim.world.now });
          await barrier.enter();
          log.push({ member, round, what: 'entered', at: sim.world.now });
          await sim.sleep(10 + member * 13);
          log.push({ member, round, what: 'leaving', at: sim.world.now });
          await barrier.leave();
          log.push({ member, round, what: 'left', at: sim.world.now });
        }
      }),
    );
  })();
  const finished = await sim.run(scenario, 120_000);
  const problems: string[] = [];
  await scenario.catch((error: unknown) => problems.push(`a member failed: ${String(error)}`));
  for (const round of [0, 1]) {
    const at = (what: string) =>
      log.filter((entry) => entry.round === round && entry.what === what).map((entry) => entry.at);
    if (Math.min(...at('entered')) < Math.max(...at('arrive')))
      problems.push(`round ${round}: entered before all arrived`);
    if (Math.min(...at('left')) < Math.max(...at('leaving')))
      problems.push(`round ${round}: left before all were leaving`);
  }
  const faults = Object.values(sim.world.faultCounts).reduce((a, b) => a + b, 0);
  return {
    finished,
    problems,
    faults,
    passes: log.filter((entry) => entry.what === 'left').length,
    trace: sim.world.trace,
  };
}

describe('recipes in the simulator', () => {
  it('the mutex never has two holders at once, under faults', async () => {
    let holds = 0;
    let faults = 0;
    const seeds =
      process.env.ZABKIT_RECIPE_SEEDS === undefined ? 20 : Number(process.env.ZABKIT_RECIPE_SEEDS);
    // 24 and 39 hung while lost messages went on forever after the faulty phase (no healed
    // phase): waiters watched a deletion a follower never applied. Kept as regressions.
    for (const seed of [...Array.from({ length: seeds }, (_v, i) => 11 + i), 24, 39]) {
      const result = await mutexScenario(seed);
      expect(result.finished, `seed ${seed}: ${result.phases.join('; ')}`).toBe(true);
      expect(result.violations, `seed ${seed}`).toEqual([]);
      expect(overlaps(result.intervals), `seed ${seed}`).toEqual([]);
      holds += result.intervals.length;
      faults += result.faults;
    }
    expect(holds).toBeGreaterThan(50);
    expect(faults).toBeGreaterThan(5);
    console.log(`mutex: ${seeds} seeds, ${holds} holds, ${faults} faults`);
  }, 120_000);

  it('double barrier counts hold, under faults', async () => {
    let faults = 0;
    // Seed 36 is left out: there the ensemble has no leader for 1.6 s and one member's
    // reconnect backoff outlasts its 2 s session, so it expires, which this scenario's premise
    // (no member loses its session) excludes. (Member names used to be random, so which seed
    // did that changed from run to run.)
    for (const seed of [31, 32, 33, 34, 35, 37, 38, 39]) {
      const result = await barrierScenario(seed);
      faults += result.faults;
      expect(result.finished, `seed ${seed}`).toBe(true);
      expect(result.problems, `seed ${seed}`).toEqual([]);
      expect(result.passes).toBe(6);
    }
    expect(faults).toBeGreaterThan(0);
  }, 120_000);

  // Seed 36 failed one run in three: members named at random (crypto.randomUUID) took
  // another path on every run. A member's default name now comes from its client's source of
  // chance, which the simulator seeds: recipes left to their defaults replay too.
  it('replays a double barrier with default member names: same seed, same trace', async () => {
    const runs = new Set<string>();
    for (let run = 0; run < 4; run++) {
      const result = await barrierScenario(36, 'default');
      runs.add(`${result.trace} ${result.problems.join('; ')}`);
    }
    expect([...runs]).toHaveLength(1);
  }, 120_000);

  it('at most one latch leads at a time, under faults', async () => {
    let terms = 0;
    const seeds =
      process.env.ZABKIT_RECIPE_SEEDS === undefined ? 20 : Number(process.env.ZABKIT_RECIPE_SEEDS);
    // 25: a latch closed while its leadership check was in flight became leader after closing.
    for (const seed of [...Array.from({ length: seeds }, (_v, i) => 21 + i), 25]) {
      const result = await latchScenario(seed);
      expect(result.finished, `seed ${seed}`).toBe(true);
      expect(overlaps(result.intervals), `seed ${seed}`).toEqual([]);
      terms += result.intervals.length;
    }
    expect(terms).toBeGreaterThan(4);
    console.log(`latch: ${seeds} seeds, ${terms} terms of leadership`);
  }, 120_000);
});
