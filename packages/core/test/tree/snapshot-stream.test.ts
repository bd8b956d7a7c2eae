import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ACL } from '../../src/acl.js';
import type { SessionId } from '../../src/sessions/session-ids.js';
import { DataTree, type SnapshotNode, type TreeSnapshot } from '../../src/tree/data-tree.js';
import type { SnapshotStream } from '../../src/tree/snapshot-stream.js';
import type { TxnBody } from '../../src/txn.js';
import { type Zxid, zxid } from '../../src/zxid.js';

const acls: ACL[][] = [
  [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
  [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }],
];
const session = 5n as SessionId;
/** Paths the ops pick from: nested, with a quota on /a (its limits and stats nodes). */
const paths = [
  '/a',
  '/b',
  '/a/x',
  '/a/y',
  '/b/x',
  '/a/x/1',
  '/a/x/2',
  '/b/x/1',
  '/zookeeper/quota/a',
  '/zookeeper/quota/a/zookeeper_limits',
  '/zookeeper/quota/a/zookeeper_stats',
];

type Op =
  | { kind: 'create' | 'ephemeral' | 'delete' | 'setData' | 'setACL'; path: number; value: number }
  | { kind: 'closeSession' | 'createSession' };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constantFrom('create', 'ephemeral', 'delete', 'setData', 'setACL'),
      path: fc.integer({ min: 0, max: paths.length - 1 }),
      value: fc.integer({ min: 0, max: 1 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('closeSession', 'createSession') }) },
) as fc.Arbitrary<Op>;

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === 0 ? '/' : path.slice(0, slash);
}

/** The transaction an op makes on this tree, or undefined where it could not apply. */
function bodyOf(op: Op, tree: DataTree): TxnBody | undefined {
  switch (op.kind) {
    case 'createSession':
      return { kind: 'createSession', timeoutMs: 4000 };
    case 'closeSession':
      return { kind: 'closeSession', ephemeralPaths: tree.ephemeralsOf(session) };
    default:
      return nodeBodyOf(op, tree);
  }
}

function nodeBodyOf(
  op: Exclude<Op, { kind: 'closeSession' | 'createSession' }>,
  tree: DataTree,
): TxnBody | undefined {
  const path = paths[op.path]!;
  const node = tree.getNode(path);
  const parent = tree.getNode(parentOf(path));
  const data = path.endsWith('zookeeper_limits')
    ? new TextEncoder().encode('count=5,bytes=100')
    : new Uint8Array([op.value, 7]);
  switch (op.kind) {
    case 'create':
    case 'ephemeral':
      if (node !== undefined || parent === undefined || parent.lifetime.kind === 'ephemeral')
        return undefined;
      return {
        kind: 'create',
        path,
        data,
        acl: acls[op.value]!,
        ephemeralOwner: op.kind === 'ephemeral' ? session : 0n,
        parentCversion: parent.cversion + 1,
      };
    case 'delete':
      return node === undefined || node.childCount > 0 ? undefined : { kind: 'delete', path };
    case 'setData':
      return node === undefined ? undefined : { kind: 'setData', path, data, version: node.version + 1 };
    case 'setACL':
      return node === undefined
        ? undefined
        : { kind: 'setACL', path, acl: acls[op.value]!, aversion: node.aversion + 1 };
  }
}

class Writer {
  readonly tree = new DataTree();
  private counter = 0;

  run(op: Op): void {
    const body = bodyOf(op, this.tree);
    if (body === undefined) return;
    this.counter++;
    const outcome = this.tree.apply({
      zxid: zxid(0x1_0000_0000n + BigInt(this.counter)) as Zxid,
      timeMs: 1_000 + this.counter,
      sessionId: session,
      cxid: this.counter,
      body,
    });
    expect(outcome.result.kind).not.toBe('error');
  }
}

/** Checks a snapshot's nodes come parents first, each path once. */
function expectParentsFirst(nodes: readonly SnapshotNode[]): void {
  const seen = new Set<string>();
  for (const node of nodes) {
    expect(seen.has(node.path), `${node.path} twice`).toBe(false);
    if (node.path !== '/') expect(seen.has(parentOf(node.path)), `${node.path} before its parent`).toBe(true);
    seen.add(node.path);
  }
}

const byPath = (nodes: readonly SnapshotNode[]) => [...nodes].sort((a, b) => (a.path < b.path ? -1 : 1));

/** The snapshot as it was read, restored into a tree of its own. */
function restored(snapshot: TreeSnapshot): DataTree {
  return DataTree.fromSnapshot(snapshot);
}

/** Up to `count` nodes by `peek` and `shift`; a peek that finds a node returns it until shifted. */
function oneAtATime(stream: SnapshotStream, count: number): SnapshotNode[] {
  const read: SnapshotNode[] = [];
  for (let node = stream.peek(); node !== undefined && read.length < count; node = stream.peek()) {
    expect(stream.peek()).toBe(node);
    read.push(node);
    stream.shift();
  }
  return read;
}

