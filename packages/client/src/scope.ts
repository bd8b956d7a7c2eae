/**
 * One operation's lifetime as its caller bounds it: an AbortSignal and a deadline, shared by
 * every attempt, sleep and wait the operation makes. When either fires, whatever the
 * operation is waiting on is abandoned and it rejects with a RequestCancelledError whose
 * outcome says whether a request of it may have reached the server.
 */
import { type CancelReason, RequestCancelledError } from './errors.js';
import type { ClientTimers } from './timers.js';

/** What bounds one operation. */
export interface OperationBounds {
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
}

export class OperationScope {
  private cancelError: RequestCancelledError | undefined;
  private cancelHooks: Set<(error: RequestCancelledError) => void> | undefined;
  private readonly deadlineTimer: unknown;
  private readonly onAbort: (() => void) | undefined;
  /** Requests of this operation now awaiting replies. */
  private inFlight = 0;
  /** True once an attempt was sent and failed without saying whether it was applied. */
  maybeApplied = false;
  /** Attempts made so far. */
  attempts = 0;

  /**
   * `readOnly`: the operation only reads, so any request of it in flight counts as sent;
   * otherwise only its writes decide whether the outcome is unknown.
   */
  constructor(
    private readonly timers: ClientTimers,
    readonly op: string,
    readonly path: string | undefined,
    private readonly bounds: OperationBounds,
    readonly readOnly = false,
  ) {
    const { signal, timeoutMs } = bounds;
    if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs < 0))
      throw new RangeError('timeoutMs must be a non-negative number');
    if (signal?.aborted) {
      this.cancel('aborted', signal.reason);
      return;
    }
    if (signal !== undefined) {
      this.onAbort = () => this.cancel('aborted', signal.reason);
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
    // Held open: a caller awaiting only this operation must see it settle.
    if (timeoutMs !== undefined)
      this.deadlineTimer = timers.setTimeout(() => this.cancel('timeout'), timeoutMs, true);
  }

  /** True when a signal or deadline can cut the operation short. */
  get cancellable(): boolean {
    return this.bounds.signal !== undefined || this.bounds.timeoutMs !== undefined;
  }

  /** The error the operation was cancelled with, once it was. */
  get cancelled(): RequestCancelledError | undefined {
    return this.cancelError;
  }

  private cancel(reason: CancelReason, cause?: unknown): void {
    if (this.cancelError !== undefined) return;
    // An AbortSignal.timeout(...) signal is a deadline too, and says so in its reason.
    const timedOut = reason === 'timeout' || (cause instanceof Error && cause.name === 'TimeoutError');
    this.cancelError = new RequestCancelledError({
      reason: timedOut ? 'timeout' : 'aborted',
      outcome: this.inFlight > 0 || this.maybeApplied ? 'unknown' : 'notSent',
      op: this.op,
      path: this.path,
      timeoutMs: reason === 'timeout' ? this.bounds.timeoutMs : undefined,
      cause,
    });
    const hooks = this.cancelHooks;
    this.cancelHooks = undefined;
    for (const hook of hooks ?? []) hook(this.cancelError);
  }

  /**
   * Settles as `promise` does, or rejects with the cancellation when the operation is cancelled
   * first; `onCancel` then lets go of what the promise was waiting on.
   */
  race<T>(promise: Promise<T>, onCancel?: () => void): Promise<T> {
    if (this.cancelError !== undefined) {
      onCancel?.();
      promise.catch(() => undefined);
      return Promise.reject(this.cancelError);
    }
    return new Promise<T>((resolve, reject) => {
      const hook = (error: RequestCancelledError) => {
        onCancel?.();
        reject(error);
      };
      (this.cancelHooks ??= new Set()).add(hook);
      promise.then(
        (value) => {
          this.cancelHooks?.delete(hook);
          resolve(value);
        },
        (error: unknown) => {
          this.cancelHooks?.delete(hook);
          reject(error);
        },
      );
    });
  }

  /**
   * Races a request that was sent: while a write (or any request of a read-only operation) is
   * out, a cancellation reports the outcome unknown.
   */
  async inFlightRace<T>(promise: Promise<T>, abandon: () => void, write: boolean): Promise<T> {
    const counts = write || this.readOnly;
    if (counts) this.inFlight++;
    try {
      return await this.race(promise, abandon);
    } finally {
      if (counts) this.inFlight--;
    }
  }

  /** Waits `delayMs` (a retry's sleep), cut short by a cancellation. */
  sleep(delayMs: number): Promise<void> {
    let handle: unknown;
    const slept = new Promise<void>((resolve) => {
      handle = this.timers.setTimeout(resolve, delayMs, true);
    });
    return this.race(slept, () => this.timers.clearTimeout(handle));
  }

  /** Stops the deadline timer and the signal listener. */
  dispose(): void {
    if (this.deadlineTimer !== undefined) this.timers.clearTimeout(this.deadlineTimer);
    if (this.onAbort !== undefined) this.bounds.signal?.removeEventListener('abort', this.onAbort);
    this.cancelHooks = undefined;
  }
}
