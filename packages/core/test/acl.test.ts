import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipMatches, isValidIpAclExpression, parseIp } from '../src/acl/ip.js';
import {
  authenticate,
  checkAcl,
  digestOf,
  ErrorCode,
  encodeBase64,
  fixupAcl,
  formatAcl,
  type Id,
  Ids,
  Perms,
  parsePerms,
  sha1,
  userNameOf,
  ZabError,
} from '../src/index.js';

describe('sha1 and base64', () => {
  it('sha1 matches node:crypto on random input, block boundaries included', () => {
    const lengths = fc.oneof(
      fc.integer({ min: 0, max: 200 }),
      fc.constantFrom(0, 55, 56, 63, 64, 65, 119, 120, 128),
    );
    fc.assert(
      fc.property(
        lengths.chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
        (bytes) => {
          const expected = createHash('sha1').update(bytes).digest();
          expect(Buffer.from(sha1(bytes)).equals(expected)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('base64 matches Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(encodeBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
      }),
    );
  });

  it('digestOf gives ZooKeeper digest form', () => {
    const expected = `user:${createHash('sha1').update('user:password').digest('base64')}`;
    expect(digestOf('user', 'password')).toBe(expected);
    expect(digestOf('super', 'test')).toBe('super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
  });
});

describe('ip ranges', () => {
  it.each([
    ['10.1.2.3', '10.0.0.0/8', true],
    ['11.1.2.3', '10.0.0.0/8', false],
    ['127.0.0.1', '127.0.0.1', true],
    ['127.0.0.2', '127.0.0.1', false],
    ['1.2.3.4', '0.0.0.0/0', true],
    ['192.168.1.77', '192.168.1.64/26', true],
    ['192.168.1.200', '192.168.1.64/26', false],
    ['::1', '::1', true],
    ['fe80::1234', 'fe80::/10', true],
    ['fec0::1', 'fe80::/10', false],
    ['::ffff:10.1.2.3', '10.0.0.0/8', true],
    ['10.1.2.3', '::/0', false],
    ['nonsense', '10.0.0.0/8', false],
  ])('%s in %s is %s', (address, range, expected) => {
    expect(ipMatches(address, range)).toBe(expected);
  });

  it.each([
    '256.1.1.1',
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.4/33',
    '::1/129',
    'a::b::c',
    '1.2.3.4/',
    '1.2.3.-1',
    '',
  ])('rejects %j', (expression) => {
    expect(isValidIpAclExpression(expression)).toBe(false);
  });

  it('parses full and compressed IPv6 to the same bytes', () => {
    expect(parseIp('2001:db8:0:0:0:0:0:1')).toEqual(parseIp('2001:db8::1'));
    expect(parseIp('::')?.length).toBe(16);
  });
});

describe('fixupAcl', () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return (error as ZabError).code;
    }
    return undefined;
  };

  it('drops duplicates and expands auth to every authenticated identity', () => {
    const auth: Id[] = [
      { scheme: 'ip', id: '1.2.3.4' },
      { scheme: 'digest', id: 'a:x' },
      { scheme: 'digest', id: 'b:y' },
    ];
    const fixed = fixupAcl('/p', auth, [
      ...Ids.openAclUnsafe,
      ...Ids.openAclUnsafe,
      { perms: Perms.Read, id: Ids.authIds },
    ]);
    expect(fixed).toEqual([
      ...Ids.openAclUnsafe,
      { perms: Perms.Read, id: { scheme: 'digest', id: 'a:x' } },
      { perms: Perms.Read, id: { scheme: 'digest', id: 'b:y' } },
    ]);
  });

  it.each([
    [[]],
    [[{ perms: 31, id: { scheme: 'world', id: 'nobody' } }]],
    [[{ perms: 31, id: { scheme: 'digest', id: 'user:' } }]],
    [[{ perms: 31, id: { scheme: 'digest', id: 'a:b:c' } }]],
    [[{ perms: 31, id: { scheme: 'ip', id: '10.0.0.0/40' } }]],
    [[{ perms: 31, id: { scheme: 'super', id: '' } }]],
    [[{ perms: 31, id: { scheme: 'auth', id: '' } }]],
  ])('refuses %j with InvalidACL', (acl) => {
    expect(code(() => fixupAcl('/p', [{ scheme: 'ip', id: '1.1.1.1' }], acl))).toBe(ErrorCode.InvalidACL);
  });

  it('accepts a digest id with an empty user part, as Java split does', () => {
    expect(fixupAcl('/p', [], [{ perms: 1, id: { scheme: 'digest', id: ':hash' } }])).toHaveLength(1);
  });
});

