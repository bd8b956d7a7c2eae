/**
 * ZooKeeper's way to add a server, on `zabkit server` processes whose peer links are
 * authenticated with the quorum secret: the new server starts first (its zoo.cfg names the
 * members and itself), connects and syncs as a non-voting follower, serves clients, and only
 * a reconfig makes it a voter. A server outside the membership without the secret is refused
 * (authMismatch) and never serves, and the members say so in their logs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectTcp, type ZabClient } from '@zabkit/client';
import { afterAll, describe, expect, it } from 'vitest';
import {
  logRecords,
  type Member,
  type ProcessEnsemble,
  startProcessEnsemble,
  until,
} from './support/process-ensemble.js';
import { connectAsSuper, superDigestProperty } from './support/super-user.js';

describe('a server started outside the membership of an authenticated ensemble', () => {
  let ensemble: ProcessEnsemble | undefined;
  const clients: ZabClient[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-join-secret-'));
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await ensemble?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('syncs as a non-voting follower with the secret and is then added; one without the secret is refused', async () => {
    const secretFile = join(dir, 'quorum.secret');
    writeFileSync(secretFile, 'an ensemble secret of enough length\n');
    ensemble = await startProcessEnsemble({
      size: 3,
      standby: 2,
      tickTime: 200,
      reconfigEnabled: true,
      logLevel: 'info',
      systemProperties: superDigestProperty,
      // Server 5 holds no secret: a stranger that cannot authenticate.
      extraConfig: (id) => (id === 5 ? [] : [`zabkit.quorum.secretFile=${secretFile}`]),
    });
    await ensemble.settled(60_000);
    const [, , , four, five] = ensemble.members as [Member, Member, Member, Member, Member];
    const admin = await connectAsSuper(ensemble.connectString);
    clients.push(admin);
    await admin.create('/before', 'b');

    four.start();
    five.start();
    // Server 4 follows before it is a member: it serves what the ensemble wrote.
    await until(async () => ((await four.mode()) === 'follower' ? true : undefined), 60_000);
    const onFour = await connectTcp(`127.0.0.1:${four.clientPort}`, { sessionTimeoutMs: 10_000 });
    clients.push(onFour);
    await onFour.sync('/');
    expect(new TextDecoder().decode((await onFour.getData('/before')).data)).toBe('b');
    expect((await onFour.getConfig()).text).not.toMatch(/^server\.4=/m);
    // Server 5 is refused by every member it reaches, and never serves.
    await until(
      async () =>
        ensemble!.members
          .slice(0, 3)
          .some((member) =>
            logRecords(member).some((line) => line.reason === 'authMismatch' && line.claimedServerId === 5),
          )
          ? true
          : undefined,
      30_000,
    );
    expect(await five.mode()).toBeUndefined();
    // The leader logged the server it accepted from outside the membership.
    const leader = await ensemble.leader();
    expect(
      logRecords(leader).some(
        (line) =>
          typeof line.msg === 'string' &&
          line.msg.startsWith('accepted a server outside the membership') &&
          line.peer === 4,
      ),
    ).toBe(true);

    const added = await admin.reconfig({ joining: [four.serverLine] });
    expect(added.text).toContain(four.serverLine);
    await onFour.sync('/');
    expect((await onFour.getConfig()).text).toContain(four.serverLine);
    expect(await four.mode()).toBe('follower');
    // Four voters: losing one of the first three leaves three, a quorum with server 4 in it.
    const lost = ensemble.members.slice(0, 3).find((member) => member !== leader)!;
    await lost.kill();
    await onFour.create('/after', 'a');
    // Another server's client sees it once its server caught up: a sync first, as in ZooKeeper.
    await admin.sync('/');
    expect(new TextDecoder().decode((await admin.getData('/after')).data)).toBe('a');
  }, 180_000);
});
