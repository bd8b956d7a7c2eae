/**
 * SASL DIGEST-MD5 on the client port, through Apache ZooKeeper's Java client logging in from a
 * JAAS file, against ZooKeeper 3.8 and zabkit side by side, both given the same JAAS file's
 * Server section (-Djava.security.auth.login.config) and zoo.cfg: users prove who they are,
 * `sasl:` ACLs and `auth` ACLs name them, whoAmI reports them, the SASL super user
 * (`superUser`) passes every check, a wrong password ends in AuthFailed, and a sasl id that
 * is no Kerberos name is an InvalidACL. Then enforce.auth: a session that has not
 * authenticated with a required scheme is refused (SessionClosedRequireSaslAuth).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { javaClientInstalled } from './drivers.js';
import { differences, pairForSuite } from './harness.js';
import { zookeeperInstalled } from './servers.js';

const installed = zookeeperInstalled && javaClientInstalled;
if (!installed) console.warn('Apache ZooKeeper or its Java client is not installed: skipping');

const dir = mkdtempSync(join(tmpdir(), 'zabkit-sasl-'));
const jaas = join(dir, 'jaas.conf');
const digestModule = 'org.apache.zookeeper.server.auth.DigestLoginModule';
writeFileSync(
  jaas,
  `Server {
  ${digestModule} required
    user_admin="adminsecret"
    user_bob="bobsecret"
    user_alice="alicesecret";
};
${[
  ['Client_bob', 'bob', 'bobsecret'],
  ['Client_alice', 'alice', 'alicesecret'],
  ['Client_admin', 'admin', 'adminsecret'],
  ['Client_wrong', 'bob', 'not-his'],
  ['Client_nobody', 'mallory', 'whatever'],
]
  .map(
    ([section, user, password]) =>
      `${section} { ${digestModule} required username="${user}" password="${password}"; };`,
  )
  .join('\n')}
`,
);
const login = { 'java.security.auth.login.config': jaas };
const saslProvider = 'authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider';
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!installed)('SASL DIGEST-MD5 from a JAAS file, zabkit against ZooKeeper', () => {
  const pair = pairForSuite({
    clients: ['java'],
    config: [saslProvider, 'superUser=admin'],
    systemProperties: login,
    clientSystemProperties: login,
  });

  it('proves users, names them in whoAmI and ACLs, lets the super user in, refuses the others', async () => {
    const transcripts = await pair().run('java', async (t) => {
      await t.connect('bob', { saslSection: 'Client_bob' });
      await t.connect('alice', { saslSection: 'Client_alice' });
      await t.connect('admin', { saslSection: 'Client_admin' });
      await t.connect('anon', { sasl: false });
      await t.do({ op: 'whoAmI', session: 'bob' });
      const bobOnly = [{ perms: 31, scheme: 'sasl', id: 'bob' }];
      await t.do({ op: 'create', session: 'bob', path: '/sasl', data: 'his', acl: bobOnly });
      await t.do({ op: 'create', session: 'bob', path: '/creator', data: 'his', acl: 'creator' });
      await t.do({ op: 'getACL', session: 'bob', path: '/creator' });
      await t.do({ op: 'getData', session: 'bob', path: '/sasl' });
      for (const session of ['alice', 'anon']) {
        await t.do({ op: 'getData', session, path: '/sasl' });
        await t.do({ op: 'setData', session, path: '/creator', data: 'mine' });
        await t.do({ op: 'create', session, path: '/creator/child', data: '' });
      }
      await t.do({ op: 'whoAmI', session: 'admin' });
      await t.do({ op: 'getData', session: 'admin', path: '/sasl' });
      await t.do({ op: 'setData', session: 'admin', path: '/creator', data: 'admin was here' });
      await t.do({ op: 'create', session: 'anon', path: '/anon', data: '', acl: 'creator' });
      await t.do({
        op: 'create',
        session: 'bob',
        path: '/realm',
        data: '',
        acl: [{ perms: 1, scheme: 'sasl', id: 'bob@EXAMPLE.COM' }],
      });
      await t.do({
        op: 'create',
        session: 'bob',
        path: '/bad',
        data: '',
        acl: [{ perms: 1, scheme: 'sasl', id: 'a@b@c' }],
      });
      for (const path of ['/realm', '/creator', '/sasl'])
        await t.do({ op: 'delete', session: 'admin', path });
      for (const session of ['bob', 'alice', 'admin', 'anon']) await t.events(session, 0);
    });
    expect(differences(transcripts), pair().serverLog('zabkit')).toEqual([]);
    const answers = transcripts.zookeeper.map((step) => step.answer);
    expect(answers[4]!.result).toEqual([
      { scheme: 'ip', user: '127.0.0.1' },
      { scheme: 'sasl', user: 'bob' },
    ]);
    expect((answers[7]!.result as { acl: unknown[] }).acl).toEqual([
      { perms: 31, scheme: 'sasl', id: 'bob' },
    ]);
    expect(answers[9]!.code).toBe(-102); // alice may not read bob's node
    expect(answers[12]!.code).toBe(-102); // nor may a session without SASL
    expect(answers[16]!.ok).toBe(true); // the SASL super user may
    expect(answers[18]!.code).toBe(-114); // auth without an authenticated identity
    expect(answers[20]!.code).toBe(-114); // not a Kerberos name
  });

  it.skipIf(!existsSync('/usr/share/zookeeper/bin/zkCli.sh'))(
    "zkCli.sh logs in from the JAAS file's Client section, on both servers",
    async () => {
      const clientJaas = join(dir, 'zkcli-jaas.conf');
      writeFileSync(
        clientJaas,
        `Client { ${digestModule} required username="bob" password="bobsecret"; };\n`,
      );
      const whoami = async (server: 'zookeeper' | 'zabkit') => {
        const { stdout } = await promisify(execFile)(
          '/usr/share/zookeeper/bin/zkCli.sh',
          ['-server', pair().servers[server].connectString, 'whoami'],
          {
            timeout: 90_000,
            env: {
              ...process.env,
              ZOO_LOG4J_PROP: 'ERROR,CONSOLE',
              CLIENT_JVMFLAGS: `-Djava.security.auth.login.config=${clientJaas}`,
            },
          },
        );
        // Sorted: ZooKeeper lists a connection's identities in hash order, zabkit in the order
        // they were added (the README says so).
        return stdout
          .split('\n')
          .filter((line) => /^(ip|sasl|digest|super): /.test(line))
          .sort();
      };
      const [zookeeper, zabkit] = [await whoami('zookeeper'), await whoami('zabkit')];
      expect(zabkit).toEqual(zookeeper);
      expect(zabkit).toContain('sasl: bob');
    },
    180_000,
  );

  it('ends a wrong password and an unknown user in AuthFailed', async () => {
    const transcripts = await pair().run('java', async (t) => {
      for (const session of ['wrong', 'nobody']) {
        await t.connect(session, { saslSection: `Client_${session}` });
        await t.do({ op: 'getData', session, path: '/' });
        await t.events(session, 2, { timeoutMs: 20_000 });
      }
    });
    expect(differences(transcripts), pair().serverLog('zabkit')).toEqual([]);
    const answers = transcripts.zookeeper.map((step) => step.answer);
    expect(answers[1]!.code).toBe(-115);
    expect(JSON.stringify(answers[2]!.result)).toMatch(/AuthFailed/);
  });
});

describe.skipIf(!installed)('enforce.auth, zabkit against ZooKeeper', () => {
  const pair = pairForSuite({
    clients: ['java'],
    config: [saslProvider, 'enforce.auth.enabled=true', 'enforce.auth.schemes=sasl,digest'],
    systemProperties: login,
    clientSystemProperties: login,
  });

  it('serves sessions that proved a required scheme and refuses one that did not', async () => {
    const transcripts = await pair().run('java', async (t) => {
      await t.connect('bob', { saslSection: 'Client_bob' });
      await t.do({ op: 'create', session: 'bob', path: '/enforced', data: 'x' });
      await t.connect('digest', { sasl: false });
      await t.do({ op: 'addAuth', session: 'digest', scheme: 'digest', auth: 'carol:pw' });
      await t.do({ op: 'getData', session: 'digest', path: '/enforced' });
      await t.connect('anon', { sasl: false });
      await t.do({ op: 'getData', session: 'anon', path: '/enforced' });
      await t.events('anon', 1, { timeoutMs: 20_000 });
      await t.do({ op: 'delete', session: 'bob', path: '/enforced' });
    });
    expect(differences(transcripts), pair().serverLog('zabkit')).toEqual([]);
    const answers = transcripts.zookeeper.map((step) => step.answer);
    expect(answers[1]!.ok).toBe(true);
    expect(answers[4]!.ok).toBe(true);
    expect(answers[6]!.code).toBe(-124);
  });
});
