/**
 * The embedding API's `peer.transferLeadership`: ZooKeeper has no such call. zabkit's leader
 * lets the successor catch up while it goes on proposing, then proposes nothing new, waits
 * until every proposal is committed and acknowledged by the successor, and steps down with
 * every learner voting for it (the successor wins the ties of the election that follows for
 * a while, never over a more complete history). Called on a follower or observer, it asks
 * the leader, which tells it if the transfer ends there short of a hand-over. The call
 * resolves once this peer serves under the new leader.
 *
 * @module
 */
import type { LeadershipTransferOutcome, RelayedTransferOutcome } from '@zabkit/core';
import type { PeerDriver } from '../peer-driver.js';
import { timeBound } from './time-bound.js';

/** How `transferLeadership` runs. */
export interface TransferLeadershipOptions {
  /**
   * How long the whole hand-over may take: the successor catching up, the leader's proposals
   * committing, and the election after. Default: twice syncLimit, at least 5 s and at most
   * 30 s. Past it the call rejects with a TimeoutError (the leader, if it had not stopped
   * proposing yet, leads on).
   */
  readonly timeoutMs?: number;
}

/** What `transferLeadership` resolves with: the leader now, as this peer serves under it. */
export interface TransferLeadershipResult {
  readonly leaderId: number;
  /** The leader before, as this peer knew it. */
  readonly previousLeaderId: number | undefined;
}

/**
 * A leadership transfer that did not happen as asked: refused (not serving, no such voter,
 * the successor not synced, a reconfig or another transfer in progress), timed out (the
 * successor did not catch up: the leader leads on), abandoned (the leader had stopped
 * proposing but could not finish, and stepped down: the ensemble elects as usual), or
 * another server was elected than the one asked for (`elsewhere`).
 */
export class LeadershipTransferError extends Error {
  override readonly name = 'LeadershipTransferError';

  constructor(
    /** What happened, in the core's words (`elsewhere` when another server was elected). */
    readonly outcome:
      | Exclude<LeadershipTransferOutcome, 'started' | 'forwarded' | 'handedOver'>
      | 'elsewhere',
    /** Why, as the peer said it. */
    readonly reason: string,
  ) {
    super(`leadership transfer ${outcome}: ${reason}`);
  }
}

/** What the embedded peer lends the transfer: its driver and a way to wait for its state. */
export interface TransferHost {
  readonly driver: PeerDriver;
  /** Resolves once the peer serves (rejects on close, fatal, or the timeout). */
  ready(options: { readonly timeoutMs: number }): Promise<void>;
  /** The leader this peer serves under now, if it serves. */
  servingLeader(): number | undefined;
  /** Calls `listener` after every step; returns how to stop. */
  onStep(listener: () => void): () => void;
}

/** Runs one transfer to `to` (any synced voter when undefined), bounded by `timeoutMs`. */
export async function transferLeadership(
  host: TransferHost,
  to: number | undefined,
  timeoutMs: number,
): Promise<TransferLeadershipResult> {
  const deadline = Date.now() + timeoutMs;
  const remaining = () => Math.max(1, deadline - Date.now());
  await host.ready({ timeoutMs });
  const previous = host.servingLeader();
  if (to !== undefined && previous === to) return { leaderId: to, previousLeaderId: previous };
  const outcome = await withTimeout(host.driver.transferLeadership(to, remaining()), remaining(), timeoutMs);
  if (outcome.outcome !== 'handedOver' && outcome.outcome !== 'forwarded')
    throw new LeadershipTransferError(
      outcome.outcome === 'started' ? 'abandoned' : outcome.outcome,
      outcome.reason,
    );
  const successor = to ?? outcome.successor;
  // Served again under a new leader: the successor, unless the election went elsewhere. A
  // transfer forwarded to the leader may instead end there (refused, timed out, abandoned):
  // the leader tells this learner why, and the call rejects with it.
  const stops: (() => void)[] = [];
  let leaderId: number;
  try {
    leaderId = await withTimeout(
      new Promise<number>((resolve, reject) => {
        const check = () => {
          const leader = host.servingLeader();
          if (leader !== undefined && leader !== previous) resolve(leader);
        };
        stops.push(host.onStep(check));
        if (outcome.outcome === 'forwarded')
          stops.push(
            host.driver.observe({
              stepped: (ready) => {
                for (const event of ready.events)
                  if (event.kind === 'leadershipTransfer' && isRelayedEnd(event.outcome))
                    reject(new LeadershipTransferError(event.outcome, event.reason));
              },
            }),
          );
        check();
      }),
      remaining(),
      timeoutMs,
    );
  } finally {
    for (const stop of stops) stop();
  }
  if (successor !== undefined && leaderId !== successor)
    throw new LeadershipTransferError(
      'elsewhere',
      `server ${leaderId} was elected, not server ${successor}: it lost touch during the election`,
    );
  return { leaderId, previousLeaderId: previous };
}

/** The ends a leader tells the learner that forwarded a transfer to it. */
function isRelayedEnd(outcome: LeadershipTransferOutcome): outcome is RelayedTransferOutcome {
  return outcome === 'refused' || outcome === 'timedOut' || outcome === 'abandoned';
}

function withTimeout<T>(work: Promise<T>, ms: number, totalMs: number): Promise<T> {
  return timeBound(work, ms, `the leadership transfer did not complete within ${totalMs} ms`);
}
