/**
 * Retry policies as Apache Curator defines them, and the reconnect backoff.
 *
 * A policy only says how long to wait before the next attempt, or that there is none; the
 * client decides which errors are worth retrying (ConnectionLoss, OperationTimeout,
 * SessionMoved, and SessionExpired when it renews sessions itself) and which operations may be
 * retried at all (see `ZabClient`). The policies draw their jitter from an injectable random
 * source, so a test replays the same sleeps.
 */
import type { RandomSource } from './timers.js';

/** Decides whether, and after how long, an operation that failed is tried again. */
export interface RetryPolicy {
  /**
   * Milliseconds to wait before retry number `retryCount` (0 for the first retry), or
   * `undefined` to give up. `elapsedMs` counts from the operation's first attempt.
   */
  nextRetryDelayMs(retryCount: number, elapsedMs: number): number | undefined;
}

function checkNonNegative(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number`);
}

function checkCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer`);
}

/** Options shared by the randomized policies. */
export interface RandomizedRetryOptions {
  /** Where the jitter comes from; default `Math.random`. Pass a seeded one for replayable tests. */
  readonly random?: RandomSource;
}

/** The most retries an exponential policy allows (Curator's limit: 2^30 would overflow its shift). */
export const exponentialRetriesMax = 29;

/**
 * Curator's ExponentialBackoffRetry: up to `maxRetries` retries, the n-th (from 0) after
 * `baseSleepMs` times a random whole number in [1, 2^(n+1)), never more than `maxSleepMs`.
 * The randomness is the jitter that keeps many clients from retrying in step.
 */
export class ExponentialBackoffRetry implements RetryPolicy {
  /** Retries allowed, at most {@link exponentialRetriesMax}. */
  readonly maxRetries: number;
  private readonly random: RandomSource;

  constructor(
    readonly baseSleepMs: number,
    maxRetries: number,
    readonly maxSleepMs: number = Number.MAX_SAFE_INTEGER,
    options: RandomizedRetryOptions = {},
  ) {
    checkNonNegative('baseSleepMs', baseSleepMs);
    checkCount('maxRetries', maxRetries);
    checkNonNegative('maxSleepMs', maxSleepMs);
    this.maxRetries = Math.min(maxRetries, exponentialRetriesMax);
    this.random = options.random ?? Math.random;
  }

  nextRetryDelayMs(retryCount: number, _elapsedMs: number): number | undefined {
    if (retryCount >= this.maxRetries) return undefined;
    return Math.min(this.maxSleepMs, this.sleepMs(retryCount));
  }

  /** The uncapped sleep: Hadoop's and Curator's formula. */
  protected sleepMs(retryCount: number): number {
    const span = 2 ** (retryCount + 1);
    return this.baseSleepMs * Math.max(1, Math.floor(this.random() * span));
  }
}

/** Curator's BoundedExponentialBackoffRetry: exponential backoff whose sleeps never exceed `maxSleepTimeMs`. */
export class BoundedExponentialBackoffRetry extends ExponentialBackoffRetry {
  constructor(
    baseSleepMs: number,
    maxSleepTimeMs: number,
    maxRetries: number,
    options: RandomizedRetryOptions = {},
  ) {
    super(baseSleepMs, maxRetries, maxSleepTimeMs, options);
  }
}

/** Curator's RetryNTimes: up to `n` retries, `sleepMsBetweenRetries` apart. */
export class RetryNTimes implements RetryPolicy {
  constructor(
    readonly n: number,
    readonly sleepMsBetweenRetries: number,
  ) {
    checkCount('n', n);
    checkNonNegative('sleepMsBetweenRetries', sleepMsBetweenRetries);
  }

  nextRetryDelayMs(retryCount: number, _elapsedMs: number): number | undefined {
    return retryCount < this.n ? this.sleepMsBetweenRetries : undefined;
  }
}

/** Curator's RetryOneTime: one retry after `sleepMsBetweenRetry`. */
export class RetryOneTime extends RetryNTimes {
  constructor(sleepMsBetweenRetry: number) {
    super(1, sleepMsBetweenRetry);
  }
}

/** Curator's RetryUntilElapsed: retries `sleepMsBetweenRetries` apart while less than `maxElapsedTimeMs` has passed. */
export class RetryUntilElapsed implements RetryPolicy {
  constructor(
    readonly maxElapsedTimeMs: number,
    readonly sleepMsBetweenRetries: number,
  ) {
    checkNonNegative('maxElapsedTimeMs', maxElapsedTimeMs);
    checkNonNegative('sleepMsBetweenRetries', sleepMsBetweenRetries);
  }

  nextRetryDelayMs(_retryCount: number, elapsedMs: number): number | undefined {
    return elapsedMs < this.maxElapsedTimeMs ? this.sleepMsBetweenRetries : undefined;
  }
}

/** Curator's RetryForever: retries without end, `retryIntervalMs` (more than 0) apart. Pair it with a `timeoutMs` or a signal. */
export class RetryForever implements RetryPolicy {
  constructor(readonly retryIntervalMs: number) {
    if (!(retryIntervalMs > 0) || !Number.isFinite(retryIntervalMs))
      throw new RangeError('retryIntervalMs must be more than 0');
  }

  nextRetryDelayMs(_retryCount: number, _elapsedMs: number): number | undefined {
    return this.retryIntervalMs;
  }
}

/**
 * How a client waits between attempts to reach a server after losing one: the first attempt at
 * once, then exponentially longer waits with jitter, up to a cap, until the session is back or
 * lost. Each attempt goes to the next server of the list.
 */
export interface ReconnectBackoff {
  /** The wait before the second attempt; it doubles with each attempt after that. Default 20 ms. */
  readonly initialDelayMs?: number;
  /** The longest wait between attempts. Default 1000 ms. */
  readonly maxDelayMs?: number;
  /**
   * The share of each wait that is random, from 0 (fixed waits) to 1 (anywhere between 0 and
   * the wait). Default 0.5: between half the wait and the whole of it.
   */
  readonly jitter?: number;
}

/** Checks a ReconnectBackoff up front, so a bad value is refused at connect, not at the first loss. */
export function checkReconnectBackoff(backoff: ReconnectBackoff): void {
  if (backoff.initialDelayMs !== undefined)
    checkNonNegative('reconnect.initialDelayMs', backoff.initialDelayMs);
  if (backoff.maxDelayMs !== undefined) checkNonNegative('reconnect.maxDelayMs', backoff.maxDelayMs);
  const jitter = backoff.jitter;
  if (jitter !== undefined && !(jitter >= 0 && jitter <= 1))
    throw new RangeError('reconnect.jitter must be in [0, 1]');
}

/** The wait before reconnect attempt `attempt` (0: the first, at once). */
export function reconnectDelayMs(backoff: ReconnectBackoff, attempt: number, random: RandomSource): number {
  if (attempt === 0) return 0;
  const initialDelayMs = backoff.initialDelayMs ?? 20;
  const maxDelayMs = backoff.maxDelayMs ?? 1000;
  const jitter = backoff.jitter ?? 0.5;
  const ceilingMs = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceilingMs * (1 - jitter) + ceilingMs * jitter * random());
}
