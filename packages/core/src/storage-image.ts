/**
 * An in-memory image of what a peer's storage holds, changed only by StorageActions. The
 * memory storage adapter is this image behind the async PeerStorage interface, and tests
 * and the simulator use it directly to model a disk that loses what was not yet durable.
 */
import { assert } from './errors.js';
import {
  type Epochs,
  type PersistedState,
  type SnapshotChunk,
  type SnapshotCursor,
  type StorageAction,
  snapshotNodeBytes,
} from './storage.js';
import type { SnapshotNode, TreeSnapshot } from './tree/data-tree.js';
import type { SessionId, Txn } from './txn.js';
import type { Zxid } from './zxid.js';

/** A snapshot being staged from a leader's stream: its chunks so far, in order. */
export interface StagedSnapshot {
  readonly zxid: Zxid;
  /** Grows as chunks are staged; `clone` copies it. */
  readonly chunks: (readonly SnapshotNode[])[];
  /** Set by a restart: the process staging it is gone, so it can only be discarded. */
  interrupted: boolean;
}

/** An in-memory image of what storage holds, changed only by StorageActions. */
export class StorageImage {
  epochs: Epochs = { acceptedEpoch: 0, currentEpoch: 0 };
  /** Snapshots, oldest first. */
  snapshots: TreeSnapshot[] = [];
  log: Txn[] = [];
  /** The session secret kept, if any. */
  sessionSecret: Uint8Array | undefined;
  /** A snapshot staged and not yet committed: never part of the state `load` returns. */
  staged: StagedSnapshot | undefined;

  /** A deep enough copy: transactions and snapshots are immutable and can be shared. */
  clone(): StorageImage {
    const copy = new StorageImage();
    copy.epochs = this.epochs;
    copy.snapshots = [...this.snapshots];
    copy.log = [...this.log];
    copy.sessionSecret = this.sessionSecret;
    copy.staged = this.staged === undefined ? undefined : { ...this.staged, chunks: [...this.staged.chunks] };
    return copy;
  }

  /** Carries out one action, as a driver's `PeerStorage` would once it is durable. */
  apply(action: StorageAction): void {
    switch (action.kind) {
      case 'append':
        this.append(action.txns);
        return;
      case 'truncate':
        this.truncate(action.afterZxid);
        return;
      case 'snapshot':
        this.saveSnapshot(action.snapshot);
        return;
      case 'reset':
        this.reset(action.snapshot);
        return;
      case 'purge':
        this.purge(action.throughZxid);
        return;
      case 'epochs':
        this.epochs = action.epochs;
        return;
      case 'sessionSecret':
        this.sessionSecret = action.secret;
        return;
      case 'stageBegin':
        this.stageBegin(action.zxid);
        return;
      case 'stageChunk':
        this.stageChunk(action.zxid, action.index, action.nodes);
        return;
      case 'stageCommit':
        this.stageCommit(action.zxid, action.chunks, action.nodes, action.sessions);
        return;
      case 'stageDiscard':
        this.staged = undefined;
        return;
    }
  }

  /** Starts staging a snapshot at `zxid`, dropping anything staged before. */
  stageBegin(zxid: Zxid): void {
    if (this.snapshots.some((snapshot) => snapshot.zxid === zxid))
      throw new RangeError(`a snapshot at ${zxid} is stored already: staging one would replace it`);
    this.staged = { zxid, chunks: [], interrupted: false };
  }

  /**
   * The process that was staging stopped (a crash, a reopen): what it staged stays, reported
   * by `load` as incomplete, and can no longer be added to or committed.
   */
  interruptStaging(): void {
    if (this.staged !== undefined) this.staged.interrupted = true;
  }

  /** Stages the next chunk; refused unless a snapshot at `zxid` is being staged and `index` is next. */
  stageChunk(zxid: Zxid, index: number, nodes: readonly SnapshotNode[]): void {
    const staged = this.staged;
    if (staged === undefined || staged.zxid !== zxid || staged.interrupted)
      throw new RangeError(`no snapshot at ${zxid} is being staged`);
    if (index !== staged.chunks.length)
      throw new RangeError(`staged chunk ${index} out of order: chunk ${staged.chunks.length} is next`);
    staged.chunks.push(nodes);
  }

  /** Makes the staged snapshot the only state, checking it is whole; refused (nothing changed) if not. */
  stageCommit(
    zxid: Zxid,
    chunks: number,
    nodes: number,
    sessions: readonly (readonly [SessionId, number])[],
  ): void {
    const staged = this.staged;
    if (staged === undefined || staged.zxid !== zxid || staged.interrupted)
      throw new RangeError(`no snapshot at ${zxid} is being staged`);
    const held = staged.chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    if (staged.chunks.length !== chunks || held !== nodes)
      throw new RangeError(
        `the staged snapshot at ${zxid} has ${staged.chunks.length} chunks of ${held} nodes, not ${chunks} of ${nodes}`,
      );
    this.reset({ zxid, nodes: staged.chunks.flat(), sessions });
    this.staged = undefined;
  }

