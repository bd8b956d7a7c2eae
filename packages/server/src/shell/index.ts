/**
 * `zabkit shell`: a zkCli-style shell for zabkit and Apache ZooKeeper.
 *
 * `zabkit shell [-server host:port,...] [-timeout ms] [-r] [-client-configuration file] [command args...]`. A command on
 * the command line runs once; otherwise commands come from stdin, one a line, when it is not
 * a terminal, and from a prompt with line editing, history and tab completion of commands
 * and znode paths when it is. Every command of a script runs, even after one fails; the
 * exit code is 1 when any failed (zkCli keeps only the last command's), 2 for a bad
 * invocation.
 *
 * @module
 */
import { ConfigError } from '../config-error.js';
import { type ClientConfiguration, loadClientConfiguration } from './client-configuration.js';
import { describeError } from './errors.js';
import { Shell, type ShellIo } from './repl.js';

export { type ClientConfiguration, loadClientConfiguration } from './client-configuration.js';
export { type Command, commands, helpText, type ShellContext, usageOf } from './commands.js';
export { type ChildLister, completeLine } from './complete.js';
export { describeError, ShellError } from './errors.js';
export { formatAcl, formatList, formatStat, javaDate, javaHex, parseAcl, permsToLetters } from './format.js';
export { Shell, type ShellIo, type ShellOptions } from './repl.js';
export { type FlagSpec, type ParsedWords, parseFlags, splitWords } from './words.js';

/** The invocation's usage line. */
export const shellUsage =
  'usage: zabkit shell [-server host:port,...] [-timeout ms] [-r] [-client-configuration file] [command args...]\n' +
  '  -server   the servers to connect to (default 127.0.0.1:2181)\n' +
  '  -timeout  the session timeout in ms (default 30000)\n' +
  '  -r        accept a read-only server\n' +
  '  -client-configuration  a properties file of ZooKeeper client keys, as zkCli takes:\n' +
  '            zookeeper.client.secure=true and zookeeper.ssl.* for TLS\n';

/**
 * Runs the shell with `argv` (the arguments after `shell`) on `io` (default: the process's
 * streams), and resolves with the exit code: 0 when every command succeeded, 1 when any
 * failed or the server could not be reached, 2 for bad arguments.
 */
export async function runShell(argv: readonly string[], io: ShellIo = process): Promise<number> {
  let server = '127.0.0.1:2181';
  let timeoutMs = 30_000;
  let readOnly = false;
  let clientConfiguration: string | undefined;
  const rest = [...argv];
  while (rest[0]?.startsWith('-') === true) {
    const flag = rest.shift()!;
    if (flag === '-h' || flag === '--help') {
      io.stdout.write(shellUsage);
      return 0;
    }
    if (flag === '-r') {
      readOnly = true;
      continue;
    }
    const value = rest.shift();
    if (flag === '-server' && value !== undefined && value !== '') server = value;
    else if (flag === '-client-configuration' && value !== undefined && value !== '')
      clientConfiguration = value;
    else if (flag === '-timeout' && value !== undefined && /^\d+$/.test(value) && Number(value) > 0)
      timeoutMs = Number(value);
    else {
      io.stderr.write(shellUsage);
      return 2;
    }
  }
  let loaded: ClientConfiguration | undefined;
  if (clientConfiguration !== undefined) {
    try {
      loaded = await loadClientConfiguration(clientConfiguration);
    } catch (error) {
      const why = error instanceof ConfigError ? error.message : describeError(error);
      io.stderr.write(`Unable to read the client configuration ${clientConfiguration}: ${why}\n`);
      return 2;
    }
    for (const warning of loaded.warnings) io.stderr.write(`${warning}\n`);
  }
  const interactive = rest.length === 0 && io.stdin.isTTY === true;
  const shell = new Shell(io, { server, timeoutMs, readOnly, tls: loaded?.tls, sasl: loaded?.sasl });
  // The client's timers are unref'd: without a ref'd one the process could end while the
  // shell still waits on the server (connecting, or a reply).
  const keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    return await runWith(shell, rest, interactive, server, io);
  } finally {
    clearInterval(keepAlive);
  }
}

async function runWith(
  shell: Shell,
  rest: readonly string[],
  interactive: boolean,
  server: string,
  io: ShellIo,
): Promise<number> {
  try {
    await shell.connect(server);
  } catch (error) {
    io.stderr.write(`Unable to connect to ${server}: ${describeError(error)}\n`);
    // A terminal still gets its prompt, from which `connect` can try again.
    if (!interactive) return 1;
  }
  try {
    if (rest.length > 0) await shell.runWords(rest);
    else if (interactive) await shell.interactive();
    else await shell.script();
  } finally {
    await shell.close();
  }
  return shell.failures > 0 ? 1 : 0;
}
