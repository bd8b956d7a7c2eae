// One load process of the wire bench, as a lean pipelining client: it speaks the ZooKeeper
// protocol straight over node:net with frames encoded by @zabkit/wire, keeps every request
// of a slot in flight at once, and reads only the reply header (xid, zxid, err). It spends
// a fraction of the CPU a full client does, so on a small machine the servers, not the
// load, set the pace. Same IPC protocol as wire-worker.mjs.
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { encodeConnectRequest, encodeRequest, FrameDecoder } from '@zabkit/wire';

const openAcl = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const pingXid = -2;
const pingOpcode = 11;

/** One session on one socket: requests go out corked per turn, replies are matched by xid. */
class RawSession {
  constructor(socket) {
    this.socket = socket;
    this.decoder = new FrameDecoder(64 * 1024 * 1024);
    this.pending = new Map();
    this.nextXid = 1;
    this.connected = undefined;
    this.corked = false;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('connection closed')));
    this.pinger = setInterval(() => this.sendFrame(ping()), 5_000);
  }

  /** Opens a session; over TLS when `tls` (Node's TLS options: the CA to trust) is given. */
  static open(host, port, tls) {
    const socket = tls === undefined ? tcpConnect({ host, port }) : tlsConnect({ host, port, ...tls });
    const session = new RawSession(socket);
    return new Promise((resolve, reject) => {
      session.connected = { resolve: () => resolve(session), reject };
      socket.once(tls === undefined ? 'connect' : 'secureConnect', () =>
        socket.write(
          encodeConnectRequest({
            lastZxidSeen: 0n,
            timeoutMs: 30_000,
            sessionId: 0n,
            password: new Uint8Array(16),
          }),
        ),
      );
    });
  }

  onData(chunk) {
    let frames;
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      this.fail(error);
      return;
    }
    // Replies handled in this turn may send new requests: they leave in one write.
    this.cork();
    for (const frame of frames) {
      if (this.connected !== undefined) {
        const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
        const sessionId = view.getBigInt64(8);
        const done = this.connected;
        this.connected = undefined;
        if (sessionId === 0n) done.reject(new Error('no session'));
        else done.resolve();
        continue;
      }
      const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
      const xid = view.getInt32(0);
      const err = view.getInt32(12);
      if (xid < 0) continue; // ping answers and watch events
      const waiter = this.pending.get(xid);
      if (waiter === undefined) continue;
      this.pending.delete(xid);
      waiter(err);
    }
  }

  cork() {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  sendFrame(frame) {
    this.cork();
    this.socket.write(frame);
  }

  /** Sends a request; `done(err)` gets the reply's error code (0 for success). */
  send(request, done) {
    const xid = this.nextXid++;
    this.pending.set(xid, done);
    this.sendFrame(encodeRequest(xid, request));
  }

  fail(error) {
    clearInterval(this.pinger);
    if (this.connected !== undefined) {
      this.connected.reject(error);
      this.connected = undefined;
    }
    for (const waiter of this.pending.values()) waiter(error);
    this.pending.clear();
  }

  close() {
    clearInterval(this.pinger);
    this.socket.destroy();
  }
}

function ping() {
  const frame = new Uint8Array(12);
  const view = new DataView(frame.buffer);
  view.setInt32(0, 8);
  view.setInt32(4, pingXid);
  view.setInt32(8, pingOpcode);
  return frame;
}

let sessions = [];

/** A server still syncing refuses sessions; like any client, try again for a while. */
async function openWithRetries(host, port, tls) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await RawSession.open(host, port, tls);
    } catch (error) {
      if (attempt === 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function requestFor(op, path, value) {
  if (op === 'create') return { op: 'create', path, data: value, acl: openAcl, mode: 0, ttlMs: -1n };
  if (op === 'setData') return { op: 'setData', path, data: value, version: -1 };
  return { op: 'getData', path, watch: false };
}

function run({ op, prefix, from, count, concurrency, valueBytes }) {
  const value = new Uint8Array(valueBytes).fill(120);
  const latencies = new Array(count);
  let next = 0;
  let finished = 0;
  return new Promise((resolve, reject) => {
    if (count === 0) resolve(latencies);
    const issue = (session) => {
      const index = next++;
      if (index >= count) return;
      const t0 = process.hrtime.bigint();
      session.send(requestFor(op, `${prefix}${from + index}`, value), (err) => {
        if (err !== 0) {
          reject(
            new Error(
              `${op} ${prefix}${from + index}: ${err instanceof Error ? err.message : `error ${err}`}`,
            ),
          );
          return;
        }
        latencies[index] = Number(process.hrtime.bigint() - t0) / 1e6;
        if (++finished === count) resolve(latencies);
        else issue(session);
      });
    };
    for (let slot = 0; slot < Math.min(concurrency, count); slot++) issue(sessions[slot % sessions.length]);
  });
}

/** Resolves once `path` exists on `session`'s server (err 0 to an exists; -101 is NoNode). */
async function waitVisible(session, path) {
  const started = Date.now();
  for (;;) {
    const err = await new Promise((resolve) => session.send({ op: 'exists', path, watch: false }, resolve));
    if (err === 0) return;
    if (err !== -101)
      throw new Error(`exists ${path}: ${err instanceof Error ? err.message : `error ${err}`}`);
    if (Date.now() - started > 30_000) throw new Error(`${path} not visible after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

process.on('message', async (message) => {
  try {
    if (message.kind === 'connect') {
      sessions = [];
      const servers = message.connectString.split(',');
      for (let i = 0; i < message.clients; i++) {
        // Sessions spread over the servers, as a client library picking at random would.
        const [host, port] = servers[(i + message.offset) % servers.length].split(':');
        sessions.push(await openWithRetries(host, Number(port), message.tls));
      }
      process.send({ kind: 'ready' });
    } else if (message.kind === 'run') {
      process.send({ kind: 'done', latencies: await run(message) });
    } else if (message.kind === 'catchUp') {
      await Promise.all(sessions.map((session) => waitVisible(session, message.path)));
      process.send({ kind: 'caughtUp' });
    } else if (message.kind === 'close') {
      for (const session of sessions) session.close();
      setTimeout(() => process.exit(0), 100);
    }
  } catch (error) {
    process.send({ kind: 'error', message: String(error) });
  }
});
