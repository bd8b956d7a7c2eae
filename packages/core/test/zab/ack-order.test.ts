import { describe, expect, it } from 'vitest';
import { CreateMode, type Envelope, Ids } from '../../src/index.js';
import { Cluster } from './cluster.js';

const create = (path: string) => ({
  op: 'create' as const,
  path,
  data: new Uint8Array(0),
  acl: Ids.openAclUnsafe,
  mode: CreateMode.Persistent,
  ttlMs: -1n,
});

const acksFrom = (cluster: Cluster, id: number) =>
  cluster.queue.filter((e) => e.from === id && e.message.kind === 'ack');

describe('acknowledgements wait for durability', () => {
  it('a duplicate PROPOSAL persists nothing, yet its ACK waits for the first copy to be durable', () => {
    const cluster = new Cluster({ voters: 3 });
    cluster.stabilize();
    const leader = cluster.leader()!;
    const [follower, other] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
    const s = cluster.connect(leader);
    cluster.autoPersist = false;
    const xid = cluster.send(s, create('/w'));
    cluster.flushStorage(leader);
    // The proposal reaches both followers; neither has made it durable yet.
    cluster.deliverOnce((e) => e.message.kind === 'proposal');
    const proposal = cluster.trace.findLast(
      (e: Envelope) => e.to === follower && e.message.kind === 'proposal',
    )!;
    expect(cluster.storagePending(follower)).toBe(true);
    expect(acksFrom(cluster, follower)).toEqual([]);
    // The transport delivers it again (a retransmission): nothing new to log, an ACK to send.
    cluster.step(follower, { kind: 'message', from: leader, message: proposal.message });
    expect(acksFrom(cluster, follower)).toEqual([]);
    // Crash here and no acknowledgement ever left: the leader must not have its quorum.
    cluster.deliverOnce();
    expect(cluster.replyTo(s, xid)).toBeUndefined();
    cluster.flushStorage(follower);
    // Both ACKs (the first copy's and the duplicate's) go once the log is durable.
    expect(acksFrom(cluster, follower)).toHaveLength(2);
    expect(cluster.durableLog(follower).some((t) => t.body.kind === 'create' && t.body.path === '/w')).toBe(
      true,
    );
    cluster.flushStorage(other);
    cluster.autoPersist = true;
    for (let i = 0; i < 20 && cluster.replyTo(s, xid) === undefined; i++) cluster.deliverOnce();
    expect(cluster.request(s, { op: 'exists', path: '/w', watch: false }).ok).toBe(true);
  });

  it('a follower that crashes holding only a duplicate ACK never acknowledged: the write does not commit on its word', () => {
    const cluster = new Cluster({ voters: 3 });
    cluster.stabilize();
    const leader = cluster.leader()!;
    const [follower, other] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
    const s = cluster.connect(leader);
    cluster.autoPersist = false;
    const xid = cluster.send(s, create('/lost'));
    cluster.flushStorage(leader);
    cluster.deliverOnce((e) => e.message.kind === 'proposal' && e.to === follower);
    const proposal = cluster.trace.findLast(
      (e: Envelope) => e.to === follower && e.message.kind === 'proposal',
    )!;
    cluster.step(follower, { kind: 'message', from: leader, message: proposal.message });
    // Keep the other follower from ever hearing of it, then crash the first before its disk.
    cluster.queue = cluster.queue.filter((e) => !(e.to === other && e.message.kind === 'proposal'));
    cluster.deliverOnce();
    cluster.crash(follower);
    for (let i = 0; i < 10; i++) cluster.deliverOnce();
    expect(cluster.replyTo(s, xid)).toBeUndefined();
    expect(cluster.durableLog(follower).some((t) => t.body.kind === 'create')).toBe(false);
  });
});
