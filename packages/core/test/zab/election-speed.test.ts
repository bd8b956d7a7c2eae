/**
 * Failover must not wait on a resend timer when the message it waits for has already come
 * and gone. Two such waits made zabkit elect about a second later than ZooKeeper behind TCP
 * proxies: a follower's FOLLOWERINFO that reached the new leader a moment before it knew it
 * led was dropped (the follower sent it again a tickTime later), and a peer that went looking
 * after its vote had been answered by a peer still following heard nothing until the other's
 * next resend.
 */
import { describe, expect, it } from 'vitest';
import { Cluster } from './cluster.js';

const tickTimeMs = 2000;
const finalizeWaitMs = 200;
const resendIntervalMs = 1000;

function cluster(): Cluster {
  const c = new Cluster({
    voters: 3,
    peer: {
      tickTimeMs,
      electionFinalizeWaitMs: finalizeWaitMs,
      electionResendIntervalMs: resendIntervalMs,
    },
  });
  c.stabilize();
  return c;
}

/** Advances the clock and ticks only `ids`, delivering nothing. */
function tickOnly(c: Cluster, ms: number, ids: readonly number[]): void {
  c.nowMs += ms;
  for (const id of ids) c.step(id, { kind: 'tick' });
}

/** Runs in 10 ms steps until every id serves; the virtual time it took. */
function untilServing(c: Cluster, ids: readonly number[], limitMs: number): number {
  const started = c.nowMs;
  while (c.nowMs - started <= limitMs) {
    if (ids.every((id) => c.peer(id).status().serving)) return c.nowMs - started;
    c.run(10, 10);
  }
  return Number.POSITIVE_INFINITY;
}

describe('election speed', () => {
  it('a FOLLOWERINFO that arrives before the leader knows it leads is kept, not resent a tick later', () => {
    const c = cluster();
    const old = c.leader()!;
    const [a, b] = [1, 2, 3].filter((id) => id !== old) as [number, number];
    c.crash(old);
    // Both exchange votes and agree; time stands still so that nobody decides yet.
    for (let i = 0; i < 20 && c.deliverOnce() > 0; i++);
    const winner = c.peer(a).status().vote.leader;
    expect(winner === a || winner === b).toBe(true);
    const follower = winner === a ? b : a;
    // The follower decides first and sends FOLLOWERINFO, which reaches the winner while it
    // is still looking; only then does the winner decide.
    tickOnly(c, finalizeWaitMs, [follower]);
    expect(c.peer(follower).status().role).toBe('following');
    expect(c.deliverOnce((e) => e.from === follower && e.message.kind === 'followerInfo')).toBe(1);
    expect(c.peer(winner).status().role).toBe('looking');
    tickOnly(c, 1, [winner]);
    expect(c.peer(winner).status().role).toBe('leading');
    // Discovery and sync take a few message rounds, not a tickTime.
    expect(untilServing(c, [a, b], tickTimeMs)).toBeLessThan(tickTimeMs / 4);
  });

  it('a peer proposing worse than we do is answered at once, not at our next resend', () => {
    const c = cluster();
    const old = c.leader()!;
    // The better candidate (higher id, same history) goes looking first.
    const [worse, better] = [1, 2, 3].filter((id) => id !== old).sort() as [number, number];
    c.isolate(old);
    c.step(better, { kind: 'linkDown', peer: old });
    expect(c.peer(better).status().role).toBe('looking');
    // Its notification reaches the other while that one still follows: the answer is
    // "following", and the vote is not remembered.
    for (let i = 0; i < 5 && c.deliverOnce() > 0; i++);
    expect(c.peer(worse).status().role).toBe('following');
    c.nowMs += 50;
    c.step(worse, { kind: 'linkDown', peer: old });
    expect(c.peer(worse).status().vote.leader).toBe(worse);
    const tookMs = untilServing(c, [worse, better], 3 * resendIntervalMs);
    expect(c.peer(better).status().role).toBe('leading');
    // The finalize wait, then discovery and sync; no resend interval.
    expect(tookMs).toBeLessThan(finalizeWaitMs + resendIntervalMs / 2);
  });

  it('a server that joined a leader just before it was cut off gives up after syncLimit, not initLimit', () => {
    const tickMs = 500;
    const syncLimitTicks = 5;
    const initLimitTicks = 10;
    const c = new Cluster({
      voters: 3,
      peer: { tickTimeMs: tickMs, syncLimitTicks, initLimitTicks, electionFinalizeWaitMs: finalizeWaitMs },
    });
    c.stabilize();
    const old = c.leader()!;
    const [stayed, restarted] = [1, 2, 3].filter((id) => id !== old) as [number, number];
    c.crash(restarted);
    c.run(1000);
    c.restart(restarted);
    // It hears the leader say it leads and a follower follow it, and decides to follow too...
    for (let i = 0; i < 10 && c.peer(restarted).status().role === 'looking'; i++)
      c.deliverOnce((e) => e.message.kind === 'notification');
    expect(c.peer(restarted).status().role).toBe('following');
    // ...but the leader is cut off before its FOLLOWERINFO arrives.
    c.isolate(old);
    const tookMs = untilServing(c, [stayed, restarted], 4 * initLimitTicks * tickMs);
    expect(c.peer(stayed).status().role === 'leading' || c.peer(restarted).status().role === 'leading').toBe(
      true,
    );
    // The follower that stayed notices the silence after syncLimit; the other must not hold
    // the election up until its initLimit runs out.
    expect(tookMs).toBeLessThan(initLimitTicks * tickMs);
    expect(tookMs).toBeGreaterThanOrEqual(syncLimitTicks * tickMs);
  });
  it('a server that synced with a leader just before it was cut off gives up after syncLimit, not initLimit', () => {
    const tickMs = 500;
    const syncLimitTicks = 5;
    const initLimitTicks = 10;
    const c = new Cluster({
      voters: 3,
      peer: { tickTimeMs: tickMs, syncLimitTicks, initLimitTicks, electionFinalizeWaitMs: finalizeWaitMs },
    });
    c.stabilize();
    const old = c.leader()!;
    const [stayed, restarted] = [1, 2, 3].filter((id) => id !== old) as [number, number];
    c.crash(restarted);
    c.run(1000);
    c.restart(restarted);
    // It follows the leader and syncs: everything but UPTODATE reaches it (a server restarted
    // on a fast link joins within milliseconds)...
    const upToDate = (e: { to: number; message: { kind: string } }) =>
      e.to === restarted && e.message.kind === 'upToDate';
    for (let i = 0; i < 50 && !c.queue.some(upToDate); i++) c.deliverOnce((e) => !upToDate(e));
    expect(c.queue.some(upToDate)).toBe(true);
    expect(c.peer(restarted).status().role).toBe('following');
    expect(c.peer(restarted).status().serving).toBe(false);
    // ...and then the leader is cut off.
    c.isolate(old);
    const tookMs = untilServing(c, [stayed, restarted], 4 * initLimitTicks * tickMs);
    expect(c.peer(stayed).status().role === 'leading' || c.peer(restarted).status().role === 'leading').toBe(
      true,
    );
    expect(tookMs).toBeLessThan(initLimitTicks * tickMs);
    expect(tookMs).toBeGreaterThanOrEqual(syncLimitTicks * tickMs);
  });
});
