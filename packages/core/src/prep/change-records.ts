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
import type { SessionId } from '../txn.js';
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

/**
 * A NodeRecord, always built in the same field order: one hidden class for every record on
 * the write path, where a spread of another record builds its copy field by field.
 */
export function nodeRecord(
  data: ZnodeData,
  acl: readonly ACL[],
  version: number,
  cversion: number,
  aversion: number,
  lifetime: NodeLifetime,
  childCount: number,
): NodeRecord {
  return { data, acl, version, cversion, aversion, lifetime, childCount };
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

/**
 * How many change records were made and how many forgotten once applied, over a peer's life
 * (ZooKeeper's outstanding_changes_queued and outstanding_changes_removed count the same
 * records). A multi's records rolled back are made, not forgotten, as there.
 */
export interface ChangeRecordCounts {
  queued: number;
  removed: number;
}

/** Applied records at the front of `records` are dropped in one splice once this many gather. */
const appliedCompactionMin = 256;

export class OutstandingChanges {
  /** Outstanding records from `head` on, in zxid order; those before `head` are applied. */
  private readonly records: ChangeRecord[] = [];
  private head = 0;
  private readonly latestByPath = new Map<string, ChangeRecord>();
  /**
   * Per session, every path whose latest record makes it an ephemeral of that session, and
   * perhaps some whose latest record no longer does (dropped when seen, or once the path has
   * no record left), with the sessions each path is listed under: closing a session looks at
   * its own paths rather than at every outstanding change (ten thousand sessions expiring at
   * once made that quadratic). A path may be listed under several sessions: a failed multi's
   * rollback can make an earlier record, of another session, the latest again.
   */
  private readonly ephemeralCandidates = new Map<SessionId, Set<string>>();
  private readonly candidateSessions = new Map<string, Set<SessionId>>();

  constructor(
    private readonly tree: DataTree,
    private readonly counts: ChangeRecordCounts = { queued: 0, removed: 0 },
  ) {}

  get size(): number {
    return this.records.length - this.head;
  }

  /**
   * The node at `path` as it will be, or `undefined` when it does not (or will not) exist.
   * A node with no outstanding change is the tree's own, live: read it before the tree
   * changes, never keep it (no copy is made per lookup; preparation only reads it at once).
   */
  lookup(path: string): NodeRecord | undefined {
    const record = this.latestByPath.get(path);
    if (record !== undefined) return record.node;
    return this.tree.getNode(path);
  }

  /**
   * `lookup` for the preparation of setData `zxid`: a node read from the tree is remembered
   * for that transaction's apply (DataTree's `nodeForWrite`).
   */
  lookupForWrite(zxid: Zxid, path: string): NodeRecord | undefined {
    const record = this.latestByPath.get(path);
    if (record !== undefined) return record.node;
    return this.tree.nodeForWrite(zxid, path);
  }

  /** True when an outstanding record deletes the node at `path` (its latest one). */
  isPendingDeletion(path: string): boolean {
    const record = this.latestByPath.get(path);
    return record !== undefined && record.node === undefined;
  }

  /** Paths whose latest outstanding record makes them (or keeps them) ephemerals of `sessionId`. */
  pendingEphemeralsOf(sessionId: SessionId): string[] {
    const candidates = this.ephemeralCandidates.get(sessionId);
    if (candidates === undefined) return [];
    const paths: string[] = [];
    for (const path of [...candidates]) {
      const lifetime = this.latestByPath.get(path)?.node?.lifetime;
      if (lifetime?.kind === 'ephemeral' && lifetime.sessionId === sessionId) paths.push(path);
      // Not its ephemeral now, and no rollback can make it so again: a rollback happens only
      // inside the preparation of one multi, never across this call.
      else this.unlist(path, sessionId);
    }
    return paths;
  }

  private addCandidate(path: string, sessionId: SessionId): void {
    let paths = this.ephemeralCandidates.get(sessionId);
    if (paths === undefined) this.ephemeralCandidates.set(sessionId, (paths = new Set()));
    paths.add(path);
    let owners = this.candidateSessions.get(path);
    if (owners === undefined) this.candidateSessions.set(path, (owners = new Set()));
    owners.add(sessionId);
  }

  private unlist(path: string, sessionId: SessionId): void {
    const paths = this.ephemeralCandidates.get(sessionId);
    if (paths !== undefined) {
      paths.delete(path);
      if (paths.size === 0) this.ephemeralCandidates.delete(sessionId);
    }
    const owners = this.candidateSessions.get(path);
    if (owners !== undefined) {
      owners.delete(sessionId);
      if (owners.size === 0) this.candidateSessions.delete(path);
    }
  }

  /** A path with no outstanding record left is nobody's pending ephemeral. */
  private dropCandidate(path: string): void {
    const owners = this.candidateSessions.get(path);
    if (owners === undefined) return;
    for (const sessionId of [...owners]) this.unlist(path, sessionId);
  }

  add(zxid: Zxid, path: string, node: NodeRecord | undefined): void {
    const last = this.records.length > this.head ? this.records[this.records.length - 1] : undefined;
    assert(last === undefined || last.zxid <= zxid, 'outstanding changes are recorded in zxid order');
    const record: ChangeRecord = { zxid, path, node, previous: this.latestByPath.get(path), applied: false };
    this.records.push(record);
    this.counts.queued++;
    this.latestByPath.set(path, record);
    if (node?.lifetime.kind === 'ephemeral') this.addCandidate(path, node.lifetime.sessionId);
  }

  /**
   * A mark to roll back to when a multi fails part-way. It holds until the next
   * `forgetThrough`, which no multi's preparation reaches.
   */
  checkpoint(): number {
    return this.records.length;
  }

  rollback(checkpoint: number): void {
    assert(checkpoint >= this.head, 'a rollback stays within the outstanding records');
    while (this.records.length > checkpoint) {
      const record = this.records.pop()!;
      const previous = record.previous;
      if (previous === undefined || previous.applied) {
        this.latestByPath.delete(record.path);
        this.dropCandidate(record.path);
      } else this.latestByPath.set(record.path, previous);
    }
  }

  /** Forgets every record at or below `zxid`: the tree now reflects them. */
  forgetThrough(zxid: Zxid): void {
    // Called once per applied transaction: moving `head` keeps it O(1), where a splice of the
    // front moved every outstanding record each time.
    let head = this.head;
    const records = this.records;
    while (head < records.length && records[head]!.zxid <= zxid) {
      const record = records[head]!;
      record.applied = true;
      this.counts.removed++;
      if (this.latestByPath.get(record.path) === record) {
        this.latestByPath.delete(record.path);
        this.dropCandidate(record.path);
      }
      head++;
    }
    if (head === records.length) {
      records.length = 0;
      this.head = 0;
      assert(this.latestByPath.size === 0, 'outstanding index out of step');
      assert(this.candidateSessions.size === 0, 'outstanding ephemerals index out of step');
      return;
    }
    if (head >= appliedCompactionMin && head * 2 >= records.length) {
      records.splice(0, head);
      head = 0;
    }
    this.head = head;
  }

  /** Drops every record, for a preparer that loses its leadership. */
  clear(): void {
    this.records.length = 0;
    this.head = 0;
    this.latestByPath.clear();
    this.ephemeralCandidates.clear();
    this.candidateSessions.clear();
  }
}
