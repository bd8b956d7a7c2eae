import { describe, expect, it } from 'vitest';
import { Ids, Perms } from '../../src/acl.js';
import { ErrorCode } from '../../src/errors.js';
import { ChangeList } from '../../src/tree/change-list.js';
import { DataTree } from '../../src/tree/data-tree.js';
import type { MultiPartTxn, Txn, TxnBody } from '../../src/txn.js';
import { makeZxid } from '../../src/zxid.js';

const session = 7n as Txn['sessionId'];
const bytes = (text: string) => new TextEncoder().encode(text);
const create = (path: string, ephemeralOwner = 0n, parentCversion = 1): MultiPartTxn => ({
  kind: 'create',
  path,
  data: bytes(path),
  acl: Ids.openAclUnsafe,
  ephemeralOwner,
  parentCversion,
});

/** Every kind of body the tree applies, failures (and a multi stopped half-way) included. */
const bodies: readonly TxnBody[] = [
  { kind: 'createSession', timeoutMs: 4_000 },
  create('/a'),
  create('/a/b', 0n, 1),
  { kind: 'setData', path: '/a', data: bytes('new'), version: 1 },
  { kind: 'setData', path: '/missing', data: null, version: 1 },
  { kind: 'setACL', path: '/a', acl: [{ perms: Perms.Read, id: Ids.anyoneIdUnsafe }], aversion: 1 },
  create('/zookeeper/quota/a', 0n, 1),
  create('/zookeeper/quota/a/zookeeper_limits', 0n, 1),
  create('/zookeeper/quota/a/zookeeper_stats', 0n, 2),
  {
    kind: 'multi',
    parts: [create('/a/c', 0n, 2), { kind: 'setData', path: '/a/b', data: null, version: 1 }],
  },
  { kind: 'multi', parts: [{ kind: 'error', code: ErrorCode.NoNode }] },
  // A part a multi's results cannot hold: the multi stops there, after applying it.
  {
    kind: 'multi',
    parts: [
      { kind: 'setACL', path: '/a/b', acl: Ids.openAclUnsafe, aversion: 1 } as unknown as MultiPartTxn,
      create('/a/never', 0n, 3),
    ],
  },
  create('/a/e', session, 3),
  { kind: 'reconfig', config: 'server.1=127.0.0.1:2888:3888:participant;2181' },
  { kind: 'delete', path: '/a/c' },
  { kind: 'delete', path: '/a' },
  { kind: 'closeSession', ephemeralPaths: ['/a/e'] },
];

function txnOf(body: TxnBody, i: number): Txn {
  return { zxid: makeZxid(1, i + 1), timeMs: 1_000 + i, sessionId: session, cxid: i, body };
}

describe('applyUnanswered', () => {
  it('changes the tree and reports the changes exactly as apply does', () => {
    const answered = new DataTree();
    const unanswered = new DataTree();
    // One list for every transaction, as the applier keeps it.
    const changes = new ChangeList();
    bodies.forEach((body, i) => {
      const txn = txnOf(body, i);
      const outcome = answered.apply(txn);
      changes.clear();
      unanswered.applyUnanswered(txn, changes);
      expect(changes.items.slice(0, changes.length)).toEqual(outcome.changes);
      expect(unanswered.digest()).toBe(answered.digest());
      for (const path of answered.paths()) expect(unanswered.statOf(path)).toEqual(answered.statOf(path));
    });
    expect(answered.statOf('/a/never')).toBeUndefined();
  });

  it('leaves apply building results afterwards, a failed apply included', () => {
    const tree = new DataTree();
    tree.applyUnanswered(txnOf(create('/x'), 0), []);
    expect(() => tree.applyUnanswered(txnOf(create('/x'), 0), [])).toThrow();
    const outcome = tree.apply(txnOf({ kind: 'setData', path: '/x', data: null, version: 1 }, 1));
    expect(outcome.result).toEqual({ kind: 'setData', stat: tree.statOf('/x') });
  });
});

describe('ChangeList', () => {
  const change = (path: string) => ({ kind: 'dataChanged', path, acl: Ids.openAclUnsafe }) as const;

  it('holds what was pushed since it was last emptied, in order', () => {
    const list = new ChangeList();
    list.push(change('/a'));
    list.push(change('/b'));
    list.clear();
    list.push(change('/c'));
    expect(list.length).toBe(1);
    expect(list.items[0]).toEqual(change('/c'));
  });

  it('lets a long list go when emptied rather than keep its old changes', () => {
    const list = new ChangeList();
    for (let i = 0; i < 1_000; i++) list.push(change(`/n${i}`));
    list.clear();
    expect(list.items.length).toBe(0);
    list.push(change('/a'));
    list.clear();
    expect(list.items.length).toBe(1);
  });
});
