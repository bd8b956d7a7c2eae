/**
 * TLS on the client port, configured as ZooKeeper configures it (secureClientPort, ssl.*,
 * ssl.clientAuth, client.portUnification), with certificates made by openssl and keytool at
 * test time, and zabkit's own client (connectTcp's `tls` option) on the other side. Stores
 * in PEM and PKCS#12; every key that cannot be honoured stops the server naming it.
 */
import { writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { connectTcp, type TcpTlsOptions } from '@zabkit/client';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, ServerNode } from '../packages/server/src/index.js';
import { runScript } from '../packages/server/test/shell-driver.js';
import { fourLetterWord, freePort } from './support/process-ensemble.js';
import { createTestPki, keytoolInstalled } from './support/tls.js';

const pki = createTestPki();
afterAll(() => pki.cleanup());

const server = pki.issue({ name: 'server', dns: ['localhost'], ip: ['127.0.0.1'], usage: 'server' });
const client = pki.issue({ name: 'client', subject: '/CN=client/O=zabkit', usage: 'client' });
const stranger = pki.createCa('stranger');
const impostor = pki.issue({ name: 'impostor', usage: 'client', issuer: stranger });
const expired = pki.issue({ name: 'expired', usage: 'server', ip: ['127.0.0.1'], expired: true });

const trustCa: TcpTlsOptions = { ca: pki.ca.certPem };
const withCert = (cert: typeof client): TcpTlsOptions => ({
  ...trustCa,
  cert: cert.certPem,
  key: cert.keyPem,
});

function config(lines: string[]) {
  return parseConfig(
    [
      'tickTime=200',
      'dataDir=/tmp/zabkit-tls-test',
      '4lw.commands.whitelist=*',
      // The addresses of the ports asked for; ZooKeeper refuses an address without its port.
      ...(lines.some((line) => line.startsWith('clientPort=')) ? ['clientPortAddress=127.0.0.1'] : []),
      ...(lines.some((line) => line.startsWith('secureClientPort='))
        ? ['secureClientPortAddress=127.0.0.1']
        : []),
      ...lines,
      '',
    ].join('\n'),
  );
}

async function start(lines: string[]): Promise<ServerNode> {
  return ServerNode.start({ config: config(lines).config });
}

function pemStores(extra: string[] = []): string[] {
  return [
    `ssl.keyStore.location=${server.keyStore('PEM')}`,
    `ssl.trustStore.location=${pki.ca.trustStore('PEM')}`,
    ...extra,
  ];
}

/** Connects, writes and reads back; rejects when no session comes. */
async function roundTrip(
  port: number,
  tls: TcpTlsOptions | undefined,
  path: string,
  connectTimeoutMs = 10_000,
): Promise<string> {
  const zk = await connectTcp(`127.0.0.1:${port}`, {
    sessionTimeoutMs: 10_000,
    connectTimeoutMs,
    ...(tls === undefined ? {} : { tls }),
  });
  try {
    await zk.create(path, 'over tls');
    return new TextDecoder().decode((await zk.getData(path)).data);
  } finally {
    await zk.close();
  }
}

/** A connection that must get no session: given 2 s, it keeps failing over and gives up. */
const refuses = async (port: number, tls: TcpTlsOptions | undefined, path: string) => {
  await expect(roundTrip(port, tls, path, 2000)).rejects.toThrow(/no session/);
};

/** A four-letter word over TLS, as `openssl s_client` would send it. */
function secureWord(port: number, word: string, tls: TcpTlsOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ...tls }, () => socket.write(word));
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
  });
}

