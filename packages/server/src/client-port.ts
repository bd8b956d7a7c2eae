/**
 * The client port: ZooKeeper's wire protocol over TCP, in front of any LinkFactory (a
 * PeerDriver). Each socket becomes one client link; frames are decoded by @zabkit/wire and
 * the core's outputs are encoded back. A bad frame closes its own connection and nothing
 * else; four-letter words are answered in plain text when the whitelist allows them.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { ClientLink, LinkFactory, LinkMessage } from '@zabkit/client';
import { KeeperState, type Reply } from '@zabkit/core';
import {
  type DecodedRequest,
  decodeConnectRequest,
  decodeRequest,
  encodeConnectResponse,
  FrameDecoder,
  fourLetterWordOf,
  JuteWriter,
  RequestRejectedError,
  writeReply,
  writeWatcherEvent,
} from '@zabkit/wire';
import { answerFourLetterWord, type FourLetterWordContext } from './four-letter-words.js';
import type { Logger } from './log.js';

/** How the client port listens and what it allows. */
export interface ClientPortOptions {
  readonly links: LinkFactory;
  readonly host: string;
  /** 0 picks a free port; `address()` tells which. */
  readonly port: number;
  /** jute.maxbuffer: the largest frame accepted. */
  readonly maxFrameBytes: number;
  /** Connections allowed from one address; 0 for no limit (maxClientCnxns). */
  readonly maxClientConnections: number;
  /** The four-letter words answered; the others get ZooKeeper's "not in the whitelist". */
  readonly fourLetterWords: ReadonlySet<string> | 'all';
  /** What the four-letter words report. */
  readonly introspect: () => FourLetterWordContext;
  readonly log: Logger;
}

/** Counters for srvr, stat and mntr. */
export interface ClientPortStats {
  packetsReceived: number;
  packetsSent: number;
  connectionsOpened: number;
  /** Request latencies in ms, for min/avg/max. */
  latencyMinMs: number;
  latencyMaxMs: number;
  latencyTotalMs: number;
  latencyCount: number;
}

/** One reply slot, so replies leave in request order even when some are answered locally. */
interface ReplySlot {
  readonly xid: number;
  /** The request, for the reply's shape; undefined for one refused here. */
  readonly decoded: DecodedRequest | undefined;
  readonly receivedAt: number;
  /** The answer once known: the core's reply, or an error answered here. */
  answer: { readonly zxid: bigint; readonly reply: Reply } | undefined;
}

/**
 * The buffer gathering a turn's output is sized by the last turn's (within these bounds), so
 * an idle or one-at-a-time connection holds little and a busy one rarely grows its buffer.
 */
const minOutputBytes = 1024;
const maxOutputBytes = 64 * 1024;

/** One client connection, as cons and stat report it. */
export interface ConnectionInfo {
  readonly remote: string;
  readonly sessionId: bigint | undefined;
  readonly timeoutMs: number;
  readonly received: number;
  readonly sent: number;
  readonly outstanding: number;
}

/** The TCP listener speaking ZooKeeper's client protocol in front of a LinkFactory. */
export class ClientPortServer {
  private readonly server: Server;
  private readonly connections = new Set<ClientConnection>();
  private readonly perAddress = new Map<string, number>();
  /** Running packet, connection and latency counters, which the four-letter words report. */
  readonly stats: ClientPortStats = {
    packetsReceived: 0,
    packetsSent: 0,
    connectionsOpened: 0,
    latencyMinMs: Number.POSITIVE_INFINITY,
    latencyMaxMs: 0,
    latencyTotalMs: 0,
    latencyCount: 0,
  };

  private constructor(readonly options: ClientPortOptions) {
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.on('error', (error) => options.log.error({ err: error }, 'client port error'));
  }

  /** Listens on host:port; resolves once bound. */
  static async listen(options: ClientPortOptions): Promise<ClientPortServer> {
    const port = new ClientPortServer(options);
    await new Promise<void>((resolve, reject) => {
      port.server.once('error', reject);
      port.server.listen(options.port, options.host, () => {
        port.server.off('error', reject);
        resolve();
      });
    });
    return port;
  }

  /** Where it listens (the real port when 0 was asked for). */
  address(): { host: string; port: number } {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('the client port is not listening');
    return { host: address.address, port: address.port };
  }

  /** Every open connection. */
  connectionInfo(): ConnectionInfo[] {
    return [...this.connections].map((connection) => connection.info());
  }

