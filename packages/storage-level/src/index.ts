/**
 * @zabkit/storage-level: a peer's log, snapshots and epochs on any abstract-level database:
 * classic-level (LevelDB) on disk, memory-level in tests.
 *
 * Durability: a write counts only once a batch written with `sync: true` covering it has
 * completed. Group commit: the driver hands over every action gathered while the previous
 * write was in flight, and they go to disk as one synced batch. Snapshots are written in
 * the background, in chunks, with a manifest written last: a snapshot without its manifest
 * never happened. Recovery is the newest valid snapshot plus the log after it.
 *
 * Damage is never repaired silently. LevelDB writes each batch atomically, so a record that
 * fails its checksum is damage, not a torn write, even the last one: dropping it could
 * forget a write already acknowledged. Opening refuses such a store with a
 * StorageCorruptError naming the record; `checkStorage` reports every problem of a store and
 * `repairStorage` what dropping them would lose, and drops it only when asked.
 *
 * @packageDocumentation
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeEpochsRecord,
  decodeLogRecord,
  decodeManifest,
  decodeSessionSecretRecord,
  decodeSnapshotChunk,
  encodeEpochsRecord,
  encodeLogRecord,
  encodeManifest,
  encodeSessionSecretRecord,
  encodeSnapshotChunk,
  type LogRecord,
  type Manifest,
  type PeerCodecLimits,
  readLogRecordHeader,
  resolveLimits,
  SnapshotChunkEncoder,
  StorageRecordError,
} from '@zabkit/codec';
import {
  DataTree,
  type Epochs,
  followsContiguously,
  type LoadOptions,
  type PeerStorage,
  type PersistedState,
  type SessionId,
  type SnapshotChunk,
  type SnapshotCursor,
  type SnapshotNode,
  SnapshotStream,
  type StorageAction,
  snapshotNodeBytes,
  type TreeSnapshot,
  type Txn,
  type Zxid,
  zeroZxid,
} from '@zabkit/core';
import { ClassicLevel } from 'classic-level';
import { StorageCorruptError } from './errors.js';
import { prepareFormat, valueLogFormat } from './format.js';
import {
  chunkKey,
  chunkRange,
  epochsKey,
  hexZxid,
  isChunkKey,
  logEnd,
  logKey,
  logStart,
  manifestKey,
  sessionSecretKey,
  snapshotEnd,
  snapshotRange,
  snapshotStart,
  zxidOfKey,
} from './keys.js';
import type { BytesLevel, Op } from './level.js';
import { decodePointer, encodePointer, isPointerRecord, ValueLog, ValueReadError } from './values.js';

export {
  type CheckOptions,
  checkStorage,
  type RepairPlan,
  type RepairResult,
  repairStorage,
  type StorageCheck,
  type StorageProblem,
} from './check.js';
export { describeLocation, StorageCorruptError, StorageFormatError, type StoreLocation } from './errors.js';
export { newestReadableFormat, oldestReadableFormat, valueLogFormat } from './format.js';
export type { BytesLevel } from './level.js';

/** The data of every empty node loaded: never mutated, so one is enough. */
const emptyData = new Uint8Array(0);

/**
 * A chunk's nodes (decoded as views of `recordBytes` bytes) with their data moved into one
 * buffer of their own when the chunk's other bytes (paths, stats, ACLs) are a quarter of it or
 * more: a znode loaded with a separate Uint8Array costs about 300 bytes besides its bytes, a
 * view of a shared buffer 96. Where the data are most of the chunk, the views stay: a copy
 * would leave the whole chunk as garbage for the collector to find, at its own pace.
 */
function packedData(nodes: SnapshotNode[], recordBytes: number): SnapshotNode[] {
  let total = 0;
  for (const node of nodes) if (node.data !== null) total += node.data.length;
  if (total * 4 >= recordBytes * 3) return nodes;
  const slab = new Uint8Array(total);
  let at = 0;
  for (const node of nodes) {
    const data = node.data;
    if (data === null) continue;
    // The nodes were decoded just now and belong to no one else: set in place, no copy of each.
    const writable = node as { data: Uint8Array | null };
    if (data.length === 0) {
      writable.data = emptyData;
      continue;
    }
    slab.set(data, at);
    writable.data = slab.subarray(at, at + data.length);
    at += data.length;
  }
  return nodes;
}

/** Where a decoded transaction holds znode data: each holder's `data`, in place. */
function eachDataHolder(txns: readonly Txn[], visit: (holder: { data: Uint8Array | null }) => void): void {
  for (const txn of txns) {
    const body = txn.body;
    if (body.kind === 'create' || body.kind === 'setData') visit(body as { data: Uint8Array | null });
    else if (body.kind === 'multi') {
      for (const part of body.parts)
        if (part.kind === 'create' || part.kind === 'setData') visit(part as { data: Uint8Array | null });
    } else if (body.kind === 'restore')
      for (const node of body.nodes) visit(node as { data: Uint8Array | null });
  }
}

/**
 * A log record's transactions (decoded with their data as views of the record) with their data
 * moved into one buffer of their own when the record's other bytes are a quarter of it or
 * more, as packedData does for a snapshot chunk: the views would keep paths and headers alive
 * with the data, a copy each costs an ArrayBuffer each (a few microseconds and about 300 bytes
 * per transaction, replaying a long log at start-up).
 */
function packedTxnData(txns: readonly Txn[], recordBytes: number): void {
  let total = 0;
  eachDataHolder(txns, (holder) => {
    if (holder.data !== null) total += holder.data.length;
  });
  if (total * 4 >= recordBytes * 3) return;
  const slab = new Uint8Array(total);
  let at = 0;
  // The transactions were decoded just now and belong to no one else: set in place.
  eachDataHolder(txns, (holder) => {
    const data = holder.data;
    if (data === null) return;
    if (data.length === 0) {
      holder.data = emptyData;
      return;
    }
    slab.set(data, at);
    holder.data = slab.subarray(at, at + data.length);
    at += data.length;
  });
}

/** How the store keeps snapshots, commits and purges. */
export interface LevelStorageOptions {
  /** Snapshots kept by a purge (ZooKeeper's autopurge.snapRetainCount), at least 1. Default 3. */
  readonly retainSnapshots?: number;
  /** Nodes per snapshot chunk (a LevelDB record). Default 2000. */
  readonly snapshotChunkNodes?: number;
  /**
   * Nodes of a snapshot encoded per turn of the event loop, at most (a turn also ends at
   * 256 KiB of nodes). Walking and encoding a chunk of 2000 nodes at once held the loop for
   * 20 ms and more on a large tree: a few hundred at a time keeps every turn short, so the
   * peer goes on answering while it writes a snapshot. Default 256.
   */
  readonly snapshotSliceNodes?: number;
  /**
   * About how many bytes of nodes a snapshot chunk holds at most (a larger node has a chunk to
   * itself), so that writing or reading one costs a bounded amount of memory. Default 1 MiB.
   */
  readonly snapshotChunkBytes?: number;
  /**
   * A snapshot written in the background waits before its next chunk while LevelDB has this
   * many level-0 files or more (default 10; 0 never waits), until its compaction brings them
   * down. LevelDB slows every write from 8 such files and stops them at 12: a 1 GB snapshot
   * written as fast as it goes would hold the log's appends, and the commits behind them, for
   * as long as compaction takes to catch up. Paced, the snapshot takes the time compaction
   * needs and the appends go on. Only databases that report the count (classic-level's
   * `getProperty`) are paced.
   */
  readonly snapshotLevel0FilesMax?: number;
  /**
   * Write everything the driver hands over in one synced batch (default). Off: one synced
   * batch per transaction, as a store without group commit would; for benchmarks.
   */
  readonly groupCommit?: boolean;
  /** fsync each batch (default). Off only for benchmarks that want to see what fsync costs. */
  readonly sync?: boolean;
  /**
   * Space purges out (ZooKeeper's autopurge.purgeInterval, in ms here): a purge the peer
   * asks for sooner than this after the last one waits for the next. 0 (the default) purges
   * whenever asked, that is after each snapshot, which keeps the disk bounded.
   */
  readonly purgeIntervalMs?: number;
  /**
   * Whether the peer's purges are carried out at all (default true). False keeps every
   * snapshot and the whole log, as ZooKeeper does with `autopurge.purgeInterval=0`: the disk
   * grows until an operator purges it.
   */
  readonly autoPurge?: boolean;
  /**
   * Bounds on decoded records; default the codec's (`defaultPeerCodecLimits`). A store must
   * read back whatever its peer accepted: raise them with the peer's dataSizeMaxBytes.
   */
  readonly codecLimits?: Partial<PeerCodecLimits>;
  /**
   * Told of what the store passes over or changes on its own: a damaged snapshot passed over
   * for an older one that the log covers, a damaged log record wholly inside a snapshot, a
   * store from before format records marked as format 1.
   */
  readonly warn?: (message: string) => void;
  /**
   * Told of the work the store does in the background, once done: each snapshot written in
   * the background and each purge, with how long it took (ZooKeeper logs its snapshots at INFO).
   */
  readonly info?: (message: string) => void;
  /**
   * Write large log records to a value log (append-only segment files, see values.ts) and
   * only a pointer to them into the database: written once, where LevelDB writes each byte
   * twice. Off by default. A store with a value log is marked format 3, which a zabkit
   * reading at most format 2 refuses. `LevelStorage.on` needs its `dir`; `LevelStorage.open`
   * keeps it in `<location>/values`, and reads a value log found there even with this off.
   */
  readonly valueLog?: ValueLogStoreOptions;
}