describe('secureClientPort with ssl.clientAuth=need (the default)', () => {
  let node: ServerNode;
  let securePort: number;

  it('serves a client that shows a trusted certificate', async () => {
    node = await start(['clientPort=0', 'secureClientPort=0', ...pemStores()]);
    securePort = node.secureAddress()!.port;
    expect(await roundTrip(securePort, withCert(client), '/need')).toBe('over tls');
  });

  it('refuses one without a certificate, one from another CA, and a plain one; the plain port still serves', async () => {
    const failures = node.secureClientPort!.stats.tlsHandshakeFailures;
    await refuses(securePort, trustCa, '/no-cert');
    await refuses(securePort, withCert(impostor), '/impostor');
    await refuses(securePort, undefined, '/plain');
    expect(node.secureClientPort!.stats.tlsHandshakeFailures).toBeGreaterThan(failures);
    // Each refused client is one of ZooKeeper's auth failures; those whose handshake itself
    // failed are its unsuccessful handshakes too.
    const stats = node.secureClientPort!.stats;
    // Past the 50 ms in which the gauges' last reading is reused.
    await new Promise((resolve) => setTimeout(resolve, 120));
    const figures = new Map(node.metrics.dump());
    expect(figures.get('auth_failed_count')).toBe(stats.tlsHandshakeFailures);
    expect(figures.get('unsuccessful_handshake')).toBe(
      stats.tlsHandshakeFailures - stats.tlsCertificatesRefused,
    );
    expect(await roundTrip(node.address().port, undefined, '/plain-port')).toBe('over tls');
  });

  it('refuses a client that does not trust the server (no CA given, or another)', async () => {
    await refuses(securePort, { cert: client.certPem, key: client.keyPem }, '/x');
    await refuses(securePort, { ...withCert(client), ca: stranger.certPem }, '/y');
  });

  it('answers four-letter words inside TLS, and counts both listeners', async () => {
    expect(await secureWord(securePort, 'srvr', withCert(client))).toMatch(/^Zookeeper version: /);
    const stat = await fourLetterWord(node.address().port, 'cons');
    expect(stat).toMatch(/127\.0\.0\.1/);
    await node.close();
  });
});

describe('ssl.clientAuth=want and none, PKCS#12 stores', () => {
  it('want: a certificate is optional, but one that is shown must be trusted', async () => {
    const node = await start([
      'secureClientPort=0',
      `ssl.keyStore.location=${server.keyStore('PKCS12')}`,
      `ssl.keyStore.password=${pki.password}`,
      `ssl.trustStore.location=${keytoolInstalled ? pki.ca.trustStore('PKCS12') : pki.ca.trustStore('PKCS12', 'openssl')}`,
      `ssl.trustStore.password=${pki.password}`,
      'ssl.clientAuth=want',
    ]);
    try {
      // Only the secure port: it is also the node's address.
      expect(node.secureClientPort).toBe(node.clientPort);
      const port = node.secureAddress()!.port;
      expect(await roundTrip(port, trustCa, '/want-anonymous')).toBe('over tls');
      expect(await roundTrip(port, withCert(client), '/want-client')).toBe('over tls');
      await refuses(port, withCert(impostor), '/want-impostor');
    } finally {
      await node.close();
    }
  });

  it('none: no trust store needed, no certificate asked for', async () => {
    const node = await start([
      'secureClientPort=0',
      `ssl.keyStore.location=${server.keyStore('PKCS12')}`,
      `ssl.keyStore.password=${pki.password}`,
      'ssl.clientAuth=none',
    ]);
    try {
      expect(await roundTrip(node.secureAddress()!.port, trustCa, '/none')).toBe('over tls');
    } finally {
      await node.close();
    }
  });
});

describe('client.portUnification', () => {
  it('takes plain and TLS clients, and four-letter words in both, on one port', async () => {
    const node = await start(['clientPort=0', 'client.portUnification=true', ...pemStores()]);
    try {
      const port = node.address().port;
      expect(node.secureClientPort).toBeUndefined();
      expect(await roundTrip(port, undefined, '/unified-plain')).toBe('over tls');
      expect(await roundTrip(port, withCert(client), '/unified-tls')).toBe('over tls');
      await refuses(port, trustCa, '/unified-no-cert');
      expect(await fourLetterWord(port, 'ruok')).toBe('imok');
      expect(await secureWord(port, 'ruok', withCert(client))).toBe('imok');
    } finally {
      await node.close();
    }
  });
});

