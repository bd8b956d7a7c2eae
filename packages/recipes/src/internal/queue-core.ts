/**
 * The machinery of the distributed queues: items are persistent sequential nodes named
 * `qn-...`, consumed by an atomic delete-and-claim so that a lost reply never leaves a
 * consumer unsure whether it took an item, and added with an atomic create-and-mark so that
 * a lost reply never leaves a producer unsure whether its item went in.
 */
import type { Data, WatchedEvent, ZabClient } from '@zabkit/client';
import {
  childPath,
  Deadline,
  ensurePath,
  isCode,
  isConnectionLoss,
  OutcomeUnknownError,
  retryIdempotent,
  type WaitOptions,
  waitForConnection,
  waitForWatch,
} from './util-zk.js';

export const itemPrefix = 'qn-';
const markerPrefix = 'put-';
const claimPrefix = 'claim-';

/** Shared by DistributedQueue and DistributedPriorityQueue. */
export class QueueCore {
  private parentReady = false;

  constructor(
    readonly zk: ZabClient,
    readonly path: string,
  ) {}

  private async ensureParent(): Promise<void> {
    if (this.parentReady) return;
    await ensurePath(this.zk, this.path);
    this.parentReady = true;
  }

  /**
   * Adds an item named `qn-<infix><sequence>`. The item is created in one transaction with
   * an ephemeral marker of this put; after a ConnectionLoss the marker tells whether the
   * transaction was applied, and a retry with the same marker cannot apply twice.
   */
  async put(infix: string, data: Data): Promise<void> {
    await this.ensureParent();
    const marker = childPath(this.path, `${markerPrefix}${this.zk.randomId()}`);
    for (;;) {
      try {
        await this.zk
          .transaction()
          .create(childPath(this.path, `${itemPrefix}${infix}`), data, { mode: 'persistentSequential' })
          .create(marker, '', { mode: 'ephemeral' })
          .commit();
        break;
      } catch (error) {
        if (isCode(error, 'NodeExists')) break; // the marker is ours: an earlier attempt went in
        if (isCode(error, 'NoNode')) {
          this.parentReady = false;
          await this.ensureParent();
          continue;
        }
        if (!isConnectionLoss(error)) throw error;
        if (await this.markerExists(marker, error)) break;
      }
    }
    await this.deleteQuietly(marker);
  }

  /** After a ConnectionLoss: is our ephemeral node there? Unknown (session lost) throws. */
  private async markerExists(marker: string, cause: unknown, value?: Uint8Array): Promise<boolean> {
    try {
      await waitForConnection(this.zk);
      await retryIdempotent(this.zk, () => this.zk.sync(this.path));
      const stat = await retryIdempotent(this.zk, () => this.zk.exists(marker));
      return stat !== null && stat.ephemeralOwner === this.zk.sessionId;
    } catch (error) {
      throw new OutcomeUnknownError(
        `the session ended before the outcome of the operation on ${this.path} was known`,
        value,
        error ?? cause,
      );
    }
  }

  private async deleteQuietly(path: string): Promise<void> {
    try {
      await retryIdempotent(this.zk, () => this.zk.delete(path));
    } catch {
      // NoNode, or the session ended: an ephemeral marker goes with its session anyway.
    }
  }

  /** The item names, in queue order. */
  async items(): Promise<string[]> {
    try {
      const children = await retryIdempotent(this.zk, () => this.zk.getChildren(this.path));
      return children.filter((name) => name.startsWith(itemPrefix)).sort();
    } catch (error) {
      if (isCode(error, 'NoNode')) return [];
      throw error;
    }
  }

  /** The head item's data without removing it, or undefined for an empty queue. */
  async peek(): Promise<Uint8Array | undefined> {
    for (const name of await this.items()) {
      try {
        const { data } = await retryIdempotent(this.zk, () => this.zk.getData(childPath(this.path, name)));
        return data ?? new Uint8Array(0);
      } catch (error) {
        if (!isCode(error, 'NoNode')) throw error;
      }
    }
    return undefined;
  }

  /** Takes the head item if there is one, without blocking. */
  async poll(): Promise<Uint8Array | undefined> {
    for (const name of await this.items()) {
      let data: Uint8Array;
      try {
        data =
          (await retryIdempotent(this.zk, () => this.zk.getData(childPath(this.path, name)))).data ??
          new Uint8Array(0);
      } catch (error) {
        if (isCode(error, 'NoNode')) continue; // another consumer took it
        throw error;
      }
      if (await this.claim(name, data)) return data;
    }
    return undefined;
  }

  /**
   * Deletes item `name` together with creating an ephemeral claim node: the claim tells,
   * after a ConnectionLoss, whether this consumer's delete was the one applied.
   */
  private async claim(name: string, data: Uint8Array): Promise<boolean> {
    const item = childPath(this.path, name);
    const claim = childPath(this.path, `${claimPrefix}${name}`);
    for (;;) {
      try {
        await this.zk.transaction().delete(item).create(claim, '', { mode: 'ephemeral' }).commit();
        break;
      } catch (error) {
        if (isCode(error, 'NoNode')) return false; // another consumer took it
        if (isCode(error, 'SessionExpired'))
          throw new OutcomeUnknownError(`the session expired while taking ${item}`, data, error);
        if (!isConnectionLoss(error) && !isCode(error, 'NodeExists')) throw error;
        if (await this.markerExists(claim, error, data)) break;
        if ((await retryIdempotent(this.zk, () => this.zk.exists(item))) === null) return false;
      }
    }
    await this.deleteQuietly(claim);
    return true;
  }

  /** Blocks until an item is taken (its data) or the timeout passes (undefined). */
  async take(options: WaitOptions = {}): Promise<Uint8Array | undefined> {
    const deadline = new Deadline(options.timeoutMs);
    for (;;) {
      options.signal?.throwIfAborted();
      const data = await this.poll();
      if (data !== undefined) return data;
      const outcome = await waitForWatch(
        this.zk,
        async (wake) => {
          const listener = (_event: WatchedEvent) => wake();
          let children: string[];
          try {
            children = await this.zk.getChildren(this.path, { watch: listener });
          } catch (error) {
            if (!isCode(error, 'NoNode')) throw error;
            await this.ensureParent();
            return { ready: true };
          }
          return {
            ready: children.some((child) => child.startsWith(itemPrefix)),
            disarm: () => this.zk.removeWatches(this.path, 'children', listener),
          };
        },
        deadline,
        options.signal,
      );
      if (outcome === 'timeout') return undefined;
    }
  }
}
