/**
 * The client port's limits against the clients they exist for, on a `zabkit server` process
 * measured from outside: a client that pipelines thousands of reads of a 500 KB znode and never
 * reads its socket, and 2,000 connections that never start a session. Bounds stated here:
 * the server's resident memory grows by less than {@link memoryGrowthBoundBytes} under the
 * first, and another client's p99 stays under {@link otherClientP99BoundMs} throughout.
 */
import { spawn } from 'node:child_process';
import { type Socket, connect as tcpConnect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { connectTcp } from '@zabkit/client';
import { MemoryStorage } from '@zabkit/storage-memory';
// @ts-expect-error: the package ships no types
import zookeeper from 'node-zookeeper-client';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { ServerNode } from '../src/node.js';
import { startStandalone, until } from './helpers.js';
import { fourLetterWord, type ServerProcess, startServerProcess } from './server-process.js';

/** Before the limits, 4,000 such reads took a server from 63 MiB to 2.2 GiB. */
const memoryGrowthBoundBytes = 64 * 1024 * 1024;
/** Before the limits, other clients' p99 went to 1-13 s. Generous: the machine is shared. */
const otherClientP99BoundMs = 500;

function frame(payload: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeInt32BE(payload.length);
  return Buffer.concat([length, payload]);
}

/** ConnectRequest{protocolVersion, lastZxidSeen, timeOut, sessionId, passwd}. */
function connectRequest(timeoutMs: number): Buffer {
  const payload = Buffer.alloc(44);
  payload.writeInt32BE(0, 0);
  payload.writeBigInt64BE(0n, 4);
  payload.writeInt32BE(timeoutMs, 12);
  payload.writeBigInt64BE(0n, 16);
  payload.writeInt32BE(16, 24);
  return frame(payload);
}

/** GetDataRequest{path, watch} with its header. */
function getDataRequest(xid: number, path: string): Buffer {
  const text = Buffer.from(path);
  const payload = Buffer.alloc(8 + 4 + text.length + 1);
  payload.writeInt32BE(xid, 0);
  payload.writeInt32BE(4, 4);
  payload.writeInt32BE(text.length, 8);
  text.copy(payload, 12);
  payload.writeUInt8(0, 12 + text.length);
  return frame(payload);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function connections(port: number): Promise<number> {
  const text = await fourLetterWord(port, 'srvr');
  const count = /Connections: (\d+)/.exec(text)?.[1];
  if (count === undefined) throw new Error(`srvr said ${JSON.stringify(text)}`);
  return Number(count);
}

async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string) {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const idleScript = fileURLToPath(new URL('./idle-connections.mjs', import.meta.url));

let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** Opens a session on a raw socket that is never read, and writes `requests` after its handshake. */
async function neverReading(port: number, requests: Buffer[]): Promise<Socket> {
  const socket: Socket = tcpConnect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.pause();
  socket.write(Buffer.concat([connectRequest(30_000), ...requests]));
  return socket;
}

/** SetDataRequest{path, data, version -1} with its header. */
function setDataRequest(xid: number, path: string, data: Buffer): Buffer {
  const text = Buffer.from(path);
  const payload = Buffer.alloc(8 + 4 + text.length + 4 + data.length + 4);
  payload.writeInt32BE(xid, 0);
  payload.writeInt32BE(5, 4);
  payload.writeInt32BE(text.length, 8);
  text.copy(payload, 12);
  payload.writeInt32BE(data.length, 12 + text.length);
  data.copy(payload, 16 + text.length);
  payload.writeInt32BE(-1, 16 + text.length + data.length);
  return frame(payload);
}

describe('a slow consumer', () => {
  it('pipelining 4,000 reads of a 500 KB znode, never reading, stays bounded and is closed', async () => {
    const stallMs = 4000;
    server = await startServerProcess([
      'maxSessionTimeout=60000',
      `zabkit.clientWriteStallTimeout=${stallMs}`,
    ]);
    const { port } = server;
    const zk = await connectTcp(`127.0.0.1:${port}`, { sessionTimeoutMs: 30_000 });
    try {
      await zk.create('/big', new Uint8Array(500 * 1024).fill(7));
      await zk.create('/small', 'x');
      for (let i = 0; i < 200; i++) await zk.getData('/small');
      const baseline = server.memory().rssBytes;
      expect(await connections(port)).toBe(2); // zk, and srvr's own

      const reads = Array.from({ length: 4000 }, (_v, i) => getDataRequest(i + 1, '/big'));
      const attacker = await neverReading(port, reads);
      const attackStarted = Date.now();

      // Another client reads and writes while the attacker's replies pile up, until it is closed.
      const latencies: number[] = [];
      let peakRss = baseline;
      let closedAfterMs: number | undefined;
      let lastCheck = 0;
      for (let i = 0; closedAfterMs === undefined; i++) {
        const elapsed = Date.now() - attackStarted;
        if (elapsed > stallMs + 15_000) throw new Error('the attacker was never closed');
        const started = performance.now();
        if (i % 4 === 0) await zk.setData('/small', `v${i}`);
        else await zk.getData('/small');
        latencies.push(performance.now() - started);
        peakRss = Math.max(peakRss, server.memory().rssBytes);
        if (elapsed - lastCheck > 250) {
          lastCheck = elapsed;
          if ((await connections(port)) === 2) closedAfterMs = Date.now() - attackStarted;
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const p99 = percentile(latencies, 99);
      console.log(
        `slow consumer: server RSS ${(baseline / 2 ** 20).toFixed(0)} MiB, peak ${(peakRss / 2 ** 20).toFixed(0)} MiB; ` +
          `another client's p99 ${p99.toFixed(1)} ms over ${latencies.length} requests; closed after ${closedAfterMs} ms`,
      );
      expect(peakRss - baseline).toBeLessThan(memoryGrowthBoundBytes);
      expect(p99).toBeLessThan(otherClientP99BoundMs);
      // Not before the stall bound: a client slow for less than that keeps its connection.
      expect(closedAfterMs).toBeGreaterThanOrEqual(stallMs);
      expect(server.log()).toMatch(/does not read its replies.*unread for 4000 ms/);
      attacker.destroy();
      expect((await zk.getData('/small')).data?.length).toBeGreaterThan(0);
    } finally {
      await zk.close();
    }
  });

  it('writes, then thousands of large reads that come due at once: still bounded', async () => {
    server = await startServerProcess(['maxSessionTimeout=60000', 'zabkit.clientWriteStallTimeout=4000']);
    const { port } = server;
    const zk = await connectTcp(`127.0.0.1:${port}`, { sessionTimeoutMs: 30_000 });
    try {
      await zk.create('/big', new Uint8Array(500 * 1024).fill(7));
      await zk.create('/small', 'x');
      const baseline = server.memory().rssBytes;
      // The reads queue behind the writes and come due together, far more than any buffer
      // bound: they wait unencoded while the client does not read.
      const requests: Buffer[] = [];
      for (let xid = 1; xid <= 300; xid++) requests.push(setDataRequest(xid, '/small', Buffer.from('y')));
      for (let xid = 301; xid <= 4300; xid++) requests.push(getDataRequest(xid, '/big'));
      const attacker = await neverReading(port, requests);
      let peakRss = baseline;
      const started = Date.now();
      while ((await connections(port)) !== 2) {
        if (Date.now() - started > 20_000) throw new Error('the attacker was never closed');
        peakRss = Math.max(peakRss, server.memory().rssBytes);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      peakRss = Math.max(peakRss, server.memory().peakBytes);
      console.log(
        `burst: server RSS ${(baseline / 2 ** 20).toFixed(0)} MiB, peak ${(peakRss / 2 ** 20).toFixed(0)} MiB; ` +
          `closed after ${Date.now() - started} ms`,
      );
      expect(peakRss - baseline).toBeLessThan(memoryGrowthBoundBytes);
      expect(server.log()).toMatch(/does not read its replies.*unread for 4000 ms/);
      attacker.destroy();
      expect((await zk.getData('/small')).data?.length).toBeGreaterThan(0);
    } finally {
      await zk.close();
    }
  });
});

describe('connections that never start a session', () => {
  it('2,000 of them are closed after nio.sessionlessCnxnTimeout while the server keeps serving', async () => {
    const timeoutMs = 3000;
    server = await startServerProcess(['maxClientCnxns=0', `nio.sessionlessCnxnTimeout=${timeoutMs}`]);
    const { port } = server;
    // A client with a session from before: it must outlive the sessionless ones.
    const zk = await connectTcp(`127.0.0.1:${port}`, { sessionTimeoutMs: 20_000 });
    try {
      await zk.create('/alive', 'yes');
      const opener = spawn(
        '/bin/sh',
        [
          '-c',
          'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"',
          process.execPath,
          idleScript,
          String(port),
          '2000',
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let output = '';
      opener.stdout!.on('data', (chunk) => {
        output += chunk;
      });
      const exited = new Promise((resolve) => opener.once('exit', resolve));
      try {
        await waitFor(() => output.includes('opened 2000'), 30_000, 'the idle connections opened');
        // While they are open, the server serves: a new session, reads and writes.
        const other = await connectTcp(`127.0.0.1:${port}`, { sessionTimeoutMs: 20_000 });
        await other.setData('/alive', 'still');
        expect((await zk.getData('/alive')).data).toEqual(new TextEncoder().encode('still'));
        await other.close();
        await waitFor(() => /closed|failed/.test(output), timeoutMs + 30_000, 'the idle connections closed');
        const [, shortestMs, longestMs] = /closed 2000 (\d+) (\d+)/.exec(output)!.map(Number);
        console.log(
          `2,000 sessionless connections: each closed ${shortestMs}-${longestMs} ms after it connected (timeout ${timeoutMs} ms)`,
        );
        // None before its time (the client may see its connect a little after the server accepted it), and
        // none long after it, on a loaded machine.
        expect(shortestMs).toBeGreaterThanOrEqual(timeoutMs - 500);
        expect(longestMs).toBeLessThan(timeoutMs + 10_000);
        // The session from before is untouched, and the server still serves.
        expect(zk.state).toBe('connected');
        expect((await zk.getData('/alive')).data).toEqual(new TextEncoder().encode('still'));
        expect(await connections(port)).toBe(2);
      } finally {
        opener.kill('SIGKILL');
        await exited;
      }
    } finally {
      await zk.close();
    }
  });
});

describe('over the outstanding limits, through node-zookeeper-client', () => {
  /** Runs node-zookeeper-client's callback API as a promise. */
  function call<T>(client: any, method: string, ...args: unknown[]): Promise<T> {
    return new Promise((resolve, reject) => {
      client[method](...args, (error: unknown, result: T) => (error ? reject(error) : resolve(result)));
    });
  }

  async function nzc(port: number): Promise<any> {
    const client = zookeeper.createClient(`127.0.0.1:${port}`, { sessionTimeout: 20_000, retries: 0 });
    await new Promise<void>((resolve) => {
      client.once('connected', () => resolve());
      client.connect();
    });
    return client;
  }

  it('holds a flood back instead of failing it, within globalOutstandingLimit and the per-connection limit', async () => {
    // A store that takes 2 ms per write, as a disk would: writes are outstanding a while.
    const storage = new MemoryStorage();
    const append = storage.append.bind(storage);
    storage.append = async (txns) => {
      await new Promise((resolve) => setTimeout(resolve, 2));
      await append(txns);
    };
    const { config } = parseConfig(
      'tickTime=200\ndataDir=/tmp/zabkit-test\nclientPort=0\nclientPortAddress=127.0.0.1\n' +
        'maxSessionTimeout=60000\nglobalOutstandingLimit=40\nzabkit.maxOutstandingPerConnection=30\n',
    );
    const node = await ServerNode.start({ config, storage });
    const port = node.address().port;
    const clients = [await nzc(port), await nzc(port), await nzc(port)];
    try {
      const [writer, reader, probe] = clients;
      await call(writer, 'create', '/flood', Buffer.from('x'));
      // One connection alone: its own limit binds.
      await Promise.all(
        Array.from({ length: 300 }, (_v, i) =>
          call(writer, 'create', `/flood/a${i}`, Buffer.from(String(i))),
        ),
      );
      expect(node.clientPort.budget.peak).toBeLessThanOrEqual(30);
      expect(node.clientPort.budget.peak).toBeGreaterThan(1);
      expect(node.clientPort.stats.readsThrottled).toBeGreaterThan(0);

      // Two floods and a third client asking one thing at a time: the server-wide limit binds,
      // every request gets its own right answer, and the third is not starved.
      const latencies: number[] = [];
      let flooding = true;
      const probing = (async () => {
        while (flooding) {
          const started = performance.now();
          await call(probe, 'exists', '/flood');
          latencies.push(performance.now() - started);
        }
      })();
      const [created, stats] = await Promise.all([
        Promise.all(
          Array.from({ length: 600 }, (_v, i) =>
            call<string>(writer, 'create', `/flood/b${i}`, Buffer.from('b')),
          ),
        ),
        Promise.all(
          Array.from({ length: 600 }, (_v, i) =>
            call<any>(reader, 'setData', `/flood/a${i % 300}`, Buffer.from(`v${i}`), -1),
          ),
        ),
      ]);
      flooding = false;
      await probing;
      expect(created).toEqual(Array.from({ length: 600 }, (_v, i) => `/flood/b${i}`));
      // Each node was set twice, in order: version 2 and the second value.
      expect(stats.filter((stat) => stat.version === 2)).toHaveLength(300);
      const values = await Promise.all(
        Array.from({ length: 300 }, (_v, i) => call<Buffer>(reader, 'getData', `/flood/a${i}`)),
      );
      expect(values.map(String)).toEqual(Array.from({ length: 300 }, (_v, i) => `v${i + 300}`));
      // At the limit, a connection with nothing outstanding may still send one: a flood
      // cannot lock a quiet client out.
      expect(node.clientPort.budget.peak).toBeGreaterThan(30);
      expect(node.clientPort.budget.peak).toBeLessThanOrEqual(40 + clients.length);
      expect(latencies.length).toBeGreaterThan(0);
      expect(node.clientPort.budget.outstanding).toBe(0);
    } finally {
      for (const client of clients) client.close();
      await node.close();
    }
  });
});

/** Collects length-prefixed frames from a socket once it is read. */
function collectFrames(socket: Socket): Buffer[] {
  const frames: Buffer[] = [];
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const length = pending.readInt32BE(0);
      if (pending.length < 4 + length) break;
      frames.push(pending.subarray(4, 4 + length));
      pending = pending.subarray(4 + length);
    }
  });
  return frames;
}

/** AddWatchRequest{path, mode} with its header; mode 1 is PERSISTENT_RECURSIVE. */
function addWatchRequest(xid: number, path: string, mode: number): Buffer {
  const text = Buffer.from(path);
  const payload = Buffer.alloc(8 + 4 + text.length + 4);
  payload.writeInt32BE(xid, 0);
  payload.writeInt32BE(106, 4);
  payload.writeInt32BE(text.length, 8);
  text.copy(payload, 12);
  payload.writeInt32BE(mode, 12 + text.length);
  return frame(payload);
}

describe('the client port under its limits, in process', () => {
  it('closes a connection over maxCnxns at once, and counts it', async () => {
    const node = await startStandalone('maxCnxns=3\nmaxClientCnxns=0\n');
    const port = node.address().port;
    const open: Socket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const socket = tcpConnect({ host: '127.0.0.1', port });
        socket.on('error', () => undefined);
        await new Promise((resolve) => socket.once('connect', resolve));
        open.push(socket);
      }
      await until(() => node.clientPort.connectionInfo().length === 3);
      const refused = tcpConnect({ host: '127.0.0.1', port });
      refused.on('error', () => undefined);
      await new Promise((resolve) => refused.once('close', resolve));
      expect(node.clientPort.stats.connectionsRefused).toBe(1);
      expect(node.clientPort.connectionInfo()).toHaveLength(3);
      // One goes, and there is room again.
      open.pop()!.destroy();
      await until(() => node.clientPort.connectionInfo().length === 2);
      const zk = await connectTcp(`127.0.0.1:${port}`, { sessionTimeoutMs: 10_000 });
      await zk.create('/room', '');
      await zk.close();
    } finally {
      for (const socket of open) socket.destroy();
      await node.close();
    }
  });

  it('sends a watch event after the replies that waited for the client to read, as the core ordered them', async () => {
    const node = await startStandalone('zabkit.clientWriteBufferHighWater=65536\n');
    const port = node.address().port;
    const zk = await connectTcp(`127.0.0.1:${port}`, { sessionTimeoutMs: 10_000 });
    const reader = tcpConnect({ host: '127.0.0.1', port });
    const readerConnected = new Promise((resolve) => reader.once('connect', resolve));
    try {
      const old = new Uint8Array(500 * 1024).fill(1);
      await zk.create('/big', old);
      reader.on('error', () => undefined);
      await readerConnected;
      reader.pause();
      // 100 reads, the first setting a data watch, answered at once and left unread.
      const reads = [getDataRequest(1, '/big')];
      reads[0]!.writeUInt8(1, reads[0]!.length - 1);
      for (let xid = 2; xid <= 100; xid++) reads.push(getDataRequest(xid, '/big'));
      reader.write(Buffer.concat([connectRequest(10_000), ...reads]));
      // Served (the watch is set), answered in the same step, and waiting unencoded.
      await until(() => node.driver.peer.replicaStats().watches.watches === 1);
      await until(() => node.clientPort.connectionInfo().some((c) => c.received === 101));
      await zk.setData('/big', 'new');
      // Now read everything: the 100 replies (old data), then the event.
      const frames = collectFrames(reader);
      reader.resume();
      await until(() => frames.length === 102, 20_000);
      const xids = frames.slice(1).map((f) => f.readInt32BE(0));
      expect(xids).toEqual([...Array.from({ length: 100 }, (_v, i) => i + 1), -1]);
      for (const reply of frames.slice(1, 101)) expect(reply.length).toBeGreaterThan(500 * 1024);
    } finally {
      reader.destroy();
      await zk.close();
      await node.close();
    }
  });

  it('closes a client whose unread replies and events pass zabkit.clientWriteBufferMax', async () => {
    const node = await startStandalone(
      'zabkit.clientWriteBufferHighWater=65536\nzabkit.clientWriteBufferMax=262144\nzabkit.clientWriteStallTimeout=60000\n',
    );
    const port = node.address().port;
    const zk = await connectTcp(`127.0.0.1:${port}`, { sessionTimeoutMs: 10_000 });
    const reader = tcpConnect({ host: '127.0.0.1', port });
    const readerConnected = new Promise((resolve) => reader.once('connect', resolve));
    let closed = false;
    try {
      await zk.create('/big', new Uint8Array(500 * 1024).fill(1));
      reader.on('error', () => undefined);
      reader.on('close', () => {
        closed = true;
      });
      await readerConnected;
      reader.pause();
      const requests = [connectRequest(10_000), addWatchRequest(1, '/', 1)];
      for (let xid = 2; xid <= 100; xid++) requests.push(getDataRequest(xid, '/big'));
      reader.write(Buffer.concat(requests));
      await until(() => node.clientPort.connectionInfo().some((c) => c.received === 101));
      await until(() => node.driver.peer.replicaStats().watches.watches === 1);
      // Events behind the waiting replies pile up until the bound closes the connection.
      const name = 'n'.repeat(1000);
      for (let i = 0; i < 500 && node.clientPort.stats.connectionsSlowConsumer === 0; i++) {
        await zk.create(`/${name}${i}`, '');
      }
      expect(node.clientPort.stats.connectionsSlowConsumer).toBe(1);
      await until(() => node.clientPort.connectionInfo().length === 1);
      reader.resume();
      await until(() => closed);
      expect((await zk.getData('/big')).stat.dataLength).toBe(500 * 1024);
    } finally {
      reader.destroy();
      await zk.close();
      await node.close();
    }
  });
});