describe('protocols and cipher suites', () => {
  it('offers only what ssl.enabledProtocols and ssl.ciphersuites list', async () => {
    const node = await start([
      'secureClientPort=0',
      ...pemStores(['ssl.clientAuth=none', 'ssl.enabledProtocols=TLSv1.3']),
    ]);
    try {
      const port = node.secureAddress()!.port;
      await refuses(port, { ...trustCa, maxVersion: 'TLSv1.2' }, '/tls12');
      expect(await roundTrip(port, { ...trustCa, minVersion: 'TLSv1.3' }, '/tls13')).toBe('over tls');
    } finally {
      await node.close();
    }
    const suites = await start([
      'secureClientPort=0',
      ...pemStores([
        'ssl.clientAuth=none',
        'ssl.enabledProtocols=TLSv1.2',
        'ssl.ciphersuites=TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
      ]),
    ]);
    try {
      const port = suites.secureAddress()!.port;
      await refuses(port, { ...trustCa, ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }, '/weak');
      expect(await roundTrip(port, { ...trustCa, ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' }, '/strong')).toBe(
        'over tls',
      );
    } finally {
      await suites.close();
    }
  });
});

describe('keys that cannot be honoured stop the server, naming the key', () => {
  const keyOf = async (lines: string[]) => {
    try {
      const node = await start(lines);
      await node.close();
      return undefined;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return error.key;
    }
  };

  it.each([
    [['secureClientPort=0'], 'ssl.keyStore.location'],
    [['secureClientPort=0', `ssl.keyStore.location=${server.keyStore('PEM')}`], 'ssl.trustStore.location'],
    [['secureClientPort=0', ...pemStores(['ssl.crl=true'])], 'ssl.crl'],
    [['secureClientPort=0', ...pemStores(['ssl.ocsp=true'])], 'ssl.ocsp'],
    [
      ['secureClientPort=0', ...pemStores(['ssl.clientHostnameVerification=true'])],
      'ssl.clientHostnameVerification',
    ],
    [['secureClientPort=0', ...pemStores(['ssl.authProvider=com.example.Mine'])], 'ssl.authProvider'],
    [['secureClientPort=0', ...pemStores(['ssl.context.supplier.class=x.Y'])], 'ssl.context.supplier.class'],
    [['secureClientPort=0', ...pemStores(['ssl.keyStore.passwrd=x'])], 'ssl.keyStore.passwrd'],
    [['secureClientPort=0', ...pemStores(['ssl.clientAuth=maybe'])], 'ssl.clientAuth'],
    [['secureClientPort=0', ...pemStores(['ssl.enabledProtocols=TLSv1.1'])], 'ssl.enabledProtocols'],
    [['secureClientPort=0', ...pemStores(['ssl.ciphersuites=TLS_RSA_WITH_RC4_128_MD5'])], 'ssl.ciphersuites'],
    [['clientPort=0', 'secureClientPortAddress=127.0.0.1'], 'secureClientPortAddress'],
  ])('%j -> %s', async (lines, key) => {
    expect(await keyOf(lines as string[])).toBe(key);
  });

  it('names the store key for an expired certificate, a wrong password and a JKS store', async () => {
    expect(
      await keyOf([
        'secureClientPort=0',
        `ssl.keyStore.location=${expired.keyStore('PEM')}`,
        'ssl.clientAuth=none',
      ]),
    ).toBe('ssl.keyStore.location');
    expect(
      await keyOf([
        'secureClientPort=0',
        `ssl.keyStore.location=${server.keyStore('PKCS12')}`,
        'ssl.keyStore.password=wrong',
        'ssl.clientAuth=none',
      ]),
    ).toBe('ssl.keyStore.password');
    if (keytoolInstalled) {
      let message = '';
      try {
        parseConfig(
          [
            'dataDir=/tmp/x',
            'secureClientPort=0',
            `ssl.keyStore.location=${server.keyStore('JKS')}`,
            '',
          ].join('\n'),
        );
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/ssl\.keyStore\.type.*keytool -importkeystore/);
    }
  });

  it('warns of ssl.* keys that have no effect without a TLS listener', () => {
    const { warnings } = config(['clientPort=0', `ssl.keyStore.location=${server.keyStore('PEM')}`]);
    expect(warnings.some((warning) => /ssl\.keyStore\.location.*no effect/.test(warning))).toBe(true);
  });
});

describe("the shell's -client-configuration, as zkCli's", () => {
  it('connects over TLS with zookeeper.client.secure and zookeeper.ssl.* keys, PKCS#12 and PEM', async () => {
    const node = await start(['secureClientPort=0', ...pemStores()]);
    const port = node.secureAddress()!.port;
    const file = join(pki.dir, 'shell-client.properties');
    const run = async (lines: string[], ...command: string[]) => {
      writeFileSync(file, [...lines, ''].join('\n'));
      return runScript([
        '-server',
        `127.0.0.1:${port}`,
        '-timeout',
        '5000',
        '-client-configuration',
        file,
        ...command,
      ]);
    };
    try {
      const secure = [
        'zookeeper.client.secure=true',
        'zookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty',
        `zookeeper.ssl.keyStore.location=${client.keyStore('PKCS12')}`,
        `zookeeper.ssl.keyStore.password=${pki.password}`,
        `zookeeper.ssl.trustStore.location=${pki.ca.trustStore('PEM')}`,
      ];
      const created = await run(secure, 'create', '/shell-tls', 'hello');
      expect(created.code).toBe(0);
      expect(created.err + created.out).toMatch(/Created \/shell-tls/);
      expect((await run(secure, 'get', '/shell-tls')).out).toMatch(/^hello$/m);
      // Without its certificate the server refuses it; without TLS too.
      expect((await run(secure.slice(0, 2).concat(secure.slice(4)), 'ls', '/')).code).toBe(1);
      expect((await run(['zookeeper.client.secure=false'], 'ls', '/')).code).toBe(1);
      // A client TLS key the shell cannot honour stops it, naming the key.
      const refused = await run([...secure, 'zookeeper.ssl.crl=true'], 'ls', '/');
      expect(refused.code).toBe(2);
      expect(refused.err).toMatch(/zookeeper\.ssl\.crl/);
      // So does a SASL key for Kerberos, or a section without a JAAS file to find it in.
      for (const key of ['zookeeper.sasl.clientconfig=Client', 'zookeeper.server.principal=zookeeper/h@R']) {
        const sasl = await run([...secure, key], 'ls', '/');
        expect(sasl.code).toBe(2);
        expect(sasl.err).toContain(key.split('=')[0]!);
      }
      expect((await run([...secure, 'zookeeper.sasl.client=false'], 'ls', '/')).code).toBe(0);
    } finally {
      await node.close();
    }
  }, 60_000);
});

describe('a TLS handshake that never ends', () => {
  it('is closed after nio.sessionlessCnxnTimeout, on a secure port and on a unified one', async () => {
    const node = await start([
      'clientPort=0',
      'client.portUnification=true',
      'secureClientPort=0',
      'nio.sessionlessCnxnTimeout=1000',
      ...pemStores(),
    ]);
    try {
      const stall = (port: number, bytes: Buffer) =>
        new Promise<number>((resolve) => {
          const socket = netConnect({ host: '127.0.0.1', port }, () => socket.write(bytes));
          const opened = Date.now();
          socket.on('error', () => undefined);
          socket.on('close', () => resolve(Date.now() - opened));
        });
      // Half a ClientHello: a record header that promises more than comes.
      const partialHello = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]);
      const lifetimes = await Promise.all([
        stall(node.secureAddress()!.port, partialHello),
        stall(node.secureAddress()!.port, Buffer.alloc(0)),
        stall(node.address().port, partialHello),
      ]);
      for (const lived of lifetimes) {
        expect(lived).toBeGreaterThanOrEqual(900);
        expect(lived).toBeLessThan(10_000);
      }
      expect(
        node.clientPort.stats.connectionsSessionless + node.secureClientPort!.stats.connectionsSessionless,
      ).toBe(3);
    } finally {
      await node.close();
    }
  });
});

