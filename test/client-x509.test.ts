/**
 * x509 identities on the client port: a client whose TLS certificate the trust store vouches
 * for is `x509:<subject>`, the subject written as Java's X500Principal.getName() writes it
 * (checked against Java itself for subjects with escapes, several attributes in one RDN, OIDs
 * without a keyword and UTF-8), so an ACL written for ZooKeeper names the same client here.
 * `X509AuthenticationProvider.superUser` names a subject that passes every ACL. Seen through
 * zabkit's client, and through zkCli.sh's whoami over TLS.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connectTcp, type TcpTlsOptions, ZabError } from '@zabkit/client';
import { Ids, Perms } from '@zabkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, ServerNode } from '../packages/server/src/index.js';
import { certificateSubject } from '../packages/server/src/x509-subject.js';
import { createTestPki, keytoolInstalled } from './support/tls.js';

const run = promisify(execFile);
const pki = createTestPki();
afterAll(() => pki.cleanup());

const javaCompiles =
  existsSync('/usr/bin/java') &&
  (() => {
    try {
      return /^jdk\.compiler@/m.test(execFileSync('java', ['--list-modules'], { encoding: 'utf8' }));
    } catch {
      return false;
    }
  })();
if (!javaCompiles) console.warn('no JDK: skipping the comparison of subjects with Java');

const server = pki.issue({ name: 'server', dns: ['localhost'], ip: ['127.0.0.1'], usage: 'server' });
const alice = pki.issue({ name: 'alice', subject: '/C=US/O=zabkit/OU=dev/CN=alice', usage: 'client' });
const bob = pki.issue({ name: 'bob', subject: '/O=zabkit/CN=bob', usage: 'client' });
const admin = pki.issue({ name: 'admin', subject: '/O=zabkit/CN=admin', usage: 'client' });

/** DER of a PEM certificate. */
const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');

