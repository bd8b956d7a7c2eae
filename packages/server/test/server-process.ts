/**
 * One `zabkit server` process for tests that must measure the server apart from its clients
 * (its memory, its connections): a zoo.cfg of the test's choosing, memory storage, the port
 * read back, and the process's resident memory from /proc.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../../test/support/ports.js';

const bin = fileURLToPath(new URL('../bin/zabkit.js', import.meta.url));

export { freePort };

/** Sends a four-letter word; '' when nobody answers. */
export function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    let text = '';
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('connect', () => socket.write(word));
    socket.on('data', (chunk) => {
      text += chunk.toString();
    });
    socket.on('error', () => resolve(''));
    socket.on('close', () => resolve(text));
  });
}

export interface ServerProcess {
  readonly port: number;
  readonly child: ChildProcess;
  /** Resident memory now and at its peak (VmRSS, VmHWM), in bytes. */
  memory(): { rssBytes: number; peakBytes: number };
  /** What the process wrote to stderr (its JSON log lines). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts `zabkit server` on a free loopback port with `extra` lines added to a minimal zoo.cfg;
 * the process may open up to its hard limit of file descriptors.
 */
export async function startServerProcess(extra: string[], logLevel = 'warn'): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-server-process-'));
  const port = await freePort();
  const cfg = join(dir, 'zoo.cfg');
  writeFileSync(
    cfg,
    [
      'tickTime=200',
      `dataDir=${dir}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      '4lw.commands.whitelist=*',
      ...extra,
      '',
    ].join('\n'),
  );
  const child = spawn(
    '/bin/sh',
    [
      '-c',
      'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"',
      process.execPath,
      bin,
      'server',
      '--config',
      cfg,
      '--storage',
      'memory',
      '--log-level',
      logLevel,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  let stdout = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`zabkit server exited with ${code}: ${stderr}`)));
  });
  const status = (field: string) => {
    const text = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1];
    if (kb === undefined) throw new Error(`no ${field} in /proc/${child.pid}/status`);
    return Number(kb) * 1024;
  };
  return {
    port,
    child,
    memory: () => ({ rssBytes: status('VmRSS'), peakBytes: status('VmHWM') }),
    log: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
