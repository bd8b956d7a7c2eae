/**
 * A voter ahead of its newly elected leader (it acknowledged a NEWLEADER that no quorum
 * did, so its current epoch is beyond the leader's) reaches the leader in discovery: the
 * leader drops it and is established by the others, as ZooKeeper's waitForEpochAck throws
 * for that follower alone. Electing again at once instead never ended in simulator seed 2532:
 * the others, not knowing that epoch, elected the same leader again before the one ahead looked.
 */
import { describe, expect, it } from 'vitest';
import { Cluster } from './cluster.js';

describe('a voter ahead of its leader in discovery', () => {
  it('is dropped; the leader is established by the others, and the one ahead follows it next', () => {
    const cluster = new Cluster({ voters: 3 });
    cluster.stabilize();
    const epoch = cluster.peer(3).status().currentEpoch;
    for (const id of [1, 2, 3]) cluster.crash(id);
    // Leader 3 proposed epoch + 2 and only server 1 acknowledged its NEWLEADER before all stopped.
    const durable = (id: number) => cluster.nodes.get(id)!.durable;
    durable(1).epochs = { acceptedEpoch: epoch + 2, currentEpoch: epoch + 2 };
    durable(2).epochs = { acceptedEpoch: epoch + 2, currentEpoch: epoch };
    durable(3).epochs = { acceptedEpoch: epoch + 2, currentEpoch: epoch };
    // Servers 2 and 3 elect 3 (same epoch and zxid: the higher id) while server 1 is away.
    cluster.isolate(1);
    cluster.restart(2);
    cluster.restart(3);
    const elected = () =>
      cluster.peer(3).status().role === 'leading' && cluster.peer(2).status().role === 'following';
    for (let round = 0; round < 200 && !elected(); round++) {
      cluster.deliverOnce();
      cluster.tick(10);
    }
    expect(elected()).toBe(true);
    expect(cluster.peer(3).status().serving).toBe(false);
    // Server 2's part of discovery waits; server 1 comes back and follows the leader it hears of.
    const fromTwo = (envelope: { from: number; to: number }) => !(envelope.from === 2 && envelope.to === 3);
    cluster.restart(1);
    cluster.heal();
    for (let round = 0; round < 100 && !cluster.linksClosed(3).includes(1); round++) {
      cluster.deliverOnce(fromTwo);
      cluster.tick(5);
    }
    if (!cluster.linksClosed(3).includes(1)) throw new Error(cluster.describe());
    // Dropped for being ahead, its link closed; the leader still leads, in the same round.
    expect(cluster.linksClosed(3)).toContain(1);
    expect(cluster.peer(3).status().role).toBe('leading');
    // With server 2's acknowledgements the leader is established, at an epoch past every promise.
    cluster.stabilize();
    expect(cluster.leader()).toBe(3);
    expect(cluster.peer(3).status().currentEpoch).toBe(epoch + 3);
    // Behind the leader now, server 1 follows and serves.
    expect(cluster.peer(1).status()).toMatchObject({
      role: 'following',
      serving: true,
      currentEpoch: epoch + 3,
    });
  });
});
