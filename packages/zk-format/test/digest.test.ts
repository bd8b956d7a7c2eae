/**
 * ZooKeeper's per-node digest (DigestCalculator, version 2) against a CRC32 written here bit
 * by bit, over every way a znode's data may arrive, empty data above all: zlib.crc32 on Node
 * 20 and 22 drops the running CRC for an empty array whose ArrayBuffer lives outside the heap.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type StatPersisted, zkNodeDigest } from '../src/index.js';

/** CRC-32 (IEEE, reflected, as java.util.zip.CRC32), one bit at a time. */
function referenceCrc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** What DigestCalculator feeds its CRC: the path ("" for the root), the data, the Stat fields. */
function referenceDigest(path: string, data: Uint8Array | null, s: StatPersisted): bigint {
  if (path.startsWith('/zookeeper/')) return 0n;
  const stat = new DataView(new ArrayBuffer(60));
  stat.setBigInt64(0, s.czxid);
  stat.setBigInt64(8, s.mzxid);
  stat.setBigInt64(16, s.pzxid);
  stat.setBigInt64(24, s.ctime);
  stat.setBigInt64(32, s.mtime);
  stat.setInt32(40, s.version);
  stat.setInt32(44, s.cversion);
  stat.setInt32(48, s.aversion);
  stat.setBigInt64(52, s.ephemeralOwner);
  const pathBytes = new TextEncoder().encode(path === '/' ? '' : path);
  const all = new Uint8Array(pathBytes.length + (data?.length ?? 0) + 60);
  all.set(pathBytes, 0);
  if (data !== null) all.set(data, pathBytes.length);
  all.set(new Uint8Array(stat.buffer), all.length - 60);
  return BigInt(referenceCrc32(all));
}

const long = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const int = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const statArbitrary: fc.Arbitrary<StatPersisted> = fc.record({
  czxid: long,
  mzxid: long,
  pzxid: long,
  ctime: long,
  mtime: long,
  version: int,
  cversion: int,
  aversion: int,
  ephemeralOwner: long,
});

/** Empty data as the readers and the tree may hand it over. */
const emptyData: Record<string, () => Uint8Array> = {
  'a fresh empty array': () => new Uint8Array(0),
  'an empty array whose buffer was read': () => {
    const data = new Uint8Array(0);
    void data.buffer;
    return data;
  },
  'a view of an empty ArrayBuffer': () => new Uint8Array(new ArrayBuffer(0)),
  'an empty view inside a larger buffer': () => new Uint8Array(16).subarray(7, 7),
  'an empty Buffer': () => Buffer.alloc(0),
  'an empty copy of a view': () => new Uint8Array(new Uint8Array(8).subarray(3, 3)),
};

describe("ZooKeeper's node digest", () => {
  it('is the CRC32 of path, data and Stat, for any data however it is held', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constant('/'),
          fc.constant('/zookeeper'),
          fc.string().map((name) => `/${name}`),
        ),
        fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
        fc.nat({ max: 8 }),
        statArbitrary,
        (path, data, offset, stat) => {
          const expected = referenceDigest(path, data, stat);
          expect(zkNodeDigest(path, data, stat)).toBe(expected);
          if (data === null) return;
          // The same bytes as a view at an offset into a buffer, after its buffer was read.
          const holder = new Uint8Array(offset + data.length + 3);
          holder.set(data, offset);
          const view = holder.subarray(offset, offset + data.length);
          void view.buffer;
          expect(zkNodeDigest(path, view, stat)).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  for (const [how, make] of Object.entries(emptyData))
    it(`counts ${how} as no data, as ZooKeeper does (null and empty alike)`, () => {
      const stat: StatPersisted = {
        czxid: 3n,
        mzxid: 4n,
        pzxid: 5n,
        ctime: 1_700_000_000_000n,
        mtime: 1_700_000_000_001n,
        version: 1,
        cversion: 2,
        aversion: 0,
        ephemeralOwner: 0n,
      };
      const expected = referenceDigest('/zookeeper', null, stat);
      expect(zkNodeDigest('/zookeeper', make(), stat)).toBe(expected);
      expect(zkNodeDigest('/zookeeper', null, stat)).toBe(expected);
    });
});
