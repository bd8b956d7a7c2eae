/**
 * The zkCli-style shell: driven through stdin (a script of commands), with one command on
 * the command line, and under a real pseudo-terminal (prompt, tab completion, history).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerNode } from '../src/node.js';
import { runShell } from '../src/shell/index.js';
import { startStandalone } from './helpers.js';

async function shell(argv: string[], input = ''): Promise<{ code: number; out: string; err: string }> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => {
    out += chunk;
  });
  stderr.on('data', (chunk) => {
    err += chunk;
  });
  stdin.end(input);
  const code = await runShell(argv, { stdin, stdout, stderr });
  return { code, out, err };
}

describe('the shell', () => {
  let server: ServerNode;
  let target: string;

  beforeAll(async () => {
    server = await startStandalone();
    target = `127.0.0.1:${server.address().port}`;
  });

  afterAll(async () => {
    await server?.close();
  });

  it('runs a script from stdin with zkCli output', async () => {
    const script = [
      'create /s "hello world"',
      'create -e /s/eph',
      'create -s /s/seq- x',
      'get -s /s',
      'set -v 0 /s again',
      'get /s',
      'ls /s',
      'ls -R /s',
      'stat /s',
      'getAllChildrenNumber /s',
      'getEphemerals /s',
      'sync /s',
      'getAcl /s',
      'whoami',
    ].join('\n');
    const { code, out, err } = await shell(['-server', target], script);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/^Created \/s$/m);
    expect(out).toMatch(/^Created \/s\/seq-0000000001$/m);
    expect(out).toMatch(/^hello world$/m);
    expect(out).toMatch(/^dataVersion = 0$/m);
    expect(out).toMatch(/^numChildren = 2$/m);
    expect(out).toMatch(/^again$/m);
    expect(out).toMatch(/^\[eph, seq-0000000001\]$/m);
    expect(out).toMatch(/^\/s\n\/s\/eph\n\/s\/seq-0000000001$/m);
    expect(out).toMatch(/^dataVersion = 1$/m);
    expect(out).toMatch(/^2$/m);
    expect(out).toMatch(/^\[\/s\/eph\]$/m);
    expect(out).toMatch(/^Sync is OK$/m);
    expect(out).toMatch(/^'world,'anyone\n: cdrwa$/m);
    expect(out).toMatch(/^ip: 127\.0\.0\.1$/m);
  });

  it('sets ACLs, authenticates, deletes recursively and reports errors with a non-zero exit', async () => {
    const script = [
      'create /acl x',
      'addauth digest alice:secret',
      'setAcl /acl auth::cdrwa',
      'getAcl /acl',
      'create /tree x',
      'create /tree/a x',
      'create /tree/a/b x',
      'delete /tree',
      'deleteall /tree',
      'ls /tree',
      'set -v 7 /acl y',
      'bogus',
    ].join('\n');
    const { code, out, err } = await shell(['-server', target], script);
    expect(code).toBe(1);
    expect(out).toMatch(/^'digest,'alice:[^\n]+\n: cdrwa$/m);
    expect(err).toMatch(/^Node not empty: \/tree$/m);
    expect(err).toMatch(/^Node does not exist: \/tree$/m);
    expect(err).toMatch(/^version No is not valid : \/acl$/m);
    expect(err).toMatch(/^Command not found: bogus$/m);
    // Another session cannot read it without alice's identity.
    const stranger = await shell(['-server', target, 'get', '/acl']);
    expect(stranger.code).toBe(1);
    expect(stranger.err).toMatch(/^Insufficient permission : \/acl$/m);
  });

  it('prints watch events and runs a single command from the command line', async () => {
    const { out } = await shell(
      ['-server', target],
      ['create /w 1', 'get -w /w', 'set /w 2', 'sync /w', 'addWatch /w', 'create /w/c x', 'sync /w'].join(
        '\n',
      ),
    );
    expect(out).toMatch(/WATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:\/w/);
    expect(out).toMatch(/WatchedEvent state:SyncConnected type:NodeCreated path:\/w\/c/);
    const single = await shell(['-server', target, 'ls', '/w']);
    expect(single.code).toBe(0);
    expect(single.out).toBe('[c]\n');
    const usage = await shell(['-server', target, 'create', 'no-slash']);
    expect(usage.code).toBe(1);
  });

  const bin = fileURLToPath(new URL('../bin/zabkit.js', import.meta.url));
  const built = existsSync(fileURLToPath(new URL('../dist/cli.js', import.meta.url)));
  it.skipIf(!built)(
    'works in a terminal: prompt, tab completion of paths, history',
    async () => {
      await shell(['-server', target], 'create /completion x\ncreate /completion/alpha 1\n');
      const { stdout } = await promisify(execFile)(
        'python3',
        [
          fileURLToPath(new URL('./shell-pty.py', import.meta.url)),
          process.execPath,
          bin,
          target,
          // A person presses tab, sees the completion, then presses enter.
          'get /completion/al\\t',
          '\\r',
          'history\\r',
        ],
        { timeout: 30_000 },
      );
      expect(stdout).toMatch(/\[zk: 127\.0\.0\.1:\d+\(CONNECTED\) 0\]/);
      // Tab completed the path, so get found the node.
      expect(stdout).toMatch(/get \/completion\/alpha/);
      expect(stdout).toMatch(/\r?\n1\r?\n/);
      expect(stdout).toMatch(/0 - get \/completion\/alpha/);
    },
    40_000,
  );
});
