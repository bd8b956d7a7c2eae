/**
 * Peer messages that decode but lie: an ensemble in the scripted cluster writes, crashes
 * and elects while some of the messages in flight are changed on the way (an epoch or a zxid
 * moved, a list cut, doubled or reversed, a flag flipped), others are delivered to the wrong
 * peer, and random valid messages arrive from members and strangers. Every changed message is
 * one the codec accepts, so each could reach a real peer from a broken one. No step may throw
 * (an assertion reached would stop a real server): the core refuses what no correct peer
 * sends, and a learner leaves a leader whose commits it does not hold.
 */
import { decodePeerMessage, encodePeerMessage } from '@zabkit/codec';
import { type ClientRequest, CreateMode, Ids, makeZxid, type PeerMessage } from '@zabkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { peerMessageArb } from '../packages/codec/test/arbitraries.js';
import { Cluster } from '../packages/core/test/zab/cluster.js';

/** A small deterministic generator, so a seed names a run. */
function random(seed: number) {
  let state = Math.imul(seed, 2654435761) >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  for (let i = 0; i < 8; i++) next();
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  return {
    chance: (p: number) => next() < p,
    int,
    pick: <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!,
  };
}
type Random = ReturnType<typeof random>;

/** One field of `value` changed a little, recursively: what a broken peer might send. */
function lie(rng: Random, value: unknown): unknown {
  if (typeof value === 'number')
    return rng.pick([value + 1, Math.max(0, value - 1), 0, 2 ** 32 - 1, value * 2, value + 1000]);
  if (typeof value === 'bigint') {
    const epoch = Number(value >> 32n);
    const counter = Number(value & 0xffff_ffffn);
    // A negative value (a create's ttlMs of -1n) or one at the top of the zxid range has no zxid
    // next to it: change it as a plain number.
    if (value < 0n || epoch >= 2 ** 32 - 1 || counter > 2 ** 32 - 6)
      return rng.pick([value + 1n, value - 1n, 0n]);
    return rng.pick([
      value + 1n,
      value > 0n ? value - 1n : 0n,
      0n,
      makeZxid(epoch + 1, 0),
      makeZxid(epoch, counter + 5),
      makeZxid(Math.max(0, epoch - 1), counter + 3),
      (1n << 64n) - 1n,
    ]);
  }
  if (typeof value === 'boolean') return !value;
  if (Array.isArray(value)) {
    if (value.length === 0) return value;
    return rng.pick([
      [],
      value.slice(1),
      [...value, value[0]],
      [value[0], ...value],
      value.slice().reverse(),
      value.map((item, i) => (i === 0 ? lie(rng, item) : item)),
    ]);
  }
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const keys = Object.keys(value).filter((key) => key !== 'kind');
    if (keys.length === 0) return value;
    const key = rng.pick(keys);
    return { ...value, [key]: lie(rng, (value as Record<string, unknown>)[key]) };
  }
  return value;
}

/** `message` as a peer would receive it, or undefined when the codec would not carry it. */
function carried(message: unknown): PeerMessage | undefined {
  try {
    return decodePeerMessage(encodePeerMessage(message as PeerMessage));
  } catch {
    return undefined;
  }
}

const create = (path: string): ClientRequest => ({
  op: 'create',
  path,
  data: new Uint8Array([1]),
  acl: Ids.openAclUnsafe,
  mode: CreateMode.Persistent,
  ttlMs: -1n,
});

describe('peer messages that decode but lie', () => {
  it('never reach an assertion: each is refused, ignored or ends that peer relation', () => {
    let lies = 0;
    let refused = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const rng = random(seed);
      const c = new Cluster({ voters: 3 });
      c.stabilize();
      const session = c.connect(2);
      const run = () => {
        for (let round = 0; round < 300; round++) {
          if (round % 10 === 0) c.send(session, create(`/n${round}`));
          const leader = c.leader();
          if (leader !== undefined && rng.chance(0.01)) c.crash(leader);
          for (const id of [1, 2, 3]) if (!c.alive(id) && rng.chance(0.05)) c.restart(id);
          c.queue = c.queue.map((envelope) => {
            if (!rng.chance(0.05)) return envelope;
            const message = carried(lie(rng, envelope.message));
            if (message === undefined) return envelope;
            lies++;
            return { ...envelope, message };
          });
          if (rng.chance(0.05)) {
            const [message] = fc.sample(peerMessageArb, { numRuns: 1, seed: seed * 1000 + round });
            // From a member mostly, now and then from a server id the ensemble does not know.
            const from = rng.chance(0.1) ? rng.int(4, 255) : rng.int(1, 3);
            c.queue.push({ from, to: rng.int(1, 3), message: message! });
            lies++;
          }
          if (rng.chance(0.03) && c.queue.length > 0) {
            const envelope = c.queue[rng.int(0, c.queue.length - 1)]!;
            c.queue.push({ ...envelope, to: rng.int(1, 3) });
          }
          if (c.deliverOnce() === 0) c.tick(rng.int(5, 200));
        }
      };
      expect(run, `seed ${seed}`).not.toThrow();
      for (const id of [1, 2, 3])
        refused += c.events(id).filter((event) => event.kind === 'peerMessageRefused').length;
    }
    expect(lies).toBeGreaterThan(2000);
    expect(refused).toBeGreaterThan(50);
  }, 120_000);
});
