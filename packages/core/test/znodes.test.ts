import { describe, expect, it } from 'vitest';
import {
  CreateMode,
  containerEphemeralOwner,
  counterOf,
  DataTree,
  ErrorCode,
  makeZxid,
  type Stat,
  ttlEphemeralOwner,
  ttlMaxMs,
} from '../src/index.js';
import { Harness, text } from './harness.js';
import { check, create, del, getChildren, getData, multi, setData } from './requests-helpers.js';

function setup(options = {}) {
  const h = new Harness(options);
  const s = h.connect();
  return { h, s };
}

const statOf = (h: Harness, s: ReturnType<Harness['connect']>, path: string): Stat =>
  h.ok(s, getData(path)).stat;

describe('the initial tree', () => {
  it('has /, /zookeeper, /zookeeper/quota and /zookeeper/config with zeroed stats', () => {
    const { h, s } = setup();
    expect(h.ok(s, getChildren('/')).children).toEqual(['zookeeper']);
    expect(h.ok(s, getChildren('/zookeeper')).children).toEqual(['config', 'quota']);
    const root = statOf(h, s, '/');
    expect(root.czxid).toBe(0n);
    expect(root.numChildren).toBe(1);
    // ZooKeeper sets the config node's ACL with version -1 at start-up.
    expect(statOf(h, s, '/zookeeper/config').aversion).toBe(-1);
  });

  it('refuses to delete the special nodes with BadArguments', () => {
    const { h, s } = setup();
    for (const path of ['/zookeeper', '/zookeeper/quota', '/zookeeper/config']) {
      expect(h.code(s, del(path))).toBe(ErrorCode.BadArguments);
    }
  });

  it('lets nobody but super write /zookeeper/config (READ-only ACL)', () => {
    const { h, s } = setup();
    expect(h.code(s, setData('/zookeeper/config', 'x'))).toBe(ErrorCode.NoAuth);
  });
});

describe('create', () => {
  it('sets every Stat field exactly as ZooKeeper does', () => {
    const { h, s } = setup();
    h.advance(5);
    const created = h.ok(s, create('/a', { data: 'hello' }));
    expect(created.path).toBe('/a');
    const stat: Stat = created.stat;
    expect(stat.czxid).toBe(stat.mzxid);
    expect(stat.pzxid).toBe(stat.czxid);
    expect(stat.ctime).toBe(h.nowMs);
    expect(stat.mtime).toBe(h.nowMs);
    expect(stat.version).toBe(0);
    expect(stat.cversion).toBe(0);
    expect(stat.aversion).toBe(0);
    expect(stat.ephemeralOwner).toBe(0n);
    expect(stat.dataLength).toBe(5);
    expect(stat.numChildren).toBe(0);
    expect(statOf(h, s, '/a')).toEqual(stat);
  });

  it('moves the parent cversion and pzxid, not its mzxid or version', () => {
    const { h, s } = setup();
    h.ok(s, create('/p'));
    const before = statOf(h, s, '/p');
    const child = h.ok(s, create('/p/c')).stat as Stat;
    const after = statOf(h, s, '/p');
    expect(after.cversion).toBe(before.cversion + 1);
    expect(after.pzxid).toBe(child.czxid);
    expect(after.numChildren).toBe(1);
    expect(after.mzxid).toBe(before.mzxid);
    expect(after.version).toBe(before.version);
  });

  it("gives zxids the leader's epoch, counting from 1, and failed writes consume one too", () => {
    const { h, s } = setup();
    const first = (h.ok(s, create('/a')).stat as Stat).czxid;
    expect(h.code(s, create('/a'))).toBe(ErrorCode.NodeExists);
    const third = (h.ok(s, create('/b')).stat as Stat).czxid;
    // A standalone server is a one-voter ensemble that leads epoch 1; createSession took zxid 1.
    expect(h.server.status().currentEpoch).toBe(1);
    expect(first).toBe(makeZxid(1, 2));
    expect(counterOf(third)).toBe(counterOf(first) + 2);
  });

  it('answers NodeExists, NoNode, BadArguments as ZooKeeper does', () => {
    const { h, s } = setup();
    h.ok(s, create('/a'));
    expect(h.code(s, create('/a'))).toBe(ErrorCode.NodeExists);
    expect(h.code(s, create('/missing/child'))).toBe(ErrorCode.NoNode);
    expect(h.code(s, create('relative'))).toBe(ErrorCode.BadArguments);
    expect(h.code(s, create('/a/'))).toBe(ErrorCode.BadArguments);
    expect(h.code(s, create('/a/.'))).toBe(ErrorCode.BadArguments);
    // The parent "/a/." is looked up first, as in ZooKeeper, and does not exist.
    expect(h.code(s, create('/a/./b'))).toBe(ErrorCode.NoNode);
    // ZooKeeper finds the root already there.
    expect(h.code(s, create('/'))).toBe(ErrorCode.NodeExists);
    expect(h.code(s, create('/x', { mode: 9 as never }))).toBe(ErrorCode.BadArguments);
  });

  it('checks the parent exists before the path is well formed (ZooKeeper order)', () => {
    const { h, s } = setup();
    // The parent /nope is missing; ZooKeeper looks it up before validating the full path.
    expect(h.code(s, create('/nope//x'))).toBe(ErrorCode.NoNode);
  });

  it('refuses data above the limit with BadArguments and accepts data at the limit', () => {
    const { h, s } = setup({ dataSizeMaxBytes: 16 });
    expect(h.ok(s, create('/ok', { data: 'x'.repeat(16) })).path).toBe('/ok');
    expect(h.code(s, create('/big', { data: 'x'.repeat(17) }))).toBe(ErrorCode.BadArguments);
    expect(h.code(s, setData('/ok', 'x'.repeat(17)))).toBe(ErrorCode.BadArguments);
  });

  it('defaults the data limit to 1 MiB', () => {
    const { h, s } = setup();
    const big = {
      op: 'create',
      path: '/big',
      data: new Uint8Array(1024 * 1024),
      acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
      mode: 0,
      ttlMs: -1n,
    } as const;
    expect(h.ok(s, big).path).toBe('/big');
    expect(h.code(s, { ...big, path: '/bigger', data: new Uint8Array(1024 * 1024 + 1) })).toBe(
      ErrorCode.BadArguments,
    );
  });
});

