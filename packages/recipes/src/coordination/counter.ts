/**
 * A shared counter (Curator's SharedCount and DistributedAtomicLong): a 64-bit signed value
 * in a znode, as 8 big-endian bytes, changed by versioned compare-and-set so concurrent
 * increments never lose each other.
 */
import type { ZabClient } from '@zabkit/client';
import { ensurePath, isCode, retryOnConnectionLoss } from '../internal/support.js';

const encode = (value: bigint) => {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigInt64(0, BigInt.asIntN(64, value));
  return bytes;
};
const decode = (bytes: Uint8Array) =>
  bytes.length === 8 ? new DataView(bytes.buffer, bytes.byteOffset, 8).getBigInt64(0) : 0n;

/** A value and the znode version it was read at, for `trySet`. */
export interface VersionedValue {
  readonly value: bigint;
  readonly version: number;
}

export class SharedCounter {
  constructor(
    private readonly zk: ZabClient,
    readonly path: string,
    readonly initial: bigint = 0n,
  ) {}

  private async ensure(): Promise<void> {
    const parent = this.path.slice(0, this.path.lastIndexOf('/'));
    if (parent.length > 0) await retryOnConnectionLoss(this.zk, () => ensurePath(this.zk, parent));
    try {
      await retryOnConnectionLoss(this.zk, () => this.zk.create(this.path, encode(this.initial)));
    } catch (error) {
      if (!isCode(error, 'NodeExists')) throw error;
    }
  }

  /** The current value with its version. */
  async get(): Promise<VersionedValue> {
    await this.ensure();
    const { data, stat } = await retryOnConnectionLoss(this.zk, () => this.zk.getData(this.path));
    return { value: decode(data), version: stat.version };
  }

  /** Sets the value only if nobody changed it since `previous` was read; false otherwise. */
  async trySet(previous: VersionedValue, value: bigint): Promise<boolean> {
    try {
      await this.zk.setData(this.path, encode(value), previous.version);
      return true;
    } catch (error) {
      if (isCode(error, 'BadVersion')) return false;
      throw error;
    }
  }

  /** Sets the value unconditionally. */
  async set(value: bigint): Promise<void> {
    await this.ensure();
    await retryOnConnectionLoss(this.zk, () => this.zk.setData(this.path, encode(value)));
  }

  /**
   * Adds `delta` and resolves with the new value. A lost reply is not retried blindly (the
   * add may have happened): it rejects with ConnectionLoss, the outcome unknown.
   */
  async add(delta: bigint | number): Promise<bigint> {
    for (;;) {
      const current = await this.get();
      const next = current.value + BigInt(delta);
      if (await this.trySet(current, next)) return next;
    }
  }

  /** Adds one. */
  increment(): Promise<bigint> {
    return this.add(1n);
  }
}
