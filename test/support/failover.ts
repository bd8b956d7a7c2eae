/**
 * Failover schedules on a real 3-process ensemble whose peer links run through the nemesis's
 * proxies, each timed from the fault until the two servers left have a leader and a follower
 * serving (srvr says so, polled every 50 ms). Between runs the fault is undone and every
 * server serves again, so one ensemble serves many runs.
 *
 * - `silentLeader`: every link to and from the leader is cut (its process runs on, deaf and
 *   mute): the others notice its silence after syncLimit x tickTime, then elect.
 * - `killLeader`: SIGKILL of the leader: its links reset at once.
 * - `restartedThenLeaderCut`: a follower is killed and started again, and the leader is cut
 *   off as soon as the restarted one answers on its client port, before it has rejoined.
 */
import type { Nemesis } from './nemesis.js';
import { fourLetterWord, type Member, type ProcessEnsemble, until } from './process-ensemble.js';

export type FailoverSchedule = 'silentLeader' | 'killLeader' | 'restartedThenLeaderCut';
export const failoverSchedules: readonly FailoverSchedule[] = [
  'silentLeader',
  'killLeader',
  'restartedThenLeaderCut',
];

export interface FailoverRun {
  readonly schedule: FailoverSchedule;
  /** From the fault until a leader and a follower serve among the servers left. */
  readonly electedMs: number;
  /** The server that leads afterwards, when one did in time. */
  readonly newLeader?: number;
  /** Why no leader was timed (electedMs is then Infinity). */
  readonly failure?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the new leader's id once `ids` serve as one leader and followers. */
async function servingAmong(ensemble: ProcessEnsemble, ids: readonly number[], timeoutMs: number) {
  const members = ids.map((id) => ensemble.members.find((m) => m.id === id)!);
  return until(async () => {
    const modes = await Promise.all(members.map((m) => m.mode()));
    const leaders = members.filter((_, i) => modes[i] === 'leader');
    if (leaders.length !== 1) return undefined;
    if (!modes.every((mode) => mode === 'leader' || mode === 'follower')) return undefined;
    return leaders[0]!.id;
  }, timeoutMs);
}

/**
 * Resolves once every server serves as leader or follower. One that does not within
 * `timeoutMs` (a ZooKeeper whose election gave up, a JVM slow to start on a loaded machine) is
 * started again, once; if even then not every server serves, the error says what each logged.
 */
export async function everyServerServes(ensemble: ProcessEnsemble, timeoutMs = 60_000): Promise<void> {
  try {
    await ensemble.settled(timeoutMs);
    return;
  } catch {
    for (const member of ensemble.members) {
      const mode = await member.mode();
      if (mode === 'leader' || mode === 'follower') continue;
      await member.kill();
      member.start();
    }
  }
  try {
    await ensemble.settled(2 * timeoutMs);
  } catch (error) {
    const modes = await Promise.all(
      ensemble.members.map(async (m) => `${m.id}: ${(await m.mode()) ?? 'not serving'}`),
    );
    const logs = ensemble.members.map((m) => `server ${m.id}'s last log lines:\n${m.log(30)}`).join('\n');
    throw new Error(`not every server serves, even after a restart (${modes.join('; ')})\n${logs}`, {
      cause: error,
    });
  }
}

/** Runs one schedule and undoes it: every server serves again when it resolves. */
export async function runFailover(
  ensemble: ProcessEnsemble,
  nemesis: Nemesis,
  schedule: FailoverSchedule,
  timeoutMs = 60_000,
): Promise<FailoverRun> {
  // One leader and the rest following: a deposed leader that still says it leads must not
  // be taken for the one to cut off (the others would already have a leader).
  const leaderId = await servingAmong(
    ensemble,
    ensemble.members.map((m) => m.id),
    120_000,
  );
  const leader = ensemble.members.find((m) => m.id === leaderId)!;
  const others = ensemble.members.filter((m) => m.id !== leader.id).map((m) => m.id);
  let startedMs: number;
  if (schedule === 'silentLeader') {
    startedMs = Date.now();
    nemesis.isolate(leader.id);
  } else if (schedule === 'killLeader') {
    startedMs = Date.now();
    await leader.kill();
  } else {
    const restarted: Member = ensemble.members.find((m) => m.id === others[0])!;
    await restarted.kill();
    // Long enough for the leader and the other follower to carry on without it.
    await sleep(1000);
    restarted.start();
    // It answers (not serving yet) once it listens: cut the leader off then.
    await until(async () => ((await fourLetterWord(restarted.clientPort, 'srvr')) === '' ? undefined : true));
    startedMs = Date.now();
    nemesis.isolate(leader.id);
  }
  let newLeader: number | undefined;
  let electedMs = Number.POSITIVE_INFINITY;
  let failure: string | undefined;
  try {
    newLeader = await servingAmong(ensemble, others, timeoutMs);
    electedMs = Date.now() - startedMs;
  } catch {
    // No leader in time: said, with what each server says of itself, and the run goes on.
    const modes = await Promise.all(
      ensemble.members.map(async (m) => `${m.id}: ${(await m.mode()) ?? 'not serving'}`),
    );
    // With what each logged last: why an election did not end is in there.
    const logs = ensemble.members.map((m) => `server ${m.id}'s last log lines:\n${m.log(30)}`).join('\n');
    failure = `no leader among servers ${others.join(', ')} within ${timeoutMs} ms (${modes.join('; ')})\n${logs}`;
  }
  if (schedule === 'killLeader') leader.start();
  else nemesis.heal();
  await everyServerServes(ensemble);
  return failure === undefined ? { schedule, electedMs, newLeader } : { schedule, electedMs, failure };
}

/** Min, median and max of a schedule's runs, in ms. */
export function spread(runs: readonly FailoverRun[]): { minMs: number; medianMs: number; maxMs: number } {
  const sorted = runs.map((run) => run.electedMs).sort((a, b) => a - b);
  return {
    minMs: sorted[0] ?? Number.NaN,
    medianMs: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
  };
}