describe('sequential nodes', () => {
  it('append the parent cversion, ten digits, zero padded', () => {
    const { h, s } = setup();
    h.ok(s, create('/q'));
    expect(h.ok(s, create('/q/item-', { mode: CreateMode.PersistentSequential })).path).toBe(
      '/q/item-0000000000',
    );
    expect(h.ok(s, create('/q/item-', { mode: CreateMode.PersistentSequential })).path).toBe(
      '/q/item-0000000001',
    );
    h.ok(s, create('/q/plain'));
    expect(h.ok(s, create('/q/', { mode: CreateMode.PersistentSequential })).path).toBe('/q/0000000003');
  });

  it('keep counting after deletes: the suffix counts creations, clients see deletions too', () => {
    const { h, s } = setup();
    h.ok(s, create('/q'));
    const first = h.ok(s, create('/q/n', { mode: CreateMode.PersistentSequential })).path;
    h.ok(s, del(first));
    // ZooKeeper stores creations and shows clients 2 x creations - children (copyStat).
    const cversion = statOf(h, s, '/q').cversion;
    expect(cversion).toBe(2);
    expect(h.ok(s, create('/q/n', { mode: CreateMode.PersistentSequential })).path).toBe('/q/n0000000001');
  });
});

describe('ephemeral nodes', () => {
  it('are owned by the session and cannot have children', () => {
    const { h, s } = setup();
    const stat = h.ok(s, create('/e', { mode: CreateMode.Ephemeral })).stat as Stat;
    expect(stat.ephemeralOwner).toBe(s.sessionId);
    expect(h.code(s, create('/e/child'))).toBe(ErrorCode.NoChildrenForEphemerals);
    expect(h.code(s, create('/e/seq', { mode: CreateMode.EphemeralSequential }))).toBe(
      ErrorCode.NoChildrenForEphemerals,
    );
  });

  it('are listed by getEphemerals for their own session only, filtered by prefix', () => {
    const { h, s } = setup();
    const other = h.connect();
    h.ok(s, create('/a'));
    h.ok(s, create('/a/e1', { mode: CreateMode.Ephemeral }));
    h.ok(s, create('/b', { mode: CreateMode.Ephemeral }));
    h.ok(other, create('/c', { mode: CreateMode.Ephemeral }));
    expect(h.ok(s, { op: 'getEphemerals', prefixPath: '/' }).ephemerals).toEqual(['/a/e1', '/b']);
    expect(h.ok(s, { op: 'getEphemerals', prefixPath: '/a' }).ephemerals).toEqual(['/a/e1']);
    expect(h.ok(other, { op: 'getEphemerals', prefixPath: '' }).ephemerals).toEqual(['/c']);
  });
});

