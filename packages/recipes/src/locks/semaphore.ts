/**
 * A counting semaphore (Curator's InterProcessSemaphoreV2): at most `maxLeases` leases are
 * out at once across the ensemble. A lease is an ephemeral node, so a holder whose session
 * ends gives its lease back. Waiters are served in order through a guard mutex.
 */
import type { ZabClient } from '@zabkit/client';
import {
  bySequence,
  createProtected,
  ensurePath,
  isCode,
  protectedPrefix,
  retryOnConnectionLoss,
  waitFor,
} from '../internal/support.js';
import { type AcquireOptions, Mutex } from './mutex.js';

/** A granted lease; `close` gives it back. */
export interface Lease {
  readonly path: string;
  close(): Promise<void>;
}

export class Semaphore {
  private readonly leasesPath: string;
  private readonly guard: Mutex;

  constructor(
    private readonly zk: ZabClient,
    readonly path: string,
    readonly maxLeases: number,
  ) {
    if (!Number.isInteger(maxLeases) || maxLeases < 1)
      throw new RangeError('maxLeases must be a positive integer');
    this.leasesPath = `${path}/leases`;
    this.guard = new Mutex(zk, `${path}/lock`);
  }

  /**
   * Waits for a lease. Resolves undefined on timeout; rejects on abort or session end.
   * The guard mutex keeps waiters in order: the first in line takes the next free lease.
   */
  async acquire(options: AcquireOptions = {}): Promise<Lease | undefined> {
    const started = Date.now();
    const remaining = () =>
      options.timeoutMs === undefined ? undefined : Math.max(0, options.timeoutMs - (Date.now() - started));
    if (!(await this.guard.acquire({ timeoutMs: remaining(), signal: options.signal } as AcquireOptions)))
      return undefined;
    let lease: string | undefined;
    try {
      await retryOnConnectionLoss(this.zk, () => ensurePath(this.zk, this.leasesPath));
      lease = await createProtected(
        this.zk,
        this.leasesPath,
        protectedPrefix(),
        'lease-',
        'ephemeralSequential',
      );
      const ourName = lease.slice(this.leasesPath.length + 1);
      const deadlineMs = options.timeoutMs === undefined ? undefined : started + options.timeoutMs;
      for (;;) {
        let children: string[] = [];
        const outcome = await waitFor(
          this.zk,
          async (wake) => {
            children = bySequence(
              await retryOnConnectionLoss(this.zk, () =>
                this.zk.getChildren(this.leasesPath, { watch: wake }),
              ),
            );
            if (children.indexOf(ourName) < this.maxLeases) wake();
          },
          { deadlineMs, signal: options.signal },
        );
        if (children.indexOf(ourName) < 0) throw new Error('the lease node vanished: the session was lost');
        if (outcome === 'woken' && children.indexOf(ourName) < this.maxLeases) break;
        if (outcome === 'timeout') {
          await this.deleteLease(lease);
          return undefined;
        }
      }
      const path = lease;
      return { path, close: () => this.deleteLease(path) };
    } catch (error) {
      if (lease !== undefined) await this.deleteLease(lease).catch(() => undefined);
      throw error;
    } finally {
      if (this.guard.isHeld) await this.guard.release().catch(() => undefined);
    }
  }

  private async deleteLease(path: string): Promise<void> {
    try {
      await retryOnConnectionLoss(this.zk, () => this.zk.delete(path));
    } catch (error) {
      if (!isCode(error, 'NoNode', 'SessionExpired')) throw error;
    }
  }
}
