/**
 * A message lost on a link that stays up (the simulator drops single messages) must never
 * leave a client waiting forever. Before pings said what each side had sent, a forwarded
 * write lost on its way to the leader blocked every later request of its session on that
 * follower, for as long as the session sent no other write: reads queue behind writes.
 */
import { describe, expect, it } from 'vitest';
import { CreateMode, Ids } from '../../src/index.js';
import type { ClientSession } from './cluster.js';
import { Cluster } from './cluster.js';

const tickTimeMs = 1000;
const syncLimitTicks = 5;
const enc = new TextEncoder();
const create = (path: string) => ({
  op: 'create' as const,
  path,
  data: enc.encode('x'),
  acl: Ids.openAclUnsafe,
  mode: CreateMode.Persistent,
  ttlMs: -1n,
});
const exists = (path: string) => ({ op: 'exists' as const, path, watch: false });

function setUp(): { cluster: Cluster; leader: number; follower: number; session: ClientSession } {
  const cluster = new Cluster({ voters: 3, peer: { tickTimeMs, syncLimitTicks } });
  cluster.stabilize();
  const leader = cluster.leader()!;
  const follower = [1, 2, 3].find((id) => id !== leader)!;
  const session = cluster.connect(follower, 30_000);
  expect(cluster.request(session, create('/a')).ok).toBe(true);
  return { cluster, leader, follower, session };
}

/** Drops the queued messages that match, as a link that loses them silently. */
function lose(cluster: Cluster, match: (from: number, kind: string) => boolean): number {
  const before = cluster.queue.length;
  cluster.queue = cluster.queue.filter((e) => !match(e.from, e.message.kind));
  return before - cluster.queue.length;
}

/** The request was answered, or its connection closed (its outcome unknown to the client). */
function settled(cluster: Cluster, session: ClientSession, xid: number): boolean {
  return cluster.outputsOf(session).some((o) => (o.kind === 'reply' && o.xid === xid) || o.kind === 'close');
}

/** Runs until `done` or `limitMs` of virtual time; returns the time it took. */
function runUntil(cluster: Cluster, done: () => boolean, limitMs: number): number {
  for (let elapsed = 0; elapsed <= limitMs; elapsed += 100) {
    if (done()) return elapsed;
    cluster.run(100);
  }
  return Number.POSITIVE_INFINITY;
}

// Pings go every half tick; a learner the leader forgets notices within syncLimit.
const recoveryLimitMs = (syncLimitTicks + 2) * tickTimeMs;

describe('a message lost on a live peer link', () => {
  it('a forwarded write lost on the way to the leader does not block the session’s later reads', () => {
    const { cluster, follower, session } = setUp();
    const write = cluster.send(session, { op: 'setData', path: '/a', data: enc.encode('y'), version: -1 });
    expect(lose(cluster, (from, kind) => from === follower && kind === 'request')).toBe(1);
    const read = cluster.send(session, exists('/a'));
    const tookMs = runUntil(
      cluster,
      () => settled(cluster, session, write) && settled(cluster, session, read),
      recoveryLimitMs,
    );
    expect(tookMs).toBeLessThanOrEqual(recoveryLimitMs);
    // The follower rejoined and serves a new connection of the same session.
    runUntil(cluster, () => cluster.peer(follower).status().serving, recoveryLimitMs);
    const again = cluster.connect(follower, 30_000, {
      sessionId: session.sessionId,
      password: session.password,
    });
    expect(again.sessionId).toBe(session.sessionId);
    expect(cluster.request(again, exists('/a')).ok).toBe(true);
  });

  it('a forwarded client sync that is lost does not block the session', () => {
    const { cluster, follower, session } = setUp();
    const sync = cluster.send(session, { op: 'sync', path: '/' });
    expect(lose(cluster, (from, kind) => from === follower && kind === 'clientSync')).toBe(1);
    const read = cluster.send(session, exists('/a'));
    expect(
      runUntil(
        cluster,
        () => settled(cluster, session, sync) && settled(cluster, session, read),
        recoveryLimitMs,
      ),
    ).toBeLessThanOrEqual(recoveryLimitMs);
  });

  it('the last proposal lost on the way to the follower whose client wrote it', () => {
    const { cluster, leader, follower, session } = setUp();
    const write = cluster.send(session, { op: 'setData', path: '/a', data: enc.encode('y'), version: -1 });
    // Forward the request, then lose the leader's proposal to this follower alone: the other
    // follower's ack still commits it.
    cluster.deliverOnce((e) => e.from === follower && e.message.kind === 'request');
    expect(lose(cluster, (from, kind) => from === leader && kind === 'proposal')).toBeGreaterThan(0);
    const read = cluster.send(session, exists('/a'));
    expect(
      runUntil(
        cluster,
        () => settled(cluster, session, write) && settled(cluster, session, read),
        recoveryLimitMs,
      ),
    ).toBeLessThanOrEqual(recoveryLimitMs);
  });

  it('a lost COMMIT is made good by the next ping, without reconnecting', () => {
    const { cluster, leader, session } = setUp();
    const write = cluster.send(session, { op: 'setData', path: '/a', data: enc.encode('y'), version: -1 });
    let lost = 0;
    for (let round = 0; round < 50 && !settled(cluster, session, write); round++) {
      lost += lose(cluster, (from, kind) => from === leader && kind === 'commit');
      if (cluster.deliverOnce() === 0) break;
    }
    expect(lost).toBeGreaterThan(0);
    expect(settled(cluster, session, write)).toBe(false);
    const tookMs = runUntil(cluster, () => settled(cluster, session, write), 2 * tickTimeMs);
    expect(tookMs).toBeLessThanOrEqual(2 * tickTimeMs);
    const reply = cluster.outputsOf(session).find((o) => o.kind === 'reply' && o.xid === write);
    expect(reply?.kind === 'reply' && reply.reply.ok).toBe(true);
    expect(cluster.outputsOf(session).some((o) => o.kind === 'close')).toBe(false);
  });
});
