/**
 * `zabkit server` with no configuration: the four-letter words ZooKeeper 3.9 enables by
 * default (srvr), and not dump or cons, which list the session ids a hijacker needs; its admin
 * server on loopback only.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fourLetterWord, freePort } from './server-process.js';

const bin = fileURLToPath(new URL('../bin/zabkit.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'zabkit-defaults-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('zabkit server with no configuration', () => {
  it('answers srvr only, and refuses the other words as ZooKeeper does', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [bin, 'server', '--port', String(port), '--storage', 'memory'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await new Promise<void>((resolve) => {
        let out = '';
        child.stdout!.on('data', (chunk) => {
          out += chunk;
          if (out.includes('listening')) resolve();
        });
      });
      expect(await fourLetterWord(port, 'srvr')).toMatch(/^Zookeeper version: .*\nLatency min\/avg\/max: /);
      for (const word of ['dump', 'cons', 'stat', 'mntr', 'conf', 'envi', 'wchs', 'ruok', 'isro']) {
        expect(await fourLetterWord(port, word)).toBe(
          `${word} is not executed because it is not in the whitelist.\n`,
        );
      }
      // The admin server, which no whitelist guards, listens on loopback only (or says why
      // it could not, when port 8080 is taken here).
      expect(stderr).toMatch(/"(adminAddress|address)":"127\.0\.0\.1/);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});
