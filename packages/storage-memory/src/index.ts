/**
 * @zabkit/storage-memory: a peer's storage kept in memory. Every write is "durable" as soon
 * as it is made, for as long as the object lives: a restarted peer that is handed the same
 * object finds its state, as it would on disk. For tests, embedding and benchmarks.
 *
 * A snapshot read out of the live tree (a SnapshotStream) is read a slice at a time, letting
 * the event loop turn between slices, while the calls after it go on (as a disk store writes
 * its snapshots in the background): reading a large tree at once held the peer as long, every
 * snapCount transactions (300,000 znodes: about 100 ms on each server of an ensemble). The log
 * still holds what the snapshot covers; a purge asked meanwhile waits for it, and a reader of
 * snapshots waits for it or (`reopen`, `close`) finishes it.
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
  SnapshotStream,
  StorageImage,
  type TreeSnapshot,
  type Txn,
  type Zxid,
} from '@zabkit/core';

/**
 * How many nodes of a snapshot stream are read in one turn of the event loop (about 0.3 ms):
 * a node read costs the same whatever its data's size, which is shared, not copied.
 */
const sliceNodes = 1024;

/** A snapshot stream being read in the background. */
interface Writing {
  readonly stream: SnapshotStream;
  /** The nodes read so far. */
  readonly nodes: SnapshotNode[];
  /** The highest purge asked while it was written, carried out once it is stored. */
  purgeThrough: Zxid | undefined;
  /** Resolves once it is stored (or dropped by a reset). */
  readonly done: Promise<void>;
  finished: () => void;
}

/** Peer storage in memory: durable for as long as the object lives. */
export class MemoryStorage implements PeerStorage {
  /** The stored state; exposed for tests that inspect what a peer wrote. */
  readonly image: StorageImage;
  private closed = false;
  /** The snapshot stream being read in the background, if any. */
  private writing: Writing | undefined;
  /**
   * Why reading a snapshot in the background failed: every call after it rejects with it, as
   * the call that made the snapshot would have, so the driver stops the peer.
   */
  private backgroundError: unknown;

  constructor(image: StorageImage = new StorageImage()) {
    this.image = image;
  }

  private check(): void {
    if (this.closed) throw new Error('MemoryStorage is closed');
    if (this.backgroundError !== undefined) throw this.backgroundError;
  }

  async load(): Promise<PersistedState> {
    this.check();
    await this.settled();
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
    if (!(snapshot instanceof SnapshotStream)) {
      this.finishWriting();
      this.image.saveSnapshot(snapshot);
      return;
    }
    // The tree begins a snapshot only once the previous stream is read (it defers it), and
    // reads that one to its end if not: finishing it here costs nothing more.
    this.finishWriting();
    let finished = () => {};
    const done = new Promise<void>((resolve) => {
      finished = resolve;
    });
    const writing: Writing = {
      stream: snapshot,
      nodes: [],
      purgeThrough: undefined,
      done,
      finished,
    };
    this.writing = writing;
    this.writeInBackground(writing);
  }

  async latestSnapshot(): Promise<TreeSnapshot | undefined> {
    this.check();
    await this.settled();
    return this.image.latestSnapshot();
  }

  async reset(snapshot: TreeSnapshot): Promise<void> {
    this.check();
    this.dropWriting();
    this.image.reset(snapshot);
  }

  async purge(throughZxid: Zxid): Promise<void> {
    this.check();
    const writing = this.writing;
    if (writing !== undefined) {
      // Keeping more than asked is always safe: the purge waits for the snapshot.
      if (writing.purgeThrough === undefined || throughZxid > writing.purgeThrough)
        writing.purgeThrough = throughZxid;
      return;
    }
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
    // A snapshot still being written is read once it is stored.
    await this.settled();
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
    this.dropWriting();
    this.image.stageCommit(zxid, chunks, nodes, sessions);
  }

  async discardStagedSnapshots(): Promise<void> {
    this.check();
    this.image.staged = undefined;
  }

  /** Reads the stream a slice per turn of the event loop until it is stored. */
  private writeInBackground(writing: Writing): void {
    const turn = () => {
      if (this.writing !== writing) return;
      let read: boolean;
      try {
        read = readFrom(writing, sliceNodes);
      } catch (error) {
        this.backgroundError = error;
        this.dropWriting();
        return;
      }
      if (read) this.completeWriting();
      else setImmediate(turn);
    };
    setImmediate(turn);
  }

  /** Reads the rest of the snapshot being written, now, and stores it. */
  private finishWriting(): void {
    const writing = this.writing;
    if (writing === undefined) return;
    readFrom(writing, Number.POSITIVE_INFINITY);
    this.completeWriting();
  }

  private completeWriting(): void {
    const writing = this.writing!;
    this.writing = undefined;
    const { stream, nodes } = writing;
    this.image.saveSnapshot({ zxid: stream.zxid, nodes, sessions: stream.sessions });
    if (writing.purgeThrough !== undefined) this.image.purge(writing.purgeThrough);
    writing.finished();
  }

  /** A reset replaces every snapshot: the one being written is given up. */
  private dropWriting(): void {
    const writing = this.writing;
    if (writing === undefined) return;
    this.writing = undefined;
    writing.stream.abandon();
    writing.finished();
  }

  /** Once no snapshot is being written. */
  private async settled(): Promise<void> {
    while (this.writing !== undefined) await this.writing.done;
  }

  /**
   * Closing only stops this handle; `reopen` gives a new handle on the same state. A snapshot
   * still being written is finished first (the peer has stopped: its tree no longer changes).
   */
  async close(): Promise<void> {
    this.finishWriting();
    this.closed = true;
  }

  /** A fresh handle on the same stored state, as reopening a directory would give. */
  reopen(): MemoryStorage {
    this.finishWriting();
    this.closed = true;
    // Staging is the work of the process that stopped: the new handle can only discard it.
    this.image.interruptStaging();
    return new MemoryStorage(this.image);
  }
}

/** Reads up to `nodesMax` more nodes of the stream; true once it is all read. */
function readFrom(writing: Writing, nodesMax: number): boolean {
  const { stream, nodes } = writing;
  for (let read = 0; read < nodesMax; read++) {
    const node = stream.peek();
    if (node === undefined) return true;
    nodes.push(node);
    stream.shift();
  }
  return stream.peek() === undefined;
}

/** A new, empty in-memory store: epochs 0, no snapshot, empty log. */
export function memoryStorage(): MemoryStorage {
  return new MemoryStorage();
}
