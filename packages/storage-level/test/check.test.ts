/**
 * checkStorage and repairStorage: every problem reported, the repair plan names what it
 * drops and what that loses, nothing changes unless asked, and a repaired store opens with
 * a consistent prefix of what it held.
 */
import { encodeFormatRecord, storageFormatVersion } from '@zabkit/codec';
import { DataTree, decodedSessionId, Ids, makeZxid, type Txn, type Zxid } from '@zabkit/core';
import fc from 'fast-check';
import { MemoryLevel } from 'memory-level';
import { describe, expect, it } from 'vitest';
import {
  type BytesLevel,
  checkStorage,
  LevelStorage,
  newestReadableFormat,
  repairStorage,
  StorageCorruptError,
  StorageFormatError,
} from '../src/index.js';
import {
  chunkKey,
  epochsKey,
  formatKey,
  keyHex,
  logKey,
  manifestKey,
  sessionSecretKey,
  snapshotRange,
} from '../src/keys.js';

const memoryDb = () =>
  new MemoryLevel<Uint8Array, Uint8Array>({
    keyEncoding: 'view',
    valueEncoding: 'view',
  }) as unknown as BytesLevel;

function txn(counter: number): Txn {
  return {
    zxid: makeZxid(1, counter),
    timeMs: counter,
    sessionId: decodedSessionId(1n),
    cxid: counter,
    body: {
      kind: 'create',
      path: `/n${counter}`,
      data: new Uint8Array([counter & 0xff]),
      acl: Ids.openAclUnsafe,
      ephemeralOwner: 0n,
      parentCversion: counter,
    },
  };
}
const history = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_v, i) => txn(from + i));

function snapshotOf(txns: readonly Txn[]) {
  const tree = new DataTree();
  for (const t of txns) tree.apply(t);
  return tree.snapshot();
}

/** A store on a fresh memory database: epochs, one log record per transaction 1..n, snapshots at `snapshotsAt`. */
async function storeWith(n: number, snapshotsAt: number[] = []): Promise<BytesLevel> {
  const db = memoryDb();
  const store = await LevelStorage.on(db, { snapshotChunkNodes: 2 });
  await store.writeEpochs({ acceptedEpoch: 1, currentEpoch: 1 });
  await store.writeSessionSecret(new Uint8Array(32).fill(7));
  for (const t of history(1, n)) await store.append([t]);
  for (const at of snapshotsAt) await store.saveSnapshot(snapshotOf(history(1, at)));
  // Close the store without closing the database: the tests read and damage it directly.
  await (store as unknown as { background: Promise<void> }).background;
  return db;
}

async function flip(db: BytesLevel, key: Uint8Array): Promise<void> {
  const value = Uint8Array.from((await db.get(key))!);
  value[value.length - 1]! ^= 0xff;
  await db.put(key, value);
}

async function openAndLoad(db: BytesLevel) {
  const store = await LevelStorage.on(db);
  return store.load();
}

const hex = (key: Uint8Array) => keyHex(key);

