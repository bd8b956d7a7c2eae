/**
 * The preamble of the embedded-peer ensemble tests: members on free ports, a peer started for
 * each, all ready; and the polling they wait with.
 */
import type { PeerMember, StartPeerOptions } from '../src/embed/options.js';
import { type EmbeddedPeer, startPeer } from '../src/embed/peer.js';
import { freePort } from './server-process.js';

/** Waits for `condition`, polling every 20 ms; throws after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Members 1..count on 127.0.0.1, each with a free peer port and a free client port. */
export async function peerMembers(count: number): Promise<PeerMember[]> {
  const members: PeerMember[] = [];
  for (let id = 1; id <= count; id++)
    members.push({ id, host: '127.0.0.1', port: await freePort(), clientPort: await freePort() });
  return members;
}

/** Starts a peer for each of `members`, naming them all, and waits until every one is ready. */
export async function startPeers(
  members: readonly PeerMember[],
  options: Omit<StartPeerOptions, 'id' | 'peers'>,
): Promise<EmbeddedPeer[]> {
  const peers: EmbeddedPeer[] = [];
  try {
    for (const member of members) peers.push(await startPeer({ ...options, id: member.id, peers: members }));
    await Promise.all(peers.map((peer) => peer.ready({ timeoutMs: 30_000 })));
  } catch (error) {
    // The caller never sees these peers, so it cannot close them.
    await Promise.all(peers.map((peer) => peer.close().catch(() => undefined)));
    throw error;
  }
  return peers;
}

/** Waits until every peer has a versioned membership: with reconfig, the first leader gives it one. */
export async function untilVersioned(peers: Iterable<EmbeddedPeer>): Promise<void> {
  await until(() => [...peers].every((peer) => (peer.membership()?.version ?? 0n) > 0n));
}
