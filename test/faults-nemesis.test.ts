/**
 * Real processes under a network nemesis: three servers whose every peer link runs through a
 * TCP proxy, a workload through a real ZooKeeper client (kazoo), and a schedule of faults drawn
 * from a seed: the leader isolated, a follower cut off (minority/majority), the leader and a
 * follower cut from each other while the third server reaches both (a bridge), one way of a
 * link cut, every link slowed, the leader stopped (SIGSTOP) for longer than syncLimit x tickTime.
 * The history must pass the checkers in support/workload.ts. The same harness runs against
 * Apache ZooKeeper 3.8 as a control, which must pass too.
 *
 * Against zabkit the schedule also draws disk and clock faults through the fault-injection
 * directory: slow writes on the leader, a crash losing writes not yet durable, a full disk
 * (the server stops for good and is restarted), a wall clock an hour off. CI runs a few fixed
 * seeds against each (between them every fault each can be given); ZABKIT_FAULT_SEEDS=1,2,3
 * runs those seeds against both instead, and `npm run test:faults` runs the long set.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { zookeeperInstalled } from './support/apache-zookeeper.js';
import { everyServerServes } from './support/failover.js';
import { Nemesis } from './support/nemesis.js';
import { type ProcessEnsemble, startProcessEnsemble } from './support/process-ensemble.js';
import { check, finalStatesOf, prepare, runWorkload, summary } from './support/workload.js';

const seedsFromEnvironment = process.env.ZABKIT_FAULT_SEEDS?.split(',').map(Number);
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

type NetworkFault =
  | 'isolateLeader'
  | 'minority'
  | 'oneWayFromLeader'
  | 'oneWayToLeader'
  | 'slow'
  | 'pauseLeader'
  | 'bridge';
const networkFaults: readonly NetworkFault[] = [
  'isolateLeader',
  'minority',
  'oneWayFromLeader',
  'oneWayToLeader',
  'slow',
  'pauseLeader',
  'bridge',
];
/** Faults only zabkit's fault-injection directory can make (ZooKeeper has no such hooks). */
type DiskFault = 'slowDisk' | 'crashUnsynced' | 'diskFull' | 'clockJump';
const diskFaults: readonly DiskFault[] = ['slowDisk', 'crashUnsynced', 'diskFull', 'clockJump'];
type Fault = NetworkFault | DiskFault;

/** Writes (or, with undefined, removes) one of a member's fault-injection control files. */
type Inject = (id: number, file: string, content: string | undefined) => void;

async function leaderId(ensemble: ProcessEnsemble): Promise<number> {
  try {
    return (await ensemble.leader(5000)).id;
  } catch {
    return 1;
  }
}

/** Runs the schedule: a fault for a phase, healed for a phase, three times. Returns when it last healed. */
async function schedule(
  ensemble: ProcessEnsemble,
  nemesis: Nemesis,
  seed: number,
  inject: Inject | undefined,
): Promise<number> {
  const next = random(seed);
  const faults: readonly Fault[] = inject === undefined ? networkFaults : [...networkFaults, ...diskFaults];
  const note = (what: string) => nemesis.log.push(`${new Date().toISOString()} ${what}`);
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
      case 'bridge':
        // The leader keeps its quorum through the third server; the follower hears only that one.
        nemesis.cutBetween(leader, follower);
        break;
      case 'pauseLeader':
        // Longer than syncLimit x tickTime: the others elect a new leader meanwhile.
        note(`SIGSTOP leader ${leader}`);
        member(ensemble, leader).process?.kill('SIGSTOP');
        break;
      case 'slowDisk':
        note(`slow disk on leader ${leader} (writes held 100 ms)`);
        inject!(leader, 'write-delay-ms', '100');
        break;
      case 'crashUnsynced':
        // Writes held in memory for 300 ms, then SIGKILL: whatever was not yet durable is lost.
        note(`follower ${follower}: writes held 300 ms, then SIGKILL`);
        inject!(follower, 'write-delay-ms', '300');
        await new Promise((resolve) => setTimeout(resolve, 1000));
        await member(ensemble, follower).kill();
        break;
      case 'diskFull':
        note(`disk full on follower ${follower}`);
        inject!(follower, 'disk-full', '');
        break;
      case 'clockJump': {
        const offsetMs = next() < 0.5 ? -3_600_000 : 3_600_000;
        note(`wall clock of server ${follower} ${offsetMs > 0 ? 'forward' : 'back'} an hour`);
        inject!(follower, 'clock-offset-ms', String(offsetMs));
        break;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, phaseMs));
    if (fault === 'pauseLeader') {
      note(`SIGCONT ${leader}`);
      member(ensemble, leader).process?.kill('SIGCONT');
    }
    if (fault === 'slowDisk') inject!(leader, 'write-delay-ms', undefined);
    if (fault === 'clockJump') inject!(follower, 'clock-offset-ms', undefined);
    if (fault === 'crashUnsynced' || fault === 'diskFull') {
      // A full disk stops the server for good (fail-stop, exit 1): a supervisor restarts it.
      const stopped = member(ensemble, follower);
      if (fault === 'diskFull') note(`server ${follower} exited ${stopped.process?.exitCode ?? 'not'}`);
      await stopped.kill();
      inject!(follower, 'write-delay-ms', undefined);
      inject!(follower, 'disk-full', undefined);
      note(`restart ${follower}`);
      stopped.start();
    }
    nemesis.heal();
    healedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, phaseMs));
  }
  return healedAt;
}

