/**
 * @zabkit/transport-tcp: ZAB peer links over TCP.
 *
 * Each endpoint dials every peer for its own outbound messages and receives on the
 * connections its peers dial to it: two sockets per pair, one per direction. That avoids
 * ZooKeeper's "higher id wins" tie-break (and the dial races it has to resolve) at the cost
 * of one extra socket per pair. The two sockets still form one link: when either breaks,
 * both are torn down, unsent messages are dropped and `linkDown` is reported once, so both
 * ends learn of a break promptly (a leader forgets a learner, a learner looks for a leader),
 * as with one socket per pair. Dropping what was unsent keeps delivery FIFO: nothing queued
 * before a break can arrive after something sent after it.
 *
 * @packageDocumentation
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { decodePeerMessage, encodePeerMessageWithRoom } from '@zabkit/codec';
import type { PeerMessage, PeerTransport, ServerId, TransportHandlers } from '@zabkit/core';
import { decodeHandshake, encodeHandshakeFrame, FrameReader } from './frames.js';

export { decodePeerMessage, encodePeerMessage, PeerCodecError } from '@zabkit/codec';
export {
  decodeHandshake,
  encodeHandshakeFrame,
  FrameError,
  FrameReader,
  protocolMagic,
  protocolVersion,
} from './frames.js';

/** Where a peer listens. */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** Backoff between connection attempts: doubles from `initialMs` up to `maxMs`, with jitter. */
export interface ReconnectOptions {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** Options for one TCP endpoint. */
export interface TcpTransportOptions {
  readonly serverId: ServerId;
  /** Where to accept peers' connections; port 0 picks a free port (see `start`). */
  readonly listen: PeerAddress;
  /** Every other peer's address; more can be added with `setPeer`. An entry for `serverId` is ignored. */
  readonly peers?: ReadonlyMap<ServerId, PeerAddress>;
  /** Bytes queued for one peer (unsent or unflushed) before its link is declared broken. */
  readonly maxQueuedBytes?: number;
  /** Largest frame payload sent or accepted; SNAP syncs carry whole snapshots, hence the generous default. */
  readonly maxFrameBytes?: number;
  readonly reconnect?: ReconnectOptions;
}

/** 64 MiB: room for a snapshot sync without letting a stalled peer exhaust memory. */
export const defaultMaxQueuedBytes = 64 * 1024 * 1024;
/** 64 MiB, the largest frame by default. */
export const defaultMaxFrameBytes = 64 * 1024 * 1024;
/** 50 ms doubling to 2 s: quick to heal a blip, cheap against a peer that is down for long. */
export const defaultReconnect: ReconnectOptions = { initialMs: 50, maxMs: 2000 };

/** One peer's link: the outbound socket we dial and the inbound one it dialled to us. */
interface Link {
  readonly id: ServerId;
  address: PeerAddress;
  out: Socket | undefined;
  /** The outbound socket is connected and the handshake written. */
  connected: boolean;
  inbound: Socket | undefined;
  /** Frames not yet handed to the socket: while disconnected, or until the batch is flushed. */
  queue: Buffer[];
  queuedBytes: number;
  flushScheduled: boolean;
  attempt: number;
  timer: NodeJS.Timeout | undefined;
}

type Pending = { readonly from: ServerId; readonly message: PeerMessage } | { readonly down: ServerId };

/**
 * A PeerTransport over TCP. Call `start()` before use: it binds the listening socket and
 * starts dialling peers. Messages sent before a link is up are queued (up to
 * `maxQueuedBytes`) and go out once it connects.
 */
export class TcpTransport implements PeerTransport {
  readonly serverId: ServerId;
  private readonly listenAt: PeerAddress;
  private readonly maxQueuedBytes: number;
  private readonly maxFrameBytes: number;
  private readonly reconnect: ReconnectOptions;
  private readonly links = new Map<ServerId, Link>();
  /** Every socket we hold, handshaken or not, so close() can destroy them all. */
  private readonly sockets = new Set<Socket>();
  /** Peers cut off by `partition`: not dialled, refused, and sent nothing until `heal`. */
  private readonly cut = new Set<ServerId>();
  private readonly server: Server;
  private readonly serverClosed: Promise<void>;
  private handlers: TransportHandlers | undefined;
  /** What arrived before listen(): delivered in order once it is called. */
  private pending: Pending[] = [];
  private started = false;
  private closed = false;
  private boundAddress: PeerAddress | undefined;

  constructor(options: TcpTransportOptions) {
    this.serverId = options.serverId;
    this.listenAt = options.listen;
    this.maxQueuedBytes = options.maxQueuedBytes ?? defaultMaxQueuedBytes;
    this.maxFrameBytes = options.maxFrameBytes ?? defaultMaxFrameBytes;
    this.reconnect = options.reconnect ?? defaultReconnect;
    for (const [id, address] of options.peers ?? []) this.setPeer(id, address);
    this.server = createServer((socket) => this.accept(socket));
    this.server.on('error', () => {
      // Errors after listening (e.g. EMFILE on accept) must not crash the process; start() reports bind errors.
    });
    let resolveClosed!: () => void;
    this.serverClosed = new Promise((resolve) => (resolveClosed = resolve));
    this.server.on('close', () => resolveClosed());
  }

