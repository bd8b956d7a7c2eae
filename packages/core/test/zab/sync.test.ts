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
  const states = [...cluster.digests().values()].map((d) => `${d.zxid}:${d.digest}`);
  return new Set(states).size === 1;
}

describe('learner synchronisation', () => {
  it('DIFF: an up-to-date follower gets an empty diff; a lagging one the missing entries', () => {
    const cluster = new Cluster({ voters: 3 });
    cluster.stabilize();
    expect(cluster.learnerSyncModes(1)).toEqual(['diff']);
    cluster.crash(1);
    const s = cluster.connect(2);
    for (let i = 0; i < 4; i++) cluster.request(s, create(`/d${i}`));
    cluster.restart(1);
    cluster.stabilize();
    expect(cluster.learnerSyncModes(1)).toEqual(['diff', 'diff']);
    const sync = cluster.trace.filter((e) => e.to === 1 && e.message.kind === 'learnerSync').at(-1)!.message;
    expect(sync.kind === 'learnerSync' && sync.txns.length).toBeGreaterThanOrEqual(4);
    cluster.request(s, { op: 'sync', path: '/' });
    expect(converged(cluster)).toBe(true);
  });

  it('TRUNC: a follower with an uncommitted tail the leader lacks drops it', () => {
    const cluster = new Cluster({ voters: 3 });
    cluster.stabilize();
    const old = cluster.leader()!;
    const s = cluster.connect(1);
    cluster.request(s, create('/kept'));
    // The leader logs a proposal that no follower sees, then dies.
    cluster.isolate(old);
    const t = cluster.connect(old);
    cluster.send(t, create('/doomed'));
    cluster.crash(old);
    cluster.heal();
    cluster.stabilize();
    const u = cluster.connect(cluster.leader()!);
    cluster.request(u, create('/new-epoch'));
    cluster.restart(old);
    cluster.stabilize();
    expect(cluster.learnerSyncModes(old).at(-1)).toBe('trunc');
    const v = cluster.connect(old);
    expect(cluster.request(v, exists('/doomed'))).toMatchObject({ ok: false, code: ErrorCode.NoNode });
    expect(cluster.request(v, exists('/new-epoch')).ok).toBe(true);
    expect(converged(cluster)).toBe(true);
  });

  it('SNAP: a follower behind the start of the leader log gets a snapshot', () => {
    const cluster = new Cluster({ voters: 3, peer: { snapCount: 5 } });
    cluster.stabilize();
    cluster.crash(1);
    const s = cluster.connect(2);
    for (let i = 0; i < 30; i++) cluster.request(s, create(`/s${i}`));
    cluster.restart(1);
    cluster.stabilize();
    expect(cluster.learnerSyncModes(1).at(-1)).toBe('snap');
    const t = cluster.connect(1);
    expect(cluster.request(t, exists('/s29')).ok).toBe(true);
    expect(converged(cluster)).toBe(true);
    // And it keeps going afterwards, from its new snapshot.
    cluster.request(s, create('/after-snap'));
    cluster.request(t, { op: 'sync', path: '/' });
    expect(cluster.request(t, exists('/after-snap')).ok).toBe(true);
    cluster.crash(1);
    cluster.restart(1);
    cluster.stabilize();
    const u = cluster.connect(1);
    expect(cluster.request(u, exists('/s3')).ok).toBe(true);
  });

  it('ACKEPOCH, ACKNEWLEADER and ACK leave only once what they promise is durable', () => {
    const cluster = new Cluster({ voters: 3 });
    cluster.stabilize();
    cluster.crash(1);
    const s = cluster.connect(2);
    for (let i = 0; i < 3; i++) cluster.request(s, create(`/p${i}`));
    cluster.autoPersist = false;
    cluster.restart(1);
    const checked = { ackEpoch: 0, ackNewLeader: 0, ack: 0 };
    for (
      let round = 0;
      round < 400 && !(cluster.alive(1) && cluster.peer(1).status().serving && checked.ack > 0);
      round++
    ) {
      for (const envelope of cluster.queue) {
        const durable = cluster.nodes.get(envelope.from)!.durable;
        const message = envelope.message;
        if (message.kind === 'ackEpoch') {
          expect(durable.epochs.acceptedEpoch).toBe(message.epoch);
          checked.ackEpoch++;
        } else if (message.kind === 'ackNewLeader') {
          expect(durable.epochs.currentEpoch).toBe(message.epoch);
          expect(durable.log.at(-1)?.zxid).toBe(cluster.peer(envelope.to).status().lastLoggedZxid);
          checked.ackNewLeader++;
        } else if (message.kind === 'ack') {
          expect(durable.log.some((txn) => txn.zxid === message.zxid)).toBe(true);
          checked.ack++;
        }
      }
      if (cluster.deliverOnce() === 0) {
        cluster.tick(20);
        // Storage catches up only now, after the queue was inspected.
        for (const id of [1, 2, 3]) cluster.flushStorage(id);
        if (cluster.peer(1).status().serving && checked.ack === 0) cluster.send(s, create(`/q${round}`));
      }
    }
    expect(checked.ackEpoch).toBeGreaterThan(0);
    expect(checked.ackNewLeader).toBeGreaterThan(0);
    expect(checked.ack).toBeGreaterThan(0);
  });
});
