/**
 * The quorum security keys: what parses, what stops the server naming the key, and what the
 * stores made by openssl and keytool load into. Stores come from the test PKI, made fresh.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestPki, keytoolInstalled } from '../../../test/support/tls.js';
import { ConfigError, parseConfig } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { isLoopbackHost, loadQuorumSecurity } from '../src/quorum-security.js';
import { loadKeyStore, loadTlsSettings, loadTrustStore, parseTlsSettings } from '../src/tls-settings.js';

const pki = createTestPki();
afterAll(() => pki.cleanup());
const server1 = pki.issue({ name: 'server1', ip: ['127.0.0.1'], dns: ['zk1.zabkit.test'] });

const ensembleLines = (hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3']) => [
  'dataDir=/tmp/zk',
  'initLimit=10',
  'syncLimit=5',
  ...hosts.map((host, i) => `server.${i + 1}=${host}:${2888 + i}:${3888 + i}`),
];

function parse(...lines: string[]) {
  return parseConfig([...ensembleLines(), ...lines].join('\n'), { myid: 1 });
}

/** The ConfigError `run` throws (sync or async), or a failure when it throws none. */
async function configError(run: () => unknown): Promise<ConfigError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const tlsLines = (keyStore = server1.keyStore('PEM'), trustStore = pki.ca.trustStore('PEM')) => [
  'sslQuorum=true',
  `ssl.quorum.keyStore.location=${keyStore}`,
  `ssl.quorum.trustStore.location=${trustStore}`,
];

