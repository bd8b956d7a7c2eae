/**
 * What the lock and leader recipes share (Curator's LockInternals and friends): error
 * tests, retrying through ConnectionLoss, protected sequential creates that survive a lost
 * reply, one-shot watches that are removed when nobody waits for them any more, a timeout
 * folded into an AbortSignal, and the herd-free wait of a lock contender.
 */
import { ErrorCode, type WatchListener, type ZabClient, ZabError } from '@zabkit/client';

import { abortError, ensurePath, isCode, retryIdempotent as retry } from './util-zk.js';

// Shared with the other recipes; re-exported so the lock recipes import from one place.
export {
  abortError,
  ensurePath,
  isCode,
  isConnected,
  retryIdempotent as retry,
  waitForConnection,
} from './util-zk.js';

/** True once the client's session is over for good (expired or closed). */
export function sessionEnded(zk: ZabClient): boolean {
  return zk.state === 'expired' || zk.state === 'closed';
}

/** The error for a session that is over: SessionExpired, or ConnectionLoss for a closed client. */
export function sessionEndedError(zk: ZabClient): ZabError {
  return zk.state === 'expired'
    ? new ZabError(ErrorCode.SessionExpired, undefined, 'the session expired')
    : new ZabError(ErrorCode.ConnectionLoss, undefined, 'the client was closed');
}

/**
 * A fresh protected-name prefix (Curator's `_c_<uuid>-`), one per sequential create; the id
 * comes from the client's source of chance, so a seeded client replays the same names.
 */
export function newProtectedPrefix(zk: ZabClient): string {
  return `_c_${zk.randomId()}-`;
}

/** The sequence number ZooKeeper appended to a sequential node's name (its last 10 digits). */
export function sequenceOf(name: string): number {
  const digits = /(\d{10})$/.exec(name);
  return digits === null ? Number.POSITIVE_INFINITY : Number(digits[1]);
}

