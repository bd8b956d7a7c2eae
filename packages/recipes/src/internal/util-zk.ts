/**
 * Helpers shared by the barrier, queue, counter, membership, discovery and cache recipes:
 * error recognition, parent creation, waiting for a connection, and a cancellable wait for
 * a watch that honours a deadline, an AbortSignal and the end of the session.
 */
import { type ClientState, type ZabClient, ZabError } from '@zabkit/client';
import { ErrorCode, type ErrorName } from '@zabkit/core';

/** True when `error` is a ZabError carrying one of the named codes. */
export function isCode(error: unknown, ...names: ErrorName[]): error is ZabError {
  return error instanceof ZabError && names.some((name) => error.is(name));
}

/** Errors after which the recipe must find out whether its request was applied (SessionMoved: it was not, but re-checking is harmless). */
export function isConnectionLoss(error: unknown): boolean {
  return isCode(error, 'ConnectionLoss', 'OperationTimeout', 'SessionMoved');
}

/**
 * Thrown when an operation's outcome is unknown: its connection (or session) was lost
 * before the reply came and the recipe could not tell whether it was applied. `value` holds
 * what the operation would have returned (e.g. a taken item's data), when there is one.
 */
export class OutcomeUnknownError extends Error {
  constructor(
    message: string,
    readonly value?: Uint8Array,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'OutcomeUnknownError';
  }
}

/** The error an aborted wait rejects with. */
export function abortError(signal: AbortSignal): Error {
  if (signal.reason instanceof Error) return signal.reason;
  const error = new Error('the operation was aborted');
  error.name = 'AbortError';
  return error;
}

/** `parent/child`, with the root handled. */
export function childPath(parent: string, child: string): string {
  return parent === '/' ? `/${child}` : `${parent}/${child}`;
}

