import { describe, expect, it } from 'vitest';
import { Ids } from '../../src/acl.js';
import { persistentLifetime } from '../../src/tree/lifetime.js';
import { Znode } from '../../src/tree/znode.js';
import { zxid } from '../../src/zxid.js';

const node = (data: Uint8Array | null) =>
  new Znode(data, Ids.openAclUnsafe, zxid(5n), 1_000, persistentLifetime);

describe('Znode', () => {
  it('keeps data loaded as part of a larger buffer as offset and length, and reads it back the same', () => {
    const chunk = new Uint8Array([9, 9, 1, 2, 3, 9]);
    const loaded = node(null);
    loaded.setLoadedData(chunk.subarray(2, 5));
    expect([...loaded.data!]).toEqual([1, 2, 3]);
    expect(loaded.dataLength).toBe(3);
    expect(loaded.stat().dataLength).toBe(3);
    // Each read is a view of the same bytes, not a copy.
    expect(loaded.data!.buffer).toBe(chunk.buffer);
    expect(loaded.data!.byteOffset).toBe(2);
    // Data of its own is kept as it is; null stays null; a set replaces a loaded one.
    const own = new Uint8Array([4, 5]);
    loaded.setLoadedData(own);
    expect(loaded.data).toBe(own);
    loaded.setLoadedData(null);
    expect(loaded.data).toBeNull();
    expect(loaded.stat().dataLength).toBe(0);
    loaded.setLoadedData(chunk.subarray(0, 1));
    loaded.data = own;
    expect(loaded.data).toBe(own);
    expect(loaded.dataLength).toBe(2);
    expect(node(new Uint8Array(0)).data?.length).toBe(0);
  });

  it('reads back every ctime exactly, whether or not it fits the two halves it is kept in', () => {
    const times = [
      0,
      -0,
      1,
      -1,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 32 - 1,
      2 ** 32,
      -(2 ** 32),
      -(2 ** 32) - 1,
      1_764_000_123_456,
      -1_764_000_123_456,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
      2 ** 60,
      1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
    ];
    for (const time of times) {
      const n = new Znode(null, Ids.openAclUnsafe, zxid(5n), time, persistentLifetime);
      expect(Object.is(n.ctime, time), `ctime ${time}`).toBe(true);
      expect(Object.is(n.stat().ctime, time), `stat ctime ${time}`).toBe(true);
      expect(Object.is(n.mtime, time), `mtime ${time}`).toBe(true);
    }
  });

  it('reads the mtime as set, whether or not it equals the ctime', () => {
    const n = node(null);
    expect(n.mtime).toBe(1_000);
    n.mtime = 2_000;
    expect(n.mtime).toBe(2_000);
    expect(n.stat().mtime).toBe(2_000);
    expect(n.stat().ctime).toBe(1_000);
    n.mtime = 1_000;
    expect(n.mtime).toBe(1_000);
  });
});
