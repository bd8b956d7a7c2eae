/**
 * LevelStorage with a value log: the compliance suite with every record in segments, then
 * what the split adds: pointers in place of records, durability order, damage named,
 * tails ignored, segments deleted once no record needs them, the format.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFormatRecord } from '@zabkit/codec';
import { DataTree, Ids, makeZxid, type PeerStorage, type SessionId, type Txn, zeroZxid } from '@zabkit/core';
import { ClassicLevel } from 'classic-level';
import { MemoryLevel } from 'memory-level';
import { afterAll, describe, expect, it } from 'vitest';
import { storageComplianceSuite } from '../../../test/compliance/storage.js';
import {
  type BytesLevel,
  checkStorage,
  LevelStorage,
  repairStorage,
  StorageCorruptError,
  StorageFormatError,
} from '../src/index.js';
import { formatKey, logKey } from '../src/keys.js';
import { decodePointer, isPointerRecord } from '../src/values.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-vlog-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const everyRecord = { thresholdBytes: 0, segmentBytes: 4096 };
const locations = new WeakMap<PeerStorage, string>();

storageComplianceSuite('classic-level, every log record in a value log', {
  create: async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, { valueLog: everyRecord });
    locations.set(store, dir);
    return store;
  },
  reopen: async (store) => LevelStorage.open(locations.get(store)!, { valueLog: everyRecord }),
});

storageComplianceSuite('memory-level, every log record in a value log', {
  create: () =>
    LevelStorage.on(
      new MemoryLevel<Uint8Array, Uint8Array>({
        keyEncoding: 'view',
        valueEncoding: 'view',
      }) as unknown as BytesLevel,
      { valueLog: { ...everyRecord, dir: tempDir() } },
    ),
});

function txn(counter: number, bytes = 1): Txn {
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

const big = 2000;
const options = { valueLog: { thresholdBytes: 1000, segmentBytes: 5000 } };

async function rawDb(dir: string) {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  return db;
}

const segmentsOf = (dir: string) =>
  existsSync(join(dir, 'values'))
    ? readdirSync(join(dir, 'values'))
        .filter((name) => name.endsWith('.seg'))
        .sort()
    : [];

function snapshotThrough(history: readonly Txn[]) {
  const tree = new DataTree();
  for (const t of history) tree.apply(t);
  return tree.snapshot();
}

describe('LevelStorage with a value log', () => {
  it('keeps a pointer under the log key of a large record and the record itself for a small one', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, options);
    await store.append([txn(1, big)]);
    await store.append([txn(2, 10)]);
    await store.close();
    const db = await rawDb(dir);
    const large = (await db.get(logKey(makeZxid(1, 1))))!;
    const small = (await db.get(logKey(makeZxid(1, 2))))!;
    expect(isPointerRecord(large)).toBe(true);
    expect(large.length).toBe(36);
    expect(decodePointer(large)).toMatchObject({ segment: 1, offset: 0, lastZxid: makeZxid(1, 1) });
    expect(isPointerRecord(small)).toBe(false);
    expect(decodeFormatRecord((await db.get(formatKey))!)).toBe(3);
    await db.close();
    const again = await LevelStorage.open(dir, options);
    expect((await again.load()).log).toEqual([txn(1, big), txn(2, 10)]);
    await again.close();
  });

  it('a pointer whose segment is cut short is a StorageCorruptError naming the record', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, options);
    await store.append([txn(1, big)]);
    await store.append([txn(2, big)]);
    await store.close();
    const segment = join(dir, 'values', segmentsOf(dir)[0]!);
    // The second record's bytes lose their end, as a lost write would leave them.
    truncateSync(segment, statSync(segment).size - 10);
    const again = await LevelStorage.open(dir, options);
    const error = await again.load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageCorruptError);
    const corrupt = error as StorageCorruptError;
    expect(corrupt.firstZxid).toBe(makeZxid(1, 2));
    expect(corrupt.lastZxid).toBe(makeZxid(1, 2));
    expect(corrupt.message).toMatch(/log record 0x100000002 .*value log: segment 1 ends/);
    await expect(again.readLog(zeroZxid)).rejects.toThrow(StorageCorruptError);
    await again.close();
  });

  it('a missing segment is a StorageCorruptError, and so is a store with pointers opened without its value log', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, options);
    await store.append([txn(1, big)]);
    await store.close();
    // The same database through `on` without a value log: the pointer leads nowhere.
    const db = await rawDb(dir);
    const without = await LevelStorage.on(db as unknown as BytesLevel);
    await expect(without.load()).rejects.toThrow(
      /pointer into a value log, and the store was opened without one/,
    );
    await without.close();
    rmSync(join(dir, 'values', segmentsOf(dir)[0]!));
    const again = await LevelStorage.open(dir, options);
    await expect(again.load()).rejects.toThrow(/segment 1 is missing/);
    await again.close();
  });

  it('bytes past the last pointer (a crash before the pointer was committed) are ignored, and never appended to', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, options);
    await store.append([txn(1, big)]);
    await store.append([txn(2, big)]);
    await store.close();
    // Drop the second pointer, as a crash between the segment's fsync and the batch would.
    const db = await rawDb(dir);
    await db.del(logKey(makeZxid(1, 2)));
    await db.close();
    const again = await LevelStorage.open(dir, options);
    expect((await again.load()).log).toEqual([txn(1, big)]);
    await again.append([txn(2, big + 1)]);
    await again.close();
    const last = await LevelStorage.open(dir, options);
    expect((await last.load()).log).toEqual([txn(1, big), txn(2, big + 1)]);
    await last.close();
    expect(segmentsOf(dir)).toEqual(['0000000001.seg', '0000000002.seg']);
  });

  it('truncates through pointers, rewriting the record reaching over the cut into the value log', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, options);
    await store.apply([{ kind: 'append', txns: [txn(1, big), txn(2, big), txn(3, big)] }]);
    await store.append([txn(4, big)]);
    await store.truncate(makeZxid(1, 2));
    await store.append([txn(3, 5)]);
    expect(await store.readLog(zeroZxid)).toEqual([txn(1, big), txn(2, big), txn(3, 5)]);
    await store.close();
    const again = await LevelStorage.open(dir, options);
    expect((await again.load()).log).toEqual([txn(1, big), txn(2, big), txn(3, 5)]);
    await again.close();
  });

  it('deletes a segment once a purge leaves no pointer into it, and keeps the ones still needed', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, { ...options, retainSnapshots: 1 });
    const history = Array.from({ length: 8 }, (_v, i) => txn(i + 1, big));
    for (const t of history) await store.append([t]);
    // Two records per segment of 5000 bytes.
    expect(segmentsOf(dir)).toHaveLength(4);
    await store.saveSnapshot(snapshotThrough(history.slice(0, 5)));
    await store.purge(makeZxid(1, 5));
    // Records 6..8 are in segments 3 and 4; 1..5 are gone, and with them segments 1 and 2.
    expect(segmentsOf(dir)).toEqual(['0000000003.seg', '0000000004.seg']);
    await store.close();
    const again = await LevelStorage.open(dir, options);
    const state = await again.load();
    expect(state.snapshot?.zxid).toBe(makeZxid(1, 5));
    expect(state.log).toEqual(history.slice(5));
    await again.close();
  });

  it('a reset leaves every segment unreferenced: the next open deletes them', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, options);
    const history = Array.from({ length: 4 }, (_v, i) => txn(i + 1, big));
    for (const t of history) await store.append([t]);
    await store.reset(snapshotThrough(history));
    expect(segmentsOf(dir)).toEqual(['0000000002.seg']);
    await store.close();
    const again = await LevelStorage.open(dir, options);
    expect(segmentsOf(dir)).toEqual([]);
    expect((await again.load()).log).toEqual([]);
    await again.close();
  });

  it('upgrades a format 2 store, whose records stay readable, to format 3', async () => {
    const dir = tempDir();
    const old = await LevelStorage.open(dir);
    await old.append([txn(1, big)]);
    await old.close();
    let db = await rawDb(dir);
    expect(decodeFormatRecord((await db.get(formatKey))!)).toBe(2);
    await db.close();
    const store = await LevelStorage.open(dir, options);
    await store.append([txn(2, big)]);
    await store.close();
    db = await rawDb(dir);
    expect(decodeFormatRecord((await db.get(formatKey))!)).toBe(3);
    expect(isPointerRecord((await db.get(logKey(makeZxid(1, 1))))!)).toBe(false);
    expect(isPointerRecord((await db.get(logKey(makeZxid(1, 2))))!)).toBe(true);
    await db.close();
    // Opened again with the option off: it reads the value log it finds, and stays format 3.
    const plain = await LevelStorage.open(dir);
    expect((await plain.load()).log).toEqual([txn(1, big), txn(2, big)]);
    await plain.append([txn(3, big)]);
    await plain.close();
    db = await rawDb(dir);
    expect(decodeFormatRecord((await db.get(formatKey))!)).toBe(3);
    expect(isPointerRecord((await db.get(logKey(makeZxid(1, 3))))!)).toBe(false);
    await db.close();
  });

  it('refuses a store of a format newer than 3 by its version', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, options);
    await store.close();
    const db = await rawDb(dir);
    const { encodeFormatRecord } = await import('@zabkit/codec');
    await db.put(formatKey, encodeFormatRecord(4));
    await db.close();
    const error = await LevelStorage.open(dir, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageFormatError);
    expect((error as StorageFormatError).found).toBe(4);
    expect((error as StorageFormatError).supported).toBe(3);
  });

  it('check reads through pointers; repair, only when asked, drops a dangling one and what follows', async () => {
    const dir = tempDir();
    const valuesDir = join(dir, 'values');
    const store = await LevelStorage.open(dir, options);
    for (let i = 1; i <= 3; i++) await store.append([txn(i, big)]);
    await store.close();
    let db = await rawDb(dir);
    const sound = await checkStorage(db as unknown as BytesLevel, { valuesDir });
    expect(sound.problems).toEqual([]);
    expect(sound.log).toEqual({ records: 3, firstZxid: makeZxid(1, 1), lastZxid: makeZxid(1, 3) });
    expect(sound.formatVersion).toBe(3);
    // Without its value log every pointer dangles.
    const blind = await checkStorage(db as unknown as BytesLevel);
    expect(blind.problems.map((p) => p.problem)).toEqual(
      Array(3).fill('a pointer into a value log that is not there (dangling)'),
    );
    await db.close();
    // Record 2's bytes damaged in place: its pointer dangles (its checksum no longer matches).
    const segment = join(valuesDir, segmentsOf(dir)[0]!);
    const { openSync, writeSync, closeSync } = await import('node:fs');
    const fd = openSync(segment, 'r+');
    const second = decodePointer(
      await (async () => {
        const d = await rawDb(dir);
        const v = (await d.get(logKey(makeZxid(1, 2))))!;
        await d.close();
        return v;
      })(),
    );
    writeSync(fd, Uint8Array.of(0xff, 0xff), 0, 2, second.offset);
    closeSync(fd);
    db = await rawDb(dir);
    const damaged = await checkStorage(db as unknown as BytesLevel, { valuesDir });
    expect(damaged.problems).toHaveLength(1);
    expect(damaged.problems[0]).toMatchObject({ what: 'log record', unrepairable: false });
    expect(damaged.problems[0]!.problem).toMatch(/value log: .*\(dangling\)/);
    expect(damaged.problems[0]!.location.firstZxid).toBe(makeZxid(1, 2));
    const plan = await repairStorage(db as unknown as BytesLevel, { apply: false, valuesDir });
    expect(plan.applied).toBe(false);
    expect(plan.plan.keepsThrough).toBe(makeZxid(1, 1));
    expect(await db.get(logKey(makeZxid(1, 2)))).toBeDefined();
    const repaired = await repairStorage(db as unknown as BytesLevel, { apply: true, valuesDir });
    expect(repaired.applied).toBe(true);
    expect(repaired.after?.problems).toEqual([]);
    await db.close();
    const again = await LevelStorage.open(dir, options);
    expect((await again.load()).log).toEqual([txn(1, big)]);
    await again.close();
  });

  it('commits a pointer only once its bytes are in the segment', async () => {
    const dir = tempDir();
    const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' });
    const seen: string[] = [];
    const checkPointers = (values: Uint8Array[]) => {
      for (const value of values) {
        if (!isPointerRecord(value)) continue;
        const pointer = decodePointer(value);
        const file = join(dir, `${pointer.segment.toString().padStart(10, '0')}.seg`);
        // The bytes it names are on disk before the database takes the pointer.
        expect(statSync(file).size).toBeGreaterThanOrEqual(pointer.offset + pointer.length);
        seen.push(`${pointer.segment}@${pointer.offset}`);
      }
    };
    const put = db.put.bind(db);
    const batch = db.batch.bind(db) as (ops: unknown[], options?: unknown) => Promise<void>;
    Object.assign(db, {
      put: (key: Uint8Array, value: Uint8Array, o?: unknown) => {
        checkPointers([value]);
        return put(key, value, o as never);
      },
      batch: (ops: { type: string; value?: Uint8Array }[], o?: unknown) => {
        checkPointers(ops.flatMap((op) => (op.type === 'put' && op.value !== undefined ? [op.value] : [])));
        return batch(ops, o);
      },
    });
    const store = await LevelStorage.on(db as unknown as BytesLevel, {
      valueLog: { dir, thresholdBytes: 1000, segmentBytes: 5000 },
    });
    await store.append([txn(1, big)]);
    await store.apply([
      { kind: 'epochs', epochs: { acceptedEpoch: 1, currentEpoch: 1 } },
      { kind: 'append', txns: [txn(2, big), txn(3, 10)] },
    ]);
    await store.truncate(makeZxid(1, 2));
    expect(seen.length).toBe(3);
    expect((await store.load()).log).toEqual([txn(1, big), txn(2, big)]);
    await store.close();
  });
});
