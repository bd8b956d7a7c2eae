/**
 * Ensembles of separate `zabkit server` processes on loopback, for tests that kill, stop and
 * restart real processes: each member has its own zoo.cfg, myid and data directory. The
 * same ensemble of Apache ZooKeeper (Debian's 3.8) processes, from the same zoo.cfg lines,
 * for differential tests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

const bin = fileURLToPath(new URL('../../packages/server/bin/zabkit.js', import.meta.url));
const zookeeperJar = '/usr/share/java/zookeeper.jar';
/**
 * Debian's zookeeper.jar names slf4j's API alone, so ZooKeeper logs nothing: the log4j binding
 * (installed with it) makes it write dataDir/zookeeper.log, which `Member.log` reads.
 */
const zookeeperLogJars = ['/usr/share/java/slf4j-log4j12.jar', '/usr/share/java/log4j-1.2.jar'].filter(
  (jar) => existsSync(jar),
);

export { freePort };

/** Sends a four-letter word; '' when nobody answers. */
export function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    let text = '';
    socket.setTimeout(2000, () => socket.destroy());
    socket.on('connect', () => socket.write(word));
    socket.on('data', (chunk) => {
      text += chunk.toString();
    });
    socket.on('error', () => resolve(''));
    socket.on('close', () => resolve(text));
  });
}

export async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface Member {
  readonly id: number;
  readonly clientPort: number;
  /** Where its peers reach it (its server.N host and quorum port). */
  readonly quorumHost: string;
  readonly quorumPort: number;
  /** The election port of its server.N line (zabkit accepts it and does not use it). */
  readonly electionPort: number;
  /** What the process wrote on stderr (its JSON log lines), the last 1 MiB, across restarts. */
  stderr(): string;
  /** Its log's last `lines` lines: zabkit's stderr, ZooKeeper's dataDir/zookeeper.log. */
  log(lines?: number): string;
  /** Its dataDir (myid, and the LevelDB store under zabkit.db). */
  readonly dataDir: string;
  process: ChildProcess | undefined;
  /** Starts the process (again), keeping its data directory. */
  start(): void;
  /** SIGKILL: no shutdown, no flush. Resolves once the process is gone. */
  kill(): Promise<void>;
  /** Its role from srvr, or undefined when it does not answer. */
  mode(): Promise<string | undefined>;
  /** Its zoo.cfg (a server with reconfigEnabled rewrites it and writes its dynamic files beside it). */
  readonly configFile: string;
  /**
   * Its line for a reconfig: `server.N=host:quorumPort:electionPort:participant;127.0.0.1:clientPort`
   * (what `reconfig -add` and kazoo's `joining` take).
   */
  readonly serverLine: string;
}

