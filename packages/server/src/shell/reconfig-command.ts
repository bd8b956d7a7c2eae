/**
 * zkCli's `reconfig`, as ZooKeeper 3.8's ReconfigCommand parses and runs it: incremental
 * (`-add` servers, `-remove` ids) or whole (`-members` list, or `-file` with a membership in
 * the dynamic file's form), from an optional `-v` version (hex), printing
 * `Committed new configuration:` and the new configuration's text, and its Stat with `-s`.
 * The usage line, the checks, their order and their messages are zkCli's.
 */
import { readFile } from 'node:fs/promises';
import type { ZabClient } from '@zabkit/client';
import { ConfigError } from '../config-error.js';

import { formatServerLine, parseDynamicConfig } from '../dynamic-config.js';
import { describeError, ShellError } from './errors.js';
import { formatStat } from './format.js';
import { missingArgument, unrecognizedOption } from './words.js';

/** What the command needs of the shell. */
export interface ReconfigShell {
  client(): ZabClient;
  out(text: string): void;
}

/** zkCli's usage text for reconfig, word for word. */
export const reconfigOptions =
  '[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]';

const valueOptions = new Set(['v', 'file', 'members', 'add', 'remove']);

/** The options as commons-cli's DefaultParser reads them: `-s` alone, the others with a value. */
function parseOptions(args: readonly string[]): Map<string, string | true> {
  const options = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    if (!word.startsWith('-') || word === '-') continue; // positional: ReconfigCommand ignores it
    if (word === '--') break;
    const name = word.slice(1);
    if (name === 's') {
      options.set(name, true);
      continue;
    }
    if (!valueOptions.has(name)) throw new ShellError(unrecognizedOption(word));
    const value = args[i + 1];
    if (value === undefined) throw new ShellError(missingArgument(name));
    options.set(name, value);
    i++;
  }
  return options;
}

/** Java's FileNotFoundException text for the usual system errors. */
function fileErrorText(path: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const reason =
    code === 'ENOENT'
      ? 'No such file or directory'
      : code === 'EACCES'
        ? 'Permission denied'
        : code === 'EISDIR'
          ? 'Is a directory'
          : undefined;
  if (reason !== undefined) return `${path} (${reason})`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The membership a `-file` names, as zkCli sends it: the file read as a dynamic configuration
 * (server.N lines, a version line allowed), written back as QuorumMaj.toString writes it, one
 * `server.N=...` line each in id order and then `version=` (0 unless the file had one).
 */
async function membersOfFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ShellError(`Error processing ${path}${fileErrorText(path, error)}`);
  }
  try {
    const config = parseDynamicConfig(text, { versionLine: true, source: path });
    const lines = [...config.servers.values()].map(
      (server) => `server.${server.id}=${formatServerLine(server)}\n`,
    );
    return `${lines.join('')}version=${(config.version ?? 0n).toString(16)}`;
  } catch (error) {
    if (error instanceof ConfigError) throw new ShellError(`Error processing ${path}${error.message}`);
    throw error;
  }
}

/** Java's Long.parseLong(text, 16): a sign, hex digits, within a signed 64-bit long. */
function parseHexLong(text: string): bigint | undefined {
  const match = /^([+-]?)([0-9a-fA-F]+)$/.exec(text);
  if (match === null) return undefined;
  const value = BigInt(`0x${match[2]}`) * (match[1] === '-' ? -1n : 1n);
  return value < -(2n ** 63n) || value >= 2n ** 63n ? undefined : value;
}

/** Runs `reconfig` with the words after its name. */
export async function runReconfig(shell: ReconfigShell, args: readonly string[]): Promise<void> {
  const options = parseOptions(args);
  const has = (name: string) => options.has(name);
  const value = (name: string) => options.get(name) as string;
  if (!(has('file') || has('members')) && !has('add') && !has('remove'))
    throw new ShellError(`reconfig ${reconfigOptions}`);
  let fromConfig = -1n;
  if (has('v')) {
    const parsed = parseHexLong(value('v'));
    if (parsed === undefined) throw new ShellError('-v must be followed by a long (configuration version)');
    fromConfig = parsed;
  }
  if ((has('file') || has('members')) && (has('add') || has('remove')))
    throw new ShellError(
      "Can't use -file or -members together with -add or -remove (mixing incremental and non-incremental modes is not allowed)",
    );
  if (has('file') && has('members'))
    throw new ShellError("Can't use -file and -members together (conflicting non-incremental modes)");
  // zkCli lowercases what it sends (host names, observer/participant).
  const joining = has('add') ? value('add').toLowerCase() : undefined;
  const leaving = has('remove') ? value('remove').toLowerCase() : undefined;
  let newMembers = has('members') ? value('members').toLowerCase() : undefined;
  if (has('file')) newMembers = await membersOfFile(value('file'));
  const { text, stat } = await shell
    .client()
    .reconfig({
      ...(joining === undefined ? {} : { joining }),
      ...(leaving === undefined ? {} : { leaving }),
      ...(newMembers === undefined ? {} : { newMembers }),
      fromConfig,
    })
    .catch((error: unknown) => {
      // zkCli's reconfig errors name no znode ("Arguments are not valid : " and nothing after),
      // not even the path a -file named, which the shell would otherwise take for one.
      throw new ShellError(describeError(error, ''));
    });
  shell.out(`Committed new configuration:\n${text}\n`);
  if (has('s')) shell.out(`${formatStat(stat)}\n`);
}
