/**
 * ZAB's Leadership: at most one leader synchronises followers in an epoch. A would-be leader
 * starts learner sync once a quorum promised its epoch (ACKEPOCH); two quorums intersect, so
 * two leaders of one epoch need a server that promised it twice. A learner that had already
 * accepted the epoch it is offered says so in its ACKEPOCH, and such an ack does not count.
 * The simulator's seed 1579 had a follower promise epoch 2 to server 1 and then to server 3,
 * and both led epoch 2. Server 3 had chosen epoch 2 from a FOLLOWERINFO that server 1 sent
 * long before, while 3 was still looking: an early FOLLOWERINFO lasts only while its sender
 * still follows us.
 */
import { describe, expect, it } from 'vitest';
import { makeZxid, type PeerMessage, type ServerId } from '../../src/index.js';
import { Cluster } from './cluster.js';

const vote = (leader: ServerId) => ({ leader, zxid: makeZxid(0, 0), peerEpoch: 0 });

/**
 * Five voters; server 2 alone runs, and the test speaks for the others by hand: 4 and 5 vote
 * for 2, so it leads, and send FOLLOWERINFO with nothing accepted: it chooses epoch 1.
 */
function leaderInDiscovery(): { cluster: Cluster; hear: (from: ServerId, message: PeerMessage) => void } {
  const cluster = new Cluster({ voters: 5 });
  for (const id of [1, 3, 4, 5]) cluster.crash(id);
  const hear = (from: ServerId, message: PeerMessage) => cluster.step(2, { kind: 'message', from, message });
  for (const from of [4, 5])
    hear(from, { kind: 'notification', vote: vote(2), electionEpoch: 1, state: 'looking' });
  cluster.tick(100);
  expect(cluster.peer(2).status().role).toBe('leading');
  for (const from of [4, 5])
    hear(from, { kind: 'followerInfo', acceptedEpoch: 0, observer: false, attempt: from });
  expect(cluster.peer(2).status().acceptedEpoch).toBe(1);
  // The learners are down: what 2 sends them stays in the queue, for the test to read.
  const leaderInfos = cluster.queue.filter((e) => e.from === 2 && e.message.kind === 'leaderInfo');
  expect(leaderInfos.map((e) => e.to).sort()).toEqual([4, 5]);
  return { cluster, hear };
}

const ackEpoch = (promisedNow: boolean): PeerMessage => ({
  kind: 'ackEpoch',
  epoch: 1,
  currentEpoch: 0,
  lastZxid: makeZxid(0, 0),
  promisedNow,
});

/** The servers the leader began a learner sync with: it did once a quorum promised its epoch. */
const syncedWith = (cluster: Cluster): ServerId[] =>
  cluster.queue
    .filter((e) => e.from === 2 && e.message.kind === 'syncBegin')
    .map((e) => e.to)
    .sort();

