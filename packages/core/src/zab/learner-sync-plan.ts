/**
 * How a leader brings a learner's log in line with its own (ZAB's synchronisation phase):
 * send the entries it lacks (DIFF), a point to truncate back to first (TRUNC), or a whole
 * snapshot when the learner is behind everything the log still holds (SNAP). Pure: it reads
 * the leader's log and decides; the stream (sync-stream.ts) then carries the plan out.
 */
import { assert } from '../errors.js';
import type { Zxid } from '../zxid.js';
import type { LearnerSyncMode } from './messages.js';
import type { TxnLog } from './txn-log.js';

/** What a learner sync does before it streams transactions. */
export type LearnerSyncPlan =
  /** DIFF: the learner's log is a prefix of ours; it gets our entries after `afterZxid`. */
  | { readonly mode: 'diff'; readonly afterZxid: Zxid }
  /** TRUNC: the learner drops everything after `afterZxid`, then gets our entries after it. */
  | { readonly mode: 'trunc'; readonly afterZxid: Zxid }
  /** SNAP: the learner is behind our log's start; it gets a snapshot, then our entries after it. */
  | { readonly mode: 'snap' };

/** Plans the learner sync for a learner whose log ends at `learnerLastZxid`. */
export function planLearnerSync(log: TxnLog, learnerLastZxid: Zxid): LearnerSyncPlan {
  const common = log.floor(learnerLastZxid);
  if (common === undefined) return { mode: 'snap' };
  if (common === learnerLastZxid) return { mode: 'diff', afterZxid: common };
  assert(common < learnerLastZxid, 'a truncation drops what the learner has beyond our log');
  return { mode: 'trunc', afterZxid: common };
}

/** The mode's name as ZooKeeper's packets call it, for logs. */
export function syncModeName(mode: LearnerSyncMode): string {
  return mode.toUpperCase();
}