describe('checkAcl', () => {
  const alice: Id = { scheme: 'digest', id: digestOf('alice', 'pw') };
  const acl = [
    { perms: Perms.Read, id: Ids.anyoneIdUnsafe },
    { perms: Perms.Write | Perms.Admin, id: alice },
    { perms: Perms.Delete, id: { scheme: 'ip', id: '10.0.0.0/8' } },
  ];

  it('grants by world, digest and ip, and any overlap of a permission mask', () => {
    expect(checkAcl(acl, Perms.Read, [])).toBe(true);
    expect(checkAcl(acl, Perms.Write, [])).toBe(false);
    expect(checkAcl(acl, Perms.Write, [alice])).toBe(true);
    expect(checkAcl(acl, Perms.Write, [{ scheme: 'digest', id: digestOf('alice', 'nope') }])).toBe(false);
    expect(checkAcl(acl, Perms.Delete, [{ scheme: 'ip', id: '10.9.9.9' }])).toBe(true);
    expect(checkAcl(acl, Perms.Delete, [{ scheme: 'ip', id: '11.9.9.9' }])).toBe(false);
    expect(checkAcl(acl, Perms.Create | Perms.Admin, [alice])).toBe(true);
    expect(checkAcl(acl, Perms.Create, [alice])).toBe(false);
  });

  it('an empty ACL allows everything and super bypasses every check', () => {
    expect(checkAcl([], Perms.Admin, [])).toBe(true);
    expect(checkAcl(acl, Perms.Create, [{ scheme: 'super', id: '' }])).toBe(true);
  });
});

describe('authenticate and formatting', () => {
  it('digest credentials become a digest identity, plus super when they match', () => {
    const credentials = new TextEncoder().encode('super:test');
    expect(authenticate('digest', credentials)).toEqual([
      { scheme: 'digest', id: digestOf('super', 'test') },
    ]);
    expect(authenticate('digest', credentials, digestOf('super', 'test'))).toEqual([
      { scheme: 'digest', id: digestOf('super', 'test') },
      { scheme: 'super', id: '' },
    ]);
    expect(authenticate('digest', new TextEncoder().encode('nocolon'))).toBeUndefined();
    // ip succeeds and adds nothing: the connection already holds its address.
    expect(authenticate('ip', new TextEncoder().encode('1.2.3.4'))).toEqual([]);
    expect(authenticate('sasl', new TextEncoder().encode('x'))).toBeUndefined();
  });

  it('user names are what ZooKeeper providers report: digest user, ip address, nothing for super', () => {
    expect(userNameOf({ scheme: 'digest', id: digestOf('alice', 'pw') })).toBe('alice');
    expect(userNameOf({ scheme: 'digest', id: ':hash' })).toBe('');
    expect(userNameOf({ scheme: 'ip', id: '10.1.2.3' })).toBe('10.1.2.3');
    expect(userNameOf({ scheme: 'super', id: '' })).toBe('');
  });

  it('zkCli permission letters round-trip', () => {
    expect(formatAcl(Ids.openAclUnsafe[0]!)).toBe('world:anyone:cdrwa');
    expect(parsePerms('rw')).toBe(Perms.Read | Perms.Write);
    expect(() => parsePerms('rx')).toThrow(ZabError);
  });
});
