/** A shared counter (Curator's SharedCount and DistributedAtomicLong). */
import type { ZabClient } from '@zabkit/client';
import type { CachedNode, CacheOptions } from './internal/cache-engine.js';
import { TypedEmitter } from './internal/util-emitter.js';
import {
  ensurePath,
  isCode,
  isConnectionLoss,
  OutcomeUnknownError,
  parentPath,
  retryIdempotent,
  waitForConnection,
} from './internal/util-zk.js';
import { NodeCache } from './node-cache.js';

/** A counter value with the node version it was read at (for {@link SharedCounter.trySet}). */
export interface VersionedValue {
  readonly value: number;
  readonly version: number;
}

/** The events of a {@link SharedCounter}. */
export type SharedCounterEvents = {
  /** The value changed (seen through a watch; fast changes may be coalesced). */
  changed: [value: VersionedValue];
  error: [error: unknown];
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encoding: the value as decimal ASCII text (an empty node reads as 0). */
function encode(value: number): Uint8Array {
  return encoder.encode(String(value));
}

/** Null data (a node another client created with null) counts as empty: 0. */
function decode(data: Uint8Array | null): number {
  const text = data === null ? '' : decoder.decode(data).trim();
  if (text === '') return 0;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`not a counter value: ${JSON.stringify(text)}`);
  return value;
}

/**
 * A counter shared through the node at `path`, holding its value as decimal text.
 *
 * `add` is a compare-and-set loop on the node's version (setData with the version read), so
 * concurrent adds from any number of clients never lose an update. After a ConnectionLoss
 * the counter re-reads the node: if its version is unchanged the write was not applied and
 * is retried; otherwise (someone, maybe this write, changed it) `add`/`trySet` reject with
 * {@link OutcomeUnknownError} rather than guess. `start` watches the node for `changed`
 * events (through a {@link NodeCache}).
 */
export class SharedCounter extends TypedEmitter<SharedCounterEvents> {
  private cache: NodeCache | undefined;
  private ready = false;

  constructor(
    private readonly zk: ZabClient,
    readonly path: string,
    private readonly initial = 0,
  ) {
    super();
  }

  private async ensure(): Promise<void> {
    if (this.ready) return;
    await ensurePath(this.zk, parentPath(this.path));
    await retryIdempotent(this.zk, async () => {
      try {
        await this.zk.create(this.path, encode(this.initial));
      } catch (error) {
        if (!isCode(error, 'NodeExists')) throw error;
      }
    });
    this.ready = true;
  }

  /** Creates the node if needed and starts emitting `changed`. */
  async start(options: CacheOptions = {}): Promise<void> {
    await this.ensure();
    const cache = new NodeCache(this.zk, this.path, options);
    cache.on('changed', (node: CachedNode) => this.emitValue(node));
    cache.on('created', (node: CachedNode) => this.emitValue(node));
    cache.on('error', (error) => this.fire('error', error));
    await cache.start();
    this.cache = cache;
  }

  private emitValue(node: CachedNode): void {
    try {
      this.fire('changed', { value: decode(node.data), version: node.stat.version });
    } catch (error) {
      this.fire('error', error);
    }
  }

  /** The current value and version, read from the server. */
  async getVersioned(): Promise<VersionedValue> {
    await this.ensure();
    const { data, stat } = await retryIdempotent(this.zk, () => this.zk.getData(this.path));
    return { value: decode(data), version: stat.version };
  }

  /** The current value, read from the server. */
  async get(): Promise<number> {
    return (await this.getVersioned()).value;
  }

  /** Sets the value unconditionally. */
  async set(value: number): Promise<void> {
    await this.ensure();
    await retryIdempotent(this.zk, () => this.zk.setData(this.path, encode(value)));
  }

  /**
   * Sets the value only if the node is still at `expectedVersion` (from `getVersioned`):
   * true when set, false when someone changed it since.
   */
  async trySet(value: number, expectedVersion: number): Promise<boolean> {
    await this.ensure();
    for (;;) {
      try {
        await this.zk.setData(this.path, encode(value), expectedVersion);
        return true;
      } catch (error) {
        if (isCode(error, 'BadVersion')) return false;
        if (!isConnectionLoss(error)) throw error;
        await waitForConnection(this.zk);
        const now = await this.getVersioned();
        if (now.version === expectedVersion) continue; // not applied: try again
        throw new OutcomeUnknownError(`the outcome of setting ${this.path} is unknown`, undefined, error);
      }
    }
  }

  /** Adds `delta` atomically (a CAS retry loop) and resolves with the new value. */
  async add(delta: number): Promise<number> {
    if (!Number.isSafeInteger(delta)) throw new RangeError('delta must be a safe integer');
    for (;;) {
      const { value, version } = await this.getVersioned();
      if (await this.trySet(value + delta, version)) return value + delta;
    }
  }

  /** `add(1)`. */
  increment(): Promise<number> {
    return this.add(1);
  }

  /** `add(-1)`. */
  decrement(): Promise<number> {
    return this.add(-1);
  }

  /** Stops the `changed` events and removes the watch. */
  async close(): Promise<void> {
    await this.cache?.close();
    this.cache = undefined;
  }
}
