/**
 * `peer.transferLeadership` on three embedded peers over TCP: to a named server from the
 * leader, to any synced voter from a follower, refused for a server that is not a voter,
 * while a client writes and loses nothing; refused by the leader, and told so, when a follower
 * asks for a voter the leader has not synced.
 */
import type { ZabClient } from '@zabkit/client';
import { ZabError } from '@zabkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeerMember } from '../src/embed/options.js';
import { type EmbeddedPeer, startPeer } from '../src/embed/peer.js';
import { LeadershipTransferError } from '../src/embed/transfer.js';
import { fourLetterWord, freePort } from './server-process.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('transferLeadership on embedded peers over TCP', () => {
  const peers: EmbeddedPeer[] = [];
  const clients: ZabClient[] = [];

  beforeAll(async () => {
    const members: PeerMember[] = [];
    for (let id = 1; id <= 3; id++)
      members.push({ id, host: '127.0.0.1', port: await freePort(), clientPort: await freePort() });
    for (const member of members)
      peers.push(
        await startPeer({
          id: member.id,
          peers: members,
          dataDir: '/unused',
          storage: 'memory',
          tickTime: 500,
          fourLetterWords: new Set(['mntr']),
        }),
      );
    await Promise.all(peers.map((peer) => peer.ready({ timeoutMs: 30_000 })));
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    for (const peer of peers) await peer.close();
  });

  const leader = () => peers.find((peer) => peer.status().role === 'leading');

  it('hands over to the server asked for and from any member, while a client writes, losing nothing', async () => {
    await until(() => leader() !== undefined);
    const writer = await peers[0]!.client({ sessionTimeoutMs: 10_000 });
    clients.push(writer);
    await writer.create('/w');
    const acknowledged: string[] = [];
    let writing = true;
    const writes = (async () => {
      for (let i = 0; writing; i++) {
        try {
          await writer.create(`/w/n-${i}`, String(i));
          acknowledged.push(`n-${i}`);
        } catch (error) {
          if (!(error instanceof ZabError)) throw error;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    })();
    await until(() => acknowledged.length >= 5);

    // From the leader, to the lowest id: the usual election would pick the highest.
    const first = leader()!;
    const target = peers.find((peer) => peer !== first)!;
    const result = await first.transferLeadership(target.id, { timeoutMs: 20_000 });
    expect(result).toEqual({ leaderId: target.id, previousLeaderId: first.id });
    await until(() => peers.every((peer) => peer.status().serving && peer.status().leaderId === target.id));
    const mid = acknowledged.length;
    await until(() => acknowledged.length > mid + 5);

    // From a follower, to whichever voter is synced.
    const follower = peers.find((peer) => peer.status().role === 'following')!;
    const second = await follower.transferLeadership(undefined, { timeoutMs: 20_000 });
    expect(second.previousLeaderId).toBe(target.id);
    expect(second.leaderId).not.toBe(target.id);
    await until(() =>
      peers.every((peer) => peer.status().serving && peer.status().leaderId === second.leaderId),
    );

    // Asking for the leader it has is no change.
    expect(await follower.transferLeadership(second.leaderId)).toEqual({
      leaderId: second.leaderId,
      previousLeaderId: second.leaderId,
    });
    const error = await follower.transferLeadership(9).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeadershipTransferError);
    expect((error as LeadershipTransferError).outcome).toBe('refused');
    expect(() => follower.transferLeadership(0)).toThrow(RangeError);

    const count = acknowledged.length;
    await until(() => acknowledged.length > count + 5);
    writing = false;
    await writes;
    const reader = await peers[2]!.client({ sessionTimeoutMs: 10_000 });
    clients.push(reader);
    await reader.sync('/w');
    const children = new Set(await reader.getChildren('/w'));
    expect(acknowledged.filter((name) => !children.has(name))).toEqual([]);
  }, 120_000);

  it("rejects with the leader's refusal when asked from a follower for a voter the leader has not synced", async () => {
    await until(() => leader() !== undefined && peers.every((peer) => peer.status().serving));
    const [asker, gone] = peers.filter((peer) => peer.status().role === 'following');
    await gone!.close();
    // Once the leader has dropped it: the follower sees a voter and forwards, only the
    // leader knows it is not synced.
    const { port } = leader()!.address()!;
    for (let mntr = ''; !/zk_synced_followers\s+1\b/.test(mntr); await pause(50))
      mntr = await fourLetterWord(port, 'mntr');
    const started = Date.now();
    const error = await asker!.transferLeadership(gone!.id, { timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeadershipTransferError);
    expect((error as LeadershipTransferError).outcome).toBe('refused');
    expect((error as LeadershipTransferError).reason).toBe(
      `leader ${leader()!.id}: server ${gone!.id} is not synced with this leader`,
    );
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(asker!.status().leaderId).toBe(leader()!.id);
  }, 60_000);
});
