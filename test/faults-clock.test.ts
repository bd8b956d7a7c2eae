/**
 * A wall-clock jump on one real server process (through the fault-injection directory, which
 * offsets the wall clock the peer reads, as `date -s` would): timers run on the monotonic
 * clock, so an hour forward on the leader expires no session, and an hour back on a leader
 * that is then cut off does not keep it serving.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectTcp, type ZabClient } from '@zabkit/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fourLetterWord,
  type ProcessEnsemble,
  startProcessEnsemble,
  until,
} from './support/process-ensemble.js';

const hourMs = 3_600_000;
const tickTime = 200;
const sessionTimeoutMs = 4000;

describe('a wall-clock jump on one server process', () => {
  let ensemble: ProcessEnsemble;
  let faultsDir: (id: number) => string;
  const clients: ZabClient[] = [];

  beforeAll(async () => {
    let root = '';
    ensemble = await startProcessEnsemble({
      size: 3,
      tickTime,
      extraConfig: (id, dir) => {
        root = dir;
        mkdirSync(join(dir, `faults${id}`), { recursive: true });
        return [];
      },
      env: (id) => ({ ZABKIT_FAULT_INJECTION_DIR: join(root, `faults${id}`) }),
    });
    faultsDir = (id) => join(root, `faults${id}`);
    await ensemble.settled();
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await ensemble?.stop();
  });

  const setClock = (id: number, offsetMs: number) =>
    writeFileSync(join(faultsDir(id), 'clock-offset-ms'), `${offsetMs}\n`);

  it('an hour forward on the leader expires no session; its writes carry its wall time', async () => {
    const leader = await ensemble.leader();
    const sessions: ZabClient[] = [];
    for (const member of ensemble.members) {
      const client = await connectTcp(`127.0.0.1:${member.clientPort}`, { sessionTimeoutMs });
      clients.push(client);
      sessions.push(client);
      await client.create(`/owned-${member.id}`, '', { mode: 'ephemeral' });
    }
    setClock(leader.id, hourMs);
    // Three session timeouts: every session would have expired at the jump had the leader's
    // expiry followed its wall clock.
    await new Promise((resolve) => setTimeout(resolve, 3 * sessionTimeoutMs));
    expect(await ensemble.leader()).toBe(leader);
    const check = sessions[0]!;
    for (const member of ensemble.members) {
      const stat = await check.exists(`/owned-${member.id}`);
      expect(stat?.ephemeralOwner).toBe(sessions[member.id - 1]!.sessionId);
    }
    const before = Date.now();
    await check.create('/stamped', '');
    const ctime = Number((await check.exists('/stamped'))!.ctime);
    expect(ctime).toBeGreaterThanOrEqual(before + hourMs - 5000);
    setClock(leader.id, 0);
  }, 60_000);

  it('an hour back on a leader that is then cut off: it stops serving within syncLimit', async () => {
    await ensemble.settled();
    const leader = await ensemble.leader();
    setClock(leader.id, -hourMs);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const others = ensemble.members.filter((member) => member !== leader);
    for (const member of others) member.process?.kill('SIGSTOP');
    try {
      // It must notice it lost its quorum: srvr then says it is not serving.
      const tookMs = await until(async () => {
        const answer = await fourLetterWord(leader.clientPort, 'srvr');
        return answer.includes('not currently serving') ? Date.now() : undefined;
      }, 20_000);
      expect(tookMs).toBeDefined();
    } finally {
      for (const member of others) member.process?.kill('SIGCONT');
      setClock(leader.id, 0);
    }
    await ensemble.settled(30_000);
  }, 60_000);
});
