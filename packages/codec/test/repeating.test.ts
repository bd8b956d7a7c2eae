import { type ACL, makeZxid, type SnapshotNode, type Txn } from '@zabkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeLogRecord, decodeSnapshotChunk, encodeLogRecord, encodeSnapshotChunk } from '../src/index.js';

// ACLs that differ from one another only a little (one perm, one character, one entry more),
// so that a decoder sharing the previous list when the bytes merely look alike would show.
const world = (perms: number, id = 'anyone'): ACL => ({ perms, id: { scheme: 'world', id } });
const aclPool: readonly (readonly ACL[])[] = [
  [world(31)],
  [world(31)],
  [world(30)],
  [world(31, 'anyonf')],
  [world(31), world(1, 'x')],
  [],
  [{ perms: 31, id: { scheme: 'digest', id: 'u:h' } }],
];
const aclArb = fc
  .integer({ min: 0, max: aclPool.length - 1 })
  .map((i) => aclPool[i]!.map((e) => ({ ...e, id: { ...e.id } })));

function node(i: number, acl: ACL[]): SnapshotNode {
  return {
    path: `/n${i}`,
    data: i % 3 === 0 ? null : Uint8Array.of(i & 0xff),
    acl,
    czxid: makeZxid(1, i + 1),
    mzxid: makeZxid(1, i + 1),
    pzxid: makeZxid(1, i + 1),
    ctime: 1_700_000_000_000 + i,
    mtime: 1_700_000_000_000 + i,
    version: 0,
    cversion: 0,
    aversion: 0,
    ephemeralOwner: 0n,
  };
}

describe('a value repeating the one before it (ACLs)', () => {
  it('decodes every snapshot node as written, sharing a list exactly when it equals the one before', () => {
    fc.assert(
      fc.property(fc.array(aclArb, { minLength: 1, maxLength: 30 }), (acls) => {
        const nodes = acls.map((acl, i) => node(i, acl));
        const decoded = decodeSnapshotChunk(encodeSnapshotChunk(nodes));
        expect(decoded).toEqual(nodes);
        for (let i = 1; i < decoded.length; i++) {
          const equal = JSON.stringify(acls[i]) === JSON.stringify(acls[i - 1]);
          expect(decoded[i]!.acl === decoded[i - 1]!.acl, `node ${i}`).toBe(equal);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('decodes every create of a log record as written', () => {
    fc.assert(
      fc.property(fc.array(aclArb, { minLength: 1, maxLength: 20 }), (acls) => {
        const txns: Txn[] = acls.map((acl, i) => ({
          zxid: makeZxid(2, i + 1),
          timeMs: 1_700_000_000_000,
          sessionId: 5n as Txn['sessionId'],
          cxid: i,
          body: {
            kind: 'create',
            path: `/c${i}`,
            data: null,
            acl,
            ephemeralOwner: 0n,
            parentCversion: i + 1,
          },
        }));
        expect(decodeLogRecord(encodeLogRecord(txns)).txns).toEqual(txns);
      }),
      { numRuns: 200 },
    );
  });
});