export interface ProcessEnsemble {
  /** Every member, the standby ones (not started until a test starts them) last. */
  readonly members: readonly Member[];
  /** The first membership's client addresses. */
  readonly connectString: string;
  /** The member that reports itself leader, once there is one. */
  leader(timeoutMs?: number): Promise<Member>;
  /** Resolves once every running member serves as leader or follower. */
  settled(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A member's JSON log lines, parsed; a line that is not JSON (the first, cut where stderr's
 * last MiB begins; anything not from the logger) is passed over.
 */
export function logRecords(member: Pick<Member, 'stderr'>): Record<string, unknown>[] {
  return member
    .stderr()
    .split('\n')
    .flatMap((line) => {
      try {
        const record: unknown = JSON.parse(line);
        return typeof record === 'object' && record !== null ? [record as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
}

export async function startProcessEnsemble(options: {
  size: number;
  tickTime?: number;
  /** Transactions between snapshots. Default 200. */
  snapCount?: number;
  /** The host of each server.N line (its quorum address). Default 127.0.0.1 for all. */
  quorumHost?: (id: number) => string;
  /** More zoo.cfg lines for member `id` (security keys, say); `dir` is the ensemble's directory. */
  extraConfig?: (id: number, dir: string) => string[];
  /** The log level the processes run at. Default warn. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Which server runs: zabkit (the default) or Apache ZooKeeper, from the same zoo.cfg. */
  kind?: 'zabkit' | 'zookeeper';
  /** Java system properties: `-Dname=value` for either kind. */
  systemProperties?: Readonly<Record<string, string>>;
  /** More environment for member `id`'s process (ZABKIT_FAULT_INJECTION_DIR, say). */
  env?: (id: number) => Record<string, string>;
  /**
   * The port member `from` dials to reach `port` of member `to` (a proxy's, say). Default:
   * `port` itself. Each member's zoo.cfg then names its peers at these ports.
   */
  route?: (from: number, to: number, port: number) => Promise<number>;
  /**
   * Members made ready but neither started nor in the first membership, for a reconfig to add:
   * ids size+1 .. size+standby, each with a zoo.cfg listing the first members and itself, as
   * ZooKeeper's dynamic reconfiguration guide has a joining server start. Default 0.
   */
  standby?: number;
  /** Writes `reconfigEnabled=true` into every zoo.cfg. */
  reconfigEnabled?: boolean;
}): Promise<ProcessEnsemble> {
  const kind = options.kind ?? 'zabkit';
  const flags = Object.entries(options.systemProperties ?? {}).map(([name, value]) => `-D${name}=${value}`);
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-processes-'));
  const standby = options.standby ?? 0;
  const total = options.size + standby;
  const ports = await Promise.all(Array.from({ length: total * 3 }, () => freePort()));
  const quorumHost = options.quorumHost ?? (() => '127.0.0.1');
  const serverLinesOf = async (self: number): Promise<string[]> => {
    const lines: string[] = [];
    for (let i = 0; i < options.size; i++) {
      const id = i + 1;
      let [quorum, election] = [ports[i * 3]!, ports[i * 3 + 1]!];
      if (id !== self && options.route !== undefined) {
        quorum = await options.route(self, id, quorum);
        election = await options.route(self, id, election);
      }
      lines.push(`server.${id}=${quorumHost(id)}:${quorum}:${election}`);
    }
    return lines;
  };
  const joinLine = (id: number) =>
    `server.${id}=${quorumHost(id)}:${ports[(id - 1) * 3]}:${ports[(id - 1) * 3 + 1]}:participant;127.0.0.1:${ports[(id - 1) * 3 + 2]}`;
  const members: Member[] = [];
  for (let id = 1; id <= total; id++) {
    const dataDir = join(dir, `data${id}`);
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'myid'), `${id}\n`);
    const clientPort = ports[(id - 1) * 3 + 2]!;
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
        `snapCount=${options.snapCount ?? 200}`,
        // No admin server on either (zabkit, like ZooKeeper, opens one on 8080 from a zoo.cfg):
        // several servers of one host would collide on that port.
        'admin.enableServer=false',
        ...(kind === 'zookeeper' ? ['forceSync=no'] : []),
        ...(options.reconfigEnabled === true ? ['reconfigEnabled=true'] : []),
        ...(await serverLinesOf(id)),
        ...(id > options.size ? [joinLine(id)] : []),
        ...(options.extraConfig?.(id, dir) ?? []),
        '',
      ].join('\n'),
    );
    let stderr = '';
    const member: Member = {
      id,
      clientPort,
      quorumHost: quorumHost(id),
      quorumPort: ports[(id - 1) * 3]!,
      electionPort: ports[(id - 1) * 3 + 1]!,
      stderr: () => stderr,
      log(lines = 40) {
        let text = stderr;
        if (kind === 'zookeeper') {
          try {
            text = readFileSync(join(dataDir, 'zookeeper.log'), 'utf8');
          } catch {
            text = '';
          }
        }
        // Without the four-letter words the tests poll with, every few ms.
        return text
          .trimEnd()
          .split('\n')
          .filter((line) => !/Processing \w{4} command from/.test(line))
          .slice(-lines)
          .join('\n');
      },
      dataDir,
      process: undefined,
      start() {
        const [program, args] =
          kind === 'zookeeper'
            ? [
                'java',
                [
                  // Light on a shared machine: one GC thread, the quick compiler only.
                  '-Xmx128m',
                  '-XX:+UseSerialGC',
                  '-XX:TieredStopAtLevel=1',
                  '-cp',
                  ['/etc/zookeeper/conf', zookeeperJar, ...zookeeperLogJars].join(':'),
                  `-Dzookeeper.log.dir=${dataDir}`,
                  // Its log in dataDir/zookeeper.log (stdout is not kept), for `log()`.
                  '-Dzookeeper.root.logger=INFO,ROLLINGFILE',
                  // zabkit's election backoff: notifications resent after min(400, tickTime) ms,
                  // doubling up to 8 times that. ZooKeeper doubles from finalizeWait (200 ms) up
                  // to 60 s by default: after a partition a lone server could wait a minute.
                  `-Dzookeeper.fastleader.maxNotificationInterval=${8 * Math.min(400, options.tickTime ?? 200)}`,
                  ...flags,
                  'org.apache.zookeeper.server.quorum.QuorumPeerMain',
                  cfg,
                ],
              ]
            : [
                process.execPath,
                [bin, 'server', '--config', cfg, '--log-level', options.logLevel ?? 'warn', ...flags],
              ];
        const child = spawn(program, args, {
          stdio: ['ignore', 'ignore', 'pipe'],
          env: { ...process.env, ...options.env?.(id) },
        });
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
      configFile: cfg,
      serverLine: joinLine(id),
    };
    members.push(member);
  }
  for (const member of members.slice(0, options.size)) member.start();
  const ensemble: ProcessEnsemble = {
    members,
    connectString: members
      .slice(0, options.size)
      .map((member) => `127.0.0.1:${member.clientPort}`)
      .join(','),
    leader: (timeoutMs = 20_000) =>
      until(async () => {
        for (const member of members) {
          if (member.process !== undefined && (await member.mode()) === 'leader') return member;
        }
        return undefined;
      }, timeoutMs),
    settled: async (timeoutMs = 20_000) => {
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
