// A lean ZooKeeper session for benchmarks: it speaks the protocol straight over node:net with
// frames encoded by @zabkit/wire, keeps every request in flight at once, and reads only what a
// bench needs of a reply (the header; the whole frame for those who ask). It costs a fraction
// of the CPU a full client does, so on a small machine the servers, not the load, set the pace.
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { encodeConnectRequest, encodeRequest, FrameDecoder } from '@zabkit/wire';

/** The ACL every bench node gets: world:anyone, all permissions. */
export const openAcl = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
/** ZooKeeper's NoNode error code. */
export const noNode = -101;
const pingXid = -2;
const watchEventXid = -1;
const pingOpcode = 11;

/** One session on one socket: requests go out corked per turn, replies are matched by xid. */
export class RawSession {
  constructor(socket, pingEveryMs) {
    this.socket = socket;
    this.decoder = new FrameDecoder(64 * 1024 * 1024);
    this.pending = new Map();
    this.nextXid = 1;
    this.connected = undefined;
    this.corked = false;
    this.closed = false;
    /** Called with (frame, arrival time from process.hrtime.bigint()) for every watch event. */
    this.onWatchEvent = undefined;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('connection closed')));
    this.pinger = setInterval(() => this.sendFrame(ping()), pingEveryMs);
  }

  /**
   * Opens a session asking for `timeoutMs` (pinging at a third of it, as clients do); over TLS
   * when `tls` (Node's TLS options: the CA to trust) is given.
   */
  static open(host, port, { timeoutMs = 30_000, tls } = {}) {
    const socket = tls === undefined ? tcpConnect({ host, port }) : tlsConnect({ host, port, ...tls });
    const session = new RawSession(socket, Math.max(100, Math.floor(timeoutMs / 3)));
    return new Promise((resolve, reject) => {
      // A server still starting may take the connection and never answer the handshake.
      const timer = setTimeout(() => {
        session.fail(new Error('no session: handshake timed out'));
        session.drop();
      }, 10_000);
      session.connected = {
        resolve: () => {
          clearTimeout(timer);
          resolve(session);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      socket.once(tls === undefined ? 'connect' : 'secureConnect', () =>
        socket.write(
          encodeConnectRequest({ lastZxidSeen: 0n, timeoutMs, sessionId: 0n, password: new Uint8Array(16) }),
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
      const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
      if (this.connected !== undefined) {
        const sessionId = view.getBigInt64(8);
        const done = this.connected;
        this.connected = undefined;
        if (sessionId === 0n) done.reject(new Error('no session'));
        else done.resolve();
        continue;
      }
      const xid = view.getInt32(0);
      if (xid === watchEventXid) {
        this.onWatchEvent?.(frame, process.hrtime.bigint());
        continue;
      }
      if (xid < 0) continue; // ping answers
      const waiter = this.pending.get(xid);
      if (waiter === undefined) continue;
      this.pending.delete(xid);
      waiter(view.getInt32(12), frame);
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
    if (this.closed) return;
    this.cork();
    this.socket.write(frame);
  }

  /**
   * Sends a request; `done(err, frame)` gets the reply's error code (0 for success) and the
   * whole reply frame, or an Error when the session failed first.
   */
  send(request, done) {
    const xid = this.nextXid++;
    this.pending.set(xid, done);
    this.sendFrame(encodeRequest(xid, request));
  }

  /** Resolves with the reply's error code (and frame); rejects only when the session fails. */
  request(request) {
    return new Promise((resolve, reject) =>
      this.send(request, (err, frame) => (err instanceof Error ? reject(err) : resolve({ err, frame }))),
    );
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

  /** Closes the socket without closing the session: the server expires it after its timeout. */
  drop() {
    this.closed = true;
    clearInterval(this.pinger);
    this.socket.destroy();
  }

  close() {
    this.drop();
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

/** A server still starting or syncing refuses sessions; like any client, try again for a while. */
export async function openWithRetries(host, port, options = {}, attempts = 50) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await RawSession.open(host, port, options);
    } catch (error) {
      if (attempt === attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The request a bench op stands for, on `path`. */
export function requestFor(op, path, value) {
  if (op === 'create') return { op: 'create', path, data: value, acl: openAcl, mode: 0, ttlMs: -1n };
  if (op === 'setData') return { op: 'setData', path, data: value, version: -1 };
  return { op: 'getData', path, watch: false };
}
