/**
 * Where embedded peers put their admin server: nowhere unless asked (several peers of one host
 * must not all reach for ZooKeeper's port 8080), on a free port when asked without one, and a
 * port that is taken is an AdminServerStartError naming it, for an embedder, or a logged error
 * that leaves the clients served, for `zabkit server`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AdminServerStartError } from '../src/admin/server.js';
import { ConfigError, parseConfig } from '../src/config.js';
import { configFromOptions } from '../src/embed/options.js';
import { type EmbeddedPeer, startPeer } from '../src/embed/peer.js';
import type { Logger } from '../src/log.js';
import { ServerNode } from '../src/node.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'zabkit-embed-admin-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function peer(options: Partial<Parameters<typeof startPeer>[0]> = {}): Promise<EmbeddedPeer> {
  const started = await startPeer({
    id: 1,
    dataDir: await dataDir(),
    storage: 'memory',
    clientPort: { port: 0, host: '127.0.0.1' },
    ...options,
  });
  cleanups.push(() => started.close());
  return started;
}

/** A listener holding a port, as another server on the host would. */
async function occupied(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { server, port: (server.address() as { port: number }).port };
}

/** A logger that keeps what it was told at error level. */
function recordingLogger(errors: { fields: Record<string, unknown>; message: string }[]): Logger {
  const quiet = () => undefined;
  const logger: Logger = {
    debug: quiet,
    info: quiet,
    warn: quiet,
    error: (fields: Record<string, unknown>, message: string) => errors.push({ fields, message }),
    child: () => logger,
  } as unknown as Logger;
  return logger;
}

describe('the admin server of embedded peers', () => {
  it('is off unless asked for, so that peers of one host do not collide on 8080', async () => {
    const { config } = configFromOptions({ id: 1, dataDir: '/var/lib/app', clientPort: 2181 });
    expect(config.systemProperties.adminServer.enabled).toBe(false);
    const errors: { fields: Record<string, unknown>; message: string }[] = [];
    const first = await peer({ log: recordingLogger(errors) });
    const second = await peer({ log: recordingLogger(errors) });
    expect(first.address()).toBeDefined();
    expect(second.address()).toBeDefined();
    expect(first.adminAddress()).toBeUndefined();
    expect(second.adminAddress()).toBeUndefined();
    expect(errors).toEqual([]);
    // zoo.cfg keeps ZooKeeper's default.
    const { config: fromFile } = parseConfig('dataDir=/var/lib/app\nclientPort=2181\n');
    expect(fromFile.systemProperties.adminServer).toMatchObject({ enabled: true, port: 8080 });
  });

  it('listens on a free port when asked without one, and answers commands', async () => {
    const started = await peer({ adminServer: { address: '127.0.0.1' } });
    const admin = started.adminAddress();
    expect(admin).toBeDefined();
    expect(admin!.port).not.toBe(8080);
    const response = await fetch(`http://127.0.0.1:${admin!.port}/commands/ruok`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ command: 'ruok', error: null });
  });

  it('refuses to start on a port that is taken, naming it, and leaves nothing open', async () => {
    const { port } = await occupied();
    const options = {
      id: 1,
      dataDir: await dataDir(),
      storage: 'memory' as const,
      clientPort: { port: 0, host: '127.0.0.1' },
      adminServer: { address: '127.0.0.1', port },
    };
    const failure = await startPeer(options).then(
      (started) => {
        cleanups.push(() => started.close());
        return undefined;
      },
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(AdminServerStartError);
    const error = failure as AdminServerStartError;
    expect(error.code).toBe('EADDRINUSE');
    expect(error.port).toBe(port);
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toContain('in use');
    // The same options on a free port start: the failed start closed what it had opened.
    const again = await startPeer({ ...options, adminServer: { address: '127.0.0.1' } });
    cleanups.push(() => again.close());
    expect(again.adminAddress()).toBeDefined();
  });

  it('checks the port it is given', () => {
    expect(() => configFromOptions({ id: 1, dataDir: '/d', adminServer: { port: 70_000 } })).toThrow(
      ConfigError,
    );
    expect(() => configFromOptions({ id: 1, dataDir: '/d', adminServer: { commandUrl: 'cmds' } })).toThrow(
      /adminServer.commandUrl/,
    );
  });
});

describe('the admin server of `zabkit server`', () => {
  it('logs a taken port as an error naming it and serves clients without it, as QuorumPeer does', async () => {
    const { port } = await occupied();
    const { config } = parseConfig(
      `tickTime=200\ndataDir=/tmp/zabkit-embed-admin\nclientPort=0\nclientPortAddress=127.0.0.1\nadmin.serverAddress=127.0.0.1\nadmin.serverPort=${port}\n`,
    );
    const errors: { fields: Record<string, unknown>; message: string }[] = [];
    const node = await ServerNode.start({ config, log: recordingLogger(errors) });
    cleanups.push(() => node.close());
    expect(node.adminAddress()).toBeUndefined();
    expect(node.address().port).toBeGreaterThan(0);
    expect(node.adminServerError).toContain(`127.0.0.1:${port}`);
    const logged = errors.find((entry) => entry.message.includes('admin server'));
    expect(logged?.fields.code).toBe('EADDRINUSE');
    expect(logged?.message).toContain('serving clients without it');
  });
});