  /** Part of the stored snapshot at `zxid`: from node index `cursor`, about `bytesMax` bytes of nodes. */
  readSnapshotChunk(zxid: Zxid, cursor: SnapshotCursor, bytesMax: number): SnapshotChunk {
    const snapshot = this.snapshots.find((candidate) => candidate.zxid === zxid);
    if (snapshot === undefined) throw new RangeError(`no snapshot at ${zxid} is stored`);
    if (!Number.isSafeInteger(cursor) || cursor < 0 || cursor > snapshot.nodes.length)
      throw new RangeError(`cursor ${cursor} is not in the snapshot at ${zxid}`);
    let end = cursor;
    let bytes = 0;
    while (end < snapshot.nodes.length) {
      const size = snapshotNodeBytes(snapshot.nodes[end]!);
      if (end > cursor && bytes + size > bytesMax) break;
      bytes += size;
      end++;
    }
    return {
      nodes: snapshot.nodes.slice(cursor, end),
      sessions: cursor === 0 ? snapshot.sessions : [],
      next: end < snapshot.nodes.length ? end : undefined,
    };
  }

  /** Appends transactions after the last logged one; zxids must increase (asserted). */
  append(txns: readonly Txn[]): void {
    for (const txn of txns) {
      const last = this.log[this.log.length - 1];
      assert(last === undefined || txn.zxid > last.zxid, () => `append out of order: ${txn.zxid}`);
      this.log.push(txn);
    }
  }

  /** Drops every logged transaction with zxid > `afterZxid`. */
  truncate(afterZxid: Zxid): void {
    this.log = this.log.filter((txn) => txn.zxid <= afterZxid);
  }

  /** Adds a snapshot, keeping the list ordered by zxid; the log is kept. */
  saveSnapshot(snapshot: TreeSnapshot): void {
    this.snapshots.push(wholeSnapshot(snapshot));
    this.snapshots.sort((a, b) => (a.zxid < b.zxid ? -1 : a.zxid > b.zxid ? 1 : 0));
  }

  /** Empties the log and makes `snapshot` the only snapshot (a SNAP from the leader). */
  reset(snapshot: TreeSnapshot): void {
    this.log = [];
    this.snapshots = [wholeSnapshot(snapshot)];
  }

  /** Drops log entries at or below `throughZxid` and snapshots older than the newest one at or below it. */
  purge(throughZxid: Zxid): void {
    // The log is in zxid order (append asserts it), so what goes is a prefix: found by
    // halving and cut in one copy. A filter called a closure and compared two BigInts per
    // entry, on every purge (one follows each snapshot) over up to two snapshots' worth.
    const log = this.log;
    let keepFrom = 0;
    for (let end = log.length; keepFrom < end; ) {
      const middle = (keepFrom + end) >>> 1;
      if (log[middle]!.zxid <= throughZxid) keepFrom = middle + 1;
      else end = middle;
    }
    if (keepFrom > 0) this.log = log.slice(keepFrom);
    const snapshotsFrom = this.snapshots.findLastIndex((snapshot) => snapshot.zxid <= throughZxid);
    if (snapshotsFrom > 0) this.snapshots = this.snapshots.slice(snapshotsFrom);
  }

  /** The snapshot with the highest zxid, if any. */
  latestSnapshot(): TreeSnapshot | undefined {
    return this.snapshots[this.snapshots.length - 1];
  }

  /** Logged transactions with zxid > `afterZxid`, in order. */
  readLog(afterZxid: Zxid): Txn[] {
    return this.log.filter((txn) => txn.zxid > afterZxid);
  }

  /** What a restarting peer finds: the epochs, the newest snapshot and the log after it. */
  load(): PersistedState {
    const snapshot = this.latestSnapshot();
    const base = snapshot?.zxid ?? (0n as Zxid);
    return {
      epochs: this.epochs,
      snapshot,
      log: this.readLog(base),
      sessionSecret: this.sessionSecret,
      incompleteSnapshots: this.staged === undefined ? [] : [this.staged.zxid],
    };
  }
}

/**
 * The snapshot as plain data: one the tree streams (`DataTree.beginSnapshot`) is read to its
 * end now, so that what is kept no longer depends on the live tree.
 */
function wholeSnapshot(snapshot: TreeSnapshot): TreeSnapshot {
  return { zxid: snapshot.zxid, nodes: snapshot.nodes, sessions: snapshot.sessions };
}
