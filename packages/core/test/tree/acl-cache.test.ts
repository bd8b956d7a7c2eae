import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ACL } from '../../src/acl.js';
import { DataTree } from '../../src/tree/data-tree.js';
import type { Txn, TxnBody } from '../../src/txn.js';
import { zxid } from '../../src/zxid.js';

/** A fresh list each call, equal in value to the others of its index: as each request decodes its own. */
const aclPool: (() => ACL[])[] = [
  () => [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
  () => [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }],
  () => [
    { perms: 31, id: { scheme: 'digest', id: 'u:abc' } },
    { perms: 1, id: { scheme: 'world', id: 'anyone' } },
  ],
  // Same characters as the one above, split differently: a different ACL.
  () => [
    { perms: 31, id: { scheme: 'digest', id: 'u:ab' } },
    { perms: 1, id: { scheme: 'cworld', id: 'anyone' } },
  ],
];

type Op = { kind: 'create' | 'setACL' | 'delete'; node: number; acl: number };
const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('create', 'setACL', 'delete'),
  node: fc.integer({ min: 0, max: 7 }),
  acl: fc.integer({ min: 0, max: aclPool.length - 1 }),
});

function bodyOf(op: Op, tree: DataTree): TxnBody | undefined {
  const path = `/n${op.node}`;
  const node = tree.getNode(path);
  if (op.kind === 'create')
    return node === undefined
      ? {
          kind: 'create',
          path,
          data: new Uint8Array(1),
          acl: aclPool[op.acl]!(),
          ephemeralOwner: 0n,
          parentCversion: tree.getNode('/')!.cversion + 1,
        }
      : undefined;
  if (node === undefined) return undefined;
  if (op.kind === 'delete') return { kind: 'delete', path };
  return { kind: 'setACL', path, acl: aclPool[op.acl]!(), aversion: node.aversion + 1 };
}

describe('the tree keeps one ACL list per distinct ACL', () => {
  it('shares equal ACLs, keeps each node its own value, and forgets ACLs no node holds', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const tree = new DataTree();
        const expected = new Map<string, number>();
        let z = 1n;
        for (const op of ops) {
          const body = bodyOf(op, tree);
          if (body === undefined) continue;
          const txn: Txn = { zxid: zxid(z++), timeMs: 1, sessionId: 1n as Txn['sessionId'], cxid: 1, body };
          expect(tree.apply(txn).result.kind).not.toBe('error');
          if (op.kind === 'delete') expected.delete(`/n${op.node}`);
          else expected.set(`/n${op.node}`, op.acl);
        }
        const listsByValue = new Map<string, readonly ACL[]>();
        const systemAcls = ['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config'].map(
          (path) => tree.getNode(path)!.acl,
        );
        for (const acl of systemAcls) listsByValue.set(JSON.stringify(acl), acl);
        for (const [path, index] of expected) {
          const acl = tree.getNode(path)!.acl;
          expect(acl).toEqual(aclPool[index]!());
          const key = JSON.stringify(acl);
          // Equal in value means the very same list.
          if (listsByValue.has(key)) expect(acl).toBe(listsByValue.get(key));
          else listsByValue.set(key, acl);
        }
        expect(tree.distinctAclCount).toBe(listsByValue.size);
      }),
    );
  });

  it('shares the ACLs of a tree restored from a snapshot, each list once', () => {
    const tree = new DataTree();
    let z = 1n;
    for (let i = 0; i < 50; i++) {
      tree.apply({
        zxid: zxid(z++),
        timeMs: 1,
        sessionId: 1n as Txn['sessionId'],
        cxid: 1,
        body: {
          kind: 'create',
          path: `/n${i}`,
          data: null,
          acl: aclPool[i % 2]!(),
          ephemeralOwner: 0n,
          parentCversion: i + 1,
        },
      });
    }
    const snapshot = tree.snapshot();
    // Decoded snapshots carry a list per node: copy each, as a codec would.
    const restored = DataTree.fromSnapshot({
      ...snapshot,
      nodes: snapshot.nodes.map((node) => ({
        ...node,
        acl: node.acl.map((e) => ({ ...e, id: { ...e.id } })),
      })),
    });
    expect(restored.digest()).toBe(tree.digest());
    expect(restored.getNode('/n0')!.acl).toBe(restored.getNode('/n2')!.acl);
    expect(restored.getNode('/n1')!.acl).toBe(restored.getNode('/n3')!.acl);
    expect(restored.getNode('/n0')!.acl).not.toBe(restored.getNode('/n1')!.acl);
    expect(restored.distinctAclCount).toBe(tree.distinctAclCount);
  });
});