/** Where and from what size log records go to the value log. */
export interface ValueLogStoreOptions {
  /** The segments' directory (created if missing). Default for `LevelStorage.open`: `<location>/values`. */
  readonly dir?: string;
  /** A log record of this many bytes or more goes to the value log. Default 64 KiB. */
  readonly thresholdBytes?: number;
  /** Bytes a segment holds before the next is begun (a larger record fills one alone). Default 128 MiB. */
  readonly segmentBytes?: number;
}

const defaultValueThresholdBytes = 64 * 1024;

/** What `LevelStorage.open` also takes, for the LevelDB it opens. */
export interface LevelDbStorageOptions extends LevelStorageOptions {
  /**
   * LevelDB's write buffer (its memtable), at least 1 MiB; default 64 MiB (LevelDB's own is
   * 4 MiB). A full buffer is flushed to disk in the background while a new one takes the
   * writes; a write that fills the new one too before that flush ends waits for it. With
   * 4 MiB nearly every batch of a learner sync (a few MB of 1 MB values) waited so. LevelDB
   * holds up to two buffers: its memory for writes is about twice this; a restart replays at
   * most a buffer's worth of its log.
   */
  readonly writeBufferBytes?: number;
}

const defaultWriteBufferBytes = 64 * 1024 * 1024;
/** LevelDB's own write buffer, assumed for a database `LevelStorage.on` was given. */
const levelDbWriteBufferBytes = 4 * 1024 * 1024;

/**
 * Largest log record written into the store's reused record buffer (see `recordBuffer`);
 * larger ones get a buffer of their own. It bounds the memory that buffer holds.
 */
const recordBufferBytesMax = 16 * 1024 * 1024;

interface SnapshotRef {
  readonly zxid: Zxid;
  readonly manifest: Uint8Array;
}

/** A zxid with keys in the snapshot section: its manifest, if written, and whether it has chunks. */
interface StoredSnapshot {
  readonly zxid: Zxid;
  readonly manifest: Uint8Array | undefined;
  readonly chunked: boolean;
}

/** The snapshots with a manifest, newest first. */
function manifestsOf(stored: readonly StoredSnapshot[]): SnapshotRef[] {
  const refs: SnapshotRef[] = [];
  for (const { zxid, manifest } of stored) if (manifest !== undefined) refs.push({ zxid, manifest });
  return refs;
}

/** The snapshots with a manifest among `newest` and then `older`, newest first; `older` awaited only if asked. */
async function* refsOf(
  newest: readonly StoredSnapshot[],
  older: Promise<readonly StoredSnapshot[]>,
): AsyncGenerator<SnapshotRef> {
  yield* manifestsOf(newest);
  yield* manifestsOf(await older);
}

/**
 * Zxids of snapshots with chunks and no manifest, oldest first: staged from a leader and never
 * committed, or written in the background when the process stopped. Neither ever happened.
 */
function incompleteOf(stored: readonly StoredSnapshot[]): Zxid[] {
  const incomplete: Zxid[] = [];
  for (const { zxid, manifest, chunked } of stored)
    if (chunked && manifest === undefined) incomplete.push(zxid);
  return incomplete.reverse();
}

/** How often a paced snapshot looks again at LevelDB's level 0, and how long it waits at most per chunk. */
const compactionPollMs = 5;
/** Bytes of snapshot nodes encoded per turn of the event loop, at most (see snapshotSliceNodes). */
const sliceBytes = 256 * 1024;

/** Lets the event loop turn once: the timers, sockets and writes waiting behind a snapshot go first. */
function turnOfTheLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
const compactionWaitMsMax = 2000;

/** Log records a purge reads at a time. */
const purgeSliceRecords = 64;

/** A snapshot read cursor is chunk * cursorChunkFactor + node offset in that chunk. */
const cursorChunkFactor = 2 ** 24;

/** The snapshot being staged from a leader's stream, as far as this process has written it. */
interface Staging {
  readonly zxid: Zxid;
  chunks: number;
  nodes: number;
}

/** The zxid a log key's value (a record or a pointer to one) reaches; damage is a StorageRecordError. */
function headerLastZxid(value: Uint8Array): Zxid {
  return isPointerRecord(value) ? decodePointer(value).lastZxid : readLogRecordHeader(value).lastZxid;
}

/** A log record that does not read back, as a StorageCorruptError naming it. */
function damagedRecord(key: Uint8Array, value: Uint8Array, error: StorageRecordError): StorageCorruptError {
  let lastZxid: Zxid | undefined;
  try {
    // The checksum held when only the content is bad: then the header's reach is known.
    lastZxid = headerLastZxid(value);
  } catch {
    lastZxid = undefined;
  }
  return new StorageCorruptError('log record', error.problem, { key, firstZxid: zxidOfKey(key), lastZxid });
}

/**
 * An existing LevelDB store opened for `checkStorage` and `repairStorage`, never created.
 * Throws an Error saying why it cannot be opened: missing, or in use by a running server.
 */
export async function openExistingDatabase(location: string): Promise<BytesLevel> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(location, {
    keyEncoding: 'view',
    valueEncoding: 'view',
    createIfMissing: false,
  });
  try {
    await db.open();
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause ?? error;
    const locked = (cause as { code?: string }).code === 'LEVEL_LOCKED' || /lock/i.test(String(cause));
    throw new Error(
      locked ? `${location} is in use: stop the server first` : `cannot open ${location}: ${String(cause)}`,
    );
  }
  return db as unknown as BytesLevel;
}

/** A peer's durable storage on LevelDB (or any abstract-level database of bytes). */
export class LevelStorage implements PeerStorage {
  private readonly retain: number;
  private readonly chunkNodes: number;
  private readonly chunkBytes: number;
  private readonly sliceNodes: number;
  private readonly level0FilesMax: number;
  /**
   * Snapshot bytes written between two looks at level 0 (a quarter of the write buffer): a
   * level-0 file is made only when a write buffer's worth has been written, and each look is
   * a synchronous call that waits for LevelDB's lock (6 to 26 ms at times, while a compaction
   * or a memtable switch holds it). Once per chunk, that held the event loop in every snapshot.
   */
  private readonly level0CheckBytes: number;
  /** Snapshot bytes written since level 0 was last looked at; a snapshot's first chunk always looks. */
  private bytesSinceLevel0Check = Number.POSITIVE_INFINITY;
  private readonly groupCommit: boolean;
  private readonly sync: boolean;
  private readonly warn: (message: string) => void;
  private readonly info: (message: string) => void;
  private readonly purgeIntervalMs: number;
  private readonly autoPurge: boolean;
  private readonly limits: PeerCodecLimits;
  private lastPurgeMs = Number.NEGATIVE_INFINITY;
  /**
   * One buffer that log records are encoded into, write after write, where the database copies
   * each value as it takes a write (classic-level does, into LevelDB's batch): a learner taking
   * a 1 GB sync otherwise allocates a second gigabyte, a record at a time, for the collector to
   * free. Held by the batch of `recordBufferHolder` until that batch's write settles; a record
   * encoded meanwhile gets a buffer of its own.
   */
  private recordBuffer: Uint8Array | undefined;
  private recordBufferHolder: Op[] | undefined;
  /** Snapshots being written in the background: a purge or reset waits for them. */
  private background: Promise<void> = Promise.resolve();
  private backgroundError: unknown;
  private closed = false;
  /** Log records of at least this many bytes go to `values` (infinite: none, it is only read). */
  private readonly valueThreshold: number;
  /**
   * Reads of the log (and their reads through pointers) under way: a segment is deleted only
   * while there are none, since a read may have taken its records before a purge committed.
   */
  private logReads = 0;

