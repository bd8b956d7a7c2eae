/**
 * Quotas, against Apache ZooKeeper 3.8 and zabkit side by side, both with
 * -Dzookeeper.enforceQuota=true: Apache ZooKeeper's own zkCli.sh setquota, listquota and
 * delquota against both servers (and `zabkit shell` against zabkit), then the Java client
 * and kazoo writing under quotas: zookeeper_stats kept up to date, hard limits refused with
 * QuotaExceeded, soft limits only logged, and malformed quota nodes answered with
 * ZooKeeper's codes. The quota code is the same in 3.8 and 3.9.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type ClientKind, javaClientInstalled, kazooInstalled } from './drivers.js';
import { differences, pairForSuite } from './harness.js';
import { type ServerKind, zookeeperInstalled } from './servers.js';

const clients: ClientKind[] = [
  ...(javaClientInstalled ? (['java'] as const) : []),
  ...(kazooInstalled ? (['kazoo'] as const) : []),
];
const zkCli = '/usr/share/zookeeper/bin/zkCli.sh';
const zabkitBin = fileURLToPath(new URL('../../packages/server/bin/zabkit.js', import.meta.url));
const installed = zookeeperInstalled && clients.length > 0 && existsSync(zkCli);
if (!installed) console.warn('Apache ZooKeeper, zkCli.sh or the clients are not installed: skipping');

interface Output {
  readonly stdout: string;
  readonly stderr: string;
}

function run(program: string, args: readonly string[], script: string): Promise<Output> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      program,
      args,
      { timeout: 60_000, env: { ...process.env, ZOO_LOG4J_PROP: 'ERROR,CONSOLE' } },
      (error, stdout, stderr) => {
        if (error?.killed) reject(error);
        else resolve({ stdout, stderr });
      },
    );
    child.stdin!.end(script);
  });
}

/** What the shells print that is an answer: banners, logging and connection events go. */
function answers(text: string): string[] {
  const noise = [
    /^SLF4J:/,
    /^Connecting to /,
    /^Welcome to ZooKeeper!$/,
    /^JLine support is /,
    /^WATCHER::$/,
    /^WatchedEvent state:/,
    /^$/,
  ];
  return text.split('\n').filter((line) => !noise.some((pattern) => pattern.test(line)));
}

const encode = (text: string) => Buffer.from(text).toString('base64');

