/**
 * Real clients none of us wrote, over TLS to zabkit's secure client port: Apache ZooKeeper's
 * Java client and zkCli.sh (Debian's 3.8) with zookeeper.client.secure=true,
 * ClientCnxnSocketNetty and JKS stores made by keytool, and kazoo with use_ssl=True. Each
 * against a server with ssl.clientAuth=none (a trust store on the client only) and one with
 * ssl.clientAuth=need (a client certificate too), where each must be refused without its
 * certificate. Where Java or kazoo is missing, that part says so and is skipped (CI installs
 * both).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, ServerNode } from '../packages/server/src/index.js';
import { createTestPki, keytoolInstalled, type TestPki } from './support/tls.js';

const run = promisify(execFile);
const zkCli = '/usr/share/zookeeper/bin/zkCli.sh';
const javaReady =
  existsSync('/usr/share/java/zookeeper.jar') && existsSync('/usr/bin/java') && keytoolInstalled;
// Java's source launcher runs TlsClient.java; it needs the compiler module, which a JRE lacks.
const javaCompiles =
  javaReady &&
  (() => {
    try {
      return /^jdk\.compiler@/m.test(execFileSync('java', ['--list-modules'], { encoding: 'utf8' }));
    } catch {
      return false;
    }
  })();
const kazooReady = (() => {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import kazoo'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
// ZooKeeper's jar names the Netty jars it needs for NIO; its TLS handler needs codec and resolver too.
const netty = [
  'netty-buffer',
  'netty-codec',
  'netty-common',
  'netty-handler',
  'netty-resolver',
  'netty-transport',
  'netty-transport-native-epoll',
  'netty-transport-native-unix-common',
].map((name) => `/usr/share/java/${name}.jar`);
const classpath = ['/etc/zookeeper/conf', '/usr/share/java/zookeeper.jar', ...netty].join(':');
const javaClient = fileURLToPath(new URL('./support/java/TlsClient.java', import.meta.url));
const kazooClient = fileURLToPath(new URL('./support/kazoo_tls.py', import.meta.url));

if (!javaReady) console.warn('Java, keytool or ZooKeeper is not installed: skipping the Java TLS clients');
if (javaReady && !javaCompiles)
  console.warn("Java has no compiler (install a JDK): skipping the Java client program; zkCli's tests run");
if (!kazooReady) console.warn('kazoo is not installed for /usr/bin/python3: skipping its TLS tests');

/** What a run printed, or `failed` and what it printed before it failed. */
const outcome = (command: string, args: string[], env?: NodeJS.ProcessEnv) =>
  run(command, args, { timeout: 90_000, ...(env === undefined ? {} : { env }) }).then(
    ({ stdout, stderr }) => `${stdout}\n${stderr}`,
    (error: { stdout?: string }) => `failed\n${error.stdout ?? ''}`,
  );

