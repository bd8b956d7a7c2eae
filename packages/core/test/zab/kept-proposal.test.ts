/**
 * A proposal the driver kept (a server's zoo.cfg.dynamic.next) and the log may lack: taken
 * at start as proposed when it is beyond everything the log holds, as ZooKeeper takes that
 * file as its last seen configuration, and dropped once the log passes its zxid without it.
 */
import { describe, expect, it } from 'vitest';
import {
  decodedSessionId,
  type EnsembleConfig,
  type EnsembleMember,
  formatEnsembleConfig,
  makeZxid,
  type Txn,
  ZabPeer,
  type Zxid,
} from '../../src/index.js';
import { Membership } from '../../src/zab/membership.js';

const member = (id: number, role: EnsembleMember['role'] = 'participant'): EnsembleMember => ({
  id,
  host: '127.0.0.1',
  quorumPort: 2880 + id,
  electionPort: 3880 + id,
  role,
});
const config = (version: Zxid, ...members: EnsembleMember[]): EnsembleConfig => ({ members, version });
const inForce = config(makeZxid(1, 1), member(1), member(2), member(3));
/** Server 4 in as a voter: a quorum of {1, 2, 3, 4} is three. */
const grown = (version: Zxid) => config(version, member(1), member(2), member(3), member(4));
const write = (zxid: Zxid): Txn => ({
  zxid,
  timeMs: 0,
  sessionId: decodedSessionId(5n),
  cxid: 1,
  body: { kind: 'error', code: 0 },
});
const reconfigTxn = (next: EnsembleConfig): Txn => ({
  ...write(next.version),
  body: { kind: 'reconfig', config: formatEnsembleConfig(next) },
});

describe('a kept proposal', () => {
  it('beyond the log: proposed, and decisions need its quorum too', () => {
    const membership = new Membership(inForce, [], []);
    const next = grown(makeZxid(1, 5));
    expect(membership.keptProposal(next, makeZxid(1, 4))).toBe(true);
    expect(membership.pending).toBe(next);
    // {1, 2} is a majority of {1, 2, 3}, not of {1, 2, 3, 4}.
    expect(membership.quorum.containsQuorum([1, 2])).toBe(false);
    expect(membership.quorum.containsQuorum([1, 2, 4])).toBe(true);
  });

  it('at or below the log end, or the configuration in force: ignored', () => {
    const membership = new Membership(inForce, [], []);
    // The log holds zxids up to 1/5: its own reconfig would be there; this one was truncated.
    expect(membership.keptProposal(grown(makeZxid(1, 5)), makeZxid(1, 5))).toBe(false);
    expect(membership.keptProposal(grown(makeZxid(1, 1)), makeZxid(0, 0))).toBe(false);
    expect(membership.pending).toBeUndefined();
    expect(membership.quorum.containsQuorum([1, 2])).toBe(true);
  });

  it('dropped once the log passes its zxid without it; replaced by the log own when it arrives', () => {
    const passed = new Membership(inForce, [], []);
    passed.keptProposal(grown(makeZxid(1, 5)), makeZxid(1, 4));
    passed.logged([write(makeZxid(1, 5))]);
    // Not even a reconfig at that zxid: the leader's history went another way.
    expect(passed.pending).toBeUndefined();
    const later = new Membership(inForce, [], []);
    later.keptProposal(grown(makeZxid(1, 5)), makeZxid(1, 4));
    later.logged([write(makeZxid(2, 1))]);
    expect(later.pending).toBeUndefined();
    expect(later.quorum.containsQuorum([1, 2])).toBe(true);

    const arrived = new Membership(inForce, [], []);
    const next = grown(makeZxid(1, 5));
    arrived.keptProposal(next, makeZxid(1, 4));
    arrived.logged([write(makeZxid(1, 4))]);
    expect(arrived.pending).toBe(next);
    arrived.logged([reconfigTxn(next)]);
    expect(arrived.pending?.version).toBe(next.version);
    // Now the log's: a truncation below it drops it, as any logged proposal.
    arrived.truncatedTo(makeZxid(1, 4));
    expect(arrived.pending).toBeUndefined();
  });

  it('a peer started with one takes it when its log ends before it, and not when its log passed it', () => {
    const options = (proposed: EnsembleConfig) => ({
      serverId: 1,
      voters: [1, 2, 3],
      ensembleConfig: inForce,
      proposedEnsembleConfig: proposed,
      reconfigEnabled: true,
      sessionSecret: new Uint8Array([1]),
      startTimeMs: 0,
    });
    const state = (log: Txn[]) => ({
      epochs: { acceptedEpoch: 1, currentEpoch: 1 },
      snapshot: undefined,
      log,
    });
    const next = grown(makeZxid(1, 5));
    const behind = new ZabPeer(options(next), state([write(makeZxid(1, 2))]));
    expect(behind.pendingEnsembleConfig).toEqual(next);
    expect(behind.quorum.voters.has(4)).toBe(true);
    const past = new ZabPeer(options(next), state([write(makeZxid(1, 2)), write(makeZxid(1, 6))]));
    expect(past.pendingEnsembleConfig).toBeUndefined();
    expect(past.quorum.voters.has(4)).toBe(false);
  });
});