describe.skipIf(!installed)('quotas, zabkit against ZooKeeper, enforceQuota on', () => {
  const pair = pairForSuite({
    clients,
    systemProperties: { 'zookeeper.enforceQuota': 'true' },
  });

  /**
   * Runs `script(root)` through zkCli.sh against ZooKeeper and `zabkit shell` against zabkit
   * side by side, then through zkCli.sh against zabkit on a root of its own (named back in
   * its output, so the three compare).
   */
  const shells = async (script: (root: string) => string, attempt: number) => {
    const server = (kind: ServerKind) => pair().servers[kind].connectString;
    const root = `/sq${attempt}`;
    const own = `/zq${attempt}`;
    const [zookeeper, zabkit] = await Promise.all([
      run(zkCli, ['-timeout', '30000', '-server', server('zookeeper')], script(root)),
      run(
        process.execPath,
        [zabkitBin, 'shell', '-timeout', '30000', '-server', server('zabkit')],
        script(root),
      ),
    ]);
    const zkCliOnZabkit = await run(zkCli, ['-timeout', '30000', '-server', server('zabkit')], script(own));
    const named = (output: Output) => ({
      stdout: output.stdout.replaceAll(own, root).replaceAll(root, '/sq'),
      stderr: output.stderr.replaceAll(own, root).replaceAll(root, '/sq'),
    });
    return [named(zookeeper!), named(zabkit!), named(zkCliOnZabkit)] as const;
  };

  it('setquota, listquota and delquota print the same from zkCli.sh and zabkit shell, against either server', async () => {
    const script = (root: string) =>
      [
        'create /sq',
        'create /sq/a abc',
        'setquota -n 1 /sq',
        'listquota /sq',
        'setquota -N 3 /sq',
        'setquota -B 10 /sq',
        'listquota /sq',
        'get /zookeeper/quota/sq/zookeeper_stats',
        'create /sq/b',
        'create /sq/c',
        'set /sq/a 0123456789',
        'listquota /sq',
        'create /sq/b/deep',
        'setquota -n 5 /sq/b',
        'setquota -n 5 /',
        'setquota -n 0 /sq',
        'setquota -n x /sq',
        'setquota -n 5 /nowhere',
        'setquota -n 5 /zookeeper/quota/sq',
        'delquota -N /sq',
        'listquota /sq',
        'create /sq/c',
        'delquota /sq',
        'listquota /sq',
        'delquota /sq',
        'ls /zookeeper/quota/sq',
        'quit',
        '',
      ]
        .join('\n')
        .replaceAll('/sq', root);
    for (let attempt = 1; ; attempt++) {
      const [zookeeper, zabkit, zkCliOnZabkit] = await shells(script, attempt);
      // zkCli runs piped commands connected or not: on a loaded machine its first may fail.
      // Each attempt has roots of its own.
      if (/ConnectionLoss/.test(zookeeper.stderr + zkCliOnZabkit.stderr) && attempt < 3) continue;
      expect(answers(zabkit.stdout)).toEqual(answers(zookeeper.stdout));
      expect(answers(zabkit.stderr)).toEqual(answers(zookeeper.stderr));
      expect(answers(zkCliOnZabkit.stdout)).toEqual(answers(zookeeper.stdout));
      expect(answers(zkCliOnZabkit.stderr)).toEqual(answers(zookeeper.stderr));
      // What ZooKeeper itself printed: the limits and the stats, the refusals.
      expect(answers(zookeeper.stdout)).toEqual(
        expect.arrayContaining([
          'Output quota for /sq count=1,bytes=-1=;byteHardLimit=-1;countHardLimit=-1',
          'Output stat for /sq count=2,bytes=3',
          'count=2,bytes=3',
        ]),
      );
      expect(answers(zookeeper.stderr)).toEqual(expect.arrayContaining(['Quota has exceeded : /sq/c']));
      return;
    }
  }, 120_000);

  for (const client of clients) {
    it(`counts, refuses past hard limits and answers malformed quota nodes as ZooKeeper does (${client})`, async () => {
      const root = `/qc-${client}`;
      const quota = `/zookeeper/quota${root}`;
      const transcripts = await pair().run(client, async (t) => {
        await t.connect('a', { timeoutMs: 4000 });
        await t.do({ op: 'create', path: root, data: 'ab' });
        await t.do({ op: 'create', path: quota });
        await t.do({
          op: 'create',
          path: `${quota}/zookeeper_limits`,
          dataBase64: encode('count=-1,bytes=-1=;byteHardLimit=8;countHardLimit=3'),
        });
        await t.do({ op: 'create', path: `${quota}/zookeeper_stats`, data: 'whatever' });
        await t.do({ op: 'getData', path: `${quota}/zookeeper_stats` });
        await t.do({ op: 'create', path: `${root}/1`, data: 'cd' });
        await t.do({ op: 'create', path: `${root}/2` });
        await t.do({ op: 'create', path: `${root}/3` });
        await t.do({ op: 'setData', path: `${root}/1`, data: 'cdefghi' });
        await t.do({ op: 'setData', path: `${root}/1`, data: 'cdefg' });
        await t.do({ op: 'getData', path: `${quota}/zookeeper_stats` });
        await t.do({ op: 'delete', path: `${root}/2` });
        await t.do({ op: 'create', path: `${root}/2` });
        await t.do({ op: 'getData', path: `${quota}/zookeeper_stats` });
        // Limits that do not parse: ZooKeeper's parser throws, the write gets MarshallingError.
        for (const limits of ['count=1,bytes', 'countHardLimit=x', 'count=1,,;bytes=+2']) {
          await t.do({ op: 'setData', path: `${quota}/zookeeper_limits`, data: limits });
          await t.do({ op: 'create', path: `${root}/m` });
          // In a multi the whole request fails so (ZooKeeper's parser throws outside its
          // KeeperException handling), not just its op.
          await t.do({ op: 'multi', ops: [{ op: 'create', path: `${root}/mm` }] });
          await t.do({ op: 'delete', path: `${root}/m` });
        }
        await t.do({ op: 'setData', path: `${quota}/zookeeper_limits`, data: 'count=1,countHardLimit=99' });
        await t.do({ op: 'setData', path: `${quota}/zookeeper_stats`, data: 'count=zz' });
        await t.do({ op: 'create', path: `${root}/n` });
      });
      expect(differences(transcripts)).toEqual([]);
      const codes = transcripts.zookeeper.filter((step) => !step.answer.ok).map((step) => step.answer.code);
      expect(codes).toEqual([-125, -125, -5, -5, -101, -5, -5, -101, -5]);
    }, 60_000);
  }
});
