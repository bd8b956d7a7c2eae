/**
 * A 3-server ensemble of separate processes on loopback, started with `zabkit server
 * --config`, as an operator would. The leader dies by SIGKILL under a connected client; a
 * minority cut off from the others (its peers stopped with SIGSTOP) must refuse writes.
 */
import { connectTcp, type ZabClient } from '@zabkit/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fourLetterWord,
  type ProcessEnsemble,
  startProcessEnsemble,
  until,
} from './support/process-ensemble.js';

const attempt = async (write: () => Promise<unknown>) => {
  try {
    await write();
    return true;
  } catch {
    return undefined;
  }
};

describe('a 3-server ensemble of separate processes', () => {
  let ensemble: ProcessEnsemble;
  const clients: ZabClient[] = [];

  beforeAll(async () => {
    ensemble = await startProcessEnsemble({ size: 3 });
    await ensemble.settled();
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await ensemble?.stop();
  });

  it('keeps a session and its ephemerals when the leader it is connected to is killed', async () => {
    const first = await ensemble.leader();
    const others = ensemble.members.filter((member) => member !== first);
    const connectString = [first, ...others].map((member) => `127.0.0.1:${member.clientPort}`).join(',');
    const client = await connectTcp(connectString, { sessionTimeoutMs: 4000, shuffle: false });
    clients.push(client);
    const sessionId = client.sessionId;
    await client.create('/owned', 'mine', { mode: 'ephemeral' });
    await client.create('/before', 'x');

    await first.kill();
    const next = await ensemble.leader();
    expect(next).not.toBe(first);

    // The client finds another server and keeps its session; writes go on.
    await until(() => attempt(() => client.create('/after', 'y')));
    expect(client.sessionId).toBe(sessionId);
    const observer = await connectTcp(others.map((member) => `127.0.0.1:${member.clientPort}`).join(','));
    clients.push(observer);
    const stat = await observer.exists('/owned');
    expect(stat?.ephemeralOwner).toBe(sessionId);
    expect((await observer.getData('/before')).data).toEqual(new TextEncoder().encode('x'));

    // The killed server comes back from its disk and catches up.
    first.start();
    await until(async () => ((await first.mode()) === 'follower' ? true : undefined));
    const late = await connectTcp(`127.0.0.1:${first.clientPort}`);
    clients.push(late);
    await late.sync('/');
    expect(await late.exists('/after')).not.toBeNull();
  }, 60_000);

  it('a server cut off from the others (they are stopped) accepts no writes', async () => {
    await ensemble.settled();
    const lone = ensemble.members[0]!;
    const client = await connectTcp(`127.0.0.1:${lone.clientPort}`, { sessionTimeoutMs: 4000 });
    clients.push(client);
    await client.create('/while-whole', '');
    const stopped = ensemble.members.filter((member) => member !== lone);
    for (const member of stopped) member.process?.kill('SIGSTOP');
    try {
      // Whatever the lone server accepts now cannot commit without the others.
      let accepted = 0;
      const deadline = Date.now() + 2000;
      while (Date.now() < deadline) {
        if (await attempt(() => client.create(`/while-cut-${accepted}`, ''))) accepted++;
        else await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(accepted).toBe(0);
      // Once it has given its leader up it is looking, and says it serves no one, as ZooKeeper does.
      await until(
        async () =>
          (await fourLetterWord(lone.clientPort, 'srvr')).includes('not currently serving') || undefined,
      );
      expect(await fourLetterWord(lone.clientPort, 'isro')).toBe('null');
      expect(await fourLetterWord(lone.clientPort, 'ruok')).toBe('imok');
    } finally {
      for (const member of stopped) member.process?.kill('SIGCONT');
    }
    await until(() => attempt(() => client.create('/healed', '')));
  }, 60_000);
});