/** Names in the order ZooKeeper created them (by sequence suffix, then by name). */
export function bySequence(names: readonly string[]): string[] {
  return [...names].sort((a, b) => sequenceOf(a) - sequenceOf(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Creates the ephemeral sequential node `parent/<prefix><name>NNNNNNNNNN`. Missing parents
 * are made. On ConnectionLoss the create's outcome is unknown: once reconnected it syncs and
 * looks for a child carrying `prefix` (made by this call alone) before trying again, so it
 * neither leaks a node nor makes two.
 */
export async function createProtected(
  zk: ZabClient,
  parent: string,
  prefix: string,
  name: string,
  data: Uint8Array | string = '',
  signal?: AbortSignal,
): Promise<string> {
  for (;;) {
    if (signal?.aborted) throw abortError(signal);
    try {
      return await zk.create(`${parent}/${prefix}${name}`, data, { mode: 'ephemeralSequential' });
    } catch (error) {
      if (isCode(error, 'NoNode')) {
        await ensurePath(zk, parent, signal);
        continue;
      }
      if (!isCode(error, 'ConnectionLoss', 'OperationTimeout')) throw error;
      const found = await findPrefixed(zk, parent, prefix, signal);
      if (found.length > 0) return `${parent}/${found[0]}`;
    }
  }
}

/** Children of `parent` carrying `prefix`, read after a sync (so a lagging server cannot hide one). */
async function findPrefixed(zk: ZabClient, parent: string, prefix: string, signal?: AbortSignal) {
  return retry(
    zk,
    async () => {
      await zk.sync(parent);
      try {
        return bySequence((await zk.getChildren(parent)).filter((child) => child.startsWith(prefix)));
      } catch (error) {
        if (isCode(error, 'NoNode')) return [];
        throw error;
      }
    },
    signal,
  );
}

/**
 * Deletes `path`, retrying through ConnectionLoss. Already gone is fine, and so is a session
 * that ended (its ephemeral nodes went with it). Other errors reject.
 */
export async function deleteNode(zk: ZabClient, path: string): Promise<void> {
  try {
    await retry(zk, () => zk.delete(path));
  } catch (error) {
    if (isCode(error, 'NoNode', 'SessionExpired')) return;
    if (sessionEnded(zk)) return;
    throw error;
  }
}

/**
 * Deletes, in the background, whatever a create with `prefix` may have left under `parent`
 * (a create given up while its outcome was unknown). Never rejects.
 */
export function deletePrefixedInBackground(zk: ZabClient, parent: string, prefix: string): void {
  void (async () => {
    for (const child of await findPrefixed(zk, parent, prefix)) await deleteNode(zk, `${parent}/${child}`);
  })().catch(() => undefined);
}

/**
 * A one-shot watch whose listener can be waited for, and removed (client and server side)
 * when it is no longer wanted, so no watch dangles after a timeout, an abort or a close.
 */
export class OneShotWatch {
  private fired = false;
  private registered = false;
  private wake: (() => void) | undefined;
  /** The listener to pass as `{ watch }`. */
  readonly listener: WatchListener = () => {
    this.fired = true;
    this.wake?.();
    this.onFire?.();
  };

  constructor(
    private readonly zk: ZabClient,
    private readonly path: string,
    private readonly type: 'data' | 'children',
    private readonly onFire?: () => void,
  ) {}

  /** Records that a read carrying `listener` succeeded, so the server holds the watch. */
  armed(): void {
    this.registered = true;
  }

  /** Waits for the watch to fire; rejects on abort, or when the session ends. */
  wait(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const finish = (error?: Error) => {
        this.wake = undefined;
        stop();
        signal?.removeEventListener('abort', onAbort);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onAbort = () => finish(abortError(signal!));
      const stop = this.zk.onStateChange(() => {
        if (sessionEnded(this.zk)) finish(sessionEndedError(this.zk));
      });
      if (this.fired) return finish();
      if (signal?.aborted) return onAbort();
      if (sessionEnded(this.zk)) return finish(sessionEndedError(this.zk));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.wake = () => finish();
    });
  }

  /** Removes the listener if it is registered and has not fired. */
  cancel(): void {
    if (!this.registered || this.fired) return;
    this.registered = false;
    this.zk.removeWatches(this.path, this.type, this.listener).catch(() => undefined);
  }
}

/**
 * An optional timeout and an optional caller's signal folded into one signal. When the
 * timeout fires the signal aborts with `timeoutError`, which `isTimeout` recognises.
 */
export class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout> | undefined;
  private readonly onCallerAbort: (() => void) | undefined;
  readonly timeoutError = new Error('timed out');

  constructor(
    timeoutMs: number | undefined,
    private readonly callerSignal?: AbortSignal,
  ) {
    this.timeoutError.name = 'TimeoutError';
    if (callerSignal?.aborted) this.controller.abort(abortError(callerSignal));
    else if (callerSignal !== undefined) {
      this.onCallerAbort = () => this.controller.abort(abortError(callerSignal));
      callerSignal.addEventListener('abort', this.onCallerAbort, { once: true });
    }
    if (timeoutMs !== undefined && !this.controller.signal.aborted) {
      this.timer = setTimeout(() => this.controller.abort(this.timeoutError), Math.max(0, timeoutMs));
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  isTimeout(error: unknown): boolean {
    return error === this.timeoutError;
  }

  /** Clears the timer and stops following the caller's signal. */
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.onCallerAbort !== undefined) this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
  }
}

/**
 * Decides whether the contender at `index` among the sorted contenders may proceed:
 * `null` when it holds the lock, otherwise the name of the one node it must wait for.
 */
export type LockRule = (children: readonly string[], index: number) => string | null;

/** How one kind of contender takes part in a lock directory. */
export interface LockDriver {
  /** The node name after the protected prefix, e.g. `lock-`. */
  readonly name: string;
  readonly rule: LockRule;
  /** Which children of the directory are contenders (default: all). */
  readonly isContender?: (name: string) => boolean;
}

/** At most `n` holders: a contender waits for the one `n` places ahead of it. */
export function firstN(n: number): LockRule {
  return (children, index) => (index < n ? null : children[index - n]!);
}

/**
 * One contender kind in a lock directory: makes an ephemeral sequential node and waits,
 * watching only the node the rule names (never the directory), until the rule lets it in.
 */
export class LockCore {
  constructor(
    readonly zk: ZabClient,
    readonly path: string,
    private readonly driver: LockDriver,
    private readonly data: Uint8Array | string = '',
  ) {}

  /**
   * Makes a node and waits its turn. Resolves with the node's path once held, or undefined
   * on timeout (its node deleted). Rejects on abort (node deleted), or with SessionExpired
   * when the session ends; ConnectionLoss is waited out.
   */
  async attempt(options: { timeoutMs?: number | undefined; signal?: AbortSignal | undefined }) {
    const deadline = new Deadline(options.timeoutMs, options.signal);
    const { signal } = deadline;
    const prefix = newProtectedPrefix(this.zk);
    let ours: string | undefined;
    try {
      if (signal.aborted) throw abortError(signal);
      ours = await createProtected(this.zk, this.path, prefix, this.driver.name, this.data, signal);
      const ourName = ours.slice(this.path.length + 1);
      for (;;) {
        const all = await retry(this.zk, () => this.zk.getChildren(this.path), signal);
        const children = bySequence(
          all.filter(
            (name) =>
              (this.driver.isContender?.(name) ?? true) && (!name.startsWith(prefix) || name === ourName),
          ),
        );
        // A create whose reply was lost can land after its retry: such a stray is ours to delete.
        for (const stray of all) {
          if (stray.startsWith(prefix) && stray !== ourName)
            void deleteNode(this.zk, `${this.path}/${stray}`).catch(() => undefined);
        }
        const index = children.indexOf(ourName);
        if (index < 0) {
          if (sessionEnded(this.zk)) throw sessionEndedError(this.zk);
          throw new ZabError(ErrorCode.NoNode, ours, 'the lock node vanished');
        }
        const blocker = this.driver.rule(children, index);
        if (blocker === null) return ours;
        await this.waitForDeletion(`${this.path}/${blocker}`, signal);
      }
    } catch (error) {
      if (ours !== undefined) await deleteNode(this.zk, ours);
      else if (!sessionEnded(this.zk)) deletePrefixedInBackground(this.zk, this.path, prefix);
      if (deadline.isTimeout(error)) return undefined;
      throw error;
    } finally {
      deadline.dispose();
    }
  }

  /** Waits until `path` changes or goes (a data watch via getData: no watch is left if it is gone). */
  private async waitForDeletion(path: string, signal: AbortSignal): Promise<void> {
    const watch = new OneShotWatch(this.zk, path, 'data');
    try {
      const present = await retry(
        this.zk,
        async () => {
          try {
            await this.zk.getData(path, { watch: watch.listener });
            return true;
          } catch (error) {
            if (isCode(error, 'NoNode')) return false;
            throw error;
          }
        },
        signal,
      );
      if (!present) return;
      watch.armed();
      await watch.wait(signal);
    } finally {
      watch.cancel();
    }
  }

  /** The contenders' node names, in queue order. */
  async participants(): Promise<string[]> {
    try {
      const all = await retry(this.zk, () => this.zk.getChildren(this.path));
      return bySequence(all.filter((name) => this.driver.isContender?.(name) ?? true));
    } catch (error) {
      if (isCode(error, 'NoNode')) return [];
      throw error;
    }
  }
}