describe('netty.server.outstandingHandshake.limit', () => {
  it('closes a connection whose handshake would pass the limit, and counts it', async () => {
    const node = await start([
      'secureClientPort=0',
      'netty.server.outstandingHandshake.limit=2',
      'nio.sessionlessCnxnTimeout=20000',
      ...pemStores(),
    ]);
    const sockets: ReturnType<typeof netConnect>[] = [];
    try {
      const port = node.secureAddress()!.port;
      const secure = node.secureClientPort!;
      // Connections that open and never say hello: their handshakes stay under way.
      const open = () =>
        new Promise<{ closed: Promise<void> }>((resolve) => {
          const socket = netConnect({ host: '127.0.0.1', port }, () => resolve({ closed }));
          const closed = new Promise<void>((done) => socket.on('close', () => done()));
          socket.on('error', () => undefined);
          sockets.push(socket);
        });
      await open();
      await open();
      const waitFor = async (condition: () => boolean) => {
        for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 20));
        expect(condition()).toBe(true);
      };
      await waitFor(() => secure.tlsHandshakesInProgress() === 2);
      const third = await open();
      // Closed at once, long before the sessionless timeout.
      await third.closed;
      expect(secure.stats.tlsHandshakesRefused).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 120));
      const figures = new Map(node.metrics.dump());
      expect(figures.get('tls_handshake_exceeded')).toBe(1);
      expect(figures.get('outstanding_tls_handshake')).toBe(2);
      // Refused before its handshake began: not a failed handshake.
      expect(figures.get('unsuccessful_handshake')).toBe(0);
      for (const socket of sockets) socket.destroy();
      await waitFor(() => secure.tlsHandshakesInProgress() === 0);
      // Room again: a client is served.
      expect(await roundTrip(port, withCert(client), '/after')).toBe('over tls');
      expect(() =>
        config(['secureClientPort=0', 'netty.server.outstandingHandshake.limit=x', ...pemStores()]),
      ).toThrow(/netty\.server\.outstandingHandshake\.limit/);
      expect(
        config(['netty.server.outstandingHandshake.limit=-1']).config.clientPortSettings.limits
          .tlsHandshakesMax,
      ).toBe(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await node.close();
    }
  });
});