describe('checkStorage', () => {
  it('finds nothing wrong with a sound store', async () => {
    const db = await storeWith(6, [3]);
    const check = await checkStorage(db);
    expect(check.problems).toEqual([]);
    expect(check.notes).toEqual([]);
    expect(check.formatVersion).toBe(storageFormatVersion);
    expect(check.epochs).toEqual({ acceptedEpoch: 1, currentEpoch: 1 });
    const nodes = snapshotOf(history(1, 3)).nodes.length;
    expect(check.snapshots).toEqual([
      { zxid: makeZxid(1, 3), chunks: Math.ceil(nodes / 2), nodes, intact: true },
    ]);
    expect(check.log).toEqual({ records: 6, firstZxid: makeZxid(1, 1), lastZxid: makeZxid(1, 6) });
    expect(check.plan.changes).toEqual([]);
    expect(check.plan.loses).toBeUndefined();
    expect(check.plan.keepsThrough).toBe(makeZxid(1, 6));
  });

  it('reports every damaged record, not just the first', async () => {
    const db = await storeWith(6);
    await flip(db, logKey(makeZxid(1, 2)));
    await flip(db, logKey(makeZxid(1, 5)));
    const check = await checkStorage(db);
    expect(check.problems.map((p) => [p.what, p.location.firstZxid, p.problem])).toEqual([
      ['log record', makeZxid(1, 2), 'checksum mismatch'],
      ['log record', makeZxid(1, 5), 'checksum mismatch'],
    ]);
    expect(check.plan.keepsThrough).toBe(makeZxid(1, 1));
    expect(check.plan.loses).toEqual({ after: makeZxid(1, 1), upTo: makeZxid(1, 6) });
  });

  it('reports a gap in the log and a log whose snapshot is missing', async () => {
    const gap = await storeWith(6);
    await gap.del(logKey(makeZxid(1, 4)));
    const gapCheck = await checkStorage(gap);
    expect(gapCheck.problems).toHaveLength(1);
    expect(gapCheck.problems[0]).toMatchObject({
      what: 'log',
      problem: '0x100000005 does not follow 0x100000003: records are missing',
    });
    expect(gapCheck.plan.loses).toEqual({ after: makeZxid(1, 3), upTo: makeZxid(1, 6) });

    const noBase = await storeWith(6);
    for (const counter of [1, 2]) await noBase.del(logKey(makeZxid(1, counter)));
    const noBaseCheck = await checkStorage(noBase);
    expect(noBaseCheck.problems[0]).toMatchObject({ what: 'snapshot' });
    expect(noBaseCheck.problems[0]!.problem).toMatch(/the snapshot it starts from is missing/);
  });

  it('reports a damaged snapshot, and loses nothing when an older one and the log cover it', async () => {
    const db = await storeWith(8, [3, 6]);
    await flip(db, chunkKey(makeZxid(1, 6), 1));
    const check = await checkStorage(db);
    expect(check.problems).toHaveLength(1);
    expect(check.problems[0]).toMatchObject({ what: 'snapshot', problem: 'chunk 1: checksum mismatch' });
    expect(check.plan.snapshotZxid).toBe(makeZxid(1, 3));
    expect(check.plan.keepsThrough).toBe(makeZxid(1, 8));
    expect(check.plan.loses).toBeUndefined();
    // Every chunk and the manifest of the damaged snapshot, nothing else.
    const keys = await db.keys(snapshotRange(makeZxid(1, 6))).all();
    expect(check.plan.changes.map((c) => [hex(c.key), c.action])).toEqual(
      keys.map((key) => [hex(key), 'delete']),
    );
  });

  it('notes a snapshot a crash left without its manifest, and a store from before format records', async () => {
    const db = await storeWith(4, [2]);
    await db.del(manifestKey(makeZxid(1, 2)));
    await db.del(formatKey);
    const check = await checkStorage(db);
    expect(check.problems).toEqual([]);
    expect(check.notes).toHaveLength(2);
    expect(check.formatVersion).toBe(1);
    expect(check.plan.markFormat).toBe(true);
    const chunks = await db.keys(snapshotRange(makeZxid(1, 2))).all();
    expect(chunks.length).toBeGreaterThan(1);
    expect(check.plan.changes.map((c) => hex(c.key))).toEqual(chunks.map(hex));
  });

  it('calls damaged epochs, a damaged format record and foreign keys unrepairable', async () => {
    const db = await storeWith(2);
    await flip(db, epochsKey);
    await flip(db, formatKey);
    await db.put(Uint8Array.of(0x01, 0x02), Uint8Array.of(0));
    const check = await checkStorage(db);
    expect(check.problems.map((p) => p.what).sort()).toEqual(['epochs', 'format record', 'key']);
    expect(check.plan.unrepairable).toHaveLength(3);
  });

  it('refuses to read a store of a newer format', async () => {
    const db = await storeWith(2);
    await db.put(formatKey, encodeFormatRecord(newestReadableFormat + 1));
    await expect(checkStorage(db)).rejects.toBeInstanceOf(StorageFormatError);
  });
});