  /** Stops accepting and drops every connection (clients move to another server). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const connection of [...this.connections]) connection.destroy();
    await closed;
  }

  private accept(socket: Socket): void {
    const remote = socket.remoteAddress ?? 'unknown';
    const limit = this.options.maxClientConnections;
    const count = this.perAddress.get(remote) ?? 0;
    if (limit > 0 && count >= limit) {
      this.options.log.warn({ remote, limit }, 'too many connections from one address');
      socket.destroy();
      return;
    }
    this.perAddress.set(remote, count + 1);
    this.stats.connectionsOpened++;
    const connection = new ClientConnection(this, socket, remote);
    this.connections.add(connection);
    socket.once('close', () => {
      this.connections.delete(connection);
      const left = (this.perAddress.get(remote) ?? 1) - 1;
      if (left <= 0) this.perAddress.delete(remote);
      else this.perAddress.set(remote, left);
      connection.socketClosed();
    });
  }

  /** @internal */
  recordLatency(ms: number): void {
    const stats = this.stats;
    stats.latencyCount++;
    stats.latencyTotalMs += ms;
    if (ms < stats.latencyMinMs) stats.latencyMinMs = ms;
    if (ms > stats.latencyMaxMs) stats.latencyMaxMs = ms;
  }
}

type Phase = 'firstBytes' | 'handshake' | 'open' | 'closed';

class ClientConnection {
  private phase: Phase = 'firstBytes';
  private head = new Uint8Array(0);
  private readonly frames: FrameDecoder;
  private link: ClientLink | undefined;
  /** Requests in arrival order; those before `slotsHead` have been answered and sent. */
  private slots: ReplySlot[] = [];
  private slotsHead = 0;
  /** Frames produced in this turn of the event loop, sent together as one write. */
  private readonly output = new JuteWriter({ initialCapacity: minOutputBytes });
  private outputScheduled = false;
  private echoReadOnly: boolean | undefined;
  private sessionId: bigint | undefined;
  private timeoutMs = 0;
  private received = 0;
  private sent = 0;
  /** The latest zxid a reply carried: what a locally answered error reports. */
  private lastZxid = 0n;

