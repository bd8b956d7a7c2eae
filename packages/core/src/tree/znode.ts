/**
 * A znode as the data tree stores it. Mutable on purpose: the tree is the one owner and the
 * hot path of every write; readers get copies of Stat, never the node itself.
 */
import type { ACL } from '../acl.js';
import type { ZnodeData } from '../requests.js';
import type { Stat } from '../stat.js';
import type { Zxid } from '../zxid.js';
import type { NodeLifetime } from './lifetime.js';

/** What a leaf's `children` is: no Set is kept for a node that never had a child. */
const noChildren: ReadonlySet<string> = new Set<string>();

/**
 * A znode as the tree stores it. Most znodes are leaves, so the Set of child names exists
 * only while a node has children: an empty Set costs about 150 bytes, a quarter of a small
 * znode.
 */
export class Znode {
  /** Null when created or set with null data, as ZooKeeper keeps it. */
  data: ZnodeData;
  acl: readonly ACL[];
  czxid: Zxid;
  mzxid: Zxid;
  pzxid: Zxid;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  /** Persistent, ephemeral (and whose), container or TTL: ZooKeeper's ephemeralOwner, unpacked. */
  readonly lifetime: NodeLifetime;
  /** Child names, or undefined while there are none. */
  private childNames: Set<string> | undefined = undefined;
  /**
   * The number of the last snapshot walk that copied this node (see SnapshotStream): a walk
   * copies each node once, before its first change or when it reaches it, whichever is first.
   */
  snapshotMark = 0;

  constructor(data: ZnodeData, acl: readonly ACL[], zxid: Zxid, timeMs: number, lifetime: NodeLifetime) {
    this.data = data;
    this.acl = acl;
    this.czxid = zxid;
    this.mzxid = zxid;
    this.pzxid = zxid;
    this.ctime = timeMs;
    this.mtime = timeMs;
    this.version = 0;
    this.cversion = 0;
    this.aversion = 0;
    this.lifetime = lifetime;
  }

  /**
   * The Stat as clients see it, which is not quite what is stored (ZooKeeper's copyStat):
   * the stored cversion counts child creations, clients see creations plus deletions
   * (2 x creations - children); container and TTL markers show as owner 0.
   */
  stat(): Stat {
    return {
      czxid: this.czxid,
      mzxid: this.mzxid,
      ctime: this.ctime,
      mtime: this.mtime,
      version: this.version,
      cversion: (this.cversion * 2 - this.children.size) | 0,
      aversion: this.aversion,
      ephemeralOwner: this.lifetime.kind === 'ephemeral' ? this.lifetime.sessionId : 0n,
      dataLength: this.data === null ? 0 : this.data.length,
      numChildren: this.children.size,
      pzxid: this.pzxid,
    };
  }

  /** The names of the node's children (a shared empty set for a leaf: read it, never keep it). */
  get children(): ReadonlySet<string> {
    return this.childNames ?? noChildren;
  }

  /** Adds a child's name. */
  addChild(name: string): void {
    if (this.childNames === undefined) this.childNames = new Set();
    this.childNames.add(name);
  }

  /** Removes a child's name; the Set goes with the last one. */
  removeChild(name: string): void {
    const names = this.childNames;
    if (names === undefined) return;
    names.delete(name);
    if (names.size === 0) this.childNames = undefined;
  }

  /** Children in ZooKeeper-independent but deterministic order: sorted by code unit. */
  sortedChildren(): string[] {
    return this.childNames === undefined ? [] : [...this.childNames].sort();
  }
}
