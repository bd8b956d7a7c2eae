import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  containerEphemeralOwner,
  DataTree,
  decodedSessionId,
  Ids,
  makeZxid,
  type Txn,
  type TxnBody,
  ttlEphemeralOwner,
  type Zxid,
} from '../../src/index.js';
import { ContainerCollector } from '../../src/zab/container-collector.js';
import { LeaderSessions } from '../../src/zab/leader-sessions.js';
import { MajorityQuorum } from '../../src/zab/quorum.js';

let counter = 0;
function apply(tree: DataTree, body: TxnBody, timeMs = 0): Zxid {
  const zxid = makeZxid(1, ++counter);
  const txn: Txn = { zxid, timeMs, sessionId: decodedSessionId(1n), cxid: counter, body };
  tree.apply(txn);
  return zxid;
}

function create(
  tree: DataTree,
  path: string,
  ephemeralOwner: bigint,
  parentCversion: number,
  timeMs = 0,
): Zxid {
  return apply(
    tree,
    { kind: 'create', path, data: new Uint8Array(), acl: Ids.openAclUnsafe, ephemeralOwner, parentCversion },
    timeMs,
  );
}

describe('ContainerCollector', () => {
  it('proposes empty containers that had children and stale TTL nodes, once per interval', () => {
    counter = 0;
    const tree = new DataTree();
    create(tree, '/c', containerEphemeralOwner, 1);
    create(tree, '/c/child', 0n, 1);
    apply(tree, { kind: 'delete', path: '/c/child' });
    create(tree, '/never', containerEphemeralOwner, 2);
    create(tree, '/ttl', ttlEphemeralOwner(100n), 3, 1000);
    const collector = new ContainerCollector(500, 0);
    expect(collector.due(tree, 499, 499)).toEqual([]);
    // /never never had a child; /ttl is not older than its TTL yet.
    expect(collector.due(tree, 500, 500)).toEqual(['/c']);
    expect(collector.due(tree, 999, 999)).toEqual([]);
    expect(collector.due(tree, 1101, 1101)).toEqual(['/c', '/ttl']);
  });

  it('leaves out deletions already proposed until they are applied', () => {
    counter = 0;
    const tree = new DataTree();
    create(tree, '/c', containerEphemeralOwner, 1);
    create(tree, '/c/x', 0n, 1);
    apply(tree, { kind: 'delete', path: '/c/x' });
    const collector = new ContainerCollector(100, 0);
    expect(collector.due(tree, 100, 100)).toEqual(['/c']);
    collector.proposed(makeZxid(1, 50), '/c');
    expect(collector.deletionsInFlight).toBe(1);
    expect(collector.due(tree, 200, 200)).toEqual([]);
    collector.applied(makeZxid(1, 50));
    expect(collector.deletionsInFlight).toBe(0);
    expect(collector.due(tree, 300, 300)).toEqual(['/c']);
  });
});

describe('LeaderSessions', () => {
  it('tracks the sessions it starts with, expiring them a full timeout later', () => {
    const session = decodedSessionId(7n);
    const sessions = new LeaderSessions(100, [[session, 1000]], 5000);
    expect(sessions.isActive(session)).toBe(true);
    expect(sessions.expire(5900, 10)).toEqual([]);
    expect(sessions.expire(6100, 10)).toEqual([7n]);
    expect(sessions.isActive(session)).toBe(false);
    sessions.closed(session);
    expect(sessions.size).toBe(0);
  });

  it('expires at most as many sessions as asked; the others stay due', () => {
    const sessions = new LeaderSessions(
      100,
      [
        [decodedSessionId(1n), 1000],
        [decodedSessionId(2n), 1000],
        [decodedSessionId(3n), 2000],
      ],
      0,
    );
    expect(sessions.expire(5000, 2)).toEqual([1n, 2n]);
    expect(sessions.isActive(decodedSessionId(3n))).toBe(true);
    expect(sessions.expire(5000, 0)).toEqual([]);
    expect(sessions.expire(5000, 5)).toEqual([3n]);
    expect(sessions.expire(9000, 5)).toEqual([]);
  });

  it('gives a session to the server that created it, and refuses another until it revalidates', () => {
    const session = decodedSessionId(9n);
    const sessions = new LeaderSessions(100, [], 0);
    sessions.created(session, 1000, 2, 0);
    expect(sessions.ownedBy(session, 2)).toBe(true);
    expect(sessions.ownedBy(session, 3)).toBe(false);
    expect(sessions.revalidate(session, 3, 10)).toBe(true);
    expect(sessions.ownedBy(session, 3)).toBe(true);
    expect(sessions.ownedBy(session, 2)).toBe(false);
  });

  it('lets the first server claim a session nobody owns, and forgets the owner of a closing one', () => {
    const session = decodedSessionId(4n);
    const sessions = new LeaderSessions(100, [[session, 1000]], 0);
    expect(sessions.ownedBy(session, 5)).toBe(true);
    expect(sessions.ownedBy(session, 6)).toBe(false);
    sessions.closing(session);
    expect(sessions.isActive(session)).toBe(false);
    expect(sessions.touch(session, 10)).toBe(false);
    expect(sessions.revalidate(session, 6, 10)).toBe(false);
    expect(sessions.ownedBy(session, 6)).toBe(true);
  });
});

describe('MajorityQuorum.containsQuorum', () => {
  const quorum = new MajorityQuorum([1, 2, 3, 4, 5], [6]);

  it('counts each voter once, from an array or any iterable; observers and strangers not at all', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 8 }), { maxLength: 12 }), (ids) => {
        const voters = new Set(ids.filter((id) => id <= 5));
        const expected = voters.size * 2 > 5;
        expect(quorum.containsQuorum(ids)).toBe(expected);
        expect(quorum.containsQuorum(new Set(ids))).toBe(expected);
      }),
    );
    expect(quorum.containsQuorum([1, 1, 1, 6, 7])).toBe(false);
    expect(quorum.containsQuorum([1, 2, 2, 3])).toBe(true);
  });
});

describe('MajorityQuorum.highestAcked', () => {
  const quorum = new MajorityQuorum([1, 2, 3, 4, 5], [6]);
  const z = (counter: number) => makeZxid(1, counter);

  it('is the highest zxid a majority of voters holds; observers do not count', () => {
    const acks: [number, Zxid][] = [
      [1, z(9)],
      [2, z(7)],
      [3, z(5)],
      [4, z(2)],
      [6, z(9)],
    ];
    expect(quorum.highestAcked(acks)).toBe(z(5));
    acks[3] = [4, z(8)];
    expect(quorum.highestAcked(acks)).toBe(z(7));
  });

  it('is undefined while fewer than a majority have acked anything', () => {
    expect(
      quorum.highestAcked([
        [1, z(3)],
        [2, z(3)],
        [6, z(3)],
      ]),
    ).toBeUndefined();
  });

  it('agrees with counting holders for every candidate', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 20 }))),
        (pairs) => {
          const acks = new Map(pairs.map(([id, counter]) => [id, z(counter)] as const));
          const candidates = [...new Set(acks.values())].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
          const expected = candidates.find((candidate) =>
            quorum.containsQuorum([...acks].filter(([, zxid]) => zxid >= candidate).map(([id]) => id)),
          );
          expect(quorum.highestAcked([...acks])).toBe(expected);
        },
      ),
    );
  });
});
