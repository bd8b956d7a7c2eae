/**
 * A counting semaphore (Curator's InterProcessSemaphoreV2).
 */
import type { ZabClient } from '@zabkit/client';
import {
  abortError,
  bySequence,
  createProtected,
  Deadline,
  deleteNode,
  deletePrefixedInBackground,
  isCode,
  newProtectedPrefix,
  OneShotWatch,
  retry,
  sessionEnded,
  sessionEndedError,
} from './internal/lock-core.js';
import type { AcquireOptions } from './internal/lock-reentrant.js';
import { Mutex } from './lock.js';

/** What a semaphore acquire may be given. */
export interface SemaphoreAcquireOptions extends AcquireOptions {
  /** How many leases to take, all or none (default 1, at most `maxLeases`). */
  readonly count?: number;
}

/**
 * Leases granted by one acquire; `close` gives them all back, as does the end of an
 * `await using lease = await semaphore.acquire()` block. A lease is an ephemeral node, so
 * leases also go back when the holder's session ends.
 */
export interface Lease extends AsyncDisposable {
  /** The lease nodes, one per lease. */
  readonly paths: readonly string[];
  /** How many leases this holds. */
  readonly count: number;
  /** False once closed. */
  readonly isOpen: boolean;
  /** Deletes the lease nodes (retrying through ConnectionLoss); closing twice is fine. */
  close(): Promise<void>;
}

/**
 * At most `maxLeases` leases out at once across the ensemble, for every Semaphore object on
 * `path` (all must agree on `maxLeases`).
 *
 * Leases are ephemeral sequential nodes under `path/leases`. A waiter first takes the
 * internal Mutex at `path/lock` (so waiters are served in order and only one of them ever
 * watches), makes its lease node, and while there are more than `maxLeases` lease nodes it
 * waits on a children watch of `path/leases`; then it releases the mutex.
 *
 * ConnectionLoss is waited out. A holder's leases are gone once its session expires; a
 * pending acquire then rejects with SessionExpired.
 */
export class Semaphore {
  private readonly leasesPath: string;
  private readonly lockPath: string;

  constructor(
    private readonly zk: ZabClient,
    readonly path: string,
    readonly maxLeases: number,
  ) {
    if (!Number.isInteger(maxLeases) || maxLeases < 1)
      throw new RangeError('maxLeases must be a positive integer');
    this.leasesPath = `${path}/leases`;
    this.lockPath = `${path}/lock`;
  }

  /**
   * Takes `count` leases (default 1), waiting for them. Resolves undefined on timeout (and
   * gives back any lease it had taken); rejects on abort (likewise) or when the session ends.
   */
  async acquire(options: SemaphoreAcquireOptions = {}): Promise<Lease | undefined> {
    const count = options.count ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > this.maxLeases)
      throw new RangeError(`count must be an integer from 1 to ${this.maxLeases}`);
    const deadline = new Deadline(options.timeoutMs, options.signal);
    const taken: string[] = [];
    try {
      while (taken.length < count) taken.push(await this.acquireOne(deadline.signal));
      return this.lease(taken);
    } catch (error) {
      for (const path of taken) await deleteNode(this.zk, path);
      if (deadline.isTimeout(error)) return undefined;
      throw error;
    } finally {
      deadline.dispose();
    }
  }

  /** The lease nodes now out (names, in the order they were made). */
  async leases(): Promise<string[]> {
    try {
      return bySequence(await retry(this.zk, () => this.zk.getChildren(this.leasesPath)));
    } catch (error) {
      if (sessionEnded(this.zk)) throw sessionEndedError(this.zk);
      if (isCode(error, 'NoNode')) return [];
      throw error;
    }
  }

  private lease(paths: readonly string[]): Lease {
    let open = true;
    const zk = this.zk;
    const close = async () => {
      if (!open) return;
      open = false;
      for (const path of paths) await deleteNode(zk, path);
    };
    return {
      paths,
      count: paths.length,
      get isOpen() {
        return open;
      },
      close,
      [Symbol.asyncDispose]: close,
    };
  }

  /** Takes one lease under the guard mutex. Rejects with the signal's reason on abort/timeout. */
  private async acquireOne(signal: AbortSignal): Promise<string> {
    const guard = new Mutex(this.zk, this.lockPath);
    if (!(await guard.acquire({ signal }))) throw abortError(signal);
    const prefix = newProtectedPrefix(this.zk);
    let ours: string | undefined;
    try {
      ours = await createProtected(this.zk, this.leasesPath, prefix, 'lease-', '', signal);
      const ourName = ours.slice(this.leasesPath.length + 1);
      for (;;) {
        const watch = new OneShotWatch(this.zk, this.leasesPath, 'children');
        try {
          const children = await retry(
            this.zk,
            () => this.zk.getChildren(this.leasesPath, { watch: watch.listener }),
            signal,
          );
          watch.armed();
          if (!children.includes(ourName)) {
            if (sessionEnded(this.zk)) throw sessionEndedError(this.zk);
            throw new Error(`the lease node ${ours} vanished`);
          }
          // A create whose reply was lost can land after its retry: such a stray is ours.
          const strays = children.filter((name) => name.startsWith(prefix) && name !== ourName);
          for (const stray of strays) await deleteNode(this.zk, `${this.leasesPath}/${stray}`);
          if (children.length - strays.length <= this.maxLeases) return ours;
          await watch.wait(signal);
        } finally {
          watch.cancel();
        }
      }
    } catch (error) {
      if (ours !== undefined) await deleteNode(this.zk, ours);
      else if (!sessionEnded(this.zk)) deletePrefixedInBackground(this.zk, this.leasesPath, prefix);
      throw error;
    } finally {
      if (guard.isHeld) await guard.release();
    }
  }
}
