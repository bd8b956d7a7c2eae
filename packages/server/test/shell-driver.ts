/** Drives runShell through streams, as a script on stdin would, for the shell's tests. */
import { PassThrough } from 'node:stream';
import { runShell } from '../src/shell/index.js';
import { until } from './helpers.js';

/** What a finished shell printed, and its exit code. */
export interface ShellRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs the shell with `argv` and `input` as its whole stdin (not a terminal). */
export async function runScript(argv: string[], input = ''): Promise<ShellRun> {
  const driver = ShellDriver.start(argv);
  driver.stdin.end(input);
  return driver.finish();
}

/** A shell whose stdin stays open: send lines, wait for output, then end it. */
export class ShellDriver {
  out = '';
  err = '';
  private readonly done: Promise<number>;

  private constructor(
    argv: string[],
    readonly stdin: PassThrough,
  ) {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.on('data', (chunk: Buffer) => {
      this.out += chunk.toString();
    });
    stderr.on('data', (chunk: Buffer) => {
      this.err += chunk.toString();
    });
    this.done = runShell(argv, { stdin, stdout, stderr });
  }

  /** Starts a shell with `argv` on fresh streams; with `tty`, stdin claims to be a terminal. */
  static start(argv: string[], options: { tty?: boolean } = {}): ShellDriver {
    const stdin = new PassThrough();
    if (options.tty === true) Object.assign(stdin, { isTTY: true });
    return new ShellDriver(argv, stdin);
  }

  /** Types a line (a terminal's enter is a carriage return, which readline also takes). */
  send(line: string): void {
    this.stdin.write(`${line}\n`);
  }

  /** Waits until standard output (or, with `stream: 'err'`, standard error) matches `pattern`. */
  async waitFor(pattern: RegExp, timeoutMs = 10_000, stream: 'out' | 'err' = 'out'): Promise<void> {
    await until(() => pattern.test(stream === 'out' ? this.out : this.err), timeoutMs).catch(() => {
      throw new Error(`no ${pattern} in output:\n${this.out}\nstderr:\n${this.err}`);
    });
  }

  /** Ends stdin and resolves with what the shell printed and its exit code. */
  async finish(): Promise<ShellRun> {
    this.stdin.end();
    const code = await this.done;
    return { code, out: this.out, err: this.err };
  }
}
