/**
 * Fast Leader Election on its own, one peer's view: which ballots it counts, and for whom.
 */
import { describe, expect, it } from 'vitest';
import {
  type ElectionMessage,
  FastLeaderElection,
  JointQuorum,
  MajorityQuorum,
  makeZxid,
  type Vote,
} from '../../src/index.js';

const options = { finalizeWaitMs: 50, resendIntervalMs: 100 };
const vote = (leader: number, counter: number, peerEpoch = 9): Vote => ({
  leader,
  zxid: makeZxid(9, counter),
  peerEpoch,
});
const ballot = (v: Vote, electionEpoch: number, state: ElectionMessage['state']): ElectionMessage => ({
  kind: 'notification',
  vote: v,
  electionEpoch,
  state,
});

describe('FastLeaderElection', () => {
  it('forgets the decided ballot of a peer that looks again: no leading on it', () => {
    // Simulator seeds 3729 and 4543 (--membership 1): server 1 led, found server 3 ahead of
    // it and stepped down. Server 3's answers while it still followed 1 were kept, and once
    // server 2 (still following 1) answered too, they made a quorum for 1 again: 1 led, found
    // 3 ahead, stepped down, for good.
    const election = new FastLeaderElection(1, new MajorityQuorum([1, 2, 3]), options);
    election.start(makeZxid(9, 2), 9, 0);
    election.start(makeZxid(9, 2), 9, 10); // round 2
    // 3 still follows 1, from round 1: out of the election.
    expect(election.receive(3, ballot(vote(1, 1), 1, 'following'), 20).decided).toBeUndefined();
    // 3 looks now, with a better vote: we take it.
    election.receive(3, ballot(vote(3, 4), 2, 'looking'), 30);
    expect(election.currentVote).toEqual(vote(3, 4));
    // 2 still follows 1, in this round. 3's old answer does not count with it.
    expect(election.receive(2, ballot(vote(1, 1), 2, 'following'), 40).decided).toBeUndefined();
    // The round goes on to the better vote, with 2 once it looks.
    election.receive(2, ballot(vote(3, 4), 2, 'looking'), 50);
    expect(election.tick(100).decided).toEqual(vote(3, 4));
  });

  it('elects only a voter of the configuration in force, though a proposed one counts too', () => {
    // Simulator seeds 2100, 2343 and 2852: see reconfig.test.ts, "did not commit".
    const committed = new MajorityQuorum([1, 2, 3]);
    const joint = new JointQuorum([committed, new MajorityQuorum([1, 2, 3, 4])]);
    const election = new FastLeaderElection(2, joint, { ...options, inForce: committed });
    election.start(makeZxid(9, 3), 9, 0);
    // The joiner's vote for itself, with the same zxid and a higher id, does not win.
    election.receive(4, ballot(vote(4, 3), 1, 'looking'), 10);
    expect(election.currentVote).toEqual(vote(2, 3));
    // A voter that has not logged the proposal (lower zxid) takes ours; the joiner votes
    // with us too, and the three are a quorum of both configurations.
    election.receive(1, ballot(vote(2, 3), 1, 'looking'), 20);
    expect(election.tick(100).decided).toBeUndefined();
    election.receive(4, ballot(vote(2, 3), 1, 'looking'), 110);
    expect(election.tick(200).decided).toEqual(vote(2, 3));
  });

  it('a server only a proposed configuration makes a voter votes for nobody at first', () => {
    const committed = new MajorityQuorum([1, 2, 3]);
    const joint = new JointQuorum([committed, new MajorityQuorum([1, 2, 3, 4])]);
    const election = new FastLeaderElection(4, joint, { ...options, inForce: committed });
    election.start(makeZxid(9, 3), 9, 0);
    expect(election.currentVote.leader).toBe(-1);
    election.receive(2, ballot(vote(2, 3), 1, 'looking'), 10);
    expect(election.currentVote).toEqual(vote(2, 3));
  });
});
