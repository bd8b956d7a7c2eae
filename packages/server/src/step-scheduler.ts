/**
 * When a driver steps its peer: in a microtask, so that inputs arriving together go as one
 * step and a reply costs no turn of the event loop, but never for long without a turn.
 *
 * A client that awaits each reply before it sends again chains microtasks: its next request
 * arrives in a microtask queued by the reply, the step answering it is another, and so on. Were
 * every step a microtask, a burst of in-process reads would hold the event loop away from
 * timers and I/O for as long as it lasts: no tick, no peer message, no socket read, and a
 * leader whose followers are fine would find their pings stale and lose its lease. So once
 * steps have run in microtasks for `turnBudgetMs` since the event loop last turned, the next
 * step waits for the loop's next turn (setImmediate), letting timers and I/O through.
 */

/** How long steps may chain in microtasks before the event loop gets a turn, in ms. */
export const stepTurnBudgetMs = 10;

/** Schedules a driver's steps: microtasks, with a turn of the event loop at least every budget. */
export class StepScheduler {
  /** When the current run of microtask steps began (performance.now), or undefined between turns. */
  private turnStartedMs: number | undefined;
  private readonly endTurn = () => {
    this.turnStartedMs = undefined;
  };

  constructor(private readonly turnBudgetMs: number = stepTurnBudgetMs) {
    if (!(turnBudgetMs >= 0)) throw new RangeError('turnBudgetMs must be a non-negative number');
  }

  /** Runs `step` soon: in a microtask while the budget lasts, else on the event loop's next turn. */
  schedule(step: () => void): void {
    // Real time, not the peer's clock: this is about the event loop, which a test's manual
    // clock does not hold up.
    const nowMs = performance.now();
    if (this.turnStartedMs === undefined) {
      this.turnStartedMs = nowMs;
      // Runs once the event loop turns, whether or not this driver yielded.
      setImmediate(this.endTurn);
    } else if (nowMs - this.turnStartedMs >= this.turnBudgetMs) {
      setImmediate(step);
      return;
    }
    queueMicrotask(step);
  }
}