/** The parent of a non-root path. */
export function parentPath(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

/** The last segment of a path. */
export function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Number of segments between `root` and `path` (0 for the root itself). */
export function depthBelow(root: string, path: string): number {
  if (path === root) return 0;
  const rest = root === '/' ? path.slice(1) : path.slice(root.length + 1);
  return rest.split('/').length;
}

/** True when `path` is `root` or below it. */
export function isUnder(root: string, path: string): boolean {
  return root === '/' || path === root || path.startsWith(`${root}/`);
}

const connected: ReadonlySet<ClientState> = new Set(['connected', 'connectedReadOnly']);

/** True while the client has a live connection. */
export function isConnected(zk: ZabClient): boolean {
  return connected.has(zk.state);
}

function endedError(state: ClientState): ZabError {
  return new ZabError(
    state === 'expired' ? ErrorCode.SessionExpired : ErrorCode.ConnectionLoss,
    undefined,
    `client is ${state}`,
  );
}

/**
 * Resolves once the client is connected; rejects with SessionExpired (or ConnectionLoss
 * for a closed client) when its session ends first, or with an AbortError on `signal`.
 */
export function waitForConnection(zk: ZabClient, signal?: AbortSignal): Promise<void> {
  if (isConnected(zk)) return Promise.resolve();
  if (zk.state === 'expired' || zk.state === 'closed') return Promise.reject(endedError(zk.state));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      stop();
      reject(abortError(signal!));
    };
    const stop = zk.onStateChange((state) => {
      if (connected.has(state)) {
        stop();
        signal?.removeEventListener('abort', onAbort);
        resolve();
      } else if (state === 'expired' || state === 'closed') {
        stop();
        signal?.removeEventListener('abort', onAbort);
        reject(endedError(state));
      }
    });
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs an idempotent `operation`, again after each ConnectionLoss once reconnected. Only
 * for operations whose repetition is harmless (reads, creating a fixed persistent path,
 * deletes whose NoNode the caller accepts). Checks `signal` before each try.
 */
export async function retryIdempotent<T>(
  zk: ZabClient,
  operation: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  for (;;) {
    if (signal?.aborted) throw abortError(signal);
    try {
      return await operation();
    } catch (error) {
      if (!isConnectionLoss(error)) throw error;
      await waitForConnection(zk, signal);
    }
  }
}

/** Creates `path` and its missing ancestors as empty persistent nodes; NodeExists is fine. */
export async function ensurePath(zk: ZabClient, path: string, signal?: AbortSignal): Promise<void> {
  let at = '';
  for (const part of path.split('/').filter((segment) => segment.length > 0)) {
    at += `/${part}`;
    await retryIdempotent(
      zk,
      async () => {
        if ((await zk.exists(at)) !== null) return;
        try {
          await zk.create(at, '');
        } catch (error) {
          if (!isCode(error, 'NodeExists')) throw error;
        }
      },
      signal,
    );
  }
}

/** Options every blocking recipe call takes. */
export interface WaitOptions {
  /** Give up after this many milliseconds (the call then reports false / undefined). */
  readonly timeoutMs?: number;
  /** Abort the wait: the call rejects with the signal's reason (an AbortError by default). */
  readonly signal?: AbortSignal;
}

/**
 * A deadline computed once from WaitOptions, shared by the steps of one blocking call; on the
 * monotonic clock, so that a wall-clock jump neither ends a wait early nor stretches it.
 */
export class Deadline {
  private readonly at: number | undefined;
  constructor(timeoutMs: number | undefined) {
    this.at = timeoutMs === undefined ? undefined : performance.now() + Math.max(0, timeoutMs);
  }
  /** Milliseconds left, or undefined for no deadline. */
  remaining(): number | undefined {
    return this.at === undefined ? undefined : Math.max(0, this.at - performance.now());
  }
  expired(): boolean {
    return this.at !== undefined && performance.now() >= this.at;
  }
}

/** How `arm` registers its watch: it calls `wake` (from a watch listener) to end the wait. */
export type Arm = (
  wake: () => void,
) => Promise<{ ready?: boolean; disarm?: () => Promise<void> } | undefined>;

/**
 * Waits for a watch: `arm` registers it (and may report the condition already holds with
 * `ready`). Resolves 'woken' when the watch fires or the client reconnects (so the caller
 * re-checks), 'timeout' at the deadline; rejects on abort or when the session ends. The
 * timer, the state listener and (through `disarm`) the watch are removed whatever happens.
 */
export function waitForWatch(
  zk: ZabClient,
  arm: Arm,
  deadline: Deadline,
  signal?: AbortSignal,
): Promise<'woken' | 'timeout'> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let disarm: (() => Promise<void>) | undefined;
    let woken = false;
    const finish = (outcome: 'woken' | 'timeout' | Error) => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      stopState();
      signal?.removeEventListener('abort', onAbort);
      if (!woken && disarm !== undefined) void disarm().catch(() => undefined);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const onAbort = () => finish(abortError(signal!));
    let wasDisconnected = false;
    const stopState = zk.onStateChange((state) => {
      if (state === 'disconnected') wasDisconnected = true;
      else if (connected.has(state) && wasDisconnected) finish('woken');
      else if (state === 'expired' || state === 'closed') finish(endedError(state));
    });
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const remaining = deadline.remaining();
    if (remaining !== undefined) {
      if (remaining <= 0) return finish('timeout');
      timer = setTimeout(() => finish('timeout'), remaining);
    }
    const wake = () => {
      woken = true;
      finish('woken');
    };
    arm(wake).then(
      (armed) => {
        disarm = armed?.disarm;
        if (armed?.ready) {
          woken = false;
          finish('woken');
        } else if (settled && !woken && disarm !== undefined) {
          void disarm().catch(() => undefined);
        }
      },
      (error: unknown) => {
        if (isConnectionLoss(error)) {
          // Re-check once connected again.
          waitForConnection(zk, signal).then(
            () => finish('woken'),
            (cause: unknown) => finish(cause instanceof Error ? cause : new Error(String(cause))),
          );
          return;
        }
        finish(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** A promise of `ms` milliseconds that an AbortSignal can cut short (rejecting). */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
