import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { leaveWatches, type Reader, serveRead, type WatchTable } from '../../src/front/reads.js';
import {
  type ACL,
  DataTree,
  decodedSessionId,
  ErrorCode,
  Ids,
  makeZxid,
  Perms,
  type ReadRequest,
  type TxnBody,
} from '../../src/index.js';

const reader = { sessionId: decodedSessionId(7n), authInfo: [{ scheme: 'ip', id: '10.0.0.1' }] };
const secret: readonly ACL[] = [{ perms: Perms.All, id: { scheme: 'digest', id: 'alice:hash' } }];

/** A tree with /a (data "x", child /a/b), /locked readable by alice only, and /a/e ephemeral of session 7. */
function tree(): DataTree {
  const t = new DataTree();
  let counter = 0;
  const apply = (body: TxnBody, sessionId = decodedSessionId(1n)) =>
    t.apply({ zxid: makeZxid(1, ++counter), timeMs: 0, sessionId, cxid: counter, body });
  const create = (path: string, acl: readonly ACL[] = Ids.openAclUnsafe, ephemeralOwner = 0n) =>
    apply({
      kind: 'create',
      path,
      data: new TextEncoder().encode('x'),
      acl,
      ephemeralOwner,
      parentCversion: counter + 1,
    });
  create('/a');
  create('/a/b');
  create('/locked', secret);
  create('/a/e', Ids.openAclUnsafe, 7n);
  return t;
}

/** A read's reply and the watches it leaves, as the front registers them. */
function serve(t: DataTree, who: Reader, request: ReadRequest) {
  const reply = serveRead(t, who, request);
  const watches: { table: WatchTable; path: string }[] = [];
  leaveWatches(request, reply, (table, path) => watches.push({ table, path }));
  return { reply, watches };
}

describe('serveRead: reads as a pure function of the tree', () => {
  it('answers a read with its result and the watch it leaves', () => {
    const served = serve(tree(), reader, { op: 'getData', path: '/a', watch: true });
    expect(served.reply.ok && served.reply.op === 'getData' && served.reply.result.stat.numChildren).toBe(2);
    expect(served.watches).toEqual([{ table: 'data', path: '/a' }]);
    const children = serve(tree(), reader, { op: 'getChildren', path: '/a', watch: true });
    expect(
      children.reply.ok && children.reply.op === 'getChildren' && children.reply.result.children,
    ).toEqual(['b', 'e']);
    expect(children.watches).toEqual([{ table: 'child', path: '/a' }]);
  });

  it('returns NoNode and NoAuth as replies that leave no watch', () => {
    const missing = serve(tree(), reader, { op: 'getData', path: '/none', watch: true });
    expect(missing).toEqual({
      reply: { ok: false, op: 'getData', code: ErrorCode.NoNode, path: '/none' },
      watches: [],
    });
    const locked = serve(tree(), reader, { op: 'getChildren', path: '/locked', watch: true });
    expect(locked).toEqual({
      reply: { ok: false, op: 'getChildren', code: ErrorCode.NoAuth, path: '/locked' },
      watches: [],
    });
    const acl = serve(tree(), reader, { op: 'getACL', path: '/locked' });
    expect(acl.reply).toEqual({ ok: false, op: 'getACL', code: ErrorCode.NoAuth, path: '/locked' });
  });

  it('leaves an exists watch on a missing node, but none on a NUL or a node it may not read', () => {
    expect(serve(tree(), reader, { op: 'exists', path: '/later', watch: true })).toEqual({
      reply: { ok: false, op: 'exists', code: ErrorCode.NoNode, path: '/later' },
      watches: [{ table: 'data', path: '/later' }],
    });
    expect(serve(tree(), reader, { op: 'exists', path: '/a\0', watch: true }).watches).toEqual([]);
    expect(serve(tree(), reader, { op: 'exists', path: '/locked', watch: true })).toEqual({
      reply: { ok: false, op: 'exists', code: ErrorCode.NoAuth, path: '/locked' },
      watches: [],
    });
  });

  it('answers each op of a multiRead on its own, with the watches of those that succeed', () => {
    const served = serve(tree(), reader, {
      op: 'multiRead',
      ops: [
        { op: 'getData', path: '/none', watch: true },
        { op: 'getChildren', path: '/a', watch: true },
        { op: 'getData', path: '/locked', watch: true },
        { op: 'getData', path: '/a/b', watch: true },
      ],
    });
    expect(
      served.reply.ok && served.reply.op === 'multiRead' && served.reply.result.results.map((r) => r.op),
    ).toEqual(['error', 'getChildren', 'error', 'getData']);
    expect(served.watches).toEqual([
      { table: 'child', path: '/a' },
      { table: 'data', path: '/a/b' },
    ]);
  });

  it('masks digest hashes in getACL without ADMIN, and finds the reader session ephemerals', () => {
    const alice = { sessionId: decodedSessionId(7n), authInfo: [{ scheme: 'digest', id: 'alice:hash' }] };
    const readOnly: readonly ACL[] = [
      { perms: Perms.Read, id: { scheme: 'world', id: 'anyone' } },
      ...secret,
    ];
    const t = tree();
    t.apply({
      zxid: makeZxid(1, 100),
      timeMs: 0,
      sessionId: decodedSessionId(1n),
      cxid: 100,
      body: { kind: 'setACL', path: '/a/b', acl: readOnly, aversion: 1 },
    });
    const masked = serve(t, reader, { op: 'getACL', path: '/a/b' });
    expect(masked.reply.ok && masked.reply.op === 'getACL' && masked.reply.result.acl[1]?.id.id).toBe(
      'alice:x',
    );
    const plain = serve(t, alice, { op: 'getACL', path: '/a/b' });
    expect(plain.reply.ok && plain.reply.op === 'getACL' && plain.reply.result.acl[1]?.id.id).toBe(
      'alice:hash',
    );
    const ephemerals = serve(t, reader, { op: 'getEphemerals', prefixPath: '/' });
    expect(ephemerals.reply).toEqual({ ok: true, op: 'getEphemerals', result: { ephemerals: ['/a/e'] } });
  });

  it('never throws and never changes the tree, whatever the path', () => {
    const t = tree();
    const before = t.digest();
    const path = fc.oneof(
      fc.constantFrom('', '/', '/a', '/a/b', '/locked', '/a/', '//a', '/a\0'),
      fc.string(),
    );
    const request: fc.Arbitrary<ReadRequest> = fc.oneof(
      fc.record({ op: fc.constant('exists' as const), path, watch: fc.boolean() }),
      fc.record({ op: fc.constant('getData' as const), path, watch: fc.boolean() }),
      fc.record({ op: fc.constant('getChildren' as const), path, watch: fc.boolean() }),
      fc.record({ op: fc.constant('getAllChildrenNumber' as const), path }),
      fc.record({ op: fc.constant('getACL' as const), path }),
      fc.record({ op: fc.constant('getEphemerals' as const), prefixPath: path }),
    );
    fc.assert(
      fc.property(request, (r) => {
        const served = serve(t, reader, r);
        expect(served.reply.op).toBe(r.op);
        // A watch only where the read succeeded, or where exists found nothing to watch yet.
        if (served.watches.length > 0) {
          expect(served.reply.ok || (r.op === 'exists' && served.reply.code === ErrorCode.NoNode)).toBe(true);
        }
      }),
    );
    expect(t.digest()).toBe(before);
  });
});