describe('repairStorage', () => {
  it('changes nothing unless asked, then drops a damaged last record and the store opens without it', async () => {
    const db = await storeWith(4);
    await flip(db, logKey(makeZxid(1, 4)));
    await expect(openAndLoad(db)).rejects.toBeInstanceOf(StorageCorruptError);
    const dry = await repairStorage(db, { apply: false });
    expect(dry.applied).toBe(false);
    expect(dry.plan.loses).toEqual({ after: makeZxid(1, 3), upTo: undefined });
    expect(dry.plan.changes.map((c) => ({ ...c, key: hex(c.key) }))).toEqual([
      {
        key: hex(logKey(makeZxid(1, 4))),
        action: 'delete',
        why: 'after the last unbroken transaction 0x100000003',
      },
    ]);
    expect(await db.get(logKey(makeZxid(1, 4)))).toBeDefined();
    const done = await repairStorage(db, { apply: true });
    expect(done.applied).toBe(true);
    expect(done.after?.problems).toEqual([]);
    expect((await openAndLoad(db)).log).toEqual(history(1, 3));
  });

  it('cuts the log at the first damage inside it: everything after goes too', async () => {
    const db = await storeWith(6);
    await flip(db, logKey(makeZxid(1, 3)));
    const result = await repairStorage(db, { apply: true });
    expect(result.plan.loses).toEqual({ after: makeZxid(1, 2), upTo: makeZxid(1, 6) });
    expect((await openAndLoad(db)).log).toEqual(history(1, 2));
  });

  it('drops a damaged snapshot the log covers, losing nothing', async () => {
    const db = await storeWith(8, [3, 6]);
    await flip(db, manifestKey(makeZxid(1, 6)));
    await repairStorage(db, { apply: true });
    const state = await openAndLoad(db);
    expect(state.snapshot?.zxid).toBe(makeZxid(1, 3));
    expect(state.log).toEqual(history(4, 8));
  });

  it('marks a store from before format records and removes an unfinished snapshot', async () => {
    const db = await storeWith(4, [2]);
    await db.del(manifestKey(makeZxid(1, 2)));
    await db.del(formatKey);
    const result = await repairStorage(db, { apply: true });
    expect(result.applied).toBe(true);
    expect(result.after?.notes).toEqual([]);
    expect(await db.get(chunkKey(makeZxid(1, 2), 0))).toBeUndefined();
  });

  it("drops a damaged session secret: the server takes its leader's at its next sync", async () => {
    const db = await storeWith(3);
    await flip(db, sessionSecretKey);
    await expect(openAndLoad(db)).rejects.toSatisfy(
      (error) => error instanceof StorageCorruptError && error.what === 'session secret',
    );
    const check = await checkStorage(db);
    expect(check.problems.map((p) => p.what)).toEqual(['session secret']);
    expect(check.plan.loses).toBeUndefined();
    const result = await repairStorage(db, { apply: true });
    expect(result.applied).toBe(true);
    const state = await openAndLoad(db);
    expect(state.sessionSecret).toBeUndefined();
    expect(state.log).toEqual(history(1, 3));
  });

  it('changes nothing while a problem is unrepairable', async () => {
    const db = await storeWith(4);
    await flip(db, epochsKey);
    await flip(db, logKey(makeZxid(1, 4)));
    const result = await repairStorage(db, { apply: true });
    expect(result.applied).toBe(false);
    expect(await db.get(logKey(makeZxid(1, 4)))).toBeDefined();
  });

  it('leaves any damaged store either unrepairable or opening to a prefix of what it held', async () => {
    const keysOf = async (db: BytesLevel) => db.keys().all();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.subarray([3, 6, 9]),
        fc.array(fc.record({ pick: fc.nat(), kind: fc.constantFrom('flip', 'delete') }), {
          minLength: 1,
          maxLength: 3,
        }),
        async (n, snapshotsAt, damages) => {
          const db = await storeWith(
            n,
            snapshotsAt.filter((at) => at <= n),
          );
          const keys = (await keysOf(db)).filter((key) => key[0] !== formatKey[0]);
          for (const { pick, kind } of damages) {
            const key = keys[pick % keys.length]!;
            if ((await db.get(key)) === undefined) continue;
            if (kind === 'flip') await flip(db, key);
            else await db.del(key);
          }
          const result = await repairStorage(db, { apply: true });
          if (result.plan.unrepairable.length > 0) {
            expect(result.applied).toBe(false);
            return;
          }
          expect(result.after?.problems ?? []).toEqual([]);
          const state = await openAndLoad(db);
          // What the store opens to is what it held, up to the plan's last zxid.
          const base = state.snapshot?.zxid ?? (0n as Zxid);
          const expected = history(1, n).filter((t) => t.zxid > base && t.zxid <= result.plan.keepsThrough);
          expect(state.log).toEqual(expected);
          if (state.snapshot !== undefined)
            expect(DataTree.fromSnapshot(state.snapshot).digest()).toBe(
              DataTree.fromSnapshot(snapshotOf(history(1, Number(base & 0xffffffffn)))).digest(),
            );
          expect(result.plan.keepsThrough).toBe(state.log.at(-1)?.zxid ?? base);
        },
      ),
      { numRuns: 150 },
    );
  });
});
