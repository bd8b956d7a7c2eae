import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodedSessionId, makeZxid, type Txn, TxnLog, type Zxid, zeroZxid } from '../../src/index.js';

const txnAt = (zxid: Zxid): Txn => ({
  zxid,
  timeMs: 0,
  sessionId: decodedSessionId(1n),
  cxid: 0,
  body: { kind: 'delete', path: '/a' },
});

describe('TxnLog lookups', () => {
  // Lookups look at the newest entries before they search the whole log: both must agree
  // with a plain scan, for zxids in the log, between its entries, below and beyond it.
  it('agree with a scan of the entries, near the tail and far from it', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 62 }), { minLength: 1, maxLength: 10 }),
        (counters, probes) => {
          const zxids = counters.sort((a, b) => a - b).map((counter) => makeZxid(1, counter));
          const log = new TxnLog(zeroZxid, zxids.map(txnAt));
          for (const probe of probes) {
            const zxid = makeZxid(1, probe);
            const after = zxids.filter((z) => z > zxid);
            expect(log.contains(zxid)).toBe(zxids.includes(zxid));
            expect(log.countAfter(zxid)).toBe(after.length);
            expect(log.entriesAfter(zxid)?.map((txn) => txn.zxid)).toEqual(after);
            const below = zxids.filter((z) => z <= zxid);
            expect(log.floor(zxid)).toBe(below.length > 0 ? below[below.length - 1] : 0n);
          }
        },
      ),
    );
  });
});
