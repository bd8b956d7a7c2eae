/**
 * The applier: the one place a peer changes its tree. It applies, in zxid order, every
 * logged transaction that is both committed and durable here; remembers which local client
 * or connection each expected transaction answers; and takes a snapshot every snapCount/2 to
 * snapCount transactions (see SnapshotPoints), compacting the log mirror behind it.
 */
import { assert } from '../errors.js';
import type { ClientFront } from '../front/client-front.js';
import { ChangeList } from '../tree/change-list.js';
import type { DataTree, TreeChange, TxnResult } from '../tree/data-tree.js';
import type { SessionId, Txn } from '../txn.js';
import type { Zxid } from '../zxid.js';
import type { TxnOrigin } from './context.js';
import type { Outbox } from './outbox.js';
import type { TxnLog } from './txn-log.js';

/**
 * Where snapshots fall: after between ceil(snapCount/2) and snapCount applied transactions,
 * drawn afresh after each one, as ZooKeeper rolls its snapshot point. The draws come from a
 * seed the driver gives (mulberry32, a small well-known generator): the core stays
 * deterministic, and replicas given different seeds snapshot at different zxids, so they do
 * not all pay for a snapshot at the same moment.
 */
export class SnapshotPoints {
  private state: number;

  constructor(
    readonly snapCount: number,
    seed: number,
  ) {
    assert(snapCount > 0, 'snapCount must be positive');
    this.state = seed | 0;
  }

  /** How many applied transactions the next snapshot waits for. */
  next(): number {
    const low = Math.ceil(this.snapCount / 2);
    return low + (this.draw() % (this.snapCount - low + 1));
  }

  /** mulberry32: the next 32-bit unsigned draw. */
  private draw(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
}

/** Who else hears of each applied transaction, in this order, before the next is applied. */
export interface ApplyHooks {
  /** The driver's observer (checkers and tools), told first. */
  readonly onApplied: ((txn: Txn) => void) | undefined;
  /** The current role's bookkeeping (the leader's sessions, containers, preparer). */
  roleApplied(txn: Txn): void;
  /** Session admission: answers a connection whose session this created, closes one it ended. */
  sessionApplied(txn: Txn, origin: TxnOrigin | undefined): void;
  /** After a batch of applications: the learner answers client syncs now satisfied. */
  afterApplied(): void;
  /**
   * The oldest zxid a learner sync in progress still needs (its snapshot, its place in the
   * log): purges and log compaction stop there. Undefined when nothing is pinned.
   */
  retainFrom(): Zxid | undefined;
}

/** A snapshot persisted and not yet durable, and who waits for it. */
interface PendingSnapshot {
  readonly zxid: Zxid;
  readonly waiters: (() => void)[];
}

/** A transaction this peer expects, by the cxid it will carry, and who it answers. */
interface ExpectedOrigin {
  readonly cxid: number;
  readonly origin: TxnOrigin;
}

function indexOfCxid(expected: readonly ExpectedOrigin[], cxid: number): number {
  for (let i = 0; i < expected.length; i++) if (expected[i]!.cxid === cxid) return i;
  return -1;
}

/** Applies committed, durable transactions to the tree and answers their origins. */
export class Applier {
  private committedZxid: Zxid;
  /**
   * Expected transactions by session, each session's in the order they were expected (which is
   * the order they apply in, so the one wanted is nearly always first): who to answer once each
   * is applied. (A string key built from the bigint session id, and then a Map per session, cost
   * a one-voter peer a good part of its write path.) A session's list stays, empty, until the
   * session closes.
   */
  private readonly origins = new Map<SessionId, ExpectedOrigin[]>();
  /** The changes of a transaction applied unanswered, read at once by the front. */
  private readonly scratchChanges = new ChangeList();
  private originCount = 0;
  private appliedSinceSnapshot = 0;
  /** A snapshot fell due while the one before it was still being written (reported once). */
  private snapshotDeferred = false;
  /** Applied transactions the next snapshot waits for. */
  private snapshotAfter: number;
  private previousSnapshotZxid: Zxid;
  /** The newest snapshot known durable in storage. */
  private storedZxid: Zxid | undefined;
  private pendingSnapshot: PendingSnapshot | undefined;

