/**
 * LevelStorage: the shared compliance suite on memory-level and on classic-level (LevelDB
 * on disk), then what only a disk store faces: reopening, damage found at open, background
 * snapshots, retention and group commit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFormatRecord, encodeFormatRecord, storageFormatVersion } from '@zabkit/codec';
import { DataTree, Ids, makeZxid, type PeerStorage, type SessionId, type Txn, zeroZxid } from '@zabkit/core';
import { ClassicLevel } from 'classic-level';
import { MemoryLevel } from 'memory-level';
import { afterAll, describe, expect, it } from 'vitest';
import { storageComplianceSuite } from '../../../test/compliance/storage.js';
import {
  type BytesLevel,
  LevelStorage,
  newestReadableFormat,
  StorageCorruptError,
  StorageFormatError,
} from '../src/index.js';
import { chunkKey, epochsKey, formatKey, logKey, manifestKey, snapshotRange } from '../src/keys.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-level-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const memoryDb = () =>
  new MemoryLevel<Uint8Array, Uint8Array>({
    keyEncoding: 'view',
    valueEncoding: 'view',
  }) as unknown as BytesLevel;
const locations = new WeakMap<PeerStorage, string>();

storageComplianceSuite('memory-level', {
  create: () => LevelStorage.on(memoryDb()),
});

// Snapshots in many small stored chunks: reads resume inside and across them.
storageComplianceSuite('memory-level, small snapshot chunks', {
  create: () => LevelStorage.on(memoryDb(), { snapshotChunkNodes: 3, snapshotChunkBytes: 5000 }),
});

storageComplianceSuite('classic-level', {
  create: async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir);
    locations.set(store, dir);
    return store;
  },
  reopen: async (store) => LevelStorage.open(locations.get(store)!),
});

function txn(epoch: number, counter: number): Txn {
  return {
    zxid: makeZxid(epoch, counter),
    timeMs: counter,
    sessionId: 1n as SessionId,
    cxid: counter,
    body: {
      kind: 'create',
      path: `/n${epoch}-${counter}`,
      data: new Uint8Array([counter & 0xff]),
      acl: Ids.openAclUnsafe,
      ephemeralOwner: 0n,
      parentCversion: counter,
    },
  };
}

const txns = (epoch: number, from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_v, i) => txn(epoch, from + i));

/** Appends one transaction per call: one log record each, so a test can damage one. */
async function appendEach(store: LevelStorage, history: readonly Txn[]): Promise<void> {
  for (const t of history) await store.append([t]);
}

function snapshotTree(history: readonly Txn[]) {
  const tree = new DataTree();
  for (const t of history) tree.apply(t);
  return tree;
}

function snapshotOf(history: readonly Txn[]) {
  const tree = new DataTree();
  for (const t of history) tree.apply(t);
  return tree.snapshot();
}

/** Writes raw bytes under a key, as damage on disk would. */
async function damage(dir: string, key: Uint8Array, value: Uint8Array | undefined): Promise<void> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  if (value === undefined) await db.del(key);
  else await db.put(key, value);
  await db.close();
}

async function flipLastByte(dir: string, key: Uint8Array): Promise<void> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  const value = (await db.get(key))!;
  const copy = Uint8Array.from(value);
  copy[copy.length - 1]! ^= 0xff;
  await db.put(key, copy);
  await db.close();
}

