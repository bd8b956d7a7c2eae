import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  digestOf,
  type EnsembleConfig,
  type EnsembleMember,
  ErrorCode,
  formatEnsembleConfig,
  Ids,
  JointQuorum,
  MajorityQuorum,
  parseEnsembleConfig,
  type ReconfigRequest,
  type Reply,
  type ServerId,
  zeroZxid,
} from '../../src/index.js';
import { type ClientSession, Cluster } from './cluster.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array | null) => new TextDecoder().decode(data ?? new Uint8Array());
const create = (path: string) =>
  ({ op: 'create', path, data: bytes('v'), acl: Ids.openAclUnsafe, mode: 0, ttlMs: -1n }) as const;

const member = (id: ServerId, role: EnsembleMember['role'] = 'participant'): EnsembleMember => ({
  id,
  host: '127.0.0.1',
  quorumPort: 2880 + id,
  electionPort: 3880 + id,
  role,
  client: { address: '127.0.0.1', port: 2180 + id },
});
const line = (id: ServerId, role: EnsembleMember['role'] = 'participant') =>
  `server.${id}=127.0.0.1:${2880 + id}:${3880 + id}:${role};127.0.0.1:${2180 + id}`;
const reconfig = (fields: Partial<Omit<ReconfigRequest, 'op'>>): ReconfigRequest => ({
  op: 'reconfig',
  joiningServers: null,
  leavingServers: null,
  newMembers: null,
  fromConfig: -1n,
  ...fields,
});

const addFour = reconfig({ joiningServers: line(4) });

/** Three voters and two observers (4 and 5), reconfig enabled, a super user's password `pw`. */
function ensemble(): Cluster {
  const config: EnsembleConfig = {
    members: [member(1), member(2), member(3), member(4, 'observer'), member(5, 'observer')],
    version: zeroZxid,
  };
  const cluster = new Cluster({
    voters: 3,
    observers: 2,
    peer: { ensembleConfig: config, reconfigEnabled: true, superDigest: digestOf('super', 'pw') },
  });
  cluster.stabilize();
  return cluster;
}

function superSession(cluster: Cluster, server: ServerId): ClientSession {
  const session = cluster.connect(server);
  expect(cluster.request(session, { op: 'auth', scheme: 'digest', auth: bytes('super:pw') }).ok).toBe(true);
  return session;
}

function configOf(reply: Reply): EnsembleConfig {
  if (!reply.ok || reply.op !== 'reconfig') throw new Error(`reconfig failed: ${JSON.stringify(reply)}`);
  return parseEnsembleConfig(text(reply.result.data));
}

function voters(cluster: Cluster, id: ServerId): ServerId[] {
  return [...cluster.peer(id).quorum.voters].sort((a, b) => a - b);
}

