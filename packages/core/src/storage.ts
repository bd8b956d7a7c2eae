/**
 * What a peer needs from storage, and the actions it asks its driver to carry out.
 *
 * A peer never waits on a write: its `Ready` lists `StorageAction`s in order, the driver
 * makes them durable, then reports back with a `persisted` input. The `PeerStorage`
 * interface is what drivers call to do that; every adapter (memory, LevelDB) implements it
 * and passes the one compliance suite in test/compliance.
 */
import type { DataTree } from './tree/data-tree.js';
import type { SnapshotNode, TreeSnapshot } from './tree/snapshot-node.js';

export { snapshotNodeBytes } from './tree/snapshot-node.js';

import type { SessionId, Txn } from './txn.js';
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
  | { readonly kind: 'sessionSecret'; readonly secret: Uint8Array }
  /**
   * Starts staging a snapshot at `zxid` that a leader streams (a SNAP), dropping whatever an
   * earlier, interrupted stream staged. The current state is untouched until `stageCommit`.
   */
  | { readonly kind: 'stageBegin'; readonly zxid: Zxid }
  /** Stages the next chunk of the snapshot at `zxid`: chunks come in index order 0, 1, 2... */
  | {
      readonly kind: 'stageChunk';
      readonly zxid: Zxid;
      readonly index: number;
      readonly nodes: readonly SnapshotNode[];
    }
  /**
   * Makes the staged snapshot the whole state in one atomic step (log emptied, every other
   * snapshot dropped): a crash leaves the previous state or this one, never a mix. Refused
   * unless exactly `chunks` chunks holding `nodes` nodes are staged at `zxid`.
   */
  | {
      readonly kind: 'stageCommit';
      readonly zxid: Zxid;
      readonly chunks: number;
      readonly nodes: number;
      readonly sessions: readonly (readonly [SessionId, number])[];
    }
  /** Drops every staged or half-written snapshot (what `load` reported as `incompleteSnapshots`). */
  | { readonly kind: 'stageDiscard' };

/**
 * Where a chunked read of a stored snapshot resumes: 0 is the start, anything else only what
 * the previous read of the same snapshot returned as `next`. Its meaning is the store's own.
 */
export type SnapshotCursor = number;

/** A piece of a stored snapshot, read to stream it to a learner. */
export interface SnapshotChunk {
  /** Nodes in snapshot order (parents before children). */
  readonly nodes: readonly SnapshotNode[];
  /** The snapshot's sessions with the read at cursor 0; empty for every later read. */
  readonly sessions: readonly (readonly [SessionId, number])[];
  /** Where the next read starts; undefined when this piece ends the snapshot. */
  readonly next: SnapshotCursor | undefined;
}

/** One read a peer asks its driver for; the answer comes back as a `snapshotRead` input. */
export interface StorageRead {
  readonly kind: 'snapshotChunk';
  /** Names the read: the answer carries it back. */
  readonly readId: number;
  /** The stored snapshot to read: one the peer knows is durable, and keeps from purges. */
  readonly zxid: Zxid;
  readonly cursor: SnapshotCursor;
  /**
   * About how many bytes of nodes to return (see `snapshotNodeBytes`); at least one node
   * whatever its size, so a node larger than this comes alone.
   */
  readonly bytesMax: number;
}

/** How a peer asks `load` for its state. */
export interface LoadOptions {
  /**
   * Restore the snapshot into a tree while reading it, a chunk at a time, and return the tree
   * (`PersistedState.tree`) instead of the snapshot as one array: at a million znodes that
   * array and its nodes would outlive the load, a few hundred MB of garbage in the old
   * generation. A store that cannot returns `snapshot` as it always does. Default false.
   */
  readonly restoreTree?: boolean;
}

/** Everything a peer restarts from. */
export interface PersistedState {
  readonly epochs: Epochs;
  /** The newest snapshot; undefined when there is none, or when it came restored as `tree`. */
  readonly snapshot: TreeSnapshot | undefined;
  /**
   * The newest snapshot already restored into a tree (at the snapshot's zxid), for a `load`
   * asked to `restoreTree` by a store that can; the tree belongs to the caller.
   */
  readonly tree?: DataTree | undefined;
  /** Logged transactions after the snapshot's zxid, in order. */
  readonly log: readonly Txn[];
  /** The session secret kept, if the store ever kept one. */
  readonly sessionSecret?: Uint8Array | undefined;
  /**
   * Zxids of snapshots found staged or half-written and never committed (a sync or a snapshot
   * interrupted by a crash): not part of the state; the peer discards them (`stageDiscard`).
   */
  readonly incompleteSnapshots?: readonly Zxid[] | undefined;
}

/**
 * Durable storage for one peer. Contract for every method: it resolves only once its effect
 * is durable (survives a crash of the process); calls are made one at a time, in order;
 * returned arrays and snapshots belong to the caller.
 */
export interface PeerStorage {
  /** Reads back the epochs, the newest snapshot (or the tree restored from it) and the log after it. */
  load(options?: LoadOptions): Promise<PersistedState>;
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
   * Reads part of the stored snapshot at `zxid`, from `cursor` (0 for the start), about
   * `bytesMax` bytes of nodes but at least one. Rejects when no whole snapshot at `zxid` is
   * stored. A read may run while writes are under way; it waits for a snapshot still being
   * written in the background.
   */
  readSnapshotChunk(zxid: Zxid, cursor: SnapshotCursor, bytesMax: number): Promise<SnapshotChunk>;
  /** Starts staging a snapshot at `zxid`, dropping anything staged before (see `stageBegin`). */
  stageSnapshot(zxid: Zxid): Promise<void>;
  /** Stages chunk `index` of the snapshot at `zxid`; indexes go 0, 1, 2... (see `stageChunk`). */
  stageChunk(zxid: Zxid, index: number, nodes: readonly SnapshotNode[]): Promise<void>;
  /**
   * Atomically makes the staged snapshot the only state (see `stageCommit`); rejects, changing
   * nothing, unless `chunks` chunks holding `nodes` nodes are staged at `zxid`.
   */
  commitStagedSnapshot(
    zxid: Zxid,
    chunks: number,
    nodes: number,
    sessions: readonly (readonly [SessionId, number])[],
  ): Promise<void>;
  /** Drops every staged or half-written snapshot; committed ones are untouched. */
  discardStagedSnapshots(): Promise<void>;
  /**
   * Optional: carries out a run of actions, in order, as one durable write (group commit).
   * Without it the driver calls the methods above one by one.
   */
  apply?(actions: readonly StorageAction[]): Promise<void>;
  /** Releases the store; no other method may be called afterwards. */
  close(): Promise<void>;
}
