/**
 * The `zabkit` command's commands, loaded by its entry point (cli.ts). `zabkit server` with no
 * arguments starts the embedded default: a standalone server on 127.0.0.1:2181 keeping its
 * data under ./zabkit-data. With `--config zoo.cfg` it reads ZooKeeper's configuration format
 * instead.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { digestIdFromCredentials, type PeerStorage } from '@zabkit/core';
import { MemoryStorage } from '@zabkit/storage-memory';
import { ConfigError, loadConfigFile, parseConfig } from './config.js';
import type { PeerFatalError } from './fatal.js';
import { FaultInjection, faultInjectionDirVariable } from './fault-injection.js';
import { openLevelStore } from './level-store.js';
import { jsonLogger, type LogLevel } from './log.js';
import { ServerNode } from './node.js';

const usage = `usage: zabkit <command> [options]

commands:
  server [--config zoo.cfg] [--port N] [--log-level debug|info|warn|error]
         [--storage level|memory] [--group-commit on|off] [-D<property>=<value>...]
      Runs a zabkit server. Without --config: standalone on 127.0.0.1:2181 (or --port),
      data on LevelDB under ./zabkit-data, only the srvr four-letter word. --storage memory
      and --group-commit off exist for benchmarks. -D sets what ZooKeeper reads as Java
      system properties: -Djute.maxbuffer=N,
      -Dzookeeper.DigestAuthenticationProvider.superDigest=user:hash, -Dzookeeper.forceSync=no...
      Exits 1 if its storage fails (a full disk, EIO) or it breaks an invariant, after
      logging why, so that a supervisor restarts it.
  digest user:password
      Prints the digest of user:password for DigestAuthenticationProvider.superDigest or a
      digest ACL, as ZooKeeper's DigestAuthenticationProvider does.
  shell [-server host:port,...] [-timeout ms] [-r] [-client-configuration file] [command args...]
      A zkCli-style shell: one command from the arguments, commands from stdin, or a
      prompt with history and tab completion in a terminal. Exits non-zero on any error.
  snapshot <host:adminPort> [--out DIR] [--auth "digest user:password"]
      Takes a snapshot of a running server through its admin server and writes
      DIR/snapshot.<zxid> (ZooKeeper's format); zabkit storage restore puts it back.
  restore <host:adminPort> <snapshot file> [--auth "digest user:password"]
      Replaces a running server's state with the snapshot (on an ensemble member,
      every member's), through its admin server's restore command (ZooKeeper 3.9's).
  storage <inspect|dump-log|dump-snapshot|import-zookeeper|export-zookeeper|restore> ...
      Tools for zabkit's LevelDB store and for moving data from and to Apache ZooKeeper
      (zabkit storage help lists them).
`;

/** The embedded default, written as the zoo.cfg it is equivalent to. */
export function defaultConfigText(port: number): string {
  return [
    'tickTime=2000',
    `dataDir=${resolve('zabkit-data')}`,
    `clientPort=${port}`,
    'clientPortAddress=127.0.0.1',
    // No 4lw.commands.whitelist: srvr only, as ZooKeeper since 3.5.3. dump and cons list
    // session ids, which are half of what it takes to take over a session.
    // The admin server answers every command (as ZooKeeper's, the whitelist is not its), so
    // by default it listens on loopback only, as the client port does.
    'admin.serverAddress=127.0.0.1',
    '',
  ].join('\n');
}

/** The longest a leader stopped by a signal waits for its proposals to commit (the exit deadline is 5 s). */
const leaveTimeoutMaxMs = 4000;

/** What `zabkit server` exits with when its peer stopped for good (a failed disk, a broken invariant). */
const fatalExitCode = 1;