describe('reconfig', () => {
  it('is answered ReconfigDisabled by default, in its turn, on the leader and on a follower', () => {
    const cluster = new Cluster({ voters: 3 });
    cluster.stabilize();
    const leader = cluster.leader()!;
    for (const server of [leader, leader === 1 ? 2 : 1]) {
      const session = cluster.connect(server);
      // A write sent before the reconfig is answered first: the refusal keeps the session's order.
      const writeXid = cluster.send(session, create(`/before-${server}`));
      const reconfigXid = cluster.send(session, addFour);
      cluster.run(500);
      const replies = cluster
        .outputsOf(session)
        .flatMap((output) => (output.kind === 'reply' ? [output.xid] : []));
      expect(replies).toEqual([writeXid, reconfigXid]);
      expect(cluster.replyTo(session, writeXid)).toMatchObject({ ok: true, op: 'create' });
      expect(cluster.replyTo(session, reconfigXid)).toMatchObject({
        ok: false,
        op: 'reconfig',
        code: ErrorCode.ReconfigDisabled,
      });
    }
  });

  it('refuses as ZooKeeper does, in its order: BadVersion, BadArguments, NewConfigNoQuorum, then NoAuth', () => {
    const cluster = ensemble();
    const follower = cluster.leader() === 1 ? 2 : 1;
    const anyone = cluster.connect(follower);
    expect(cluster.request(anyone, addFour)).toMatchObject({ ok: false, code: ErrorCode.NoAuth });
    // Without the right, a change that fails an earlier check says so, not NoAuth.
    expect(cluster.request(anyone, reconfig({ joiningServers: line(4), fromConfig: 7n }))).toMatchObject({
      ok: false,
      code: ErrorCode.BadVersion,
    });
    const admin = superSession(cluster, follower);
    for (const [request, code] of [
      [reconfig({ joiningServers: line(4), fromConfig: 7n }), ErrorCode.BadVersion],
      [reconfig({ joiningServers: 'server.4=nowhere' }), ErrorCode.BadArguments],
      [reconfig({ leavingServers: '1,2,3' }), ErrorCode.BadArguments],
      // One participant alone (ZooKeeper's standaloneEnabled) and a joiner without a client port.
      [reconfig({ leavingServers: '2,3' }), ErrorCode.BadArguments],
      [reconfig({ joiningServers: 'server.4=127.0.0.1:2884:3884:participant' }), ErrorCode.BadArguments],
      // Voters 6 and 7 are not connected: the new quorum (3 of 1, 2, 6, 7) cannot be synced.
      [reconfig({ newMembers: [line(1), line(2), line(6), line(7)].join(',') }), ErrorCode.NewConfigNoQuorum],
    ] as const) {
      expect(
        cluster.request(admin, request),
        `${request.joiningServers} ${request.leavingServers} ${request.newMembers} ${request.fromConfig}`,
      ).toMatchObject({ ok: false, code });
    }
    // Nothing changed anywhere: the version is still the one the first leader gave zoo.cfg's membership.
    const version = cluster.peer(1).ensembleConfig?.version;
    for (const id of [1, 2, 3, 4, 5]) expect(cluster.peer(id).ensembleConfig?.version).toBe(version);
  });

  it('tells the driver of a reconfig when it is logged (proposedConfig), before it takes effect', () => {
    const proposedAt = new Map<ServerId, bigint>();
    const activatedAt = new Map<ServerId, bigint[]>();
    const cluster = new Cluster({
      voters: 3,
      observers: 2,
      peer: {
        ensembleConfig: {
          members: [member(1), member(2), member(3), member(4, 'observer'), member(5, 'observer')],
          version: zeroZxid,
        },
        reconfigEnabled: true,
        superDigest: digestOf('super', 'pw'),
      },
      observer: {
        ready: (id, ready) => {
          if (ready.proposedConfig !== undefined) proposedAt.set(id, ready.proposedConfig.version);
          if (ready.activatedConfig !== undefined)
            activatedAt.set(id, [...(activatedAt.get(id) ?? []), ready.activatedConfig.version]);
        },
      },
    });
    cluster.stabilize();
    cluster.run(500);
    proposedAt.clear();
    activatedAt.clear();
    const follower = cluster.leader() === 1 ? 2 : 1;
    const changed = configOf(
      cluster.request(superSession(cluster, follower), reconfig({ leavingServers: '5' })),
    );
    cluster.run(200);
    // Every server logs it (an observer when it is informed of the commit, in the same step as
    // it takes effect there), and then it takes effect, once.
    for (const id of [1, 2, 3, 4]) {
      expect(proposedAt.get(id), `server ${id}`).toBe(changed.version);
      expect(activatedAt.get(id), `server ${id}`).toEqual([changed.version]);
    }
  });

  it('skips the ACL check with skipACL=yes, as ZooKeeper does (and checks it otherwise)', () => {
    const config: EnsembleConfig = { members: [member(1), member(2), member(3)], version: zeroZxid };
    for (const skip of [false, true]) {
      const cluster = new Cluster({
        voters: 3,
        peer: { ensembleConfig: config, reconfigEnabled: true, reconfigSkipsAcl: skip },
      });
      cluster.stabilize();
      cluster.run(500);
      const anyone = cluster.connect(cluster.leader() === 1 ? 2 : 1);
      const reply = cluster.request(anyone, reconfig({ leavingServers: '3' }));
      if (skip) expect(configOf(reply).members.map((m) => m.id)).toEqual([1, 2]);
      else expect(reply).toMatchObject({ ok: false, code: ErrorCode.NoAuth });
    }
  });

  it("gives zoo.cfg's membership a version when the first leader is established, as ZooKeeper (ZOOKEEPER-1783)", () => {
    const cluster = ensemble();
    cluster.run(500);
    const leader = cluster.leader()!;
    const { currentEpoch } = cluster.peer(leader).status();
    for (const id of [1, 2, 3, 4, 5]) {
      const config = cluster.peer(id).ensembleConfig!;
      // The first zxid of the first epoch; the members are zoo.cfg's.
      expect(config.version, `server ${id}`).toBe(BigInt(currentEpoch) * 2n ** 32n + 1n);
      expect(config.members.map((m) => `${m.id}:${m.role}`)).toEqual([
        '1:participant',
        '2:participant',
        '3:participant',
        '4:observer',
        '5:observer',
      ]);
      expect(cluster.activatedConfigs(id).at(-1)).toEqual(config);
    }
    // A leader of a later epoch does not version it again.
    cluster.crash(leader);
    cluster.run(3000);
    expect(cluster.peer(cluster.leader()!).ensembleConfig!.version).toBe(
      BigInt(currentEpoch) * 2n ** 32n + 1n,
    );
  });

  it('promotes observers to participants: committed by both quorums, activated everywhere, roles follow', () => {
    const cluster = ensemble();
    const writer = cluster.connect(1);
    expect(cluster.request(writer, create('/a')).ok).toBe(true);
    const admin = superSession(cluster, 2);
    const reply = cluster.request(
      admin,
      reconfig({
        joiningServers: `${line(4)},${line(5)}`,
        fromConfig: cluster.peer(2).ensembleConfig!.version,
      }),
    );
    const config = configOf(reply);
    expect(config.members.map((m) => [m.id, m.role])).toEqual([
      [1, 'participant'],
      [2, 'participant'],
      [3, 'participant'],
      [4, 'participant'],
      [5, 'participant'],
    ]);
    expect(reply.ok && reply.op === 'reconfig' && reply.result.stat.mzxid).toBe(config.version);
    cluster.run(2000);
    for (const id of [1, 2, 3, 4, 5]) {
      expect(cluster.peer(id).ensembleConfig, `server ${id}`).toEqual(config);
      expect(voters(cluster, id), `server ${id}`).toEqual([1, 2, 3, 4, 5]);
      expect(cluster.activatedConfigs(id).at(-1)).toEqual(config);
      // /zookeeper/config holds it on every replica, as getConfig reads it.
      const read = cluster.request(cluster.connect(id), {
        op: 'getData',
        path: '/zookeeper/config',
        watch: false,
      });
      expect(read.ok && read.op === 'getData' && text(read.result.data)).toBe(formatEnsembleConfig(config));
    }
    // The former observers reconnected as followers; the ensemble goes on writing.
    expect(cluster.peer(4).status().role).toBe('following');
    expect(cluster.peer(5).status().role).toBe('following');
    expect(cluster.request(cluster.connect(4), create('/b')).ok).toBe(true);
    cluster.run(500);
    const digests = new Set([...cluster.digests().values()].map((d) => `${d.zxid}:${d.digest}`));
    expect(digests.size).toBe(1);
    // With five voters, two can be lost.
    const leader = cluster.leader()!;
    const others = [1, 2, 3, 4, 5].filter((id) => id !== leader);
    cluster.crash(others[0]!);
    cluster.crash(others[1]!);
    expect(cluster.request(cluster.connect(others[2]!), create('/c')).ok).toBe(true);
  });

  it("takes a whole membership as zkCli's reconfig -file sends it: one line each and a version line, ignored", () => {
    const cluster = ensemble();
    const before = cluster.peer(1).ensembleConfig!;
    const admin = superSession(cluster, 1);
    const lines = [line(1), line(2), line(3), line(4, 'observer'), line(5, 'observer')];
    const config = configOf(
      cluster.request(admin, reconfig({ newMembers: `${lines.join('\n')}\nversion=1` })),
    );
    expect(config.members).toEqual(before.members);
    // The version is the reconfig's zxid, not the file's.
    expect(config.version).toBeGreaterThan(before.version);
    expect(config.version).not.toBe(1n);
    // A line that is neither a server nor the version is still refused.
    expect(cluster.request(admin, reconfig({ newMembers: `${lines.join('\n')}\nweight.1=2` }))).toMatchObject(
      { ok: false, code: ErrorCode.BadArguments },
    );
  });

  it('adds a server that is not running yet when a quorum of the new voters is synced, as ZooKeeper', () => {
    const cluster = ensemble();
    const admin = superSession(cluster, 1);
    // Voters 1, 2, 3 and 6: three of the four are connected and synced.
    const config = configOf(cluster.request(admin, reconfig({ joiningServers: line(6) })));
    expect(config.members.map((m) => m.id)).toEqual([1, 2, 3, 4, 5, 6]);
    cluster.run(500);
    // Without server 6 the four voters still decide, with three of them.
    expect(cluster.request(cluster.connect(2), create('/without-6')).ok).toBe(true);
  });

  it('one change at a time: a second reconfig while the first is pending is ReconfigInProgress', () => {
    const cluster = ensemble();
    const leader = cluster.leader()!;
    const admin = superSession(cluster, leader);
    // Both go out before any ack comes back: the second is prepared while the first is pending.
    const first = cluster.send(admin, reconfig({ joiningServers: line(4) }));
    const second = cluster.send(admin, reconfig({ joiningServers: line(5) }));
    cluster.run(2000);
    expect(cluster.replyTo(admin, first)).toMatchObject({ ok: true, op: 'reconfig' });
    // Both were prepared in one step, before the first committed.
    expect(cluster.replyTo(admin, second)).toMatchObject({ ok: false, code: ErrorCode.ReconfigInProgress });
  });

  it('removing the leader hands leadership over to a remaining voter, losing nothing', () => {
    const cluster = ensemble();
    const admin0 = superSession(cluster, 4);
    configOf(cluster.request(admin0, reconfig({ joiningServers: `${line(4)},${line(5)}` })));
    cluster.run(2000);
    const leader = cluster.leader()!;
    const follower = [1, 2, 3, 4, 5].find((id) => id !== leader)!;
    const writer = cluster.connect(follower);
    for (let i = 0; i < 5; i++) expect(cluster.request(writer, create(`/before-${i}`)).ok).toBe(true);
    const admin = superSession(cluster, follower);
    const config = configOf(cluster.request(admin, reconfig({ leavingServers: String(leader) })));
    expect(config.members.map((m) => m.id)).not.toContain(leader);
    cluster.run(3000);
    const successor = cluster.leader();
    expect(successor).toBeDefined();
    expect(successor).not.toBe(leader);
    expect(cluster.peer(leader).status().role).not.toBe('leading');
    expect(cluster.peer(leader).status().lookingReason).toMatch(/handed leadership over|removed/);
    const again = cluster.connect(successor!);
    expect(cluster.request(again, create('/after')).ok).toBe(true);
    for (let i = 0; i < 5; i++) {
      const read = cluster.request(again, { op: 'exists', path: `/before-${i}`, watch: false });
      expect(read.ok, `/before-${i}`).toBe(true);
    }
  });

  it('demotes a participant to an observer, which then observes', () => {
    const cluster = ensemble();
    const leader = cluster.leader()!;
    const demoted = [1, 2, 3].find((id) => id !== leader)!;
    const admin = superSession(cluster, leader);
    configOf(cluster.request(admin, reconfig({ joiningServers: `${line(demoted, 'observer')},${line(4)}` })));
    cluster.run(2000);
    expect(cluster.peer(demoted).status().role).toBe('observing');
    expect(voters(cluster, leader)).toEqual([1, 2, 3, 4].filter((id) => id !== demoted));
    expect(cluster.request(cluster.connect(demoted), create('/x')).ok).toBe(true);
  });

  it('a restarted server keeps the configuration a reconfig left, from its storage', () => {
    const cluster = ensemble();
    const admin = superSession(cluster, 1);
    const config = configOf(cluster.request(admin, reconfig({ joiningServers: line(4) })));
    cluster.run(1000);
    cluster.crash(3);
    cluster.restart(3);
    // Before it syncs again its log holds the reconfig: its quorum is the new one's (or joint).
    expect([...cluster.peer(3).quorum.voters].sort()).toEqual([1, 2, 3, 4]);
    cluster.run(3000);
    expect(cluster.peer(3).ensembleConfig).toEqual(config);
  });
});

