import { describe, expect, it } from 'vitest';
import { Ids } from '../../src/acl.js';
import { DataTree } from '../../src/tree/data-tree.js';
import type { Txn } from '../../src/txn.js';
import { makeZxid } from '../../src/zxid.js';
import { createAt, txnAt } from '../txn-fixtures.js';

function treeWith(paths: readonly string[]): DataTree {
  const tree = new DataTree();
  paths.forEach((path, i) => {
    const txn: Txn = {
      zxid: makeZxid(1, i + 1),
      timeMs: 1_000 + i,
      sessionId: 5n as Txn['sessionId'],
      cxid: i,
      body: {
        kind: 'create',
        path,
        data: Uint8Array.of(i),
        acl: Ids.openAclUnsafe,
        ephemeralOwner: 0n,
        parentCversion: i + 1,
      },
    };
    tree.apply(txn);
  });
  return tree;
}

describe('restoring a snapshot', () => {
  it('rebuilds the tree it was taken of, the nodes every tree starts with included', () => {
    const tree = treeWith(['/a', '/a/b', '/zookeeper/quota/a', '/zookeeperish', '/c']);
    const snapshot = tree.snapshot();
    expect(snapshot.nodes.map((node) => node.path)).toContain('/zookeeper/config');
    const restored = DataTree.fromSnapshot(snapshot);
    expect(restored.digest()).toBe(tree.digest());
    expect(restored.nodeCount).toBe(tree.nodeCount);
    expect(restored.approximateDataSize()).toBe(tree.approximateDataSize());
  });

  it('refuses a snapshot that lists a node twice, or a node before its parent', () => {
    const snapshot = treeWith(['/a', '/a/b']).snapshot();
    const a = snapshot.nodes.find((node) => node.path === '/a')!;
    expect(() => DataTree.fromSnapshot({ ...snapshot, nodes: [...snapshot.nodes, a] })).toThrow(/\/a twice/);
    const orphan = { ...a, path: '/x/y' };
    expect(() => DataTree.fromSnapshot({ ...snapshot, nodes: [...snapshot.nodes, orphan] })).toThrow(
      /before its parent/,
    );
  });
});

describe('finding a node by its path', () => {
  it('goes name by name from the root, and finds nothing for a path that names no node', () => {
    const tree = treeWith(['/a', '/a/b', '/a/b/c', '/ab']);
    expect(tree.getNode('/a/b/c')?.dataLength).toBe(1);
    expect(tree.getNode('/a/b')?.childCount).toBe(1);
    expect(tree.getNode('/')?.childCount).toBe(3); // a, ab, zookeeper
    for (const path of [
      '',
      'a',
      '/a/',
      '//a',
      '/a//b',
      '/a/b/c/',
      '/a/b/c/d',
      '/b',
      '/a/bc',
      '/zookeeper/',
    ]) {
      expect(tree.getNode(path), JSON.stringify(path)).toBeUndefined();
    }
    // The count follows creates and deletes: every node, the root and /zookeeper nodes included.
    expect(tree.nodeCount).toBe(4 + 4);
    expect(tree.descendantCount('/a')).toBe(2);
    expect(tree.descendantCount('/')).toBe(7);
    const deleted = tree.apply({
      zxid: makeZxid(1, 10),
      timeMs: 2_000,
      sessionId: 5n as Txn['sessionId'],
      cxid: 10,
      body: { kind: 'delete', path: '/a/b/c' },
    });
    expect(deleted.result.kind).toBe('delete');
    expect(tree.getNode('/a/b/c')).toBeUndefined();
    expect(tree.getNode('/a/b')?.childCount).toBe(0);
    expect(tree.nodeCount).toBe(7);
    expect(DataTree.fromSnapshot(tree.snapshot()).digest()).toBe(tree.digest());
  });
});

describe('finding a node for a read (readNode, which remembers paths)', () => {
  it('answers as getNode does, malformed paths included', () => {
    const tree = treeWith(['/a', '/a/b', '/a/b/c', '/ab']);
    for (const path of [
      '/',
      '/a',
      '/a/b',
      '/a/b/c',
      '/ab',
      '/zookeeper',
      '',
      'a',
      '/a/',
      '//a',
      '/a//b',
      '/b',
    ]) {
      // Twice: the second answer comes from what the first remembered.
      expect(tree.readNode(path), JSON.stringify(path)).toBe(tree.getNode(path));
      expect(tree.readNode(path), JSON.stringify(path)).toBe(tree.getNode(path));
    }
  });

  it('forgets a node once it is deleted, and finds the node created in its place', () => {
    const tree = treeWith(['/a', '/a/b']);
    const first = tree.readNode('/a/b');
    expect(first?.czxid).toBe(makeZxid(1, 2));
    tree.apply(txnAt(10, { kind: 'delete', path: '/a/b' }));
    expect(tree.readNode('/a/b')).toBeUndefined();
    tree.apply(createAt(11, '/a/b', 7));
    const second = tree.readNode('/a/b');
    expect(second).not.toBe(first);
    expect(second?.czxid).toBe(makeZxid(1, 11));
    expect(second?.data).toEqual(Uint8Array.of(7));
  });

  it('forgets every node when the tree is replaced or loaded from a snapshot', () => {
    const tree = treeWith(['/a', '/a/b']);
    const old = tree.readNode('/a/b');
    expect(old).toBeDefined();
    const other = treeWith(['/a', '/x', '/a/b']);
    tree.replaceWith(other);
    const replaced = tree.readNode('/a/b');
    expect(replaced).not.toBe(old);
    expect(replaced?.czxid).toBe(makeZxid(1, 3));
    const snapshot = treeWith(['/a']).snapshot();
    tree.loadSnapshot(snapshot);
    expect(tree.readNode('/a/b')).toBeUndefined();
    expect(tree.readNode('/a')?.czxid).toBe(makeZxid(1, 1));
  });

  it('stays right past its bound: the table starts again, the answers do not change', () => {
    const tree = new DataTree();
    tree.apply(createAt(1, '/p', 0));
    const count = 20_000;
    for (let i = 0; i < count; i++) tree.apply(createAt(i + 2, `/p/n${i}`, i & 0xff));
    for (let round = 0; round < 2; round++)
      for (let i = 0; i < count; i++) expect(tree.readNode(`/p/n${i}`)?.czxid).toBe(makeZxid(1, i + 2));
  });
});
