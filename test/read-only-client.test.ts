/**
 * Read-only mode with zabkit's own client, against three `zabkit server` processes started
 * with -Dreadonlymode.enabled=true: two are killed, the survivor serves the client (which
 * allows read-only connections) read-only, refuses its writes with NotReadOnly, and once the
 * two are back the client is connected read-write again and writes.
 */
import { connectTcp, type ZabClient, ZabError } from '@zabkit/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fourLetterWord,
  type ProcessEnsemble,
  startProcessEnsemble,
  until,
} from './support/process-ensemble.js';

describe('read-only mode through the zabkit client', () => {
  let ensemble: ProcessEnsemble;
  const clients: ZabClient[] = [];

  beforeAll(async () => {
    ensemble = await startProcessEnsemble({
      size: 3,
      tickTime: 500,
      systemProperties: { 'readonlymode.enabled': 'true' },
    });
    await ensemble.settled();
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await ensemble?.stop();
  });

  it('reads while cut off from the quorum, is refused writes, and writes again once it returns', async () => {
    const [survivor, ...others] = ensemble.members;
    const writer = await connectTcp(ensemble.connectString, { sessionTimeoutMs: 4000 });
    clients.push(writer);
    await writer.create('/kept', 'before');
    await writer.sync('/kept');
    await writer.close();
    for (const member of others) await member.kill();
    await until(
      async () => ((await fourLetterWord(survivor!.clientPort, 'isro')) === 'ro' ? true : undefined),
      30_000,
    );

    const reader = await connectTcp(`127.0.0.1:${survivor!.clientPort}`, {
      sessionTimeoutMs: 4000,
      allowReadOnly: true,
    });
    clients.push(reader);
    expect(reader.state).toBe('connectedReadOnly');
    expect(new TextDecoder().decode((await reader.getData('/kept')).data!)).toBe('before');
    await expect(reader.create('/refused', 'x')).rejects.toSatisfy(
      (error) => error instanceof ZabError && error.is('NotReadOnly'),
    );

    for (const member of others) member.start();
    await until(async () => (reader.state === 'connected' ? true : undefined), 60_000);
    await reader.create('/after', 'x');
    expect((await reader.exists('/after'))?.version).toBe(0);
  }, 120_000);
});
