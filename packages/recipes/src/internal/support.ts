/**
 * What every recipe needs: making parent paths, recognising ZooKeeper's error codes,
 * ordering sequential nodes, and waiting for a watch, a deadline, an abort or the end of
 * the session, whichever comes first.
 */
import { randomUUID } from 'node:crypto';
import { type ClientState, type ZabClient, ZabError } from '@zabkit/client';
import type { ErrorName } from '@zabkit/core';

/** True when `error` is a ZabError carrying one of the named codes. */
export function isCode(error: unknown, ...names: ErrorName[]): error is ZabError {
  return error instanceof ZabError && names.some((name) => error.is(name));
}

/** The error an aborted wait rejects with, as fetch and timers/promises do. */
export function abortError(signal: AbortSignal): Error {
  const reason = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new Error('the operation was aborted');
  error.name = 'AbortError';
  return error;
}

/** Creates `path` and its missing ancestors as persistent nodes; existing ones are fine. */
export async function ensurePath(zk: ZabClient, path: string): Promise<void> {
  const parts = path.split('/').filter((part) => part.length > 0);
  let at = '';
  for (const part of parts) {
    at += `/${part}`;
    if ((await zk.exists(at)) !== null) continue;
    try {
      await zk.create(at, '');
    } catch (error) {
      if (!isCode(error, 'NodeExists')) throw error;
    }
  }
}

/** The 10-digit sequence ZooKeeper appends to a sequential node's name. */
export function sequenceOf(name: string): number {
  return Number(name.slice(-10));
}

/** Names ordered by their sequence suffix (the order ZooKeeper created them in). */
export function bySequence(names: readonly string[]): string[] {
  return [...names].sort((a, b) => sequenceOf(a) - sequenceOf(b));
}

/**
 * A name prefix unique to one recipe instance, as Curator's protected mode uses: after a
 * ConnectionLoss on a sequential create, the instance can find the node it may have made.
 */
export function protectedPrefix(): string {
  return `_c_${randomUUID()}-`;
}

/**
 * Creates a sequential node under `parent` named `${prefix}${name}`, surviving a lost reply:
 * on ConnectionLoss it looks for a child with its prefix before trying again, so it never
 * leaves an orphan behind nor makes two.
 */
export async function createProtected(
  zk: ZabClient,
  parent: string,
  prefix: string,
  name: string,
  mode: 'ephemeralSequential' | 'persistentSequential',
  data: Uint8Array | string = '',
): Promise<string> {
  for (;;) {
    try {
      return await zk.create(`${parent}/${prefix}${name}`, data, { mode });
    } catch (error) {
      if (!isCode(error, 'ConnectionLoss', 'OperationTimeout')) throw error;
      // The server we are on now may not have seen our create yet (reads may lag): sync
      // first, or we would miss the node we made and make a second one.
      const mine = await retryOnConnectionLoss(zk, async () => {
        await zk.sync(parent);
        return zk.getChildren(parent);
      });
      const found = mine.find((child) => child.startsWith(prefix));
      if (found !== undefined) return `${parent}/${found}`;
    }
  }
}

/** Runs `operation` again after each ConnectionLoss, once the client has reconnected. */
export async function retryOnConnectionLoss<T>(zk: ZabClient, operation: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await operation();
    } catch (error) {
      if (!isCode(error, 'ConnectionLoss', 'OperationTimeout')) throw error;
      await waitForConnection(zk);
    }
  }
}

const connectedStates: ReadonlySet<ClientState> = new Set(['connected', 'connectedReadOnly']);

/** Resolves once the client is connected again; rejects if its session ends instead. */
export function waitForConnection(zk: ZabClient): Promise<void> {
  if (connectedStates.has(zk.state)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const stop = zk.onStateChange((state) => {
      if (connectedStates.has(state)) {
        stop();
        resolve();
      } else if (state === 'expired' || state === 'closed') {
        stop();
        reject(new ZabError(state === 'expired' ? -112 : -4, undefined, `client is ${state}`));
      }
    });
    if (zk.state === 'expired' || zk.state === 'closed') {
      stop();
      reject(new ZabError(zk.state === 'expired' ? -112 : -4, undefined, `client is ${zk.state}`));
    }
  });
}

export interface WaitOptions {
  /** Absolute time (Date.now() scale, or the client's timers) after which the wait gives up. */
  readonly deadlineMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /** The clock the deadline is on. Default Date.now. */
  readonly now?: () => number;
}

/**
 * Waits until `wake` is called (by a watch), the deadline passes ('timeout'), the signal
 * aborts (rejects with an AbortError) or the session ends (rejects with SessionExpired or
 * ConnectionLoss). `arm` sets the watch and may wake at once.
 */
export function waitFor(
  zk: ZabClient,
  arm: (wake: () => void) => Promise<void> | void,
  options: WaitOptions = {},
): Promise<'woken' | 'timeout'> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (outcome: 'woken' | 'timeout' | Error) => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      stopState();
      options.signal?.removeEventListener('abort', onAbort);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const onAbort = () => finish(abortError(options.signal!));
    const stopState = zk.onStateChange((state) => {
      if (state === 'expired') finish(new ZabError(-112, undefined, 'the session expired'));
      else if (state === 'closed') finish(new ZabError(-4, undefined, 'the client was closed'));
    });
    if (options.signal?.aborted) {
      onAbort();
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.deadlineMs !== undefined) {
      const remaining = options.deadlineMs - (options.now ?? Date.now)();
      if (remaining <= 0) {
        finish('timeout');
        return;
      }
      timer = setTimeout(() => finish('timeout'), remaining);
    }
    Promise.resolve()
      .then(() => arm(() => finish('woken')))
      .catch((error: unknown) => finish(error instanceof Error ? error : new Error(String(error))));
  });
}
