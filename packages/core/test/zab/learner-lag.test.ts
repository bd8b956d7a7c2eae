/**
 * A follower slower than the writes: the leader reports how far it lags (proposals and bytes
 * unacknowledged, and since when), and drops it, saying why, once a proposal has waited for
 * its acknowledgement longer than syncLimit (ZooKeeper's SyncLimitCheck) or what it has not
 * taken exceeds learnerLagBytesMax. The follower then syncs again and catches up.
 */
import { describe, expect, it } from 'vitest';
import { CreateMode, Ids, type LearnerView, type PeerEvent, type ServerId } from '../../src/index.js';
import { Cluster } from './cluster.js';

const create = (path: string, bytes: number) => ({
  op: 'create' as const,
  path,
  data: new Uint8Array(bytes).fill(7),
  acl: Ids.openAclUnsafe,
  mode: CreateMode.Persistent,
  ttlMs: -1n,
});

/** A stable 3-voter cluster whose storage acknowledges only when flushed. */
function cluster(peer: Record<string, unknown> = {}) {
  const c = new Cluster({ voters: 3, peer });
  c.stabilize();
  const leader = c.leader()!;
  const writer = c.connect(leader, 20_000);
  expect(writer.sessionId).not.toBe(0n);
  c.autoPersist = false;
  const [fast, slow] = [1, 2, 3].filter((id) => id !== leader) as [ServerId, ServerId];
  return { c, leader, fast, slow, writer };
}

const dropped = (c: Cluster, leader: ServerId) =>
  c
    .events(leader)
    .filter((e): e is Extract<PeerEvent, { kind: 'learnerDropped' }> => e.kind === 'learnerDropped');

/** Writes while `slow` persists nothing; the leader's view of `slow` after each round. */
function writeWhileSlow(
  c: Cluster,
  setup: ReturnType<typeof cluster>,
  bytes: number,
  until: () => boolean,
): LearnerView[] {
  const views: LearnerView[] = [];
  for (let round = 0; round < 400 && !until(); round++) {
    c.send(setup.writer, create(`/w${round}`, bytes));
    for (let i = 0; i < 20 && c.deliverOnce() > 0; i++);
    c.flushStorage(setup.leader);
    c.flushStorage(setup.fast);
    c.tick(20);
    const view = c
      .peer(setup.leader)
      .learners()
      .find((l) => l.serverId === setup.slow);
    if (view !== undefined) views.push(view);
  }
  return views;
}

/** Lets every server persist again and runs until all three serve the same state. */
function healAndConverge(c: Cluster): void {
  c.autoPersist = true;
  for (let round = 0; round < 2000; round++) {
    for (const id of [1, 2, 3]) c.flushStorage(id);
    if (c.deliverOnce() === 0) c.tick(50);
    const digests = [...c.digests().values()].map((d) => `${d.zxid}:${d.digest}`);
    if (new Set(digests).size === 1 && [1, 2, 3].every((id) => c.peer(id).status().serving)) return;
  }
  throw new Error(`never converged: ${c.describe()}`);
}