describe('LevelStorage on disk', () => {
  it('loads a snapshot chunk with its data in one buffer holding only the data', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir);
    const tree = new DataTree();
    const values = Array.from({ length: 20 }, (_v, i) => new Uint8Array(i % 5 === 0 ? 0 : 10 + i).fill(i));
    values.forEach((data, i) => {
      tree.apply({
        zxid: makeZxid(1, i + 1),
        timeMs: 1,
        sessionId: 1n as SessionId,
        cxid: i,
        body: {
          kind: 'create',
          path: `/n${i}`,
          data,
          acl: Ids.openAclUnsafe,
          ephemeralOwner: 0n,
          parentCversion: i + 1,
        },
      });
    });
    const saved = tree.snapshot();
    await store.saveSnapshot(saved);
    await store.close();
    const again = await LevelStorage.open(dir);
    const loaded = (await again.load()).snapshot!;
    expect(DataTree.fromSnapshot(loaded).digest()).toBe(tree.digest());
    const withBytes = loaded.nodes.filter((node) => node.data !== null && node.data.length > 0);
    const buffers = new Set(withBytes.map((node) => node.data!.buffer));
    expect(buffers.size).toBe(1);
    const total = values.reduce((sum, data) => sum + data.length, 0);
    expect([...buffers][0]!.byteLength).toBe(total);
    await again.close();
  });

  it('large log records written one after another, some in flight together, read back whole', async () => {
    // classic-level copies each value as it takes a write, so the store encodes record after
    // record into one buffer; memory-level keeps the value it is given, so the store must not.
    const sizes = [5000, 70_000, 9000, 200_000, 6000, 120_000, 4500, 300_000, 8000];
    const history = sizes.map((size, i) => {
      const base = txn(3, i + 1);
      const data = new Uint8Array(size).fill(i + 1);
      return { ...base, body: { ...base.body, data } } as Txn;
    });
    const dir = tempDir();
    for (const store of [await LevelStorage.open(dir), await LevelStorage.on(memoryDb())]) {
      // Three writes in flight at once, then one at a time.
      await Promise.all(history.slice(0, 3).map((t) => store.apply([{ kind: 'append', txns: [t] }])));
      for (const t of history.slice(3)) await store.append([t]);
      const read = await store.readLog(zeroZxid);
      expect(read.map((t) => t.zxid)).toEqual(history.map((t) => t.zxid));
      for (const [i, t] of read.entries()) {
        const data = (t.body as { data: Uint8Array }).data;
        expect(data.length).toBe(sizes[i]);
        expect(data.every((byte) => byte === i + 1)).toBe(true);
      }
      await store.close();
    }
    const again = await LevelStorage.open(dir);
    expect((await again.load()).log.map((t) => (t.body as { data: Uint8Array }).data.length)).toEqual(sizes);
    await again.close();
  });

  it('loads a log record with its data in one buffer holding only the data, or as views of a record of data', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir);
    const at = (counter: number, body: Txn['body']): Txn => ({
      zxid: makeZxid(1, counter),
      timeMs: counter,
      sessionId: 1n as SessionId,
      cxid: counter,
      body,
    });
    const create = (path: string, data: Uint8Array | null) =>
      ({
        kind: 'create',
        path,
        data,
        acl: Ids.openAclUnsafe,
        ephemeralOwner: 0n,
        parentCversion: 1,
      }) as const;
    const small = [
      at(1, create('/a', new Uint8Array(10).fill(1))),
      at(2, { kind: 'setData', path: '/a', data: new Uint8Array(5).fill(2), version: 1 }),
      at(3, create('/empty', new Uint8Array(0))),
      at(4, create('/null', null)),
      at(5, {
        kind: 'multi',
        parts: [create('/m', new Uint8Array(7).fill(3)), { kind: 'delete', path: '/empty' }],
      }),
    ];
    // One record of small data, then one of a single large value.
    await store.append(small);
    await store.append([
      at(6, { kind: 'setData', path: '/a', data: new Uint8Array(4096).fill(4), version: 2 }),
    ]);
    await store.close();
    const again = await LevelStorage.open(dir);
    const { log } = await again.load();
    expect(log).toEqual([
      ...small,
      at(6, { kind: 'setData', path: '/a', data: new Uint8Array(4096).fill(4), version: 2 }),
    ]);
    const smallData = [
      (log[0]!.body as { data: Uint8Array }).data,
      (log[1]!.body as { data: Uint8Array }).data,
      (log[4]!.body as unknown as { parts: { data: Uint8Array }[] }).parts[0]!.data,
    ];
    const buffers = new Set(smallData.map((data) => data.buffer));
    expect(buffers.size).toBe(1);
    expect([...buffers][0]!.byteLength).toBe(10 + 5 + 7);
    expect((log[3]!.body as { data: Uint8Array | null }).data).toBeNull();
    // The large value is most of its record: a view of it, not a copy.
    const large = (log[5]!.body as { data: Uint8Array }).data;
    expect(large.buffer.byteLength).toBeGreaterThan(large.byteLength);
    await again.close();
  });

  it('survives a reopen with log, snapshot and epochs', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir);
    await store.apply([
      { kind: 'epochs', epochs: { acceptedEpoch: 2, currentEpoch: 2 } },
      { kind: 'append', txns: txns(2, 1, 5) },
    ]);
    await store.saveSnapshot(snapshotOf(txns(2, 1, 3)));
    await store.close();
    const again = await LevelStorage.open(dir);
    const state = await again.load();
    expect(state.epochs).toEqual({ acceptedEpoch: 2, currentEpoch: 2 });
    expect(state.snapshot?.zxid).toBe(makeZxid(2, 3));
    expect(state.log.map((t) => t.zxid)).toEqual([makeZxid(2, 4), makeZxid(2, 5)]);
    await again.close();
  });

  it('refuses a damaged last log record: with atomic batches it is damage, not a torn write', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir);
    await appendEach(store, txns(1, 1, 4));
    await store.close();
    await flipLastByte(dir, logKey(makeZxid(1, 4)));
    const again = await LevelStorage.open(dir);
    const error = await again.load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageCorruptError);
    const corrupt = error as StorageCorruptError;
    expect(corrupt.what).toBe('log record');
    expect(corrupt.firstZxid).toBe(makeZxid(1, 4));
    expect(Buffer.from(corrupt.key!).equals(Buffer.from(logKey(makeZxid(1, 4))))).toBe(true);
    expect(corrupt.problem).toMatch(/checksum mismatch/);
    expect(corrupt.message).toMatch(
      /log record from 0x100000004 \(key 6c0000000100000004\): checksum mismatch/,
    );
    // Nothing was dropped: the record is still there for check and repair to see.
    expect(await again.db.get(logKey(makeZxid(1, 4)))).toBeDefined();
    await again.close();
  });

  it('refuses a last log record whose checksum holds but whose content does not decode, naming its zxid range', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir);
    await store.append(txns(1, 1, 2));
    await store.append(txns(1, 3, 5));
    await store.close();
    const { encodeLogRecord } = await import('@zabkit/codec');
    const record = Buffer.from(encodeLogRecord(txns(1, 3, 5)));
    // Turn the first transaction's body tag into an unknown one, then seal it again. In the
    // body: the 12-byte header, the txn's 4-byte length, its zxid (8), timeMs 3 and cxid 3
    // (one varint byte each) around its session id (a tag byte and 8), then the body's tag.
    const body = record.subarray(4);
    body[12 + 4 + 8 + 1 + 9 + 1] = 0x7f;
    const { crc32 } = await import('node:zlib');
    record.writeUInt32BE(crc32(body), 0);
    await damage(dir, logKey(makeZxid(1, 3)), record);
    const again = await LevelStorage.open(dir);
    const error = (await again.load().catch((e: unknown) => e)) as StorageCorruptError;
    expect(error).toBeInstanceOf(StorageCorruptError);
    expect(error.firstZxid).toBe(makeZxid(1, 3));
    expect(error.lastZxid).toBe(makeZxid(1, 5));
    expect(error.message).toMatch(
      /log record 0x100000003\.\.0x100000005 .*txns\[0\]\.body: unknown txn kind tag 127/,
    );
    await again.close();
  });

  it('refuses a damaged record inside the log: committed data would be lost', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir);
    await appendEach(store, txns(1, 1, 4));
    await store.close();
    await flipLastByte(dir, logKey(makeZxid(1, 2)));
    const again = await LevelStorage.open(dir);
    await expect(again.load()).rejects.toSatisfy(
      (error) => error instanceof StorageCorruptError && /log record from 0x100000002/.test(error.message),
    );
    await again.close();
  });

  it('refuses a log with a hole', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir);
    await appendEach(store, txns(1, 1, 4));
    await store.close();
    await damage(dir, logKey(makeZxid(1, 2)), undefined);
    const again = await LevelStorage.open(dir);
    await expect(again.load()).rejects.toBeInstanceOf(StorageCorruptError);
    await again.close();
  });

  it('refuses a log whose snapshot is missing', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, { retainSnapshots: 1 });
    await appendEach(store, txns(1, 1, 6));
    await store.saveSnapshot(snapshotOf(txns(1, 1, 3)));
    await store.purge(makeZxid(1, 3));
    await store.close();
    await damage(dir, manifestKey(makeZxid(1, 3)), undefined);
    const again = await LevelStorage.open(dir);
    await expect(again.load()).rejects.toSatisfy(
      (error) => error instanceof StorageCorruptError && error.what === 'snapshot',
    );
    await again.close();
  });

  it('falls back on an older snapshot when the newest is damaged and the log covers it', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir);
    const history = txns(1, 1, 8);
    await store.append(history);
    await store.saveSnapshot(snapshotOf(history.slice(0, 3)));
    await store.saveSnapshot(snapshotOf(history.slice(0, 6)));
    await store.close();
    await flipLastByte(dir, chunkKey(makeZxid(1, 6), 0));
    const warnings: string[] = [];
    const again = await LevelStorage.open(dir, { warn: (message) => warnings.push(message) });
    const state = await again.load();
    expect(state.snapshot?.zxid).toBe(makeZxid(1, 3));
    expect(state.log.map((t) => t.zxid)).toEqual(history.slice(3).map((t) => t.zxid));
    expect(warnings.join()).toMatch(/damaged snapshot/);
    await again.close();
  });

  it('restores the snapshot into a tree when asked, the same state, and falls back the same way', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, { snapshotChunkNodes: 2 });
    const history = txns(1, 1, 9);
    await store.append(history);
    await store.saveSnapshot(snapshotOf(history.slice(0, 3)));
    await store.saveSnapshot(snapshotOf(history.slice(0, 7)));
    await store.close();
    const again = await LevelStorage.open(dir);
    const whole = await again.load();
    const restored = await again.load({ restoreTree: true });
    expect(restored.snapshot).toBeUndefined();
    expect(restored.tree?.lastZxid).toBe(makeZxid(1, 7));
    expect(restored.tree?.digest()).toBe(DataTree.fromSnapshot(whole.snapshot!).digest());
    expect(restored.tree?.sessions()).toEqual(DataTree.fromSnapshot(whole.snapshot!).sessions());
    expect(restored.log).toEqual(whole.log);
    await again.close();
    // The newest snapshot damaged in its last chunk: the tree comes from the older one.
    await flipLastByte(dir, chunkKey(makeZxid(1, 7), 1));
    const damaged = await LevelStorage.open(dir, { warn: () => {} });
    const fallback = await damaged.load({ restoreTree: true });
    expect(fallback.tree?.lastZxid).toBe(makeZxid(1, 3));
    expect(fallback.tree?.digest()).toBe(snapshotTree(history.slice(0, 3)).digest());
    expect(fallback.log.map((t) => t.zxid)).toEqual(history.slice(3).map((t) => t.zxid));
    await damaged.close();
  });

  it('writes a snapshot streamed out of a live tree a chunk at a time: the tree at its zxid, though it changed meanwhile', async () => {
    const dir = tempDir();
    // Slices of 2 in chunks of 3: the tree changes inside a chunk too, between its nodes.
    const store = await LevelStorage.open(dir, { snapshotChunkNodes: 3, snapshotSliceNodes: 2 });
    const history = txns(1, 1, 40);
    const tree = snapshotTree(history.slice(0, 30));
    const atZxid = tree.digest();
    const stream = tree.beginSnapshot();
    await store.append(history);
    const changing = [...history.slice(30)];
    const applying = store.apply([{ kind: 'snapshot', snapshot: stream }]);
    // One change before any chunk after the first is taken, however loaded the machine (under
    // load the whole stream could otherwise be written before this test runs again).
    tree.apply(changing.shift()!);
    await applying;
    // The chunks are written in the background, one per write: change the tree between them.
    // Bounded in time, not in turns: on a loaded machine a chunk's write spans many turns.
    const started = Date.now();
    for (let turn = 0; tree.snapshotInProgress; turn++) {
      expect(Date.now() - started).toBeLessThan(20_000);
      const next = changing.shift();
      if (next !== undefined) tree.apply(next);
      else
        tree.apply({
          ...txn(1, 100 + turn),
          body: {
            kind: 'setData',
            path: `/n1-${1 + (turn % 30)}`,
            data: new Uint8Array([turn]),
            version: turn,
          },
        });
      await new Promise((resolve) => setImmediate(resolve));
    }
    await store.close();
    const again = await LevelStorage.open(dir);
    const restored = await again.load({ restoreTree: true });
    expect(restored.tree?.lastZxid).toBe(makeZxid(1, 30));
    expect(restored.tree?.digest()).toBe(atZxid);
    expect(restored.tree?.nodeCount).toBe(30 + 4);
    await again.close();
  });

  it('encodes a chunk a slice of nodes per turn of the event loop, not a whole chunk at once', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, { snapshotChunkNodes: 2000, snapshotSliceNodes: 10 });
    const history = txns(1, 1, 200);
    const tree = snapshotTree(history);
    const stream = tree.beginSnapshot();
    await store.append(history);
    await store.apply([{ kind: 'snapshot', snapshot: stream }]);
    // The store and this loop take turns in the event loop's check phase: each turn of the
    // store walks and encodes at most a slice, though the whole tree fits in one chunk.
    const seen: number[] = [];
    while (tree.snapshotInProgress) {
      seen.push(stream.nodesFound);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const steps = seen.slice(1).map((found, i) => found - seen[i]!);
    expect(Math.max(...steps)).toBeLessThanOrEqual(10);
    expect(seen.length).toBeGreaterThanOrEqual(200 / 10);
    await store.close();
    const again = await LevelStorage.open(dir);
    const restored = await again.load({ restoreTree: true });
    expect(restored.tree?.digest()).toBe(tree.digest());
    await again.close();
  });

  it('ignores a snapshot whose manifest never landed (a crash mid-write)', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, { snapshotChunkNodes: 2 });
    const history = txns(1, 1, 6);
    await store.append(history);
    await store.saveSnapshot(snapshotOf(history.slice(0, 2)));
    await store.saveSnapshot(snapshotOf(history.slice(0, 5)));
    await store.close();
    await damage(dir, manifestKey(makeZxid(1, 5)), undefined);
    const again = await LevelStorage.open(dir);
    const state = await again.load();
    expect(state.snapshot?.zxid).toBe(makeZxid(1, 2));
    expect(state.log).toHaveLength(4);
    await again.close();
  });

  it('finds the snapshots and the incomplete ones among several, newest first', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, { snapshotChunkNodes: 2, retainSnapshots: 5 });
    const history = txns(1, 1, 8);
    await store.append(history);
    for (const at of [2, 4, 6, 7]) await store.saveSnapshot(snapshotOf(history.slice(0, at)));
    await store.close();
    // 4 and 7 lose their manifests (written when the process stopped); 6 stays the newest whole one.
    await damage(dir, manifestKey(makeZxid(1, 7)), undefined);
    await damage(dir, manifestKey(makeZxid(1, 4)), undefined);
    const again = await LevelStorage.open(dir);
    const state = await again.load();
    expect(state.snapshot?.zxid).toBe(makeZxid(1, 6));
    expect(state.log.map((t) => t.zxid)).toEqual([makeZxid(1, 7), makeZxid(1, 8)]);
    expect(state.incompleteSnapshots).toEqual([makeZxid(1, 4), makeZxid(1, 7)]);
    await again.close();
  });

  it('loads without walking the keys of every snapshot chunk kept', async () => {
    // A database that counts the keys its iterators hand out under the snapshot section.
    let snapshotKeysRead = 0;
    const counted = (key: Uint8Array | undefined) => {
      if (key !== undefined && key[0] === snapshotRange(0n).gte[0]) snapshotKeysRead++;
    };
    class CountingLevel extends MemoryLevel<Uint8Array, Uint8Array> {
      override keys(options?: object) {
        const iterator = super.keys(options as never);
        const next = iterator.next.bind(iterator);
        const nextv = iterator.nextv.bind(iterator);
        const all = iterator.all.bind(iterator);
        iterator.next = async () => {
          const key = await next();
          counted(key);
          return key;
        };
        iterator.nextv = async (size: number) => {
          const keys = await nextv(size);
          for (const key of keys) counted(key);
          return keys;
        };
        iterator.all = async () => {
          const keys = await all();
          for (const key of keys) counted(key);
          return keys;
        };
        return iterator as never;
      }
    }
    const db = new CountingLevel({ keyEncoding: 'view', valueEncoding: 'view' }) as unknown as BytesLevel;
    const store = await LevelStorage.on(db, { snapshotChunkNodes: 2, retainSnapshots: 5 });
    const history = txns(1, 1, 200);
    await store.append(history);
    await store.saveSnapshot(snapshotOf(history.slice(0, 100)));
    await store.saveSnapshot(snapshotOf(history));
    snapshotKeysRead = 0;
    const state = await store.load({ restoreTree: true });
    expect(state.tree?.lastZxid).toBe(makeZxid(1, 200));
    // Two snapshots of 50 and 100 chunks: a few keys each, not one per chunk.
    expect(snapshotKeysRead).toBeLessThanOrEqual(8);
    await store.close();
  });

  it('writes large snapshots in chunks, in the background, while appends go on', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, { snapshotChunkNodes: 50 });
    const history = txns(1, 1, 500);
    await store.apply([{ kind: 'append', txns: history.slice(0, 400) }]);
    const snapshot = snapshotOf(history.slice(0, 400));
    await store.apply([
      { kind: 'snapshot', snapshot },
      { kind: 'append', txns: history.slice(400) },
    ]);
    await store.close();
    const again = await LevelStorage.open(dir);
    const state = await again.load();
    expect(state.snapshot?.zxid).toBe(makeZxid(1, 400));
    expect(state.snapshot!.nodes.length).toBe(snapshot.nodes.length);
    expect(DataTree.fromSnapshot(state.snapshot!).digest()).toBe(DataTree.fromSnapshot(snapshot).digest());
    expect(state.log).toHaveLength(100);
    await again.close();
  });

  it('opens LevelDB with the write buffer asked for: 8 MB of writes flush no file under 64 MiB, several under 1 MiB', async () => {
    const tablesAfter8MB = async (writeBufferBytes: number | undefined) => {
      const store = await LevelStorage.open(
        tempDir(),
        writeBufferBytes === undefined ? {} : { writeBufferBytes },
      );
      const value = new Uint8Array(1_000_000).fill(7);
      for (let i = 1; i <= 8; i++)
        await store.apply([
          {
            kind: 'append',
            txns: [{ ...txn(1, i), body: { ...txn(1, i).body, data: value } as Txn['body'] }],
          },
        ]);
      const db = store.db as unknown as { getProperty(property: string): string };
      let tables = 0;
      for (let level = 0; level < 7; level++)
        tables += Number(db.getProperty(`leveldb.num-files-at-level${level}`));
      await store.close();
      return tables;
    };
    expect(await tablesAfter8MB(undefined)).toBe(0);
    expect(await tablesAfter8MB(1024 * 1024)).toBeGreaterThan(0);
  });

  it('paces a background snapshot while LevelDB reports level 0 full, and appends go on meanwhile', async () => {
    const db = memoryDb();
    let level0 = 10;
    const asked: string[] = [];
    Object.assign(db, {
      getProperty: (property: string) => {
        asked.push(property);
        return String(level0);
      },
    });
    const store = await LevelStorage.on(db, { snapshotChunkNodes: 5, snapshotLevel0FilesMax: 10 });
    const history = txns(1, 1, 60);
    await store.apply([{ kind: 'append', txns: history.slice(0, 40) }]);
    await store.apply([{ kind: 'snapshot', snapshot: snapshotOf(history.slice(0, 40)) }]);
    const background = (store as unknown as { background: Promise<void> }).background;
    let written = false;
    void background.then(() => {
      written = true;
    });
    const chunkKeys = async () => (await db.keys(snapshotRange(makeZxid(1, 40))).all()).length;
    await new Promise((resolve) => setTimeout(resolve, 60));
    // Level 0 at its bound: not one chunk written, and the log's appends are not held.
    expect(asked).toContain('leveldb.num-files-at-level0');
    expect(await chunkKeys()).toBe(0);
    await store.apply([{ kind: 'append', txns: history.slice(40) }]);
    expect(written).toBe(false);
    // Compaction caught up: the snapshot is written whole.
    level0 = 9;
    await background;
    expect(written).toBe(true);
    const state = await store.load();
    expect(state.snapshot?.zxid).toBe(makeZxid(1, 40));
    expect(state.log).toHaveLength(20);
    await store.close();
  });

  it('looks at level 0 before the first chunk of a snapshot and then once per quarter write buffer, not per chunk', async () => {
    const db = memoryDb();
    let looks = 0;
    Object.assign(db, {
      getProperty: () => {
        looks++;
        return '0';
      },
    });
    // No write buffer given: LevelDB's 4 MiB is assumed, a look per 1 MiB of chunks.
    const store = await LevelStorage.on(db, { snapshotChunkNodes: 1 });
    const value = new Uint8Array(100_000).fill(9);
    const history = txns(1, 1, 40).map((t) => ({ ...t, body: { ...t.body, data: value } as Txn['body'] }));
    await store.apply([{ kind: 'append', txns: history }]);
    const tree = snapshotTree(history);
    await store.apply([{ kind: 'snapshot', snapshot: tree.beginSnapshot() }]);
    await (store as unknown as { background: Promise<void> }).background;
    // Over 40 chunks (40 of 100 KB, and the small nodes of /zookeeper), and the manifest: the
    // first chunk's look, then one per 1 MiB written.
    expect((await db.keys(snapshotRange(makeZxid(1, 40))).all()).length).toBeGreaterThan(41);
    expect(looks).toBe(1 + Math.floor((40 * 100_000) / (1024 * 1024)));
    // A second snapshot looks before its first chunk again.
    await store.apply([{ kind: 'append', txns: [txn(1, 41)] }]);
    tree.apply(txn(1, 41));
    looks = 0;
    await store.apply([{ kind: 'snapshot', snapshot: tree.beginSnapshot() }]);
    await (store as unknown as { background: Promise<void> }).background;
    expect(looks).toBeGreaterThanOrEqual(1);
    expect(looks).toBeLessThanOrEqual(5);
    expect((await store.load()).snapshot?.zxid).toBe(makeZxid(1, 41));
    await store.close();
  });

  it('a paced snapshot waits a bounded time per chunk: a compaction that never catches up delays it, never stops it', async () => {
    const db = memoryDb();
    Object.assign(db, { getProperty: () => '50' });
    const store = await LevelStorage.on(db, { snapshotLevel0FilesMax: 10 });
    const history = txns(1, 1, 3);
    await store.apply([{ kind: 'append', txns: history }]);
    const started = performance.now();
    await store.apply([{ kind: 'snapshot', snapshot: snapshotOf(history) }]);
    await (store as unknown as { background: Promise<void> }).background;
    // One chunk: one bounded wait (2 s), then written.
    expect(performance.now() - started).toBeGreaterThanOrEqual(1900);
    expect((await store.load()).snapshot?.zxid).toBe(makeZxid(1, 3));
    await store.close();
  });

  it('does not pace a snapshot when told not to (snapshotLevel0FilesMax 0), nor ask the database', async () => {
    const db = memoryDb();
    const asked: string[] = [];
    Object.assign(db, {
      getProperty: (property: string) => {
        asked.push(property);
        return '50';
      },
    });
    const store = await LevelStorage.on(db, { snapshotLevel0FilesMax: 0 });
    const history = txns(1, 1, 3);
    await store.apply([{ kind: 'append', txns: history }]);
    await store.apply([{ kind: 'snapshot', snapshot: snapshotOf(history) }]);
    await (store as unknown as { background: Promise<void> }).background;
    expect(asked).toEqual([]);
    expect((await store.load()).snapshot?.zxid).toBe(makeZxid(1, 3));
    await store.close();
  });

  it('a stored snapshot reads back while a newer one is written in the background; the newer one once written', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, { snapshotChunkNodes: 1 });
    const history = txns(1, 1, 1000);
    await store.apply([{ kind: 'append', txns: history }]);
    await store.apply([{ kind: 'snapshot', snapshot: snapshotOf(history.slice(0, 10)) }]);
    const background = () => (store as unknown as { background: Promise<void> }).background;
    await background();
    // A snapshot of a thousand chunks, written in the background.
    await store.apply([{ kind: 'snapshot', snapshot: snapshotOf(history) }]);
    let written = false;
    const pending = background().then(() => {
      written = true;
    });
    // The older one reads back meanwhile: a learner sync streaming it does not wait.
    const chunk = await store.readSnapshotChunk(makeZxid(1, 10), 0, 1024 * 1024);
    expect(chunk.nodes.length).toBeGreaterThan(0);
    expect(written).toBe(false);
    // The one being written reads back too, once it is whole.
    const newest = await store.readSnapshotChunk(makeZxid(1, 1000), 0, 1024 * 1024);
    expect(written).toBe(true);
    expect(newest.nodes.length).toBeGreaterThan(0);
    await pending;
    await store.close();
  });

  it('retains the newest snapshots on purge, and the log after the oldest kept', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, { retainSnapshots: 2 });
    const history = txns(1, 1, 10);
    await appendEach(store, history);
    for (const at of [2, 4, 6, 8]) await store.saveSnapshot(snapshotOf(history.slice(0, at)));
    await store.purge(makeZxid(1, 8));
    expect((await store.readLog(zeroZxid))[0]!.zxid).toBe(makeZxid(1, 7));
    await store.close();
    // The newest damaged: the one kept before it still serves.
    await flipLastByte(dir, chunkKey(makeZxid(1, 8), 0));
    const again = await LevelStorage.open(dir);
    expect((await again.load()).snapshot?.zxid).toBe(makeZxid(1, 6));
    await again.close();
  });

  it('stages SNAP chunks through its one reused record buffer and reads every chunk back whole', async () => {
    // On LevelDB, whose writes copy their values, each staged chunk is encoded into the buffer
    // the last write freed: a chunk written over before the database took it would read back
    // as another's bytes.
    const dir = tempDir();
    const store = await LevelStorage.open(dir);
    await store.apply([{ kind: 'append', txns: txns(1, 1, 3) }]);
    const tree = new DataTree();
    // The first chunk leaves a buffer the next two would both fit in: they go in one batch.
    const sizes = [200_000, 70_000, 70_000, 3_000, 90_000, 70_000];
    sizes.forEach((bytes, i) => {
      tree.apply({
        zxid: makeZxid(2, i + 1),
        timeMs: 1,
        sessionId: 1n as SessionId,
        cxid: i,
        body: {
          kind: 'create',
          path: `/staged${i}`,
          data: new Uint8Array(bytes).fill(i + 1),
          acl: Ids.openAclUnsafe,
          ephemeralOwner: 0n,
          parentCversion: i + 1,
        },
      });
    });
    const snapshot = tree.snapshot();
    const zxid = snapshot.zxid;
    // Two nodes a chunk; one write for the first chunk alone, then two chunks in one batch.
    const chunks = Array.from({ length: Math.ceil(snapshot.nodes.length / 2) }, (_v, i) =>
      snapshot.nodes.slice(2 * i, 2 * i + 2),
    );
    expect(chunks.length).toBeGreaterThanOrEqual(4);
    await store.apply([{ kind: 'stageBegin', zxid }]);
    await store.apply([{ kind: 'stageChunk', zxid, index: 0, nodes: chunks[0]! }]);
    await store.apply(
      chunks.slice(1, 3).map((nodes, i) => ({ kind: 'stageChunk' as const, zxid, index: i + 1, nodes })),
    );
    for (let index = 3; index < chunks.length; index++)
      await store.apply([{ kind: 'stageChunk', zxid, index, nodes: chunks[index]! }]);
    await store.apply([
      { kind: 'stageCommit', zxid, chunks: chunks.length, nodes: snapshot.nodes.length, sessions: [] },
    ]);
    await store.close();
    const again = await LevelStorage.open(dir);
    const loaded = (await again.load()).snapshot!;
    expect(loaded.zxid).toBe(zxid);
    expect(DataTree.fromSnapshot(loaded).digest()).toBe(tree.digest());
    for (const [i, bytes] of sizes.entries()) {
      const node = loaded.nodes.find((n) => n.path === `/staged${i}`)!;
      expect(node.data).toEqual(new Uint8Array(bytes).fill(i + 1));
    }
    await again.close();
  });

  it('purges by seeks and counted keys: reads no chunk keys, deletes every key of the snapshot dropped, keeps the rest', async () => {
    const db = memoryDb();
    const store = await LevelStorage.on(db, { retainSnapshots: 2, snapshotChunkNodes: 1 });
    const history = txns(1, 1, 40);
    await store.apply([{ kind: 'append', txns: history }]);
    for (const at of [10, 20, 30]) await store.saveSnapshot(snapshotOf(history.slice(0, at)));
    // Chunks with no manifest, between the kept ones and above them: not snapshots.
    await store.stageSnapshot(makeZxid(1, 25));
    await store.stageChunk(makeZxid(1, 25), 0, snapshotOf(history.slice(0, 1)).nodes);
    await db.put(Uint8Array.of(0x73), Uint8Array.of(1));
    let keysRead = 0;
    const keys = db.keys.bind(db);
    Object.assign(db, {
      keys: (options: Parameters<typeof db.keys>[0]) => {
        const iterator = keys(options);
        const all = iterator.all.bind(iterator);
        const next = iterator.next.bind(iterator);
        Object.assign(iterator, {
          all: async () => {
            const found = await all();
            keysRead += found.length;
            return found;
          },
          next: async () => {
            const found = await next();
            if (found !== undefined) keysRead++;
            return found;
          },
        });
        return iterator;
      },
    });
    await store.purge(makeZxid(1, 30));
    Object.assign(db, { keys });
    // Over 60 chunk keys are stored: the purge read a few keys per snapshot (the walk's seeks).
    expect(keysRead).toBeLessThanOrEqual(12);
    expect(await db.keys(snapshotRange(makeZxid(1, 10))).all()).toEqual([]);
    expect((await db.keys(snapshotRange(makeZxid(1, 20))).all()).length).toBeGreaterThan(20);
    expect(await db.keys(snapshotRange(makeZxid(1, 25))).all()).toHaveLength(1);
    expect([...((await db.get(Uint8Array.of(0x73))) ?? [])]).toEqual([1]);
    expect((await store.load()).snapshot?.zxid).toBe(makeZxid(1, 30));
    await store.close();
  });

  it('purges a snapshot whose manifest does not decode by its range: none of its keys stay', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, { retainSnapshots: 1, snapshotChunkNodes: 1 });
    const history = txns(1, 1, 10);
    await store.apply([{ kind: 'append', txns: history }]);
    for (const at of [4, 8]) await store.saveSnapshot(snapshotOf(history.slice(0, at)));
    await store.close();
    await flipLastByte(dir, manifestKey(makeZxid(1, 4)));
    const again = await LevelStorage.open(dir, { retainSnapshots: 1 });
    await again.purge(makeZxid(1, 8));
    expect(await again.db.keys(snapshotRange(makeZxid(1, 4))).all()).toEqual([]);
    expect((await again.load()).snapshot?.zxid).toBe(makeZxid(1, 8));
    await again.close();
  });

  it('tells of each background snapshot and purge once done, with its zxid and how long it took', async () => {
    const told: string[] = [];
    const store = await LevelStorage.on(memoryDb(), {
      retainSnapshots: 1,
      info: (message) => told.push(message),
    });
    const history = txns(1, 1, 6);
    await store.apply([{ kind: 'append', txns: history }]);
    await store.apply([{ kind: 'snapshot', snapshot: snapshotOf(history.slice(0, 3)) }]);
    await store.apply([{ kind: 'snapshot', snapshot: snapshotOf(history) }]);
    await store.apply([{ kind: 'purge', throughZxid: makeZxid(1, 6) }]);
    await (store as unknown as { background: Promise<void> }).background;
    expect(told).toHaveLength(3);
    expect(told[0]).toMatch(/^snapshot at 0x100000003 written in \d+ ms$/);
    expect(told[1]).toMatch(/^snapshot at 0x100000006 written in \d+ ms$/);
    // The older snapshot (its manifest and one chunk) and the log records below the newer one.
    expect(told[2]).toMatch(/^purged through 0x100000006: [1-9]\d* keys deleted in \d+ ms$/);
    await store.close();
  });

  it('purges off the durability chain: the batch asking for it is durable before the snapshot and purge finish', async () => {
    const dir = tempDir();
    // One node per chunk: the snapshot takes many writes, the batch after it one.
    const store = await LevelStorage.open(dir, { retainSnapshots: 1, snapshotChunkNodes: 1 });
    const history = txns(1, 1, 1500);
    await store.apply([{ kind: 'append', txns: history.slice(0, 1000) }]);
    await store.apply([{ kind: 'snapshot', snapshot: snapshotOf(history.slice(0, 500)) }]);
    await store.apply([
      { kind: 'snapshot', snapshot: snapshotOf(history.slice(0, 1000)) },
      { kind: 'purge', throughZxid: makeZxid(1, 1000) },
    ]);
    // Commits go on while the snapshot is written and the purge waits for it.
    await store.apply([{ kind: 'append', txns: history.slice(1000) }]);
    expect(await store.db.get(manifestKey(makeZxid(1, 1000)))).toBeUndefined();
    await store.close();
    // Done in the background: one snapshot kept, and the log after it only.
    const again = await LevelStorage.open(dir);
    const state = await again.load();
    expect(state.snapshot?.zxid).toBe(makeZxid(1, 1000));
    expect(await again.db.get(manifestKey(makeZxid(1, 500)))).toBeUndefined();
    expect(state.log.map((t) => t.zxid)).toEqual(history.slice(1000).map((t) => t.zxid));
    await again.close();
  });

  it('with autoPurge off (autopurge.purgeInterval=0) keeps every snapshot and the whole log', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, { retainSnapshots: 1, autoPurge: false });
    const history = txns(1, 1, 30);
    await store.apply([{ kind: 'append', txns: history }]);
    for (const at of [10, 20, 30])
      await store.apply([
        { kind: 'snapshot', snapshot: snapshotOf(history.slice(0, at)) },
        { kind: 'purge', throughZxid: makeZxid(1, at) },
      ]);
    await store.close();
    const again = await LevelStorage.open(dir);
    for (const at of [10, 20, 30]) expect(await again.db.get(manifestKey(makeZxid(1, at)))).toBeDefined();
    expect((await again.readLog(zeroZxid)).map((t) => t.zxid)).toEqual(history.map((t) => t.zxid));
    await again.close();
  });

  it('keeps a group-commit batch in one record, and truncates inside it', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir);
    await store.apply([
      { kind: 'append', txns: txns(1, 1, 3) },
      { kind: 'epochs', epochs: { acceptedEpoch: 1, currentEpoch: 1 } },
      { kind: 'append', txns: txns(1, 4, 6) },
    ]);
    const keys = await store.db.keys().all();
    expect(keys.filter((key) => key[0] === 0x6c)).toHaveLength(1);
    await store.truncate(makeZxid(1, 4));
    await store.append([txn(2, 1)]);
    await store.close();
    const again = await LevelStorage.open(dir);
    expect((await again.load()).log.map((t) => t.zxid)).toEqual([
      ...txns(1, 1, 4).map((t) => t.zxid),
      makeZxid(2, 1),
    ]);
    expect((await again.readLog(makeZxid(1, 2))).map((t) => t.zxid)).toEqual([
      makeZxid(1, 3),
      makeZxid(1, 4),
      makeZxid(2, 1),
    ]);
    await again.close();
  });

  it('without group commit writes each transaction on its own, with the same result', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, { groupCommit: false });
    await store.apply([{ kind: 'append', txns: txns(1, 1, 20) }]);
    await store.close();
    const again = await LevelStorage.open(dir);
    expect((await again.load()).log).toHaveLength(20);
    await again.close();
  });
});