  private constructor(
    readonly db: BytesLevel,
    options: LevelStorageOptions,
    /** True when `db` copies a value as it takes a write, so the caller may reuse the buffer. */
    private readonly dbCopiesValues = false,
    /** The value log pointers lead into, when the store has one. */
    private readonly values: ValueLog | undefined = undefined,
  ) {
    this.retain = Math.max(1, options.retainSnapshots ?? 3);
    this.chunkNodes = Math.min(cursorChunkFactor - 1, Math.max(1, options.snapshotChunkNodes ?? 2000));
    this.chunkBytes = Math.max(1, options.snapshotChunkBytes ?? 1024 * 1024);
    this.sliceNodes = Math.max(1, options.snapshotSliceNodes ?? 256);
    this.level0FilesMax = Math.max(0, options.snapshotLevel0FilesMax ?? 10);
    const writeBuffer = (options as LevelDbStorageOptions).writeBufferBytes ?? levelDbWriteBufferBytes;
    this.level0CheckBytes = Math.max(1, Math.floor(writeBuffer / 4));
    this.groupCommit = options.groupCommit ?? true;
    this.sync = options.sync ?? true;
    this.warn = options.warn ?? (() => undefined);
    this.info = options.info ?? (() => undefined);
    this.purgeIntervalMs = Math.max(0, options.purgeIntervalMs ?? 0);
    this.autoPurge = options.autoPurge ?? true;
    this.limits = resolveLimits(options.codecLimits);
    this.valueThreshold =
      options.valueLog === undefined
        ? Number.POSITIVE_INFINITY
        : Math.max(0, options.valueLog.thresholdBytes ?? defaultValueThresholdBytes);
  }

  /**
   * A store on an abstract-level database of bytes (opened here if it is not yet). A new
   * store gets its format record; a store in a format this zabkit does not read is refused
   * with a StorageFormatError, and the database closed again.
   */
  static async on(db: BytesLevel, options: LevelStorageOptions = {}): Promise<LevelStorage> {
    return LevelStorage.onDatabase(db, options, false);
  }

  private static async onDatabase(
    db: BytesLevel,
    options: LevelStorageOptions,
    dbCopiesValues: boolean,
  ): Promise<LevelStorage> {
    await db.open();
    let values: ValueLog | undefined;
    let store: LevelStorage;
    try {
      const writes = options.valueLog !== undefined;
      const dir = options.valueLog?.dir;
      if (writes && dir === undefined) throw new RangeError('a value log needs its directory (valueLog.dir)');
      if (dir !== undefined && (writes || existsSync(dir)))
        values = ValueLog.open(dir, {
          sync: options.sync ?? true,
          ...(options.valueLog?.segmentBytes === undefined
            ? {}
            : { segmentBytes: options.valueLog.segmentBytes }),
        });
      store = new LevelStorage(db, options, dbCopiesValues, values);
      await prepareFormat(db, {
        sync: store.sync,
        warn: store.warn,
        ...(writes ? { version: valueLogFormat } : {}),
      });
      // Segments left unreferenced by the last run (a purge's, or a crash's tail) go now.
      await store.collectSegments();
    } catch (error) {
      await values?.close();
      await db.close();
      throw error;
    }
    return store;
  }

  /** A store in a LevelDB directory (created if missing), through classic-level. */
  static async open(location: string, options: LevelDbStorageOptions = {}): Promise<LevelStorage> {
    const writeBufferBytes = Math.max(1024 * 1024, options.writeBufferBytes ?? defaultWriteBufferBytes);
    const db = new ClassicLevel<Uint8Array, Uint8Array>(location, {
      keyEncoding: 'view',
      valueEncoding: 'view',
      writeBufferSize: writeBufferBytes,
    });
    // classic-level copies every key and value into LevelDB's batch when handed a write. The
    // store paces its snapshots by the buffer (level0CheckBytes): it is told the one in use.
    // The value log lives in the database's directory (LevelDB leaves files it did not name
    // alone), read whenever it is there, written to only when asked.
    const valuesDir = options.valueLog?.dir ?? join(location, 'values');
    const valueLog =
      options.valueLog === undefined
        ? existsSync(valuesDir)
          ? { dir: valuesDir, thresholdBytes: Number.POSITIVE_INFINITY }
          : undefined
        : { ...options.valueLog, dir: valuesDir };
    return LevelStorage.onDatabase(
      db as unknown as BytesLevel,
      {
        ...options,
        writeBufferBytes,
        ...(valueLog === undefined ? {} : { valueLog }),
      } as LevelStorageOptions,
      true,
    );
  }

  private check(): void {
    if (this.closed) throw new Error('LevelStorage is closed');
    if (this.backgroundError !== undefined) throw this.backgroundError;
  }

  private async write(ops: Op[]): Promise<void> {
    if (ops.length === 0) return;
    try {
      const only = ops.length === 1 ? ops[0]! : undefined;
      // A lone put (a learner's or follower's log record, most writes) goes as a put, atomic
      // just the same: classic-level copies a batch's values twice on this thread (out of the
      // Uint8Array, then into LevelDB's batch), a put's value once, LevelDB's batch being built
      // on the worker thread that writes it. A learner taking 1 GB spends the event loop's time
      // on its sync, not on copies.
      if (only?.type === 'put') await this.db.put(only.key, only.value, { sync: this.sync } as never);
      else await this.db.batch(ops, { sync: this.sync } as never);
    } finally {
      // The database has taken (copied) the batch's values: the record buffer is free again.
      if (this.recordBufferHolder === ops) this.recordBufferHolder = undefined;
    }
  }

  /** The log record of `txns`, into the reused record buffer when that is free and allowed. */
  private encodeRecord(txns: readonly Txn[], ops: Op[]): Uint8Array {
    return this.intoRecordBuffer((into) => encodeLogRecord(txns, into), ops);
  }

  /**
   * The record `encode` makes, into the reused record buffer when that is free and allowed:
   * then held by `ops` until their write settles. `encode` writes into the buffer it is given
   * when the record fits, else into one of its own.
   */
  private intoRecordBuffer(encode: (into: Uint8Array | undefined) => Uint8Array, ops: Op[]): Uint8Array {
    if (!this.dbCopiesValues || this.recordBufferHolder !== undefined) return encode(undefined);
    const buffer = this.recordBuffer;
    const record = encode(buffer);
    if (buffer === undefined || record.buffer !== buffer.buffer) {
      // Too large for the buffer: the next, larger buffer is this record's own (not from
      // Buffer's shared pool) once this write has settled, or, where the record is only part of
      // its buffer (a snapshot chunk's is sized before it is encoded), one made for the next.
      if (record.length > recordBufferBytesMax) return record;
      if (record.byteOffset !== 0 || record.buffer.byteLength !== record.length) {
        this.recordBuffer = new Uint8Array(Math.min(recordBufferBytesMax, 2 * record.length));
        return record;
      }
      this.recordBuffer = record;
    }
    this.recordBufferHolder = ops;
    return record;
  }

