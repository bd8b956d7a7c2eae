import { crc32 as crc32Of } from 'node:zlib';
import { decodedSessionId, makeZxid, type Txn } from '@zabkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Writer } from '../src/bytes.js';
import { nestError, PeerCodecError } from '../src/codec-error.js';
import { decodeLogRecord, encodeLogRecord, encodeTxn } from '../src/index.js';
import { keptTxnEncoding } from '../src/txn-schema.js';
import { txnCodec } from '../src/values.js';
import { txnArb } from './arbitraries.js';

/**
 * The log record encoder as it was before records were sized at once: every transaction
 * written into one buffer that grows by doubling, each length patched in after it. Kept as
 * the reference the sized encoder must match byte for byte.
 */
function referenceLogRecord(txns: readonly Txn[]): Uint8Array {
  const w = new Writer(64 + txns.length * 128, 4);
  const header = Buffer.allocUnsafe(12);
  header.writeBigUInt64BE(txns[txns.length - 1]!.zxid, 0);
  header.writeUInt32BE(txns.length, 8);
  w.raw(header);
  for (let i = 0; i < txns.length; i++) {
    const lengthAt = w.pos;
    w.raw(new Uint8Array(4));
    try {
      txnCodec.write(w, txns[i]!);
    } catch (error) {
      throw nestError(error, `txns[${i}]`);
    }
    w.buf.writeUInt32BE(w.pos - lengthAt - 4, lengthAt);
  }
  const record = w.bytes();
  record.writeUInt32BE(crc32Of(record.subarray(4)), 0);
  return record;
}

/** A setData with data of up to 20 KB: past the reference's first buffer, so it grew. */
const bigSetDataArb: fc.Arbitrary<Txn> = fc.record({
  zxid: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }).map((v) => v as Txn['zxid']),
  timeMs: fc.constant(1_764_000_000_000),
  sessionId: fc.constant(decodedSessionId(7n)),
  cxid: fc.integer({ min: 0, max: 1000 }),
  body: fc.record({
    kind: fc.constant('setData' as const),
    path: fc.constantFrom('/a', '/big/node', '/ünïcode'),
    data: fc.uint8Array({ maxLength: 20_000 }),
    version: fc.integer({ min: -1, max: 100 }),
  }),
});

/** Transactions, each with a flag: encoded (its encoding kept) before the record is. */
const txnsArb = fc.array(fc.tuple(fc.oneof({ weight: 4, arbitrary: txnArb }, bigSetDataArb), fc.boolean()), {
  minLength: 1,
  maxLength: 12,
});

describe('encodeLogRecord', () => {
  it('writes the bytes the growing-buffer encoder wrote, whether or not encodings were kept', () => {
    fc.assert(
      fc.property(txnsArb, (entries) => {
        // The reference gets copies no encoding is kept for: it must encode every one itself.
        const fresh = entries.map(([txn]) => structuredClone(txn));
        const txns = entries.map(([txn, kept]) => {
          if (kept) encodeTxn(txn);
          return txn;
        });
        const expected = Buffer.from(referenceLogRecord(fresh));
        expect(Buffer.from(encodeLogRecord(txns)).equals(expected)).toBe(true);
        // Once more, now with every encoding kept.
        expect(Buffer.from(encodeLogRecord(txns)).equals(expected)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('reads back as the transactions written', () => {
    const data = new Uint8Array(30_000).fill(3);
    const txns: Txn[] = [1, 2, 3].map((i) => ({
      zxid: makeZxid(4, i),
      timeMs: 1_764_000_000_000 + i,
      sessionId: decodedSessionId(9n),
      cxid: i,
      body: { kind: 'setData', path: `/n${i}`, data: i === 2 ? data : Uint8Array.of(i), version: i },
    }));
    encodeTxn(txns[0]!);
    expect(decodeLogRecord(encodeLogRecord(txns)).txns).toEqual(txns);
  });

  it('with dataViews, keeps views of the record as the data and the encodings, and encodes the same record again', () => {
    const txns: Txn[] = [1, 2, 3].map((i) => ({
      zxid: makeZxid(4, i),
      timeMs: 1_764_000_000_000 + i,
      sessionId: decodedSessionId(9n),
      cxid: i,
      body: { kind: 'setData', path: `/n${i}`, data: new Uint8Array(100).fill(i), version: i },
    }));
    const record = encodeLogRecord(txns);
    // Inside the record's bytes (a Buffer may share its ArrayBuffer with others from Node's pool).
    const inRecord = (bytes: Uint8Array | undefined) =>
      bytes !== undefined &&
      bytes.buffer === record.buffer &&
      bytes.byteOffset >= record.byteOffset &&
      bytes.byteOffset + bytes.byteLength <= record.byteOffset + record.byteLength;
    const viewed = decodeLogRecord(record, undefined, { dataViews: true }).txns;
    expect(viewed).toEqual(txns);
    for (const txn of viewed) {
      expect(inRecord(keptTxnEncoding(txn))).toBe(true);
      expect(inRecord((txn.body as { data: Uint8Array }).data)).toBe(true);
    }
    expect(Buffer.from(encodeLogRecord(viewed)).equals(Buffer.from(record))).toBe(true);
    // Without: copies of their own, which never pin the record.
    for (const txn of decodeLogRecord(record).txns) {
      expect(keptTxnEncoding(txn)).toBeDefined();
      expect(inRecord(keptTxnEncoding(txn))).toBe(false);
      expect(inRecord((txn.body as { data: Uint8Array }).data)).toBe(false);
    }
  });

  it('leaves a kept encoding as it was', () => {
    const txn: Txn = {
      zxid: makeZxid(1, 1),
      timeMs: 1,
      sessionId: decodedSessionId(1n),
      cxid: 1,
      body: { kind: 'delete', path: '/x' },
    };
    const kept = encodeTxn(txn);
    const before = Buffer.from(kept);
    encodeLogRecord([txn, { ...txn, zxid: makeZxid(1, 2) }]);
    expect(Buffer.from(encodeTxn(txn)).equals(before)).toBe(true);
  });

  it('names the transaction at fault, as before', () => {
    const good: Txn = {
      zxid: makeZxid(1, 1),
      timeMs: 1,
      sessionId: decodedSessionId(1n),
      cxid: 1,
      body: { kind: 'check', path: '/x', version: 0 },
    };
    const bad = { ...good, zxid: makeZxid(1, 2), cxid: 2 ** 31 };
    const failure = (encode: () => unknown) => {
      try {
        encode();
      } catch (error) {
        return error;
      }
      throw new Error('encoded');
    };
    const error = failure(() => encodeLogRecord([good, bad]));
    expect(error).toBeInstanceOf(PeerCodecError);
    expect((error as PeerCodecError).field).toBe('txns[1].cxid');
    expect((error as PeerCodecError).message).toBe(
      (failure(() => referenceLogRecord([good, bad])) as PeerCodecError).message,
    );
    expect(() => encodeLogRecord([])).toThrow(RangeError);
  });
});