  /** Binds the listening socket and starts dialling peers; resolves with the bound address (the real port for port 0). */
  start(): Promise<PeerAddress> {
    if (this.started) return Promise.reject(new Error('TcpTransport already started'));
    this.started = true;
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.server.once('error', onError);
      this.server.listen(this.listenAt.port, this.listenAt.host, () => {
        this.server.off('error', onError);
        const address = this.server.address();
        const port = typeof address === 'object' && address !== null ? address.port : this.listenAt.port;
        this.boundAddress = { host: this.listenAt.host, port };
        if (this.closed) {
          this.server.close();
        } else {
          for (const link of this.links.values()) this.dial(link);
        }
        resolve(this.boundAddress);
      });
    });
  }

  /** The address bound by `start()`, once it resolved. */
  get address(): PeerAddress | undefined {
    return this.boundAddress;
  }

  /**
   * Adds a peer or changes its address (a changed address breaks the current link). Lets a
   * caller learn ports bound with port 0 after constructing the endpoints.
   */
  setPeer(id: ServerId, address: PeerAddress): void {
    if (id === this.serverId || this.closed) return;
    const existing = this.links.get(id);
    if (existing !== undefined) {
      if (existing.address.host === address.host && existing.address.port === address.port) return;
      existing.address = address;
      this.breakLink(existing, false);
      return;
    }
    const link: Link = {
      id,
      address,
      out: undefined,
      connected: false,
      inbound: undefined,
      queue: [],
      queuedBytes: 0,
      flushScheduled: false,
      attempt: 0,
      timer: undefined,
    };
    this.links.set(id, link);
    if (this.started) this.dial(link);
  }

  /** True while both directions of the link to `peer` are connected and handshaken. */
  isLinkUp(peer: ServerId): boolean {
    const link = this.links.get(peer);
    return link?.connected === true && link.inbound !== undefined;
  }

  /**
   * Queues `message` for `to` without waiting; it leaves with the rest of this tick's batch.
   * Unknown or partitioned peers get nothing. A message that cannot go out in order (queue
   * full, frame too large) breaks the link instead, which is reported.
   */
  send(to: ServerId, message: PeerMessage): void {
    if (this.closed || this.cut.has(to)) return;
    const link = this.links.get(to);
    if (link === undefined) return;
    const frame = encodePeerMessageWithRoom(message, 4);
    const payloadBytes = frame.length - 4;
    const buffered = link.connected && link.out !== undefined ? link.out.writableLength : 0;
    if (
      payloadBytes > this.maxFrameBytes ||
      link.queuedBytes + buffered + frame.length > this.maxQueuedBytes
    ) {
      // The message cannot go out in order: drop it with everything unsent and report the gap.
      this.breakLink(link, true);
      return;
    }
    frame.writeUInt32BE(payloadBytes, 0);
    link.queue.push(frame);
    link.queuedBytes += frame.length;
    if (link.connected && !link.flushScheduled) {
      link.flushScheduled = true;
      // Everything sent in this tick leaves in one corked write: one syscall for a burst of acks.
      queueMicrotask(() => this.flush(link));
    }
  }

  /** Starts delivering; whatever arrived earlier is delivered first. Handlers must not throw. */
  listen(handlers: TransportHandlers): void {
    this.handlers = handlers;
    const pending = this.pending;
    this.pending = [];
    for (const event of pending) {
      if (this.closed) return;
      if ('down' in event) handlers.linkDown(event.down);
      else handlers.message(event.from, event.message);
    }
  }

  /** Breaks the link to `peer` as a network failure would: both ends are told, then it reconnects. */
  disconnect(peer: ServerId): void {
    const link = this.links.get(peer);
    if (link !== undefined && !this.closed) this.breakLink(link, true);
  }

  /**
   * Cuts the link to `peer` and keeps it cut, as a network partition would, until `heal`:
   * both ends learn it broke, messages to it are dropped and its connections are refused.
   * Cut both ends for a symmetric partition; cut from one end only, the other keeps
   * redialling and sees each attempt fail as a broken link.
   */
  partition(peer: ServerId): void {
    if (this.closed || peer === this.serverId) return;
    this.cut.add(peer);
    const link = this.links.get(peer);
    if (link === undefined) return;
    clearTimeout(link.timer);
    link.timer = undefined;
    this.breakLink(link, true);
  }

  /** Ends a `partition` of `peer` (of every peer without an argument) and dials again. */
  heal(peer?: ServerId): void {
    const healed = peer === undefined ? [...this.cut] : [peer];
    for (const id of healed) {
      this.cut.delete(id);
      const link = this.links.get(id);
      if (link !== undefined) this.dial(link);
    }
  }

  /** Destroys every socket, clears every timer and stops listening; nothing is delivered after. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    for (const link of this.links.values()) {
      clearTimeout(link.timer);
      link.timer = undefined;
      link.queue = [];
      link.queuedBytes = 0;
      link.out = undefined;
      link.inbound = undefined;
      link.connected = false;
    }
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (this.server.listening) this.server.close();
  }

  /** Closes, then resolves once the listening port is released (so it can be bound again). */
  async shutdown(): Promise<void> {
    this.close();
    if (this.boundAddress !== undefined) await this.serverClosed;
  }

  private flush(link: Link): void {
    link.flushScheduled = false;
    const socket = link.out;
    if (!link.connected || socket === undefined || link.queue.length === 0) return;
    const queue = link.queue;
    link.queue = [];
    link.queuedBytes = 0;
    if (queue.length === 1) {
      socket.write(queue[0]!);
      return;
    }
    socket.cork();
    for (const frame of queue) socket.write(frame);
    socket.uncork();
  }

  private dial(link: Link): void {
    if (!this.started || this.closed || this.cut.has(link.id)) return;
    if (link.out !== undefined || link.timer !== undefined) return;
    const socket = createConnection({ host: link.address.host, port: link.address.port });
    this.sockets.add(socket);
    link.out = socket;
    socket.setNoDelay(true);
    // ZAB's own pings notice a silent peer; keepalive also reaps half-open sockets nobody writes to.
    socket.setKeepAlive(true, 10_000);
    socket.on('error', () => {
      // 'close' follows every error; the link is handled there.
    });
    socket.on('connect', () => {
      if (link.out !== socket) return;
      link.connected = true;
      link.attempt = 0;
      socket.write(encodeHandshakeFrame(this.serverId));
      this.flush(link);
    });
    // The peer never writes on our outbound socket; reading lets us see its FIN at once.
    socket.on('data', () => {
      if (link.out === socket) this.breakLink(link, true);
      else socket.destroy();
    });
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (link.out !== socket || this.closed) return;
      if (link.connected) {
        this.breakLink(link, true);
      } else {
        // Never connected: nothing was lost, keep the queue and try again later.
        link.out = undefined;
        this.scheduleDial(link);
      }
    });
  }

  private scheduleDial(link: Link): void {
    if (!this.started || this.closed || this.cut.has(link.id)) return;
    if (link.timer !== undefined || link.out !== undefined) return;
    const base = Math.min(this.reconnect.maxMs, this.reconnect.initialMs * 2 ** link.attempt);
    link.attempt = Math.min(link.attempt + 1, 30);
    const delay = base * (0.5 + Math.random() * 0.5);
    link.timer = setTimeout(() => {
      link.timer = undefined;
      this.dial(link);
    }, delay);
    // A peer that stays down must not keep the process alive.
    link.timer.unref();
  }

  /**
   * Tears down both sockets of a link and drops what was unsent. Reported when a live
   * socket was lost or `force` (messages were dropped); a failed dial alone is not a break.
   */
  private breakLink(link: Link, force: boolean): void {
    const live = link.connected || link.inbound !== undefined;
    const { out, inbound } = link;
    link.out = undefined;
    link.inbound = undefined;
    link.connected = false;
    link.queue = [];
    link.queuedBytes = 0;
    out?.destroy();
    inbound?.destroy();
    if (live || force) this.emit({ down: link.id });
    this.scheduleDial(link);
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const reader = new FrameReader(this.maxFrameBytes);
    let link: Link | undefined;
    socket.on('error', () => {
      // 'close' follows.
    });
    const fail = () => {
      if (link !== undefined && link.inbound === socket) this.breakLink(link, true);
      else socket.destroy();
    };
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      while (!socket.destroyed && !this.closed) {
        let payload: Buffer | undefined;
        try {
          payload = reader.next();
        } catch {
          fail();
          return;
        }
        if (payload === undefined) return;
        if (link === undefined) {
          const from = decodeHandshake(payload);
          const known = from === undefined || this.cut.has(from) ? undefined : this.links.get(from);
          if (known === undefined) {
            socket.destroy();
            return;
          }
          // A second connection from the same peer means it saw a break we missed: report it.
          if (known.inbound !== undefined) this.breakLink(known, true);
          known.inbound = socket;
          link = known;
          continue;
        }
        let message: PeerMessage;
        try {
          message = decodePeerMessage(payload);
        } catch {
          fail();
          return;
        }
        if (link.inbound !== socket) return;
        this.emit({ from: link.id, message });
      }
    });
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (!this.closed && link !== undefined && link.inbound === socket) this.breakLink(link, true);
    });
  }

  private emit(event: Pending): void {
    if (this.closed) return;
    if ('down' in event) {
      // Deferred so a break found inside send() never re-enters the caller's handlers.
      queueMicrotask(() => {
        if (this.closed) return;
        if (this.handlers === undefined) this.pending.push(event);
        else this.handlers.linkDown(event.down);
      });
      return;
    }
    if (this.handlers === undefined) this.pending.push(event);
    else this.handlers.message(event.from, event.message);
  }
}
