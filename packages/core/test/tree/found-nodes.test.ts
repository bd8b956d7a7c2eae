import { describe, expect, it } from 'vitest';
import { DataTree } from '../../src/tree/data-tree.js';
import { FoundNodes } from '../../src/tree/found-nodes.js';
import type { Znode } from '../../src/tree/znode.js';
import type { Txn } from '../../src/txn.js';
import { makeZxid } from '../../src/zxid.js';
import { createAt, setDataAt, txnAt } from '../txn-fixtures.js';

function treeWithAB(): DataTree {
  const tree = new DataTree();
  tree.apply(createAt(1, '/a', 1));
  tree.apply(createAt(2, '/a/b', 2));
  return tree;
}

describe('the node a write was prepared against, taken by its apply (nodeForWrite)', () => {
  it('finds what getNode finds, and the apply changes that node', () => {
    const tree = treeWithAB();
    const node = tree.nodeForWrite(makeZxid(1, 3), '/a/b');
    expect(node).toBe(tree.getNode('/a/b'));
    expect(tree.nodeForWrite(makeZxid(1, 3), '/a/x')).toBeUndefined();
    const { result } = tree.apply(setDataAt(3, '/a/b', 9, 1));
    expect(result).toMatchObject({ kind: 'setData', stat: { version: 1, mzxid: makeZxid(1, 3) } });
    expect(tree.getNode('/a/b')).toBe(node);
    expect(node?.data).toEqual(Uint8Array.of(9));
  });

  it('changes the node in its place when the one found was deleted and created again before the apply', () => {
    const tree = treeWithAB();
    const old = tree.nodeForWrite(makeZxid(1, 5), '/a/b')!;
    tree.apply(txnAt(3, { kind: 'delete', path: '/a/b' }));
    tree.apply(createAt(4, '/a/b', 4));
    tree.apply(setDataAt(5, '/a/b', 9, 1));
    const now = tree.getNode('/a/b')!;
    expect(now).not.toBe(old);
    expect(now.czxid).toBe(makeZxid(1, 4));
    expect(now.data).toEqual(Uint8Array.of(9));
    expect(now.version).toBe(1);
    // The node that left the tree was not touched.
    expect(old.data).toEqual(Uint8Array.of(2));
    expect(old.version).toBe(0);
  });

  it('changes the loaded node, not the one found, when a snapshot is loaded before the apply', () => {
    const tree = treeWithAB();
    const old = tree.nodeForWrite(makeZxid(1, 5), '/a/b')!;
    tree.loadSnapshot(treeWithAB().snapshot());
    tree.apply(setDataAt(5, '/a/b', 9, 1));
    expect(tree.getNode('/a/b')).not.toBe(old);
    expect(tree.getNode('/a/b')?.data).toEqual(Uint8Array.of(9));
    expect(old.data).toEqual(Uint8Array.of(2));
  });

  it('leaves the tree as a tree whose writes found nothing beforehand, over a run of mixed writes', () => {
    // Two trees get the same transactions; one also had each setData's node found first (as
    // a leader's preparer does, several writes ahead). Their digests must agree throughout.
    const plain = new DataTree();
    const found = new DataTree();
    const txns: Txn[] = [createAt(1, '/p', 0)];
    let counter = 2;
    const versions = new Map<string, number>();
    for (let round = 0; round < 40; round++) {
      const path = `/p/n${round % 7}`;
      const version = versions.get(path);
      if (version === undefined) {
        txns.push(createAt(counter++, path, round));
        versions.set(path, 0);
      } else if (round % 5 === 4) {
        txns.push(txnAt(counter++, { kind: 'delete', path }));
        versions.delete(path);
      } else {
        txns.push(setDataAt(counter++, path, round, version + 1));
        versions.set(path, version + 1);
      }
    }
    const ahead = 6;
    for (let i = 0; i < txns.length; i++) {
      const next = txns[i + ahead];
      if (next?.body.kind === 'setData') found.nodeForWrite(next.zxid, next.body.path);
      plain.apply(txns[i]!);
      found.apply(txns[i]!);
      expect(found.digest(), `after ${i}`).toBe(plain.digest());
    }
  });
});

describe('FoundNodes', () => {
  const nodeA = { name: 'a' } as unknown as Znode;
  const nodeB = { name: 'b' } as unknown as Znode;

  it('gives a node only for its zxid and path, and drops what earlier zxids left', () => {
    const found = new FoundNodes();
    found.remember(makeZxid(1, 1), '/a', nodeA);
    found.remember(makeZxid(1, 3), '/b', nodeB);
    found.remember(makeZxid(1, 4), '/a', nodeA);
    expect(found.take(makeZxid(1, 3), '/a')).toBeUndefined();
    // The zxid 1 entry went with the miss; zxid 3 waits for its own path.
    expect(found.size).toBe(2);
    expect(found.take(makeZxid(1, 3), '/b')).toBe(nodeB);
    expect(found.take(makeZxid(1, 4), '/a')).toBe(nodeA);
    expect(found.size).toBe(0);
    expect(found.take(makeZxid(1, 5), '/a')).toBeUndefined();
  });

  it('keeps a multi’s parts under one zxid in order', () => {
    const found = new FoundNodes();
    found.remember(makeZxid(1, 2), '/a', nodeA);
    found.remember(makeZxid(1, 2), '/b', nodeB);
    expect(found.take(makeZxid(1, 2), '/a')).toBe(nodeA);
    expect(found.take(makeZxid(1, 2), '/b')).toBe(nodeB);
  });

  it('starts again when told of a zxid below the last one, and holds a bounded number', () => {
    const found = new FoundNodes();
    found.remember(makeZxid(2, 1), '/a', nodeA);
    found.remember(makeZxid(1, 9), '/b', nodeB);
    expect(found.size).toBe(1);
    expect(found.take(makeZxid(2, 1), '/a')).toBeUndefined();
    for (let i = 1; i <= 5000; i++) found.remember(makeZxid(3, i), `/n${i}`, nodeA);
    expect(found.size).toBe(4096);
    for (let i = 1; i <= 4096; i++) expect(found.take(makeZxid(3, i), `/n${i}`)).toBe(nodeA);
    expect(found.take(makeZxid(3, 4097), '/n4097')).toBeUndefined();
  });
});
