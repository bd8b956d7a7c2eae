/**
 * A snapshot of the tree at one zxid, read a slice at a time while the tree goes on changing.
 *
 * Copying a million znodes at once holds the event loop for seconds. Instead the stream walks
 * the live tree depth first, each node's children in the order they were added, which puts
 * every parent before its children. The tree tells the stream before it changes a node
 * (copy-on-write): a node that existed at the snapshot's zxid and that the walk has not
 * reached yet is copied then, as it still is, after its ancestors not yet reached. Every node
 * copied or walked is marked with the walk's number, so none is written twice, and the walk
 * still goes down through a node copied early. A node created after the snapshot's zxid is
 * passed over by its czxid, with everything under it (created later still); one deleted
 * before the walk reached it was copied first, and so were its children, which went before it.
 * A Map's iterator goes on past deletions and sees what is added after it started (passed over
 * by czxid), so the walk may hold iterators of the child Maps it is in while the tree changes.
 * What comes out is exactly the tree at the zxid, parents before children, in an order that
 * depends on when the slices are read (deterministic when they are read deterministically, as
 * in the simulator).
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
 * A snapshot taken in slices: `take` hands out the next nodes, `peek` and `shift` one at a
 * time (a storage adapter encodes a few hundred per turn of its event loop); `nodes` reads
 * the rest whole, for stores that keep the snapshot as one array. One or the other: a stream
 * read in slices cannot then be read whole.
 */
export class SnapshotStream implements TreeSnapshot {
  /** Nodes copied or walked and not yet handed out, from `head` on. */
  private pending: (SnapshotNode | undefined)[] = [];
  private head = 0;
  /**
   * The walk over the live tree: the path of each node it is in and the iterator over that
   * node's children, deepest last; undefined once it has reached the end.
   */
  private stack: { readonly path: string; readonly children: Iterator<[string, Znode]> }[] | undefined = [];
  /** The root, until the walk has started from it. */
  private root: Znode | undefined;
  private sliced = false;
  private abandoned = false;
  private whole: SnapshotNode[] | undefined;
  /** Nodes handed out or pending so far: never more than the tree held at the zxid. */
  private emitted = 0;

  /**
   * @param zxid - the zxid the snapshot is at: the tree's last applied one when it started.
   * @param sessions - the global sessions at that zxid, copied.
   * @param root - the live tree's root, walked as the tree changes.
   * @param nodeAt - the live node at a path (for the ancestors of a node copied early).
   * @param mark - this walk's number, distinct from every earlier walk's on the same nodes.
   * @param finished - told once when the walk has reached the end and no longer needs copies.
   */
  constructor(
    readonly zxid: Zxid,
    readonly sessions: readonly (readonly [SessionId, number])[],
    root: Znode,
    private readonly nodeAt: (path: string) => Znode | undefined,
    private readonly mark: number,
    private readonly finished: () => void,
  ) {
    this.root = root;
  }

  /** True while the walk still reads the live tree (and the tree must call `beforeChange`). */
  get walking(): boolean {
    return this.stack !== undefined;
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
    assert(nodesMax >= 1, 'a slice holds at least one node');
    const slice: SnapshotNode[] = [];
    let bytes = 0;
    while (slice.length < nodesMax) {
      const node = this.peek();
      if (node === undefined) break;
      const size = snapshotNodeBytes(node);
      if (slice.length > 0 && bytes + size > bytesMax) break;
      bytes += size;
      slice.push(node);
      this.shift();
    }
    return slice.length === 0 ? undefined : slice;
  }

  /**
   * The next node, without handing it out (`shift` does): walks the tree as far as the next
   * node and no further, so a reader can encode a node at a time and let the event loop turn
   * between any two. Undefined once the snapshot is all out.
   */
  peek(): SnapshotNode | undefined {
    assert(this.whole === undefined, 'a snapshot stream read whole is not read in slices');
    assert(!this.abandoned, 'an abandoned snapshot stream is not read');
    this.sliced = true;
    while (this.head === this.pending.length) {
      this.pending = [];
      this.head = 0;
      if (!this.advance()) return undefined;
    }
    return this.pending[this.head];
  }

  /** Hands out the node `peek` returned. */
  shift(): void {
    assert(this.head < this.pending.length, 'shift follows a peek that found a node');
    // Let the node die young once its reader is done with it: the pending array may live on.
    this.pending[this.head++] = undefined;
  }

  /**
   * Gives the snapshot up (its store failed): the tree stops keeping copies for it at once,
   * and it can no longer be read.
   */
  abandon(): void {
    this.abandoned = true;
    this.pending = [];
    this.head = 0;
    if (this.stack === undefined) return;
    this.stack = undefined;
    this.root = undefined;
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
    if (this.stack === undefined || node.snapshotMark === this.mark || node.czxid > this.zxid) return;
    let ancestors: [string, Znode][] | undefined;
    for (let at = path; at !== rootPath; ) {
      at = parentOf(at);
      const parent = this.nodeAt(at);
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
    const stack = this.stack;
    if (stack === undefined) return false;
    const root = this.root;
    if (root !== undefined) {
      this.root = undefined;
      this.descend(stack, rootPath, root);
      if (root.snapshotMark !== this.mark) {
        this.emit(rootPath, root);
        return true;
      }
    }
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) {
        this.stack = undefined;
        this.finished();
        return false;
      }
      const next = top.children.next();
      if (next.done === true) {
        stack.pop();
        continue;
      }
      const [name, node] = next.value;
      if (node.czxid > this.zxid) continue;
      const path = top.path === rootPath ? `/${name}` : `${top.path}/${name}`;
      this.descend(stack, path, node);
      if (node.snapshotMark === this.mark) continue;
      this.emit(path, node);
      return true;
    }
  }

  /** Makes the walk go through the children of `node` next. */
  private descend(stack: NonNullable<typeof this.stack>, path: string, node: Znode): void {
    const children = node.childEntries();
    if (children !== undefined) stack.push({ path, children });
  }

  private emit(path: string, node: Znode): void {
    node.snapshotMark = this.mark;
    this.pending.push(snapshotNodeOf(path, node));
    this.emitted++;
  }
}
