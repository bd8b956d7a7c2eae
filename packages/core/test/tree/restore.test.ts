import { describe, expect, it } from 'vitest';
import { Ids } from '../../src/acl.js';
import { DataTree } from '../../src/tree/data-tree.js';
import type { Txn } from '../../src/txn.js';
import { makeZxid } from '../../src/zxid.js';

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
