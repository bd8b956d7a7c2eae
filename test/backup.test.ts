/**
 * Online backup and restore: `zabkit snapshot` takes a snapshot of a running server through its
 * admin server, `zabkit restore` puts a running server back to it through the admin server's
 * restore; `zabkit storage restore` puts it into a fresh data directory, from which a
 * zabkit server starts with the same tree, and Apache ZooKeeper 3.8 starts from the same file.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectTcp, type ZabClient } from '@zabkit/client';
import { parseConfig, ServerNode } from '@zabkit/server';
import { afterAll, describe, expect, it } from 'vitest';
import { startApacheZooKeeper, zookeeperInstalled } from './support/apache-zookeeper.js';
import { freePort } from './support/process-ensemble.js';

const bin = fileURLToPath(new URL('../packages/server/bin/zabkit.js', import.meta.url));

function runZabkit(args: string[]): {
  exited: Promise<number>;
  out: () => string;
  err: () => string;
  kill: () => void;
} {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  return {
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1))),
    out: () => stdout,
    err: () => stderr,
    kill: () => child.kill('SIGKILL'),
  };
}

/** Every znode under `path` with its data, depth first. */
async function tree(zk: ZabClient, path = '/'): Promise<[string, string][]> {
  const { data } = await zk.getData(path);
  const entries: [string, string][] = [[path, data === null ? 'null' : Buffer.from(data).toString()]];
  const children = await zk.getChildren(path);
  for (const child of [...children].sort()) {
    if (path === '/' && child === 'zookeeper') continue;
    entries.push(...(await tree(zk, path === '/' ? `/${child}` : `${path}/${child}`)));
  }
  return entries;
}

describe('online snapshot and restore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-backup-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('snapshots a running server, restores it into a fresh data directory, and both zabkit and ZooKeeper start from it', async () => {
    const { config } = parseConfig(
      'tickTime=200\ndataDir=/tmp/zabkit-backup-source\nclientPort=0\nclientPortAddress=127.0.0.1\nadmin.serverAddress=127.0.0.1\nadmin.serverPort=0\n',
    );
    const source = await ServerNode.start({ config });
    let expected: [string, string][];
    try {
      const zk = await connectTcp(`127.0.0.1:${source.address().port}`, { sessionTimeoutMs: 10_000 });
      await zk.create('/config', 'v1');
      await zk.create('/config/a', 'alpha');
      await zk.create('/jobs', '');
      for (let i = 0; i < 20; i++) await zk.create(`/jobs/job-${i}`, `payload ${i}`);
      await zk.setData('/config', 'v2');
      await zk.delete('/jobs/job-3');
      expected = await tree(zk);
      await zk.close();

      const adminPort = source.adminAddress()!.port;
      const refused = runZabkit(['snapshot', `127.0.0.1:${adminPort}`, '--out', join(dir, 'none')]);
      expect(await refused.exited).toBe(1);
      expect(refused.err()).toMatch(/401: Auth info is missing/);

      const taken = runZabkit([
        'snapshot',
        `127.0.0.1:${adminPort}`,
        '--out',
        join(dir, 'backup'),
        '--auth',
        'digest ops:pw',
      ]);
      expect(await taken.exited, taken.err()).toBe(0);
      expect(taken.out()).toMatch(/wrote .*snapshot\.[0-9a-f]+ \(\d+ bytes, zxid 0x[0-9a-f]+\)/);

      // Changes after the snapshot, then `zabkit restore` puts the running server back.
      const [taken0] = readdirSync(join(dir, 'backup'));
      const later = await connectTcp(`127.0.0.1:${source.address().port}`, { sessionTimeoutMs: 10_000 });
      await later.create('/after-snapshot', 'x');
      await later.delete('/config/a');
      await later.setData('/config', 'v3');
      await later.close();
      const putBack = runZabkit([
        'restore',
        `127.0.0.1:${adminPort}`,
        join(dir, 'backup', taken0!),
        '--auth',
        'digest ops:pw',
      ]);
      expect(await putBack.exited, putBack.err()).toBe(0);
      expect(putBack.out()).toMatch(/restored .* zxid 0x[0-9a-f]+/);
      const check = await connectTcp(`127.0.0.1:${source.address().port}`, { sessionTimeoutMs: 10_000 });
      expect(await tree(check)).toEqual(expected);
      await check.close();
    } finally {
      await source.close();
    }
    const [file] = readdirSync(join(dir, 'backup'));
    expect(file).toMatch(/^snapshot\.[0-9a-f]+$/);
    const snapshot = join(dir, 'backup', file!);

    // Into a fresh zabkit data directory, then a zabkit server on it.
    const dataDir = join(dir, 'restored');
    const restore = runZabkit(['storage', 'restore', snapshot, dataDir]);
    expect(await restore.exited, restore.err()).toBe(0);
    expect(restore.out()).toMatch(/imported \d+ znodes/);
    const again = runZabkit(['storage', 'restore', snapshot, dataDir]);
    expect(await again.exited).toBe(1);
    expect(again.err()).toMatch(/already holds zabkit data/);
    const port = await freePort();
    const cfg = join(dir, 'restored.cfg');
    writeFileSync(
      cfg,
      `tickTime=200\ndataDir=${dataDir}\nclientPort=${port}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n`,
    );
    const server = runZabkit(['server', '--config', cfg, '--log-level', 'warn']);
    try {
      for (let i = 0; i < 200 && !/listening/.test(server.out()); i++)
        await new Promise((resolve) => setTimeout(resolve, 50));
      const zk = await connectTcp(`127.0.0.1:${port}`, { sessionTimeoutMs: 10_000 });
      expect(await tree(zk)).toEqual(expected);
      await zk.close();
    } finally {
      server.kill();
      await server.exited;
    }

    // Apache ZooKeeper starts from the same file.
    if (!zookeeperInstalled) return;
    const zkData = join(dir, 'zookeeper-data');
    mkdirSync(join(zkData, 'version-2'), { recursive: true });
    copyFileSync(snapshot, join(zkData, 'version-2', file!));
    const zookeeper = await startApacheZooKeeper({ dataDir: zkData });
    try {
      const zk = await connectTcp(zookeeper.connectString, { sessionTimeoutMs: 10_000 });
      expect(await tree(zk)).toEqual(expected);
      await zk.close();
    } finally {
      await zookeeper.stop();
    }
  }, 120_000);
});