describe('delete', () => {
  it('checks the version and refuses non-empty nodes', () => {
    const { h, s } = setup();
    h.ok(s, create('/a'));
    h.ok(s, create('/a/b'));
    expect(h.code(s, del('/a'))).toBe(ErrorCode.NotEmpty);
    expect(h.code(s, del('/a/b', 3))).toBe(ErrorCode.BadVersion);
    h.ok(s, del('/a/b', 0));
    expect(h.code(s, del('/a/b'))).toBe(ErrorCode.NoNode);
    const parent = statOf(h, s, '/a');
    expect(parent.numChildren).toBe(0);
    // One creation and one deletion, as clients count them.
    expect(parent.cversion).toBe(2);
    expect(parent.pzxid > parent.czxid).toBe(true);
  });

  it('answers NoNode for a missing parent before anything else', () => {
    const { h, s } = setup();
    expect(h.code(s, del('/x/y'))).toBe(ErrorCode.NoNode);
  });
});

describe('setData and check', () => {
  it('compare-and-set on the data version; -1 matches any', () => {
    const { h, s } = setup();
    h.ok(s, create('/a', { data: 'v0' }));
    h.advance(7);
    const stat = h.ok(s, setData('/a', 'v1', 0)).stat as Stat;
    expect(stat.version).toBe(1);
    expect(stat.mtime).toBe(h.nowMs);
    expect(stat.mzxid > stat.czxid).toBe(true);
    expect(stat.dataLength).toBe(2);
    expect(h.code(s, setData('/a', 'v2', 0))).toBe(ErrorCode.BadVersion);
    expect((h.ok(s, setData('/a', 'v2', -1)).stat as Stat).version).toBe(2);
    expect(text(h.ok(s, getData('/a')).data)).toBe('v2');
    expect(h.code(s, setData('/missing', 'x'))).toBe(ErrorCode.NoNode);
  });

  it('check succeeds at the version and fails with BadVersion or NoNode', () => {
    const { h, s } = setup();
    h.ok(s, create('/a'));
    expect(h.request(s, check('/a', 0)).ok).toBe(true);
    expect(h.request(s, check('/a', -1)).ok).toBe(true);
    expect(h.code(s, check('/a', 1))).toBe(ErrorCode.BadVersion);
    expect(h.code(s, check('/b', 0))).toBe(ErrorCode.NoNode);
  });
});

