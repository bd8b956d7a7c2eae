/**
 * The shell's session and loops: it holds the connection and the history, runs lines, and
 * reads them from the command line, a script on stdin, or a terminal with a prompt.
 */
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import {
  type ClientState,
  connectTcp,
  type SaslDigestCredentials,
  type TcpTlsOptions,
  type WatchListener,
  type ZabClient,
} from '@zabkit/client';
import { commands, helpText, type ShellContext } from './commands.js';
import { completeLine } from './complete.js';
import { describeError, ShellError } from './errors.js';
import { splitWords } from './words.js';

/** Where the shell reads and writes; `stdin.isTTY` makes it interactive. */
export interface ShellIo {
  /** Commands come from here: a terminal (`isTTY`) gets a prompt, anything else is a script. */
  readonly stdin: Readable & {
    /** True for a terminal. */
    readonly isTTY?: boolean;
  };
  /** Command output, watch events, the prompt. */
  readonly stdout: Writable;
  /** Error messages and usage. */
  readonly stderr: Writable;
}

/** How the shell connects: the server list and the session timeout. */
export interface ShellOptions {
  /** The connect string, `host:port,host:port`. */
  readonly server: string;
  /** The requested session timeout in ms; connecting waits at most this long (and at most 10 s). */
  readonly timeoutMs: number;
  /** Accept a read-only server (zkCli's `-r`). */
  readonly readOnly?: boolean;
  /** TLS toward the servers, from `-client-configuration` (zookeeper.client.secure=true). */
  readonly tls?: TcpTlsOptions | undefined;
  /** A SASL DIGEST-MD5 login, from the JAAS file `-client-configuration` names. */
  readonly sasl?: SaslDigestCredentials | undefined;
}

/** Java's ZooKeeper.States names, as zkCli's prompt shows them. */
const promptStates: Readonly<Record<ClientState, string>> = {
  connecting: 'CONNECTING',
  connected: 'CONNECTED',
  connectedReadOnly: 'CONNECTEDREADONLY',
  disconnected: 'CONNECTING',
  expired: 'CLOSED',
  closed: 'CLOSED',
};

/** Java's Watcher.Event.KeeperState names, for the events a terminal prints on state changes. */
const keeperStates: Partial<Record<ClientState, string>> = {
  connected: 'SyncConnected',
  connectedReadOnly: 'ConnectedReadOnly',
  disconnected: 'Disconnected',
  expired: 'Expired',
};

/** One shell: a session (or none), the command history, and the count of failed commands. */
export class Shell implements ShellContext {
  private zk: ZabClient | undefined;
  private target: string;
  private quitting = false;
  private readline: Interface | undefined;
  /** True while a terminal waits at the prompt: events then print above it. */
  private idle = false;
  readonly history: string[] = [];
  /** How many commands failed; the exit code is 1 when there was any. */
  failures = 0;
  printWatches = true;

  constructor(
    private readonly io: ShellIo,
    private readonly options: ShellOptions,
  ) {
    this.target = options.server;
  }

  client(): ZabClient {
    const zk = this.zk;
    if (zk === undefined || zk.state === 'closed' || zk.state === 'expired')
      throw new ShellError('Not connected');
    return zk;
  }

  out(text: string): void {
    this.io.stdout.write(text);
  }

  err(text: string): void {
    this.io.stderr.write(text);
  }

  /** Output that arrives on its own (a watch event): above the prompt when a terminal waits. */
  private notify(text: string): void {
    this.out(text);
    if (this.idle) this.readline?.prompt(true);
  }

  watcher(): WatchListener {
    return (event) => {
      if (this.printWatches)
        this.notify(
          `\nWATCHER::\n\nWatchedEvent state:SyncConnected type:${event.type} path:${event.path}\n`,
        );
    };
  }

  async connect(target = this.target): Promise<void> {
    await this.close();
    this.target = target;
    const zk = await connectTcp(target, {
      sessionTimeoutMs: this.options.timeoutMs,
      connectTimeoutMs: Math.min(this.options.timeoutMs, 10_000),
      allowReadOnly: this.options.readOnly === true,
      ...(this.options.tls === undefined ? {} : { tls: this.options.tls }),
      ...(this.options.sasl === undefined ? {} : { sasl: this.options.sasl }),
    });
    this.zk = zk;
    zk.onStateChange((state) => {
      const name = keeperStates[state];
      // A terminal hears of disconnections and expiry, as zkCli's default watcher prints them.
      if (this.zk === zk && this.readline !== undefined && this.printWatches && name !== undefined)
        this.notify(`\nWATCHER::\n\nWatchedEvent state:${name} type:None path:null\n`);
    });
  }

  async close(): Promise<void> {
    const zk = this.zk;
    this.zk = undefined;
    await zk?.close().catch(() => undefined);
  }

  quit(): void {
    this.quitting = true;
  }

  async redo(index: number): Promise<void> {
    const current = this.history.length - 1;
    if (!Number.isInteger(index) || index < 0 || index >= current)
      throw new ShellError('Command index out of range');
    const line = this.history[index]!;
    const words = splitWords(line);
    if (words[0] === 'redo') throw new ShellError('No redoing redos');
    this.history[current] = line;
    await this.execute(words);
  }

  /** Runs one line: splits it, records it in the history, runs the command; blank lines do nothing. */
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

  /** Runs a command already split into words (the command line's), recorded as `line`. */
  async runWords(words: readonly string[], line = words.join(' ')): Promise<void> {
    this.history.push(line);
    await this.execute(words);
  }

  private async execute(words: readonly string[]): Promise<void> {
    const [name, ...args] = words as [string, ...string[]];
    const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (command === undefined) {
      this.io.stderr.write(helpText());
      this.fail(`Command not found ${name}`);
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

  /** Commands from a pipe or a file, one a line, all run in turn (`#` starts a comment line) until `quit`. */
  async script(): Promise<void> {
    const lines = createInterface({ input: this.io.stdin, crlfDelay: Number.POSITIVE_INFINITY });
    try {
      for await (const line of lines) {
        if (line.trimStart().startsWith('#')) continue;
        await this.run(line);
        if (this.quitting) break;
      }
    } finally {
      lines.close();
    }
  }

  /** zkCli's prompt: `[zk: host:port(CONNECTED) 3] `. */
  prompt(): string {
    const state = this.zk === undefined ? 'CLOSED' : promptStates[this.zk.state];
    return `[zk: ${this.target}(${state}) ${this.history.length}] `;
  }

  /** A terminal: a prompt, line editing and history (node:readline), tab completion; ends on quit, ^D or ^C. */
  async interactive(): Promise<void> {
    const readline = createInterface({
      input: this.io.stdin,
      output: this.io.stdout,
      terminal: true,
      historySize: 1000,
      removeHistoryDuplicates: false,
      completer: (line: string, callback: (error: null, result: [string[], string]) => void) => {
        const children = (path: string) => this.client().getChildren(path);
        void completeLine(line, Object.keys(commands), children).then((result) => callback(null, result));
      },
    });
    this.readline = readline;
    readline.on('SIGINT', () => readline.close());
    this.out("Welcome to zabkit's shell! Type help for the commands.\n");
    try {
      readline.setPrompt(this.prompt());
      readline.prompt();
      this.idle = true;
      for await (const line of readline) {
        this.idle = false;
        await this.run(line);
        if (this.quitting) break;
        readline.setPrompt(this.prompt());
        readline.prompt();
        this.idle = true;
      }
    } finally {
      this.idle = false;
      this.readline = undefined;
      readline.close();
    }
  }
}
