/**
 * A znode as the data tree stores it. Mutable on purpose: the tree is the one owner and the
 * hot path of every write; readers get copies of Stat, never the node itself.
 */
import type { ACL } from '../acl.js';
import type { ZnodeData } from '../requests.js';
import type { Stat } from '../stat.js';
import type { Zxid } from '../zxid.js';
import type { NodeLifetime } from './lifetime.js';

const twoTo32 = 0x1_0000_0000;
/** `ctimeHigh` for a ctime that is not a safe integer (a safe one's is within +-2^21). */
const oddTime = 0x7fff_ffff;
/** Ctimes that are not safe integers, which no clock gives: exact, off the nodes' own fields. */
const oddCtimes = new WeakMap<Znode, number>();

/** What a leaf lists as its children's names: no Map is kept for a node without children. */
const noNames: readonly string[] = [];

/**
 * A znode as the tree stores it, kept small: a million of them is what a large tree holds.
 * A node holds its children by name, and that is the whole tree: there is no table of every
 * path (one Map of a million paths costs a cache miss or two per lookup and per insert, where a
 * thousand of a thousand stay in cache, and keeps every full path as a string). Most znodes
 * are leaves, so the Map exists only while a node has children (an empty one costs about 150
 * bytes). Data loaded from a snapshot stays in the buffer its chunk
 * was read into, as an offset and a length, with no view object of its own (96 bytes each):
 * a view is made when the data is read. The mtime is kept only once it differs from the
 * ctime (a number field holds a 16-byte box of its own), and the ctime is kept in two halves
 * that are each a small integer, stored in the object itself: no box at all.
 */
export class Znode {
  /** The data as set, or the buffer a snapshot's chunk was read into; null for null data. */
  private dataStore: Uint8Array | ArrayBuffer | null;
  /** Where the data starts in `dataStore` when that is a buffer. */
  private dataOffset: number;
  private dataBytes: number;
  acl: readonly ACL[];
  czxid: Zxid;
  mzxid: Zxid;
  pzxid: Zxid;
  /** The ctime's whole multiples of 2^32 (`oddTime` when it is not a safe integer). */
  private ctimeHigh: number;
  /** The ctime's low 32 bits, as an int32 (a small integer). */
  private ctimeLow: number;
  /** The mtime when it is not the ctime. */
  private changedMtime: number | undefined;
  version: number;
  cversion: number;
  aversion: number;
  /** Persistent, ephemeral (and whose), container or TTL: ZooKeeper's ephemeralOwner, unpacked. */
  readonly lifetime: NodeLifetime;
  /** The children by name, or undefined while there are none. */
  private childNodes: Map<string, Znode> | undefined = undefined;
  /**
   * The number of the last snapshot walk that copied this node (see SnapshotStream): a walk
   * copies each node once, before its first change or when it reaches it, whichever is first.
   */
  snapshotMark = 0;

  constructor(data: ZnodeData, acl: readonly ACL[], zxid: Zxid, timeMs: number, lifetime: NodeLifetime) {
    this.dataStore = data;
    this.dataOffset = 0;
    this.dataBytes = data === null ? 0 : data.length;
    this.acl = acl;
    this.czxid = zxid;
    this.mzxid = zxid;
    this.pzxid = zxid;
    if (Number.isSafeInteger(timeMs) && !Object.is(timeMs, -0)) {
      const high = Math.floor(timeMs / twoTo32) | 0;
      this.ctimeHigh = high;
      this.ctimeLow = (timeMs - high * twoTo32) | 0;
    } else {
      this.ctimeHigh = oddTime;
      this.ctimeLow = 0;
      oddCtimes.set(this, timeMs);
    }
    this.changedMtime = undefined;
    this.version = 0;
    this.cversion = 0;
    this.aversion = 0;
    this.lifetime = lifetime;
  }

  /** Null when created or set with null data, as ZooKeeper keeps it. Never mutated: replaced. */
  get data(): ZnodeData {
    const store = this.dataStore;
    if (store === null || store instanceof Uint8Array) return store;
    return new Uint8Array(store, this.dataOffset, this.dataBytes);
  }

  set data(data: ZnodeData) {
    this.dataStore = data;
    this.dataOffset = 0;
    this.dataBytes = data === null ? 0 : data.length;
  }

  /** The data's length in bytes (0 for null data), without reading it. */
  get dataLength(): number {
    return this.dataBytes;
  }

  /**
   * Sets data read from a snapshot: a view of part of a larger buffer (a chunk's) is kept as
   * that buffer, an offset and a length, so the view itself can go. The buffer must never be
   * written again. (Reading `data.buffer` here once looked like the cause of a digest
   * mismatch on Node 22; it was zlib.crc32 mishandling empty data, fixed in zk-format.)
   */
  setLoadedData(data: ZnodeData): void {
    if (data === null || (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength)) {
      this.data = data;
      return;
    }
    this.dataStore = data.buffer as ArrayBuffer;
    this.dataOffset = data.byteOffset;
    this.dataBytes = data.byteLength;
  }

  /** When the node was created, in ms since the epoch. */
  get ctime(): number {
    const high = this.ctimeHigh;
    return high === oddTime ? oddCtimes.get(this)! : high * twoTo32 + (this.ctimeLow >>> 0);
  }

  /** When the data last changed, in ms since the epoch. */
  get mtime(): number {
    return this.changedMtime ?? this.ctime;
  }

  set mtime(timeMs: number) {
    this.changedMtime = timeMs === this.ctime ? undefined : timeMs;
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
      cversion: (this.cversion * 2 - this.childCount) | 0,
      aversion: this.aversion,
      ephemeralOwner: this.lifetime.kind === 'ephemeral' ? this.lifetime.sessionId : 0n,
      dataLength: this.dataBytes,
      numChildren: this.childCount,
      pzxid: this.pzxid,
    };
  }

  /** How many children the node has. */
  get childCount(): number {
    return this.childNodes === undefined ? 0 : this.childNodes.size;
  }

  /** The names of the node's children, in the order they were added. */
  childNames(): Iterable<string> {
    return this.childNodes === undefined ? noNames : this.childNodes.keys();
  }

  /** The child called `name`, if there is one. */
  child(name: string): Znode | undefined {
    return this.childNodes?.get(name);
  }

  /**
   * The children by name, in the order they were added, or undefined while there are none:
   * for the tree's own walks, which read it and never keep it past a change.
   */
  childEntries(): Iterator<[string, Znode]> | undefined {
    return this.childNodes?.entries();
  }

  /** Adds a child; false (and nothing changed) when there is one by that name already. */
  addChild(name: string, node: Znode): boolean {
    let children = this.childNodes;
    if (children === undefined) this.childNodes = children = new Map();
    else if (children.has(name)) return false;
    children.set(name, node);
    return true;
  }

  /** Removes a child; the Map goes with the last one. */
  removeChild(name: string): void {
    const children = this.childNodes;
    if (children === undefined) return;
    children.delete(name);
    if (children.size === 0) this.childNodes = undefined;
  }

  /** Children's names in ZooKeeper-independent but deterministic order: sorted by code unit. */
  sortedChildren(): string[] {
    return this.childNodes === undefined ? [] : [...this.childNodes.keys()].sort();
  }
}
