/**
 * An in-memory image of what a peer's storage holds, changed only by StorageActions. The
 * memory storage adapter is this image behind the async PeerStorage interface, and tests
 * and the simulator use it directly to model a disk that loses what was not yet durable.
 */
import { assert } from './errors.js';
import type { Epochs, PersistedState, StorageAction } from './storage.js';
import type { TreeSnapshot } from './tree/data-tree.js';
import type { Txn } from './txn.js';
import type { Zxid } from './zxid.js';

/** An in-memory image of what storage holds, changed only by StorageActions. */
export class StorageImage {
  epochs: Epochs = { acceptedEpoch: 0, currentEpoch: 0 };
  /** Snapshots, oldest first. */
  snapshots: TreeSnapshot[] = [];
  log: Txn[] = [];
  /** The session secret kept, if any. */
  sessionSecret: Uint8Array | undefined;

  /** A deep enough copy: transactions and snapshots are immutable and can be shared. */
  clone(): StorageImage {
    const copy = new StorageImage();
    copy.epochs = this.epochs;
    copy.snapshots = [...this.snapshots];
    copy.log = [...this.log];
    copy.sessionSecret = this.sessionSecret;
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
    }
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
    this.snapshots.push(snapshot);
    this.snapshots.sort((a, b) => (a.zxid < b.zxid ? -1 : a.zxid > b.zxid ? 1 : 0));
  }

  /** Empties the log and makes `snapshot` the only snapshot (a SNAP from the leader). */
  reset(snapshot: TreeSnapshot): void {
    this.log = [];
    this.snapshots = [snapshot];
  }

  /** Drops log entries at or below `throughZxid` and snapshots older than the newest one at or below it. */
  purge(throughZxid: Zxid): void {
    this.log = this.log.filter((txn) => txn.zxid > throughZxid);
    const keepFrom = this.snapshots.findLastIndex((snapshot) => snapshot.zxid <= throughZxid);
    if (keepFrom > 0) this.snapshots = this.snapshots.slice(keepFrom);
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
    return { epochs: this.epochs, snapshot, log: this.readLog(base), sessionSecret: this.sessionSecret };
  }
}
