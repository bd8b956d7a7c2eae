/**
 * A snapshot of the tree at one zxid, read a slice at a time while the tree goes on changing.
 *
 * Copying a million znodes at once holds the event loop for seconds. Instead the stream walks
 * the tree's path map in its insertion order, which puts every parent before its children
 * (a child is inserted while its parent exists, and a parent cannot be deleted, to be
 * inserted again later, while it has children). The tree tells the stream before it changes a
 * node (copy-on-write): a node that existed at the snapshot's zxid and that the walk has not
 * reached yet is copied then, as it still is, after its ancestors not yet reached. Every node
 * copied or walked is marked with the walk's number, so none is written twice; nodes created
 * after the snapshot's zxid are passed over by their czxid. What comes out is exactly the tree
 * at the zxid, parents before children, in an order that depends on when the slices are read
 * (deterministic when they are read deterministically, as in the simulator).
 */
import { assert } from '../errors.js';
import { parentOf, rootPath } from '../path.js';
import type { SessionId } from '../txn.js';
import type { Zxid } from '../zxid.js';
import { ephemeralOwnerOf } from './lifetime.js';
import { type SnapshotNode, snapshotNodeBytes, type TreeSnapshot } from './snapshot-node.js';
import type { Znode } from './znode.js';

/** A node as a snapshot stores it, from the node as it is now. */
export function snapshotNodeOf(path: string, node: Znode): SnapshotNode {
  return {
    path,
    data: node.data,
    acl: node.acl,
    czxid: node.czxid,
    mzxid: node.mzxid,
    pzxid: node.pzxid,
    ctime: node.ctime,
    mtime: node.mtime,
    version: node.version,
    cversion: node.cversion,
    aversion: node.aversion,
    ephemeralOwner: ephemeralOwnerOf(node.lifetime),
  };
}

/**
 * A snapshot taken in slices: `take` hands out the next nodes (a storage adapter writes one
 * chunk per turn of its event loop); `nodes` reads the rest whole, for stores that keep the
 * snapshot as one array. One or the other: a stream read in slices cannot then be read whole.
 */
export class SnapshotStream implements TreeSnapshot {
  /** Nodes copied or walked and not yet handed out, from `head` on. */
  private pending: (SnapshotNode | undefined)[] = [];
  private head = 0;
  /** The walk over the live path map; undefined once it has reached the end. */
  private entries: Iterator<[string, Znode]> | undefined;
  private sliced = false;
  private abandoned = false;
  private whole: SnapshotNode[] | undefined;
  /** Nodes handed out or pending so far: never more than the tree held at the zxid. */
  private emitted = 0;

  /**
   * @param zxid - the zxid the snapshot is at: the tree's last applied one when it started.
   * @param sessions - the global sessions at that zxid, copied.
   * @param liveNodes - the tree's path map, walked as it changes.
   * @param mark - this walk's number, distinct from every earlier walk's on the same nodes.
   * @param finished - told once when the walk has reached the end and no longer needs copies.
   */
  constructor(
    readonly zxid: Zxid,
    readonly sessions: readonly (readonly [SessionId, number])[],
    private readonly liveNodes: ReadonlyMap<string, Znode>,
    private readonly mark: number,
    private readonly finished: () => void,
  ) {
    this.entries = liveNodes.entries();
  }

  /** True while the walk still reads the live tree (and the tree must call `beforeChange`). */
  get walking(): boolean {
    return this.entries !== undefined;
  }

  /** Nodes found so far (handed out or waiting). */
  get nodesFound(): number {
    return this.emitted;
  }

  /** Every node of the snapshot, read now to the end (only for a stream not read in slices). */
  get nodes(): readonly SnapshotNode[] {
    if (this.whole === undefined) {
      assert(!this.sliced, 'a snapshot stream read in slices is not read whole');
      assert(!this.abandoned, 'an abandoned snapshot stream is not read');
      this.drain();
      this.whole = this.pending.slice(this.head) as SnapshotNode[];
      this.pending = [];
      this.head = 0;
    }
    return this.whole;
  }

  /**
   * The next nodes: at most `nodesMax`, and no more than about `bytesMax` bytes of them (as
   * `snapshotNodeBytes` counts; at least one node). Undefined once the snapshot is all out.
   */
  take(nodesMax: number, bytesMax: number): SnapshotNode[] | undefined {
    assert(this.whole === undefined, 'a snapshot stream read whole is not read in slices');
    assert(nodesMax >= 1, 'a slice holds at least one node');
    assert(!this.abandoned, 'an abandoned snapshot stream is not read');
    this.sliced = true;
    const slice: SnapshotNode[] = [];
    let bytes = 0;
    while (slice.length < nodesMax) {
      if (this.head === this.pending.length) {
        this.pending = [];
        this.head = 0;
        if (!this.advance()) break;
        continue;
      }
      const node = this.pending[this.head]!;
      const size = snapshotNodeBytes(node);
      if (slice.length > 0 && bytes + size > bytesMax) break;
      bytes += size;
      slice.push(node);
      // Let the slice's nodes die young: the pending array may live on for a while.
      this.pending[this.head++] = undefined;
    }
    return slice.length === 0 ? undefined : slice;
  }

  /**
   * Gives the snapshot up (its store failed): the tree stops keeping copies for it at once,
   * and it can no longer be read.
   */
  abandon(): void {
    this.abandoned = true;
    this.pending = [];
    this.head = 0;
    if (this.entries === undefined) return;
    this.entries = undefined;
    this.finished();
  }

  /** Walks to the end now: what the tree holds at the zxid is all copied out of it. */
  drain(): void {
    while (this.advance()) {
      // each turn adds one node to pending
    }
  }

  /**
   * The tree is about to change `node` at `path`: if the snapshot still needs it as it is,
   * it is copied now, after its ancestors that the walk has not reached yet.
   */
  beforeChange(path: string, node: Znode): void {
    if (this.entries === undefined || node.snapshotMark === this.mark || node.czxid > this.zxid) return;
    let ancestors: [string, Znode][] | undefined;
    for (let at = path; at !== rootPath; ) {
      at = parentOf(at);
      const parent = this.liveNodes.get(at);
      assert(parent !== undefined, () => `${path} has no parent in the tree`);
      if (parent.snapshotMark === this.mark) break;
      (ancestors ??= []).push([at, parent]);
    }
    if (ancestors !== undefined)
      for (let i = ancestors.length - 1; i >= 0; i--) this.emit(ancestors[i]![0], ancestors[i]![1]);
    this.emit(path, node);
  }

  /** One step of the walk: false once it has reached the end. */
  private advance(): boolean {
    const entries = this.entries;
    if (entries === undefined) return false;
    for (;;) {
      const next = entries.next();
      if (next.done === true) {
        this.entries = undefined;
        this.finished();
        return false;
      }
      const [path, node] = next.value;
      if (node.snapshotMark === this.mark || node.czxid > this.zxid) continue;
      this.emit(path, node);
      return true;
    }
  }

  private emit(path: string, node: Znode): void {
    node.snapshotMark = this.mark;
    this.pending.push(snapshotNodeOf(path, node));
    this.emitted++;
  }
}
