/**
 * ZooKeeper's per-node digest (DigestCalculator, version 2) against the tree digest ZooKeeper
 * 3.8 wrote in a snapshot, over every way a znode's data may arrive, empty data above all:
 * zlib.crc32 on Node 20 and 22 drops the running CRC for an empty array whose ArrayBuffer
 * lives outside the heap.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readSnapshot, type SnapshotNodeRecord, type ZxidDigest, zkNodeDigest } from '../src/index.js';
import { stat } from './arbitraries.js';

/** snapshot.26 of the snapshot-digest-behind fixture: its digest matches its nodes. */
function zookeeperSnapshot(): { nodes: SnapshotNodeRecord[]; digest: ZxidDigest } {
  const file = fileURLToPath(
    new URL('./fixtures/snapshot-digest-behind/version-2/snapshot.26', import.meta.url),
  );
  const nodes: SnapshotNodeRecord[] = [];
  const trailer = readSnapshot(readFileSync(file), file, {
    session: () => undefined,
    acls: () => undefined,
    node: (path, data, aclRef, stat) => nodes.push({ path, data, aclRef, stat }),
    endOfNodes: () => undefined,
  });
  return { nodes, digest: trailer.digest! };
}

/** The tree digest as ZooKeeper adds it up: the nodes' digests, summed as Java longs. */
const treeDigest = (nodes: readonly SnapshotNodeRecord[]) =>
  nodes.reduce((sum, node) => BigInt.asIntN(64, sum + zkNodeDigest(node.path, node.data, node.stat)), 0n);

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
  const snapshot = zookeeperSnapshot();

  it('adds up to the tree digest ZooKeeper 3.8 wrote, /zookeeper/ excluded', () => {
    expect(snapshot.digest).toEqual({ zxid: 0x26n, digestVersion: 2, digest: 48531082816n });
    expect(treeDigest(snapshot.nodes)).toBe(snapshot.digest.digest);
    // The premise of the cases below: an empty node that counts, and nodes with data.
    expect(snapshot.nodes.find((node) => node.path === '/zookeeper')?.data?.length ?? 0).toBe(0);
    expect(snapshot.nodes.filter((node) => (node.data?.length ?? 0) > 0).length).toBeGreaterThan(10);
  });

  for (const [how, make] of [...Object.entries(emptyData), ['null', () => null] as const])
    it(`counts ${how} as no data, as ZooKeeper does: the tree digest stays ZooKeeper's`, () => {
      const nodes = snapshot.nodes.map((node) =>
        node.path === '/zookeeper' ? { ...node, data: make() } : node,
      );
      expect(treeDigest(nodes)).toBe(snapshot.digest.digest);
    });

  it('is the same for the same bytes however they are held', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constant('/'),
          fc.constant('/zookeeper'),
          fc.string().map((name) => `/${name}`),
        ),
        fc.uint8Array({ maxLength: 40 }),
        fc.nat({ max: 8 }),
        stat,
        (path, data, offset, s) => {
          const expected = zkNodeDigest(path, Uint8Array.from(data), s);
          if (data.length === 0) expect(expected).toBe(zkNodeDigest(path, null, s));
          // The same bytes as a view at an offset into a buffer, after its buffer was read.
          const holder = new Uint8Array(offset + data.length + 3);
          holder.set(data, offset);
          const view = holder.subarray(offset, offset + data.length);
          void view.buffer;
          expect(zkNodeDigest(path, view, s)).toBe(expected);
          expect(zkNodeDigest(path, Buffer.from(data), s)).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
