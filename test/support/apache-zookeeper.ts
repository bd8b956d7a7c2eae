/**
 * Apache ZooKeeper 3.8 from Debian's package, started on loopback for tests that check
 * zabkit's client and recipes against the real thing. `zookeeperInstalled` says whether the
 * package is there; suites skip with a visible message when it is not (CI installs it).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fourLetterWord, freePort, until } from './process-ensemble.js';

const jar = '/usr/share/java/zookeeper.jar';
export const zookeeperInstalled = existsSync(jar) && existsSync('/usr/bin/java');

export interface ApacheZooKeeper {
  readonly port: number;
  readonly connectString: string;
  stop(): Promise<void>;
}

/** A standalone ZooKeeper with TTL nodes enabled (zookeeper.extendedTypesEnabled) and every 4lw. */
export async function startApacheZooKeeper(): Promise<ApacheZooKeeper> {
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-apache-zk-'));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const port = await freePort();
  const cfg = join(dir, 'zoo.cfg');
  writeFileSync(
    cfg,
    [
      'tickTime=200',
      `dataDir=${dataDir}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'forceSync=no',
      'admin.enableServer=false',
      '4lw.commands.whitelist=*',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(
    'java',
    [
      '-cp',
      `/etc/zookeeper/conf:${jar}`,
      `-Dzookeeper.log.dir=${dir}`,
      '-Dzookeeper.root.logger=WARN,CONSOLE',
      '-Dzookeeper.extendedTypesEnabled=true',
      'org.apache.zookeeper.server.quorum.QuorumPeerMain',
      cfg,
    ],
    { stdio: 'ignore' },
  );
  await until(async () => ((await fourLetterWord(port, 'ruok')) === 'imok' ? true : undefined), 60_000);
  return {
    port,
    connectString: `127.0.0.1:${port}`,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