  constructor(
    private readonly tree: DataTree,
    private readonly log: TxnLog,
    private readonly outbox: Outbox,
    private readonly front: ClientFront,
    private readonly snapshotPoints: SnapshotPoints,
    private readonly hooks: ApplyHooks,
    storedSnapshotZxid: Zxid | undefined,
  ) {
    this.snapshotAfter = snapshotPoints.next();
    // Nothing beyond the snapshot a peer restarts from is known to be committed yet.
    this.committedZxid = tree.lastZxid;
    this.previousSnapshotZxid = tree.lastZxid;
    this.storedZxid = storedSnapshotZxid;
  }

  /** The zxid of the newest snapshot known durable in storage, if any. */
  get storedSnapshotZxid(): Zxid | undefined {
    return this.storedZxid;
  }

  /** The highest zxid known to be committed. */
  get lastCommittedZxid(): Zxid {
    return this.committedZxid;
  }

  /** Transactions expected to answer a local client or connection, not yet applied. */
  get originsPending(): number {
    return this.originCount;
  }

  /** Remembers which local client a write (or session creation) will answer once applied. */
  expect(sessionId: SessionId, cxid: number, origin: TxnOrigin): void {
    let bySession = this.origins.get(sessionId);
    if (bySession === undefined) this.origins.set(sessionId, (bySession = []));
    // A cxid expected again (a client that resent its request on a new connection) answers
    // the connection that expects it last, as it always has.
    const index = indexOfCxid(bySession, cxid);
    if (index >= 0) {
      bySession[index] = { cxid, origin };
      return;
    }
    bySession.push({ cxid, origin });
    this.originCount++;
  }

  /** Forgets every expected transaction: the peer stopped serving, its clients are gone. */
  forgetOrigins(): void {
    this.origins.clear();
    this.originCount = 0;
  }

  /** Raises the commit point (it never goes down); committed and durable transactions are applied. */
  commitThrough(zxid: Zxid): void {
    if (zxid > this.committedZxid) this.committedZxid = zxid;
    this.applyCommitted();
  }

  /** Applies, in order, every logged transaction that is both committed and durable here. */
  applyCommitted(): void {
    const durable = this.outbox.lastPersistedZxid;
    const limit = this.committedZxid < durable ? this.committedZxid : durable;
    if (limit <= this.tree.lastZxid) return;
    const txns = this.log.entriesAfter(this.tree.lastZxid, limit) ?? [];
    for (const txn of txns) this.applyOne(txn);
    assert(this.tree.lastZxid === limit, () => `applied through ${this.tree.lastZxid}, not ${limit}`);
    this.hooks.afterApplied();
  }

  private applyOne(txn: Txn): void {
    assert(txn.zxid > this.tree.lastZxid, 'transactions apply in zxid order');
    // Only the server a client's write came through answers it: the others build no result.
    let changes: readonly TreeChange[];
    let changeCount: number;
    let result: TxnResult | undefined;
    if (this.expectsClient(txn)) {
      const outcome = this.tree.apply(txn);
      changes = outcome.changes;
      changeCount = changes.length;
      result = outcome.result;
    } else {
      const scratch = this.scratchChanges;
      // Emptied first too: a failed apply may have left changes in it.
      scratch.clear();
      this.tree.applyUnanswered(txn, scratch);
      changes = scratch.items;
      changeCount = scratch.length;
    }
    this.hooks.onApplied?.(txn);
    const origin = this.takeOrigin(txn);
    this.hooks.roleApplied(txn);
    this.front.applied(
      txn,
      changes,
      changeCount,
      origin?.kind === 'client' ? origin.origin : undefined,
      result,
    );
    this.scratchChanges.clear();
    this.hooks.sessionApplied(txn, origin);
    this.maybeSnapshot();
  }

  /** True when a local client's write waits on `txn` (what takeOrigin will find). */
  private expectsClient(txn: Txn): boolean {
    const bySession = this.origins.get(txn.sessionId);
    if (bySession === undefined) return false;
    const index = indexOfCxid(bySession, txn.cxid);
    return index >= 0 && bySession[index]!.origin.kind === 'client';
  }