describe('LevelStorage format record', () => {
  const put = async (db: BytesLevel, key: Uint8Array, value: Uint8Array) => {
    await db.open();
    await db.put(key, value);
  };

  it('is written when a store is created, and read back at every open', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir);
    const record = await store.db.get(formatKey);
    expect(record === undefined ? undefined : decodeFormatRecord(record)).toBe(storageFormatVersion);
    await store.close();
    const again = await LevelStorage.open(dir);
    expect((await again.load()).log).toEqual([]);
    await again.close();
  });

  it('refuses a store of a newer format, naming both versions, and changes nothing', async () => {
    const db = memoryDb();
    await put(db, formatKey, encodeFormatRecord(newestReadableFormat + 1));
    await put(db, logKey(makeZxid(1, 1)), Uint8Array.of(1, 2, 3));
    const error = await LevelStorage.on(db).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageFormatError);
    const format = error as StorageFormatError;
    expect(format.found).toBe(newestReadableFormat + 1);
    expect(format.supported).toBe(newestReadableFormat);
    expect(format.message).toMatch(
      new RegExp(
        `store format ${newestReadableFormat + 1} is newer than this zabkit reads \\(format ${newestReadableFormat}\\)`,
      ),
    );
    await db.open();
    expect(decodeFormatRecord((await db.get(formatKey))!)).toBe(newestReadableFormat + 1);
  });

  it('refuses a database that is not a zabkit store', async () => {
    const db = memoryDb();
    await put(db, new TextEncoder().encode('app:config'), Uint8Array.of(1));
    const error = (await LevelStorage.on(db).catch((e: unknown) => e)) as StorageFormatError;
    expect(error).toBeInstanceOf(StorageFormatError);
    expect(error.found).toBeUndefined();
    expect(error.message).toMatch(/not a zabkit store/);
  });

  it('refuses a damaged format record: the layout is unknown', async () => {
    const db = memoryDb();
    const record = Uint8Array.from(encodeFormatRecord());
    record[record.length - 1]! ^= 1;
    await put(db, formatKey, record);
    const error = (await LevelStorage.on(db).catch((e: unknown) => e)) as StorageCorruptError;
    expect(error).toBeInstanceOf(StorageCorruptError);
    expect(error.what).toBe('format record');
  });

  it('marks a store written before format records as the current format, with a warning, and reads it as it is', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir);
    await store.apply([
      { kind: 'epochs', epochs: { acceptedEpoch: 1, currentEpoch: 1 } },
      { kind: 'append', txns: txns(1, 1, 3) },
    ]);
    await store.close();
    await damage(dir, formatKey, undefined);
    const warnings: string[] = [];
    const again = await LevelStorage.open(dir, { warn: (message) => warnings.push(message) });
    expect(warnings.join()).toMatch(/no format record .* format 1, marking it format 2/);
    expect((await again.load()).log).toEqual(txns(1, 1, 3));
    expect(decodeFormatRecord((await again.db.get(formatKey))!)).toBe(storageFormatVersion);
    await again.close();
  });

  it('reads a format 1 store as it is, marks it format 2, then keeps null data apart from empty data', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir);
    await store.apply([
      { kind: 'epochs', epochs: { acceptedEpoch: 1, currentEpoch: 1 } },
      { kind: 'append', txns: txns(1, 1, 3) },
    ]);
    await store.close();
    await damage(dir, formatKey, encodeFormatRecord(1));
    const warnings: string[] = [];
    const again = await LevelStorage.open(dir, { warn: (message) => warnings.push(message) });
    expect(warnings).toEqual([]);
    expect(decodeFormatRecord((await again.db.get(formatKey))!)).toBe(2);
    expect((await again.load()).log).toEqual(txns(1, 1, 3));
    const withData = (n: number, data: Uint8Array | null): Txn => ({
      zxid: makeZxid(1, n),
      timeMs: 1_000 + n,
      sessionId: 1n as SessionId,
      cxid: n,
      body: { kind: 'setData', path: '/a', data, version: n },
    });
    await again.apply([{ kind: 'append', txns: [withData(4, null), withData(5, new Uint8Array(0))] }]);
    await again.close();
    const third = await LevelStorage.open(dir);
    const log = (await third.load()).log;
    expect(log.slice(3).map((txn) => (txn.body.kind === 'setData' ? txn.body.data : 'other'))).toEqual([
      null,
      new Uint8Array(0),
    ]);
    await third.close();
  });
});

