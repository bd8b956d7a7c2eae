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
 * @packageDocumentation
 */
import {
  decodeSessions,
  decodeSnapshotNodes,
  decodeTxn,
  encodeSessions,
  encodeSnapshotNodes,
  encodeTxn,
} from '@zabkit/codec';
import {
  type Epochs,
  followsContiguously,
  type PeerStorage,
  type PersistedState,
  type SnapshotNode,
  type StorageAction,
  type TreeSnapshot,
  type Txn,
  type Zxid,
  zeroZxid,
} from '@zabkit/core';
import type { AbstractBatchOperation, AbstractLevel } from 'abstract-level';
import { ClassicLevel } from 'classic-level';
import {
  ChecksumError,
  chunkKey,
  decodeEpochs,
  decodeLogRecord,
  decodeManifest,
  encodeEpochs,
  encodeLogRecord,
  encodeManifest,
  epochsKey,
  isManifestKey,
  logEnd,
  logKey,
  logStart,
  manifestKey,
  sealed,
  snapshotEnd,
  snapshotRange,
  snapshotStart,
  unseal,
  zxidOfKey,
} from './records.js';

export { ChecksumError } from './records.js';

/** A database of byte keys and byte values, as the store needs it. */
export type BytesLevel = AbstractLevel<Uint8Array, Uint8Array, Uint8Array>;

type Op = AbstractBatchOperation<BytesLevel, Uint8Array, Uint8Array>;

/**
 * The store holds damage that cannot be repaired without risking committed data: the peer
 * must not start from it. `what` names the record.
 */
export class StorageCorruptError extends Error {
  constructor(
    readonly what: string,
    detail: string,
  ) {
    super(`storage is corrupt (${what}): ${detail}`);
    this.name = 'StorageCorruptError';
  }
}

/** How the store keeps snapshots, commits and purges. */
export interface LevelStorageOptions {
  /** Snapshots kept by a purge (ZooKeeper's autopurge.snapRetainCount), at least 1. Default 3. */
  readonly retainSnapshots?: number;
  /** Nodes per snapshot chunk: one chunk is encoded and written per turn of the event loop. Default 2000. */
  readonly snapshotChunkNodes?: number;
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
   * whenever asked, that is after each snapshot.
   */
  readonly purgeIntervalMs?: number;
  /** Told of repairs made at open (a torn tail dropped, an incomplete snapshot ignored). */
  readonly warn?: (message: string) => void;
}

interface SnapshotRef {
  readonly zxid: Zxid;
  readonly manifest: Uint8Array;
}

/** A peer's durable storage on LevelDB (or any abstract-level database of bytes). */
export class LevelStorage implements PeerStorage {
  private readonly retain: number;
  private readonly chunkNodes: number;
  private readonly groupCommit: boolean;
  private readonly sync: boolean;
  private readonly warn: (message: string) => void;
  private readonly purgeIntervalMs: number;
  private lastPurgeMs = Number.NEGATIVE_INFINITY;
  /** Snapshots being written in the background: a purge or reset waits for them. */
  private background: Promise<void> = Promise.resolve();
  private backgroundError: unknown;
  private closed = false;

  private constructor(
    readonly db: BytesLevel,
    options: LevelStorageOptions,
  ) {
    this.retain = Math.max(1, options.retainSnapshots ?? 3);
    this.chunkNodes = Math.max(1, options.snapshotChunkNodes ?? 2000);
    this.groupCommit = options.groupCommit ?? true;
    this.sync = options.sync ?? true;
    this.warn = options.warn ?? (() => undefined);
    this.purgeIntervalMs = Math.max(0, options.purgeIntervalMs ?? 0);
  }

  /** A store on an abstract-level database of bytes (opened here if it is not yet). */
  static async on(db: BytesLevel, options: LevelStorageOptions = {}): Promise<LevelStorage> {
    await db.open();
    return new LevelStorage(db, options);
  }

