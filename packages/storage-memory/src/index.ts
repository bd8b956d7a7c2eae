/**
 * @zabkit/storage-memory: a peer's storage kept in memory. Every write is "durable" as soon
 * as it is made, for as long as the object lives: a restarted peer that is handed the same
 * object finds its state, as it would on disk. For tests, embedding and benchmarks.
 *
 * @packageDocumentation
 */
import {
  type Epochs,
  type PeerStorage,
  type PersistedState,
  type SessionId,
  type SnapshotChunk,
  type SnapshotCursor,
  type SnapshotNode,
  StorageImage,
  type TreeSnapshot,
  type Txn,
  type Zxid,
} from '@zabkit/core';

/** Peer storage in memory: durable for as long as the object lives. */
export class MemoryStorage implements PeerStorage {
  /** The stored state; exposed for tests that inspect what a peer wrote. */
  readonly image: StorageImage;
  private closed = false;

  constructor(image: StorageImage = new StorageImage()) {
    this.image = image;
  }

  private check(): void {
    if (this.closed) throw new Error('MemoryStorage is closed');
  }

  async load(): Promise<PersistedState> {
    this.check();
    return this.image.load();
  }

  async append(txns: readonly Txn[]): Promise<void> {
    this.check();
    this.image.append(txns);
  }

  async readLog(afterZxid: Zxid): Promise<Txn[]> {
    this.check();
    return this.image.readLog(afterZxid);
  }

  async truncate(afterZxid: Zxid): Promise<void> {
    this.check();
    this.image.truncate(afterZxid);
  }

  async saveSnapshot(snapshot: TreeSnapshot): Promise<void> {
    this.check();
    this.image.saveSnapshot(snapshot);
  }

  async latestSnapshot(): Promise<TreeSnapshot | undefined> {
    this.check();
    return this.image.latestSnapshot();
  }

  async reset(snapshot: TreeSnapshot): Promise<void> {
    this.check();
    this.image.reset(snapshot);
  }

  async purge(throughZxid: Zxid): Promise<void> {
    this.check();
    this.image.purge(throughZxid);
  }

  async readEpochs(): Promise<Epochs> {
    this.check();
    return this.image.epochs;
  }

  async writeEpochs(epochs: Epochs): Promise<void> {
    this.check();
    this.image.epochs = epochs;
  }

  async writeSessionSecret(secret: Uint8Array): Promise<void> {
    this.check();
    this.image.sessionSecret = secret.slice();
  }

  async readSnapshotChunk(zxid: Zxid, cursor: SnapshotCursor, bytesMax: number): Promise<SnapshotChunk> {
    this.check();
    return this.image.readSnapshotChunk(zxid, cursor, bytesMax);
  }

  async stageSnapshot(zxid: Zxid): Promise<void> {
    this.check();
    this.image.stageBegin(zxid);
  }

  async stageChunk(zxid: Zxid, index: number, nodes: readonly SnapshotNode[]): Promise<void> {
    this.check();
    this.image.stageChunk(zxid, index, nodes);
  }

  async commitStagedSnapshot(
    zxid: Zxid,
    chunks: number,
    nodes: number,
    sessions: readonly (readonly [SessionId, number])[],
  ): Promise<void> {
    this.check();
    this.image.stageCommit(zxid, chunks, nodes, sessions);
  }

  async discardStagedSnapshots(): Promise<void> {
    this.check();
    this.image.staged = undefined;
  }

  /** Closing only stops this handle; `reopen` gives a new handle on the same state. */
  async close(): Promise<void> {
    this.closed = true;
  }

  /** A fresh handle on the same stored state, as reopening a directory would give. */
  reopen(): MemoryStorage {
    this.closed = true;
    // Staging is the work of the process that stopped: the new handle can only discard it.
    this.image.interruptStaging();
    return new MemoryStorage(this.image);
  }
}

/** A new, empty in-memory store: epochs 0, no snapshot, empty log. */
export function memoryStorage(): MemoryStorage {
  return new MemoryStorage();
}