  /**
   * Decodes the log record under `key`; damage is a StorageCorruptError naming it. With
   * `dataViews`, the data are views of `value` or of one buffer per record (see packedTxnData).
   */
  private decodeRecord(key: Uint8Array, value: Uint8Array, dataViews = false): LogRecord {
    let record: LogRecord;
    try {
      record = decodeLogRecord(value, this.limits, { dataViews });
      if (dataViews) packedTxnData(record.txns, value.length);
    } catch (error) {
      if (error instanceof StorageRecordError) throw damagedRecord(key, value, error);
      throw error;
    }
    const first = zxidOfKey(key);
    if (record.txns[0]!.zxid !== first)
      throw new StorageCorruptError(
        'log record',
        `its first transaction is ${hexZxid(record.txns[0]!.zxid)}, its key says ${hexZxid(first)}`,
        { key, firstZxid: first, lastZxid: record.lastZxid },
      );
    return record;
  }

  /** The zxid a log record reaches, from its header; damage is a StorageCorruptError naming it. */
  private recordLastZxid(key: Uint8Array, value: Uint8Array): Zxid {
    try {
      return headerLastZxid(value);
    } catch (error) {
      if (error instanceof StorageRecordError) throw damagedRecord(key, value, error);
      throw error;
    }
  }

  /**
   * The log record under `key`: `value` itself, or the bytes in the value log its pointer
   * names. A pointer whose bytes do not read back is damage (they were durable before it was
   * committed): a StorageCorruptError naming the record.
   */
  private async resolve(key: Uint8Array, value: Uint8Array): Promise<Uint8Array> {
    if (!isPointerRecord(value)) return value;
    let pointer: ReturnType<typeof decodePointer>;
    try {
      pointer = decodePointer(value);
    } catch (error) {
      if (error instanceof StorageRecordError) throw damagedRecord(key, value, error);
      throw error;
    }
    const location = { key, firstZxid: zxidOfKey(key), lastZxid: pointer.lastZxid };
    if (this.values === undefined)
      throw new StorageCorruptError(
        'log record',
        'a pointer into a value log, and the store was opened without one',
        location,
      );
    try {
      return await this.values.read(pointer);
    } catch (error) {
      if (error instanceof ValueReadError)
        throw new StorageCorruptError('log record', `its bytes in the value log: ${error.message}`, location);
      throw error;
    }
  }

  /** Runs a read of the log: no segment is deleted meanwhile (see logReads). */
  private async readingLog<T>(read: () => Promise<T>): Promise<T> {
    this.logReads++;
    try {
      return await read();
    } finally {
      this.logReads--;
    }
  }

  /**
   * Deletes the value log's segments that no pointer names: those below the first pointer's
   * segment (values.ts says why that is all of them). A damaged pointer keeps every segment,
   * as does a read of the log under way; the next purge comes back to them.
   */
  private async collectSegments(): Promise<void> {
    const values = this.values;
    if (values === undefined || this.logReads > 0) return;
    // Nothing to delete but the segment being appended to: no need to look for the first pointer
    // (with only small records the log holds none, and the search would read all of it).
    if (!values.hasClosedSegments()) return;
    let lowest = values.segmentsEnd;
    const records = this.db.iterator({ gte: logStart, lt: logEnd });
    try {
      search: for (let slice = await records.nextv(purgeSliceRecords); slice.length > 0; ) {
        for (const [, value] of slice) {
          if (!isPointerRecord(value)) continue;
          try {
            lowest = decodePointer(value).segment;
          } catch (error) {
            if (error instanceof StorageRecordError) return;
            throw error;
          }
          break search;
        }
        slice = await records.nextv(purgeSliceRecords);
      }
    } finally {
      await records.close();
    }
    if (this.logReads > 0) return;
    const deleted = await values.deleteBelow(lowest);
    if (deleted > 0) this.info(`value log: ${deleted} segments no record needs deleted`);
  }

  // ---- reading -----------------------------------------------------------------------------

  async load(options: LoadOptions = {}): Promise<PersistedState> {
    this.check();
    // The log is read from before the snapshots are: no segment goes from under it.
    return this.readingLog(() => this.loadState(options));
  }

  private async loadState(options: LoadOptions): Promise<PersistedState> {
    const epochs = await this.readEpochs();
    await this.background.catch(() => undefined);
    // One walk of the snapshot section finds both the snapshots and the incomplete ones. The
    // newest is read while the walk goes on below it: its last seek crosses whatever purged
    // snapshots LevelDB has not compacted away yet (0.1-0.3 s at a million znodes).
    const walk = this.walkSnapshots();
    const first = await walk.next();
    const newest = first.done === true ? [] : [first.value];
    const older = (async () => {
      const found: StoredSnapshot[] = [];
      for await (const stored of walk) found.push(stored);
      return found;
    })();
    // Awaited below on every path that goes on; one that throws first must not leave it unhandled.
    older.catch(() => undefined);
    // So is the log after the newest snapshot (on LevelDB's threads), for when it reads back.
    const newestRef = manifestsOf(newest)[0];
    const logAfterNewest = newestRef === undefined ? undefined : this.logRecordsAfter(newestRef.zxid);
    logAfterNewest?.catch(() => undefined);
    const { snapshot, tree, passedOver } = await this.newestReadableSnapshot(
      options.restoreTree === true,
      refsOf(newest, older),
    );
    const stored = [...newest, ...(await older)];
    const base = snapshot?.zxid ?? tree?.lastZxid ?? zeroZxid;
    const log = await this.readVerifiedLog(base, base === newestRef?.zxid ? logAfterNewest : undefined);
    // A damaged snapshot may be passed over only when the older one and the log hold all it held.
    const reached = log.at(-1)?.zxid ?? base;
    const newestDamaged = passedOver[0];
    if (newestDamaged !== undefined && reached < newestDamaged)
      throw new StorageCorruptError(
        'snapshot',
        `damaged, and the snapshot and log before it reach only ${hexZxid(reached)}: what it held would be lost`,
        { key: manifestKey(newestDamaged), firstZxid: newestDamaged, lastZxid: newestDamaged },
      );
    return {
      epochs,
      snapshot,
      tree,
      log,
      sessionSecret: await this.readSessionSecret(),
      incompleteSnapshots: incompleteOf(stored),
    };
  }

  /**
   * Zxids of snapshots with chunks and no manifest: staged from a leader and never committed,
   * or written in the background when the process stopped. Neither ever happened.
   */
  private async incompleteSnapshots(): Promise<Zxid[]> {
    return incompleteOf(await this.storedSnapshots());
  }

  /**
   * Every zxid the snapshot section holds keys under, newest first, with its manifest and
   * whether it has chunks. A few seeks per snapshot: a walk of the section's keys reads every
   * chunk of every snapshot kept (LevelDB reads values with keys), 0.3 to 0.6 s of a restart
   * at a million znodes, where load() walked it twice.
   */
  private async storedSnapshots(): Promise<StoredSnapshot[]> {
    const found: StoredSnapshot[] = [];
    for await (const stored of this.walkSnapshots()) found.push(stored);
    return found;
  }

  /** storedSnapshots, one at a time: the newest is known before the older ones are sought. */
  private async *walkSnapshots(): AsyncGenerator<StoredSnapshot> {
    let below = snapshotEnd;
    for (;;) {
      const [last] = await this.db.keys({ gte: snapshotStart, lt: below, reverse: true, limit: 1 }).all();
      if (last === undefined) return;
      // A key too short to name a zxid is not zabkit's (check reports it): step below it.
      if (last.length < 9) {
        below = last;
        continue;
      }
      const zxid = zxidOfKey(last);
      const { gte, lt } = chunkRange(zxid);
      let chunked = false;
      for await (const key of this.db.keys({ gte, lt }))
        if (isChunkKey(key)) {
          chunked = true;
          break;
        }
      yield { zxid, manifest: await this.db.get(manifestKey(zxid)), chunked };
      // Below every key whose first 9 bytes (section and zxid) are this snapshot's.
      below = last.slice(0, 9);
    }
  }

  private async readSessionSecret(): Promise<Uint8Array | undefined> {
    const record = await this.db.get(sessionSecretKey);
    if (record === undefined) return undefined;
    try {
      return decodeSessionSecretRecord(record);
    } catch (error) {
      // A guessed secret would refuse every session created before: refuse to start instead.
      if (error instanceof StorageRecordError)
        throw new StorageCorruptError('session secret', error.problem, { key: sessionSecretKey });
      throw error;
    }
  }

