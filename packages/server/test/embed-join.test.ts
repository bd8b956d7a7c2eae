/**
 * The join flow on embedded peers over TCP: a service of three instances scaled to five and
 * back to three with nothing but `startPeer({ join })` and `close({ leave: true })`, while a
 * client writes, losing nothing; each joiner reports its steps.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import type { ZabClient } from '@zabkit/client';
import { afterAll, describe, expect, it } from 'vitest';
import { startSteadyWriter } from '../../../test/support/steady-writer.js';
import { superAuth, superDigest } from '../../../test/support/super-user.js';
import type { JoinChange, PeerChange } from '../src/embed/events.js';
import { type EmbeddedPeer, startPeer } from '../src/embed/peer.js';
import { peerMembers, startPeers, until, untilVersioned } from './embed-ensemble.js';
import { freePort } from './server-process.js';

const common = {
  dataDir: '/unused',
  storage: 'memory',
  tickTime: 500,
  reconfigEnabled: true,
  systemProperties: { superDigest },
} as const;

describe('joining and leaving with startPeer and close', () => {
  const peers = new Map<number, EmbeddedPeer>();
  const clients: ZabClient[] = [];
  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    for (const peer of peers.values()) await peer.close().catch(() => undefined);
  });

  it('scales 3 -> 5 -> 3 while a client writes, losing nothing', async () => {
    const members = await peerMembers(5);
    const initial = members.slice(0, 3);
    for (const peer of await startPeers(initial, common)) peers.set(peer.id, peer);
    await untilVersioned(peers.values());

    const client = await peers.get(1)!.client({ sessionTimeoutMs: 10_000 });
    clients.push(client);
    const writer = await startSteadyWriter(client, 20);
    const { acknowledged } = writer;

    const connectString = initial.map((m) => `127.0.0.1:${m.clientPort}`).join(',');
    for (const member of members.slice(3)) {
      const { id, ...address } = member;
      const peer = await startPeer({
        id,
        member: address,
        join: { connectString, auth: superAuth },
        ...common,
      });
      peers.set(id, peer);
      const steps: JoinChange['step'][] = [];
      const stream = peer.changes();
      const view = await peer.joined();
      for (;;) {
        const { value } = await stream.next();
        const change = value as PeerChange;
        if (change.kind === 'join') steps.push(change.step);
        if (change.kind === 'join' && (change.step === 'joined' || change.step === 'failed')) break;
      }
      await stream.return?.();
      expect(steps).toEqual(['observer', 'synced', 'participant', 'joined']);
      expect(view?.members.find((m) => m.id === id)).toEqual({ ...member });
      await until(() => peer.status().role === 'following' || peer.status().role === 'leading');
    }
    await until(() => [...peers.values()].every((peer) => peer.membership()!.members.length === 5));
    const grown = acknowledged.length;
    await until(() => acknowledged.length > grown);

    // Back to 3: a joiner, then whichever server leads, each removing itself as it closes.
    for (const pick of [
      () => peers.get(4)!,
      () => [...peers.values()].find((p) => p.status().role === 'leading')!,
    ]) {
      const leaving = pick();
      await leaving.close({ leave: true });
      peers.delete(leaving.id);
      await until(() =>
        [...peers.values()].every((peer) => peer.membership()!.members.every((m) => m.id !== leaving.id)),
      );
    }
    await Promise.all([...peers.values()].map((peer) => peer.ready({ timeoutMs: 30_000 })));
    const count = acknowledged.length;
    expect(count).toBeGreaterThan(grown);
    await until(() => acknowledged.length >= count + 5);
    await writer.stop();
    const reader = await [...peers.values()][0]!.client({ sessionTimeoutMs: 10_000 });
    clients.push(reader);
    expect(await writer.missingFrom(reader)).toEqual([]);
    expect([...peers.values()].every((peer) => peer.membership()!.members.length === 3)).toBe(true);
  }, 180_000);

  it('a joiner restarted with the same options finds itself a member and only starts, from its disk', async () => {
    const root = await mkdtemp(joinPath(tmpdir(), 'zabkit-join-'));
    const list = await peerMembers(3);
    const started = await startPeers(list, common);
    let joiner: EmbeddedPeer | undefined;
    try {
      await untilVersioned(started);
      const options = {
        id: 4,
        member: { host: '127.0.0.1', port: await freePort(), clientPort: await freePort() },
        join: { connectString: `127.0.0.1:${list[1]!.clientPort}`, auth: superAuth },
        ...common,
        storage: 'level' as const,
        dataDir: joinPath(root, 'peer-4'),
      };
      joiner = await startPeer(options);
      const first = await joiner.joined();
      const zk = await joiner.client({ sessionTimeoutMs: 10_000 });
      await zk.create('/written-while-joined', 'x');
      await zk.close();
      await joiner.close();
      const versionBefore = first!.version;
      joiner = await startPeer(options);
      const steps: string[] = [];
      joiner.on('join', (change) => steps.push(change.step));
      const again = await joiner.joined();
      // No reconfig this time: the same version, and the steps of a member already in its role.
      expect(again!.version).toBe(versionBefore);
      expect(steps).toEqual(['observer', 'synced', 'joined']);
      expect(joiner.status().role).toBe('following');
      const local = await joiner.client({ sessionTimeoutMs: 10_000 });
      expect(await local.exists('/written-while-joined')).not.toBeNull();
      await local.close();
    } finally {
      await joiner?.close();
      for (const peer of started) await peer.close();
      await rm(root, { recursive: true, force: true });
    }
  }, 90_000);

  it('refuses a join without the right to reconfigure, naming NoAuth', async () => {
    const list = await peerMembers(2);
    const started = await startPeers(list, common);
    try {
      await untilVersioned(started);
      const joining = startPeer({
        id: 3,
        member: { host: '127.0.0.1', port: await freePort() },
        join: `127.0.0.1:${list[0]!.clientPort}`,
        ...common,
      });
      await expect(joining).rejects.toMatchObject({ codeName: 'NoAuth' });
      // Nobody at the address: the join gives up within its bound, with no peer started.
      const nowhere = startPeer({
        id: 3,
        member: { host: '127.0.0.1', port: await freePort() },
        join: { connectString: `127.0.0.1:${await freePort()}`, timeoutMs: 1500 },
        ...common,
      });
      await expect(nowhere).rejects.toThrow();
      // Joining goes with `member` and without `peers`.
      await expect(
        startPeer({ id: 3, join: `127.0.0.1:${list[0]!.clientPort}`, ...common }),
      ).rejects.toMatchObject({
        key: 'member',
      });
    } finally {
      for (const peer of started) await peer.close();
    }
  }, 60_000);
});
