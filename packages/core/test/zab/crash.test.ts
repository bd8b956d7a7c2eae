import { describe, expect, it } from 'vitest';
import { CreateMode, ErrorCode, Ids } from '../../src/index.js';
import { Cluster } from './cluster.js';

const create = (path: string) => ({
  op: 'create' as const,
  path,
  data: new Uint8Array(0),
  acl: Ids.openAclUnsafe,
  mode: CreateMode.Persistent,
  ttlMs: -1n,
});
const exists = (path: string) => ({ op: 'exists' as const, path, watch: false });

function converged(cluster: Cluster): boolean {
  // Let in-flight commits land first: a replica that is merely behind has not diverged.
  for (let i = 0; i < 50 && cluster.deliverOnce() > 0; i++);
  return new Set([...cluster.digests().values()].map((d) => `${d.zxid}:${d.digest}`)).size === 1;
}

/** Every alive server agrees on whether `path` exists; returns that answer. */
function agreedExists(cluster: Cluster, path: string): boolean {
  const answers = new Set<boolean>();
  for (const id of cluster.nodes.keys()) {
    if (!cluster.alive(id)) continue;
    const session = cluster.connect(id);
    cluster.request(session, { op: 'sync', path: '/' });
    answers.add(cluster.request(session, exists(path)).ok);
  }
  expect(answers.size).toBe(1);
  return [...answers][0]!;
}

describe('crashes around a proposal', () => {
  it('a follower that crashes between persisting and acking loses the entry; the write still commits', () => {
    const cluster = new Cluster({ voters: 3 });
    cluster.stabilize();
    const leader = cluster.leader()!;
    const [slow, fast] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
    const s = cluster.connect(leader);
    cluster.autoPersist = false;
    const xid = cluster.send(s, create('/w'));
    cluster.flushStorage(leader);
    // Proposals reach both followers; only `fast` makes its copy durable and acks.
    cluster.deliverOnce();
    cluster.flushStorage(fast);
    cluster.crash(slow);
    cluster.autoPersist = true;
    for (let i = 0; i < 20 && cluster.replyTo(s, xid) === undefined; i++) cluster.deliverOnce();
    expect(cluster.durableLog(slow).some((txn) => txn.body.kind === 'create' && txn.body.path === '/w')).toBe(
      false,
    );
    expect(cluster.request(s, exists('/w')).ok).toBe(true);
    cluster.restart(slow);
    cluster.stabilize();
    expect(agreedExists(cluster, '/w')).toBe(true);
    expect(converged(cluster)).toBe(true);
  });

  it('a leader that crashes before a quorum acks: no reply was sent, and all servers agree', () => {
    const cluster = new Cluster({ voters: 3 });
    cluster.stabilize();
    const leader = cluster.leader()!;
    const s = cluster.connect(leader);
    cluster.request(s, create('/base'));
    // Drop every ack: the proposal is logged by the followers but never committed.
    const xid = cluster.send(s, create('/pending'));
    cluster.deliverOnce((e) => e.message.kind !== 'ack');
    cluster.queue = cluster.queue.filter((e) => e.message.kind !== 'ack');
    expect(cluster.replyTo(s, xid)).toBeUndefined();
    cluster.crash(leader);
    cluster.stabilize();
    // The followers logged it; the new leader, having the highest zxid, commits it in its epoch.
    expect(agreedExists(cluster, '/pending')).toBe(true);
    cluster.restart(leader);
    cluster.stabilize();
    expect(agreedExists(cluster, '/pending')).toBe(true);
    expect(converged(cluster)).toBe(true);
  });

  it('a leader that crashes before any follower saw the proposal: the write is gone everywhere', () => {
    const cluster = new Cluster({ voters: 3 });
    cluster.stabilize();
    const leader = cluster.leader()!;
    const s = cluster.connect(leader);
    cluster.send(s, create('/never'));
    cluster.queue = [];
    cluster.crash(leader);
    cluster.stabilize();
    cluster.restart(leader);
    cluster.stabilize();
    expect(agreedExists(cluster, '/never')).toBe(false);
    expect(converged(cluster)).toBe(true);
  });

  it('a leader that crashes after a quorum acked: the acknowledged write survives', () => {
    const cluster = new Cluster({ voters: 3 });
    cluster.stabilize();
    const leader = cluster.leader()!;
    const s = cluster.connect(leader);
    const xid = cluster.send(s, create('/acked'));
    // Deliver proposals and acks, but not the commits.
    for (let i = 0; i < 10; i++) cluster.deliverOnce((e) => e.message.kind !== 'commit');
    expect(cluster.replyTo(s, xid)).toMatchObject({ ok: true });
    cluster.queue = cluster.queue.filter((e) => e.message.kind !== 'commit');
    cluster.crash(leader);
    cluster.stabilize();
    expect(agreedExists(cluster, '/acked')).toBe(true);
  });

  it('a minority partition cannot commit; the majority moves on; rejoining converges', () => {
    const cluster = new Cluster({ voters: 5 });
    cluster.stabilize();
    const leader = cluster.leader()!;
    const others = [1, 2, 3, 4, 5].filter((id) => id !== leader);
    // The leader keeps one follower: a minority of 2.
    const minority = [leader, others[0]!];
    for (const a of minority)
      for (const b of others.slice(1)) {
        cluster.cut.add(`${a}->${b}`);
        cluster.cut.add(`${b}->${a}`);
      }
    const s = cluster.connect(leader);
    const xid = cluster.send(s, create('/minority'));
    cluster.run(2000);
    expect(cluster.replyTo(s, xid)).toBeUndefined();
    expect(cluster.peer(leader).status().serving).toBe(false);
    const majorityLeader = cluster.leader()!;
    expect(others.slice(1)).toContain(majorityLeader);
    const t = cluster.connect(majorityLeader);
    expect(cluster.request(t, create('/majority')).ok).toBe(true);
    cluster.heal();
    cluster.stabilize();
    expect(agreedExists(cluster, '/majority')).toBe(true);
    expect(converged(cluster)).toBe(true);
  });
});

