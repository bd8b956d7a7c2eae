/**
 * How fast a real ensemble has a leader again, behind the nemesis's TCP proxies, at
 * tickTime=1000 with initLimit=10 and syncLimit=5 (support/failover.ts has the schedules).
 * Each schedule runs once in CI against zabkit, with bounds a loaded machine keeps, and the
 * killed leader against Apache ZooKeeper 3.8 as the control (same zoo.cfg, same proxies);
 * ZABKIT_FAILOVER_RUNS=10 (`npm run test:faults`) runs each ten times, ZooKeeper's isolation
 * schedules too, and prints the spread. A cut link takes connections and forwards nothing (a
 * black hole); ZABKIT_FAILOVER_CUT=refuse makes it reset them instead.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zookeeperInstalled } from './support/apache-zookeeper.js';
import {
  everyServerServes,
  type FailoverRun,
  failoverSchedules,
  runFailover,
  spread,
} from './support/failover.js';
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
    // CI installs it (.ci/run); elsewhere the control says it is skipped.
    available: zookeeperInstalled,
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
      // On a loaded machine (CI's whole suite) a JVM may start too slowly for its first
      // election: it is started again rather than the control given up.
      await everyServerServes(ensemble);
    }, 300_000);

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

    const zabkit = target.kind === 'zabkit';
    /*
     * ZooKeeper's isolation schedules (silentLeader, restartedThenLeaderCut) are timed only in the
     * long run and never asserted: these proxies cannot isolate a ZooKeeper server. When a
     * server with the lower id dials one with a higher id for the election, the higher one drops
     * that connection and dials back the address the lower one sent in its first message (its own
     * server.N line: its real port, not a proxy), so that election link bypasses the nemesis. A
     * "cut off" leader is still heard LEADING (or, once it gave up, voting with the highest
     * zxid), so the other two follow it again, reach only its black-holed quorum port, time out
     * and vote for it again, until it is healed (each dataDir's zookeeper.log shows it). The
     * figures then measure that leak, not ZooKeeper. A killed leader needs no cut: asserted.
     */
    const isolating = zabkit || runs > 1;

    if (isolating)
      it('a silent leader: the others elect once syncLimit has passed', async () => {
        for (let i = 0; i < runs; i++) {
          const run = await runFailover(ensemble!, nemesis, 'silentLeader');
          timed.push(run);
          if (!zabkit) continue;
          expect(run.failure).toBeUndefined();
          // Not before its silence could reach syncLimit (its last ping came up to half a tick
          // before the cut); then the election itself, on a loaded machine.
          expect(run.electedMs).toBeGreaterThanOrEqual(syncLimitMs - tickTime);
          expect(run.electedMs).toBeLessThan(syncLimitMs + 4000);
        }
      }, 900_000);

    it('a killed leader: the others elect without waiting on any limit', async () => {
      for (let i = 0; i < runs; i++) {
        const run = await runFailover(ensemble!, nemesis, 'killLeader');
        timed.push(run);
        expect(run.failure).toBeUndefined();
        // The control only has to elect (within runFailover's 60 s): 0.3-0.5 s in some runs
        // here, 10-21 s in others, where one follower left the killed leader ~10 s after the
        // other (its zookeeper.log says so); its figure is printed, not a target.
        if (zabkit) expect(run.electedMs).toBeLessThan(syncLimitMs);
      }
    }, 900_000);

    if (isolating)
      it('a restarted follower not yet rejoined when the leader is cut off: the two elect after syncLimit, not initLimit', async () => {
        for (let i = 0; i < runs; i++) {
          const run = await runFailover(ensemble!, nemesis, 'restartedThenLeaderCut');
          timed.push(run);
          if (!zabkit) continue;
          expect(run.failure).toBeUndefined();
          expect(run.electedMs).toBeLessThan(initLimitMs);
        }
      }, 900_000);
  });
}
