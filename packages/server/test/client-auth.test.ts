/**
 * The pieces of client authentication, alone: DIGEST-MD5 against RFC 2831's worked example
 * and as an exchange, the JAAS file reader, the keys' checks, x509 ACL ids.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkAcl, fixupAcl } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import { loadSaslUsers, parseClientAuthSettings, parseJaas } from '../src/client-auth.js';
import { ConfigError, parseConfig } from '../src/index.js';
import { DigestMd5Server, digestResponse, parseDirectives, SaslFailure } from '../src/sasl-digest.js';

describe('DIGEST-MD5', () => {
  it("computes RFC 2831's example response and rspauth", () => {
    const parts = {
      user: 'chris',
      realm: 'elwood.innosoft.com',
      password: 'secret',
      nonce: 'OA6MG9tEQGm2hh',
      cnonce: 'OA6MHXh6VqTrRk',
      nc: '00000001',
      qop: 'auth',
      digestUri: 'imap/elwood.innosoft.com',
      authzid: undefined,
      utf8: true,
    };
    expect(digestResponse(parts, 'AUTHENTICATE')).toBe('d388dad90d4bbd760a152321f2143af7');
    expect(digestResponse(parts, '')).toBe('ea40f60335c427b5527b84dbabcdfffd');
  });

  const users = new Map([['bob', 'bobsecret']]);
  const respond = (password: string, overrides: Record<string, string> = {}) => {
    const fields: Record<string, string> = {
      charset: 'utf-8',
      username: 'bob',
      realm: 'zk-sasl-md5',
      nonce: 'fixed-nonce',
      nc: '00000001',
      cnonce: 'client-nonce',
      'digest-uri': 'zookeeper/zk-sasl-md5',
      qop: 'auth',
      authzid: 'bob',
      ...overrides,
    };
    const response = digestResponse(
      {
        user: fields.username!,
        realm: fields.realm!,
        password,
        nonce: fields.nonce!,
        cnonce: fields.cnonce!,
        nc: fields.nc!,
        qop: fields.qop!,
        digestUri: fields['digest-uri']!,
        authzid: fields.authzid,
        utf8: true,
      },
      'AUTHENTICATE',
    );
    const text = Object.entries({ ...fields, response })
      .map(([key, value]) =>
        key === 'nc' || key === 'qop' || key === 'response' ? `${key}=${value}` : `${key}="${value}"`,
      )
      .join(',');
    return Buffer.from(text);
  };

  it('challenges an empty token, then proves a user and answers rspauth', () => {
    const server = new DigestMd5Server(
      (user) => users.get(user),
      () => 'fixed-nonce',
    );
    const challenge = parseDirectives(Buffer.from(server.evaluate(new Uint8Array(0))).toString());
    expect(Object.fromEntries(challenge)).toEqual({
      realm: 'zk-sasl-md5',
      nonce: 'fixed-nonce',
      charset: 'utf-8',
      algorithm: 'md5-sess',
    });
    const final = Buffer.from(server.evaluate(respond('bobsecret'))).toString();
    expect(final).toMatch(/^rspauth=[0-9a-f]{32}$/);
    expect(server.complete).toBe(true);
    expect(server.user).toBe('bob');
    expect(() => server.evaluate(new Uint8Array(0))).toThrow(SaslFailure);
  });

  it.each([
    ['a wrong password', 'wrong', {}],
    ['an unknown user', 'bobsecret', { username: 'mallory' }],
    ['another nonce', 'bobsecret', { nonce: 'replayed' }],
    ['another service', 'bobsecret', { 'digest-uri': 'imap/zk-sasl-md5' }],
    ['a second use of the nonce', 'bobsecret', { nc: '00000002' }],
    ['a protection layer not offered', 'bobsecret', { qop: 'auth-conf' }],
  ])('fails %s, and stays failed', (_what, password, overrides) => {
    const server = new DigestMd5Server(
      (user) => users.get(user),
      () => 'fixed-nonce',
    );
    server.evaluate(new Uint8Array(0));
    expect(() => server.evaluate(respond(password, overrides))).toThrow(SaslFailure);
    expect(server.complete).toBe(false);
    expect(() => server.evaluate(respond('bobsecret'))).toThrow(SaslFailure);
  });

  it('refuses a first token that is not empty, and garbage', () => {
    expect(() => new DigestMd5Server(() => 'x').evaluate(Buffer.from('hello'))).toThrow(SaslFailure);
    const server = new DigestMd5Server(() => 'x');
    server.evaluate(new Uint8Array(0));
    expect(() => server.evaluate(Buffer.from('username="unterminated'))).toThrow(SaslFailure);
  });
});

describe('JAAS files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-jaas-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const settings = (path: string, extra: Record<string, string> = {}) =>
    parseClientAuthSettings((key) => ({ 'zabkit.sasl.loginConfig': path, ...extra })[key], [], undefined);

  it("reads the Server section's DigestLoginModule users, with comments and quoting", async () => {
    const path = file(
      'ok.conf',
      `// the server's users
Server {
  org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="adminsecret"
    /* a comment */ user_bob="bob secret;{}";
};
Client { org.apache.zookeeper.server.auth.DigestLoginModule required username="bob" password="x"; };
`,
    );
    expect(parseJaas('A { m required; };').get('A')).toEqual([
      { module: 'm', flag: 'required', options: new Map() },
    ]);
    const users = await loadSaslUsers(settings(path));
    expect([...users!]).toEqual([
      ['super', 'adminsecret'],
      ['bob', 'bob secret;{}'],
    ]);
    const replaced = await loadSaslUsers(
      settings(path, { 'SASLAuthenticationProvider.superPassword': 'other' }),
    );
    expect(replaced!.get('super')).toBe('other');
  });

  it('stops the server naming the key for Kerberos, a missing section or file, and a principal as a user', async () => {
    const kerberos = file(
      'krb.conf',
      'Server { com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true principal="zookeeper/host@R"; };',
    );
    await expect(loadSaslUsers(settings(kerberos))).rejects.toThrow(/Kerberos \(GSSAPI\) is not supported/);
    await expect(loadSaslUsers(settings(kerberos, { 'sasl.serverconfig': 'Other' }))).rejects.toThrow(
      /has no Other section/,
    );
    await expect(loadSaslUsers(settings(join(dir, 'missing.conf')))).rejects.toThrow(ConfigError);
    const principal = file(
      'principal.conf',
      'Server { org.apache.zookeeper.server.auth.DigestLoginModule required user_bob@R="x"; };',
    );
    const error = await loadSaslUsers(settings(principal)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe('zabkit.sasl.loginConfig');
    const fromFlag = parseClientAuthSettings(() => undefined, [], join(dir, 'missing.conf'));
    const flagError = await loadSaslUsers(fromFlag).catch((e: unknown) => e);
    expect(flagError).toBeInstanceOf(ConfigError);
    expect((flagError as ConfigError).key).toBe('-Djava.security.auth.login.config');
  });
});

describe('client authentication keys', () => {
  const parse = (lines: string[], systemProperties?: Map<string, string>) =>
    parseConfig(['dataDir=/tmp/zabkit-auth-keys', 'clientPort=2181', ...lines, ''].join('\n'), {
      ...(systemProperties === undefined ? {} : { systemProperties }),
    });
  const refusedKey = (lines: string[]) => {
    try {
      parse(lines);
      return undefined;
    } catch (error) {
      return (error as ConfigError).key;
    }
  };

  it("accepts ZooKeeper's provider classes, super users and enforce.auth", () => {
    const { config, warnings } = parse([
      'authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider',
      'authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider',
      'superUser=admin',
      'superUser.2=root',
      'X509AuthenticationProvider.superUser=CN=admin,O=zabkit',
      'ssl.authProvider=x509',
      'enforce.auth.enabled=true',
      'enforce.auth.schemes=digest, x509',
    ]);
    expect(warnings).toEqual([]);
    const auth = config.clientPortSettings.auth;
    expect(auth.saslSuperUsers).toEqual(['admin', 'root']);
    expect(auth.x509SuperUser).toBe('CN=admin,O=zabkit');
    expect(auth.enforceAuthSchemes).toEqual(['digest', 'x509']);
    const viaFlags = parse(
      [],
      new Map([
        ['zookeeper.enforce.auth.enabled', 'true'],
        ['zookeeper.enforce.auth.schemes', 'ip'],
        ['java.security.auth.login.config', '/etc/jaas.conf'],
      ]),
    );
    expect(viaFlags.warnings).toEqual([]);
    expect(viaFlags.config.clientPortSettings.auth.enforceAuthSchemes).toEqual(['ip']);
    expect(viaFlags.config.clientPortSettings.auth.loginConfig?.path).toBe('/etc/jaas.conf');
  });

  it('stops the server naming a key it cannot honour', () => {
    expect(refusedKey(['authProvider.1=com.example.MyProvider'])).toBe('authProvider.1');
    expect(refusedKey(['ssl.authProvider=com.example.Mine'])).toBe('ssl.authProvider');
    expect(refusedKey(['enforce.auth.enabled=true'])).toBe('enforce.auth.schemes');
    expect(refusedKey(['enforce.auth.enabled=true', 'enforce.auth.schemes=kerberos'])).toBe(
      'enforce.auth.schemes',
    );
    expect(refusedKey(['sessionRequireClientSASLAuth=true'])).toBe('enforce.auth.schemes');
    expect(refusedKey(['enforce.auth.enabled=yes'])).toBe('enforce.auth.enabled');
    expect(refusedKey(['letAnySaslUserDoX=bob'])).toBe('letAnySaslUserDoX');
    expect(refusedKey(['DigestAuthenticationProvider.digestAlg=SHA-256'])).toBe(
      'DigestAuthenticationProvider.digestAlg',
    );
    expect(refusedKey(['DigestAuthenticationProvider.enabled=false'])).toBe(
      'DigestAuthenticationProvider.enabled',
    );
    expect(parse(['DigestAuthenticationProvider.digestAlg=SHA1']).warnings).toEqual([]);
  });
});

describe('sasl and x509 ACLs', () => {
  it('validates ids as ZooKeeper parses them (a Kerberos name, a distinguished name)', () => {
    const valid = (scheme: string, id: string) => {
      try {
        fixupAcl('/p', [], [{ perms: 31, id: { scheme, id } }]);
        return true;
      } catch {
        return false;
      }
    };
    expect(valid('sasl', 'bob')).toBe(true);
    expect(valid('sasl', 'zookeeper/host@EXAMPLE.COM')).toBe(true);
    expect(valid('sasl', 'a@b@c')).toBe(false);
    expect(valid('x509', 'CN=client,O=zabkit')).toBe(true);
    expect(valid('x509', 'CN=a\\,b+OU=x;C=US')).toBe(true);
    expect(valid('x509', '1.2.840.113549.1.9.1=#160d6140622e6578616d706c65')).toBe(true);
    expect(valid('x509', '')).toBe(true);
    expect(valid('x509', 'client')).toBe(false);
    expect(valid('x509', 'NOPE=x')).toBe(false);
    expect(valid('x509', 'CN="unterminated')).toBe(false);
  });

  it('expands auth to sasl and x509 identities, and lets the sasl user super past sasl entries', () => {
    const held = [
      { scheme: 'ip', id: '127.0.0.1' },
      { scheme: 'sasl', id: 'bob' },
      { scheme: 'x509', id: 'CN=bob' },
    ];
    expect(fixupAcl('/p', held, [{ perms: 31, id: { scheme: 'auth', id: '' } }])).toEqual([
      { perms: 31, id: { scheme: 'sasl', id: 'bob' } },
      { perms: 31, id: { scheme: 'x509', id: 'CN=bob' } },
    ]);
    const acl = [{ perms: 1, id: { scheme: 'sasl', id: 'bob' } }];
    expect(checkAcl(acl, 1, [{ scheme: 'sasl', id: 'bob' }])).toBe(true);
    expect(checkAcl(acl, 2, [{ scheme: 'sasl', id: 'bob' }])).toBe(false);
    expect(checkAcl(acl, 1, [{ scheme: 'sasl', id: 'alice' }])).toBe(false);
    expect(checkAcl(acl, 1, [{ scheme: 'sasl', id: 'super' }])).toBe(true);
    expect(checkAcl(acl, 1, [{ scheme: 'digest', id: 'bob' }])).toBe(false);
  });
});
