/**
 * `zabkit shell`: a zkCli-style shell for zabkit and Apache ZooKeeper. A command on the
 * command line runs once; commands on stdin run in turn; a terminal gets a prompt with line
 * editing, history and tab completion of commands and znode paths. The exit code is non-zero
 * when any command failed.
 */
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { connectTcp, type ZabClient } from '@zabkit/client';
import { commands, describeError, type ShellContext, ShellError } from './commands.js';
import { splitWords } from './words.js';

export { commands, describeError, ShellError } from './commands.js';
export { formatAcl, formatStat, javaDate, parseAcl } from './format.js';
export { parseFlags, splitWords } from './words.js';

/** Where the shell reads and writes; a terminal when `stdin.isTTY`. */
export interface ShellIo {
  readonly stdin: Readable & { isTTY?: boolean };
  readonly stdout: Writable;
  readonly stderr: Writable;
}

const usage = 'usage: zabkit shell [-server host:port,...] [-timeout ms] [command args...]\n';

/** Runs the shell; resolves with the exit code (0 when every command succeeded). */
export async function runShell(argv: readonly string[], io: ShellIo = process): Promise<number> {
  let server = '127.0.0.1:2181';
  let timeoutMs = 30_000;
  const rest = [...argv];
  while (rest[0]?.startsWith('-') === true) {
    const flag = rest.shift()!;
    const value = rest.shift();
    if (value === undefined) {
      io.stderr.write(usage);
      return 2;
    }
    if (flag === '-server') server = value;
    else if (flag === '-timeout' && Number.isInteger(Number(value))) timeoutMs = Number(value);
    else {
      io.stderr.write(usage);
      return 2;
    }
  }
  const shell = new Shell(io, server, timeoutMs);
  try {
    await shell.connect(server);
  } catch (error) {
    io.stderr.write(`cannot connect to ${server}: ${describeError(error)}\n`);
    return 1;
  }
  try {
    if (rest.length > 0) await shell.runWords(rest, rest.join(' '));
    else if (io.stdin.isTTY === true) await shell.interactive();
    else await shell.script();
  } finally {
    await shell.close();
  }
  return shell.failures > 0 ? 1 : 0;
}

class Shell implements ShellContext {
  private zk: ZabClient | undefined;
  private target: string;
  readonly history: string[] = [];
  failures = 0;
  private quitting = false;
  private readline: Interface | undefined;

  constructor(
    private readonly io: ShellIo,
    server: string,
    private readonly timeoutMs: number,
  ) {
    this.target = server;
  }

  client = (): ZabClient => {
    if (this.zk === undefined || this.zk.state === 'closed' || this.zk.state === 'expired')
      throw new ShellError('not connected: use connect host:port');
    return this.zk;
  };

  out = (text: string): void => {
    this.io.stdout.write(text);
  };

  async connect(target: string): Promise<void> {
    await this.close();
    this.target = target;
    this.zk = await connectTcp(target, { sessionTimeoutMs: this.timeoutMs, connectTimeoutMs: 10_000 });
  }

  async close(): Promise<void> {
    const zk = this.zk;
    this.zk = undefined;
    await zk?.close().catch(() => undefined);
  }

  quit(): void {
    this.quitting = true;
    this.readline?.close();
  }

  async run(line: string): Promise<void> {
    let words: string[];
    try {
      words = splitWords(line);
    } catch (error) {
      this.fail(describeError(error));
      return;
    }
    if (words.length === 0) return;
    await this.runWords(words, line);
  }

  async runWords(words: readonly string[], line: string): Promise<void> {
    const [name, ...args] = words;
    this.history.push(line);
    const command = commands[name!];
    if (command === undefined) {
      this.fail(`Command not found: ${name}`);
      commands.help!.run(this, []).catch(() => undefined);
      return;
    }
    try {
      await command.run(this, args);
    } catch (error) {
      this.fail(
        describeError(
          error,
          args.find((arg) => arg.startsWith('/')),
        ),
      );
    }
  }

  private fail(message: string): void {
    this.failures++;
    this.io.stderr.write(`${message}\n`);
  }

  /** Commands from a pipe or file, one per line, all run; a failure makes the exit code 1. */
  async script(): Promise<void> {
    const lines = createInterface({ input: this.io.stdin, crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      if (this.quitting) break;
      await this.run(line);
    }
  }

  private prompt(): string {
    const state = this.zk?.state === 'connected' ? 'CONNECTED' : (this.zk?.state.toUpperCase() ?? 'CLOSED');
    return `[zk: ${this.target}(${state}) ${this.history.length}] `;
  }

  /** A terminal: prompt, history, completion. */
  async interactive(): Promise<void> {
    const readline = createInterface({
      input: this.io.stdin,
      output: this.io.stdout,
      terminal: true,
      historySize: 500,
      completer: (line: string, callback: (error: null, result: [string[], string]) => void) => {
        this.complete(line).then(
          (result) => callback(null, result),
          () => callback(null, [[], line]),
        );
      },
    });
    this.readline = readline;
    this.out('Welcome to zabkit. Type help for the commands.\n');
    readline.setPrompt(this.prompt());
    readline.prompt();
    for await (const line of readline) {
      await this.run(line);
      if (this.quitting) break;
      readline.setPrompt(this.prompt());
      readline.prompt();
    }
    readline.close();
  }

  /** Completes a command name, or the znode path being typed from its parent's children. */
  private async complete(line: string): Promise<[string[], string]> {
    const words = line.split(' ');
    const last = words[words.length - 1]!;
    if (words.length === 1) return [Object.keys(commands).filter((name) => name.startsWith(last)), last];
    if (!last.startsWith('/') || this.zk === undefined) return [[], last];
    const slash = last.lastIndexOf('/');
    const parent = slash === 0 ? '/' : last.slice(0, slash);
    const prefix = last.slice(slash + 1);
    const children = await this.zk.getChildren(parent);
    const base = parent === '/' ? '' : parent;
    return [children.filter((child) => child.startsWith(prefix)).map((child) => `${base}/${child}`), last];
  }
}
