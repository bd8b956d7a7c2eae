/**
 * Zxids: the 64-bit transaction ids of ZAB, epoch in the high 32 bits and a counter in the
 * low 32. One representation everywhere: a branded bigint, so that a zxid cannot be mixed up
 * with a session id or a plain count by accident.
 */
import { assert } from './errors.js';

/** A ZooKeeper transaction id: epoch and counter in 64 bits, branded so plain bigints are not taken for one. */
export type Zxid = bigint & { readonly __zxid: unique symbol };

const counterMask = 0xffff_ffffn;
/** The largest counter a zxid may carry; a leader at this counter must start a new epoch. */
export const zxidCounterMax = 0xffff_ffffn;

/** The zxid before any transaction. */
export const zeroZxid = zxid(0n);

/** Brands a bigint as a zxid after checking it fits in 64 unsigned bits. */
export function zxid(value: bigint): Zxid {
  assert(value >= 0n && value <= 0xffff_ffff_ffff_ffffn, () => `zxid out of range: ${value}`);
  return value as Zxid;
}

/** A zxid from its epoch (high 32 bits) and counter (low 32 bits). */
export function makeZxid(epoch: number | bigint, counter: number | bigint): Zxid {
  const e = BigInt(epoch);
  const c = BigInt(counter);
  assert(e >= 0n && e <= 0xffff_ffffn, () => `epoch out of range: ${e}`);
  assert(c >= 0n && c <= counterMask, () => `counter out of range: ${c}`);
  return zxid((e << 32n) | c);
}

/** The epoch of a zxid. */
export function epochOf(z: Zxid): number {
  return Number(z >> 32n);
}

/** The counter of a zxid within its epoch. */
export function counterOf(z: Zxid): number {
  return Number(z & counterMask);
}

/** The zxid after `z` in the same epoch. Asserts the counter has room: callers check first. */
export function nextZxid(z: Zxid): Zxid {
  assert((z & counterMask) < zxidCounterMax, () => `zxid counter exhausted in epoch ${epochOf(z)}`);
  return zxid(z + 1n);
}

/** The later of two zxids. */
export function maxZxid(a: Zxid, b: Zxid): Zxid {
  return a > b ? a : b;
}

/** Hex form as ZooKeeper prints it (0x100000003). */
export function formatZxid(z: Zxid): string {
  return `0x${z.toString(16)}`;
}
