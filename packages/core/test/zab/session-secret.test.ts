/**
 * The session secret: each server starts with its own random one and keeps it, a learner
 * takes its leader's when it syncs and keeps that, so a session created on any member resumes
 * on any other, after restarts and on a server that joins with empty storage.
 */
import { describe, expect, it } from 'vitest';
import { StorageImage, sessionPassword } from '../../src/index.js';
import { Cluster } from './cluster.js';

const own = (id: number) => new Uint8Array(32).fill(id);

describe('the ensemble session secret', () => {
  it('is the leader’s on every member once synced, and kept by each store', () => {
    const cluster = new Cluster({ voters: 3, observers: 1, sessionSecretOf: own });
    cluster.stabilize();
    const leader = cluster.leader()!;
    for (const id of [1, 2, 3, 4]) expect(cluster.nodes.get(id)!.durable.sessionSecret).toEqual(own(leader));
  });

  it('lets a session created on one member resume on every other, and refuses a wrong password', () => {
    const cluster = new Cluster({ voters: 3, observers: 1, sessionSecretOf: own });
    cluster.stabilize();
    const leader = cluster.leader()!;
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const session = cluster.connect(follower, 5000);
    expect(session.timeoutMs).toBeGreaterThan(0);
    expect(session.password).toEqual(sessionPassword(own(leader), session.sessionId));
    for (const id of [1, 2, 3, 4]) {
      const resumed = cluster.connect(id, 5000, { sessionId: session.sessionId, password: session.password });
      expect(resumed.sessionId).toBe(session.sessionId);
      expect(resumed.timeoutMs).toBeGreaterThan(0);
    }
    // The follower's own first secret no longer opens anything.
    const forged = cluster.connect(follower, 5000, {
      sessionId: session.sessionId,
      password: sessionPassword(own(follower), session.sessionId),
    });
    expect(forged.timeoutMs).toBe(0);
  });

  it('survives the leader’s death, restarts, and a member that comes back with empty storage', () => {
    // Each start draws a new secret, as a driver's randomness would.
    let starts = 0;
    const cluster = new Cluster({ voters: 3, sessionSecretOf: () => new Uint8Array(32).fill(++starts) });
    cluster.stabilize();
    const first = cluster.leader()!;
    const ensembleSecret = new Uint8Array(32).fill(first);
    const session = cluster.connect(first, 60_000);
    cluster.crash(first);
    cluster.stabilize();
    const second = cluster.leader()!;
    expect(second).not.toBe(first);
    // The new leader leads with the secret it took from the first.
    expect(cluster.nodes.get(second)!.durable.sessionSecret).toEqual(ensembleSecret);
    const resume = { sessionId: session.sessionId, password: session.password };
    expect(cluster.connect(second, 60_000, resume).timeoutMs).toBeGreaterThan(0);
    // The old leader comes back with an empty disk and its own new secret: it syncs, takes the
    // ensemble's, and accepts the session.
    cluster.nodes.get(first)!.durable = new StorageImage();
    cluster.restart(first);
    expect(cluster.nodes.get(first)!.durable.sessionSecret).toEqual(new Uint8Array(32).fill(starts));
    cluster.stabilize();
    expect(cluster.peer(first).status().role).toBe('following');
    expect(cluster.nodes.get(first)!.durable.sessionSecret).toEqual(ensembleSecret);
    expect(cluster.connect(first, 60_000, resume).timeoutMs).toBeGreaterThan(0);
    // A restart keeps what the store holds: the server does not draw a new one.
    cluster.crash(second);
    cluster.restart(second);
    cluster.stabilize();
    expect(cluster.nodes.get(second)!.durable.sessionSecret).toEqual(ensembleSecret);
    expect(cluster.connect(second, 60_000, resume).timeoutMs).toBeGreaterThan(0);
  });
});