describe('a certificate subject, as Java names it', () => {
  const subjects = [
    '/C=US/O=zabkit/OU=dev/CN=alice',
    '/DC=com/DC=example/CN=alice+UID=42',
    '/O=Zab, Inc./OU=a=b;c<d>e"f/CN=#hash',
    '/CN= leading and trailing \\/O=back\\\\slash',
    '/emailAddress=alice@example.com/serialNumber=7/ST=Zürich/L=Genève/CN=Grüße 東京',
    '/street=1 Main St/title=Dr/GN=Alice/SN=Smith/CN=x',
  ];
  const certificates = subjects.map((subject, i) =>
    pki.issue({ name: `subject${i}`, subject, usage: 'client' }),
  );

  it('reads simple names the RFC 2253 way: last RDN first, keywords', () => {
    expect(certificateSubject(der(alice.certPem))).toBe('CN=alice,OU=dev,O=zabkit,C=US');
    expect(certificateSubject(der(certificates[1]!.certPem))).toBe('CN=alice+UID=42,DC=example,DC=com');
  });

  it.skipIf(!javaCompiles)(
    'matches X500Principal.getName() for each subject',
    async () => {
      const program = fileURLToPath(new URL('./support/java/CertSubject.java', import.meta.url));
      const { stdout } = await run('java', [program, ...certificates.map((c) => c.certPath)], {
        timeout: 60_000,
      });
      const fromJava = stdout.split('\n').slice(0, certificates.length);
      const ours = certificates.map((c) => certificateSubject(der(readFileSync(c.certPath, 'utf8'))));
      expect(ours).toEqual(fromJava);
      // Not the trivial case: escapes and a hex-encoded value are there.
      expect(ours.join('\n')).toMatch(/\\,/);
      expect(ours.join('\n')).toMatch(/=#[0-9a-f]+/);
    },
    90_000,
  );
});

describe('x509 ACLs on a secure client port (ssl.clientAuth=want)', () => {
  let node: ServerNode;
  let secure: string;
  let plain: string;
  const aliceId = 'CN=alice,OU=dev,O=zabkit,C=US';
  const adminId = 'CN=admin,O=zabkit';
  const trustCa: TcpTlsOptions = { ca: pki.ca.certPem };
  const as = (cert: typeof alice | undefined) =>
    connectTcp(secure, {
      sessionTimeoutMs: 10_000,
      tls: cert === undefined ? trustCa : { ...trustCa, cert: cert.certPem, key: cert.keyPem },
    });
  const code = (promise: Promise<unknown>) =>
    promise.then(
      () => 'ok',
      (error: unknown) => (error instanceof ZabError ? error.codeName : String(error)),
    );

  beforeAll(async () => {
    const { config } = parseConfig(
      [
        'tickTime=200',
        'dataDir=/tmp/zabkit-x509-test',
        'clientPort=0',
        'clientPortAddress=127.0.0.1',
        'secureClientPort=0',
        'secureClientPortAddress=127.0.0.1',
        `ssl.keyStore.location=${server.keyStore('PEM')}`,
        `ssl.trustStore.location=${pki.ca.trustStore('PEM')}`,
        'ssl.clientAuth=want',
        'ssl.authProvider=x509',
        'authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider',
        `X509AuthenticationProvider.superUser=${adminId}`,
        '',
      ].join('\n'),
    );
    node = await ServerNode.start({ config });
    secure = `127.0.0.1:${node.secureAddress()!.port}`;
    plain = `127.0.0.1:${node.address().port}`;
  });

  afterAll(async () => {
    await node?.close();
  });

  it('names a client by its certificate, in whoAmI and in the ACLs it creates', async () => {
    const zk = await as(alice);
    try {
      expect(await zk.whoAmI()).toEqual([
        { authScheme: 'ip', user: '127.0.0.1' },
        { authScheme: 'x509', user: aliceId },
      ]);
      await zk.create('/x509', 'hers', { acl: [{ perms: Perms.All, id: { scheme: 'x509', id: aliceId } }] });
      await zk.create('/x509-creator', 'hers', { acl: Ids.creatorAllAcl });
      expect((await zk.getACL('/x509-creator')).acl).toEqual([
        { perms: Perms.All, id: { scheme: 'x509', id: aliceId } },
      ]);
      expect(new TextDecoder().decode((await zk.getData('/x509')).data)).toBe('hers');
    } finally {
      await zk.close();
    }
  });

  it('refuses another certificate, a TLS client without one, and a plain client', async () => {
    for (const connect of [() => as(bob), () => as(undefined), () => connectTcp(plain)]) {
      const zk = await connect();
      try {
        expect(await code(zk.getData('/x509'))).toBe('NoAuth');
        expect(await code(zk.setData('/x509-creator', 'mine'))).toBe('NoAuth');
        expect((await zk.whoAmI()).some((id) => id.authScheme === 'x509' && id.user === aliceId)).toBe(false);
      } finally {
        await zk.close();
      }
    }
  });

  it('lets the x509 super user past every ACL', async () => {
    const zk = await as(admin);
    try {
      expect(await zk.whoAmI()).toContainEqual({ authScheme: 'super', user: '' });
      expect(new TextDecoder().decode((await zk.getData('/x509')).data)).toBe('hers');
      await zk.setData('/x509-creator', 'admin was here');
      await zk.delete('/x509');
      await zk.delete('/x509-creator');
    } finally {
      await zk.close();
    }
  });

  it.skipIf(!keytoolInstalled || !existsSync('/usr/share/zookeeper/bin/zkCli.sh'))(
    "zkCli.sh's whoami over TLS names the certificate's subject",
    async () => {
      const properties = join(pki.dir, 'x509-cli.properties');
      writeFileSync(
        properties,
        [
          'zookeeper.client.secure=true',
          'zookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty',
          `zookeeper.ssl.trustStore.location=${pki.ca.trustStore('JKS')}`,
          `zookeeper.ssl.trustStore.password=${pki.password}`,
          `zookeeper.ssl.keyStore.location=${alice.keyStore('JKS')}`,
          `zookeeper.ssl.keyStore.password=${pki.password}`,
          '',
        ].join('\n'),
      );
      const netty = [
        'buffer',
        'codec',
        'common',
        'handler',
        'resolver',
        'transport',
        'transport-native-epoll',
      ]
        .concat(['transport-native-unix-common'])
        .map((name) => `/usr/share/java/netty-${name}.jar`);
      const classpath = ['/etc/zookeeper/conf', '/usr/share/java/zookeeper.jar', ...netty].join(':');
      const { stdout } = await run(
        '/usr/share/zookeeper/bin/zkCli.sh',
        ['-server', secure, '-client-configuration', properties, 'whoami'],
        {
          timeout: 90_000,
          env: { ...process.env, ZOO_LOG4J_PROP: 'ERROR,CONSOLE', CLIENT_JVMFLAGS: `-cp ${classpath}` },
        },
      );
      expect(stdout).toMatch(new RegExp(`^x509: ${aliceId}$`, 'm'));
    },
    120_000,
  );
});

describe('enforce.auth.schemes=x509', () => {
  it('serves a client with a certificate, and refuses one without (SessionClosedRequireSaslAuth)', async () => {
    const { config } = parseConfig(
      [
        'tickTime=200',
        'dataDir=/tmp/zabkit-x509-enforced',
        'secureClientPort=0',
        'secureClientPortAddress=127.0.0.1',
        `ssl.keyStore.location=${server.keyStore('PEM')}`,
        `ssl.trustStore.location=${pki.ca.trustStore('PEM')}`,
        'ssl.clientAuth=want',
        'enforce.auth.enabled=true',
        'enforce.auth.schemes=x509',
        '',
      ].join('\n'),
    );
    const node = await ServerNode.start({ config });
    const target = `127.0.0.1:${node.secureAddress()!.port}`;
    try {
      const withCert = await connectTcp(target, {
        tls: { ca: pki.ca.certPem, cert: alice.certPem, key: alice.keyPem },
      });
      expect((await withCert.getData('/')).stat.version).toBe(0);
      await withCert.close();
      const without = await connectTcp(target, { tls: { ca: pki.ca.certPem }, sessionTimeoutMs: 5000 });
      const error = await without.getData('/').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ZabError);
      expect((error as ZabError).codeName).toBe('SessionClosedRequireSaslAuth');
      await without.close().catch(() => undefined);
    } finally {
      await node.close();
    }
  });
});