  async readEpochs(): Promise<Epochs> {
    this.check();
    const record = await this.db.get(epochsKey);
    if (record === undefined) return { acceptedEpoch: 0, currentEpoch: 0 };
    try {
      return decodeEpochsRecord(record);
    } catch (error) {
      // The epochs are ZAB's promises; a guess could break one. Refuse.
      if (error instanceof StorageRecordError)
        throw new StorageCorruptError('epochs', error.problem, { key: epochsKey });
      throw error;
    }
  }

  /** Log records that may hold transactions after `afterZxid`: the one reaching over it, then later ones. */
  private async logRecordsAfter(afterZxid: Zxid): Promise<[Uint8Array, Uint8Array][]> {
    const floor = await this.db
      .iterator({ gte: logStart, lte: logKey(afterZxid), reverse: true, limit: 1 })
      .all();
    const later = await this.db.iterator({ gt: logKey(afterZxid), lt: logEnd }).all();
    return [...floor, ...later];
  }

  /**
   * The log after `afterZxid`, checked: every record's checksum and content, and no gap. Any
   * damaged record that may hold a transaction after `afterZxid` is refused, the last one
   * too: with atomic batches it is damage, not a torn write, and it may hold acknowledged
   * writes. Only a damaged record wholly inside the snapshot (the next record says so) is
   * passed over, with a warning: nothing in it is needed. `read`: those records, read already.
   */
  private async readVerifiedLog(afterZxid: Zxid, read?: Promise<[Uint8Array, Uint8Array][]>): Promise<Txn[]> {
    return this.readingLog(() => this.readVerifiedLogRecords(afterZxid, read));
  }

  private async readVerifiedLogRecords(
    afterZxid: Zxid,
    read?: Promise<[Uint8Array, Uint8Array][]>,
  ): Promise<Txn[]> {
    const records = await (read ?? this.logRecordsAfter(afterZxid));
    const txns: Txn[] = [];
    let previous = afterZxid;
    for (let i = 0; i < records.length; i++) {
      const [key, value] = records[i]!;
      let record: LogRecord;
      try {
        record = this.decodeRecord(key, await this.resolve(key, value), true);
      } catch (error) {
        const next = records[i + 1];
        const first = zxidOfKey(key);
        if (error instanceof StorageCorruptError && first <= afterZxid && next !== undefined) {
          if (zxidOfKey(next[0]) <= afterZxid + 1n) {
            this.warn(
              `passing over a damaged log record wholly inside the snapshot at ${hexZxid(afterZxid)}: ${error.message}`,
            );
            continue;
          }
        }
        throw error;
      }
      for (const txn of record.txns) {
        if (txn.zxid <= afterZxid) continue;
        if (!followsContiguously(previous, txn.zxid)) {
          // A log that does not start where the snapshot ends needs a snapshot that is gone.
          const kind = txns.length === 0 ? 'snapshot' : 'log';
          throw new StorageCorruptError(
            kind,
            `${hexZxid(txn.zxid)} does not follow ${hexZxid(previous)}: ${kind === 'snapshot' ? 'the snapshot the log starts from is missing' : 'records are missing'}`,
            { key, firstZxid: zxidOfKey(key), lastZxid: record.lastZxid },
          );
        }
        previous = txn.zxid;
        txns.push(txn);
      }
    }
    return txns;
  }

  async readLog(afterZxid: Zxid): Promise<Txn[]> {
    this.check();
    return this.readingLog(async () => {
      const txns: Txn[] = [];
      for (const [key, value] of await this.logRecordsAfter(afterZxid)) {
        for (const txn of this.decodeRecord(key, await this.resolve(key, value)).txns) {
          if (txn.zxid > afterZxid) txns.push(txn);
        }
      }
      return txns;
    });
  }

  /**
   * Snapshot manifests, newest first. One seek per snapshot: a snapshot's keys sort together
   * (its chunks, then its manifest), so the last key below a snapshot is the one before's
   * manifest, or its last chunk when it has none. Walking every chunk key instead made LevelDB
   * read and decompress every snapshot kept (hundreds of MB for a large tree) on each purge.
   */
  private async manifests(): Promise<SnapshotRef[]> {
    return manifestsOf(await this.storedSnapshots());
  }

  /** A snapshot's nodes, chunk by chunk, each handed to `take` as soon as it is decoded. */
  private async readSnapshotNodes(
    ref: SnapshotRef,
    take: (nodes: SnapshotNode[]) => void,
  ): Promise<Manifest> {
    const manifest = decodeManifest(ref.manifest, this.limits);
    let count = 0;
    // The next chunk is read while this one is decoded and taken: the database reads on its
    // own thread, so a restart is not a chain of reads each waiting for the one before.
    let reading = manifest.chunks > 0 ? this.db.get(chunkKey(ref.zxid, 0)) : undefined;
    for (let index = 0; index < manifest.chunks; index++) {
      const record = await reading;
      reading = index + 1 < manifest.chunks ? this.db.get(chunkKey(ref.zxid, index + 1)) : undefined;
      // A read started and not awaited (this chunk is missing or damaged) must not go unhandled.
      reading?.catch(() => undefined);
      if (record === undefined) throw new StorageRecordError('snapshot chunk', `chunk ${index} is missing`);
      const nodes = packedData(decodeSnapshotChunk(record, this.limits, { dataViews: true }), record.length);
      count += nodes.length;
      take(nodes);
    }
    if (count !== manifest.nodes)
      throw new StorageRecordError(
        'manifest',
        `the chunks hold ${count} nodes, the manifest says ${manifest.nodes}`,
      );
    return manifest;
  }

  private async readSnapshot(ref: SnapshotRef): Promise<TreeSnapshot> {
    const nodes: SnapshotNode[] = [];
    const manifest = await this.readSnapshotNodes(ref, (chunk) => {
      for (const node of chunk) nodes.push(node);
    });
    return { zxid: ref.zxid, nodes, sessions: manifest.sessions };
  }

  /**
   * A snapshot restored into a tree a chunk at a time: each chunk's nodes die young, where
   * one array of every node would reach the old generation and stay there as garbage.
   */
  private async readSnapshotIntoTree(ref: SnapshotRef): Promise<DataTree> {
    const tree = new DataTree();
    const manifest = await this.readSnapshotNodes(ref, (chunk) => tree.restoreNodes(chunk));
    tree.finishRestore(ref.zxid, manifest.sessions);
    return tree;
  }

  /**
   * The newest snapshot that reads back whole (as a tree when `restoreTree`), and the zxids of
   * the damaged ones passed over, newest first.
   */
  private async newestReadableSnapshot(
    restoreTree = false,
    refs?: AsyncIterable<SnapshotRef>,
  ): Promise<{
    snapshot: TreeSnapshot | undefined;
    tree?: DataTree;
    passedOver: Zxid[];
  }> {
    await this.background.catch(() => undefined);
    const passedOver: Zxid[] = [];
    for await (const ref of refs ?? (await this.manifests())) {
      try {
        if (restoreTree)
          return { snapshot: undefined, tree: await this.readSnapshotIntoTree(ref), passedOver };
        return { snapshot: await this.readSnapshot(ref), passedOver };
      } catch (error) {
        if (!(error instanceof StorageRecordError)) throw error;
        // The log from an older snapshot may still cover it; load() checks that it does.
        this.warn(
          `passing over damaged snapshot ${hexZxid(ref.zxid)}: ${error.message}; zabkit storage check reports it`,
        );
        passedOver.push(ref.zxid);
      }
    }
    return { snapshot: undefined, passedOver };
  }

  /** The newest snapshot that reads back whole; a damaged one is passed over for an older one. */
  async latestSnapshot(): Promise<TreeSnapshot | undefined> {
    this.check();
    return (await this.newestReadableSnapshot()).snapshot;
  }

  // ---- writing -----------------------------------------------------------------------------

  /** The last logged zxid, read once and then kept up to date by every write. */
  private lastLogged: Zxid | undefined;