  constructor(
    private readonly port: ClientPortServer,
    private readonly socket: Socket,
    private readonly remote: string,
  ) {
    this.frames = new FrameDecoder(port.options.maxFrameBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
  }

  info(): ConnectionInfo {
    return {
      remote: this.remote,
      sessionId: this.sessionId,
      timeoutMs: this.timeoutMs,
      received: this.received,
      sent: this.sent,
      outstanding: this.slots.length - this.slotsHead,
    };
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** The socket is gone: the session lives on until it expires. */
  socketClosed(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.link?.close();
    this.link = undefined;
  }

  private onData(chunk: Buffer): void {
    if (this.phase === 'closed') return;
    let bytes: Uint8Array = chunk;
    if (this.phase === 'firstBytes') {
      // A connection that opens with a four-letter word wants a plain-text answer.
      const head = new Uint8Array(this.head.length + bytes.length);
      head.set(this.head);
      head.set(bytes, this.head.length);
      if (head.length < 4) {
        this.head = head;
        return;
      }
      const word = fourLetterWordOf(head.subarray(0, 4));
      if (word !== undefined) {
        this.answerFourLetterWord(word);
        return;
      }
      this.phase = 'handshake';
      bytes = head;
    }
    let frames: Uint8Array[];
    try {
      frames = this.frames.push(bytes);
    } catch (error) {
      this.reject('bad frame', error);
      return;
    }
    for (const frame of frames) {
      if ((this.phase as Phase) === 'closed') return;
      this.received++;
      this.port.stats.packetsReceived++;
      if (this.phase === 'handshake') this.onConnect(frame);
      else this.onRequest(frame);
    }
  }

  private answerFourLetterWord(word: string): void {
    this.phase = 'closed';
    const allowed = this.port.options.fourLetterWords;
    const text =
      allowed === 'all' || allowed.has(word)
        ? answerFourLetterWord(word, this.port.options.introspect())
        : `${word} is not executed because it is not in the whitelist.\n`;
    this.socket.end(text);
  }

  private onConnect(frame: Uint8Array): void {
    let connect: ReturnType<typeof decodeConnectRequest>;
    try {
      connect = decodeConnectRequest(frame);
    } catch (error) {
      this.reject('bad connect request', error);
      return;
    }
    this.phase = 'open';
    this.echoReadOnly = connect.readOnlyFlagSent ? connect.readOnly : undefined;
    this.link = this.port.options.links.open(
      {
        message: (message) => this.onLinkMessage(message),
        closed: () => this.closeAfterFlush(),
      },
      0,
    );
    this.link.connect({
      sessionId: connect.sessionId,
      password: connect.password,
      timeoutMs: connect.timeoutMs,
      lastZxidSeen: connect.lastZxidSeen,
      readOnly: connect.readOnly,
      clientAddress: this.remote,
    });
  }

  private onRequest(frame: Uint8Array): void {
    const now = performance.now();
    try {
      const decoded = decodeRequest(frame);
      this.slots.push({ xid: decoded.xid, decoded, receivedAt: now, answer: undefined });
      this.link?.send(decoded.xid, decoded.request);
    } catch (error) {
      if (error instanceof RequestRejectedError) {
        // A well-framed request ZooKeeper answers with an error (an unknown opcode gets
        // Unimplemented), in its turn among the replies.
        this.slots.push({
          xid: error.xid,
          decoded: undefined,
          receivedAt: now,
          answer: { zxid: this.lastZxid, reply: { ok: false, code: error.code } as Reply },
        });
        this.flushSlots();
        return;
      }
      this.reject('bad request', error);
    }
  }

  private onLinkMessage(message: LinkMessage): void {
    if (this.phase === 'closed') return;
    switch (message.kind) {
      case 'connected':
        this.sessionId = message.sessionId;
        this.timeoutMs = message.timeoutMs;
        this.outputFrame()?.raw(
          encodeConnectResponse({
            timeoutMs: message.timeoutMs,
            sessionId: message.timeoutMs > 0 ? message.sessionId : 0n,
            password: message.timeoutMs > 0 ? message.password : new Uint8Array(16),
            readOnly: this.echoReadOnly,
          }),
        );
        return;
      case 'reply': {
        if (message.zxid > this.lastZxid) this.lastZxid = message.zxid;
        const slot = this.slotFor(message.xid);
        if (slot === undefined || slot.decoded === undefined) {
          this.reject('reply without a request', new Error(`xid ${message.xid}`));
          return;
        }
        slot.answer = { zxid: message.zxid, reply: message.reply };
        this.port.recordLatency(performance.now() - slot.receivedAt);
        this.flushSlots();
        return;
      }
      case 'watch': {
        const output = this.outputFrame();
        if (output !== undefined)
          writeWatcherEvent(output, message.zxid, message.event, KeeperState.SyncConnected);
        return;
      }
    }
  }

  /** The unanswered slot for `xid`: the core answers in order, so almost always the first. */
  private slotFor(xid: number): ReplySlot | undefined {
    for (let i = this.slotsHead; i < this.slots.length; i++) {
      const slot = this.slots[i]!;
      if (slot.answer === undefined && slot.xid === xid) return slot;
    }
    return undefined;
  }

  /** Sends the answered slots at the head of the queue, in order. */
  private flushSlots(): void {
    while (this.slotsHead < this.slots.length) {
      const slot = this.slots[this.slotsHead]!;
      if (slot.answer === undefined) break;
      this.slotsHead++;
      const output = this.outputFrame();
      if (output !== undefined)
        writeReply(output, slot.decoded ?? 0, slot.xid, slot.answer.zxid, slot.answer.reply);
    }
    if (this.slotsHead === this.slots.length) {
      this.slots = [];
      this.slotsHead = 0;
    } else if (this.slotsHead > 1024 && this.slotsHead * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.slotsHead);
      this.slotsHead = 0;
    }
  }

  /**
   * The writer for one more outgoing frame (undefined once closed). Frames produced in one
   * turn of the event loop go out in one socket write.
   */
  private outputFrame(): JuteWriter | undefined {
    if (this.phase === 'closed') return undefined;
    this.sent++;
    this.port.stats.packetsSent++;
    if (!this.outputScheduled) {
      this.outputScheduled = true;
      process.nextTick(() => this.flushOutput());
    }
    return this.output;
  }

  private flushOutput(): void {
    this.outputScheduled = false;
    if (this.output.length === 0) return;
    const used = this.output.length;
    const bytes = this.output.take(Math.min(maxOutputBytes, Math.max(minOutputBytes, used)));
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** The server closed the session's link: send what is queued, then close. */
  private closeAfterFlush(): void {
    this.flushSlots();
    this.link = undefined;
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.flushOutput();
    this.socket.end();
  }

  private reject(what: string, error: unknown): void {
    this.port.options.log.warn(
      { remote: this.remote, error: error instanceof Error ? error.message : String(error) },
      `closing a client connection: ${what}`,
    );
    this.phase = 'closed';
    this.link?.close();
    this.link = undefined;
    this.socket.destroy();
  }
}
