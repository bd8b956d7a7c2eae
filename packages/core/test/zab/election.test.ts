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