  private async lastLoggedZxid(): Promise<Zxid> {
    if (this.lastLogged === undefined) {
      const [last] = await this.db.iterator({ gte: logStart, lt: logEnd, reverse: true, limit: 1 }).all();
      this.lastLogged = last === undefined ? zeroZxid : this.recordLastZxid(last[0], last[1]);
    }
    return this.lastLogged;
  }

  /** One record for a run of transactions, after checking that the zxids move forward. */
  private async appendOps(txns: readonly Txn[], ops: Op[]): Promise<void> {
    if (txns.length === 0) return;
    let last = await this.lastLoggedZxid();
    for (const txn of txns) {
      if (txn.zxid <= last)
        throw new RangeError(`append out of order: ${hexZxid(txn.zxid)} after ${hexZxid(last)}`);
      last = txn.zxid;
    }
    ops.push({ type: 'put', key: logKey(txns[0]!.zxid), value: await this.storedRecord(txns, last, ops) });
    this.lastLogged = last;
  }

  /**
   * What goes under a new log record's key: the record, or, from the value threshold on, a
   * pointer to it in the value log, where it is durable once this resolves (before `ops`).
   */
  private async storedRecord(txns: readonly Txn[], lastZxid: Zxid, ops: Op[]): Promise<Uint8Array> {
    const record = this.encodeRecord(txns, ops);
    if (this.values === undefined || record.length < this.valueThreshold) return record;
    try {
      return encodePointer(await this.values.append(record, lastZxid));
    } finally {
      // Written to its segment: the record buffer is free for the next record.
      if (this.recordBufferHolder === ops) this.recordBufferHolder = undefined;
    }
  }

  async append(txns: readonly Txn[]): Promise<void> {
    this.check();
    const ops: Op[] = [];
    await this.appendOps(txns, ops);
    await this.write(ops);
  }

  private async truncateOps(afterZxid: Zxid, ops: Op[]): Promise<void> {
    await this.readingLog(async () => {
      for (const [key, value] of await this.logRecordsAfter(afterZxid)) {
        if (zxidOfKey(key) > afterZxid) {
          // A pointer's bytes stay in their segment, garbage until the segment is deleted.
          ops.push({ type: 'del', key });
          continue;
        }
        // The record reaching over the cut keeps its head.
        if (this.recordLastZxid(key, value) <= afterZxid) continue;
        const kept = this.decodeRecord(key, await this.resolve(key, value)).txns.filter(
          (txn) => txn.zxid <= afterZxid,
        );
        ops.push({
          type: 'put',
          key,
          value: await this.storedRecord(kept, kept[kept.length - 1]!.zxid, ops),
        });
      }
    });
    this.lastLogged = undefined;
  }

  async truncate(afterZxid: Zxid): Promise<void> {
    this.check();
    const ops: Op[] = [];
    await this.truncateOps(afterZxid, ops);
    await this.write(ops);
  }

  async writeEpochs(epochs: Epochs): Promise<void> {
    this.check();
    await this.write([{ type: 'put', key: epochsKey, value: encodeEpochsRecord(epochs) }]);
  }

  /**
   * A snapshot's chunks, each encoded when asked for: a large snapshot is never all encoded at
   * once. A chunk ends at `chunkNodes` nodes or about `chunkBytes` bytes, whichever comes first.
   */
  private *snapshotChunks(snapshot: TreeSnapshot): Generator<[Uint8Array, Uint8Array]> {
    const all = snapshot.nodes;
    let chunks = 0;
    let start = 0;
    do {
      let end = start;
      let bytes = 0;
      while (end < all.length && end - start < this.chunkNodes) {
        const size = snapshotNodeBytes(all[end]!);
        if (end > start && bytes + size > this.chunkBytes) break;
        bytes += size;
        end++;
      }
      yield [chunkKey(snapshot.zxid, chunks), encodeSnapshotChunk(all.slice(start, end))];
      chunks++;
      start = end;
    } while (start < all.length);
  }

  /** The manifest of `snapshot` once its `chunks` chunks are written. */
  private manifestOf(snapshot: TreeSnapshot, chunks: number): Uint8Array {
    return encodeManifest({ chunks, nodes: snapshot.nodes.length, sessions: snapshot.sessions });
  }

  async writeSessionSecret(secret: Uint8Array): Promise<void> {
    this.check();
    await this.write([{ type: 'put', key: sessionSecretKey, value: encodeSessionSecretRecord(secret) }]);
  }

  /** Chunks, then the manifest in a synced write: until the manifest lands, the snapshot does not exist. */
  private async writeSnapshot(snapshot: TreeSnapshot): Promise<void> {
    if (snapshot instanceof SnapshotStream) {
      await this.writeSnapshotStream(snapshot);
      return;
    }
    let chunks = 0;
    this.bytesSinceLevel0Check = Number.POSITIVE_INFINITY;
    for (const [key, value] of this.snapshotChunks(snapshot)) {
      await this.compactionRoom(value.length);
      await this.db.put(key, value);
      chunks++;
    }
    await this.db.put(manifestKey(snapshot.zxid), this.manifestOf(snapshot, chunks), {
      sync: this.sync,
    } as never);
  }

  /**
   * A snapshot read out of the live tree a chunk at a time, each chunk encoded and written
   * before the next is read: every write lets the event loop turn, so the peer goes on serving
   * while a large tree is written (the tree keeps, copy-on-write, what the snapshot still needs).
   */
  private async writeSnapshotStream(stream: SnapshotStream): Promise<void> {
    try {
      await this.writeSnapshotChunks(stream);
    } catch (error) {
      // The store has failed: the tree need not keep copies for a snapshot never finished.
      stream.abandon();
      throw error;
    }
  }

  /**
   * Chunks as `snapshotChunks` cuts them (by `snapshotNodeBytes`' count, so the same nodes
   * make the same chunks), each node encoded as it is walked; the event loop turns every
   * `sliceNodes` nodes or `sliceBytes` bytes, and again at every chunk's write.
   */
  private async writeSnapshotChunks(stream: SnapshotStream): Promise<void> {
    const encoder = new SnapshotChunkEncoder();
    let chunks = 0;
    let nodes = 0;
    let chunkBytes = 0;
    let sliceNodes = 0;
    let sliceStart = 0;
    this.bytesSinceLevel0Check = Number.POSITIVE_INFINITY;
    const writeChunk = async (): Promise<void> => {
      nodes += encoder.nodes;
      const record = encoder.finish();
      await this.compactionRoom(record.length);
      await this.db.put(chunkKey(stream.zxid, chunks), record);
      chunks++;
      chunkBytes = 0;
      sliceNodes = 0;
      sliceStart = 0;
    };
    for (let node = stream.peek(); node !== undefined; node = stream.peek()) {
      const size = snapshotNodeBytes(node);
      if (encoder.nodes > 0 && (encoder.nodes >= this.chunkNodes || chunkBytes + size > this.chunkBytes))
        await writeChunk();
      encoder.add(node);
      stream.shift();
      chunkBytes += size;
      if (++sliceNodes >= this.sliceNodes || encoder.bytes - sliceStart >= sliceBytes) {
        sliceNodes = 0;
        sliceStart = encoder.bytes;
        await turnOfTheLoop();
      }
    }
    // An empty snapshot still has one (empty) chunk, as `snapshotChunks` writes it.
    if (encoder.nodes > 0 || chunks === 0) await writeChunk();
    await this.db.put(
      manifestKey(stream.zxid),
      encodeManifest({ chunks, nodes, sessions: stream.sessions }),
      { sync: this.sync } as never,
    );
  }

  /** LevelDB's level-0 file count, where the database reports it (classic-level does). */
  private level0Files(): number | undefined {
    const db = this.db as { getProperty?: (property: string) => string };
    if (this.level0FilesMax === 0 || typeof db.getProperty !== 'function') return undefined;
    const count = Number(db.getProperty('leveldb.num-files-at-level0'));
    return Number.isFinite(count) ? count : undefined;
  }

