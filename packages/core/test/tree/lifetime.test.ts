import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  containerEphemeralOwner,
  ephemeralOwnerOf,
  lifetimeOf,
  type NodeLifetime,
  nodeKindOf,
  ttlEphemeralOwner,
  ttlMaxMs,
} from '../../src/index.js';

describe('node lifetimes and their ZooKeeper encoding', () => {
  it('unpacks each of ZooKeeper encodings', () => {
    expect(lifetimeOf(0n)).toEqual({ kind: 'persistent' });
    expect(lifetimeOf(containerEphemeralOwner)).toEqual({ kind: 'container' });
    expect(lifetimeOf(ttlEphemeralOwner(60_000n))).toEqual({ kind: 'ttl', ttlMs: 60_000 });
    expect(lifetimeOf(0x0100_0000_0000_0001n)).toEqual({
      kind: 'ephemeral',
      sessionId: 0x0100_0000_0000_0001n,
    });
    // A session id is signed 64-bit: one with the top bit set is still a session, unless its
    // top byte is 0xff (which marks a TTL, hence server ids stop at 254).
    expect(lifetimeOf(-(1n << 63n) + 1n)).toEqual({ kind: 'ephemeral', sessionId: -(1n << 63n) + 1n });
    expect(lifetimeOf(-2n).kind).toBe('ttl');
  });

  it('round-trips every lifetime through the encoding', () => {
    const lifetime: fc.Arbitrary<NodeLifetime> = fc.oneof(
      fc.constant({ kind: 'persistent' } as const),
      fc.constant({ kind: 'container' } as const),
      fc.bigInt({ min: 0n, max: ttlMaxMs }).map((ttl) => ({ kind: 'ttl', ttlMs: Number(ttl) }) as const),
      fc
        .bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n })
        .filter((id) => nodeKindOf(id) === 'ephemeral')
        .map((sessionId) => ({ kind: 'ephemeral', sessionId }) as NodeLifetime),
    );
    fc.assert(
      fc.property(lifetime, (l) => {
        expect(lifetimeOf(ephemeralOwnerOf(l))).toEqual(l);
      }),
    );
  });

  it('round-trips every encoding zabkit or ZooKeeper writes', () => {
    const owner = fc.oneof(
      fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).filter((id) => nodeKindOf(id) !== 'ttl'),
      fc.bigInt({ min: 0n, max: ttlMaxMs }).map(ttlEphemeralOwner),
    );
    fc.assert(
      fc.property(owner, (o) => {
        expect(ephemeralOwnerOf(lifetimeOf(o))).toBe(o);
      }),
    );
  });
});
