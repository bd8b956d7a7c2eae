/**
 * A zabkit ensemble of three `zabkit server` processes grown to five and shrunk back to three
 * with reconfig while a client writes: nothing acknowledged is lost, every member's zoo.cfg
 * ends up pointing at the dynamic configuration file of the last change, and a member
 * restarted afterwards starts from it.
 *
 * Here each new server is first added as an observer, started, and made a participant once
 * it serves: a way that needs no server outside the membership to connect.
 * test/differential/reconfig.test.ts and test/non-member-join-tcp.test.ts start the new
 * servers first, as ZooKeeper's guide does: they sync as non-voting followers, then are added.
 */
import { readFileSync } from 'node:fs';
import { connectTcp, type ZabClient } from '@zabkit/client';
import { afterAll, describe, expect, it } from 'vitest';
import { readDynamicConfigFile } from '../packages/server/src/dynamic-config.js';
import {
  type Member,
  type ProcessEnsemble,
  startProcessEnsemble,
  until,
} from './support/process-ensemble.js';
import { startSteadyWriter } from './support/steady-writer.js';
import { connectAsSuper, superDigestProperty } from './support/super-user.js';

const idsOf = (text: string) =>
  [...text.matchAll(/^server\.(\d+)=.*:(participant|observer)/gm)].map((m) => `${m[1]}:${m[2]}`);

describe('reconfiguration of a zabkit process ensemble', () => {
  let ensemble: ProcessEnsemble | undefined;
  const clients: ZabClient[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await ensemble?.stop();
  });

  it('grows from 3 to 5 and shrinks back to 3 while a client writes, losing nothing', async () => {
    ensemble = await startProcessEnsemble({
      size: 3,
      standby: 2,
      tickTime: 200,
      reconfigEnabled: true,
      systemProperties: superDigestProperty,
    });
    await ensemble.settled(60_000);
    const admin = await connectAsSuper(ensemble.connectString);
    clients.push(admin);
    const client = await connectTcp(ensemble.connectString, { sessionTimeoutMs: 10_000 });
    clients.push(client);
    const writer = await startSteadyWriter(client, 50);
    const { acknowledged } = writer;
    const [one, , , four, five] = ensemble.members as [Member, Member, Member, Member, Member];
    const config = async () => {
      await admin.sync('/');
      return (await admin.getConfig()).text;
    };
    // ZooKeeper's way (ZOOKEEPER-1783): the first leader gave zoo.cfg's membership a version.
    expect((await admin.getConfig()).version).toBeGreaterThan(0n);

    for (const member of [four, five]) {
      await admin.reconfig({ joining: member.serverLine.replace(':participant;', ':observer;') });
      member.start();
    }
    await until(
      async () =>
        (await four.mode()) === 'observer' && (await five.mode()) === 'observer' ? true : undefined,
      60_000,
    );
    const before = acknowledged.length;
    await admin.reconfig({ joining: [four.serverLine, five.serverLine] });
    expect(idsOf(await config())).toEqual([
      '1:participant',
      '2:participant',
      '3:participant',
      '4:participant',
      '5:participant',
    ]);
    await until(
      async () =>
        (await four.mode()) === 'follower' && (await five.mode()) === 'follower' ? true : undefined,
      60_000,
    );
    // Writes went on through the change.
    await until(async () => (acknowledged.length > before + 10 ? true : undefined), 30_000);

    const grownVersion = (await admin.getConfig()).version!;
    await admin.reconfig({ leaving: [4, 5], fromConfig: grownVersion });
    const shrunk = await config();
    expect(idsOf(shrunk)).toEqual(['1:participant', '2:participant', '3:participant']);
    const midway = acknowledged.length;
    await until(async () => (acknowledged.length > midway + 10 ? true : undefined), 30_000);
    await writer.stop();

    // Every acknowledged write is there, read from a member that stays.
    const reader = await connectTcp(`127.0.0.1:${one.clientPort}`, { sessionTimeoutMs: 10_000 });
    clients.push(reader);
    expect(await writer.missingFrom(reader)).toEqual([]);
    expect(acknowledged.length).toBeGreaterThan(30);

    // Each member that stays keeps the last configuration beside its zoo.cfg, and starts from it.
    const version = (await admin.getConfig()).version!;
    for (const member of ensemble.members.slice(0, 3)) {
      const pointer = await until(async () => {
        const line = /^dynamicConfigFile=(.*)$/m.exec(readFileSync(member.configFile, 'utf8'))?.[1];
        return line?.endsWith(`.dynamic.${version.toString(16)}`) ? line : undefined;
      });
      expect([...(await readDynamicConfigFile(pointer)).servers.keys()]).toEqual([1, 2, 3]);
    }
    await one.kill();
    one.start();
    await until(
      async () => ((await one.mode()) === 'follower' || (await one.mode()) === 'leader' ? true : undefined),
      60_000,
    );
    const again = await connectTcp(`127.0.0.1:${one.clientPort}`, { sessionTimeoutMs: 10_000 });
    clients.push(again);
    expect(idsOf((await again.getConfig()).text)).toEqual([
      '1:participant',
      '2:participant',
      '3:participant',
    ]);
  }, 300_000);
});
