/**
 * Nodes a leader's preparer found for the writes it prepared, kept for the apply of each, so
 * that the apply does not look the same path up again name by name. In a parent of many
 * children that lookup is a walk through a large hash table, out of cache, and the leader
 * made it once already.
 *
 * A remembered node is used only while it is surely the one the lookup would find: the tree
 * forgets everything remembered whenever a node leaves it (a delete, a snapshot load, a
 * restore), and while no node leaves, a path that names a node keeps naming it: nothing
 * puts a node at a name that already has one. A write whose zxid or path is not the one
 * remembered next falls back to the lookup, so what is remembered changes what a write
 * costs, never what it does.
 */
import type { Zxid } from '../zxid.js';
import type { Znode } from './znode.js';

/**
 * The most writes remembered: the transactions a leader has prepared and not yet applied,
 * as many as its clients keep in flight. Beyond it nothing more is remembered until the
 * applies catch up (a leader whose proposals do not commit keeps nothing without bound).
 * A power of two: the entries are a ring.
 */
const rememberedMax = 4096;

export class FoundNodes {
  // A ring of parallel arrays, made on the first write remembered (a follower's tree never
  // remembers one) and kept: arrays grown and dropped with each batch of writes were
  // garbage per write.
  private zxids: Zxid[] = [];
  private paths: string[] = [];
  private nodes: (Znode | undefined)[] = [];
  /** The oldest entry's slot, and how many there are from it. */
  private start = 0;
  private count = 0;

  /** How many writes are remembered. */
  get size(): number {
    return this.count;
  }

  /**
   * Remembers that the write prepared as `zxid` found `node` at `path`. Writes are
   * remembered in zxid order (a multi's parts under one zxid, in the order of its parts).
   */
  remember(zxid: Zxid, path: string, node: Znode): void {
    if (this.count === rememberedMax) return;
    if (this.count > 0 && this.zxids[(this.start + this.count - 1) & (rememberedMax - 1)]! > zxid) {
      // Out of order: a preparer that started again below what is remembered (a new
      // leadership). What was kept is for transactions that will not apply as prepared.
      this.clear();
    }
    if (this.nodes.length === 0) {
      this.zxids = new Array<Zxid>(rememberedMax).fill(0n as Zxid);
      this.paths = new Array<string>(rememberedMax).fill('');
      this.nodes = new Array<Znode | undefined>(rememberedMax).fill(undefined);
    }
    const slot = (this.start + this.count) & (rememberedMax - 1);
    this.zxids[slot] = zxid;
    this.paths[slot] = path;
    this.nodes[slot] = node;
    this.count++;
  }

  /**
   * The node remembered for the write `zxid` makes at `path`, or undefined. What is
   * remembered for earlier zxids is dropped: those transactions were applied (or will never
   * be) without it.
   */
  take(zxid: Zxid, path: string): Znode | undefined {
    while (this.count > 0) {
      const slot = this.start;
      const remembered = this.zxids[slot]!;
      if (remembered > zxid) return undefined;
      const node = remembered === zxid && this.paths[slot] === path ? this.nodes[slot] : undefined;
      // Taken or passed: either way its transaction needs it no more.
      if (remembered < zxid || node !== undefined) this.drop();
      else return undefined;
      if (node !== undefined) return node;
    }
    return undefined;
  }

  /** Forgets everything remembered (a new tree, a node that left it, a preparer that starts again). */
  clear(): void {
    while (this.count > 0) this.drop();
    this.start = 0;
  }

  /** Drops the oldest entry; the node goes at once, not when its slot is next written. */
  private drop(): void {
    this.nodes[this.start] = undefined;
    this.start = (this.start + 1) & (rememberedMax - 1);
    this.count--;
  }
}
