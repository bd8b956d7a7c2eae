/** A distributed priority queue (Curator's DistributedPriorityQueue). */
import type { Data, ZabClient } from '@zabkit/client';
import { QueueCore } from './internal/queue-core.js';
import type { TakeOptions } from './queue.js';

const offset = 2 ** 31;

/** The priority part of an item's name: sorting names sorts by priority, then FIFO. */
function encodePriority(priority: number): string {
  if (!Number.isInteger(priority) || priority < -offset || priority >= offset)
    throw new RangeError('priority must be a 32-bit integer');
  return (priority + offset).toString(16).padStart(8, '0');
}

/**
 * A queue whose items come out lowest priority number first, and among equal priorities in
 * FIFO order: an item is the node `qn-<priority as 8 hex digits, offset>-<sequence>`, so the
 * name order is the take order. Same guarantees as {@link DistributedQueue} (exactly-once,
 * outcome-unknown reported), which it shares its implementation with.
 */
export class DistributedPriorityQueue {
  private readonly core: QueueCore;

  constructor(
    zk: ZabClient,
    readonly path: string,
  ) {
    this.core = new QueueCore(zk, path);
  }

  /** Adds an item with `priority`, a 32-bit integer; lower numbers are taken first. */
  put(data: Data, priority: number): Promise<void> {
    return this.core.put(`${encodePriority(priority)}-`, data);
  }

  /** Removes and returns the first item, blocking until there is one (undefined on timeout). */
  take(options: TakeOptions = {}): Promise<Uint8Array | undefined> {
    return this.core.take(options);
  }

  /** Removes and returns the first item, or undefined at once. */
  poll(): Promise<Uint8Array | undefined> {
    return this.core.poll();
  }

  /** The first item's data, left in the queue. */
  peek(): Promise<Uint8Array | undefined> {
    return this.core.peek();
  }

  /** The number of items now. */
  async size(): Promise<number> {
    return (await this.core.items()).length;
  }
}
