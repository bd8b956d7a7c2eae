/**
 * Timers run on the monotonic clock; the wall clock only stamps transactions. Setting one
 * server's wall clock an hour forward must not expire every session it tracks, and setting a
 * leader's an hour back must not stop its quorum check, leaving it serving reads while cut off.
 */
import { describe, expect, it } from 'vitest';
import { CreateMode, Ids } from '../../src/index.js';
import type { ClientSession } from './cluster.js';
import { Cluster } from './cluster.js';

const tickTimeMs = 500;
const syncLimitTicks = 5;
const hourMs = 3_600_000;
const sessionTimeoutMs = 6000;

function setUp(): { c: Cluster; leader: number; followers: number[]; sessions: ClientSession[] } {
  const c = new Cluster({ voters: 3, peer: { tickTimeMs, syncLimitTicks } });
  c.stabilize();
  const leader = c.leader()!;
  const followers = [1, 2, 3].filter((id) => id !== leader);
  const sessions = [1, 2, 3].map((id) => c.connect(id, sessionTimeoutMs));
  for (const session of sessions) expect(session.sessionId).not.toBe(0n);
  return { c, leader, followers, sessions };
}

/** Runs `ms`, each session pinging every second, as a connected client does. */
function runWithPings(c: Cluster, sessions: readonly ClientSession[], ms: number): void {
  for (let elapsed = 0; elapsed < ms; elapsed += 1000) {
    for (const session of sessions) c.send(session, { op: 'ping' });
    c.run(1000);
  }
}

function liveSessions(c: Cluster, id: number): bigint[] {
  return [...c.peer(id).sessionSummary().sessions.keys()].sort();
}

describe('a wall-clock jump on one server', () => {
  it('an hour forward on the leader expires no session, and new writes carry its wall time', () => {
    const { c, leader, sessions } = setUp();
    const before = liveSessions(c, leader);
    expect(before).toHaveLength(3);
    c.wallOffsetMs.set(leader, hourMs);
    runWithPings(c, sessions, 3 * sessionTimeoutMs);
    expect(liveSessions(c, leader)).toEqual(before);
    expect(c.leader()).toBe(leader);
    // The wall clock still stamps what the leader prepares.
    const reply = c.request(sessions[0]!, {
      op: 'create',
      path: '/stamped',
      data: new Uint8Array(0),
      acl: Ids.openAclUnsafe,
      mode: CreateMode.Persistent,
      ttlMs: -1n,
    });
    expect(reply.ok).toBe(true);
    const ctime = c.peer(leader).znodeAt('/stamped')!.stat.ctime;
    expect(ctime).toBeGreaterThanOrEqual(c.nowMs + hourMs - 1000);
  });

  it('an hour back on each follower in turn expires nothing and keeps them following', () => {
    const { c, leader, followers, sessions } = setUp();
    const before = liveSessions(c, leader);
    for (const follower of followers) c.wallOffsetMs.set(follower, -hourMs);
    runWithPings(c, sessions, 3 * sessionTimeoutMs);
    expect(liveSessions(c, leader)).toEqual(before);
    for (const follower of followers) expect(c.peer(follower).status().serving).toBe(true);
  });

  it('an hour back on a leader that is then cut off: it still steps down within syncLimit', () => {
    const { c, leader } = setUp();
    c.wallOffsetMs.set(leader, -hourMs);
    c.run(1000);
    c.isolate(leader);
    c.run((syncLimitTicks + 2) * tickTimeMs);
    const status = c.peer(leader).status();
    expect(status.serving).toBe(false);
    expect(status.lookingReason).toMatch(/quorum/);
  });

  it('an hour back on a follower whose leader falls silent: it still looks for another', () => {
    const { c, leader, followers } = setUp();
    const follower = followers[0]!;
    c.wallOffsetMs.set(follower, -hourMs);
    c.run(1000);
    c.isolate(leader);
    c.run((syncLimitTicks + 2) * tickTimeMs);
    expect(c.peer(follower).status().lookingReason).toMatch(new RegExp(`leader ${leader} silent`));
  });
});
