/**
 * The two servers a differential test compares: Apache ZooKeeper from Debian's package and a
 * `zabkit server` process, each started from the same zoo.cfg lines on loopback. Options
 * that ZooKeeper takes as Java system properties are given to both: to ZooKeeper as `-D`
 * flags, to zabkit as its `-D` flags (the same names).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fourLetterWord, freePort, until } from '../support/process-ensemble.js';

const zookeeperJar = '/usr/share/java/zookeeper.jar';
const zabkitBin = fileURLToPath(new URL('../../packages/server/bin/zabkit.js', import.meta.url));

/** Whether Apache ZooKeeper (and a JVM) are installed; suites skip with a message when not. */
export const zookeeperInstalled = existsSync(zookeeperJar) && existsSync('/usr/bin/java');

/** Which server a transcript came from. */
export type ServerKind = 'zookeeper' | 'zabkit';

/** How both servers of a comparison are configured. */
export interface ServerOptions {
  /** tickTime for both (default 2000, so session timeouts negotiate as a real deployment's). */
  readonly tickTimeMs?: number;
  /** More zoo.cfg lines, given to both servers. */
  readonly config?: readonly string[];
  /** Java system properties: `-Dname=value` for ZooKeeper and for zabkit. */
  readonly systemProperties?: Readonly<Record<string, string>>;
}

/** A running server of either kind. */
export interface RunningServer {
  readonly kind: ServerKind;
  readonly port: number;
  readonly connectString: string;
  /** What the server wrote to stderr so far (zabkit logs JSON lines there). */
  stderr(): string;
  stop(): Promise<void>;
}

function configText(dataDir: string, port: number, options: ServerOptions): string {
  return [
    `tickTime=${options.tickTimeMs ?? 2000}`,
    `dataDir=${dataDir}`,
    `clientPort=${port}`,
    'clientPortAddress=127.0.0.1',
    '4lw.commands.whitelist=*',
    ...(options.config ?? []),
    '',
  ].join('\n');
}

function flags(options: ServerOptions): string[] {
  return Object.entries(options.systemProperties ?? {}).map(([name, value]) => `-D${name}=${value}`);
}

async function launch(
  kind: ServerKind,
  options: ServerOptions,
  command: (cfg: string, dir: string) => [string, string[]],
): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), `zabkit-differential-${kind}-`));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const port = await freePort();
  const cfg = join(dir, 'zoo.cfg');
  writeFileSync(cfg, configText(dataDir, port, options));
  const [program, args] = command(cfg, dir);
  const child: ChildProcess = spawn(program, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    if (stderr.length < 1_000_000) stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await until(async () => {
      if (child.exitCode !== null) throw new Error(`${kind} exited with ${child.exitCode}: ${stderr}`);
      return (await fourLetterWord(port, 'ruok')) === 'imok' ? true : undefined;
    }, 60_000);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    kind,
    port,
    connectString: `127.0.0.1:${port}`,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Apache ZooKeeper 3.8 (Debian's), standalone, with no admin server and no fsync (tests only). */
export function startZooKeeper(options: ServerOptions = {}): Promise<RunningServer> {
  const withDefaults: ServerOptions = {
    ...options,
    config: ['admin.enableServer=false', 'forceSync=no', ...(options.config ?? [])],
  };
  return launch('zookeeper', withDefaults, (cfg, dir) => [
    'java',
    [
      // Light on a shared machine: one GC thread, the quick compiler only.
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-cp',
      `/etc/zookeeper/conf:${zookeeperJar}`,
      `-Dzookeeper.log.dir=${dir}`,
      '-Dzookeeper.root.logger=WARN,CONSOLE',
      ...flags(options),
      'org.apache.zookeeper.server.quorum.QuorumPeerMain',
      cfg,
    ],
  ]);
}

/** A `zabkit server` process (storage in memory: these tests compare answers, not durability). */
export function startZabkit(options: ServerOptions = {}): Promise<RunningServer> {
  return launch('zabkit', options, (cfg) => [
    process.execPath,
    [zabkitBin, 'server', '--config', cfg, '--storage', 'memory', '--log-level', 'warn', ...flags(options)],
  ]);
}

/** Both servers, started side by side from the same options. */
export async function startBoth(options: ServerOptions = {}): Promise<Record<ServerKind, RunningServer>> {
  const [zookeeper, zabkit] = await Promise.allSettled([startZooKeeper(options), startZabkit(options)]);
  if (zookeeper.status === 'rejected' || zabkit.status === 'rejected') {
    if (zookeeper.status === 'fulfilled') await zookeeper.value.stop();
    if (zabkit.status === 'fulfilled') await zabkit.value.stop();
    throw zookeeper.status === 'rejected' ? zookeeper.reason : (zabkit as PromiseRejectedResult).reason;
  }
  return { zookeeper: zookeeper.value, zabkit: zabkit.value };
}

/**
 * A TCP relay in front of a server, so a test can cut every client connection at once (the
 * clients then reconnect with their sessions, re-sending their watches) without touching
 * the server.
 */
export class ConnectionCutter {
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Relays 127.0.0.1:<new port> to `target`. */
  static async start(targetPort: number): Promise<ConnectionCutter> {
    let cutter: ConnectionCutter | undefined;
    const server = createServer((inbound) => {
      const outbound = connect({ host: '127.0.0.1', port: targetPort });
      for (const socket of [inbound, outbound]) {
        cutter!.sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          cutter!.sockets.delete(socket);
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    cutter = new ConnectionCutter(server, address.port);
    return cutter;
  }

  /** The connect string clients use to go through the relay. */
  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Drops every relayed connection. */
  cut(): void {
    for (const socket of [...this.sockets]) socket.destroy();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
