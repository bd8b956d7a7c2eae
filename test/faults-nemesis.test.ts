/**
 * Real processes under a network nemesis: three servers whose every peer link runs through a
 * TCP proxy, a workload through a real ZooKeeper client (kazoo), and a schedule of faults drawn
 * from a seed: the leader isolated, a follower cut off (minority/majority), one way of a link
 * cut, every link slowed, the leader stopped (SIGSTOP) for longer than syncLimit x tickTime. The history must pass the checkers in support/workload.ts. The same
 * harness runs against Apache ZooKeeper 3.8 as a control, which must pass too.
 *
 * CI runs seeds 1 and 6 on each (between them every kind of fault); ZABKIT_FAULT_SEEDS=1,2,3,4,5 runs
 * others.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Nemesis } from './support/nemesis.js';
import { type ProcessEnsemble, startProcessEnsemble } from './support/process-ensemble.js';
import { check, finalStateOf, prepare, runWorkload, summary } from './support/workload.js';
import { startZooKeeperEnsemble, zookeeperInstalled } from './support/zookeeper-ensemble.js';

const seeds = (process.env.ZABKIT_FAULT_SEEDS ?? '1,6').split(',').map(Number);
const tickTime = 200;
const phaseMs = 3000;

/** A small deterministic generator, so a seed names a schedule. */
function random(seed: number): () => number {
  let state = Math.imul(seed, 2654435761) >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  // Small seeds start alike: let the state mix first.
  for (let i = 0; i < 8; i++) next();
  return next;
}

type Fault = 'isolateLeader' | 'minority' | 'oneWayFromLeader' | 'oneWayToLeader' | 'slow' | 'pauseLeader';
const faults: readonly Fault[] = [
  'isolateLeader',
  'minority',
  'oneWayFromLeader',
  'oneWayToLeader',
  'slow',
  'pauseLeader',
];

async function leaderId(ensemble: ProcessEnsemble): Promise<number> {
  try {
    return (await ensemble.leader(5000)).id;
  } catch {
    return 1;
  }
}

/** Runs the schedule: a fault for a phase, healed for a phase, three times. Returns when it last healed. */
async function schedule(ensemble: ProcessEnsemble, nemesis: Nemesis, seed: number): Promise<number> {
  const next = random(seed);
  let healedAt = Date.now();
  for (let round = 0; round < 3; round++) {
    const fault = faults[Math.floor(next() * faults.length)]!;
    const leader = await leaderId(ensemble);
    const others = ensemble.members.map((m) => m.id).filter((id) => id !== leader);
    const follower = others[Math.floor(next() * others.length)]!;
    switch (fault) {
      case 'isolateLeader':
        nemesis.isolate(leader);
        break;
      case 'minority':
        nemesis.partition([follower]);
        break;
      case 'oneWayFromLeader':
        nemesis.cutOneWay(leader, follower);
        break;
      case 'oneWayToLeader':
        nemesis.cutOneWay(follower, leader);
        break;
      case 'slow':
        nemesis.delayAll(50);
        break;
      case 'pauseLeader':
        // Longer than syncLimit x tickTime: the others elect a new leader meanwhile.
        nemesis.log.push(`${new Date().toISOString()} SIGSTOP leader ${leader}`);
        ensemble.members.find((m) => m.id === leader)?.process?.kill('SIGSTOP');
        break;
    }
    await new Promise((resolve) => setTimeout(resolve, phaseMs));
    if (fault === 'pauseLeader') {
      nemesis.log.push(`${new Date().toISOString()} SIGCONT ${leader}`);
      ensemble.members.find((m) => m.id === leader)?.process?.kill('SIGCONT');
    }
    nemesis.heal();
    healedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, phaseMs));
  }
  return healedAt;
}

interface Target {
  readonly name: string;
  readonly available: boolean;
  start(nemesis: Nemesis): Promise<ProcessEnsemble>;
}

const targets: readonly Target[] = [
  {
    name: 'zabkit',
    available: true,
    start: (nemesis) =>
      startProcessEnsemble({ size: 3, tickTime, route: (from, to, port) => nemesis.route(from, to, port) }),
  },
  {
    name: 'Apache ZooKeeper 3.8 (control)',
    available: zookeeperInstalled,
    start: (nemesis) =>
      startZooKeeperEnsemble({ size: 3, tickTime, route: (from, to, port) => nemesis.route(from, to, port) }),
  },
];

let running: { ensemble?: ProcessEnsemble; nemesis: Nemesis } | undefined;
afterEach(async () => {
  await running?.ensemble?.stop();
  await running?.nemesis.close();
  running = undefined;
});

for (const target of targets) {
  describe.skipIf(!target.available)(`${target.name} under a network nemesis`, () => {
    for (const seed of seeds) {
      it(`seed ${seed}: the history passes every checker`, async () => {
        const nemesis = new Nemesis();
        running = { nemesis };
        const ensemble = await target.start(nemesis);
        running.ensemble = ensemble;
        await ensemble.settled(60_000);
        await prepare(ensemble.connectString);
        const workloadSeconds = 6 * (phaseMs / 1000) + 3;
        const [records, lastHealMs] = await Promise.all([
          runWorkload(ensemble.connectString, workloadSeconds, seed),
          schedule(ensemble, nemesis, seed),
        ]);
        const phase = (what: string) => nemesis.log.push(`${new Date().toISOString()} ${what}`);
        phase(`workload done: ${records.length} operations`);
        try {
          await ensemble.settled(60_000);
        } catch {
          const modes = await Promise.all(ensemble.members.map((m) => m.mode()));
          throw new Error(
            `not every server serves after the faults (${modes.join(', ')}): ${nemesis.log.join('; ')}`,
          );
        }
        phase('every server serves');
        const finals = [];
        for (const member of ensemble.members) finals.push(await finalStateOf(member));
        const problems = check(records, finals, lastHealMs);
        console.log(`${target.name} seed ${seed}: ${summary(records)}\n  ${nemesis.log.join('\n  ')}`);
        expect(problems).toEqual([]);
        // The workload did get work done through the faults.
        expect(records.filter((r) => r.op !== 'read' && r.outcome === 'ok').length).toBeGreaterThan(20);
      }, 180_000);
    }
  });
}
