/**
 * Every queue a peer keeps has a named bound. These scenarios fill each one and check what
 * ZooKeeper would do at the bound (refuse with ThrottledOp in the request's turn, close the
 * connection, drop the learner, wait for room), that the peer counts it in `status()`, and
 * that the ensemble carries on afterwards.
 */
import { describe, expect, it } from 'vitest';
import {
  type ClientOutput,
  CreateMode,
  ErrorCode,
  Ids,
  type Reply,
  resolvePeerOptions,
  type ServerId,
} from '../../src/index.js';
import { type ClientSession, Cluster } from './cluster.js';

const create = (path: string) => ({
  op: 'create' as const,
  path,
  data: new Uint8Array(0),
  acl: Ids.openAclUnsafe,
  mode: CreateMode.Persistent,
  ttlMs: -1n,
});
const exists = (path: string) => ({ op: 'exists' as const, path, watch: false });

function follower(cluster: Cluster): ServerId {
  return cluster.voterIds.find((id) => id !== cluster.leader())!;
}

/** The replies a session got, in the order the server sent them. */
function replies(cluster: Cluster, session: ClientSession): { xid: number; reply: Reply }[] {
  return cluster
    .outputsOf(session)
    .filter((o): o is Extract<ClientOutput, { kind: 'reply' }> => o.kind === 'reply')
    .map((o) => ({ xid: o.xid, reply: o.reply }));
}

function closeReason(
  cluster: Cluster,
  session: { server: ServerId; connectionId: number },
): string | undefined {
  const output = cluster
    .outputsOf(session as ClientSession)
    .find((o): o is Extract<ClientOutput, { kind: 'close' }> => o.kind === 'close');
  return output?.reason;
}

function settle(cluster: Cluster): void {
  for (let i = 0; i < 200; i++) if (cluster.deliverOnce() === 0) cluster.tick(10);
}