describe('sessions across the ensemble', () => {
  it('a session created on a follower is global; its ephemerals vanish everywhere on expiry', () => {
    const cluster = new Cluster({ voters: 3 });
    cluster.stabilize();
    const follower = [1, 2, 3].find((id) => id !== cluster.leader())!;
    const s = cluster.connect(follower, 400);
    expect(s.timeoutMs).toBe(400);
    const reply = cluster.request(s, { ...create('/eph'), mode: CreateMode.Ephemeral });
    expect(reply.ok).toBe(true);
    expect(agreedExists(cluster, '/eph')).toBe(true);
    // The client goes silent; the leader expires the session.
    cluster.run(1500);
    expect(agreedExists(cluster, '/eph')).toBe(false);
    expect(cluster.outputsOf(s).some((o) => o.kind === 'close' && o.reason === 'sessionExpired')).toBe(true);
  });

  it('a session that keeps pinging a follower survives; it can move to another server', () => {
    const cluster = new Cluster({ voters: 3 });
    cluster.stabilize();
    const leader = cluster.leader()!;
    const [first, second] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
    const s = cluster.connect(first, 400);
    cluster.request(s, { ...create('/mine'), mode: CreateMode.Ephemeral });
    for (let i = 0; i < 10; i++) {
      cluster.run(150);
      cluster.request(s, { op: 'ping' });
    }
    expect(agreedExists(cluster, '/mine')).toBe(true);
    const moved = cluster.connect(second, 400, { sessionId: s.sessionId, password: s.password });
    expect(moved.sessionId).toBe(s.sessionId);
    const badPassword = cluster.connect(second, 400, {
      sessionId: s.sessionId,
      password: new Uint8Array(16),
    });
    expect(badPassword.timeoutMs).toBe(0);
    expect(cluster.request(moved, { op: 'getEphemerals', prefixPath: '/' })).toMatchObject({
      ok: true,
      result: { ephemerals: ['/mine'] },
    });
  });

  it('a server refuses a client that has seen a later zxid than it has', () => {
    const cluster = new Cluster({ voters: 3 });
    cluster.stabilize();
    const leader = cluster.leader()!;
    const s = cluster.connect(leader);
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    cluster.step(follower, {
      kind: 'connect',
      connectionId: 999,
      request: {
        sessionId: s.sessionId,
        password: s.password,
        timeoutMs: 1000,
        lastZxidSeen: (cluster.peer(leader).status().lastAppliedZxid + 100n) as never,
        readOnly: false,
        clientAddress: '127.0.0.1',
      },
    });
    const outputs = cluster.nodes.get(follower)!.outputs.filter((o) => o.connectionId === 999);
    expect(outputs).toEqual([{ kind: 'close', connectionId: 999, reason: 'refused' }]);
  });

  it('closing a session on a follower deletes its ephemerals on every server', () => {
    const cluster = new Cluster({ voters: 3 });
    cluster.stabilize();
    const follower = [1, 2, 3].find((id) => id !== cluster.leader())!;
    const s = cluster.connect(follower);
    cluster.request(s, { ...create('/bye'), mode: CreateMode.Ephemeral });
    expect(cluster.request(s, { op: 'closeSession' }).ok).toBe(true);
    expect(agreedExists(cluster, '/bye')).toBe(false);
    expect(ErrorCode.NoNode).toBe(-101);
  });
});

describe('leadership', () => {
  it('a leader that loses its quorum steps down', () => {
    const cluster = new Cluster({ voters: 3 });
    cluster.stabilize();
    const leader = cluster.leader()!;
    cluster.isolate(leader);
    cluster.run(1500);
    expect(cluster.peer(leader).status().role).toBe('looking');
    expect(cluster.peer(leader).status().lookingReason).toMatch(/quorum/);
  });

  it('an exhausted zxid counter forces a new epoch', () => {
    const cluster = new Cluster({ voters: 3, peer: { zxidCounterLimit: 5 } });
    cluster.stabilize();
    const epochBefore = cluster.peer(cluster.leader()!).status().currentEpoch;
    const s = cluster.connect(cluster.leader()!);
    let failures = 0;
    for (let i = 0; i < 12; i++) {
      const session = cluster.leader() === s.server ? s : cluster.connect(cluster.leader() ?? 1);
      try {
        const reply = cluster.request(session, create(`/c${i}`));
        if (!reply.ok) failures++;
      } catch {
        failures++;
        cluster.stabilize();
      }
    }
    cluster.stabilize();
    expect(cluster.peer(cluster.leader()!).status().currentEpoch).toBeGreaterThan(epochBefore);
    expect(converged(cluster)).toBe(true);
    expect(failures).toBeLessThan(12);
  });
});