  /** A store in a LevelDB directory (created if missing), through classic-level. */
  static async open(location: string, options: LevelStorageOptions = {}): Promise<LevelStorage> {
    const db = new ClassicLevel<Uint8Array, Uint8Array>(location, {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    return LevelStorage.on(db as unknown as BytesLevel, options);
  }

  private check(): void {
    if (this.closed) throw new Error('LevelStorage is closed');
    if (this.backgroundError !== undefined) throw this.backgroundError;
  }

  private write(ops: Op[]): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    return this.db.batch(ops, { sync: this.sync } as never);
  }

  // ---- reading -----------------------------------------------------------------------------

  async load(): Promise<PersistedState> {
    this.check();
    const epochs = await this.readEpochs();
    const snapshot = await this.latestSnapshot();
    const base = snapshot?.zxid ?? zeroZxid;
    const log = await this.readVerifiedLog(base);
    return { epochs, snapshot, log };
  }

  async readEpochs(): Promise<Epochs> {
    this.check();
    const record = await this.db.get(epochsKey);
    if (record === undefined) return { acceptedEpoch: 0, currentEpoch: 0 };
    try {
      return decodeEpochs(record);
    } catch (error) {
      // The epochs are ZAB's promises; a guess could break one. Refuse.
      throw new StorageCorruptError('epochs', String(error));
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
   * The log after `afterZxid`, checked: every record's checksum, and no gap. A damaged last
   * record is a torn write that was never acknowledged (acknowledgements wait for the
   * sync): it is dropped, as ZooKeeper drops a torn log tail. Damage anywhere else is refused.
   */
  private async readVerifiedLog(afterZxid: Zxid): Promise<Txn[]> {
    const records = await this.logRecordsAfter(afterZxid);
    const txns: Txn[] = [];
    let previous = afterZxid;
    for (let i = 0; i < records.length; i++) {
      const [key, value] = records[i]!;
      const first = zxidOfKey(key);
      const what = `log record 0x${first.toString(16)}`;
      let decoded: Txn[];
      try {
        decoded = decodeLogRecord(value, what).txns.map((bytes) => decodeTxn(bytes));
        if (decoded[0]?.zxid !== first) throw new ChecksumError(`${what} starts elsewhere`);
      } catch (error) {
        if (i === records.length - 1) {
          this.warn(`dropping a torn last log record at zxid 0x${first.toString(16)}`);
          await this.db.del(key, { sync: this.sync } as never);
          this.lastLogged = undefined;
          break;
        }
        // A damaged record wholly before the snapshot is not needed: the next one says so.
        const next = zxidOfKey(records[i + 1]![0]);
        if (first <= afterZxid && followsContiguously(afterZxid, next)) continue;
        throw new StorageCorruptError(what, String(error));
      }
      for (const txn of decoded) {
        if (txn.zxid <= afterZxid) continue;
        if (!followsContiguously(previous, txn.zxid)) {
          // A log that does not start where the snapshot ends needs a snapshot that is gone.
          const kind = txns.length === 0 ? 'snapshot' : 'log';
          throw new StorageCorruptError(
            kind,
            `0x${txn.zxid.toString(16)} does not follow 0x${previous.toString(16)}: ${kind === 'snapshot' ? 'the snapshot the log starts from is missing' : 'records are missing'}`,
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
    const txns: Txn[] = [];
    for (const [key, value] of await this.logRecordsAfter(afterZxid)) {
      for (const bytes of decodeLogRecord(value, `log record 0x${zxidOfKey(key).toString(16)}`).txns) {
        const txn = decodeTxn(bytes);
        if (txn.zxid > afterZxid) txns.push(txn);
      }
    }
    return txns;
  }

  /** Snapshot manifests, newest first. */
  private async manifests(): Promise<SnapshotRef[]> {
    const refs: SnapshotRef[] = [];
    for await (const [key, value] of this.db.iterator({
      gte: snapshotStart,
      lt: snapshotEnd,
      reverse: true,
    })) {
      if (isManifestKey(key)) refs.push({ zxid: zxidOfKey(key), manifest: value });
    }
    return refs;
  }

  private async readSnapshot(ref: SnapshotRef): Promise<TreeSnapshot> {
    const what = `snapshot 0x${ref.zxid.toString(16)}`;
    const manifest = decodeManifest(ref.manifest, what);
    const nodes: SnapshotNode[] = [];
    for (let index = 0; index < manifest.chunks; index++) {
      const record = await this.db.get(chunkKey(ref.zxid, index));
      if (record === undefined) throw new ChecksumError(`${what} chunk ${index} is missing`);
      nodes.push(...decodeSnapshotNodes(unseal(record, `${what} chunk ${index}`)));
    }
    if (nodes.length !== manifest.nodes)
      throw new ChecksumError(`${what} has ${nodes.length} nodes, not ${manifest.nodes}`);
    return { zxid: ref.zxid, nodes, sessions: decodeSessions(manifest.sessions) };
  }

  /** The newest snapshot that reads back whole; a damaged one is passed over for an older one. */
  async latestSnapshot(): Promise<TreeSnapshot | undefined> {
    this.check();
    await this.background.catch(() => undefined);
    for (const ref of await this.manifests()) {
      try {
        return await this.readSnapshot(ref);
      } catch (error) {
        if (!(error instanceof ChecksumError) && !(error instanceof Error && error.name === 'PeerCodecError'))
          throw error;
        // The log from an older snapshot may still cover it; load() checks that it does.
        this.warn(`passing over damaged snapshot 0x${ref.zxid.toString(16)}: ${error.message}`);
      }
    }
    return undefined;
  }

  // ---- writing -----------------------------------------------------------------------------

  /** The last logged zxid, read once and then kept up to date by every write. */
  private lastLogged: Zxid | undefined;

  private async lastLoggedZxid(): Promise<Zxid> {
    if (this.lastLogged === undefined) {
      const [last] = await this.db.iterator({ gte: logStart, lt: logEnd, reverse: true, limit: 1 }).all();
      this.lastLogged =
        last === undefined ? zeroZxid : decodeLogRecord(last[1], 'the last log record').lastZxid;
    }
    return this.lastLogged;
  }

  /** One record for a run of transactions, after checking that the zxids move forward. */
  private async appendOps(txns: readonly Txn[], ops: Op[]): Promise<void> {
    if (txns.length === 0) return;
    let last = await this.lastLoggedZxid();
    for (const txn of txns) {
      if (txn.zxid <= last)
        throw new RangeError(`append out of order: 0x${txn.zxid.toString(16)} after 0x${last.toString(16)}`);
      last = txn.zxid;
    }
    const record = encodeLogRecord(
      txns.map((txn) => encodeTxn(txn)),
      last,
    );
    ops.push({ type: 'put', key: logKey(txns[0]!.zxid), value: record });
    this.lastLogged = last;
  }

  async append(txns: readonly Txn[]): Promise<void> {
    this.check();
    const ops: Op[] = [];
    await this.appendOps(txns, ops);
    await this.write(ops);
  }

  private async truncateOps(afterZxid: Zxid, ops: Op[]): Promise<void> {
    for (const [key, value] of await this.logRecordsAfter(afterZxid)) {
      if (zxidOfKey(key) > afterZxid) {
        ops.push({ type: 'del', key });
        continue;
      }
      // The record reaching over the cut keeps its head.
      const record = decodeLogRecord(value, `log record 0x${zxidOfKey(key).toString(16)}`);
      if (record.lastZxid <= afterZxid) continue;
      const kept = record.txns.map((bytes) => decodeTxn(bytes)).filter((txn) => txn.zxid <= afterZxid);
      ops.push({
        type: 'put',
        key,
        value: encodeLogRecord(
          kept.map((txn) => encodeTxn(txn)),
          kept.at(-1)!.zxid,
        ),
      });
    }
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
    await this.write([{ type: 'put', key: epochsKey, value: encodeEpochs(epochs) }]);
  }

  /** Chunks, then the manifest in a synced write: until the manifest lands, the snapshot does not exist. */
  private async writeSnapshot(snapshot: TreeSnapshot): Promise<void> {
    let chunks = 0;
    for (let start = 0; start < snapshot.nodes.length || chunks === 0; start += this.chunkNodes) {
      const nodes = snapshot.nodes.slice(start, start + this.chunkNodes);
      await this.db.put(chunkKey(snapshot.zxid, chunks), sealed(encodeSnapshotNodes(nodes)));
      chunks++;
      if (start + this.chunkNodes >= snapshot.nodes.length) break;
    }
    const manifest = encodeManifest({
      chunks,
      nodes: snapshot.nodes.length,
      sessions: encodeSessions(snapshot.sessions),
    });
    await this.db.put(manifestKey(snapshot.zxid), manifest, { sync: this.sync } as never);
  }

  async saveSnapshot(snapshot: TreeSnapshot): Promise<void> {
    this.check();
    await this.background;
    await this.writeSnapshot(snapshot);
  }

  /** Starts writing a snapshot without waiting: the log still holds everything it covers. */
  private saveSnapshotInBackground(snapshot: TreeSnapshot): void {
    this.background = this.background
      .then(() => this.writeSnapshot(snapshot))
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
    let chunks = 0;
    for (let start = 0; start < snapshot.nodes.length || chunks === 0; start += this.chunkNodes) {
      const nodes = snapshot.nodes.slice(start, start + this.chunkNodes);
      ops.push({
        type: 'put',
        key: chunkKey(snapshot.zxid, chunks),
        value: sealed(encodeSnapshotNodes(nodes)),
      });
      chunks++;
      if (start + this.chunkNodes >= snapshot.nodes.length) break;
    }
    const manifest = encodeManifest({
      chunks,
      nodes: snapshot.nodes.length,
      sessions: encodeSessions(snapshot.sessions),
    });
    ops.push({ type: 'put', key: manifestKey(snapshot.zxid), value: manifest });
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
  }

  private async purgeOps(throughZxid: Zxid, ops: Op[]): Promise<void> {
    const refs = (await this.manifests()).filter((ref) => ref.zxid <= throughZxid);
    if (refs.length === 0) return;
    const kept = refs.slice(0, this.retain);
    const oldestKept = kept[kept.length - 1]!.zxid;
    for (const ref of refs.slice(this.retain)) {
      const range = snapshotRange(ref.zxid);
      for (const key of await this.db.keys(range).all()) ops.push({ type: 'del', key });
    }
    // Records wholly at or below the oldest snapshot kept; one reaching over it stays.
    for (const [key, value] of await this.db.iterator({ gte: logStart, lte: logKey(oldestKept) }).all()) {
      if (decodeLogRecord(value, 'log record').lastZxid <= oldestKept) ops.push({ type: 'del', key });
    }
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
          ops.push({ type: 'put', key: epochsKey, value: encodeEpochs(action.epochs) });
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
          const now = Date.now();
          if (now - this.lastPurgeMs < this.purgeIntervalMs) break;
          this.lastPurgeMs = now;
          await flush();
          await this.background;
          await this.purgeOps(action.throughZxid, ops);
          break;
        }
        case 'reset':
          await flush();
          await this.reset(action.snapshot);
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
    await this.db.close();
  }
}
