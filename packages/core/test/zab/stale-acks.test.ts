/**
 * A learner's messages from an attempt to follow that it has given up can still arrive (the
 * simulator duplicates and delays messages across attempts). The simulator's seed 5149 found
 * a late ackNewLeader from a follower's previous attempt taken as the ack of the NEWLEADER of
 * its new one: the leader counted the follower synced, and durable, through a zxid it had not
 * logged in this attempt, and committed a transaction only the leader held.
 */
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/index.js';
import { Cluster } from './cluster.js';

describe('acks from an earlier attempt to follow', () => {
  it('a late ackNewLeader of an earlier attempt does not sync the follower in a later one', () => {
    const acks: Envelope[] = [];
    const newLeaders: Envelope[] = [];
    const cluster = new Cluster({
      voters: 3,
      peer: { tickTimeMs: 1000, syncLimitTicks: 5 },
      observer: {
        delivered: (envelope, outcome) => {
          if (outcome !== 'delivered') return;
          if (envelope.message.kind === 'ackNewLeader') acks.push(envelope);
          if (envelope.message.kind === 'newLeader') newLeaders.push(envelope);
        },
      },
    });
    cluster.stabilize();
    const leader = cluster.leader()!;
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const stale = acks.find((envelope) => envelope.from === follower && envelope.to === leader);
    expect(stale).toBeDefined();

    // The follower loses its leader past syncLimit, then follows it again: a new attempt.
    cluster.isolate(follower);
    cluster.run(8000);
    cluster.heal();
    const sentBefore = newLeaders.length;
    // Everything flows but the follower's ackNewLeader, until its new NEWLEADER has arrived.
    const holdAck = (envelope: Envelope) =>
      !(envelope.from === follower && envelope.message.kind === 'ackNewLeader');
    for (let round = 0; round < 2000 && newLeaders.length === sentBefore; round++) {
      if (cluster.deliverOnce(holdAck) === 0) cluster.tick(20);
    }
    expect(newLeaders.length).toBeGreaterThan(sentBefore);
    const synced = () =>
      cluster
        .peer(leader)
        .learners()
        .find((view) => view.serverId === follower)?.synced;
    expect(synced()).toBe(false);

    // The late copy from the first attempt acknowledges nothing of this one.
    cluster.step(leader, { kind: 'message', from: follower, message: stale!.message });
    expect(synced()).toBe(false);

    // Its own ack does.
    for (let round = 0; round < 200 && synced() !== true; round++) cluster.deliverOnce();
    expect(synced()).toBe(true);
  });
});
