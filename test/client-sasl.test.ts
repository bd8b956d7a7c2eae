/**
 * zabkit's own client logging in with SASL DIGEST-MD5 (`connectTcp(..., { sasl })`), against
 * Apache ZooKeeper 3.8 given a JAAS file (so the client's side of the exchange is checked by
 * Java's DIGEST-MD5 server) and against zabkit given the same file: the session is
 * `sasl:<user>`, a wrong password or an unknown user ends the client with AuthFailed, and a
 * server that cannot prove it knows the password (a wrong rspauth) is not trusted.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectTcp, Ids, Perms, ZabError } from '@zabkit/client';
import { encodeConnectResponse, FrameDecoder, JuteWriter } from '@zabkit/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, ServerNode } from '../packages/server/src/index.js';
import { runScript } from '../packages/server/test/shell-driver.js';
import { type RunningServer, startZooKeeper, zookeeperInstalled } from './differential/servers.js';
import { fourLetterWord } from './support/process-ensemble.js';

const dir = mkdtempSync(join(tmpdir(), 'zabkit-client-sasl-'));
const jaas = join(dir, 'jaas.conf');
writeFileSync(
  jaas,
  'Server { org.apache.zookeeper.server.auth.DigestLoginModule required user_bob="bobsecret" user_eve="é secret"; };\n',
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => 'connected',
    (error: unknown) => (error instanceof ZabError ? error.codeName : String(error)),
  );

function checks(target: () => string, server: 'zookeeper' | 'zabkit') {
  it('logs in: the session is sasl:<user>, and a sasl ACL lets it in', async () => {
    for (const [username, password] of [
      ['bob', 'bobsecret'],
      ['eve', 'é secret'],
    ] as const) {
      const zk = await connectTcp(target(), { sasl: { username, password }, sessionTimeoutMs: 10_000 });
      try {
        expect(await zk.whoAmI()).toContainEqual({ authScheme: 'sasl', user: username });
        const path = `/sasl-${username}`;
        await zk.create(path, 'x', { acl: Ids.creatorAllAcl });
        expect((await zk.getACL(path)).acl).toEqual([
          { perms: Perms.All, id: { scheme: 'sasl', id: username } },
        ]);
        await zk.delete(path);
      } finally {
        await zk.close();
      }
    }
  });

  it('ends the client with AuthFailed for a wrong password or an unknown user', async () => {
    const options = { sessionTimeoutMs: 10_000, connectTimeoutMs: 5000 };
    expect(
      await failure(connectTcp(target(), { ...options, sasl: { username: 'bob', password: 'x' } })),
    ).toBe('AuthFailed');
    expect(
      await failure(
        connectTcp(target(), { ...options, sasl: { username: 'mallory', password: 'whatever' } }),
      ),
    ).toBe('AuthFailed');
    // An unknown user with a password another user logged in with before: ZooKeeper 3.8.0's
    // server keeps the last known user name in a callback handler all connections share, so
    // it checks the stranger against that user's password, and lets them in as `sasl:`.
    // zabkit looks the user up for each exchange.
    const stale = await failure(
      connectTcp(target(), { ...options, sasl: { username: 'mallory', password: 'bobsecret' } }),
    );
    // (Seen with Debian's 3.8.0; not asserted for ZooKeeper, which may be fixed.)
    if (server === 'zabkit') expect(stale).toBe('AuthFailed');
  });
}

describe.skipIf(!zookeeperInstalled)('against Apache ZooKeeper 3.8 with a JAAS file', () => {
  let zookeeper: RunningServer;
  beforeAll(async () => {
    zookeeper = await startZooKeeper({
      config: ['authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider'],
      systemProperties: { 'java.security.auth.login.config': jaas },
    });
  }, 120_000);
  afterAll(async () => {
    await zookeeper?.stop();
  });
  checks(() => zookeeper.connectString, 'zookeeper');
});

describe('against zabkit with the same JAAS file', () => {
  let node: ServerNode;
  beforeAll(async () => {
    const { config } = parseConfig(
      ['tickTime=200', 'dataDir=/tmp/zabkit-client-sasl', 'clientPort=0', 'clientPortAddress=127.0.0.1']
        .concat([`zabkit.sasl.loginConfig=${jaas}`, '4lw.commands.whitelist=mntr', ''])
        .join('\n'),
    );
    node = await ServerNode.start({ config });
  });
  afterAll(async () => {
    await node?.close();
  });
  checks(() => `127.0.0.1:${node.address().port}`, 'zabkit');

  it('the shell logs in from the JAAS file its -client-configuration names, as zkCli does', async () => {
    const clientJaas = join(dir, 'client-jaas.conf');
    writeFileSync(
      clientJaas,
      [
        'Client { org.apache.zookeeper.server.auth.DigestLoginModule required username="bob" password="bobsecret"; };',
        'Wrong { org.apache.zookeeper.server.auth.DigestLoginModule required username="bob" password="nope"; };',
        'Kerberos { com.sun.security.auth.module.Krb5LoginModule required useTicketCache=true; };',
        '',
      ].join('\n'),
    );
    const properties = join(dir, 'shell.properties');
    const shell = async (lines: string[]) => {
      writeFileSync(properties, [...lines, ''].join('\n'));
      const target = `127.0.0.1:${node.address().port}`;
      return runScript([
        '-server',
        target,
        '-timeout',
        '5000',
        '-client-configuration',
        properties,
        'whoami',
      ]);
    };
    const login = `java.security.auth.login.config=${clientJaas}`;
    const ok = await shell([login]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^sasl: bob$/m);
    expect((await shell([login, 'zookeeper.sasl.client=false'])).out).not.toMatch(/sasl: bob/);
    const wrong = await shell([login, 'zookeeper.sasl.clientconfig=Wrong']);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/AuthFailed/);
    for (const section of ['Kerberos', 'Missing']) {
      const refused = await shell([login, `zookeeper.sasl.clientconfig=${section}`]);
      expect(refused.code).toBe(2);
      expect(refused.err).toMatch(/java\.security\.auth\.login\.config/);
    }
  }, 60_000);

  it('counts failed exchanges, and mntr reports them', async () => {
    expect(node.clientPort.stats.saslFailures).toBe(4);
    // ZooKeeper's auth_failed_count counts refused TLS clients alone, not SASL failures.
    expect(await fourLetterWord(node.address().port, 'mntr')).toMatch(/^zk_auth_failed_count\t0$/m);
  });
});

describe('a server that cannot prove it knows the password', () => {
  let fake: Server;
  let port: number;
  beforeAll(async () => {
    // Accepts any session, challenges like ZooKeeper, and answers any response with a made-up
    // rspauth: what an impostor without the password can do.
    fake = createServer((socket) => {
      const frames = new FrameDecoder(1 << 20);
      let handshaken = false;
      socket.on('error', () => undefined);
      socket.on('data', (chunk) => {
        for (const frame of frames.push(chunk)) {
          if (!handshaken) {
            handshaken = true;
            socket.write(
              encodeConnectResponse({
                timeoutMs: 10_000,
                sessionId: 7n,
                password: new Uint8Array(16),
                readOnly: false,
              }),
            );
            continue;
          }
          const xid = new DataView(frame.buffer, frame.byteOffset).getInt32(0);
          const token =
            xid === 1
              ? 'realm="zk-sasl-md5",nonce="abc",charset=utf-8,algorithm=md5-sess'
              : `rspauth=${'0'.repeat(32)}`;
          const writer = new JuteWriter();
          const at = writer.beginFrame();
          writer.int(xid).long(0n).int(0).buffer(Buffer.from(token));
          writer.endFrame(at);
          socket.write(writer.take(0));
        }
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    port = (fake.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => fake.close(resolve));
  });

  it('is refused: the client ends with AuthFailed instead of using it', async () => {
    expect(
      await failure(
        connectTcp(`127.0.0.1:${port}`, {
          sasl: { username: 'bob', password: 'bobsecret' },
          sessionTimeoutMs: 10_000,
        }),
      ),
    ).toBe('AuthFailed');
  });
});
