/**
 * How fast a real ensemble has a leader again, behind the nemesis's TCP proxies, at
 * tickTime=1000 with initLimit=10 and syncLimit=5 (support/failover.ts has the schedules).
 * Each schedule runs once in CI with bounds a loaded machine keeps; ZABKIT_FAILOVER_RUNS=10
 * runs each ten times and prints the spread, and ZABKIT_FAILOVER_CONTROL=1 times Apache
 * ZooKeeper 3.8 through the same schedules for comparison. A cut link takes connections and
 * forwards nothing (a black hole); ZABKIT_FAILOVER_CUT=refuse makes it reset them instead.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zookeeperInstalled } from './support/apache-zookeeper.js';
import { type FailoverRun, failoverSchedules, runFailover, spread } from './support/failover.js';
import { Nemesis } from './support/nemesis.js';
import { type ProcessEnsemble, startProcessEnsemble } from './support/process-ensemble.js';

const tickTime = 1000;
const syncLimitMs = 5 * tickTime;
const initLimitMs = 10 * tickTime;
const runs = Number(process.env.ZABKIT_FAILOVER_RUNS ?? 1);

const targets = [
  { name: 'zabkit', kind: 'zabkit' as const, available: true },
  {
    name: 'Apache ZooKeeper 3.8',
    kind: 'zookeeper' as const,
    available: zookeeperInstalled && process.env.ZABKIT_FAILOVER_CONTROL === '1',
  },
];

for (const target of targets) {
  describe.skipIf(!target.available)(`${target.name}: failover behind TCP proxies`, () => {
    let ensemble: ProcessEnsemble | undefined;
    // ZABKIT_FAILOVER_CUT=refuse: a cut link resets new connections instead of taking them.
    const nemesis = new Nemesis({ refuseWhileCut: process.env.ZABKIT_FAILOVER_CUT === 'refuse' });
    const timed: FailoverRun[] = [];

    beforeAll(async () => {
      ensemble = await startProcessEnsemble({
        kind: target.kind,
        size: 3,
        tickTime,
        route: (from, to, port) => nemesis.route(from, to, port),
      });
      await ensemble.settled(60_000);
    }, 90_000);

    afterAll(async () => {
      for (const schedule of failoverSchedules) {
        const of = timed.filter((run) => run.schedule === schedule);
        if (of.length === 0) continue;
        const { minMs, medianMs, maxMs } = spread(of);
        console.log(
          `${target.name} ${schedule}: ${of.length} runs, min ${minMs} ms, median ${medianMs} ms, max ${maxMs} ms (${of.map((run) => run.electedMs).join(', ')})`,
        );
        for (const run of of) if (run.failure !== undefined) console.log(`  ${schedule}: ${run.failure}`);
      }
      await ensemble?.stop();
      await nemesis.close();
    }, 60_000);

    it('a silent leader: the others elect once syncLimit has passed', async () => {
      for (let i = 0; i < runs; i++) {
        const run = await runFailover(ensemble!, nemesis, 'silentLeader');
        timed.push(run);
        if (target.kind !== 'zabkit') continue;
        expect(run.failure).toBeUndefined();
        // Not before its silence could reach syncLimit (its last ping came up to half a tick
        // before the cut); then the election itself, on a loaded machine.
        expect(run.electedMs).toBeGreaterThanOrEqual(syncLimitMs - tickTime);
        expect(run.electedMs).toBeLessThan(syncLimitMs + 4000);
      }
    }, 600_000);

    it('a killed leader: the others elect without waiting on any limit', async () => {
      for (let i = 0; i < runs; i++) {
        const run = await runFailover(ensemble!, nemesis, 'killLeader');
        timed.push(run);
        if (target.kind !== 'zabkit') continue;
        expect(run.failure).toBeUndefined();
        expect(run.electedMs).toBeLessThan(syncLimitMs);
      }
    }, 600_000);

    it('a restarted follower not yet rejoined when the leader is cut off: the two elect after syncLimit, not initLimit', async () => {
      for (let i = 0; i < runs; i++) {
        const run = await runFailover(ensemble!, nemesis, 'restartedThenLeaderCut');
        timed.push(run);
        if (target.kind !== 'zabkit') continue;
        expect(run.failure).toBeUndefined();
        expect(run.electedMs).toBeLessThan(initLimitMs);
      }
    }, 600_000);
  });
}
