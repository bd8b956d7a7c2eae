/**
 * Time comes with every step: a write is stamped with the wall clock of the step that
 * prepared it (ZooKeeper stamps a transaction with its leader's wall clock when it prepares
 * it), not with the time of the last tick.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CreateMode, decodedSessionId, ErrorCode, ttlEphemeralOwner, zxid } from '../src/index.js';
import { DataTree } from '../src/tree/data-tree.js';
import { ContainerCollector } from '../src/zab/container-collector.js';
import { Harness } from './harness.js';
import { create, getData, setData } from './requests-helpers.js';
import { Cluster } from './zab/cluster.js';

describe('transaction times', () => {
  it('stamps ctime and mtime with the step that prepared the write, to the millisecond', () => {
    const h = new Harness({ tickTimeMs: 2000 });
    const s = h.connect();
    h.nowMs += 3;
    h.ok(s, create('/a'));
    // No tick in between: only the steps carry the time.
    h.nowMs += 100;
    h.ok(s, setData('/a', 'x'));
    const { stat } = h.ok(s, getData('/a'));
    expect(stat.mtime - stat.ctime).toBe(100);
    expect(stat.mtime).toBe(h.nowMs);
  });

  it('never stamps a write earlier than one before it, whatever the clock reads', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -500, max: 500 }), { minLength: 1, maxLength: 30 }), (moves) => {
        const h = new Harness();
        const s = h.connect();
        h.ok(s, create('/n'));
        let latest = h.ok(s, getData('/n')).stat.mtime;
        for (const moveMs of moves) {
          h.nowMs += moveMs;
          h.ok(s, setData('/n', 'v'));
          const { mtime } = h.ok(s, getData('/n')).stat;
          // The clock only moves forward inside a peer: a reading back in time stamps the latest seen.
          expect(mtime).toBe(Math.max(latest, h.nowMs));
          latest = mtime;
        }
      }),
    );
  });

  it("stamps a write forwarded by a follower with the leader's wall clock", () => {
    const cluster = new Cluster({ voters: 3 });
    // Each wall clock is skewed from the start (a jump mid-run would also move the timers
    // while they read the wall clock, and a follower would rightly take it for its leader's
    // silence): whoever leads, the follower's clock differs from the leader's.
    const skewMs = new Map([
      [1, 60_000],
      [2, 30_000],
      [3, 7],
    ]);
    for (const [id, offsetMs] of skewMs) cluster.wallOffsetMs.set(id, offsetMs);
    cluster.run(2000);
    const leader = cluster.leader()!;
    const follower = cluster.voterIds.find((id) => id !== leader)!;
    const leaderSkewMs = skewMs.get(leader)!;
    expect(skewMs.get(follower)).not.toBe(leaderSkewMs);
    const session = cluster.connect(follower);
    const before = cluster.nowMs;
    const reply = cluster.request(session, create('/forwarded'));
    expect(reply.ok).toBe(true);
    const { stat } = cluster.peer(follower).znodeAt('/forwarded')!;
    expect(stat.ctime).toBeGreaterThanOrEqual(before + leaderSkewMs);
    expect(stat.ctime).toBeLessThanOrEqual(cluster.nowMs + leaderSkewMs);
    expect(cluster.peer(leader).znodeAt('/forwarded')!.stat.ctime).toBe(stat.ctime);
  });
});

describe('TTL expiry', () => {
  it('counts a TTL on the wall clock, and checks when the timer clock says a check is due', () => {
    const tree = new DataTree();
    tree.apply({
      zxid: zxid(1n),
      timeMs: 10_000,
      sessionId: decodedSessionId(1n),
      cxid: 1,
      body: {
        kind: 'create',
        path: '/ttl',
        data: new Uint8Array(),
        acl: [],
        ephemeralOwner: ttlEphemeralOwner(1000n),
        parentCversion: 1,
      },
    });
    const collector = new ContainerCollector(100, 0);
    // The timer clock says a check is due; the wall clock says the TTL has not passed.
    expect(collector.due(tree, 100, 10_900)).toEqual([]);
    // The wall clock says it has; the timer clock says no check is due yet.
    expect(collector.due(tree, 150, 11_001)).toEqual([]);
    expect(collector.due(tree, 200, 11_001)).toEqual(['/ttl']);
  });

  it('expires a TTL node on a one-voter peer once its TTL has passed on the wall clock', () => {
    const h = new Harness({ containerCheckIntervalMs: 100 });
    const s = h.connect();
    h.ok(s, create('/t', { mode: CreateMode.PersistentWithTtl, ttlMs: 250n }));
    h.advance(200);
    expect(h.ok(s, getData('/t')).stat.ctime).toBeGreaterThan(0);
    h.advance(100);
    h.advance(100);
    expect(h.code(s, getData('/t'))).toBe(ErrorCode.NoNode);
  });
});