async function runServer(args: string[], startupWarnings: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      storage: { type: 'string', default: 'level' },
      'group-commit': { type: 'string', default: 'on' },
      define: { type: 'string', short: 'D', multiple: true },
    },
    strict: true,
  });
  const level = values['log-level'] as LogLevel;
  if (!['debug', 'info', 'warn', 'error'].includes(level)) {
    process.stderr.write(`zabkit: invalid --log-level: ${level}\n`);
    return 2;
  }
  const log = jsonLogger(level);
  for (const warning of startupWarnings) log.warn(warning);
  if (values.storage !== 'level' && values.storage !== 'memory') {
    process.stderr.write(`zabkit: invalid --storage: ${values.storage} (level or memory)\n`);
    return 2;
  }
  if (values['group-commit'] !== 'on' && values['group-commit'] !== 'off') {
    process.stderr.write(`zabkit: invalid --group-commit: ${values['group-commit']} (on or off)\n`);
    return 2;
  }
  const port = values.port === undefined ? 2181 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`zabkit: invalid --port: ${values.port}\n`);
    return 2;
  }
  const systemProperties = new Map<string, string>();
  for (const definition of values.define ?? []) {
    const equals = definition.indexOf('=');
    if (equals <= 0) {
      process.stderr.write(`zabkit: invalid -D${definition} (expected -D<property>=<value>)\n`);
      return 2;
    }
    systemProperties.set(definition.slice(0, equals), definition.slice(equals + 1));
  }
  let parsed: Awaited<ReturnType<typeof loadConfigFile>>;
  try {
    parsed =
      values.config === undefined
        ? parseConfig(defaultConfigText(port), { systemProperties })
        : await loadConfigFile(values.config, { systemProperties });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`zabkit: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  for (const warning of parsed.warnings) log.warn(warning);
  const config = parsed.config;
  const faults = FaultInjection.fromEnvironment();
  if (faults !== undefined)
    log.warn({ directory: faults.directory }, `${faultInjectionDirVariable} is set: faults are injected`);
  let node: ServerNode;
  try {
    let storage: PeerStorage | undefined;
    if (values.storage === 'level') {
      storage = await openLevelStore(config, log, { groupCommit: values['group-commit'] === 'on' });
    } else {
      log.warn('--storage memory: nothing survives a restart');
    }
    if (faults !== undefined) storage = faults.wrapStorage(storage ?? new MemoryStorage());
    node = await ServerNode.start({
      config,
      log,
      initialConfiguration:
        values.config === undefined ? defaultConfigText(port) : await readFile(values.config, 'utf8'),
      ...(values.config === undefined ? {} : { configFilePath: values.config }),
      ...(storage === undefined ? {} : { storage }),
      ...(faults === undefined ? {} : { clock: faults.wallClock }),
    });
  } catch (error) {
    process.stderr.write(`zabkit: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const address = node.address();
  process.stdout.write(`zabkit server listening on ${address.host}:${address.port}\n`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: Record<string, unknown>, code: number) => {
      if (stopping) {
        // A second signal: the user wants out now.
        process.exit(1);
      }
      stopping = true;
      log.info(why, 'shutting down');
      // Never hang on exit: whatever is still open after 5 s is abandoned.
      setTimeout(() => process.exit(code === 0 ? 1 : code), 5000).unref();
      // Stopped by a signal, a leader hands leadership over first (see PeerDriver.leave),
      // within the exit deadline; a peer that failed has nothing to hand over.
      const leaving =
        code === 0 && node.fatalError === undefined
          ? node.driver
              .leave(Math.min(leaveTimeoutMaxMs, 2 * config.syncLimit * config.tickTime))
              .then((departure) => log.info({ departure }, 'left the ensemble'))
          : Promise.resolve();
      leaving
        .then(() => node.close())
        .then(
          () => resolve(code),
          (error) => {
            log.error({ err: error }, 'error while shutting down');
            resolve(code === 0 ? 1 : code);
          },
        );
    };
    process.once('SIGINT', () => stop({ signal: 'SIGINT' }, 0));
    process.once('SIGTERM', () => stop({ signal: 'SIGTERM' }, 0));
    // Fail-stop: a peer whose storage failed (or that broke an invariant) never serves again in
    // this process. Exiting non-zero lets a supervisor restart it from what its disk kept.
    const failStop = (error: PeerFatalError) => {
      process.stderr.write(`zabkit: ${error.message}\n`);
      stop({ reason: error.reason, exitCode: fatalExitCode }, fatalExitCode);
    };
    node.onFatal(failStop);
    if (node.fatalError !== undefined) failStop(node.fatalError);
  });
}

/** `user:password->user:base64(sha1(user:password))`, the line ZooKeeper's digest tool prints. */
function printDigest(args: string[]): number {
  if (args.length !== 1 || !args[0]!.includes(':')) {
    process.stderr.write('usage: zabkit digest user:password\n');
    return 2;
  }
  process.stdout.write(`${args[0]}->${digestIdFromCredentials(args[0]!)}\n`);
  return 0;
}

async function main(argv: string[], startupWarnings: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'server':
      return runServer(rest, startupWarnings);
    // The other commands load when run: the shell and the tools bring the client and
    // ZooKeeper's formats (about 75 modules), which a server restarting would load for nothing.
    case 'shell':
      return (await import('./shell/index.js')).runShell(rest);
    case 'digest':
      return printDigest(rest);
    case 'storage':
      return (await import('./tools/index.js')).runStorage(rest);
    case 'snapshot':
      return (await import('./tools/backup.js')).runSnapshot(rest);
    case 'restore':
      return (await import('./tools/backup.js')).runRestoreOnline(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(usage);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`zabkit: unknown command ${command}\n${usage}`);
      return 2;
  }
}

/**
 * Runs the command `argv` names and exits with its code; `startupWarnings` are what the
 * launcher (cli.ts) found before the commands loaded, logged by the server.
 */
export function runCli(argv: string[], startupWarnings: readonly string[] = []): void {
  main(argv, startupWarnings).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(
        `zabkit: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
