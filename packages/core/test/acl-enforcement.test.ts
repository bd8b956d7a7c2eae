import { describe, expect, it } from 'vitest';
import { type ACL, digestOf, ErrorCode, Ids, Perms } from '../src/index.js';
import { bytes, Harness } from './harness.js';
import {
  auth,
  check,
  create,
  del,
  exists,
  getAcl,
  getChildren,
  getData,
  setAcl,
  setData,
} from './requests-helpers.js';

const digest = (user: string, password: string, perms: number = Perms.All): ACL => ({
  perms,
  id: { scheme: 'digest', id: digestOf(user, password) },
});
const world = (perms: number): ACL => ({ perms, id: Ids.anyoneIdUnsafe });

describe('ACLs are checked per operation as ZooKeeper does', () => {
  it('each permission guards its operations', () => {
    const h = new Harness();
    const admin = h.connect();
    const user = h.connect();
    h.ok(admin, create('/r', { acl: [world(Perms.Read)] }));
    h.ok(admin, create('/w', { acl: [world(Perms.Write)] }));
    h.ok(admin, create('/c', { acl: [world(Perms.Create)] }));
    h.ok(admin, create('/d', { acl: [world(Perms.Create | Perms.Delete)] }));
    h.ok(admin, create('/d/child'));

    // READ: getData, getChildren, exists, check, getAllChildrenNumber.
    expect(h.code(user, getData('/w'))).toBe(ErrorCode.NoAuth);
    expect(h.code(user, getChildren('/w'))).toBe(ErrorCode.NoAuth);
    expect(h.code(user, exists('/w'))).toBe(ErrorCode.NoAuth);
    expect(h.code(user, check('/w', -1))).toBe(ErrorCode.NoAuth);
    expect(h.code(user, { op: 'getAllChildrenNumber', path: '/w' })).toBe(ErrorCode.NoAuth);
    expect(h.request(user, getData('/r')).ok).toBe(true);
    // WRITE: setData.
    expect(h.code(user, setData('/r', 'x'))).toBe(ErrorCode.NoAuth);
    expect(h.request(user, setData('/w', 'x')).ok).toBe(true);
    // CREATE on the parent: create.
    expect(h.code(user, create('/r/x'))).toBe(ErrorCode.NoAuth);
    expect(h.request(user, create('/c/x')).ok).toBe(true);
    // DELETE on the parent: delete.
    expect(h.code(user, del('/c/x'))).toBe(ErrorCode.NoAuth);
    expect(h.request(user, del('/d/child')).ok).toBe(true);
    // ADMIN: setACL.
    expect(h.code(user, setAcl('/r', Ids.openAclUnsafe))).toBe(ErrorCode.NoAuth);
  });

  it('digest identities come from addauth; a wrong password is a different identity', () => {
    const h = new Harness();
    const alice = h.connect();
    const mallory = h.connect();
    h.ok(alice, auth('alice:secret'));
    h.ok(mallory, auth('alice:guess'));
    h.ok(alice, create('/a', { data: 'mine', acl: [digest('alice', 'secret')] }));
    expect(h.code(mallory, getData('/a'))).toBe(ErrorCode.NoAuth);
    expect(h.request(alice, getData('/a')).ok).toBe(true);
  });

  it('the auth scheme expands to the session identities, and is InvalidACL without any', () => {
    const h = new Harness();
    const anonymous = h.connect();
    expect(h.code(anonymous, create('/a', { acl: Ids.creatorAllAcl }))).toBe(ErrorCode.InvalidACL);
    const alice = h.connect();
    h.ok(alice, auth('alice:secret'));
    h.ok(alice, create('/a', { acl: Ids.creatorAllAcl }));
    expect(h.ok(alice, getAcl('/a')).acl).toEqual([digest('alice', 'secret')]);
  });

  it('invalid ACLs are refused with InvalidACL', () => {
    const h = new Harness();
    const s = h.connect();
    const bad: ACL[][] = [
      [],
      [{ perms: Perms.All, id: { scheme: 'world', id: 'someone' } }],
      [{ perms: Perms.All, id: { scheme: 'digest', id: 'no-colon' } }],
      [{ perms: Perms.All, id: { scheme: 'ip', id: '300.1.1.1' } }],
      [{ perms: Perms.All, id: { scheme: 'nosuch', id: 'x' } }],
    ];
    for (const acl of bad) expect(h.code(s, create('/x', { acl }))).toBe(ErrorCode.InvalidACL);
    h.ok(s, create('/x'));
    expect(h.code(s, setAcl('/x', []))).toBe(ErrorCode.InvalidACL);
  });

  it('ip ACLs match the client address, with CIDR', () => {
    const h = new Harness();
    const inside = h.connect({ clientAddress: '10.1.2.3' });
    const outside = h.connect({ clientAddress: '192.168.0.1' });
    h.ok(inside, create('/net', { acl: [{ perms: Perms.All, id: { scheme: 'ip', id: '10.0.0.0/8' } }] }));
    expect(h.request(inside, getData('/net')).ok).toBe(true);
    expect(h.code(outside, getData('/net'))).toBe(ErrorCode.NoAuth);
  });

  it('super bypasses every check', () => {
    const h = new Harness({ superDigest: digestOf('super', 'pw') });
    const owner = h.connect();
    const root = h.connect();
    h.ok(owner, auth('alice:secret'));
    h.ok(owner, create('/locked', { acl: [digest('alice', 'secret', Perms.Read)] }));
    expect(h.code(root, setData('/locked', 'x'))).toBe(ErrorCode.NoAuth);
    h.ok(root, auth('super:pw'));
    expect(h.request(root, setData('/locked', 'x')).ok).toBe(true);
    expect(h.request(root, setData('/zookeeper/config', 'x')).ok).toBe(true);
  });

  it('a bad digest credential is AuthFailed; an unknown scheme too', () => {
    const h = new Harness();
    const s = h.connect();
    expect(h.code(s, auth('no-colon'))).toBe(ErrorCode.AuthFailed);
    expect(h.code(s, { op: 'auth', scheme: 'kerberos', auth: bytes('x') })).toBe(ErrorCode.AuthFailed);
  });

  it('setACL compares the ACL version and getACL needs READ or ADMIN, masking digests without ADMIN', () => {
    const h = new Harness();
    const alice = h.connect();
    const reader = h.connect();
    h.ok(alice, auth('alice:secret'));
    h.ok(alice, create('/a', { acl: [digest('alice', 'secret'), world(Perms.Read)] }));
    expect(h.code(alice, setAcl('/a', [digest('alice', 'secret'), world(Perms.Read)], 5))).toBe(
      ErrorCode.BadVersion,
    );
    const stat = h.ok(alice, setAcl('/a', [digest('alice', 'secret'), world(Perms.Read)], 0)).stat;
    expect(stat.aversion).toBe(1);
    expect(h.ok(alice, getAcl('/a')).acl[0].id.id).toBe(digestOf('alice', 'secret'));
    expect(h.ok(reader, getAcl('/a')).acl[0].id.id).toBe('alice:x');
    h.ok(alice, create('/hidden', { acl: [digest('alice', 'secret', Perms.Write)] }));
    expect(h.code(reader, getAcl('/hidden'))).toBe(ErrorCode.NoAuth);
    expect(h.code(reader, getAcl('/none'))).toBe(ErrorCode.NoNode);
  });

  it('whoAmI lists the identities of the session with their user names, as ZooKeeper does', () => {
    const h = new Harness();
    const s = h.connect({ clientAddress: '127.0.0.9' });
    h.ok(s, auth('bob:pw'));
    h.ok(s, auth('carol:with:colons'));
    expect(h.ok(s, { op: 'whoAmI' }).clientInfo).toEqual([
      { authScheme: 'ip', user: '127.0.0.9' },
      { authScheme: 'digest', user: 'bob' },
      { authScheme: 'digest', user: 'carol' },
    ]);
  });
});
