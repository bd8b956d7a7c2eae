/**
 * Copies of znode data read by a caller in the same process, for it to own. A fresh ArrayBuffer per copy
 * costs about 700 ns in V8 (a backing store and its tracking, then the sweeper's work), ten
 * times what copying 100 bytes does; so small copies are carved from shared 8 KiB slabs, as
 * Node's Buffer pool does. A copy keeps its slab alive while the caller holds it; copies of
 * other data in the same slab are disjoint, so changing one changes no other. Not for what
 * is kept as long as a znode (a write's bytes): each would keep a whole slab alive.
 */

/** The size of a slab that small copies are carved from. */
const slabBytes = 8 * 1024;
/** Copies up to this size share slabs; larger ones get a buffer of their own. */
const pooledBytesMax = slabBytes / 8;

let slab = new ArrayBuffer(slabBytes);
let slabUsed = 0;

/** A copy of `data` that nothing else holds (null stays null). */
export function ownedCopy(data: Uint8Array | null): Uint8Array | null {
  if (data === null) return null;
  const length = data.length;
  if (length > pooledBytesMax) return new Uint8Array(data);
  if (slabUsed + length > slabBytes) {
    slab = new ArrayBuffer(slabBytes);
    slabUsed = 0;
  }
  const copy = new Uint8Array(slab, slabUsed, length);
  copy.set(data);
  // Kept 8-byte aligned, as Node's pool keeps its Buffers.
  slabUsed += (length + 7) & ~7;
  return copy;
}
