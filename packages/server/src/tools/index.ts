/**
 * `zabkit storage <command>`: tools for zabkit's LevelDB store and for moving data between
 * Apache ZooKeeper and zabkit. Each command is a module of its own; this one only dispatches
 * and turns bad input into a message and an exit code (0 done, 1 failed, 2 bad invocation).
 *
 * @module
 */
import { ZkFormatError } from '@zabkit/zk-format';
import { runRestore } from './backup.js';
import { checkUsage, runCheck, runRepair } from './check.js';
import { runDumpLog, runDumpSnapshot, runInspect } from './dump.js';
import { runExport, runImport } from './migration.js';
import { ToolError, UsageError } from './store.js';

/** The `zabkit storage` usage text. */
export const storageUsage = `usage: zabkit storage <command> [options]

commands:
  inspect <zabkitDataDir | zkDataDir> [--json]
      What a zabkit store holds (epochs, newest snapshot, log, the state a server starts
      from); for a ZooKeeper data directory, its files and what ZooKeeper would load.
  dump-log <zabkitDataDir | log.N> [--from ZXID] [--limit N] [--json]
      Every logged transaction (zkTxnLogToolkit's layout), from a store or a ZooKeeper log.
  dump-snapshot <zabkitDataDir | snapshot.N> [--state] [-d|--data] [--json]
      Every znode and session of the newest snapshot (zkSnapShotToolkit's layout); with
      --state, of the state the log after it makes.
  import-zookeeper <zkDataDir> <zabkitDataDir> [--log-dir DIR] [--force]
                   [--no-extended-types] [--jute-maxbuffer N] [--json]
      Loads a ZooKeeper data directory as ZooKeeper 3.8 would and writes that state into a
      zabkit store (<zabkitDataDir>/zabkit.db). Refuses a store that holds data, unless --force.
  export-zookeeper <zabkitDataDir> <zkDataDir> [--json]
      Writes the state a zabkit store starts from as a ZooKeeper snapshot in
      <zkDataDir>/version-2, which Apache ZooKeeper starts from.
  restore <snapshot.ZXID> <zabkitDataDir> [--force] [--json]
      Puts a snapshot (from \`zabkit snapshot\`, or a ZooKeeper snapshot file) into a
      stopped server's store; refuses a store that holds data, unless --force.
${checkUsage}`;

const commands: Record<string, (args: string[]) => Promise<number>> = {
  inspect: runInspect,
  'dump-log': runDumpLog,
  'dump-snapshot': runDumpSnapshot,
  'import-zookeeper': runImport,
  'export-zookeeper': runExport,
  restore: runRestore,
  check: runCheck,
  repair: runRepair,
};

/** Runs `zabkit storage <args>` and resolves with the exit code. */
export async function runStorage(args: readonly string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(storageUsage);
    return name === undefined ? 2 : 0;
  }
  // `zabkit storage dump-log ... | head` closes the pipe early: that is the reader's choice, not a failure.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const command = commands[name];
  if (command === undefined) {
    process.stderr.write(`zabkit storage: unknown command ${name}\n${storageUsage}`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (error) {
    if (error instanceof ZkFormatError) {
      process.stderr.write(`zabkit storage ${name}: ${error.message} [${error.code}]\n`);
      return 1;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`zabkit storage ${name}: ${error.message}\n`);
      return 2;
    }
    if (
      error instanceof ToolError ||
      (error instanceof Error &&
        (error.name === 'StorageCorruptError' || error.name === 'StorageFormatError'))
    ) {
      process.stderr.write(`zabkit storage ${name}: ${error.message}\n`);
      return 1;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (
      typeof code === 'string' &&
      ['ENOENT', 'EACCES', 'EISDIR', 'ENOTDIR', 'EEXIST', 'ENOSPC', 'EPERM'].includes(code)
    ) {
      process.stderr.write(`zabkit storage ${name}: ${(error as Error).message}\n`);
      return 1;
    }
    if (error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`zabkit storage ${name}: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