  /**
   * Before a chunk of `bytes`: waits while level 0 holds `level0FilesMax` files or more (see
   * the option), at most `compactionWaitMsMax` per chunk: a compaction that does not catch up
   * delays a snapshot, never stops it. A closed store waits no more. Level 0 is looked at
   * before a snapshot's first chunk and then once per `level0CheckBytes`, and at every poll
   * while it is full.
   */
  private async compactionRoom(bytes: number): Promise<void> {
    this.bytesSinceLevel0Check += bytes;
    if (this.bytesSinceLevel0Check < this.level0CheckBytes) return;
    let waitedMs = 0;
    while (!this.closed && waitedMs < compactionWaitMsMax) {
      const files = this.level0Files();
      if (files === undefined || files < this.level0FilesMax) {
        this.bytesSinceLevel0Check = 0;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, compactionPollMs));
      waitedMs += compactionPollMs;
    }
  }

  async saveSnapshot(snapshot: TreeSnapshot): Promise<void> {
    this.check();
    await this.background;
    await this.writeSnapshot(snapshot);
  }

  /**
   * Purges after the snapshot being written (it waits for every background write before it),
   * off the durability chain: the batch that asked for it is durable without waiting, so a
   * snapshot and its purge never stall commits. What it deletes is at or below a snapshot,
   * which nothing written meanwhile touches (appends and truncations are above it; a reset
   * or staged commit waits for the background first). A failure stops the store, as a failed
   * snapshot write does.
   */
  private purgeInBackground(throughZxid: Zxid): void {
    this.background = this.background
      .then(async () => {
        if (this.closed || this.backgroundError !== undefined) return;
        const started = performance.now();
        const ops: Op[] = [];
        await this.purgeOps(throughZxid, ops);
        await this.write(ops);
        await this.collectSegments();
        this.info(
          `purged through ${hexZxid(throughZxid)}: ${ops.length} keys deleted in ${Math.round(performance.now() - started)} ms`,
        );
      })
      .catch((error: unknown) => {
        this.backgroundError ??= error;
      });
  }

  /** Starts writing a snapshot without waiting: the log still holds everything it covers. */
  private saveSnapshotInBackground(snapshot: TreeSnapshot): void {
    this.background = this.background
      .then(async () => {
        const started = performance.now();
        await this.writeSnapshot(snapshot);
        this.info(
          `snapshot at ${hexZxid(snapshot.zxid)} written in ${Math.round(performance.now() - started)} ms`,
        );
      })
      .catch((error: unknown) => {
        this.backgroundError ??= error;
      });
  }

  /** Everything replaced by one snapshot, atomically: a crash leaves the old state or the new. */
  async reset(snapshot: TreeSnapshot): Promise<void> {
    this.check();
    await this.background;
    const ops: Op[] = [];
    for (const key of await this.db.keys({ gte: logStart, lt: logEnd }).all()) ops.push({ type: 'del', key });
    for (const key of await this.db.keys({ gte: snapshotStart, lt: snapshotEnd }).all())
      ops.push({ type: 'del', key });
    this.lastLogged = undefined;
    this.staging = undefined;
    let chunks = 0;
    for (const [key, value] of this.snapshotChunks(snapshot)) {
      ops.push({ type: 'put', key, value });
      chunks++;
    }
    ops.push({ type: 'put', key: manifestKey(snapshot.zxid), value: this.manifestOf(snapshot, chunks) });
    await this.write(ops);
    await this.collectSegments();
  }

  // ---- snapshots streamed from a leader, and to a learner -----------------------------------

  /**
   * Staged chunks live where a snapshot's chunks do, under its zxid, without a manifest: until
   * `commitStagedSnapshot` writes the manifest (in the same atomic batch that drops the old
   * state), load() never sees them, and a crash leaves the previous state whole.
   */
  private staging: Staging | undefined;
  /** The last stored chunk decoded for a read, kept for the next read of the same chunk. */
  private readCache: { zxid: Zxid; index: number; nodes: SnapshotNode[] } | undefined;

  async readSnapshotChunk(zxid: Zxid, cursor: SnapshotCursor, bytesMax: number): Promise<SnapshotChunk> {
    this.check();
    // Not behind the background writes unless they hold this very snapshot: a stored one reads
    // back while a newer one is written (seconds, for a large tree), so a learner sync
    // streaming it does not stall.
    let record = await this.db.get(manifestKey(zxid));
    if (record === undefined) {
      await this.background;
      this.check();
      record = await this.db.get(manifestKey(zxid));
    }
    if (record === undefined) throw new RangeError(`no snapshot at ${hexZxid(zxid)} is stored`);
    const manifest = decodeManifest(record, this.limits);
    if (!Number.isSafeInteger(cursor) || cursor < 0) throw new RangeError(`bad snapshot cursor ${cursor}`);
    const index = Math.floor(cursor / cursorChunkFactor);
    const offset = cursor % cursorChunkFactor;
    if (index >= manifest.chunks) throw new RangeError(`cursor ${cursor} is past the snapshot's end`);
    let nodes =
      this.readCache?.zxid === zxid && this.readCache.index === index ? this.readCache.nodes : undefined;
    if (nodes === undefined) {
      const chunk = await this.db.get(chunkKey(zxid, index));
      if (chunk === undefined)
        throw new StorageCorruptError(
          'snapshot',
          `chunk ${index} of the snapshot at ${hexZxid(zxid)} is missing`,
          {
            key: chunkKey(zxid, index),
          },
        );
      nodes = decodeSnapshotChunk(chunk, this.limits);
      this.readCache = { zxid, index, nodes };
    }
    let end = offset;
    let bytes = 0;
    while (end < nodes.length) {
      const size = snapshotNodeBytes(nodes[end]!);
      if (end > offset && bytes + size > bytesMax) break;
      bytes += size;
      end++;
    }
    let next: SnapshotCursor | undefined;
    if (end < nodes.length) next = index * cursorChunkFactor + end;
    else if (index + 1 < manifest.chunks) next = (index + 1) * cursorChunkFactor;
    if (next === undefined) this.readCache = undefined;
    return { nodes: nodes.slice(offset, end), sessions: cursor === 0 ? manifest.sessions : [], next };
  }

  /** Deletes of every chunk that no manifest covers: staged or half-written snapshots. */
  private async incompleteSnapshotOps(ops: Op[]): Promise<void> {
    const incomplete = new Set(await this.incompleteSnapshots());
    if (incomplete.size === 0) return;
    for await (const key of this.db.keys({ gte: snapshotStart, lt: snapshotEnd })) {
      if (isChunkKey(key) && incomplete.has(zxidOfKey(key))) ops.push({ type: 'del', key });
    }
  }

  private async stageBeginOps(zxid: Zxid, ops: Op[]): Promise<void> {
    await this.background;
    if ((await this.db.get(manifestKey(zxid))) !== undefined)
      throw new RangeError(`a snapshot at ${hexZxid(zxid)} is stored already: staging one would replace it`);
    await this.incompleteSnapshotOps(ops);
    this.staging = { zxid, chunks: 0, nodes: 0 };
  }

  private stageChunkOps(zxid: Zxid, index: number, nodes: readonly SnapshotNode[], ops: Op[]): void {
    const staging = this.staging;
    if (staging === undefined || staging.zxid !== zxid)
      throw new RangeError(`no snapshot at ${hexZxid(zxid)} is being staged`);
    if (index !== staging.chunks)
      throw new RangeError(`staged chunk ${index} out of order: chunk ${staging.chunks} is next`);
    if (index >= cursorChunkFactor) throw new RangeError(`too many staged chunks (${index})`);
    // Into the record buffer, as a log record: a learner staging a 1 GB SNAP would otherwise
    // allocate a second gigabyte, a chunk at a time, that the database copies at once.
    const value = this.intoRecordBuffer((into) => encodeSnapshotChunk(nodes, into), ops);
    ops.push({ type: 'put', key: chunkKey(zxid, index), value });
    staging.chunks++;
    staging.nodes += nodes.length;
  }

  /** The one batch that switches to the staged snapshot: every other key of the state goes, its manifest comes. */
  private async stageCommitOps(
    zxid: Zxid,
    chunks: number,
    nodes: number,
    sessions: readonly (readonly [SessionId, number])[],
    ops: Op[],
  ): Promise<void> {
    await this.background;
    const staging = this.staging;
    if (staging === undefined || staging.zxid !== zxid)
      throw new RangeError(`no snapshot at ${hexZxid(zxid)} is being staged`);
    if (staging.chunks !== chunks || staging.nodes !== nodes)
      throw new RangeError(
        `the staged snapshot at ${hexZxid(zxid)} has ${staging.chunks} chunks of ${staging.nodes} nodes, not ${chunks} of ${nodes}`,
      );
    for await (const key of this.db.keys({ gte: logStart, lt: logEnd })) ops.push({ type: 'del', key });
    for await (const key of this.db.keys({ gte: snapshotStart, lt: snapshotEnd })) {
      if (zxidOfKey(key) !== zxid) ops.push({ type: 'del', key });
    }
    ops.push({ type: 'put', key: manifestKey(zxid), value: encodeManifest({ chunks, nodes, sessions }) });
    this.staging = undefined;
    this.lastLogged = undefined;
    this.readCache = undefined;
  }

  async stageSnapshot(zxid: Zxid): Promise<void> {
    this.check();
    const ops: Op[] = [];
    await this.stageBeginOps(zxid, ops);
    await this.write(ops);
  }

  async stageChunk(zxid: Zxid, index: number, nodes: readonly SnapshotNode[]): Promise<void> {
    this.check();
    const ops: Op[] = [];
    this.stageChunkOps(zxid, index, nodes, ops);
    await this.write(ops);
  }

  async commitStagedSnapshot(
    zxid: Zxid,
    chunks: number,
    nodes: number,
    sessions: readonly (readonly [SessionId, number])[],
  ): Promise<void> {
    this.check();
    const ops: Op[] = [];
    await this.stageCommitOps(zxid, chunks, nodes, sessions, ops);
    await this.write(ops);
    await this.collectSegments();
  }

  async discardStagedSnapshots(): Promise<void> {
    this.check();
    await this.background;
    const ops: Op[] = [];
    await this.incompleteSnapshotOps(ops);
    this.staging = undefined;
    await this.write(ops);
  }

  /**
   * Drops log entries at or below `throughZxid` and old snapshots, keeping the newest
   * `retainSnapshots` snapshots and all the log after the oldest one kept, so recovery can
   * fall back on an older snapshot if the newest is damaged.
   */
  async purge(throughZxid: Zxid): Promise<void> {
    this.check();
    await this.background;
    const ops: Op[] = [];
    await this.purgeOps(throughZxid, ops);
    await this.write(ops);
    await this.collectSegments();
  }

  /**
   * Deletes of a stored snapshot's keys: its manifest, then the chunks it counts, by key; only
   * a manifest that does not decode has its range's keys listed. Listing them read every chunk.
   * A chunk past the count (of a write at the same zxid that never finished) would be left
   * without a manifest, an incomplete snapshot, which the next start discards.
   */
  private async snapshotDeleteOps(ref: SnapshotRef, ops: Op[]): Promise<void> {
    let chunks: number;
    try {
      chunks = decodeManifest(ref.manifest, this.limits).chunks;
    } catch (error) {
      if (!(error instanceof StorageRecordError)) throw error;
      for (const key of await this.db.keys(snapshotRange(ref.zxid)).all()) ops.push({ type: 'del', key });
      return;
    }
    ops.push({ type: 'del', key: manifestKey(ref.zxid) });
    for (let index = 0; index < chunks; index++) ops.push({ type: 'del', key: chunkKey(ref.zxid, index) });
  }

  private async purgeOps(throughZxid: Zxid, ops: Op[]): Promise<void> {
    const refs = (await this.manifests()).filter((ref) => ref.zxid <= throughZxid);
    if (refs.length === 0) return;
    const kept = refs.slice(0, this.retain);
    const oldestKept = kept[kept.length - 1]!.zxid;
    for (const ref of refs.slice(this.retain)) await this.snapshotDeleteOps(ref, ops);
    // Records wholly at or below the oldest snapshot kept; one reaching over it stays. Read a
    // slice at a time: the log since the snapshot before (tens of MB) is never held at once.
    const [firstAfter] = await this.db.keys({ gt: logKey(oldestKept), lt: logEnd, limit: 1 }).all();
    /** A damaged record, until the next record's key says whether it lies inside the snapshot. */
    let damaged: { key: Uint8Array; error: StorageRecordError } | undefined;
    const settleDamaged = (nextKey: Uint8Array | undefined): void => {
      if (damaged === undefined) return;
      const { key, error } = damaged;
      damaged = undefined;
      // A damaged record ends before the next one starts: if that is inside the snapshot, so is it.
      if (nextKey === undefined || zxidOfKey(nextKey) > oldestKept + 1n) return;
      this.warn(
        `purging a damaged log record wholly inside the snapshot at ${hexZxid(oldestKept)}: ${error.message}`,
      );
      ops.push({ type: 'del', key });
    };
    const records = this.db.iterator({ gte: logStart, lte: logKey(oldestKept) });
    try {
      for (let slice = await records.nextv(purgeSliceRecords); slice.length > 0; ) {
        for (const [key, value] of slice) {
          settleDamaged(key);
          let lastZxid: Zxid;
          try {
            lastZxid = headerLastZxid(value);
          } catch (error) {
            if (!(error instanceof StorageRecordError)) throw error;
            damaged = { key, error };
            continue;
          }
          if (lastZxid <= oldestKept) ops.push({ type: 'del', key });
        }
        slice = await records.nextv(purgeSliceRecords);
      }
    } finally {
      await records.close();
    }
    settleDamaged(firstAfter);
  }

  /** The driver's batch of actions, as one synced write where they allow it. */
  async apply(actions: readonly StorageAction[]): Promise<void> {
    this.check();
    let ops: Op[] = [];
    /** The batch's transactions, gathered into one record. */
    let run: Txn[] = [];
    const flush = async () => {
      await this.appendOps(run, ops);
      run = [];
      await this.write(ops);
      ops = [];
    };
    for (const action of actions) {
      switch (action.kind) {
        case 'append':
          if (this.groupCommit) run.push(...action.txns);
          else {
            await flush();
            for (const txn of action.txns) {
              run.push(txn);
              await flush();
            }
          }
          break;
        case 'epochs':
          ops.push({ type: 'put', key: epochsKey, value: encodeEpochsRecord(action.epochs) });
          break;
        case 'sessionSecret':
          ops.push({ type: 'put', key: sessionSecretKey, value: encodeSessionSecretRecord(action.secret) });
          break;
        case 'truncate':
          // The keys to drop are read from the database: what is still in `ops` goes first.
          await flush();
          await this.truncateOps(action.afterZxid, ops);
          break;
        case 'snapshot':
          await flush();
          this.saveSnapshotInBackground(action.snapshot);
          break;
        case 'purge': {
          // Keeping more than asked is always safe; the next purge covers this one's ground.
          if (!this.autoPurge) break;
          const now = Date.now();
          if (now - this.lastPurgeMs < this.purgeIntervalMs) break;
          this.lastPurgeMs = now;
          this.purgeInBackground(action.throughZxid);
          break;
        }
        case 'reset':
          await flush();
          await this.reset(action.snapshot);
          break;
        case 'stageBegin':
          // Which chunks to drop is read from the database: what is still in `ops` goes first.
          await flush();
          await this.stageBeginOps(action.zxid, ops);
          break;
        case 'stageChunk':
          this.stageChunkOps(action.zxid, action.index, action.nodes, ops);
          break;
        case 'stageCommit':
          // Its own batch, after everything before it: the switch is all or nothing.
          await flush();
          await this.stageCommitOps(action.zxid, action.chunks, action.nodes, action.sessions, ops);
          await flush();
          await this.collectSegments();
          break;
        case 'stageDiscard':
          await flush();
          await this.background;
          await this.incompleteSnapshotOps(ops);
          this.staging = undefined;
          break;
      }
    }
    await flush();
  }

  /** Waits for background snapshot writes, then closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.background;
    this.closed = true;
    await this.values?.close();
    await this.db.close();
  }
}
