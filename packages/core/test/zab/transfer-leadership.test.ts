/**
 * Leadership transfer (the embedding API's transferLeadership): the leader lets its successor
 * catch up, stops proposing, waits until every proposal is committed and acknowledged by the
 * successor, then steps down with every learner voting for it, so that the successor wins
 * the election that follows even where the usual order (the higher id) would pick another.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Ids, type PeerEvent, type ServerId } from '../../src/index.js';
import { Cluster } from './cluster.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const create = (path: string) =>
  ({ op: 'create', path, data: bytes('v'), acl: Ids.openAclUnsafe, mode: 0, ttlMs: -1n }) as const;

type TransferEvent = Extract<PeerEvent, { kind: 'leadershipTransfer' }>;
const transfers = (cluster: Cluster, id: ServerId): TransferEvent[] =>
  cluster.events(id).filter((event): event is TransferEvent => event.kind === 'leadershipTransfer');

/** Runs the cluster until `done` holds, in steps of 20 ms, at most `ms`. */
function runUntil(cluster: Cluster, done: () => boolean, ms = 10_000): void {
  for (let elapsed = 0; elapsed < ms && !done(); elapsed += 20) cluster.run(20);
  expect(done(), cluster.describe()).toBe(true);
}

function settled(voters = 3, observers = 0): Cluster {
  const cluster = new Cluster({ voters, observers });
  cluster.stabilize();
  cluster.run(500);
  return cluster;
}