describe('LevelStorage refuses what it cannot trust', () => {
  it('refuses epochs whose current epoch is above the accepted one', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir);
    await store.close();
    const body = Buffer.alloc(16);
    body.writeDoubleBE(2, 0);
    body.writeDoubleBE(3, 8);
    const { crc32 } = await import('node:zlib');
    const record = Buffer.concat([Buffer.alloc(4), body]);
    record.writeUInt32BE(crc32(body), 0);
    await damage(dir, epochsKey, record);
    const again = await LevelStorage.open(dir);
    await expect(again.load()).rejects.toSatisfy(
      (error) =>
        error instanceof StorageCorruptError &&
        error.what === 'epochs' &&
        /above acceptedEpoch/.test(error.message),
    );
    await again.close();
  });

  it('refuses a damaged snapshot when the log before it does not reach it', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, { retainSnapshots: 2 });
    const history = txns(1, 1, 8);
    await appendEach(store, history);
    await store.saveSnapshot(snapshotOf(history.slice(0, 3)));
    await store.saveSnapshot(snapshotOf(history.slice(0, 6)));
    await store.close();
    // The log after the older snapshot loses its end: only the damaged newer one held it.
    for (const counter of [5, 6, 7, 8]) await damage(dir, logKey(makeZxid(1, counter)), undefined);
    await flipLastByte(dir, chunkKey(makeZxid(1, 6), 0));
    const again = await LevelStorage.open(dir);
    const error = (await again.load().catch((e: unknown) => e)) as StorageCorruptError;
    expect(error).toBeInstanceOf(StorageCorruptError);
    expect(error.what).toBe('snapshot');
    expect(error.firstZxid).toBe(makeZxid(1, 6));
    expect(error.message).toMatch(/reach only 0x100000004/);
    await again.close();
  });

  it('purges a long log a slice of records at a time: a damaged record at a slice end is judged by the next slice', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, { retainSnapshots: 1, sync: false });
    const history = txns(1, 1, 300);
    await appendEach(store, history);
    await store.close();
    // Record 64 is the last of the first slice of 64; 200 is inside, 260 above the snapshot.
    for (const counter of [64, 200, 260]) await flipLastByte(dir, logKey(makeZxid(1, counter)));
    const warnings: string[] = [];
    const again = await LevelStorage.open(dir, { warn: (message) => warnings.push(message), sync: false });
    await again.saveSnapshot(snapshotOf(history.slice(0, 250)));
    await again.purge(makeZxid(1, 250));
    expect(warnings.filter((w) => /purging a damaged log record/.test(w))).toHaveLength(2);
    const left = await again.db.keys({ gte: logKey(0n), lt: logKey(2n ** 63n) }).all();
    expect(left.length).toBe(50);
    expect([...left[0]!]).toEqual([...logKey(makeZxid(1, 251))]);
    await again.close();
  });

  it('purges a damaged log record wholly inside the oldest snapshot kept, with a warning', async () => {
    const dir = tempDir();
    const store = await LevelStorage.open(dir, { retainSnapshots: 1 });
    const history = txns(1, 1, 6);
    await appendEach(store, history);
    await store.close();
    await flipLastByte(dir, logKey(makeZxid(1, 2)));
    const warnings: string[] = [];
    const again = await LevelStorage.open(dir, { warn: (message) => warnings.push(message) });
    await again.saveSnapshot(snapshotOf(history.slice(0, 4)));
    await again.purge(makeZxid(1, 4));
    expect(warnings.join()).toMatch(/purging a damaged log record/);
    expect((await again.load()).log.map((t) => t.zxid)).toEqual([makeZxid(1, 5), makeZxid(1, 6)]);
    await again.close();
  });
});