describe('real clients over TLS', () => {
  let pki: TestPki;
  const nodes: ServerNode[] = [];
  const targets = { none: '', need: '' };
  let withCertificate: string;
  let trustOnly: string;
  let pem: { ca: string; cert: string; key: string };

  beforeAll(async () => {
    pki = createTestPki();
    const server = pki.issue({ name: 'server', dns: ['localhost'], ip: ['127.0.0.1'], usage: 'server' });
    const client = pki.issue({ name: 'realclient', subject: '/CN=client', usage: 'client' });
    for (const clientAuth of ['none', 'need'] as const) {
      const { config } = parseConfig(
        [
          'tickTime=200',
          `dataDir=/tmp/zabkit-tls-real-${clientAuth}`,
          'secureClientPort=0',
          'secureClientPortAddress=127.0.0.1',
          // What ZooKeeper's own TLS setup needs; zabkit accepts it and needs nothing of it.
          'serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory',
          `ssl.keyStore.location=${server.keyStore('PKCS12')}`,
          `ssl.keyStore.password=${pki.password}`,
          `ssl.trustStore.location=${pki.ca.trustStore('PEM')}`,
          `ssl.clientAuth=${clientAuth}`,
          '',
        ].join('\n'),
      );
      const node = await ServerNode.start({ config });
      nodes.push(node);
      targets[clientAuth] = `127.0.0.1:${node.secureAddress()!.port}`;
    }
    pem = { ca: pki.ca.certPath, cert: client.certPath, key: client.keyPath };
    if (javaReady) {
      const common = [
        'zookeeper.client.secure=true',
        'zookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty',
        `zookeeper.ssl.trustStore.location=${pki.ca.trustStore('JKS')}`,
        `zookeeper.ssl.trustStore.password=${pki.password}`,
      ];
      withCertificate = join(pki.dir, 'client.properties');
      writeFileSync(
        withCertificate,
        [
          ...common,
          `zookeeper.ssl.keyStore.location=${client.keyStore('JKS')}`,
          `zookeeper.ssl.keyStore.password=${pki.password}`,
          '',
        ].join('\n'),
      );
      trustOnly = join(pki.dir, 'trust-only.properties');
      writeFileSync(trustOnly, [...common, ''].join('\n'));
    }
  }, 60_000);

  afterAll(async () => {
    for (const node of nodes) await node.close();
    pki?.cleanup();
  });

  const java = (target: string, config: string, path: string, waitSeconds = 20) =>
    outcome('java', ['-cp', classpath, javaClient, target, config, path, String(waitSeconds)]);

  const expectFullRun = (out: string, path: string, event: RegExp) => {
    expect(out).toMatch(new RegExp(`^created ${path}$`, 'm'));
    expect(out).toMatch(/^read one$/m);
    expect(out).toMatch(event);
    expect(out).toMatch(/^read two$/m);
    expect(out).toMatch(/^deleted (true|True)$/m);
  };

  describe.skipIf(!javaCompiles)("Apache ZooKeeper's Java client, ClientCnxnSocketNetty", () => {
    it('ssl.clientAuth=none: with a trust store only, creates, watches, sets and deletes', async () => {
      const out = await java(targets.none, trustOnly, '/java-none');
      expect(out).toMatch(/^connected secure=true socket=org\.apache\.zookeeper\.ClientCnxnSocketNetty$/m);
      expectFullRun(out, '/java-none', /^event NodeDataChanged \/java-none$/m);
    }, 90_000);

    it('ssl.clientAuth=need: with its certificate it works, without it gets no session', async () => {
      expectFullRun(
        await java(targets.need, withCertificate, '/java-need'),
        '/java-need',
        /^event NodeDataChanged/m,
      );
      const refused = await java(targets.need, trustOnly, '/java-refused', 6);
      expect(refused).toMatch(/^no session$/m);
      expect(nodes[1]!.secureClientPort!.stats.tlsHandshakeFailures).toBeGreaterThan(0);
    }, 90_000);
  });

  describe.skipIf(!javaReady || !existsSync(zkCli))('zkCli.sh -client-configuration', () => {
    const cli = (target: string, config: string, ...command: string[]) =>
      outcome(zkCli, ['-server', target, '-client-configuration', config, ...command], {
        ...process.env,
        ZOO_LOG4J_PROP: 'ERROR,CONSOLE',
        // zkCli.sh's classpath lacks Netty's TLS handler; the last -cp is the one Java uses.
        CLIENT_JVMFLAGS: `-cp ${classpath}`,
      });

    it.each(['none', 'need'] as const)(
      'ssl.clientAuth=%s: create, get, ls, delete',
      async (clientAuth) => {
        const target = targets[clientAuth];
        const config = clientAuth === 'need' ? withCertificate : trustOnly;
        expect(await cli(target, config, 'create', `/zkcli-${clientAuth}`, 'hello')).toMatch(
          new RegExp(`Created /zkcli-${clientAuth}`),
        );
        expect(await cli(target, config, 'get', `/zkcli-${clientAuth}`)).toMatch(/^hello$/m);
        expect(await cli(target, config, 'ls', '/')).toMatch(new RegExp(`zkcli-${clientAuth}`));
        await cli(target, config, 'delete', `/zkcli-${clientAuth}`);
        expect(await cli(target, config, 'ls', '/')).not.toMatch(new RegExp(`zkcli-${clientAuth}`));
      },
      180_000,
    );
  });

  describe.skipIf(!kazooReady)('kazoo, use_ssl=True', () => {
    const kazoo = (target: string, withCert: boolean, path: string, startTimeout = 20) =>
      outcome('/usr/bin/python3', [
        kazooClient,
        target,
        pem.ca,
        withCert ? pem.cert : '-',
        withCert ? pem.key : '-',
        path,
        String(startTimeout),
      ]);

    it('ssl.clientAuth=none: creates, watches, sets and deletes', async () => {
      const out = await kazoo(targets.none, false, '/kazoo-none');
      expect(out).toMatch(/^connected$/m);
      expectFullRun(out, '/kazoo-none', /^event CHANGED \/kazoo-none$/m);
    }, 90_000);

    it('ssl.clientAuth=need: with its certificate it works, without it gets no session', async () => {
      expectFullRun(await kazoo(targets.need, true, '/kazoo-need'), '/kazoo-need', /^event CHANGED/m);
      const refused = await kazoo(targets.need, false, '/kazoo-refused', 5);
      expect(refused).toMatch(/^failed/);
      expect(refused).not.toMatch(/^connected$/m);
    }, 90_000);
  });
});