describe('transferLeadership', () => {
  it('hands over to the server asked for, the lowest id, which the usual order would never pick', () => {
    const cluster = settled(5);
    const leader = cluster.leader()!;
    expect(leader).toBe(5);
    const session = cluster.connect(2);
    for (let i = 0; i < 5; i++) expect(cluster.request(session, create(`/before-${i}`)).ok).toBe(true);
    cluster.step(leader, { kind: 'transferLeadership', to: 1, timeoutMs: 5000 });
    runUntil(cluster, () => cluster.leader() === 1 && cluster.peer(1).status().serving);
    expect(transfers(cluster, leader).map((event) => event.outcome)).toEqual(['started', 'handedOver']);
    expect(transfers(cluster, leader).at(-1)?.successor).toBe(1);
    // Every server serves under the successor, with the same history.
    runUntil(cluster, () => [1, 2, 3, 4, 5].every((id) => cluster.peer(id).status().serving));
    const writer = cluster.connect(3);
    expect(cluster.request(writer, create('/after')).ok).toBe(true);
    cluster.run(200);
    const digests = [...cluster.digests().values()];
    expect(new Set(digests.map((d) => d.digest)).size).toBe(1);
    expect(cluster.peer(4).znodeAt('/before-4')).toBeDefined();
  });

  it('is asked through a follower, which forwards it to the leader', () => {
    const cluster = settled(3);
    const leader = cluster.leader()!;
    const follower = leader === 1 ? 2 : 1;
    const target = [1, 2, 3].find((id) => id !== leader && id !== follower)!;
    cluster.step(follower, { kind: 'transferLeadership', to: target, timeoutMs: 5000 });
    expect(transfers(cluster, follower).map((event) => event.outcome)).toEqual(['forwarded']);
    runUntil(cluster, () => cluster.leader() === target && cluster.peer(target).status().serving);
    expect(transfers(cluster, leader).map((event) => event.outcome)).toEqual(['started', 'handedOver']);
  });

  it('picks a synced voter when none is named', () => {
    const cluster = settled(3);
    const leader = cluster.leader()!;
    cluster.step(leader, { kind: 'transferLeadership', timeoutMs: 5000 });
    runUntil(cluster, () => {
      const next = cluster.leader();
      return next !== undefined && next !== leader && cluster.peer(next).status().serving;
    });
    const handedOver = transfers(cluster, leader).at(-1)!;
    expect(handedOver.outcome).toBe('handedOver');
    expect(cluster.leader()).toBe(handedOver.successor);
  });

  it('refuses what it cannot do, and the leader leads on', () => {
    const cluster = settled(3, 1);
    const leader = cluster.leader()!;
    const observer = 4;
    const reasons: string[] = [];
    for (const input of [
      { to: observer, timeoutMs: 5000 },
      { to: 9, timeoutMs: 5000 },
      { to: leader === 1 ? 2 : 1, timeoutMs: 0 },
    ]) {
      cluster.step(leader, { kind: 'transferLeadership', ...input });
      const last = transfers(cluster, leader).at(-1)!;
      expect(last.outcome).toBe('refused');
      reasons.push(last.reason);
    }
    expect(reasons[0]).toMatch(/not a voter/);
    expect(reasons[1]).toMatch(/not a voter/);
    expect(reasons[2]).toMatch(/positive timeout/);
    expect(cluster.leader()).toBe(leader);
    // A looking server has no leader to ask.
    const lone = new Cluster({ voters: 3 });
    lone.crash(2);
    lone.crash(3);
    lone.step(1, { kind: 'transferLeadership', timeoutMs: 5000 });
    expect(transfers(lone, 1).at(-1)?.outcome).toBe('refused');
  });

  it('refuses a second transfer while one is under way', () => {
    const cluster = settled(3);
    const leader = cluster.leader()!;
    const [first, second] = [1, 2, 3].filter((id) => id !== leader) as [ServerId, ServerId];
    // A write in flight: the transfer waits for it to commit, so it is still under way.
    cluster.send(cluster.connect(leader), create('/in-flight'));
    cluster.step(leader, { kind: 'transferLeadership', to: first, timeoutMs: 5000 });
    cluster.step(leader, { kind: 'transferLeadership', to: second, timeoutMs: 5000 });
    expect(transfers(cluster, leader).map((event) => event.outcome)).toEqual(['started', 'refused']);
    expect(transfers(cluster, leader).at(-1)?.reason).toMatch(/in progress/);
    runUntil(cluster, () => cluster.leader() === first && cluster.peer(first).status().serving);
    expect(cluster.peer(second).znodeAt('/in-flight')).toBeDefined();
  });

  it('times out when the successor does not catch up, and the leader leads on, losing nothing', () => {
    const cluster = settled(3);
    const leader = cluster.leader()!;
    const successor = leader === 1 ? 2 : 1;
    cluster.isolate(successor);
    const session = cluster.connect(leader);
    expect(cluster.request(session, create('/while-cut')).ok).toBe(true);
    cluster.step(leader, { kind: 'transferLeadership', to: successor, timeoutMs: 1000 });
    cluster.run(1500);
    expect(transfers(cluster, leader).map((event) => event.outcome)).toEqual(['started', 'timedOut']);
    expect(cluster.leader()).toBe(leader);
    // It writes on at once.
    expect(cluster.request(session, create('/after-timeout')).ok).toBe(true);
    cluster.heal();
    runUntil(cluster, () => cluster.peer(successor).znodeAt('/after-timeout') !== undefined);
  });

  it('tells the follower that asked when the leader refuses or times out, not the others', () => {
    const cluster = settled(5);
    const leader = cluster.leader()!;
    const [asker, bystander, cut] = [1, 2, 3, 4, 5].filter((id) => id !== leader) as ServerId[];
    // Cut off past syncLimit: the follower still counts it a voter, the leader no longer syncs it.
    cluster.isolate(cut!);
    cluster.run(3000);
    cluster.heal();
    cluster.step(asker!, { kind: 'transferLeadership', to: cut!, timeoutMs: 1000 });
    cluster.run(200);
    const told = transfers(cluster, asker!);
    expect(told.map((event) => event.outcome)).toEqual(['forwarded', 'refused']);
    expect(told[1]!.reason).toBe(`leader ${leader}: server ${cut} is not synced with this leader`);
    // Isolated and behind by a write: the leader starts, gives up at the deadline, says so.
    runUntil(cluster, () => cluster.peer(cut!).status().serving);
    cluster.isolate(cut!);
    expect(cluster.request(cluster.connect(leader), create('/while-cut')).ok).toBe(true);
    cluster.step(asker!, { kind: 'transferLeadership', to: cut!, timeoutMs: 1000 });
    cluster.run(1500);
    expect(transfers(cluster, asker!).map((event) => event.outcome)).toEqual([
      'forwarded',
      'refused',
      'forwarded',
      'timedOut',
    ]);
    expect(transfers(cluster, asker!).at(-1)!.reason).toBe(
      `leader ${leader}: server ${cut} is not connected to this leader`,
    );
    expect(transfers(cluster, bystander!)).toEqual([]);
    expect(cluster.leader()).toBe(leader);
  });

  it('a successor cut off before it hears: the others prefer it for a while, then elect another', () => {
    const cluster = settled(3);
    const leader = cluster.leader()!;
    const successor = leader === 1 ? 2 : 1;
    cluster.isolate(successor);
    cluster.step(leader, { kind: 'transferLeadership', to: successor, timeoutMs: 5000 });
    // Idle and acknowledged through the last proposal: it hands over at once, unheard.
    expect(transfers(cluster, leader).map((event) => event.outcome)).toEqual(['started', 'handedOver']);
    expect(cluster.peer(leader).status().role).toBe('looking');
    runUntil(cluster, () => {
      const next = cluster.leader();
      return next !== undefined && next !== successor && cluster.peer(next).status().serving;
    });
    cluster.heal();
    runUntil(cluster, () => [1, 2, 3].every((id) => cluster.peer(id).status().serving));
  });

  it('keeps every acknowledged write, whoever it hands over to and whenever it is asked', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 6 }),
        (asker, targetPick, writesBefore) => {
          const cluster = settled(3);
          const session = cluster.connect(asker === 1 ? 2 : 1);
          const acknowledged: string[] = [];
          for (let i = 0; i < writesBefore; i++) {
            const path = `/w-${i}`;
            if (cluster.request(session, create(path)).ok) acknowledged.push(path);
          }
          // A write in flight when the transfer is asked for.
          cluster.send(session, create('/in-flight'));
          const target = targetPick === 0 ? undefined : targetPick;
          cluster.step(asker, {
            kind: 'transferLeadership',
            ...(target === undefined ? {} : { to: target }),
            timeoutMs: 5000,
          });
          cluster.run(3000);
          runUntil(cluster, () => [1, 2, 3].every((id) => cluster.peer(id).status().serving));
          for (const id of [1, 2, 3])
            for (const path of acknowledged)
              expect(cluster.peer(id).znodeAt(path), `${path} on ${id}`).toBeDefined();
          const digests = [...cluster.digests().values()];
          expect(new Set(digests.map((d) => d.digest)).size).toBe(1);
        },
      ),
      { numRuns: 40 },
    );
  });
});
