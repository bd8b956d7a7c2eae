/**
 * `peer.transferLeadership` on three embedded peers over TCP: to a named server from the
 * leader, to any synced voter from a follower, refused for a server that is not a voter,
 * while a client writes and loses nothing; refused by the leader, and told so, when a follower
 * asks for a voter the leader has not synced.
 */
import type { ZabClient } from '@zabkit/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSteadyWriter } from '../../../test/support/steady-writer.js';
import type { EmbeddedPeer } from '../src/embed/peer.js';
import { LeadershipTransferError } from '../src/embed/transfer.js';
import { peerMembers, startPeers, until } from './embed-ensemble.js';
import { fourLetterWord } from './server-process.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('transferLeadership on embedded peers over TCP', () => {
  const peers: EmbeddedPeer[] = [];
  const clients: ZabClient[] = [];

  beforeAll(async () => {
    peers.push(
      ...(await startPeers(await peerMembers(3), {
        dataDir: '/unused',
        storage: 'memory',
        tickTime: 500,
        fourLetterWords: new Set(['mntr']),
      })),
    );
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    for (const peer of peers) await peer.close();
  });

  const leader = () => peers.find((peer) => peer.status().role === 'leading');

  it('hands over to the server asked for and from any member, while a client writes, losing nothing', async () => {
    await until(() => leader() !== undefined);
    const client = await peers[0]!.client({ sessionTimeoutMs: 10_000 });
    clients.push(client);
    const writer = await startSteadyWriter(client, 20);
    const { acknowledged } = writer;
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
    await writer.stop();
    const reader = await peers[2]!.client({ sessionTimeoutMs: 10_000 });
    clients.push(reader);
    expect(await writer.missingFrom(reader)).toEqual([]);
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
