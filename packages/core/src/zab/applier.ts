/**
 * The applier: the one place a peer changes its tree. It applies, in zxid order, every
 * logged transaction that is both committed and durable here; remembers which local client
 * or connection each expected transaction answers; and takes a snapshot every `snapCount`
 * transactions, compacting the log mirror behind it.
 */
import { assert } from '../errors.js';
import type { ReplicaFront } from '../server/replica-front.js';
import type { DataTree } from '../tree/data-tree.js';
import type { SessionId, Txn } from '../txn.js';
import type { Zxid } from '../zxid.js';
import type { TxnOrigin } from './context.js';
import type { Outbox } from './outbox.js';
import type { TxnLog } from './txn-log.js';

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
}

/** Applies committed, durable transactions to the tree and answers their origins. */
export class Applier {
  private committedZxid: Zxid;
  /** Expected transactions by `originKey`: who to answer once each is applied. */
  private readonly origins = new Map<string, TxnOrigin>();
  private appliedSinceSnapshot = 0;
  private previousSnapshotZxid: Zxid;

  constructor(
    private readonly tree: DataTree,
    private readonly log: TxnLog,
    private readonly outbox: Outbox,
    private readonly front: ReplicaFront,
    private readonly snapCount: number,
    private readonly hooks: ApplyHooks,
  ) {
    assert(snapCount > 0, 'snapCount must be positive');
    // Nothing beyond the snapshot a peer restarts from is known to be committed yet.
    this.committedZxid = tree.lastZxid;
    this.previousSnapshotZxid = tree.lastZxid;
  }

  /** The highest zxid known to be committed. */
  get lastCommittedZxid(): Zxid {
    return this.committedZxid;
  }

  /** Transactions expected to answer a local client or connection, not yet applied. */
  get originsPending(): number {
    return this.origins.size;
  }

  /** Remembers which local client a write (or session creation) will answer once applied. */
  expect(sessionId: SessionId, cxid: number, origin: TxnOrigin): void {
    this.origins.set(originKey(sessionId, cxid), origin);
  }

  /** Forgets every expected transaction: the peer stopped serving, its clients are gone. */
  forgetOrigins(): void {
    this.origins.clear();
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
    assert(this.tree.lastZxid === limit, `applied through ${this.tree.lastZxid}, not ${limit}`);
    this.hooks.afterApplied();
  }

  private applyOne(txn: Txn): void {
    assert(txn.zxid > this.tree.lastZxid, 'transactions apply in zxid order');
    const outcome = this.tree.apply(txn);
    this.hooks.onApplied?.(txn);
    const key = originKey(txn.sessionId, txn.cxid);
    const origin = this.origins.get(key);
    if (origin !== undefined) this.origins.delete(key);
    this.hooks.roleApplied(txn);
    this.front.applied(txn, outcome, origin?.kind === 'client' ? origin.origin : undefined);
    this.hooks.sessionApplied(txn, origin);
    this.maybeSnapshot();
  }

  private maybeSnapshot(): void {
    this.appliedSinceSnapshot++;
    if (this.appliedSinceSnapshot < this.snapCount) return;
    this.appliedSinceSnapshot = 0;
    const snapshot = this.tree.snapshot();
    this.outbox.persist({ kind: 'snapshot', snapshot });
    // Keep one snapshot's worth of log before the newest snapshot, so that learners a little
    // behind still get a DIFF rather than a whole snapshot.
    this.outbox.persist({ kind: 'purge', throughZxid: this.previousSnapshotZxid });
    this.log.compact(this.previousSnapshotZxid);
    this.previousSnapshotZxid = snapshot.zxid;
  }
}

function originKey(sessionId: SessionId, cxid: number): string {
  return `${sessionId}:${cxid}`;
}
