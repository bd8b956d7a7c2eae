/**
 * The admin commands that read or replace the whole tree (snapshot, restore) need
 * authentication; each refusal is answered as ZooKeeper 3.9 answers it and logged with the
 * command and the caller's address, so that an operator sees who tried.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startPeer } from '../src/embed/peer.js';
import type { Logger } from '../src/log.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

interface Entry {
  readonly level: string;
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

function recordingLogger(entries: Entry[]): Logger {
  const at = (level: string) => (fields: Record<string, unknown> | string, message?: string) =>
    entries.push(
      typeof fields === 'string'
        ? { level, fields: {}, message: fields }
        : { level, fields, message: message ?? '' },
    );
  const logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  } as unknown as Logger;
  return logger;
}

describe('admin commands that need authentication', () => {
  it('refuses a caller without it with 401, and logs the command and the address', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zabkit-admin-refusals-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const entries: Entry[] = [];
    const peer = await startPeer({
      id: 1,
      dataDir: dir,
      storage: 'memory',
      clientPort: { port: 0, host: '127.0.0.1' },
      adminServer: { address: '127.0.0.1' },
      log: recordingLogger(entries),
    });
    cleanups.push(() => peer.close());
    const url = `http://127.0.0.1:${peer.adminAddress()!.port}/commands/snapshot`;
    const refusals = () =>
      entries.filter((entry) => entry.level === 'warn' && entry.fields.command === 'snapshot');

    const missing = await fetch(url);
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error?: unknown }).error).toBe(
      'Auth info is missing for the command',
    );
    const wrong = await fetch(url, { headers: { authorization: 'digest nobody' } });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error?: unknown }).error).toBe('Not authenticated');
    expect(refusals().map((entry) => [entry.fields.status, entry.message])).toEqual([
      [401, 'admin command snapshot refused: Auth info is missing for the command'],
      [401, 'admin command snapshot refused: Not authenticated'],
    ]);
    expect(refusals().every((entry) => String(entry.fields.remoteAddress).endsWith('127.0.0.1'))).toBe(true);

    // A caller the root's ACL lets in (world:anyone here, so any identity) is served, not logged.
    const allowed = await fetch(url, { headers: { authorization: 'ip' } });
    expect(allowed.status).toBe(200);
    await allowed.arrayBuffer();
    expect(refusals()).toHaveLength(2);
  });
});