describe('netty.server.earlyDropSecureConnectionHandshakes', () => {
  it('closes a secure connection before its handshake while the server does not serve, and counts it', async () => {
    // One member of three, alone: it looks for a leader and serves nobody.
    const ports = await Promise.all([1, 2, 3, 4, 5, 6].map(() => freePort()));
    const lines = [
      'secureClientPort=0',
      'initLimit=10',
      'syncLimit=5',
      ...[1, 2, 3].map((id) => `server.${id}=127.0.0.1:${ports[2 * id - 2]}:${ports[2 * id - 1]}`),
      'netty.server.earlyDropSecureConnectionHandshakes=true',
      ...pemStores(),
    ];
    const node = await ServerNode.start({
      config: parseConfig(
        [
          'tickTime=200',
          'dataDir=/tmp/zabkit-tls-test',
          'secureClientPortAddress=127.0.0.1',
          ...lines,
          '',
        ].join('\n'),
        { myid: 1 },
      ).config,
    });
    try {
      expect(node.driver.peer.status().serving).toBe(false);
      const port = node.secureAddress()!.port;
      // The client sees the connection end before any handshake.
      const outcome = await new Promise<string>((resolve) => {
        const socket = tlsConnect({ host: '127.0.0.1', port, ...withCert(client), servername: 'localhost' });
        socket.on('secureConnect', () => resolve('handshake'));
        socket.on('error', () => resolve('closed'));
        socket.on('close', () => resolve('closed'));
      });
      expect(outcome).toBe('closed');
      expect(node.secureClientPort!.stats.tlsDroppedNotServing).toBe(1);
      expect(new Map(node.metrics.dump()).get('cnxn_closed_without_zk_server_running')).toBe(1);
      // Not a failed handshake: none began.
      expect(node.secureClientPort!.stats.tlsHandshakeFailures).toBe(0);
    } finally {
      await node.close();
    }
  });
});