describe('quorum security keys', () => {
  it('default to no TLS, no secret, loopback only, 5 s handshakes, 64 waiting connections and 8 non-members', () => {
    const { config, warnings } = parse();
    expect(config.quorumSecurity).toEqual({
      tls: undefined,
      identities: new Map(),
      secretFile: undefined,
      allowUnauthenticated: false,
      handshakeTimeoutMs: 5000,
      maxUnauthenticatedConnections: 64,
      nonMemberPeersMax: 8,
    });
    expect(warnings.filter((w) => /quorum|ssl/i.test(w))).toEqual([]);
  });

  it('read zabkit.quorum.nonMemberPeersMax: 0 accepts no server outside the membership; a negative is refused', async () => {
    expect(parse('zabkit.quorum.nonMemberPeersMax=0').config.quorumSecurity.nonMemberPeersMax).toBe(0);
    expect(parse('zabkit.quorum.nonMemberPeersMax=3').config.quorumSecurity.nonMemberPeersMax).toBe(3);
    for (const value of ['-1', 'many', '1.5'])
      expect((await configError(() => parse(`zabkit.quorum.nonMemberPeersMax=${value}`))).key).toBe(
        'zabkit.quorum.nonMemberPeersMax',
      );
  });

  it('read sslQuorum and the ssl.quorum stores, protocols and suites', () => {
    const { config } = parse(
      ...tlsLines(server1.keyStore('PKCS12')),
      'ssl.quorum.keyStore.password=secret',
      'ssl.quorum.protocol=TLSv1.3',
      'ssl.quorum.ciphersuites=TLS_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
      'ssl.quorum.hostnameVerification=false',
      'ssl.quorum.clientAuth=need',
      'zabkit.quorum.identity.2=zk2.zabkit.test',
    );
    const tls = config.quorumSecurity.tls!;
    expect(tls.keyStore).toMatchObject({ type: 'PKCS12', password: 'secret' });
    expect(tls.trustStore).toMatchObject({ type: 'PEM', password: undefined });
    expect(tls.protocols).toEqual(['TLSv1.3']);
    expect(tls.cipherSuites).toEqual(['TLS_AES_128_GCM_SHA256', 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256']);
    expect(tls.hostnameVerification).toBe(false);
    expect(config.quorumSecurity.identities).toEqual(new Map([[2, 'zk2.zabkit.test']]));
  });

  it('with reconfigEnabled, name the identity of a server not yet a member (one to join), and still no id out of range', async () => {
    const { config } = parse(
      ...tlsLines(),
      'reconfigEnabled=true',
      'zabkit.quorum.identity.9=zk9.zabkit.test',
    );
    expect(config.quorumSecurity.identities).toEqual(new Map([[9, 'zk9.zabkit.test']]));
    for (const line of [
      'zabkit.quorum.identity.255=zk',
      'zabkit.quorum.identity.0=zk',
      'zabkit.quorum.identity.x=zk',
    ])
      expect((await configError(() => parse(...tlsLines(), 'reconfigEnabled=true', line))).key).toBe(
        line.split('=')[0],
      );
  });

  it.each([
    ['quorum.auth.enableSasl=true', 'quorum.auth.enableSasl'],
    ['quorum.auth.learnerRequireSasl=true', 'quorum.auth.learnerRequireSasl'],
    ['ssl.quorum.crl=true', 'ssl.quorum.crl'],
    ['ssl.quorum.ocsp=true', 'ssl.quorum.ocsp'],
    ['sslQuorumReloadCertFiles=true', 'sslQuorumReloadCertFiles'],
    ['portUnification=true', 'portUnification'],
    ['ssl.quorum.context.supplier.class=com.example.Supplier', 'ssl.quorum.context.supplier.class'],
    ['ssl.quorum.clientAuth=want', 'ssl.quorum.clientAuth'],
    ['ssl.quorum.keyStore.locaton=/typo', 'ssl.quorum.keyStore.locaton'],
    ['zabkit.quorum.secretFil=/typo', 'zabkit.quorum.secretFil'],
    ['zabkit.quorum.identity.9=zk9', 'zabkit.quorum.identity.9'],
    ['zabkit.quorum.handshakeTimeoutMs=0', 'zabkit.quorum.handshakeTimeoutMs'],
    ['sslQuorum=yes', 'sslQuorum'],
  ])('stop the server for %s, naming the key', async (line, key) => {
    expect((await configError(() => parse(...tlsLines(), line))).key).toBe(key);
  });

  it.each([
    [['sslQuorum=true'], 'ssl.quorum.keyStore.location'],
    [
      ['sslQuorum=true', `ssl.quorum.keyStore.location=${server1.keyStore('PEM')}`],
      'ssl.quorum.trustStore.location',
    ],
    [[...tlsLines(), 'ssl.quorum.protocol=TLSv1.1'], 'ssl.quorum.protocol'],
    [[...tlsLines(), 'ssl.quorum.enabledProtocols=TLSv1.2,SSLv3'], 'ssl.quorum.enabledProtocols'],
    [[...tlsLines(), 'ssl.quorum.ciphersuites=TLS_RSA_WITH_RC4_128_SHA'], 'ssl.quorum.ciphersuites'],
    [[...tlsLines('/stores/server.jks')], 'ssl.quorum.keyStore.type'],
    [[...tlsLines(), 'ssl.quorum.trustStore.type=JKS'], 'ssl.quorum.trustStore.type'],
    [[...tlsLines('/stores/server.key')], 'ssl.quorum.keyStore.type'],
    [
      [...tlsLines(), 'ssl.quorum.keyStore.password=a', 'ssl.quorum.keyStore.passwordPath=/p'],
      'ssl.quorum.keyStore.passwordPath',
    ],
  ])('stop the server for an unusable TLS setting (%s), naming %s', async (lines, key) => {
    expect((await configError(() => parse(...lines))).key).toBe(key);
  });

  it('say how to convert a JKS store', async () => {
    const error = await configError(() => parse(...tlsLines('/stores/server.jks')));
    expect(error.message).toContain(
      'keytool -importkeystore -srckeystore /stores/server.jks -srcstoretype JKS',
    );
  });

  it('warn about ssl.quorum keys without sslQuorum, and SASL keys that are off', () => {
    const { config, warnings } = parse(
      `ssl.quorum.keyStore.location=${server1.keyStore('PEM')}`,
      'quorum.auth.enableSasl=false',
      'quorum.auth.learner.saslLoginContext=QuorumLearner',
    );
    expect(config.quorumSecurity.tls).toBeUndefined();
    expect(warnings).toContain('ssl.quorum.keyStore.location ignored: sslQuorum is not true');
    expect(warnings).toContain(
      'quorum.auth.learner.saslLoginContext ignored: zabkit has no quorum SASL (see zabkit.quorum.secretFile)',
    );
  });
});

describe('TLS stores', () => {
  const settings = (...lines: string[]) => parse(...tlsLines(), ...lines).config.quorumSecurity.tls!;
  const store = (location: string, password?: string, type?: string) =>
    parseTlsSettings(
      {
        get: (key) =>
          ({
            'ssl.quorum.keyStore.location': location,
            'ssl.quorum.keyStore.password': password,
            'ssl.quorum.keyStore.type': type,
          })[key],
      },
      'ssl.quorum.',
    ).keyStore!;

  it('load a PEM key store and a PKCS#12 one to the same key and certificate', async () => {
    const pem = await loadKeyStore(store(server1.keyStore('PEM')));
    const p12 = await loadKeyStore(store(server1.keyStore('PKCS12'), pki.password));
    expect(p12.key).toBe(pem.key);
    expect(p12.cert).toBe(pem.cert);
    expect(pem.certificate.checkHost('zk1.zabkit.test')).toBe('zk1.zabkit.test');
  });

  it('put the intermediates after the leaf, and leave the root to the trust store', async () => {
    const intermediate = pki.createCa('intermediate', { issuer: pki.ca });
    const leaf = pki.issue({ name: 'leaf', issuer: intermediate });
    for (const loaded of [
      await loadKeyStore(store(leaf.keyStore('PEM'))),
      await loadKeyStore(store(leaf.keyStore('PKCS12'), pki.password)),
    ]) {
      expect(loaded.cert).toBe(leaf.certPem + intermediate.certPem);
    }
  });

  it('load trust stores in PEM, openssl PKCS#12 and keytool PKCS#12', async () => {
    const trust = (location: string, type: string) =>
      parseTlsSettings(
        {
          get: (key) =>
            ({
              'ssl.quorum.trustStore.location': location,
              'ssl.quorum.trustStore.password': pki.password,
              'ssl.quorum.trustStore.type': type,
            })[key],
        },
        'ssl.quorum.',
      ).trustStore!;
    const expected = [pki.ca.certPem];
    expect(await loadTrustStore(trust(pki.ca.trustStore('PEM'), 'PEM'))).toEqual(expected);
    expect(await loadTrustStore(trust(pki.ca.trustStore('PKCS12', 'openssl'), 'PKCS12'))).toEqual(expected);
    if (keytoolInstalled) {
      expect(await loadTrustStore(trust(pki.ca.trustStore('PKCS12', 'keytool'), 'PKCS12'))).toEqual(expected);
    }
  });

  it('name the password key when the password is wrong, and the location when the file is missing', async () => {
    expect((await configError(() => loadKeyStore(store(server1.keyStore('PKCS12'), 'wrong')))).key).toBe(
      'ssl.quorum.keyStore.password',
    );
    expect((await configError(() => loadKeyStore(store('/nonexistent/store.p12', 'x')))).key).toBe(
      'ssl.quorum.keyStore.location',
    );
    const notAStore = join(pki.dir, 'not-a-store.p12');
    writeFileSync(notAStore, 'hello');
    expect((await configError(() => loadKeyStore(store(notAStore, 'x')))).key).toBe(
      'ssl.quorum.keyStore.location',
    );
  });

  it('read the password from passwordPath, dropping a final newline', async () => {
    const passwordFile = join(pki.dir, 'store-password');
    writeFileSync(passwordFile, `${pki.password}\n`);
    const tls = settings(
      `ssl.quorum.keyStore.location=${server1.keyStore('PKCS12')}`,
      `ssl.quorum.keyStore.passwordPath=${passwordFile}`,
    );
    expect((await loadTlsSettings(tls)).certificate.checkIP('127.0.0.1')).toBe('127.0.0.1');
  });

  it('refuse an expired certificate, and a key store whose key matches none of its certificates', async () => {
    const expired = pki.issue({ name: 'expired', expired: true });
    expect((await configError(() => loadKeyStore(store(expired.keyStore('PEM'))))).message).toContain(
      'expired',
    );
    const mismatched = join(pki.dir, 'mismatched.pem');
    writeFileSync(mismatched, expired.keyPem + server1.certPem);
    expect((await configError(() => loadKeyStore(store(mismatched)))).message).toContain(
      'matches its private key',
    );
  });

  it('map Java suite names to OpenSSL and leave out a version no listed suite belongs to', async () => {
    const only12 = await loadTlsSettings(
      settings('ssl.quorum.ciphersuites=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'),
    );
    expect(only12).toMatchObject({
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256',
    });
    const only13 = await loadTlsSettings(settings('ssl.quorum.ciphersuites=TLS_AES_256_GCM_SHA384'));
    expect(only13).toMatchObject({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
    const defaults = await loadTlsSettings(settings());
    expect(defaults).toMatchObject({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', ciphers: undefined });
    expect(
      (
        await configError(() =>
          loadTlsSettings(
            settings(
              'ssl.quorum.protocol=TLSv1.3',
              'ssl.quorum.ciphersuites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
            ),
          ),
        )
      ).key,
    ).toBe('ssl.quorum.ciphersuites');
  });
});

describe('quorum security at start', () => {
  const load = (lines: string[], hosts?: string[]) =>
    loadQuorumSecurity(
      parseConfig([...ensembleLines(hosts), ...lines].join('\n'), { myid: 1 }).config,
      silentLogger,
    );

  it('refuses a non-loopback ensemble without TLS or a secret, naming the server.N, unless opted in', async () => {
    const error = await configError(() => load([], ['127.0.0.1', '10.1.2.3', '127.0.0.3']));
    expect(error.key).toBe('server.2');
    expect(error.message).toContain('zabkit.quorum.allowUnauthenticated');
    const optedIn = await load(
      ['zabkit.quorum.allowUnauthenticated=true'],
      ['127.0.0.1', '10.1.2.3', '127.0.0.3'],
    );
    expect(optedIn.mechanism).toBe('none');
    expect((await load([])).mechanism).toBe('none');
  });

  it('warns loudly when peers are not authenticated', async () => {
    const lines: string[] = [];
    const log = {
      ...silentLogger,
      warn: (_fields: unknown, message?: string) => void lines.push(message ?? ''),
    };
    await loadQuorumSecurity(parse().config, log);
    expect(lines).toEqual([expect.stringContaining('PEER LINKS ARE NOT AUTHENTICATED')]);
  });

  it('reads the secret file, and refuses one that is missing or too short', async () => {
    const secretFile = join(pki.dir, 'quorum-secret');
    writeFileSync(secretFile, 'sixteen bytes ok, and then some\n');
    chmodSync(secretFile, 0o600);
    const loaded = await load(
      [`zabkit.quorum.secretFile=${secretFile}`],
      ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
    );
    expect(loaded.mechanism).toBe('secret');
    expect(Buffer.from(loaded.security.secret!).toString()).toBe('sixteen bytes ok, and then some');
    writeFileSync(secretFile, 'short\n');
    expect((await configError(() => load([`zabkit.quorum.secretFile=${secretFile}`]))).key).toBe(
      'zabkit.quorum.secretFile',
    );
    expect((await configError(() => load(['zabkit.quorum.secretFile=/nonexistent/secret']))).key).toBe(
      'zabkit.quorum.secretFile',
    );
  });

  it("refuses a key store whose certificate does not name this server's address, unless an identity maps it", async () => {
    const other = pki.issue({ name: 'other-host', ip: ['127.0.0.9'], dns: ['zk9.zabkit.test'] });
    const lines = tlsLines(other.keyStore('PEM'));
    expect((await configError(() => load(lines))).key).toBe('ssl.quorum.keyStore.location');
    const mapped = await load([...lines, 'zabkit.quorum.identity.1=zk9.zabkit.test']);
    expect(mapped.mechanism).toBe('tls');
    expect(mapped.security.tls?.identities).toEqual(new Map([[1, 'zk9.zabkit.test']]));
    expect((await load([...lines, 'ssl.quorum.hostnameVerification=false'])).mechanism).toBe('tls');
  });

  it('tells loopback hosts from others', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1'])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['10.0.0.1', '0.0.0.0', 'zk1.example.com', '::', '128.0.0.1'])
      expect(isLoopbackHost(host)).toBe(false);
  });
});
