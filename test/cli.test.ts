/**
 * The `zabkit` command as an operator meets it: a config with a bad value stops it with a
 * message naming the key, unknown keys only warn, SIGTERM or SIGINT end it cleanly, and a
 * failed disk ends it with exit code 1 after saying why.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectTcp } from '@zabkit/client';
import { afterAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../packages/server/bin/zabkit.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'zabkit-cli-'));

function runZabkit(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000) {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function ruok(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    let text = '';
    socket.on('connect', () => socket.write('ruok'));
    socket.on('data', (chunk) => {
      text += chunk;
    });
    socket.on('error', () => resolve(''));
    socket.on('close', () => resolve(text));
  });
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the zabkit command', () => {
  it('refuses a config with an invalid value, naming the key', async () => {
    const cfg = join(dir, 'bad.cfg');
    writeFileSync(cfg, `tickTime=abc\ndataDir=${dir}\nclientPort=0\n`);
    const run = runZabkit(['server', '--config', cfg]);
    expect(await run.exited).toBe(2);
    expect(run.err()).toMatch(/tickTime/);
  });

  it('warns about unknown keys, serves, and exits 0 on SIGTERM and on SIGINT', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const cfg = join(dir, `good-${signal}.cfg`);
      writeFileSync(
        cfg,
        `tickTime=200\ndataDir=${dir}\nclientPort=0\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=ruok\nfancyNewKey=1\n`,
      );
      const run = runZabkit(['server', '--config', cfg]);
      await waitFor(() => /listening on 127\.0\.0\.1:\d+/.test(run.out()));
      const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(run.out())![1]);
      expect(await ruok(port)).toBe('imok');
      const warnings = run
        .err()
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line));
      expect(warnings.some((line) => line.level === 'warn' && /fancyNewKey/.test(line.msg))).toBe(true);
      run.child.kill(signal);
      expect(await run.exited).toBe(0);
    }
  }, 30_000);

  it('keeps what it acknowledged across a restart, on LevelDB in dataDir', async () => {
    const dataDir = join(dir, 'durable');
    const cfg = join(dir, 'durable.cfg');
    writeFileSync(
      cfg,
      `tickTime=200\ndataDir=${dataDir}\nclientPort=0\nclientPortAddress=127.0.0.1\nsnapCount=50\n`,
    );
    const start = async () => {
      const run = runZabkit(['server', '--config', cfg]);
      await waitFor(() => /listening on 127\.0\.0\.1:\d+/.test(run.out()));
      return { run, port: Number(/listening on 127\.0\.0\.1:(\d+)/.exec(run.out())![1]) };
    };
    const first = await start();
    const client = await connectTcp(`127.0.0.1:${first.port}`);
    // More than snapCount writes: recovery goes through a snapshot and the log after it.
    for (let i = 0; i < 120; i++) await client.create(`/kept-${i}`, `value ${i}`);
    await client.close();
    first.run.child.kill('SIGKILL');
    await first.run.exited;
    const second = await start();
    const reader = await connectTcp(`127.0.0.1:${second.port}`);
    expect((await reader.getChildren('/')).filter((name) => name.startsWith('kept-'))).toHaveLength(120);
    expect(new TextDecoder().decode((await reader.getData('/kept-119')).data)).toBe('value 119');
    await reader.close();
    second.run.child.kill('SIGTERM');
    expect(await second.run.exited).toBe(0);
  }, 30_000);

  it("loads its commands through Node's compile cache, unless NODE_DISABLE_COMPILE_CACHE says not to", async () => {
    // The cache's directory is the temporary one's node-compile-cache when NODE_COMPILE_CACHE
    // is not set (which would turn it on without zabkit).
    const { NODE_COMPILE_CACHE: _, ...env } = process.env;
    const cached = join(dir, 'tmp-cached');
    const disabled = join(dir, 'tmp-disabled');
    mkdirSync(cached);
    mkdirSync(disabled);
    const withCache = runZabkit(['digest', 'a:b'], { ...env, TMPDIR: cached });
    expect(await withCache.exited).toBe(0);
    expect(readdirSync(join(cached, 'node-compile-cache')).length).toBeGreaterThan(0);
    const without = runZabkit(['digest', 'a:b'], {
      ...env,
      TMPDIR: disabled,
      NODE_DISABLE_COMPILE_CACHE: '1',
    });
    expect(await without.exited).toBe(0);
    expect(without.out()).toBe(withCache.out());
    expect(readdirSync(disabled)).toEqual([]);
  });

  it('takes a super digest from a -D flag, and serves the admin server admin.* asks for', async () => {
    const cfg = join(dir, 'super.cfg');
    writeFileSync(
      cfg,
      `tickTime=200\ndataDir=${dir}\nclientPort=0\nclientPortAddress=127.0.0.1\nadmin.enableServer=true\nadmin.serverAddress=127.0.0.1\nadmin.serverPort=0\n`,
    );
    const digest = await runZabkit(['digest', 'super:secret']);
    expect(await digest.exited).toBe(0);
    const superDigest = digest.out().trim().split('->')[1]!;
    expect(superDigest).toMatch(/^super:[A-Za-z0-9+/]{27}=$/);
    const run = runZabkit([
      'server',
      '--config',
      cfg,
      '--storage',
      'memory',
      `-Dzookeeper.DigestAuthenticationProvider.superDigest=${superDigest}`,
    ]);
    await waitFor(() => /listening on 127\.0\.0\.1:\d+/.test(run.out()));
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(run.out())![1]);
    expect(run.err()).toMatch(/admin server listening/);
    expect(run.err()).not.toMatch(/no AdminServer/);
    const owner = await connectTcp(`127.0.0.1:${port}`);
    const root = await connectTcp(`127.0.0.1:${port}`);
    try {
      await owner.addAuth('digest', 'alice:pw');
      await owner.create('/hers', 'x', { acl: [{ perms: 31, id: { scheme: 'auth', id: '' } }] });
      await expect(root.getData('/hers')).rejects.toThrow();
      await root.addAuth('digest', 'super:secret');
      expect(new TextDecoder().decode((await root.getData('/hers')).data)).toBe('x');
    } finally {
      await owner.close();
      await root.close();
    }
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  }, 30_000);

  it('a full disk: logs ENOSPC, exits 1 for a supervisor, and restarts with every acknowledged write', async () => {
    const dataDir = join(dir, 'full-disk');
    const faults = join(dir, 'full-disk-faults');
    mkdirSync(faults, { recursive: true });
    const cfg = join(dir, 'full-disk.cfg');
    writeFileSync(cfg, `tickTime=200\ndataDir=${dataDir}\nclientPort=0\nclientPortAddress=127.0.0.1\n`);
    const env = { ...process.env, ZABKIT_FAULT_INJECTION_DIR: faults };
    const start = async () => {
      const run = runZabkit(['server', '--config', cfg], env);
      await waitFor(() => /listening on 127\.0\.0\.1:\d+/.test(run.out()));
      return { run, port: Number(/listening on 127\.0\.0\.1:(\d+)/.exec(run.out())![1]) };
    };
    const first = await start();
    const client = await connectTcp(`127.0.0.1:${first.port}`, { sessionTimeoutMs: 4000 });
    for (let i = 0; i < 20; i++) await client.create(`/before-${i}`, 'x');
    writeFileSync(join(faults, 'disk-full'), '');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expect(client.create('/after', 'x')).rejects.toThrow();
    expect(await first.run.exited).toBe(1);
    await client.close().catch(() => undefined);
    const fatal = first.run
      .err()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.msg !== undefined && /peer stopped for good/.test(String(line.msg)));
    expect(fatal).toMatchObject({ level: 'error', reason: 'storage', code: 'ENOSPC' });
    expect(first.run.err()).toMatch(/zabkit: server 1 stopped: its storage failed: ENOSPC/);
    // The supervisor restarts it once there is room again: nothing acknowledged was lost.
    rmSync(join(faults, 'disk-full'));
    const second = await start();
    const reader = await connectTcp(`127.0.0.1:${second.port}`);
    const children = await reader.getChildren('/');
    expect(children.filter((name) => name.startsWith('before-'))).toHaveLength(20);
    expect(children).not.toContain('after');
    await reader.close();
    second.run.child.kill('SIGTERM');
    expect(await second.run.exited).toBe(0);
  }, 30_000);

  it.runIf(process.platform === 'linux' && typeof process.execve === 'function')(
    'runs the server with its own young generation, in the process it was started as',
    async () => {
      const cfg = join(dir, 'young.cfg');
      writeFileSync(
        cfg,
        `tickTime=200\ndataDir=${join(dir, 'young')}\nclientPort=0\nclientPortAddress=127.0.0.1\n`,
      );
      const run = runZabkit(['server', '--config', cfg]);
      let cmdline: string[];
      try {
        await waitFor(() => /listening on/.test(run.out()));
        // Same pid, started again by execve with the flag before the script.
        cmdline = readFileSync(`/proc/${run.child.pid}/cmdline`, 'utf8').split('\0');
      } finally {
        run.child.kill('SIGTERM');
      }
      expect(await run.exited).toBe(0);
      expect(cmdline.slice(1, 3)).toEqual(['--max-semi-space-size=16', bin]);
    },
  );

  it.runIf(process.platform === 'linux' && typeof process.execve === 'function')(
    'says why when it cannot start itself again, and serves as it was started',
    async () => {
      const cfg = join(dir, 'young-refused.cfg');
      writeFileSync(
        cfg,
        `tickTime=200\ndataDir=${join(dir, 'young-refused')}\nclientPort=0\nclientPortAddress=127.0.0.1\n`,
      );
      // A preload that makes execve fail, as a binary that cannot be executed again would.
      const preload = join(dir, 'refuse-execve.mjs');
      writeFileSync(preload, "process.execve = () => { throw new Error('execve refused by the test'); };\n");
      const run = runZabkit(['server', '--config', cfg], {
        ...process.env,
        NODE_OPTIONS: `--import=${preload}`,
      });
      let cmdline: string[];
      try {
        await waitFor(() => /listening on/.test(run.out()));
        cmdline = readFileSync(`/proc/${run.child.pid}/cmdline`, 'utf8').split('\0');
      } finally {
        run.child.kill('SIGTERM');
      }
      expect(await run.exited).toBe(0);
      expect(cmdline).not.toContain('--max-semi-space-size=16');
      // The JSON log is on stderr; the one-line "listening on" on stdout.
      const warning = run
        .err()
        .split('\n')
        .filter((line) => line.includes('young generation'))
        .map((line) => JSON.parse(line));
      expect(warning).toHaveLength(1);
      expect(warning[0].msg).toMatch(/starting again failed: execve refused by the test/);
    },
  );

  it('prints usage and fails on an unknown command', async () => {
    const run = runZabkit(['frobnicate']);
    expect(await run.exited).toBe(2);
    expect(run.err()).toMatch(/usage: zabkit/);
  });
});