describe('the joint quorum', () => {
  const ids = fc.uniqueArray(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 9 });
  it('no set that decides under the joint quorum is disjoint from a quorum of either configuration', () => {
    fc.assert(
      fc.property(
        ids,
        ids,
        fc.subarray([1, 2, 3, 4, 5, 6, 7, 8, 9]),
        fc.subarray([1, 2, 3, 4, 5, 6, 7, 8, 9]),
        (a, b, x, y) => {
          const old = new MajorityQuorum(a);
          const next = new MajorityQuorum(b);
          const joint = new JointQuorum([old, next]);
          if (!joint.containsQuorum(x)) return;
          for (const other of [old, next]) {
            if (other.containsQuorum(y)) expect(x.some((id) => y.includes(id))).toBe(true);
          }
        },
      ),
    );
  });

  it('commits only what a majority of both configurations acknowledged', () => {
    const joint = new JointQuorum([new MajorityQuorum([1, 2, 3]), new MajorityQuorum([1, 2, 3, 4, 5])]);
    const z = (n: number) => BigInt(n) as never;
    // 1, 2 are a majority of the old but not of the new: their ack at 9 commits nothing beyond 5.
    expect(
      joint.highestAcked([
        [1, z(9)],
        [2, z(9)],
        [4, z(5)],
        [5, z(1)],
      ]),
    ).toBe(5n);
    expect(
      joint.highestAcked([
        [1, z(9)],
        [2, z(9)],
      ]),
    ).toBeUndefined();
  });
});

