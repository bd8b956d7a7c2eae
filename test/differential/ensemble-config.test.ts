/**
 * `/zookeeper/config` in an ensemble, through Apache ZooKeeper's Java client (getConfig),
 * kazoo (a plain read) and zkCli.sh's `config`, against an ensemble of three Apache
 * ZooKeeper 3.8 servers and one of three zabkit servers started from the same zoo.cfg
 * lines. ZooKeeper keeps the membership there as its quorum verifier writes it: one
 * `server.N=host:quorumPort:electionPort:role` line per member, then `version=` in hex.
 * The ports of the two ensembles differ, so each is replaced by its place in the zoo.cfg.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connectTcp } from '@zabkit/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProcessEnsemble, startProcessEnsemble } from '../support/process-ensemble.js';
import { type ClientKind, javaClientInstalled, kazooInstalled } from './drivers.js';
import { DifferentialPair, differences } from './harness.js';
import type { RunningServer, ServerKind } from './servers.js';
import { zookeeperInstalled } from './servers.js';

const clients: ClientKind[] = [
  ...(javaClientInstalled ? (['java'] as const) : []),
  ...(kazooInstalled ? (['kazoo'] as const) : []),
];
const zkCli = '/usr/share/zookeeper/bin/zkCli.sh';
const zabkitBin = fileURLToPath(new URL('../../packages/server/bin/zabkit.js', import.meta.url));
const installed = zookeeperInstalled && clients.length > 0;
if (!installed) console.warn('Apache ZooKeeper or its clients are not installed: skipping');

/** A member of an ensemble as the differential pair sees a server. */
function memberServer(kind: ServerKind, ensemble: ProcessEnsemble): RunningServer {
  const member = ensemble.members[0]!;
  return {
    kind,
    port: member.clientPort,
    connectString: `127.0.0.1:${member.clientPort}`,
    stderr: () => member.stderr(),
    stop: () => ensemble.stop(),
  };
}

/** Each port of `ensemble` replaced by its name (q1 = server 1's quorum port, e2, c3, ...). */
function portNames(ensemble: ProcessEnsemble, text: string): string {
  const names = new Map<string, string>();
  for (const member of ensemble.members) {
    names.set(String(member.quorumPort), `q${member.id}`);
    names.set(String(member.electionPort), `e${member.id}`);
    names.set(String(member.clientPort), `c${member.id}`);
  }
  return text.replace(/\b\d{4,5}\b/g, (port) => names.get(port) ?? port);
}

function run(program: string, args: readonly string[], script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      program,
      args,
      { timeout: 60_000, env: { ...process.env, ZOO_LOG4J_PROP: 'ERROR,CONSOLE' } },
      (error, stdout, stderr) => {
        if (error?.killed) reject(error);
        else resolve(`${stdout}\n${stderr}`);
      },
    );
    child.stdin!.end(script);
  });
}

