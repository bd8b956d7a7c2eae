/**
 * The time a driver hands in with every step. The core has no clock of its own: each step
 * says what two clocks read when the driver stepped it.
 *
 * - `wallMs` is the wall clock (milliseconds since the epoch, as Java's
 *   `System.currentTimeMillis`). ZooKeeper stamps each transaction with the leader's wall
 *   clock when it prepares it, so ctime, mtime and TTL expiry come from here.
 * - `monotonicMs` is a clock that never goes back (a driver reads `performance` for it), for
 *   timeouts and deadlines that must not jump when the wall clock is set.
 *
 * A simulator hands in the same virtual time for both. Within a peer neither reading goes
 * back: a reading older than one already seen is taken as the one already seen.
 */

/** What the driver's clocks read when it steps a peer. */
export interface ClockReading {
  /** Wall-clock milliseconds since the epoch: transaction times, ctime, mtime, TTLs. */
  readonly wallMs: number;
  /** Milliseconds of a clock that never goes back: timers and deadlines. */
  readonly monotonicMs: number;
}

/** One reading for both clocks, as a simulator or a test with one virtual clock gives. */
export function clockAt(ms: number): ClockReading {
  return { wallMs: ms, monotonicMs: ms };
}