  private takeOrigin(txn: Txn): TxnOrigin | undefined {
    const bySession = this.origins.get(txn.sessionId);
    if (bySession === undefined) return undefined;
    const index = indexOfCxid(bySession, txn.cxid);
    let origin: TxnOrigin | undefined;
    if (index >= 0) {
      origin = bySession[index]!.origin;
      if (index === 0) bySession.shift();
      else bySession.splice(index, 1);
      this.originCount--;
    }
    if (txn.body.kind === 'closeSession') {
      this.originCount -= bySession.length;
      this.origins.delete(txn.sessionId);
    }
    return origin;
  }

  private maybeSnapshot(): void {
    this.appliedSinceSnapshot++;
    if (this.appliedSinceSnapshot < this.snapshotAfter) return;
    if (this.tree.snapshotInProgress) {
      // The last snapshot is still being read out of the tree and written: this one waits for
      // it (asked again at each transaction applied) rather than reading the rest of it at
      // once, even when both fall in one step (a restart replaying a long log): reading the
      // first whole would hold the step and copy every node. ZooKeeper skips it ("Too busy to
      // snap"), which leaves a longer log to replay.
      if (!this.snapshotDeferred) this.outbox.event({ kind: 'snapshotDeferred', zxid: this.tree.lastZxid });
      this.snapshotDeferred = true;
      return;
    }
    this.takeSnapshot();
  }

  private rollSnapshotPoint(): void {
    this.appliedSinceSnapshot = 0;
    this.snapshotDeferred = false;
    this.snapshotAfter = this.snapshotPoints.next();
    assert(
      this.snapshotAfter >= Math.ceil(this.snapshotPoints.snapCount / 2) &&
        this.snapshotAfter <= this.snapshotPoints.snapCount,
      'a snapshot point lies between snapCount/2 and snapCount',
    );
  }

  /**
   * Snapshots the tree now and returns the snapshot's zxid; `onDurable` runs once it is
   * stored. A snapshot at the same zxid already stored or on its way is not taken twice.
   */
  takeSnapshot(onDurable?: () => void): Zxid {
    const zxid = this.tree.lastZxid;
    const pending = this.pendingSnapshot;
    if (pending?.zxid === zxid) {
      if (onDurable !== undefined) pending.waiters.push(onDurable);
      return zxid;
    }
    if (this.storedZxid === zxid) {
      onDurable?.();
      return zxid;
    }
    this.rollSnapshotPoint();
    const taken: PendingSnapshot = { zxid, waiters: onDurable === undefined ? [] : [onDurable] };
    this.pendingSnapshot = taken;
    // Read out of the tree a slice at a time by the store that writes it (copy-on-write: the
    // tree goes on changing meanwhile), or whole by a store that keeps it as one array.
    this.outbox.persist({ kind: 'snapshot', snapshot: this.tree.beginSnapshot() }, () => {
      if (this.storedZxid === undefined || zxid > this.storedZxid) this.storedZxid = zxid;
      if (this.pendingSnapshot === taken) this.pendingSnapshot = undefined;
      for (const waiter of taken.waiters) waiter();
    });
    // Keep one snapshot's worth of log before the newest snapshot, so that learners a little
    // behind still get a DIFF rather than a whole snapshot; and whatever a sync in progress
    // still streams.
    const retain = this.hooks.retainFrom();
    const through =
      retain !== undefined && retain < this.previousSnapshotZxid ? retain : this.previousSnapshotZxid;
    this.outbox.persist({ kind: 'purge', throughZxid: through });
    this.log.compact(through);
    this.previousSnapshotZxid = zxid;
    return zxid;
  }

  /**
   * A SNAP replaced the tree with a snapshot at `zxid` (committed on the leader): the commit
   * point and the snapshot schedule start from it. `stored` once its commit in storage is durable.
   */
  snapshotInstalled(zxid: Zxid): void {
    assert(this.tree.lastZxid === zxid, 'the installed snapshot is the tree');
    if (zxid > this.committedZxid) this.committedZxid = zxid;
    this.previousSnapshotZxid = zxid;
    this.appliedSinceSnapshot = 0;
    this.pendingSnapshot = undefined;
  }

  /** The snapshot a SNAP installed is durable in storage. */
  snapshotStored(zxid: Zxid): void {
    if (this.storedZxid === undefined || zxid > this.storedZxid) this.storedZxid = zxid;
  }
}
