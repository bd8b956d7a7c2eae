/**
 * Time and chance as a client sees them: a clock, one-shot timers and a source of random
 * numbers, all injectable, so that a test or the simulator replays a client exactly.
 */

/** A clock and one-shot timers: what a client needs of time. */
export interface ClientTimers {
  /** Milliseconds on the clock the timers run on. */
  now(): number;
  /**
   * Runs `callback` after `delayMs`. The timer keeps a process alive only with `keepAlive`
   * (deadlines and retry sleeps a caller awaits); reconnects and heartbeats do not.
   */
  setTimeout(callback: () => void, delayMs: number, keepAlive?: boolean): unknown;
  /** Cancels a timer made by `setTimeout`; unknown handles are ignored. */
  clearTimeout(handle: unknown): void;
}

/**
 * Real time, with timers that do not hold the process open unless asked to. The clock is
 * monotonic (`performance.now`): the client only measures intervals (heartbeats, its own view
 * of session expiry, retry budgets, durations), and a wall-clock jump must move none of them.
 */
export const realTimers: ClientTimers = {
  now: () => performance.now(),
  setTimeout: (callback, delayMs, keepAlive = false) => {
    const handle = setTimeout(callback, delayMs);
    if (!keepAlive) handle.unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** A source of numbers uniform in [0, 1), as `Math.random` gives them. */
export type RandomSource = () => number;

/** A random id in UUID v4 form, drawn from `random` (for protected node names). */
export function randomUuid(random: RandomSource): string {
  const hex = (digits: number) =>
    Array.from({ length: digits }, () => Math.floor(random() * 16).toString(16)).join('');
  const variant = (8 + Math.floor(random() * 4)).toString(16);
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${variant}${hex(3)}-${hex(12)}`;
}
