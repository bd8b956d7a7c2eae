/**
 * The errors the client adds to ZooKeeper's: an operation its caller gave up on, by abort or
 * deadline, saying whether the request may still take effect on the server.
 */

/**
 * What is known of a request given up on: `notSent` (it never left the client, so it certainly
 * was not applied) or `unknown` (it was sent, and the server may have applied it or may yet).
 */
export type RequestOutcome = 'notSent' | 'unknown';

/** Why an operation was given up on: its AbortSignal fired, or its `timeoutMs` ran out. */
export type CancelReason = 'aborted' | 'timeout';

/**
 * An operation rejected because its caller's AbortSignal fired (`name` is `AbortError`, `cause`
 * the signal's reason) or its deadline passed (`name` is `TimeoutError`, also for an
 * `AbortSignal.timeout` signal). `outcome` says whether the request may still be applied: a
 * write whose outcome is `unknown` must be checked before it is repeated.
 */
export class RequestCancelledError extends Error {
  /** `aborted` by a signal, or `timeout`. */
  readonly reason: CancelReason;
  /** `notSent`: certainly not applied. `unknown`: it was sent and may have been applied. */
  readonly outcome: RequestOutcome;
  /** The operation (`create`, `getData`, ...). */
  readonly op: string;
  /** The path it addressed, as the caller gave it. */
  readonly path: string | undefined;

  constructor(details: {
    reason: CancelReason;
    outcome: RequestOutcome;
    op: string;
    path: string | undefined;
    timeoutMs?: number | undefined;
    cause?: unknown;
  }) {
    const what = `${details.op}${details.path === undefined ? '' : ` ${details.path}`}`;
    const why =
      details.reason === 'timeout'
        ? `timed out${details.timeoutMs === undefined ? '' : ` after ${details.timeoutMs} ms`}`
        : 'was aborted';
    const outcome =
      details.outcome === 'unknown' ? 'it was sent and may still be applied' : 'it was not sent';
    super(`${what} ${why}; ${outcome}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = details.reason === 'timeout' ? 'TimeoutError' : 'AbortError';
    this.reason = details.reason;
    this.outcome = details.outcome;
    this.op = details.op;
    this.path = details.path;
  }

  /** True when the request may have been (or may yet be) applied. */
  get mayHaveBeenApplied(): boolean {
    return this.outcome === 'unknown';
  }
}