describe('a follower slower than the writes', () => {
  it('is reported lagging, then dropped once a proposal waits past syncLimit; it syncs again', () => {
    const setup = cluster();
    const { c, leader, slow } = setup;
    const views = writeWhileSlow(c, setup, 200, () => dropped(c, leader).length > 0);
    // Its lag grew, in proposals and bytes, and the leader said since when.
    expect(views.length).toBeGreaterThan(5);
    const worst = views.at(-1)!;
    expect(worst.lagTxns).toBeGreaterThan(3);
    expect(worst.lagBytes).toBeGreaterThan(worst.lagTxns * 200);
    expect(worst.oldestUnacknowledgedAgeMs).toBeGreaterThan(0);
    for (let i = 1; i < views.length; i++)
      expect(views[i]!.lagTxns).toBeGreaterThanOrEqual(views[i - 1]!.lagTxns);
    // Dropped for its oldest proposal's age (syncLimit: 5 ticks of 100 ms), saying by how much.
    const [drop] = dropped(c, leader);
    expect(drop).toMatchObject({ peer: slow, reason: expect.stringMatching(/syncLimit \(500 ms\)/) });
    expect(drop!.oldestUnacknowledgedAgeMs).toBeGreaterThan(500);
    expect(drop!.lagTxns).toBeGreaterThanOrEqual(worst.lagTxns);
    expect(
      c
        .peer(leader)
        .learners()
        .some((l) => l.serverId === slow),
    ).toBe(false);
    // The fast follower was never behind for long: it stays.
    expect(dropped(c, leader).every((e) => e.peer === slow)).toBe(true);
    // Once its disk keeps up again it syncs and holds everything.
    healAndConverge(c);
    expect(c.learnerSyncModes(slow).length).toBeGreaterThan(0);
    const view = c
      .peer(leader)
      .learners()
      .find((l) => l.serverId === slow)!;
    expect(view.synced).toBe(true);
    expect(view.lagTxns).toBe(0);
    expect(view.lagBytes).toBe(0);
    expect(view.oldestUnacknowledgedAgeMs).toBe(0);
  });

  it('is dropped at once when what it has not taken passes learnerLagBytesMax, counted as a bound', () => {
    // syncLimit (5 s) far beyond the few hundred ms the bound takes to reach: only it can drop it.
    const setup = cluster({ learnerLagBytesMax: 20_000, syncLimitTicks: 50 });
    const { c, leader, slow } = setup;
    const views = writeWhileSlow(c, setup, 2000, () => dropped(c, leader).length > 0);
    const [drop] = dropped(c, leader);
    expect(drop).toMatchObject({ peer: slow, reason: expect.stringMatching(/learnerLagBytesMax \(20000\)/) });
    // The leader closed its link as it dropped it: the follower left its leader at once (in the
    // round of the drop, not after syncLimit's 5 s of silence) and says why.
    expect(c.linksClosed(leader)).toEqual([slow]);
    expect(c.peer(slow).status().lookingReason).toBe(`lost the link to leader ${leader}`);
    expect(drop!.oldestUnacknowledgedAgeMs).toBeLessThan(5000);
    // Never more than the bound was outstanding to it.
    for (const view of views) expect(view.lagBytes).toBeLessThanOrEqual(20_000);
    expect(Math.max(...views.map((v) => v.lagBytes))).toBeGreaterThan(15_000);
    expect(c.peer(leader).status().boundsReached.learnerLagBytes).toBe(1);
    healAndConverge(c);
    expect(
      c
        .peer(leader)
        .learners()
        .find((l) => l.serverId === slow)?.synced,
    ).toBe(true);
  });

  it('a follower that keeps up is never dropped, however much is written', () => {
    const setup = cluster({ learnerLagBytesMax: 20_000 });
    const { c, leader } = setup;
    for (let round = 0; round < 200; round++) {
      c.send(setup.writer, create(`/k${round}`, 2000));
      for (let i = 0; i < 20 && c.deliverOnce() > 0; i++) for (const id of [1, 2, 3]) c.flushStorage(id);
      c.tick(20);
    }
    expect(dropped(c, leader)).toEqual([]);
    expect(
      c
        .peer(leader)
        .learners()
        .every((l) => l.synced),
    ).toBe(true);
  });
});

describe("a leader's visit of its followers' lags", () => {
  /** What visitFollowerLags reports, and what learners() reports of the same followers. */
  function both(c: Cluster, leader: ServerId) {
    const visited: [ServerId, number, number][] = [];
    c.peer(leader).visitFollowerLags((id, lagTxns, ageMs) => visited.push([id, lagTxns, ageMs]));
    const viewed = c
      .peer(leader)
      .learners()
      .filter((l) => !l.observer)
      .map((l): [ServerId, number, number] => [l.serverId, l.lagTxns, l.oldestUnacknowledgedAgeMs]);
    return { visited, viewed };
  }

  it('reports what learners() reports, followers only, in id order, after the lower one rejoins', () => {
    const c = new Cluster({ voters: 3, observers: 1 });
    c.stabilize();
    const leader = c.leader()!;
    const writer = c.connect(leader, 20_000);
    c.autoPersist = false;
    // The lower id is the slow one: dropped, it joins again after the other follower.
    const [slow, fast] = [1, 2, 3].filter((id) => id !== leader) as [ServerId, ServerId];
    const setup = { c, leader, fast, slow, writer };
    expect(c.peer(leader).learners().length).toBe(3);
    const slowLag = () =>
      c
        .peer(leader)
        .learners()
        .find((l) => l.serverId === slow)?.lagTxns ?? 0;
    writeWhileSlow(c, setup, 200, () => slowLag() > 3);
    const lagging = both(c, leader);
    expect(lagging.visited.map(([id]) => id)).toEqual([slow, fast]);
    expect(lagging.visited[0]![1]).toBeGreaterThan(3);
    expect(lagging.visited[0]![2]).toBeGreaterThan(0);
    expect(lagging.visited).toEqual(lagging.viewed);
    writeWhileSlow(c, setup, 200, () => dropped(c, leader).length > 0);
    healAndConverge(c);
    const rejoined = both(c, leader);
    expect(rejoined.visited.map(([id]) => id)).toEqual([slow, fast]);
    expect(rejoined.visited).toEqual(rejoined.viewed);
    // The views are in id order too, observer included, though the slow one joined last.
    expect(
      c
        .peer(leader)
        .learners()
        .map((l) => l.serverId),
    ).toEqual([slow, fast, 4]);
  });
});