describe('SnapshotStream', () => {
  it('reads in slices exactly the tree at its zxid, parents first, however the tree changes meanwhile', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 60 }),
        fc.array(fc.tuple(opArb, fc.integer({ min: 0, max: 3 })), { maxLength: 80 }),
        (before, during) => {
          const writer = new Writer();
          for (const op of before) writer.run(op);
          const expected = writer.tree.snapshot();
          const digest = writer.tree.digest();
          const stream = writer.tree.beginSnapshot();
          expect(stream.zxid).toBe(expected.zxid);
          const read: SnapshotNode[] = [];
          // Changes and slices of 0 to 3 nodes, interleaved; then the rest of the stream.
          for (const [op, slice] of during) {
            writer.run(op);
            // A slice of 3 is read a node at a time, as the LevelDB store reads it.
            if (slice === 3) read.push(...oneAtATime(stream, slice));
            else if (slice > 0) read.push(...(stream.take(slice, 1 << 20) ?? []));
          }
          for (let next = stream.take(2, 1 << 20); next !== undefined; next = stream.take(2, 1 << 20))
            read.push(...next, ...oneAtATime(stream, 1));
          expect(writer.tree.snapshotInProgress).toBe(false);
          // The bytes of paths and data, kept as the tree changes, are what a walk counts.
          let bytes = 0;
          for (const node of writer.tree.snapshot().nodes)
            bytes += node.path.length + (node.data?.length ?? 0);
          expect(writer.tree.approximateDataSize()).toBe(bytes);
          expectParentsFirst(read);
          expect(byPath(read)).toEqual(byPath(expected.nodes));
          expect(stream.sessions).toEqual(expected.sessions);
          const again = restored({ zxid: stream.zxid, nodes: read, sessions: stream.sessions });
          expect(again.digest()).toBe(digest);
          let bytesAtZxid = 0;
          for (const node of expected.nodes) bytesAtZxid += node.path.length + (node.data?.length ?? 0);
          expect(again.approximateDataSize()).toBe(bytesAtZxid);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads whole the tree at its zxid after changes, and a second walk first finishes the first', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 40 }),
        fc.array(opArb, { maxLength: 40 }),
        fc.array(opArb, { maxLength: 40 }),
        (before, between, after) => {
          const writer = new Writer();
          for (const op of before) writer.run(op);
          const first = writer.tree.snapshot();
          const firstStream = writer.tree.beginSnapshot();
          for (const op of between) writer.run(op);
          const second = writer.tree.snapshot();
          const secondStream = writer.tree.beginSnapshot();
          for (const op of after) writer.run(op);
          expectParentsFirst(firstStream.nodes);
          expect(byPath(firstStream.nodes)).toEqual(byPath(first.nodes));
          expectParentsFirst(secondStream.nodes);
          expect(byPath(secondStream.nodes)).toEqual(byPath(second.nodes));
          expect(writer.tree.snapshotInProgress).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('shifts only a node a peek found, and peeks nothing once all is out', () => {
    const writer = new Writer();
    const stream = writer.tree.beginSnapshot();
    expect(() => stream.shift()).toThrow(/peek/);
    expect(stream.peek()?.path).toBe('/');
    stream.shift();
    for (let node = stream.peek(); node !== undefined; node = stream.peek()) stream.shift();
    expect(stream.peek()).toBeUndefined();
    expect(() => stream.shift()).toThrow(/peek/);
    expect(writer.tree.snapshotInProgress).toBe(false);
  });

  it('is read whole or in slices, not both, and a slice holds about bytesMax bytes but at least one node', () => {
    const writer = new Writer();
    for (let i = 0; i < paths.length; i++) writer.run({ kind: 'create', path: i, value: 0 });
    const stream = writer.tree.beginSnapshot();
    expect(stream.take(100, 1)?.length).toBe(1);
    expect(() => stream.nodes).toThrow(/slices/);
    const whole = writer.tree.beginSnapshot();
    expect(whole.nodes.length).toBe(writer.tree.nodeCount);
    expect(() => whole.take(1, 1)).toThrow(/whole/);
    // Given up (its store failed): the tree stops at once, and it is read no more.
    const given = writer.tree.beginSnapshot();
    given.take(1, 1 << 20);
    expect(writer.tree.snapshotInProgress).toBe(true);
    given.abandon();
    expect(writer.tree.snapshotInProgress).toBe(false);
    expect(() => given.take(1, 1)).toThrow(/abandoned/);
  });

  it('keeps what a replaced tree held: a load while a walk is under way reads the walk to its end first', () => {
    const writer = new Writer();
    for (let i = 0; i < 8; i++) writer.run({ kind: 'create', path: i, value: 1 });
    const expected = writer.tree.snapshot();
    const stream = writer.tree.beginSnapshot();
    const read = stream.take(1, 1 << 20)!;
    expect(read.map((node) => node.path)).toEqual(['/']);
    writer.tree.loadSnapshot({ zxid: zxid(0n), nodes: [], sessions: [] });
    expect(writer.tree.nodeCount).toBe(4);
    for (let next = stream.take(3, 1 << 20); next !== undefined; next = stream.take(3, 1 << 20))
      read.push(...next);
    expect(byPath(read)).toEqual(byPath(expected.nodes));
    expect(writer.tree.snapshotInProgress).toBe(false);
  });
});
