/** A distributed FIFO queue (Curator's SimpleDistributedQueue / DistributedQueue). */
import type { Data, ZabClient } from '@zabkit/client';
import { QueueCore } from './internal/queue-core.js';
import type { WaitOptions } from './internal/util-zk.js';

export { OutcomeUnknownError } from './internal/util-zk.js';

/** Options of a blocking `take`. */
export type TakeOptions = WaitOptions;

/**
 * A FIFO queue of byte items under `path`: each item is a persistent sequential node
 * `qn-<sequence>`, so items come out in the order the server created them (FIFO per producer,
 * and overall in commit order).
 *
 * Guarantees: every acknowledged `put` is in the queue exactly once; every item is handed
 * to exactly one successful `take`. A consumer claims the head by deleting it (with an
 * ephemeral claim node in the same transaction); losing the race to another consumer just
 * moves on to the next item. After a ConnectionLoss, both `put` and `take` find out
 * whether their transaction was applied and never report success for an unknown outcome:
 * when the session ends before they can tell, they reject with {@link OutcomeUnknownError}
 * (for a take, carrying the item's data in `value`, as it may have been consumed).
 */
export class DistributedQueue {
  private readonly core: QueueCore;

  constructor(
    zk: ZabClient,
    readonly path: string,
  ) {
    this.core = new QueueCore(zk, path);
  }

  /** Appends an item (creating the queue's parents if needed). */
  put(data: Data): Promise<void> {
    return this.core.put('', data);
  }

  /**
   * Removes and returns the head item, blocking until there is one: undefined when
   * `timeoutMs` passes first; rejects with the abort reason on `signal`, or when the session ends.
   */
  take(options: TakeOptions = {}): Promise<Uint8Array | undefined> {
    return this.core.take(options);
  }

  /** Removes and returns the head item, or undefined at once when the queue is empty. */
  poll(): Promise<Uint8Array | undefined> {
    return this.core.poll();
  }

  /** The head item's data, left in the queue; undefined when empty. */
  peek(): Promise<Uint8Array | undefined> {
    return this.core.peek();
  }

  /** The number of items in the queue now. */
  async size(): Promise<number> {
    return (await this.core.items()).length;
  }
}
