/**
 * The embedding API's membership calls on embedded peers over TCP: `addServer` and
 * `removeServer` from any member, grown from 3 to 5 and back while a client writes, with the
 * wire's errors, and the `membership` event on every member.
 */
import type { ZabClient } from '@zabkit/client';
import { ZabError } from '@zabkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSteadyWriter } from '../../../test/support/steady-writer.js';
import type { MembershipChange } from '../src/embed/events.js';
import type { PeerMember } from '../src/embed/options.js';
import { type EmbeddedPeer, startPeer } from '../src/embed/peer.js';
import { peerMembers, startPeers, until, untilVersioned } from './embed-ensemble.js';
import { freePort } from './server-process.js';

const rolesOf = (peer: EmbeddedPeer) =>
  peer
    .membership()
    ?.members.map((m) => `${m.id}:${m.observer === true ? 'observer' : 'participant'}`)
    .join(',');

async function codeOf(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    if (error instanceof ZabError) return error.codeName;
    throw error;
  }
  return 'ok';
}

describe('addServer and removeServer on embedded peers', () => {
  const peers = new Map<number, EmbeddedPeer>();
  const clients: ZabClient[] = [];
  let members: PeerMember[] = [];
  const options = { dataDir: '/unused', storage: 'memory', tickTime: 500, reconfigEnabled: true } as const;

  const start = async (id: number, list: readonly PeerMember[]) => {
    const peer = await startPeer({ ...options, id, peers: list });
    peers.set(id, peer);
    return peer;
  };
  const leader = () => [...peers.values()].find((peer) => peer.status().role === 'leading');
  const follower = () => [...peers.values()].find((peer) => peer.status().role === 'following');

  beforeAll(async () => {
    // Client ports too: a session whose peer is removed and closed falls back to another's.
    members = await peerMembers(5);
    const initial = members.slice(0, 3);
    for (const peer of await startPeers(initial, options)) peers.set(peer.id, peer);
    await untilVersioned(peers.values());
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    for (const peer of peers.values()) await peer.close();
  });

  it('refuses as the wire does: BadVersion, NewConfigNoQuorum, BadArguments', async () => {
    const via = follower()!;
    const version = via.membership()!.version;
    expect(await codeOf(via.addServer(members[3]!, { as: 'observer', fromConfig: version + 1n }))).toBe(
      'BadVersion',
    );
    // Three voters running and three more that are not: no quorum of six is synced.
    const absent = [6, 7, 8].map((id) => ({ id, host: '127.0.0.1', port: 1 }));
    await via.addServer(absent[0]!);
    const added = await via.addServer(absent[1]!, { as: 'participant' });
    expect(added.members.map((m) => m.id)).toEqual([1, 2, 3, 6, 7]);
    expect(await codeOf(via.addServer(absent[2]!))).toBe('NewConfigNoQuorum');
    await via.removeServer(6);
    await via.removeServer(7);
    // Fewer than two participants.
    const ids = [1, 2, 3].filter((id) => id !== via.id);
    await via.removeServer(ids[0]!);
    expect(await codeOf(via.removeServer(ids[1]!))).toBe('BadArguments');
    await via.addServer(members[ids[0]! - 1]!);
    await until(() =>
      [...peers.values()].every((peer) => rolesOf(peer) === '1:participant,2:participant,3:participant'),
    );
    await Promise.all([...peers.values()].map((peer) => peer.ready({ timeoutMs: 30_000 })));
  }, 60_000);

  it('grows from 3 to 5 and back to 3 from any member while a client writes, losing nothing', async () => {
    const client = await follower()!.client({ sessionTimeoutMs: 10_000 });
    clients.push(client);
    const writer = await startSteadyWriter(client, 50);
    const { acknowledged } = writer;
    const seen: MembershipChange[] = [];
    leader()!.on('membership', (change) => seen.push(change));

    for (const member of members.slice(3)) {
      // Added as an observer by a follower: the members learn its address, it syncs.
      const asObserver = await follower()!.addServer(member, { as: 'observer' });
      expect(asObserver.members.find((m) => m.id === member.id)?.observer).toBe(true);
      const joined = await start(member.id, [...members.slice(0, 3), { ...member, observer: true }]);
      await joined.ready({ timeoutMs: 30_000 });
      expect(joined.status().role).toBe('observing');
      // Promoted by itself: an observer forwards the change to the leader.
      const promoted = await joined.addServer(member, { as: 'participant' });
      expect(promoted.members.find((m) => m.id === member.id)?.observer).toBeUndefined();
      await until(() => joined.status().role === 'following' && joined.status().serving);
    }
    await until(() =>
      [...peers.values()].every(
        (peer) => rolesOf(peer) === [1, 2, 3, 4, 5].map((id) => `${id}:participant`).join(','),
      ),
    );
    // The writes went on while it grew.
    const grown = acknowledged.length;
    await until(() => acknowledged.length > grown);
    // Adding what is there changes nothing.
    const before = follower()!.membership()!.version;
    expect((await follower()!.addServer(members[4]!)).version).toBe(before);

    // Back to 3: the leader removed first, by a follower; then one more, by the leader itself.
    const first = leader()!;
    const removed = await follower()!.removeServer(first.id);
    expect(removed.members.map((m) => m.id)).not.toContain(first.id);
    await until(() => leader() !== undefined && leader() !== first);
    await first.close();
    peers.delete(first.id);
    const next = leader()!;
    const other = [...peers.values()].find((peer) => peer !== next)!;
    await next.removeServer(other.id);
    await other.close();
    peers.delete(other.id);
    await until(() => [...peers.values()].every((peer) => peer.membership()!.members.length === 3));
    await Promise.all([...peers.values()].map((peer) => peer.ready({ timeoutMs: 30_000 })));

    // And while it shrank, and after.
    const count = acknowledged.length;
    expect(count).toBeGreaterThan(grown);
    await until(() => acknowledged.length >= count + 5);
    await writer.stop();
    const reader = await [...peers.values()][0]!.client({ sessionTimeoutMs: 10_000 });
    clients.push(reader);
    expect(await writer.missingFrom(reader)).toEqual([]);
    // Every change was announced, each newer than the one before.
    expect(seen.length).toBeGreaterThanOrEqual(4);
    for (const change of seen) expect(change.membership.version).toBeGreaterThan(change.previousVersion!);
  }, 120_000);
});

describe('membership calls on an ensemble without reconfigEnabled', () => {
  it('are refused with ReconfigDisabled', async () => {
    const list = await Promise.all(
      [1, 2].map(async (id) => ({ id, host: '127.0.0.1', port: await freePort() })),
    );
    const started = await startPeers(list, { dataDir: '/unused', storage: 'memory', tickTime: 500 });
    try {
      expect(await codeOf(started[0]!.addServer({ id: 3, host: '127.0.0.1', port: 1 }))).toBe(
        'ReconfigDisabled',
      );
      expect(await codeOf(started[1]!.removeServer(1))).toBe('ReconfigDisabled');
      expect(() => started[0]!.addServer({ id: 0, host: 'h', port: 1 })).toThrow(RangeError);
    } finally {
      for (const peer of started) await peer.close();
    }
  }, 60_000);
});