describe('a server outside the membership (ZooKeeper\'s "start it, then reconfig -add")', () => {
  /**
   * Voters 1, 2 and 3 (reconfig enabled, zoo.cfg's membership) and server 4, started with a
   * view of its own that names the members and itself, as ZooKeeper's guide has a joining
   * server start.
   */
  function withJoiner(): Cluster {
    const members = [member(1), member(2), member(3)];
    const cluster = new Cluster({
      voters: 3,
      peer: {
        ensembleConfig: { members, version: zeroZxid },
        reconfigEnabled: true,
        superDigest: digestOf('super', 'pw'),
      },
      extraServers: [4],
      peerOf: (id) =>
        id === 4
          ? { voters: [1, 2, 3, 4], ensembleConfig: { members: [...members, member(4)], version: zeroZxid } }
          : {},
    });
    cluster.stabilize();
    return cluster;
  }

  it('follows as a non-voting learner: gets every proposal and commit, counts in no quorum', () => {
    const cluster = withJoiner();
    const leader = cluster.leader()!;
    // It took the ensemble's versioned membership, without itself, and follows.
    const membership = cluster.peer(1).ensembleConfig!;
    expect(membership.version).not.toBe(zeroZxid);
    expect(cluster.peer(4).ensembleConfig).toEqual(membership);
    expect(cluster.peer(4).status()).toMatchObject({ role: 'following', leaderId: leader, serving: true });
    expect(voters(cluster, 4)).toEqual([1, 2, 3]);
    const view = cluster
      .peer(leader)
      .learners()
      .find((l) => l.serverId === 4);
    expect(view).toMatchObject({ observer: false, voting: false, synced: true });
    const writer = cluster.connect(4);
    for (let i = 0; i < 3; i++) expect(cluster.request(writer, create(`/from-4-${i}`)).ok).toBe(true);
    cluster.run(300);
    const digests = new Set([...cluster.digests().values()].map((d) => `${d.zxid}:${d.digest}`));
    expect(digests.size).toBe(1);

    // The leader and server 4 alone are no quorum: nothing commits, and the leader steps down.
    const others = [1, 2, 3].filter((id) => id !== leader);
    for (const id of others) cluster.isolate(id);
    const cut = cluster.connect(leader);
    const committedBefore = cluster.peer(leader).status().lastCommittedZxid;
    const xid = cluster.send(cut, create('/never'));
    cluster.run(3000);
    expect(cluster.replyTo(cut, xid)?.ok ?? false).toBe(false);
    expect(cluster.peer(leader).status().role).not.toBe('leading');
    for (const id of [leader, 4])
      expect(cluster.peer(id).status().lastCommittedZxid, `server ${id}`).toBe(committedBefore);
    cluster.heal();
    cluster.stabilize();
    const read = cluster.request(cluster.connect(cluster.leader()!), {
      op: 'exists',
      path: '/never',
      watch: false,
    });
    expect(read).toMatchObject({ ok: false, code: ErrorCode.NoNode });
  });

  it('becomes a voter once reconfig -add names it, without reconnecting; then two voters can be lost', () => {
    const cluster = withJoiner();
    const admin = superSession(cluster, 2);
    const config = configOf(
      cluster.request(
        admin,
        reconfig({ joiningServers: line(4), fromConfig: cluster.peer(2).ensembleConfig!.version }),
      ),
    );
    expect(config.members.map((m) => `${m.id}:${m.role}`)).toEqual([
      '1:participant',
      '2:participant',
      '3:participant',
      '4:participant',
    ]);
    cluster.run(1000);
    for (const id of [1, 2, 3, 4]) {
      expect(cluster.peer(id).ensembleConfig, `server ${id}`).toEqual(config);
      expect(voters(cluster, id), `server ${id}`).toEqual([1, 2, 3, 4]);
    }
    expect(cluster.peer(4).status().role).toBe('following');
    const leader = cluster.leader()!;
    expect(
      cluster
        .peer(leader)
        .learners()
        .find((l) => l.serverId === 4),
    ).toMatchObject({ voting: true });
    // Four voters: a quorum is three, and server 4 is one of them.
    const cutOff = [1, 2, 3].filter((id) => id !== leader)[0]!;
    cluster.isolate(cutOff);
    expect(cluster.request(cluster.connect(4), create('/with-4')).ok).toBe(true);
  });

  it('a reconfig adding it that did not commit: the voters elect one of their own, not the joiner', () => {
    // Simulator seeds 2100, 2343 and 2852 (--membership 1), reduced. Voters that had logged
    // the proposal ranked the joiner (highest id, same zxid) first; one that had not gave it
    // no rank at all. The joint quorum needed both kinds, and neither gave in, for good.
    const cluster = withJoiner();
    const leader = cluster.leader()!;
    const [missed, logged] = [1, 2, 3].filter((id) => id !== leader) as [ServerId, ServerId];
    const admin = superSession(cluster, logged);
    cluster.send(admin, reconfig({ joiningServers: line(4) }));
    cluster.deliverOnce((e) => e.message.kind === 'request');
    expect(cluster.queue.filter((e) => e.message.kind === 'proposal').map((e) => e.to)).toEqual(
      [1, 2, 3, 4].filter((id) => id !== leader),
    );
    // The proposal reaches the other voter and the joiner only, then the leader is gone.
    cluster.deliverOnce((e) => e.message.kind === 'proposal' && e.to !== missed);
    cluster.crash(leader);
    for (const id of [logged, 4])
      expect(cluster.peer(id).pendingEnsembleConfig, `server ${id}`).toBeDefined();
    expect(cluster.peer(missed).pendingEnsembleConfig).toBeUndefined();

    // Three servers of four: only all of them together are a quorum of both configurations.
    cluster.run(3000);
    const next = cluster.leader();
    expect(next, cluster.describe()).toBe(logged);
    for (const id of [missed, logged, 4])
      expect(cluster.peer(id).status().serving, `server ${id}`).toBe(true);
    // The new leader holds the proposal and commits it, with the joiner's ack: 4 now votes.
    for (const id of [missed, logged, 4]) expect(voters(cluster, id), `server ${id}`).toEqual([1, 2, 3, 4]);
  });

  it('adding it as an observer makes it observe', () => {
    const cluster = withJoiner();
    const admin = superSession(cluster, 1);
    configOf(cluster.request(admin, reconfig({ joiningServers: line(4, 'observer') })));
    cluster.run(2000);
    expect(cluster.peer(4).status().role).toBe('observing');
    expect(voters(cluster, 4)).toEqual([1, 2, 3]);
    expect(cluster.request(cluster.connect(4), create('/observed')).ok).toBe(true);
  });
});
