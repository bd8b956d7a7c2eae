/**
 * The TCP link's own behaviour, against scripted servers: connect strings, the read-only
 * handshake, an expired session, and a server that goes silent.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { encodeConnectResponse, FrameDecoder } from '@zabkit/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { connectTcp, parseConnectString, splitChroot } from '../src/index.js';

const servers: Server[] = [];

/** A server that answers the handshake with `reply` and then never says anything again. */
async function scriptedServer(reply: (socket: Socket) => Uint8Array | undefined): Promise<number> {
  const server = createServer((socket) => {
    const frames = new FrameDecoder();
    let answered = false;
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      for (const _frame of frames.push(chunk)) {
        if (answered) continue;
        answered = true;
        const answer = reply(socket);
        if (answer !== undefined) socket.write(answer);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

describe('connect strings', () => {
  it('parses hosts, default ports and IPv6 literals', () => {
    expect(parseConnectString('a:1,b, [::1]:3')).toEqual([
      { host: 'a', port: 1 },
      { host: 'b', port: 2181 },
      { host: '::1', port: 3 },
    ]);
  });

  it('refuses what it cannot honour', () => {
    expect(() => parseConnectString('')).toThrow(RangeError);
    expect(() => parseConnectString('a:0')).toThrow(RangeError);
    expect(() => parseConnectString('/app')).toThrow(/names no server/);
  });

  it('splits off a chroot as ZooKeeper does: from the first slash, validated, "/" meaning none', () => {
    expect(splitChroot('a:1,b:2/app/x')).toEqual({ hosts: 'a:1,b:2', chroot: '/app/x' });
    expect(parseConnectString('a:1,b:2/app/x')).toEqual([
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
    ]);
    expect(splitChroot('a:1/')).toEqual({ hosts: 'a:1', chroot: undefined });
    expect(splitChroot('a:1')).toEqual({ hosts: 'a:1', chroot: undefined });
    expect(() => splitChroot('a:1/app/')).toThrow(RangeError);
    expect(() => splitChroot('a:1/app//x')).toThrow(RangeError);
  });

  it('refuses two different chroots', async () => {
    await expect(connectTcp('127.0.0.1:1/a', { chroot: '/b' })).rejects.toThrow(/two chroots/);
  });
});

describe('the TCP link', () => {
  it('reports a read-only server as connectedReadOnly', async () => {
    const port = await scriptedServer(() =>
      encodeConnectResponse({
        timeoutMs: 3000,
        sessionId: 42n,
        password: new Uint8Array(16),
        readOnly: true,
      }),
    );
    const client = await connectTcp(`127.0.0.1:${port}`, { allowReadOnly: true, heartbeat: false });
    expect(client.state).toBe('connectedReadOnly');
    expect(client.sessionId).toBe(42n);
    await client.close().catch(() => undefined);
  });

  it('rejects the connection when the server says the session is expired', async () => {
    const port = await scriptedServer(() =>
      encodeConnectResponse({ timeoutMs: 0, sessionId: 0n, password: new Uint8Array(16) }),
    );
    await expect(connectTcp(`127.0.0.1:${port}`, { sessionId: 7n })).rejects.toThrow(/SessionExpired/);
  });

  it('gives up on a server that stays silent for two thirds of the timeout', async () => {
    const port = await scriptedServer(() =>
      encodeConnectResponse({ timeoutMs: 600, sessionId: 9n, password: new Uint8Array(16) }),
    );
    const client = await connectTcp(`127.0.0.1:${port}`, { sessionTimeoutMs: 600 });
    const states: string[] = [];
    client.onStateChange((state) => states.push(state));
    const started = Date.now();
    while (!states.includes('disconnected')) {
      if (Date.now() - started > 3000) throw new Error(`still ${client.state}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    await client.close().catch(() => undefined);
  });
});

describe('a process awaiting only a connect', () => {
  it('waits for its outcome instead of exiting early', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { fileURLToPath } = await import('node:url');
    const client = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const script = `import { connectTcp } from ${JSON.stringify(client)};
try { await connectTcp('127.0.0.1:1', { connectTimeoutMs: 300 }); } catch (error) { console.log('rejected', error.codeName); }`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    expect(stdout.trim()).toBe('rejected ConnectionLoss');
  });
});
