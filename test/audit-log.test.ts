/**
 * The audit log (audit.enable) side by side with Apache ZooKeeper 3.8's: the same client
 * does the same writes (successes and failures, a multi that commits and one that fails, a
 * setAcl, an ephemeral its session's close deletes) against each, and the audit lines must be
 * the same but for session ids. zabkit's go to zabkit.audit.file in the layout of
 * ZooKeeper's audit appender; ZooKeeper's are read from its console log.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectTcp, Ids, type ZabClient, ZabError } from '@zabkit/client';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonLogger, parseConfig, ServerNode } from '../packages/server/src/index.js';
import { zookeeperInstalled } from './support/apache-zookeeper.js';
import { fourLetterWord, freePort, until } from './support/process-ensemble.js';

const dir = mkdtempSync(join(tmpdir(), 'zabkit-audit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ignoreFailure = async (attempt: Promise<unknown>) => {
  try {
    await attempt;
  } catch (error) {
    if (!(error instanceof ZabError)) throw error;
  }
};

/**
 * The same writes against any server. `ttl`: a TTL create too, which ZooKeeper 3.9 audits and
 * Debian's 3.8.0 does not (its AuditHelper predates createTTL).
 */
async function writes(connectString: string, ttl = true): Promise<void> {
  const zk: ZabClient = await connectTcp(connectString, { sessionTimeoutMs: 10_000 });
  await zk.addAuth('digest', 'bob:secret');
  await zk.create('/audit', 'x');
  await ignoreFailure(zk.create('/audit', 'again'));
  await zk.create('/audit/seq-', '', { mode: 'ephemeralSequential' });
  if (ttl) await zk.create('/audit/ttl', '', { mode: 'persistentWithTtl', ttlMs: 60_000 });
  await zk.setData('/audit', 'y');
  await zk.setACL('/audit', [...Ids.readAclUnsafe, { perms: 31, id: { scheme: 'auth', id: '' } }]);
  await ignoreFailure(zk.delete('/audit/none'));
  await zk.getData('/audit'); // a read: not audited
  await zk.transaction().create('/audit/m1', 'm').setData('/audit/m1', 'n').check('/audit', -1).commit();
  await ignoreFailure(zk.transaction().create('/audit/m2', '').delete('/audit/nothing').commit());
  await zk.delete('/audit/m1');
  await zk.close(); // the ephemeral goes with the session
}

/** Audit lines with the session ids replaced, for comparing two servers' logs. */
function normalized(lines: readonly string[]): string[] {
  return lines.map((line) => line.replace(/session=0x[0-9a-f]+/g, 'session=S'));
}

