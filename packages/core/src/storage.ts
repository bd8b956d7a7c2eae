/**
 * What a peer needs from storage, and the actions it asks its driver to carry out.
 *
 * A peer never waits on a write: its `Ready` lists `StorageAction`s in order, the driver
 * makes them durable, then reports back with a `persisted` input. The `PeerStorage`
 * interface is what drivers call to do that; every adapter (memory, LevelDB) implements it
 * and passes the one compliance suite in test/compliance.
 */
import type { TreeSnapshot } from './tree/data-tree.js';
import type { Txn } from './txn.js';
import type { Zxid } from './zxid.js';

/** The two epochs ZAB keeps durable: the one promised, and the one acknowledged. */
export interface Epochs {
  /** The last epoch this peer promised to follow (LEADERINFO); never goes down. */
  readonly acceptedEpoch: number;
  /** The last epoch whose NEWLEADER this peer acknowledged; never above acceptedEpoch. */
  readonly currentEpoch: number;
}

/** One step of storage work, as a peer asks its driver to carry it out. */
export type StorageAction =
  /** Append transactions after the last logged one. */
  | { readonly kind: 'append'; readonly txns: readonly Txn[] }
  /** Drop every logged transaction after `afterZxid` (a TRUNC from the leader). */
  | { readonly kind: 'truncate'; readonly afterZxid: Zxid }
  /** Save a snapshot; the log is kept. */
  | { readonly kind: 'snapshot'; readonly snapshot: TreeSnapshot }
  /** Replace everything with a snapshot (a SNAP from the leader): log emptied, snapshot saved. */
  | { readonly kind: 'reset'; readonly snapshot: TreeSnapshot }
  /** Drop log entries at or below `throughZxid` and snapshots older than the newest one covering it. */
  | { readonly kind: 'purge'; readonly throughZxid: Zxid }
  /** Make the new epochs durable. */
  | { readonly kind: 'epochs'; readonly epochs: Epochs }
  /**
   * Make the ensemble's session secret durable, replacing the previous one: a peer keeps the
   * first it had, or the one its leader sent.
   */
  | { readonly kind: 'sessionSecret'; readonly secret: Uint8Array };

/** Everything a peer restarts from. */
export interface PersistedState {
  readonly epochs: Epochs;
  readonly snapshot: TreeSnapshot | undefined;
  /** Logged transactions after the snapshot's zxid, in order. */
  readonly log: readonly Txn[];
  /** The session secret kept, if the store ever kept one. */
  readonly sessionSecret?: Uint8Array | undefined;
}

/**
 * Durable storage for one peer. Contract for every method: it resolves only once its effect
 * is durable (survives a crash of the process); calls are made one at a time, in order;
 * returned arrays and snapshots belong to the caller.
 */
export interface PeerStorage {
  /** Reads back the epochs, the newest snapshot and the log after it. */
  load(): Promise<PersistedState>;
  /** Appends transactions; zxids must increase. */
  append(txns: readonly Txn[]): Promise<void>;
  /** Logged transactions with zxid > `afterZxid`, in order. */
  readLog(afterZxid: Zxid): Promise<Txn[]>;
  /** Drops every transaction with zxid > `afterZxid`. */
  truncate(afterZxid: Zxid): Promise<void>;
  /** Saves a snapshot alongside the older ones; the log is kept. */
  saveSnapshot(snapshot: TreeSnapshot): Promise<void>;
  /** The snapshot with the highest zxid, if any. */
  latestSnapshot(): Promise<TreeSnapshot | undefined>;
  /** Empties the log and makes `snapshot` the only state. */
  reset(snapshot: TreeSnapshot): Promise<void>;
  /**
   * Drops log entries at or below `throughZxid` and snapshots older than the newest one at
   * or below it. A store may keep more (ZooKeeper's snapRetainCount keeps several snapshots
   * and the log after the oldest), never less than `load` needs.
   */
  purge(throughZxid: Zxid): Promise<void>;
  /** The durable epochs; both 0 for storage that was never written. */
  readEpochs(): Promise<Epochs>;
  /** Makes both epochs durable, replacing the previous pair (ZooKeeper's two epoch files). */
  writeEpochs(epochs: Epochs): Promise<void>;
  /** Makes the session secret durable, replacing the previous one; `load` returns it. */
  writeSessionSecret(secret: Uint8Array): Promise<void>;
  /**
   * Optional: carries out a run of actions, in order, as one durable write (group commit).
   * Without it the driver calls the methods above one by one.
   */
  apply?(actions: readonly StorageAction[]): Promise<void>;
  /** Releases the store; no other method may be called afterwards. */
  close(): Promise<void>;
}
