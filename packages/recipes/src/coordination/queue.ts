/**
 * Distributed queues (Curator's DistributedQueue and DistributedPriorityQueue): items are
 * persistent sequential nodes; a consumer takes the head by deleting it, so each item goes
 * to exactly one consumer. A take whose delete's reply was lost cannot know whether it got
 * the item: it reports that (OutcomeUnknownError) rather than guess.
 */
import type { ZabClient } from '@zabkit/client';
import { ensurePath, isCode, retryOnConnectionLoss, waitFor } from '../internal/support.js';

/** A take whose outcome is unknown: `data` may or may not have been taken by this consumer. */
export class OutcomeUnknownError extends Error {
  constructor(
    readonly path: string,
    readonly data: Uint8Array,
  ) {
    super(`the connection was lost while taking ${path}: it may or may not have been taken`);
    this.name = 'OutcomeUnknownError';
  }
}

export interface TakeOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** A FIFO queue of byte strings under `path`. */
export class DistributedQueue {
  constructor(
    protected readonly zk: ZabClient,
    readonly path: string,
  ) {}

  /** The order items are taken in: by name, which is by sequence for a plain queue. */
  protected order(names: string[]): string[] {
    return names.filter((name) => name.startsWith('qn-')).sort();
  }

  /** Adds an item. A put whose reply was lost is retried only if the item is not there. */
  async put(data: Uint8Array | string): Promise<string> {
    return this.putNamed('qn-', data);
  }

  protected async putNamed(name: string, data: Uint8Array | string): Promise<string> {
    await retryOnConnectionLoss(this.zk, () => ensurePath(this.zk, this.path));
    // Not retried blindly: a lost reply may hide a created item, and a second would duplicate it.
    return this.zk.create(`${this.path}/${name}`, data, { mode: 'persistentSequential' });
  }

  /** The number of items waiting. */
  async size(): Promise<number> {
    await retryOnConnectionLoss(this.zk, () => ensurePath(this.zk, this.path));
    return this.order(await retryOnConnectionLoss(this.zk, () => this.zk.getChildren(this.path))).length;
  }

  /** The head item without taking it, or undefined when empty. */
  async peek(): Promise<Uint8Array | undefined> {
    await retryOnConnectionLoss(this.zk, () => ensurePath(this.zk, this.path));
    for (const name of this.order(
      await retryOnConnectionLoss(this.zk, () => this.zk.getChildren(this.path)),
    )) {
      try {
        return (await this.zk.getData(`${this.path}/${name}`)).data;
      } catch (error) {
        if (!isCode(error, 'NoNode')) throw error;
      }
    }
    return undefined;
  }

  /** Takes the head item, waiting for one; undefined on timeout. */
  async take(options: TakeOptions = {}): Promise<Uint8Array | undefined> {
    const deadlineMs = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
    await retryOnConnectionLoss(this.zk, () => ensurePath(this.zk, this.path));
    for (;;) {
      let names: string[] = [];
      const outcome = await waitFor(
        this.zk,
        async (wake) => {
          names = this.order(
            await retryOnConnectionLoss(this.zk, () => this.zk.getChildren(this.path, { watch: wake })),
          );
          if (names.length > 0) wake();
        },
        { deadlineMs, signal: options.signal },
      );
      for (const name of names) {
        const taken = await this.tryTake(`${this.path}/${name}`);
        if (taken !== undefined) return taken;
      }
      if (outcome === 'timeout') return undefined;
    }
  }

  /** Reads then deletes one item; undefined when another consumer got there first. */
  private async tryTake(path: string): Promise<Uint8Array | undefined> {
    let data: Uint8Array;
    try {
      data = (await retryOnConnectionLoss(this.zk, () => this.zk.getData(path))).data;
    } catch (error) {
      if (isCode(error, 'NoNode')) return undefined;
      throw error;
    }
    try {
      await this.zk.delete(path);
      return data;
    } catch (error) {
      if (isCode(error, 'NoNode')) return undefined;
      if (isCode(error, 'ConnectionLoss', 'OperationTimeout')) throw new OutcomeUnknownError(path, data);
      throw error;
    }
  }
}

/**
 * A queue ordered by priority, then arrival: lower numbers first, as Curator's. Priorities
 * are 32-bit signed integers.
 */
export class DistributedPriorityQueue extends DistributedQueue {
  /** Adds an item with a priority (lower goes first). */
  async putWithPriority(data: Uint8Array | string, priority: number): Promise<string> {
    if (!Number.isInteger(priority) || priority < -(2 ** 31) || priority >= 2 ** 31)
      throw new RangeError('priority must be a 32-bit integer');
    // Offset to unsigned and fixed width, so names sort by priority then by sequence.
    const key = (priority + 2 ** 31).toString(16).padStart(8, '0');
    return this.putNamed(`qn-${key}-`, data);
  }

  /** Adds an item at priority 0. */
  override put(data: Uint8Array | string): Promise<string> {
    return this.putWithPriority(data, 0);
  }
}