describe('reads', () => {
  it('exists answers the Stat or NoNode; getChildren returns sorted names and the Stat', () => {
    const { h, s } = setup();
    h.ok(s, create('/a'));
    for (const name of ['c', 'a', 'b']) h.ok(s, create(`/a/${name}`));
    expect(h.ok(s, { op: 'exists', path: '/a', watch: false }).stat.numChildren).toBe(3);
    expect(h.code(s, { op: 'exists', path: '/nope', watch: false })).toBe(ErrorCode.NoNode);
    const listed = h.ok(s, getChildren('/a'));
    expect(listed.children).toEqual(['a', 'b', 'c']);
    expect(listed.stat.numChildren).toBe(3);
    expect(h.code(s, getChildren('/nope'))).toBe(ErrorCode.NoNode);
    // ZooKeeper looks a read's path up as given: a malformed one is missing; "" is the root.
    for (const bad of ['bad', '/a/', '//', '/a//b', '/a/.']) {
      expect(h.code(s, getData(bad))).toBe(ErrorCode.NoNode);
      expect(h.code(s, getChildren(bad))).toBe(ErrorCode.NoNode);
      expect(h.code(s, { op: 'exists', path: bad, watch: false })).toBe(ErrorCode.NoNode);
    }
    expect(h.code(s, { op: 'exists', path: '/a\0b', watch: false })).toBe(ErrorCode.BadArguments);
    expect(h.ok(s, getChildren('')).children).toEqual(h.ok(s, getChildren('/')).children);
  });

  it('getAllChildrenNumber counts every descendant; for / it counts /zookeeper too', () => {
    const { h, s } = setup();
    h.ok(s, create('/a'));
    h.ok(s, create('/a/b'));
    h.ok(s, create('/a/b/c'));
    h.ok(s, create('/a/d'));
    expect(h.ok(s, { op: 'getAllChildrenNumber', path: '/a' }).totalNumber).toBe(3);
    expect(h.ok(s, { op: 'getAllChildrenNumber', path: '/a/d' }).totalNumber).toBe(0);
    // /zookeeper, /zookeeper/quota, /zookeeper/config and the four nodes above.
    expect(h.ok(s, { op: 'getAllChildrenNumber', path: '/' }).totalNumber).toBe(7);
    expect(h.code(s, { op: 'getAllChildrenNumber', path: '/x' })).toBe(ErrorCode.NoNode);
  });

  it('multiRead answers each op on its own', () => {
    const { h, s } = setup();
    h.ok(s, create('/a', { data: 'A' }));
    const results = h.ok(s, {
      op: 'multiRead',
      ops: [
        { op: 'getData', path: '/a', watch: false },
        { op: 'getChildren', path: '/', watch: false },
        { op: 'getData', path: '/missing', watch: false },
      ],
    }).results;
    expect(results[0].op).toBe('getData');
    expect(text(results[0].data)).toBe('A');
    expect(results[1]).toEqual({ op: 'getChildren', children: ['a', 'zookeeper'] });
    expect(results[2]).toEqual({ op: 'error', code: ErrorCode.NoNode });
  });
});

describe('container nodes', () => {
  it('are stored with the container owner and are removed once they had children and are empty again', () => {
    const { h, s } = setup({ containerCheckIntervalMs: 100 });
    const stat = h.ok(s, create('/c', { mode: CreateMode.Container })).stat as Stat;
    // Stored as a container; clients see owner 0, as ZooKeeper's copyStat shows it.
    expect(stat.ephemeralOwner).toBe(0n);
    expect(h.server.znodeAt('/c')?.lifetime).toEqual({ kind: 'container' });
    // The transaction carries ZooKeeper's encoding, as its logs and snapshots do.
    expect(createdOwner(h, '/c')).toBe(containerEphemeralOwner);
    h.advance(200);
    // Never had a child: kept.
    expect(h.request(s, getData('/c')).ok).toBe(true);
    h.ok(s, create('/c/child'));
    h.advance(200);
    expect(h.request(s, getData('/c')).ok).toBe(true);
    h.ok(s, del('/c/child'));
    h.advance(200);
    expect(h.code(s, getData('/c'))).toBe(ErrorCode.NoNode);
  });

  it('can hold ephemerals, which is what recipes use them for', () => {
    const { h, s } = setup();
    h.ok(s, create('/c', { mode: CreateMode.Container }));
    expect(h.ok(s, create('/c/e', { mode: CreateMode.Ephemeral })).path).toBe('/c/e');
  });
});

