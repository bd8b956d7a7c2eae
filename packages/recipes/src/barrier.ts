/**
 * A distributed barrier (Curator's DistributedBarrier): while the barrier node exists,
 * waiters block; removing it lets every waiter through.
 */
import type { WatchedEvent, ZabClient } from '@zabkit/client';
import {
  Deadline,
  ensurePath,
  isCode,
  parentPath,
  retryIdempotent,
  type WaitOptions,
  waitForWatch,
} from './internal/util-zk.js';

/**
 * A barrier at `path`. `setBarrier` raises it, `removeBarrier` lowers it, and
 * `waitOnBarrier` blocks until it is lowered (or times out). All three are idempotent and
 * retry on ConnectionLoss; a wait rejects when the session expires or the client closes.
 */
export class Barrier {
  constructor(
    private readonly zk: ZabClient,
    readonly path: string,
  ) {}

  /** Raises the barrier (creates its persistent node and any missing parents). */
  async setBarrier(): Promise<void> {
    await ensurePath(this.zk, parentPath(this.path));
    await retryIdempotent(this.zk, async () => {
      try {
        await this.zk.create(this.path, '');
      } catch (error) {
        if (!isCode(error, 'NodeExists')) throw error;
      }
    });
  }

  /** Lowers the barrier: every waiter is released. A missing barrier is fine. */
  async removeBarrier(): Promise<void> {
    await retryIdempotent(this.zk, async () => {
      try {
        await this.zk.delete(this.path);
      } catch (error) {
        if (!isCode(error, 'NoNode')) throw error;
      }
    });
  }

  /**
   * Blocks until the barrier is gone: true then, false when `timeoutMs` passes first.
   * Rejects with the abort reason on `signal`, or a ZabError when the session ends.
   * The watch it sets is removed when it gives up.
   */
  async waitOnBarrier(options: WaitOptions = {}): Promise<boolean> {
    const deadline = new Deadline(options.timeoutMs);
    for (;;) {
      const outcome = await waitForWatch(
        this.zk,
        async (wake) => {
          const listener = (_event: WatchedEvent) => wake();
          const stat = await this.zk.exists(this.path, { watch: listener });
          return {
            ready: stat === null,
            disarm: () => this.zk.removeWatches(this.path, 'data', listener),
          };
        },
        deadline,
        options.signal,
      );
      if (outcome === 'timeout') return false;
      if ((await retryIdempotent(this.zk, () => this.zk.exists(this.path))) === null) return true;
    }
  }
}
