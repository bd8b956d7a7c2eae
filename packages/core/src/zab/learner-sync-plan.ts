/**
 * What a leader sends a learner to bring its log in line (ZAB's synchronisation phase): the
 * entries it lacks (DIFF), a point to truncate back to first (TRUNC), or the whole tree when
 * the learner is behind everything the log still holds (SNAP). Pure: it reads the leader's
 * log and tree and returns the message's contents.
 */
import { assert } from '../errors.js';
import type { DataTree, TreeSnapshot } from '../tree/data-tree.js';
import type { Txn } from '../txn.js';
import type { Zxid } from '../zxid.js';
import type { LearnerSyncMode } from './messages.js';
import type { TxnLog } from './txn-log.js';

/** The contents of a learnerSync message. */
export interface LearnerSyncPlan {
  readonly mode: LearnerSyncMode;
  /** For 'trunc': the learner drops every entry after this zxid first. */
  readonly truncateTo: Zxid | undefined;
  /** For 'snap': the leader's tree, replacing the learner's. */
  readonly snapshot: TreeSnapshot | undefined;
  /** Entries the learner appends after the truncation or snapshot. */
  readonly txns: readonly Txn[];
}

/** Plans the learner sync for a learner whose log ends at `learnerLastZxid`. */
export function planLearnerSync(log: TxnLog, tree: DataTree, learnerLastZxid: Zxid): LearnerSyncPlan {
  const common = log.floor(learnerLastZxid);
  let plan: LearnerSyncPlan;
  if (common === undefined) {
    const snapshot = tree.snapshot();
    plan = { mode: 'snap', truncateTo: undefined, snapshot, txns: log.entriesAfter(snapshot.zxid) ?? [] };
  } else if (common === learnerLastZxid) {
    plan = { mode: 'diff', truncateTo: undefined, snapshot: undefined, txns: log.entriesAfter(common)! };
  } else {
    assert(common < learnerLastZxid, 'a truncation drops what the learner has beyond our log');
    plan = { mode: 'trunc', truncateTo: common, snapshot: undefined, txns: log.entriesAfter(common)! };
  }
  // Whatever the mode, the learner ends where our log ends.
  const last = plan.txns.length > 0 ? plan.txns[plan.txns.length - 1]!.zxid : undefined;
  if (last !== undefined) assert(last === log.lastZxid, 'a learner sync carries the log to its end');
  return plan;
}
