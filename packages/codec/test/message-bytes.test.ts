import { decodedSessionId, makeZxid, type PeerMessage, type Txn } from '@zabkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodePeerMessage, peerMessageBytes } from '../src/index.js';
import { peerMessageArb, txnArb } from './arbitraries.js';

/** Counted before the message is encoded (no transaction's encoding kept) and after (kept). */
function expectExactSize(message: PeerMessage): void {
  const cold = peerMessageBytes(message);
  const encoded = encodePeerMessage(message).length;
  expect(cold).toBe(encoded);
  expect(peerMessageBytes(message)).toBe(encoded);
}

/** Strings the shared arbitraries seldom make: any UTF-16 code unit (lone surrogates too), long ones. */
const anyString = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ minLength: 120, maxLength: 400 }),
);

describe('peerMessageBytes', () => {
  it('is the length encodePeerMessage writes, for any message', () => {
    fc.assert(fc.property(peerMessageArb, expectExactSize), { numRuns: 2000 });
  });

  it('counts any string as the UTF-8 it is written as', () => {
    fc.assert(
      fc.property(anyString, (config) => expectExactSize({ kind: 'configNotice', config })),
      { numRuns: 500 },
    );
  });

  it('is exact for proposals of many transactions, logged or not', () => {
    fc.assert(
      fc.property(fc.array(txnArb, { maxLength: 140 }), fc.nat(), (txns: Txn[], epoch) =>
        expectExactSize({ kind: 'proposal', epoch, txns }),
      ),
      { numRuns: 60 },
    );
  });

  it('is exact at the edges of every varint and of int32', () => {
    const sessions = (n: number) => Array.from({ length: n }, (_v, i) => decodedSessionId(BigInt(i)));
    for (const n of [0, 127, 128, 16_383, 16_384]) {
      expectExactSize({ kind: 'pingReply', epoch: 1, touches: sessions(n), forwardedSeq: 0 });
    }
    for (const seq of [0, 63, 64, 2 ** 30 - 1, 2 ** 30, 2 ** 31 - 1, 2 ** 31, Number.MAX_SAFE_INTEGER]) {
      expectExactSize({ kind: 'syncAck', epoch: 2 ** 32 - 1, seq, arrivals: seq });
    }
    for (const length of [126, 127, 128, 129, 16_384]) {
      expectExactSize({ kind: 'configNotice', config: 'x'.repeat(length) });
      expectExactSize({ kind: 'configNotice', config: `é${'x'.repeat(length)}` });
    }
    const zxid = makeZxid(1, 1);
    for (const length of [0, 127, 128, 16_384]) {
      const data = length === 0 ? null : new Uint8Array(length);
      const txn: Txn = {
        zxid,
        timeMs: 1_764_000_000_000,
        sessionId: decodedSessionId(1n),
        cxid: -1,
        body: { kind: 'setData', path: '/a', data, version: 3 },
      };
      expectExactSize({ kind: 'proposal', epoch: 1, txns: [txn] });
    }
  });
});
