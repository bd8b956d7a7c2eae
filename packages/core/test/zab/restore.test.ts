/**
 * A restore (the admin restore command on an ensemble member) as a ZAB transaction: asked of a
 * follower it goes to the leader, which proposes the snapshot's nodes and sessions as one
 * transaction and nothing else until it is applied; every replica replaces its tree in one
 * step and closes its connections. A leader crash before the restore reaches a quorum loses it
 * everywhere; one after the followers logged it has the next leader commit it.
 */
import { describe, expect, it } from 'vitest';
import {
  Ids,
  nextZxid,
  type PeerEvent,
  type RestoreRequest,
  type ServerId,
  type SnapshotNode,
} from '../../src/index.js';
import { Cluster } from './cluster.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const create = (path: string) =>
  ({ op: 'create', path, data: bytes('v'), acl: Ids.openAclUnsafe, mode: 0, ttlMs: -1n }) as const;

type RestoreEvent = Extract<PeerEvent, { kind: 'restore' }>;
const restores = (cluster: Cluster, id: ServerId): RestoreEvent[] =>
  cluster.events(id).filter((event): event is RestoreEvent => event.kind === 'restore');

function runUntil(cluster: Cluster, done: () => boolean, ms = 10_000): void {
  for (let elapsed = 0; elapsed < ms && !done(); elapsed += 20) cluster.run(20);
  expect(done(), cluster.describe()).toBe(true);
}

function settled(): Cluster {
  const cluster = new Cluster({ voters: 3 });
  cluster.stabilize();
  cluster.run(500);
  return cluster;
}

/** The tree of a server as paths with their data, /zookeeper aside. */
function pathsOf(cluster: Cluster, id: ServerId): string[] {
  return cluster
    .peer(id)
    .treeSnapshot()
    .nodes.filter((n) => !n.path.startsWith('/zookeeper'))
    .map((n) => `${n.path}=${new TextDecoder().decode(n.data ?? new Uint8Array())}`)
    .sort();
}

/** A restore of what server `id` holds now, taken as the admin snapshot would. */
function restoreOf(cluster: Cluster, id: ServerId, token: string): RestoreRequest {
  const { nodes, sessions } = cluster.peer(id).treeSnapshot();
  return { op: 'restore', token, nodes, sessions };
}

const followersOf = (leader: ServerId) => [1, 2, 3].filter((id) => id !== leader);

