/**
 * Snapshots never stall an ensemble all at once: each replica snapshots after a number of
 * applied transactions drawn between snapCount/2 and snapCount (as ZooKeeper rolls it), from a
 * seed its driver draws at random, so the core stays deterministic.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CreateMode,
  counterOf,
  Ids,
  resolvePeerOptions,
  SnapshotStream,
  type TreeSnapshot,
} from '../../src/index.js';
import { SnapshotPoints } from '../../src/zab/applier.js';
import { Cluster } from './cluster.js';

const create = (path: string) => ({
  op: 'create' as const,
  path,
  data: new Uint8Array(0),
  acl: Ids.openAclUnsafe,
  mode: CreateMode.Persistent,
  ttlMs: -1n,
});

describe('snapshot points', () => {
  it('lie between snapCount/2 and snapCount, and the same seed draws the same ones', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer(), (snapCount, seed) => {
        const points = new SnapshotPoints(snapCount, seed);
        const again = new SnapshotPoints(snapCount, seed);
        for (let i = 0; i < 20; i++) {
          const point = points.next();
          expect(point).toBeGreaterThanOrEqual(Math.ceil(snapCount / 2));
          expect(point).toBeLessThanOrEqual(snapCount);
          expect(again.next()).toBe(point);
        }
      }),
    );
  });

  it('spread over the whole range, and differ from seed to seed', () => {
    const drawn = new Set<number>();
    const points = new SnapshotPoints(10, 7);
    for (let i = 0; i < 200; i++) drawn.add(points.next());
    expect([...drawn].sort((a, b) => a - b)).toEqual([5, 6, 7, 8, 9, 10]);
    const firsts = new Set([1, 2, 3, 4, 5, 6].map((seed) => new SnapshotPoints(100_000, seed).next()));
    expect(firsts.size).toBeGreaterThan(1);
  });

  it('default to the server id as the seed, and refuse one that is not an integer', () => {
    expect(resolvePeerOptions({ serverId: 2, voters: [1, 2, 3] }).snapshotRandomSeed).toBe(2);
    expect(() => resolvePeerOptions({ serverId: 2, voters: [1, 2, 3], snapshotRandomSeed: 0.5 })).toThrow(
      /snapshotRandomSeed must be an integer/,
    );
  });

  it('fall at different zxids on the replicas of one ensemble', () => {
    const cluster = new Cluster({ voters: 3, peer: { snapCount: 10 } });
    cluster.stabilize();
    const session = cluster.connect(cluster.leader()!);
    for (let i = 0; i < 60; i++) expect(cluster.request(session, create(`/n${i}`)).ok).toBe(true);
    cluster.stabilize();
    const snapshotsOf = (id: number) =>
      cluster.nodes.get(id)!.durable.snapshots.map((s) => counterOf(s.zxid));
    const taken = [1, 2, 3].map(snapshotsOf);
    for (const counters of taken) {
      expect(counters.length).toBeGreaterThanOrEqual(2);
      // Every replica applied the same transactions: the gaps are the drawn points.
      for (let i = 1; i < counters.length; i++) {
        expect(counters[i]! - counters[i - 1]!).toBeGreaterThanOrEqual(5);
        expect(counters[i]! - counters[i - 1]!).toBeLessThanOrEqual(10);
      }
    }
    expect(new Set(taken.map((counters) => counters.join(','))).size).toBeGreaterThan(1);
  });

  it('wait while the one before is still being read out of the tree, and follow it once it is out', () => {
    const cluster = new Cluster({ voters: 1, peer: { snapCount: 4 } });
    cluster.stabilize();
    // A store that writes snapshots slowly: it keeps each stream and reads it only when told.
    const image = cluster.nodes.get(1)!.durable;
    const held: SnapshotStream[] = [];
    const save = image.saveSnapshot.bind(image);
    image.saveSnapshot = (snapshot: TreeSnapshot) => {
      if (snapshot instanceof SnapshotStream) held.push(snapshot);
      else save(snapshot);
    };
    const session = cluster.connect(1);
    const write = (i: number) => {
      expect(cluster.request(session, create(`/n${i}`)).ok).toBe(true);
      cluster.stabilize();
    };
    for (let i = 0; i < 12; i++) write(i);
    // One snapshot began; the next fell due (more than snapCount applied since) and waits.
    expect(held).toHaveLength(1);
    const deferred = cluster.events(1).filter((event) => event.kind === 'snapshotDeferred');
    expect(deferred).toHaveLength(1);
    const first = held[0]!;
    let nodes = 0;
    for (let slice = first.take(2, 1 << 20); slice !== undefined; slice = first.take(2, 1 << 20))
      nodes += slice.length;
    expect(nodes).toBe(first.nodesFound);
    // Out of the tree: the next transaction applied takes the waiting snapshot at once.
    write(12);
    expect(held).toHaveLength(2);
    expect(held[1]!.zxid > first.zxid).toBe(true);
    expect(cluster.events(1).filter((event) => event.kind === 'snapshotDeferred')).toHaveLength(1);
  });
});
