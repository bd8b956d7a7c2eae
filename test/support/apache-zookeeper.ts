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
  /** The dataDir (snapshots and logs are in its version-2). */
  readonly dataDir: string;
  /** SIGKILLs the server and waits for it to exit; the data directory is removed unless it was given. */
  stop(): Promise<void>;
}

/** Where and how to start it; by default a fresh data directory and tickTime 200. */
export interface ApacheZooKeeperOptions {
  /** A data directory to start on (kept when the server stops), for restarting on the same data. */
  readonly dataDir?: string;
  /** Extra zoo.cfg lines (`snapCount=10`, `tickTime=2000`, ...); a key given here replaces the default. */
  readonly config?: readonly string[];
  /** Jars added to the class path (the servlet API, for the AdminServer's Jetty). */
  readonly classpath?: readonly string[];
}

/** A standalone ZooKeeper with TTL nodes enabled (zookeeper.extendedTypesEnabled) and every 4lw. */
export async function startApacheZooKeeper(options: ApacheZooKeeperOptions = {}): Promise<ApacheZooKeeper> {
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-apache-zk-'));
  const dataDir = options.dataDir ?? join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const cfg = join(dir, 'zoo.cfg');
  const extra = options.config ?? [];
  const overridden = new Set(extra.map((line) => line.split('=')[0]));
  const defaults = [
    'tickTime=200',
    `dataDir=${dataDir}`,
    `clientPort=${port}`,
    'clientPortAddress=127.0.0.1',
    'forceSync=no',
    'admin.enableServer=false',
    '4lw.commands.whitelist=*',
  ].filter((line) => !overridden.has(line.split('=')[0]));
  writeFileSync(cfg, [...defaults, ...extra, ''].join('\n'));
  const child: ChildProcess = spawn(
    'java',
    [
      '-cp',
      ['/etc/zookeeper/conf', jar, ...(options.classpath ?? [])].join(':'),
      `-Dzookeeper.log.dir=${dir}`,
      '-Dzookeeper.root.logger=WARN,CONSOLE',
      '-Dzookeeper.extendedTypesEnabled=true',
      'org.apache.zookeeper.server.quorum.QuorumPeerMain',
      cfg,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await until(async () => ((await fourLetterWord(port, 'ruok')) === 'imok' ? true : undefined), 60_000);
  return {
    port,
    connectString: `127.0.0.1:${port}`,
    dataDir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