describe('restore in an ensemble', () => {
  it('asked of a follower: the leader proposes it, every replica ends with the snapshot, connections close', () => {
    const cluster = settled();
    const leader = cluster.leader()!;
    const [follower, other] = followersOf(leader) as [ServerId, ServerId];
    const writer = cluster.connect(follower);
    for (const path of ['/a', '/a/b', '/c']) expect(cluster.request(writer, create(path)).ok).toBe(true);
    cluster.run(200);
    const request = restoreOf(cluster, follower, 'follower-1');
    const expected = pathsOf(cluster, follower);
    expect(cluster.request(writer, create('/later')).ok).toBe(true);
    expect(cluster.request(writer, { op: 'delete', path: '/c', version: -1 }).ok).toBe(true);
    const watcher = cluster.connect(other);

    cluster.step(follower, { kind: 'restore', request });
    runUntil(cluster, () =>
      [1, 2, 3].every((id) => restores(cluster, id).some((e) => e.outcome === 'applied')),
    );
    cluster.run(200);
    expect(restores(cluster, follower).map((e) => e.outcome)).toEqual(['forwarded', 'applied']);
    expect(restores(cluster, leader).map((e) => e.outcome)).toEqual(['proposed', 'applied']);
    const zxid = restores(cluster, leader)[0]!.zxid!;
    for (const id of [1, 2, 3]) {
      expect(pathsOf(cluster, id), `server ${id}`).toEqual(expected);
      expect(restores(cluster, id).at(-1)!.zxid).toBe(zxid);
    }
    expect(new Set([...cluster.digests().values()].map((d) => d.digest)).size).toBe(1);
    // Every server closed its connections: the clients reconnect to the restored tree.
    expect(cluster.outputsOf(writer).some((o) => o.kind === 'close')).toBe(true);
    expect(cluster.outputsOf(watcher).some((o) => o.kind === 'close')).toBe(true);
    // Writes go on from the restored state.
    const again = cluster.connect(other);
    expect(cluster.request(again, create('/after')).ok).toBe(true);
    cluster.run(200);
    expect(pathsOf(cluster, leader)).toEqual([...expected, '/after=v'].sort());
  });

  it('asked of an observer: forwarded like a follower, and applied there from the INFORM', () => {
    const cluster = new Cluster({ voters: 3, observers: 1 });
    cluster.stabilize();
    cluster.run(500);
    const observer = 4;
    const writer = cluster.connect(observer);
    expect(cluster.request(writer, create('/seen')).ok).toBe(true);
    cluster.run(200);
    const request = restoreOf(cluster, observer, 'observer');
    const expected = pathsOf(cluster, observer);
    expect(cluster.request(writer, create('/unseen')).ok).toBe(true);
    cluster.step(observer, { kind: 'restore', request });
    runUntil(cluster, () =>
      [1, 2, 3, 4].every((id) => restores(cluster, id).some((e) => e.outcome === 'applied')),
    );
    expect(restores(cluster, observer).map((e) => e.outcome)).toEqual(['forwarded', 'applied']);
    for (const id of [1, 2, 3, 4]) expect(pathsOf(cluster, id), `server ${id}`).toEqual(expected);
  });

  it('proposes what learners forward during a restore only once it is applied, against the restored tree', () => {
    const cluster = settled();
    const leader = cluster.leader()!;
    const [follower] = followersOf(leader) as [ServerId];
    const writer = cluster.connect(follower);
    expect(cluster.request(writer, create('/kept')).ok).toBe(true);
    cluster.run(200);
    const request = restoreOf(cluster, follower, 'barrier');
    expect(cluster.request(writer, create('/gone')).ok).toBe(true);
    // The restore and, right behind it on the same link, a write that needs /gone absent.
    cluster.step(follower, { kind: 'restore', request });
    cluster.send(writer, create('/gone'));
    cluster.send(writer, create('/next'));
    runUntil(cluster, () =>
      cluster
        .peer(leader)
        .treeSnapshot()
        .nodes.some((n) => n.path === '/next'),
    );
    cluster.run(200);
    const restoreZxid = restores(cluster, leader)[0]!.zxid!;
    for (const id of [1, 2, 3]) {
      const nodes = new Map(
        cluster
          .peer(id)
          .treeSnapshot()
          .nodes.map((n): [string, SnapshotNode] => [n.path, n]),
      );
      // Prepared after the restore, so against its tree: /gone is created again.
      expect(nodes.get('/gone')?.czxid, `server ${id}`).toBeGreaterThan(restoreZxid);
      expect(nodes.get('/next')?.czxid).toBeGreaterThan(restoreZxid);
      expect(nodes.get('/kept')?.czxid).toBeLessThan(restoreZxid);
    }
    expect(new Set([...cluster.digests().values()].map((d) => d.digest)).size).toBe(1);
  });

  it('a leader crash after the followers logged the restore: the next leader commits it', () => {
    const cluster = settled();
    const leader = cluster.leader()!;
    const writer = cluster.connect(followersOf(leader)[0]!);
    expect(cluster.request(writer, create('/kept')).ok).toBe(true);
    cluster.run(200);
    const request = restoreOf(cluster, leader, 'crash');
    const expected = pathsOf(cluster, leader);
    expect(cluster.request(writer, create('/gone')).ok).toBe(true);
    cluster.run(200);
    // From here storage acknowledges only when told: the proposal reaches the followers, which
    // make it durable; their acks never reach the leader, which crashes with it uncommitted.
    cluster.autoPersist = false;
    cluster.step(leader, { kind: 'restore', request });
    cluster.deliverOnce((e) => e.from === leader && e.message.kind === 'proposal');
    for (const id of followersOf(leader)) cluster.flushStorage(id);
    expect(followersOf(leader).every((id) => cluster.durableLog(id).at(-1)?.body.kind === 'restore')).toBe(
      true,
    );
    expect(restores(cluster, leader).map((e) => e.outcome)).toEqual(['proposed']);
    cluster.crash(leader);
    cluster.autoPersist = true;
    for (const id of followersOf(leader)) cluster.flushStorage(id);
    runUntil(cluster, () => cluster.leader() !== undefined);
    cluster.restart(leader);
    runUntil(cluster, () => [1, 2, 3].every((id) => cluster.peer(id).status().serving));
    cluster.run(500);
    for (const id of [1, 2, 3]) expect(pathsOf(cluster, id), `server ${id}`).toEqual(expected);
    expect(new Set([...cluster.digests().values()].map((d) => d.digest)).size).toBe(1);
  });

  it('a leader crash before the restore left it: lost everywhere, the old state kept', () => {
    const cluster = settled();
    const leader = cluster.leader()!;
    const writer = cluster.connect(followersOf(leader)[0]!);
    expect(cluster.request(writer, create('/kept')).ok).toBe(true);
    const request = restoreOf(cluster, leader, 'lost');
    expect(cluster.request(writer, create('/stays')).ok).toBe(true);
    cluster.run(200);
    const before = pathsOf(cluster, leader);
    cluster.step(leader, { kind: 'restore', request });
    cluster.crash(leader);
    runUntil(cluster, () => cluster.leader() !== undefined);
    cluster.restart(leader);
    runUntil(cluster, () => [1, 2, 3].every((id) => cluster.peer(id).status().serving));
    cluster.run(500);
    for (const id of [1, 2, 3]) expect(pathsOf(cluster, id), `server ${id}`).toEqual(before);
    expect(new Set([...cluster.digests().values()].map((d) => d.digest)).size).toBe(1);
  });

  it("keeps every server's /zookeeper/config: a restore changes the data, never the membership", () => {
    const cluster = settled();
    const leader = cluster.leader()!;
    const configOf = (id: ServerId) =>
      cluster
        .peer(id)
        .treeSnapshot()
        .nodes.find((n) => n.path === '/zookeeper/config');
    const before = [1, 2, 3].map((id) => configOf(id));
    const request = restoreOf(cluster, leader, 'config');
    const zxid = cluster.peer(leader).status().lastAppliedZxid;
    const foreign = bytes(`server.7=10.0.0.7:2888:3888:participant;2181\nversion=${zxid.toString(16)}`);
    const nodes = request.nodes.map((n) =>
      n.path === '/zookeeper/config' ? { ...n, data: foreign, mzxid: zxid } : n,
    );
    expect(nodes.some((n) => n.data === foreign)).toBe(true);
    cluster.step(leader, { kind: 'restore', request: { ...request, nodes } });
    runUntil(cluster, () =>
      [1, 2, 3].every((id) => restores(cluster, id).some((e) => e.outcome === 'applied')),
    );
    expect([1, 2, 3].map((id) => configOf(id))).toEqual(before);
    expect(cluster.peer(leader).status().serving).toBe(true);
  });

  it('refuses nodes out of order and zxids ahead of the history, proposing nothing', () => {
    const cluster = settled();
    const leader = cluster.leader()!;
    const { nodes, sessions } = cluster.peer(leader).treeSnapshot();
    const zxid = cluster.peer(leader).status().lastAppliedZxid;
    const orphan = { ...nodes[0]!, path: '/no/parent' };
    cluster.step(leader, {
      kind: 'restore',
      request: { op: 'restore', token: 'o', nodes: [orphan], sessions },
    });
    const ahead = { ...nodes[0]!, path: '/ahead', mzxid: nextZxid(nextZxid(zxid)) };
    cluster.step(leader, {
      kind: 'restore',
      request: { op: 'restore', token: 'a', nodes: [ahead], sessions },
    });
    cluster.run(200);
    expect(restores(cluster, leader).map((e) => [e.token, e.outcome])).toEqual([
      ['o', 'refused'],
      ['a', 'refused'],
    ]);
    expect(restores(cluster, leader)[0]!.reason).toMatch(/before its parent/);
    expect(restores(cluster, leader)[1]!.reason).toMatch(/beyond this ensemble's history/);
    expect(cluster.peer(leader).status().lastAppliedZxid).toBe(zxid);
  });
});