describe('epoch promises', () => {
  it('an ack of an epoch the learner had accepted before does not make a quorum', () => {
    const { cluster, hear } = leaderInDiscovery();
    // 3 promised epoch 1 to someone else first (it reports accepted e1), then acks ours.
    hear(3, { kind: 'followerInfo', acceptedEpoch: 1, observer: false, attempt: 3 });
    hear(3, ackEpoch(false));
    hear(4, ackEpoch(true));
    // 2, 3 and 4 are a quorum of five, but 3's promise may be another leader's too.
    expect(syncedWith(cluster)).toEqual([]);
    expect(cluster.peer(2).status().serving).toBe(false);
    // 5's promise is ours alone: 2, 4 and 5 are a quorum; 3 is synchronised along with them.
    hear(5, ackEpoch(true));
    expect(syncedWith(cluster)).toEqual([3, 4, 5]);
  });

  it('a learner that promised to this leader and connects again still counts', () => {
    const { cluster, hear } = leaderInDiscovery();
    hear(4, ackEpoch(true));
    // 4's link drops; it connects again in a new attempt, having accepted our epoch already.
    cluster.step(2, { kind: 'linkDown', peer: 4 });
    hear(4, { kind: 'followerInfo', acceptedEpoch: 1, observer: false, attempt: 40 });
    hear(4, ackEpoch(false));
    expect(syncedWith(cluster)).toEqual([]);
    hear(5, ackEpoch(true));
    expect(syncedWith(cluster)).toEqual([4, 5]);
  });

  it('a learner says whether the epoch it acknowledges is a promise it made just now', () => {
    const cluster = new Cluster({ voters: 3, peer: { tickTimeMs: 1000, syncLimitTicks: 5 } });
    cluster.stabilize();
    const leader = cluster.leader()!;
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const acks = () =>
      cluster.trace.flatMap((e) =>
        e.from === follower && e.message.kind === 'ackEpoch' ? [e.message.promisedNow] : [],
      );
    expect(acks()).toEqual([true]);
    // The follower loses its leader past syncLimit and follows it again, in the same epoch.
    cluster.isolate(follower);
    cluster.run(8000);
    cluster.heal();
    cluster.stabilize();
    cluster.run(2000);
    expect(cluster.peer(follower).status()).toMatchObject({
      serving: true,
      leaderId: leader,
      acceptedEpoch: 1,
    });
    expect(acks()).toEqual([true, false]);
  });
});

describe('an early FOLLOWERINFO (sent to a peer still looking)', () => {
  /**
   * Three voters; server 3 alone runs. Server 1 decided for 3 and sent FOLLOWERINFO with
   * nothing accepted while 3 was still looking; `meanwhile` is what 3 hears of 1 after that.
   * Then 2 votes for 3, 3 leads, and 2 connects having accepted epoch 1 (which 1 led since).
   */
  function leadAfter(
    meanwhile: (hear: (from: ServerId, message: PeerMessage) => void, cluster: Cluster) => void,
  ) {
    const cluster = new Cluster({ voters: 3 });
    for (const id of [1, 2]) cluster.crash(id);
    const hear = (from: ServerId, message: PeerMessage) =>
      cluster.step(3, { kind: 'message', from, message });
    hear(1, { kind: 'followerInfo', acceptedEpoch: 0, observer: false, attempt: 1 });
    meanwhile(hear, cluster);
    hear(2, { kind: 'notification', vote: vote(3), electionEpoch: 1, state: 'looking' });
    cluster.tick(100);
    expect(cluster.peer(3).status().role).toBe('leading');
    hear(2, { kind: 'followerInfo', acceptedEpoch: 1, observer: false, attempt: 2 });
    const leaderInfos = cluster.queue.flatMap((e) =>
      e.from === 3 && e.message.kind === 'leaderInfo' ? [`${e.to}:e${e.message.epoch}`] : [],
    );
    return { acceptedEpoch: cluster.peer(3).status().acceptedEpoch, leaderInfos };
  }

  it('is dropped once its sender looks again: the epoch exceeds what the sender promised since', () => {
    const led = leadAfter((hear) =>
      hear(1, { kind: 'notification', vote: vote(1), electionEpoch: 1, state: 'looking' }),
    );
    expect(led).toEqual({ acceptedEpoch: 2, leaderInfos: ['2:e2'] });
  });

  it('is dropped with the link it came over', () => {
    const led = leadAfter((_hear, cluster) => cluster.step(3, { kind: 'linkDown', peer: 1 }));
    expect(led).toEqual({ acceptedEpoch: 2, leaderInfos: ['2:e2'] });
  });

  it('is kept while its sender says it follows us, and counts at once when we lead', () => {
    const led = leadAfter((hear) =>
      hear(1, { kind: 'notification', vote: vote(3), electionEpoch: 1, state: 'following' }),
    );
    // 1 and 3 made the quorum the epoch was chosen from; 2 had promised that epoch already.
    expect(led).toEqual({ acceptedEpoch: 1, leaderInfos: ['1:e1', '2:e1'] });
  });
});