describe('the audit log', () => {
  it('writes ZooKeeper’s layout to zabkit.audit.file, one line per write with its result', async () => {
    const file = join(dir, 'zookeeper_audit.log');
    const { config } = parseConfig(
      [
        'tickTime=200',
        `dataDir=${dir}`,
        'clientPort=0',
        'clientPortAddress=127.0.0.1',
        'audit.enable=true',
        `zabkit.audit.file=${file}`,
        '',
      ].join('\n'),
    );
    const node = await ServerNode.start({ config });
    await writes(`127.0.0.1:${node.address().port}`);
    await until(async () =>
      readFileSync(file, 'utf8').includes('ephemeralZNodeDeletionOnSessionCloseOrExpire') ? true : undefined,
    );
    await node.close();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    for (const line of lines)
      expect(line).toMatch(
        /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|ERROR) audit\.Slf4jAuditLogger: \S.*$/,
      );
    const messages = lines.map((line) => line.replace(/^.*? audit\.Slf4jAuditLogger: /, ''));
    const session = /session=(0x[0-9a-f]+)/.exec(messages[1]!)![1];
    // ZooKeeper lists a connection's identities in its hash set's order: here bob first.
    const who = `session=${session}\tuser=bob,127.0.0.1\tip=127.0.0.1`;
    expect(messages).toEqual([
      expect.stringMatching(/^user=\S+\toperation=serverStart\tresult=success$/),
      `${who}\toperation=create\tznode=/audit\tznode_type=persistent\tresult=success`,
      `${who}\toperation=create\tznode=/audit\tznode_type=persistent\tresult=failure`,
      `${who}\toperation=create\tznode=/audit/seq-0000000000\tznode_type=ephemeral_sequential\tresult=success`,
      `${who}\toperation=create\tznode=/audit/ttl\tznode_type=persistent_with_ttl\tresult=success`,
      `${who}\toperation=setData\tznode=/audit\tresult=success`,
      `${who}\toperation=setAcl\tznode=/audit\tacl=world:anyone:rauth::cdrwa\tresult=success`,
      `${who}\toperation=delete\tznode=/audit/none\tresult=failure`,
      `${who}\toperation=create\tznode=/audit/m1\tznode_type=persistent\tresult=success`,
      `${who}\toperation=setData\tznode=/audit/m1\tresult=success`,
      `${who}\toperation=multiOperation\tresult=failure`,
      `${who}\toperation=delete\tznode=/audit/m1\tresult=success`,
      expect.stringMatching(
        new RegExp(
          `^session=${session}\\tuser=\\S+\\toperation=ephemeralZNodeDeletionOnSessionCloseOrExpire\\tznode=/audit/seq-0000000000\\tresult=success$`,
        ),
      ),
      expect.stringMatching(/^user=\S+\toperation=serverStop\tresult=invoked$/),
    ]);
    // Failures at ERROR, the rest at INFO, as ZooKeeper's Slf4jAuditLogger.
    expect(lines.filter((line) => / ERROR /.test(line))).toHaveLength(3);
  });

  it('goes to the log stream without a file', async () => {
    const records: Record<string, unknown>[] = [];
    const { config } = parseConfig(
      [
        'tickTime=200',
        `dataDir=${dir}`,
        'clientPort=0',
        'clientPortAddress=127.0.0.1',
        'audit.enable=true',
        '',
      ].join('\n'),
    );
    const node = await ServerNode.start({
      config,
      log: jsonLogger('info', (line) => records.push(JSON.parse(line))),
    });
    const zk = await connectTcp(`127.0.0.1:${node.address().port}`);
    await zk.create('/streamed', '');
    await ignoreFailure(zk.create('/streamed', ''));
    await zk.close();
    await node.close();
    const audit = records.filter((record) => record.audit === true);
    expect(
      audit.map((record) => [record.level, String(record.msg).replace(/session=0x[0-9a-f]+\t/, '')]),
    ).toEqual([
      ['info', expect.stringMatching(/operation=serverStart\tresult=success$/)],
      [
        'info',
        'user=127.0.0.1\tip=127.0.0.1\toperation=create\tznode=/streamed\tznode_type=persistent\tresult=success',
      ],
      [
        'warn',
        'user=127.0.0.1\tip=127.0.0.1\toperation=create\tznode=/streamed\tznode_type=persistent\tresult=failure',
      ],
      ['info', expect.stringMatching(/operation=serverStop\tresult=invoked$/)],
    ]);
  });

  it.skipIf(!zookeeperInstalled)(
    'says what Apache ZooKeeper 3.8 says, line for line',
    async () => {
      // ZooKeeper, with its audit logger's lines on the console.
      const zkDir = join(dir, 'zookeeper');
      mkdirSync(join(zkDir, 'data'), { recursive: true });
      const port = await freePort();
      const cfg = join(zkDir, 'zoo.cfg');
      writeFileSync(
        cfg,
        [
          'tickTime=200',
          `dataDir=${join(zkDir, 'data')}`,
          `clientPort=${port}`,
          'clientPortAddress=127.0.0.1',
          'admin.enableServer=false',
          '4lw.commands.whitelist=ruok',
          'audit.enable=true',
          '',
        ].join('\n'),
      );
      let console = '';
      const child: ChildProcess = spawn(
        'java',
        [
          '-cp',
          // Debian's log4j binding, so that ZooKeeper's log (and its audit lines) reaches the console.
          '/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar',
          `-Dzookeeper.log.dir=${zkDir}`,
          '-Dzookeeper.root.logger=INFO,CONSOLE',
          '-Dzookeeper.extendedTypesEnabled=true',
          'org.apache.zookeeper.server.quorum.QuorumPeerMain',
          cfg,
        ],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      );
      child.stdout!.on('data', (chunk) => {
        console += chunk;
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const theirs = () =>
        console
          .split('\n')
          .filter((line) => line.includes('Slf4jAuditLogger'))
          .map((line) => line.replace(/^.*? - /, '').replace(/^.*?\] - /, ''));
      try {
        await until(async () => ((await fourLetterWord(port, 'ruok')) === 'imok' ? true : undefined), 60_000);
        await writes(`127.0.0.1:${port}`, false);
        await until(async () =>
          theirs().some((line) => line.includes('ephemeralZNodeDeletionOnSessionCloseOrExpire'))
            ? true
            : undefined,
        );
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
      // Ours, the same writes.
      const file = join(dir, 'side-by-side.log');
      const { config } = parseConfig(
        [
          'tickTime=200',
          `dataDir=${dir}`,
          'clientPort=0',
          'clientPortAddress=127.0.0.1',
          'audit.enable=true',
          `zabkit.audit.file=${file}`,
          '',
        ].join('\n'),
      );
      const node = await ServerNode.start({ config });
      await writes(`127.0.0.1:${node.address().port}`, false);
      await until(async () =>
        readFileSync(file, 'utf8').includes('ephemeralZNodeDeletionOnSessionCloseOrExpire')
          ? true
          : undefined,
      );
      await node.close();
      const ours = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((line) => line.replace(/^.*? audit\.Slf4jAuditLogger: /, ''))
        .filter((line) => !line.includes('operation=serverStop'));
      expect(normalized(ours)).toEqual(normalized(theirs()));
    },
    120_000,
  );
});