describe.skipIf(!installed)('/zookeeper/config in an ensemble, zabkit against ZooKeeper', () => {
  let pair: DifferentialPair;
  const ensembles = {} as Record<ServerKind, ProcessEnsemble>;

  beforeAll(async () => {
    const [zookeeper, zabkit] = await Promise.all([
      startProcessEnsemble({ size: 3, tickTime: 500, kind: 'zookeeper' }),
      startProcessEnsemble({ size: 3, tickTime: 500 }),
    ]);
    ensembles.zookeeper = zookeeper;
    ensembles.zabkit = zabkit;
    await Promise.all([zookeeper.settled(60_000), zabkit.settled(60_000)]);
    pair = await DifferentialPair.around(
      { zookeeper: memberServer('zookeeper', zookeeper), zabkit: memberServer('zabkit', zabkit) },
      { clients },
    );
  }, 180_000);

  afterAll(async () => {
    await pair?.stop();
  });

  for (const client of clients) {
    it(`holds server.N lines and version=, readable by ${client === 'java' ? 'getConfig' : 'a read'} (${client})`, async () => {
      const transcripts = await pair.run(client, async (t) => {
        await t.connect('a', { timeoutMs: 6000 });
        const reads = [
          ...(client === 'java' ? [await t.do({ op: 'getConfig' })] : []),
          await t.do({ op: 'getData', path: '/zookeeper/config' }),
        ];
        for (const read of reads) {
          const data = (read.result as { data?: unknown } | undefined)?.data;
          t.note(
            'the config, ports named',
            typeof data === 'string'
              ? portNames(ensembles[t.server], Buffer.from(data, 'base64').toString())
              : data,
          );
        }
        await t.do({ op: 'getACL', path: '/zookeeper/config' });
        await t.do({ op: 'setData', path: '/zookeeper/config', data: 'x' });
      });
      expect(differences(transcripts)).toEqual([]);
      const text = transcripts.zookeeper.find((step) => step.command.op === 'note')!.answer.result;
      expect(text).toBe(
        'server.1=127.0.0.1:q1:e1:participant\nserver.2=127.0.0.1:q2:e2:participant\nserver.3=127.0.0.1:q3:e3:participant\nversion=0',
      );
    }, 60_000);
  }

  it.skipIf(!existsSync(zkCli))(
    'prints it from zkCli `config`, as zabkit shell does',
    async () => {
      const script = ['config', 'config -s', 'quit', ''].join('\n');
      const member = (kind: ServerKind) => `127.0.0.1:${ensembles[kind].members[0]!.clientPort}`;
      const [zookeeper, zabkit] = await Promise.all([
        run(zkCli, ['-timeout', '30000', '-server', member('zookeeper')], script),
        run(process.execPath, [zabkitBin, 'shell', '-timeout', '30000', '-server', member('zabkit')], script),
      ]);
      const answers = (kind: ServerKind, text: string) =>
        portNames(ensembles[kind], text)
          .split('\n')
          .filter((line) =>
            /^(server\.|version=|cZxid|mZxid|pZxid|dataVersion|dataLength|numChildren|aclVersion|cversion|ephemeralOwner)/.test(
              line,
            ),
          );
      expect(answers('zabkit', zabkit)).toEqual(answers('zookeeper', zookeeper));
      expect(answers('zookeeper', zookeeper)).toContain('server.2=127.0.0.1:q2:e2:participant');
    },
    90_000,
  );

  for (const client of clients) {
    it(`answers reconfig ReconfigDisabled without reconfigEnabled, as ZooKeeper's default (${client})`, async () => {
      const transcripts = await pair.run(client, async (t) => {
        await t.connect('a', { timeoutMs: 6000 });
        await t.do({ op: 'reconfig', leaving: '3' });
        await t.do({ op: 'reconfig', joining: 'server.4=127.0.0.1:2888:3888;2181', fromConfig: 0 });
      });
      expect(differences(transcripts)).toEqual([]);
      const answers = transcripts.zookeeper.filter((step) => step.command.op === 'reconfig');
      expect(answers.map((step) => step.answer.code)).toEqual([-123, -123]);
    }, 60_000);
  }

  it.skipIf(!existsSync(zkCli))(
    "words ReconfigDisabled in zkCli's `reconfig` as zabkit's shell does; zabkit's client reads the same config",
    async () => {
      const script = ['reconfig -remove 3', 'reconfig -members server.1=127.0.0.1:1:2', 'quit', ''].join(
        '\n',
      );
      const member = (kind: ServerKind) => `127.0.0.1:${ensembles[kind].members[0]!.clientPort}`;
      const [zookeeper, zabkit] = await Promise.all([
        run(zkCli, ['-timeout', '30000', '-server', member('zookeeper')], script),
        run(process.execPath, [zabkitBin, 'shell', '-timeout', '30000', '-server', member('zabkit')], script),
      ]);
      const refusals = (text: string) =>
        text.split('\n').filter((line) => line.startsWith('KeeperErrorCode'));
      expect(refusals(zookeeper)).toEqual([
        'KeeperErrorCode = Reconfig is disabled',
        'KeeperErrorCode = Reconfig is disabled',
      ]);
      expect(refusals(zabkit)).toEqual(refusals(zookeeper));
      const zk = await connectTcp(member('zabkit'), { sessionTimeoutMs: 10_000 });
      try {
        const reading = await zk.getConfig();
        const { data } = await zk.getData('/zookeeper/config');
        expect(reading.text).toBe(Buffer.from(data!).toString('utf8'));
        expect(reading.version).toBe(0n);
        expect(reading.text.split('\n').filter((line) => line.startsWith('server.'))).toHaveLength(3);
        await expect(zk.reconfig({ leaving: [3] })).rejects.toMatchObject({ codeName: 'ReconfigDisabled' });
      } finally {
        await zk.close();
      }
    },
    90_000,
  );
});