function member(ensemble: ProcessEnsemble, id: number) {
  return ensemble.members.find((m) => m.id === id)!;
}

interface Target {
  readonly name: string;
  readonly available: boolean;
  /** What CI runs: between them, nearly every kind of fault this target can be given. */
  readonly seeds: readonly number[];
  /**
   * A problem the checkers report that is a published defect of this target, with the defect
   * named; undefined for every other problem (which fails the run). zabkit has none.
   */
  readonly knownDefect?: (problem: string) => string | undefined;
  start(nemesis: Nemesis): Promise<{ ensemble: ProcessEnsemble; inject?: Inject }>;
}

const targets: readonly Target[] = [
  {
    name: 'zabkit',
    available: true,
    // slow, isolateLeader, bridge; diskFull, crashUnsynced, oneWayToLeader; oneWayFromLeader,
    // pauseLeader, slowDisk. (The clock jump has faults-clock.test.ts, the minority the long set.)
    seeds: [2, 7, 36],
    async start(nemesis) {
      const root = mkdtempSync(join(tmpdir(), 'zabkit-faults-'));
      const dirOf = (id: number) => join(root, `server${id}`);
      for (const id of [1, 2, 3]) mkdirSync(dirOf(id));
      const ensemble = await startProcessEnsemble({
        size: 3,
        tickTime,
        route: (from, to, port) => nemesis.route(from, to, port),
        env: (id) => ({ ZABKIT_FAULT_INJECTION_DIR: dirOf(id) }),
      });
      const inject: Inject = (id, file, content) => {
        if (content === undefined) rmSync(join(dirOf(id), file), { force: true });
        else writeFileSync(join(dirOf(id), file), `${content}\n`);
      };
      return { ensemble, inject };
    },
  },
  {
    name: 'Apache ZooKeeper 3.8 (control)',
    // CI installs it (.ci/run); elsewhere the control says it is skipped.
    available: zookeeperInstalled,
    // oneWayFromLeader, isolateLeader, pauseLeader; bridge, slow, oneWayToLeader: every network
    // fault but the minority, which the long set draws.
    seeds: [1, 5],
    // Debian's 3.8.0 lets a leader that was cut off keep transactions the new leader never had:
    // after the heal it serves a different /seq (with the leader isolated, as in seed 1: about one
    // run in three here, and the difference lasts). The published 3.8 defects that fit are in its learner sync and shutdown
    // (ZOOKEEPER-4785, a txn-loss race in a DIFF sync, fixed in 3.9.2; ZOOKEEPER-4712, the sync
    // processor left writing while the database is reloaded, fixed in 3.9.3; neither in any 3.8
    // release). Every other check holds it to the same standard as zabkit.
    knownDefect: (problem) =>
      /^server \d's final state differs/.test(problem)
        ? 'ZooKeeper 3.8.0 diverges after a partition (ZOOKEEPER-4785 / ZOOKEEPER-4712, fixed in 3.9)'
        : undefined,
    async start(nemesis) {
      const ensemble = await startProcessEnsemble({
        kind: 'zookeeper',
        size: 3,
        tickTime,
        route: (from, to, port) => nemesis.route(from, to, port),
      });
      return { ensemble };
    },
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
    for (const seed of seedsFromEnvironment ?? target.seeds) {
      it(`seed ${seed}: the history passes every checker`, async () => {
        const nemesis = new Nemesis();
        running = { nemesis };
        const { ensemble, inject } = await target.start(nemesis);
        running.ensemble = ensemble;
        // A server (a JVM) too slow for the first election on a loaded machine starts again.
        await everyServerServes(ensemble);
        await prepare(ensemble.connectString);
        const workloadSeconds = 6 * (phaseMs / 1000) + 3;
        const [records, lastHealMs] = await Promise.all([
          runWorkload(ensemble.connectString, workloadSeconds, seed),
          schedule(ensemble, nemesis, seed, inject),
        ]);
        const phase = (what: string) => nemesis.log.push(`${new Date().toISOString()} ${what}`);
        phase(`workload done: ${records.length} operations`);
        try {
          // ZooKeeper's election backs its notifications off up to 60 s (maxNotificationInterval):
          // a server that looked alone through a partition may take that long to rejoin.
          await ensemble.settled(120_000);
        } catch {
          const modes = await Promise.all(ensemble.members.map((m) => m.mode()));
          const logs = ensemble.members.map((m) => `server ${m.id}'s log:\n${m.log(60)}`).join('\n');
          throw new Error(
            `not every server serves after the faults (${modes.map((mode) => mode ?? 'not serving').join(', ')}): ${nemesis.log.join('; ')}\n${logs}`,
          );
        }
        phase('every server serves');
        const finals = await finalStatesOf(ensemble.members);
        const problems = check(records, finals, lastHealMs);
        const known = problems.filter((p) => target.knownDefect?.(p) !== undefined);
        console.log(
          `${target.name} seed ${seed}: ${summary(records)}\n  ${nemesis.log.join('\n  ')}` +
            known.map((p) => `\n  known defect, ${target.knownDefect?.(p)}: ${p}`).join(''),
        );
        expect(problems.filter((p) => !known.includes(p))).toEqual([]);
        // The workload did get work done through the faults.
        expect(records.filter((r) => r.op !== 'read' && r.outcome === 'ok').length).toBeGreaterThan(20);
      }, 420_000);
    }
  });
}
