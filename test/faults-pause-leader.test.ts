/**
 * The leader of a 3-process ensemble stopped (SIGSTOP) for longer than syncLimit x tickTime,
 * then resumed (SIGCONT): the others elect a new leader and commit meanwhile. When it resumes,
 * its clock has leapt by the pause: it must not answer its clients from the state it was
 * stopped with once the new leader has committed past it, and it must not take the leap for
 * every session's silence and expire them all.
 */
import { connectTcp, type ZabClient } from '@zabkit/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProcessEnsemble, startProcessEnsemble, until } from './support/process-ensemble.js';

const tickTime = 200;
/** syncLimit is 5 ticks in these ensembles: the pause is three times that. */
const pauseMs = 3 * 5 * tickTime;
const sessionTimeoutMs = 8000;
const text = (data: Uint8Array | null) => (data === null ? null : Buffer.from(data).toString());

describe('the leader stopped past syncLimit, then resumed', () => {
  let ensemble: ProcessEnsemble;
  const clients: ZabClient[] = [];

  beforeAll(async () => {
    ensemble = await startProcessEnsemble({ size: 3, tickTime });
    await ensemble.settled();
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await ensemble?.stop();
  });

  it('answers no read from before the new leader commits, and expires no session', async () => {
    const leader = await ensemble.leader();
    const follower = ensemble.members.find((member) => member !== leader)!;
    // A session on each server, each with an ephemeral of its own.
    const sessions: ZabClient[] = [];
    for (const member of ensemble.members) {
      const client = await connectTcp(`127.0.0.1:${member.clientPort}`, { sessionTimeoutMs });
      clients.push(client);
      sessions.push(client);
      await client.create(`/owned-${member.id}`, '', { mode: 'ephemeral' });
    }
    const onLeader = sessions[ensemble.members.indexOf(leader)]!;
    await onLeader.create('/k', 'before');
    const writer = await connectTcp(`127.0.0.1:${follower.clientPort}`, { sessionTimeoutMs });
    clients.push(writer);
    await writer.sync('/');
    expect(text((await writer.getData('/k')).data)).toBe('before');

    leader.process?.kill('SIGSTOP');
    let committedAfter: number;
    try {
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
      // The others elect and commit without it.
      committedAfter = await until(async () => {
        try {
          await writer.setData('/k', 'after', { timeoutMs: 2000 });
          return Date.now();
        } catch {
          return undefined;
        }
      }, 30_000);
    } finally {
      leader.process?.kill('SIGCONT');
    }
    expect(committedAfter).toBeGreaterThan(0);

    // From the moment it resumes, every read it answers has the new value: none the old one.
    const answers: (string | null)[] = [];
    const readsUntil = Date.now() + 3000;
    while (Date.now() < readsUntil) {
      try {
        answers.push(text((await onLeader.getData('/k', { timeoutMs: 500, retry: false })).data));
      } catch {
        // Not serving, or the link lost: a refusal is no stale answer.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    expect(answers.filter((answer) => answer !== 'after')).toEqual([]);

    // Every session outlived the pause, its ephemeral with it.
    await ensemble.settled(30_000);
    for (const [i, member] of ensemble.members.entries()) {
      const stat = await until(async () => {
        try {
          return (await writer.exists(`/owned-${member.id}`)) ?? 'missing';
        } catch {
          return undefined;
        }
      });
      expect(stat).not.toBe('missing');
      expect(stat === 'missing' ? undefined : stat.ephemeralOwner).toBe(sessions[i]!.sessionId);
    }
    for (const session of sessions) expect((await session.exists('/k'))?.version).toBe(1);
  }, 90_000);
});
