import type { SessionId, SnapshotNode, Zxid } from '@zabkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSnapshotChunk, encodeSnapshotChunk } from '../src/index.js';

// The reader hands back the zxid it read last when the next one's bytes are the same, and the
// literal 0n for a zero int64. Zxids that differ from one another in one half only (the epoch
// or the counter), and int64s with one zero half, would show a reader that compared too little.
const zxidPool: readonly Zxid[] = [
  0n,
  1n,
  2n,
  0x1_0000_0000n,
  0x1_0000_0001n,
  0x2_0000_0001n,
  0xffff_ffffn,
  0xffff_ffff_0000_0000n,
  0xffff_ffff_ffff_ffffn,
] as Zxid[];
const int64Pool: readonly bigint[] = [
  0n,
  1n,
  -1n,
  0x1_0000_0000n,
  -0x1_0000_0000n,
  0x7fff_ffff_ffff_ffffn,
  -(2n ** 63n),
];
const zxidArb = fc.constantFrom(...zxidPool);

function node(i: number, czxid: Zxid, mzxid: Zxid, pzxid: Zxid, owner: bigint): SnapshotNode {
  return {
    path: `/n${i}`,
    data: Uint8Array.of(i & 0xff),
    acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
    czxid,
    mzxid,
    pzxid,
    ctime: 1_700_000_000_000 + i,
    mtime: 1_700_000_000_000 + i,
    version: i % 3,
    cversion: 0,
    aversion: 0,
    ephemeralOwner: owner as SessionId,
  };
}

describe('zxids and int64s read again from the same bytes', () => {
  it('decodes every snapshot node as written, whichever zxids repeat the one read before', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(zxidArb, zxidArb, zxidArb, fc.constantFrom(...int64Pool)), {
          minLength: 1,
          maxLength: 30,
        }),
        (rows) => {
          const nodes = rows.map(([c, m, p, owner], i) => node(i, c, m, p, owner));
          expect(decodeSnapshotChunk(encodeSnapshotChunk(nodes))).toEqual(nodes);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads a zxid that repeats the last one, and one after a different one comes between', () => {
    const a = 0x3_0000_0007n as Zxid;
    const b = 0x3_0000_0008n as Zxid;
    const nodes = [node(0, a, a, a, 0n), node(1, b, a, b, 5n), node(2, a, b, b, 0n), node(3, b, b, a, -5n)];
    const decoded = decodeSnapshotChunk(encodeSnapshotChunk(nodes));
    expect(decoded.map((n) => [n.czxid, n.mzxid, n.pzxid, n.ephemeralOwner])).toEqual([
      [a, a, a, 0n],
      [b, a, b, 5n],
      [a, b, b, 0n],
      [b, b, a, -5n],
    ]);
  });
});
