/**
 * An ensemble of Apache ZooKeeper 3.8 processes (Debian's package) on loopback, with the
 * same shape as `startProcessEnsemble`, so that a fault test can run unchanged against the
 * real thing as a control. Peers can reach each other through proxies (`route`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zookeeperInstalled } from './apache-zookeeper.js';
import { fourLetterWord, freePort, type Member, type ProcessEnsemble, until } from './process-ensemble.js';

export { zookeeperInstalled };

const jar = '/usr/share/java/zookeeper.jar';

export async function startZooKeeperEnsemble(options: {
  size: number;
  tickTime?: number;
  route?: (from: number, to: number, port: number) => Promise<number>;
}): Promise<ProcessEnsemble> {
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-zk-ensemble-'));
  const ports = await Promise.all(Array.from({ length: options.size * 3 }, () => freePort()));
  const members: Member[] = [];
  for (let id = 1; id <= options.size; id++) {
    const dataDir = join(dir, `data${id}`);
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'myid'), `${id}\n`);
    const clientPort = ports[(id - 1) * 3 + 2]!;
    const lines: string[] = [];
    for (let peer = 1; peer <= options.size; peer++) {
      let [quorum, election] = [ports[(peer - 1) * 3]!, ports[(peer - 1) * 3 + 1]!];
      if (peer !== id && options.route !== undefined) {
        quorum = await options.route(id, peer, quorum);
        election = await options.route(id, peer, election);
      }
      lines.push(`server.${peer}=127.0.0.1:${quorum}:${election}`);
    }
    const cfg = join(dir, `zoo${id}.cfg`);
    writeFileSync(
      cfg,
      [
        `tickTime=${options.tickTime ?? 200}`,
        'initLimit=10',
        'syncLimit=5',
        `dataDir=${dataDir}`,
        `clientPort=${clientPort}`,
        'clientPortAddress=127.0.0.1',
        '4lw.commands.whitelist=*',
        'admin.enableServer=false',
        'forceSync=no',
        // Peers listen where they are named; the proxies are what others dial.
        'quorumListenOnAllIPs=false',
        ...lines,
        '',
      ].join('\n'),
    );
    let stderr = '';
    const member: Member = {
      id,
      clientPort,
      quorumHost: '127.0.0.1',
      quorumPort: ports[(id - 1) * 3]!,
      stderr: () => stderr,
      dataDir,
      process: undefined,
      start() {
        const child: ChildProcess = spawn(
          'java',
          [
            '-cp',
            `/etc/zookeeper/conf:${jar}`,
            `-Dzookeeper.log.dir=${dir}`,
            '-Dzookeeper.root.logger=WARN,CONSOLE',
            'org.apache.zookeeper.server.quorum.QuorumPeerMain',
            cfg,
          ],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        );
        child.stderr?.setEncoding('utf8');
        child.stderr?.on('data', (chunk: string) => {
          stderr = (stderr + chunk).slice(-1024 * 1024);
        });
        member.process = child;
      },
      async kill() {
        const child = member.process;
        if (child === undefined) return;
        member.process = undefined;
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGCONT');
        child.kill('SIGKILL');
        await exited;
      },
      async mode() {
        return /Mode: (\w+)/.exec(await fourLetterWord(clientPort, 'srvr'))?.[1];
      },
    };
    members.push(member);
  }
  for (const member of members) member.start();
  const ensemble: ProcessEnsemble = {
    members,
    connectString: members.map((member) => `127.0.0.1:${member.clientPort}`).join(','),
    leader: (timeoutMs = 60_000) =>
      until(async () => {
        for (const member of members) {
          if (member.process !== undefined && (await member.mode()) === 'leader') return member;
        }
        return undefined;
      }, timeoutMs),
    settled: async (timeoutMs = 60_000) => {
      await until(async () => {
        for (const member of members) {
          if (member.process === undefined) continue;
          const mode = await member.mode();
          if (mode !== 'leader' && mode !== 'follower') return undefined;
        }
        return true;
      }, timeoutMs);
    },
    async stop() {
      for (const member of members) await member.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await ensemble.leader(60_000);
  return ensemble;
}
