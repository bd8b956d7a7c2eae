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

/**
 * After this long without knowing whether the event loop turned, the scheduler asks (one
 * setImmediate). Asking at every step would cost a turn's worth of work per request when
 * requests come one at a time, each in its own turn.
 */
const turnCheckAfterMs = 1;

/** Schedules a driver's steps: microtasks, with a turn of the event loop at least every budget. */
export class StepScheduler {
  /**
   * When the current run of steps began (performance.now), or undefined once the event loop
   * is known to have turned since.
   */
  private turnStartedMs: number | undefined;
  /** When `schedule` was last called (performance.now). */
  private lastScheduledMs = Number.NEGATIVE_INFINITY;
  /** A setImmediate that marks the loop's next turn is pending. */
  private turnCheckPending = false;
  private readonly endTurn = () => {
    this.turnStartedMs = undefined;
    this.turnCheckPending = false;
  };

  /**
   * @param turnBudgetMs how long steps may chain in microtasks before the loop gets a turn.
   * @param nowMs the clock the budget is measured on: real time (tests give their own).
   */
  constructor(
    private readonly turnBudgetMs: number = stepTurnBudgetMs,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    if (!(turnBudgetMs >= 0)) throw new RangeError('turnBudgetMs must be a non-negative number');
  }

  /** Runs `step` soon: in a microtask while the budget lasts, else on the event loop's next turn. */
  schedule(step: () => void): void {
    // Real time, not the peer's clock: this is about the event loop, which a test's manual
    // clock does not hold up.
    const nowMs = this.nowMs();
    const startedMs = this.turnStartedMs;
    const quietMs = nowMs - this.lastScheduledMs;
    this.lastScheduledMs = nowMs;
    // Steps chained in microtasks are scheduled microseconds apart: a millisecond with none
    // most likely means the driver was idle and the event loop turned meanwhile, so a new run
    // starts. But a process the OS preempts is quiet too, without any turn: on a loaded
    // machine every run would then restart before its budget is spent and the loop would never
    // turn. So a quiet gap starts a new run only once per turn check: until the check fires
    // (proof of a turn), the run's budget keeps counting.
    if (startedMs === undefined || (quietMs >= turnCheckAfterMs && !this.turnCheckPending)) {
      this.turnStartedMs = nowMs;
      if (startedMs !== undefined) this.checkTurn();
      queueMicrotask(step);
      return;
    }
    const elapsedMs = nowMs - startedMs;
    if (elapsedMs >= turnCheckAfterMs || elapsedMs >= this.turnBudgetMs) this.checkTurn();
    // Not known to have turned within the budget: the step waits for the next turn, after the
    // check that starts a new run.
    if (elapsedMs >= this.turnBudgetMs) setImmediate(step);
    else queueMicrotask(step);
  }

  private checkTurn(): void {
    if (this.turnCheckPending) return;
    this.turnCheckPending = true;
    setImmediate(this.endTurn);
  }
}
