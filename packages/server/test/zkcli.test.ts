/**
 * Apache ZooKeeper's own shell, zkCli.sh from Debian's zookeeper package, against zabkit.
 * CI installs the package; where it is missing, the suite says so and is skipped.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerNode } from '../src/node.js';
import { startStandalone } from './helpers.js';

const zkCli = process.env.ZKCLI ?? '/usr/share/zookeeper/bin/zkCli.sh';
const installed = existsSync(zkCli);
if (!installed) {
  console.warn(`zkCli.sh is not installed at ${zkCli} (apt-get install zookeeper): skipping its tests`);
}

const run = promisify(execFile);

describe.skipIf(!installed)('zkCli.sh (Apache ZooKeeper 3.8) against a zabkit server', () => {
  let server: ServerNode;
  let target: string;

  const cli = async (...command: string[]) => {
    const { stdout, stderr } = await run(zkCli, ['-server', target, ...command], {
      timeout: 30_000,
      env: { ...process.env, ZOO_LOG4J_PROP: 'ERROR,CONSOLE' },
    });
    return `${stdout}\n${stderr}`;
  };

  beforeAll(async () => {
    server = await startStandalone();
    target = `127.0.0.1:${server.address().port}`;
  });

  afterAll(async () => {
    await server?.close();
  });

  it('runs create, get, set, ls and delete', async () => {
    expect(await cli('create', '/from-zkcli', 'hello')).toMatch(/Created \/from-zkcli/);
    expect(await cli('get', '/from-zkcli')).toMatch(/^hello$/m);
    await cli('set', '/from-zkcli', 'world');
    const stat = await cli('get', '-s', '/from-zkcli');
    expect(stat).toMatch(/^world$/m);
    expect(stat).toMatch(/^dataVersion = 1$/m);
    expect(await cli('ls', '/')).toMatch(/\[from-zkcli, zookeeper\]/);
    await cli('delete', '/from-zkcli');
    expect(await cli('ls', '/')).toMatch(/\[zookeeper\]/);
  }, 120_000);
});
