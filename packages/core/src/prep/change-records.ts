/**
 * Outstanding changes: what the tree will look like once every prepared but not yet applied
 * transaction lands. Preparation reads through this view, so pipelined requests see their
 * predecessors (a create after a create of its parent succeeds; a second conditional
 * setData sees the version the first one will produce).
 */
import type { ACL } from '../acl.js';
import { assert } from '../errors.js';
import type { ZnodeData } from '../requests.js';
import type { DataTree } from '../tree/data-tree.js';
import type { NodeLifetime } from '../tree/lifetime.js';
import type { Zxid } from '../zxid.js';

/** A node as it will be, or `undefined` in `node` when it will have been deleted. */
export interface NodeRecord {
  readonly data: ZnodeData;
  readonly acl: readonly ACL[];
  readonly version: number;
  readonly cversion: number;
  readonly aversion: number;
  readonly lifetime: NodeLifetime;
  readonly childCount: number;
}

interface ChangeRecord {
  readonly zxid: Zxid;
  readonly path: string;
  readonly node: NodeRecord | undefined;
  /** What the per-path index held before this record, to undo a failed multi. */
  readonly previous: ChangeRecord | undefined;
  /** Set once the tree reflects this record; an applied record is never restored. */
  applied: boolean;
}

export class OutstandingChanges {
  private readonly records: ChangeRecord[] = [];
  private readonly latestByPath = new Map<string, ChangeRecord>();

  constructor(private readonly tree: DataTree) {}

  get size(): number {
    return this.records.length;
  }

  /** The node at `path` as it will be, or `undefined` when it does not (or will not) exist. */
  lookup(path: string): NodeRecord | undefined {
    const record = this.latestByPath.get(path);
    if (record !== undefined) return record.node;
    const node = this.tree.getNode(path);
    if (node === undefined) return undefined;
    return {
      data: node.data,
      acl: node.acl,
      version: node.version,
      cversion: node.cversion,
      aversion: node.aversion,
      lifetime: node.lifetime,
      childCount: node.children.size,
    };
  }

  /** Paths that outstanding records will create or delete, latest state per path. */
  pendingPaths(): IterableIterator<[string, NodeRecord | undefined]> {
    const entries = [...this.latestByPath.values()].map((record): [string, NodeRecord | undefined] => [
      record.path,
      record.node,
    ]);
    return entries[Symbol.iterator]();
  }

  add(zxid: Zxid, path: string, node: NodeRecord | undefined): void {
    const last = this.records[this.records.length - 1];
    assert(last === undefined || last.zxid <= zxid, 'outstanding changes are recorded in zxid order');
    const record: ChangeRecord = { zxid, path, node, previous: this.latestByPath.get(path), applied: false };
    this.records.push(record);
    this.latestByPath.set(path, record);
  }

  /** A mark to roll back to when a multi fails part-way. */
  checkpoint(): number {
    return this.records.length;
  }

  rollback(checkpoint: number): void {
    while (this.records.length > checkpoint) {
      const record = this.records.pop()!;
      const previous = record.previous;
      if (previous === undefined || previous.applied) this.latestByPath.delete(record.path);
      else this.latestByPath.set(record.path, previous);
    }
  }

  /** Forgets every record at or below `zxid`: the tree now reflects them. */
  forgetThrough(zxid: Zxid): void {
    let drop = 0;
    while (drop < this.records.length && this.records[drop]!.zxid <= zxid) {
      const record = this.records[drop]!;
      record.applied = true;
      if (this.latestByPath.get(record.path) === record) this.latestByPath.delete(record.path);
      drop++;
    }
    if (drop > 0) this.records.splice(0, drop);
    if (this.records.length === 0) assert(this.latestByPath.size === 0, 'outstanding index out of step');
  }

  /** Drops every record, for a preparer that loses its leadership. */
  clear(): void {
    this.records.length = 0;
    this.latestByPath.clear();
  }
}
