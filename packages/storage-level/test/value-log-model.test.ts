/**
 * LevelStorage with a value log against a model: random appends (records small and large,
 * one transaction or a group), truncations, snapshots with purges and reopenings. After every
 * step the store loads what the model holds, and no segment below the first pointer's is
 * left on disk once a purge has run.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataTree, Ids, makeZxid, type SessionId, type Txn, type Zxid, zeroZxid } from '@zabkit/core';
import { ClassicLevel } from 'classic-level';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { LevelStorage } from '../src/index.js';
import { logEnd, logStart } from '../src/keys.js';
import { decodePointer, isPointerRecord } from '../src/values.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function txn(counter: number, bytes: number): Txn {
  return {
    zxid: makeZxid(1, counter),
    timeMs: counter,
    sessionId: 1n as SessionId,
    cxid: counter,
    body: {
      kind: 'create',
      path: `/n${counter}`,
      data: new Uint8Array(bytes).fill(counter & 0xff),
      acl: Ids.openAclUnsafe,
      ephemeralOwner: 0n,
      parentCversion: counter,
    },
  };
}

type Step =
  | { kind: 'append'; sizes: number[] }
  | { kind: 'truncate'; back: number }
  | { kind: 'snapshot'; back: number }
  | { kind: 'reopen' };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      sizes: fc.array(fc.constantFrom(10, 900, 3000), { minLength: 1, maxLength: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), back: fc.nat(4) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('snapshot' as const), back: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
);

const options = { retainSnapshots: 1, valueLog: { thresholdBytes: 1000, segmentBytes: 7000 } };

/** The segments on disk, and the lowest one a pointer in the log names. */
async function segmentsAndLowest(dir: string): Promise<{ segments: number[]; lowest: number | undefined }> {
  const segments = readdirSync(join(dir, 'values'))
    .filter((name) => name.endsWith('.seg'))
    .map((name) => Number(name.slice(0, 10)));
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  let lowest: number | undefined;
  for await (const [, value] of db.iterator({ gte: logStart, lt: logEnd }))
    if (isPointerRecord(value)) {
      const segment = decodePointer(value).segment;
      lowest = lowest === undefined ? segment : Math.min(lowest, segment);
    }
  await db.close();
  return { segments, lowest };
}

describe('LevelStorage with a value log, against a model', () => {
  it('loads what the model holds after any run of appends, truncations, purges and reopenings', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 14 }), async (steps) => {
        const dir = mkdtempSync(join(tmpdir(), 'zabkit-vlog-model-'));
        dirs.push(dir);
        let store = await LevelStorage.open(dir, options);
        /** Every transaction the store holds, in the snapshot or the log. */
        let history: Txn[] = [];
        let snapshotAt: Zxid = zeroZxid;
        let purged = false;
        try {
          for (const s of steps) {
            if (s.kind === 'append') {
              const next = history.length + 1;
              const txns = s.sizes.map((bytes, i) => txn(next + i, bytes));
              await store.apply([{ kind: 'append', txns }]);
              history.push(...txns);
            } else if (s.kind === 'truncate') {
              const keep = Math.max(Number(snapshotAt & 0xffffffffn), history.length - s.back);
              await store.truncate(keep === 0 ? zeroZxid : makeZxid(1, keep));
              history = history.slice(0, keep);
            } else if (s.kind === 'snapshot') {
              const through = history.length - s.back;
              if (through <= Number(snapshotAt & 0xffffffffn)) continue;
              const tree = new DataTree();
              for (const t of history.slice(0, through)) tree.apply(t);
              await store.saveSnapshot(tree.snapshot());
              snapshotAt = makeZxid(1, through);
              await store.purge(snapshotAt);
              purged = true;
            } else {
              await store.close();
              store = await LevelStorage.open(dir, options);
            }
            const state = await store.load();
            expect(state.snapshot?.zxid ?? zeroZxid).toBe(snapshotAt);
            expect(state.log).toEqual(history.filter((t) => t.zxid > snapshotAt));
          }
          await store.close();
          if (purged) {
            // The last open deleted whatever no pointer needed.
            store = await LevelStorage.open(dir, options);
            await store.close();
            const { segments, lowest } = await segmentsAndLowest(dir);
            for (const segment of segments)
              expect(segment).toBeGreaterThanOrEqual(lowest ?? Number.POSITIVE_INFINITY);
          }
        } finally {
          await store.close();
        }
      }),
      { numRuns: 30 },
    );
  }, 120_000);
});