describe('TTL nodes', () => {
  it('encode the TTL in ephemeralOwner and expire when unchanged and childless', () => {
    const { h, s } = setup({ containerCheckIntervalMs: 50 });
    const stat = h.ok(s, create('/t', { mode: CreateMode.PersistentWithTtl, ttlMs: 500n })).stat as Stat;
    expect(stat.ephemeralOwner).toBe(0n);
    expect(h.server.znodeAt('/t')?.lifetime).toEqual({ kind: 'ttl', ttlMs: 500 });
    expect(createdOwner(h, '/t')).toBe(ttlEphemeralOwner(500n));
    h.advance(300);
    h.ok(s, setData('/t', 'touch'));
    h.advance(300);
    expect(h.request(s, getData('/t')).ok).toBe(true);
    h.ok(s, create('/t/child'));
    h.advance(1000);
    expect(h.request(s, getData('/t')).ok).toBe(true);
    h.ok(s, del('/t/child'));
    // Deleting a child does not change mtime; the node has been unchanged for over 500 ms.
    h.advance(100);
    expect(h.code(s, getData('/t'))).toBe(ErrorCode.NoNode);
  });

  it('sequential TTL nodes get a suffix', () => {
    const { h, s } = setup();
    expect(h.ok(s, create('/t-', { mode: CreateMode.PersistentSequentialWithTtl, ttlMs: 10n })).path).toBe(
      '/t-0000000000',
    );
  });

  it('validate the TTL with BadArguments, and need extended types (Unimplemented)', () => {
    const { h, s } = setup();
    expect(h.code(s, create('/t', { mode: CreateMode.PersistentWithTtl, ttlMs: 0n }))).toBe(
      ErrorCode.BadArguments,
    );
    expect(h.code(s, create('/t', { mode: CreateMode.PersistentWithTtl, ttlMs: -1n }))).toBe(
      ErrorCode.BadArguments,
    );
    expect(h.code(s, create('/t', { mode: CreateMode.PersistentWithTtl, ttlMs: ttlMaxMs + 1n }))).toBe(
      ErrorCode.BadArguments,
    );
    expect(h.code(s, create('/t', { mode: CreateMode.Persistent, ttlMs: 5n }))).toBe(ErrorCode.BadArguments);
    const off = new Harness({ extendedTypesEnabled: false });
    const session = off.connect();
    expect(off.code(session, create('/t', { mode: CreateMode.PersistentWithTtl, ttlMs: 5n }))).toBe(
      ErrorCode.Unimplemented,
    );
  });
});

describe('version counters', () => {
  it('wrap past Integer.MAX_VALUE and skip -1', async () => {
    const { checkAndIncrementVersion } = await import('../src/index.js');
    expect(checkAndIncrementVersion(2147483647, -1)).toBe(-2147483648);
    expect(checkAndIncrementVersion(-2, -2)).toBe(0);
    expect(() => checkAndIncrementVersion(3, 4)).toThrow();
  });
});

/** The ephemeralOwner the logged create of `path` carries. */
function createdOwner(h: Harness, path: string): bigint | undefined {
  for (const txn of h.log)
    if (txn.body.kind === 'create' && txn.body.path === path) return txn.body.ephemeralOwner;
  return undefined;
}

describe('null data', () => {
  const withNull = <T extends { data: unknown }>(op: T): T => ({ ...op, data: null });

  it('is kept apart from empty data through create, setData, multi and the snapshot, as ZooKeeper keeps it', () => {
    const { h, s } = setup();
    h.ok(s, withNull(create('/null')));
    h.ok(s, create('/empty'));
    const nullRead = h.ok(s, getData('/null'));
    expect(nullRead.data).toBeNull();
    expect(nullRead.stat.dataLength).toBe(0);
    expect(h.ok(s, getData('/empty')).data).toEqual(new Uint8Array(0));

    h.ok(s, setData('/empty', 'x'));
    h.ok(s, withNull(setData('/empty', '')));
    expect(h.ok(s, getData('/empty')).data).toBeNull();
    h.ok(s, setData('/null', ''));
    expect(h.ok(s, getData('/null')).data).toEqual(new Uint8Array(0));

    h.ok(s, multi(withNull(create('/m')), withNull(setData('/null', ''))));
    expect(h.ok(s, getData('/m')).data).toBeNull();
    expect(h.ok(s, getData('/null')).data).toBeNull();
    const read = h.ok(s, { op: 'multiRead', ops: [getData('/m'), getData('/empty')] } as never) as {
      readonly results: readonly { data?: unknown }[];
    };
    expect(read.results.map((result) => result.data)).toEqual([null, null]);

    const tree = new DataTree();
    for (const txn of h.log) tree.apply(txn);
    expect(tree.getNode('/m')?.data).toBeNull();
    const again = DataTree.fromSnapshot(tree.snapshot());
    expect(again.getNode('/m')?.data).toBeNull();
    expect(again.getNode('/empty')?.data).toBeNull();
    expect(again.digest()).toBe(tree.digest());
    // The digest tells null from empty data.
    const emptied = DataTree.fromSnapshot({
      ...tree.snapshot(),
      nodes: tree
        .snapshot()
        .nodes.map((node) => (node.path === '/m' ? { ...node, data: new Uint8Array(0) } : node)),
    });
    expect(emptied.digest()).not.toBe(tree.digest());
  });
});