describe('bounds on a peer queues', () => {
  it('refuses options that bound nothing or leave no room for a quorum to sync', () => {
    const base = { serverId: 1, voters: [1, 2, 3, 4, 5] };
    expect(() => resolvePeerOptions({ ...base, proposalsInFlightMax: 0 })).toThrow(/proposalsInFlightMax/);
    expect(() => resolvePeerOptions({ ...base, requestsPendingPerSessionMax: -1 })).toThrow(
      /requestsPendingPerSessionMax/,
    );
    expect(() => resolvePeerOptions({ ...base, learnerSyncsPendingMax: 1 })).toThrow(/at least 2/);
    expect(resolvePeerOptions({ ...base, learnerSyncsPendingMax: 2 }).learnerSyncsPendingMax).toBe(2);
  });

  it('closes a connection that has too many requests waiting, as ZooKeeper drops it', () => {
    const cluster = new Cluster({ voters: 3, peer: { requestsPendingPerSessionMax: 3 } });
    cluster.stabilize();
    const server = follower(cluster);
    const session = cluster.connect(server);
    for (let i = 0; i < 3; i++) cluster.send(session, create(`/p${i}`));
    expect(closeReason(cluster, session)).toBeUndefined();
    cluster.send(session, create('/p3'));
    expect(closeReason(cluster, session)).toBe('refused');
    expect(cluster.peer(server).status().boundsReached.requestsPendingPerSession).toBe(1);
    // The session lives on: it resumes on another server and sees what was outstanding.
    settle(cluster);
    const again = cluster.connect(cluster.leader()!, 5000, session);
    expect(again.sessionId).toBe(session.sessionId);
    expect(cluster.request(again, exists('/p2')).ok).toBe(true);
    expect(cluster.request(again, exists('/p3')).ok).toBe(false);
  });

  it('refuses a local write with ThrottledOp, in its turn, when proposals in flight are at the bound', () => {
    const cluster = new Cluster({ voters: 3, peer: { proposalsInFlightMax: 2 } });
    cluster.stabilize();
    const leader = cluster.leader()!;
    const session = cluster.connect(leader);
    const before = cluster.peer(leader).status();
    // Nothing is delivered between the sends: no ack comes back, so nothing commits.
    const xids = [0, 1, 2].map((i) => cluster.send(session, create(`/w${i}`)));
    expect(replies(cluster, session)).toEqual([]);
    expect(cluster.peer(leader).status().boundsReached.proposalsInFlight).toBe(1);
    // A status is a snapshot: the one taken before the bound was reached still says 0.
    expect(before.boundsReached.proposalsInFlight).toBe(0);
    settle(cluster);
    const got = replies(cluster, session);
    expect(got.map((r) => r.xid)).toEqual(xids);
    expect(got.map((r) => r.reply.ok)).toEqual([true, true, false]);
    expect(got[2]!.reply.ok === false && got[2]!.reply.code).toBe(ErrorCode.ThrottledOp);
    // With the first two applied there is room again.
    expect(cluster.request(session, create('/w2')).ok).toBe(true);
  });

  it('drops a learner that forwards a write while proposals in flight are at the bound; it comes back', () => {
    const cluster = new Cluster({ voters: 3, peer: { proposalsInFlightMax: 2 } });
    cluster.stabilize();
    const leader = cluster.leader()!;
    const server = follower(cluster);
    const session = cluster.connect(server);
    for (let i = 0; i < 3; i++) cluster.send(session, create(`/f${i}`));
    // The three forwarded requests reach the leader in one delivery round, before any ack.
    cluster.deliverOnce();
    expect(cluster.peer(leader).status().boundsReached.proposalsInFlight).toBe(1);
    cluster.stabilize();
    expect(cluster.peer(server).status().serving).toBe(true);
    const check = cluster.connect(leader);
    expect(cluster.request(check, exists('/f1')).ok).toBe(true);
    expect(cluster.request(check, exists('/f2')).ok).toBe(false);
  });

  it('session expiry waits for room in flight, then closes every expired session', () => {
    const cluster = new Cluster({ voters: 1, peer: { proposalsInFlightMax: 1 } });
    cluster.stabilize();
    const sessions = [0, 1, 2].map(() => cluster.connect(1, 400));
    for (const session of sessions) expect(session.timeoutMs).toBeGreaterThan(0);
    const observer = cluster.connect(1, 20_000);
    const loggedBefore = cluster.peer(1).status().lastLoggedZxid;
    cluster.autoPersist = false;
    // Keep the observer's session alive while the others lapse; nothing is made durable, so
    // the first expiry stays in flight and the others must wait.
    for (let i = 0; i < 10; i++) {
      cluster.tick(100);
      cluster.send(observer, { op: 'ping' });
    }
    // Three sessions have lapsed, yet only one closeSession is proposed while it is in flight.
    expect(cluster.peer(1).status().lastLoggedZxid).toBe(loggedBefore + 1n);
    cluster.autoPersist = true;
    cluster.flushStorage(1);
    cluster.run(500);
    const closed = cluster
      .durableLog(1)
      .filter((txn) => txn.body.kind === 'closeSession')
      .map((txn) => txn.sessionId);
    expect(new Set(closed)).toEqual(new Set(sessions.map((s) => s.sessionId)));
  });

  it('a learner refuses forwarded writes and syncs beyond its bound with ThrottledOp, in their turn', () => {
    const cluster = new Cluster({ voters: 3, peer: { forwardedRequestsPendingMax: 2 } });
    cluster.stabilize();
    const server = follower(cluster);
    const session = cluster.connect(server);
    const xids = [
      cluster.send(session, create('/a')),
      cluster.send(session, { op: 'sync', path: '/' }),
      cluster.send(session, create('/b')),
      cluster.send(session, { op: 'sync', path: '/' }),
    ];
    expect(cluster.peer(server).status().boundsReached.forwardedRequestsPending).toBe(2);
    settle(cluster);
    const got = replies(cluster, session);
    expect(got.map((r) => r.xid)).toEqual(xids);
    expect(got.map((r) => (r.reply.ok ? 'ok' : r.reply.code))).toEqual([
      'ok',
      'ok',
      ErrorCode.ThrottledOp,
      ErrorCode.ThrottledOp,
    ]);
    expect(cluster.request(session, create('/b')).ok).toBe(true);
  });

  it('a learner refuses a resumed session beyond its bound on pending revalidations', () => {
    const cluster = new Cluster({ voters: 3, peer: { revalidationsPendingMax: 1 } });
    cluster.stabilize();
    const leader = cluster.leader()!;
    const first = cluster.connect(leader);
    const second = cluster.connect(leader);
    const server = follower(cluster);
    const resume = (session: ClientSession, connectionId: number) => {
      cluster.step(server, {
        kind: 'connect',
        connectionId,
        request: {
          sessionId: session.sessionId,
          password: session.password,
          timeoutMs: 5000,
          lastZxidSeen: 0n as never,
          readOnly: false,
          clientAddress: '127.0.0.1',
        },
      });
    };
    resume(first, 9001);
    resume(second, 9002);
    expect(closeReason(cluster, { server, connectionId: 9002 })).toBe('refused');
    expect(cluster.peer(server).status().boundsReached.revalidationsPending).toBe(1);
    settle(cluster);
    const connected = cluster
      .outputsOf({ server, connectionId: 9001 } as ClientSession)
      .find((o) => o.kind === 'connected');
    expect(connected?.kind === 'connected' && connected.sessionId).toBe(first.sessionId);
  });

  it('drops learners beyond the bound on pending learner syncs; they connect again and catch up', () => {
    const cluster = new Cluster({ voters: 3, observers: 2, peer: { learnerSyncsPendingMax: 1 } });
    cluster.stabilize();
    const leader = cluster.leader()!;
    const session = cluster.connect(leader);
    const away = [follower(cluster), ...cluster.observerIds];
    for (const id of away) cluster.crash(id);
    cluster.request(session, create('/while-away'));
    // Three learners come back at once; only one may be synchronised at a time.
    for (const id of away) cluster.restart(id);
    cluster.stabilize();
    expect(cluster.peer(leader).status().boundsReached.learnerSyncsPending).toBeGreaterThan(0);
    for (const id of away) {
      const check = cluster.connect(id);
      cluster.request(check, { op: 'sync', path: '/' });
      expect(cluster.request(check, exists('/while-away')).ok).toBe(true);
    }
  });
});
