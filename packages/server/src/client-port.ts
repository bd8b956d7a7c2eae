/**
 * The client port: ZooKeeper's wire protocol over TCP, in front of any LinkFactory (a
 * PeerDriver). Each socket becomes one client link; frames are decoded by @zabkit/wire and
 * the core's outputs are encoded back. A bad frame closes its own connection and nothing
 * else; four-letter words are answered in plain text when the whitelist allows them.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { TLSSocket, Server as TlsServer } from 'node:tls';
import type { ClientLink, LinkFactory, LinkMessage } from '@zabkit/client';
import {
  type ClientRequest,
  ErrorCode,
  type Id,
  KeeperState,
  type Reply,
  type WatchEvent,
} from '@zabkit/core';
import {
  type DecodedRequest,
  decodeConnectRequest,
  decodeRequest,
  encodeConnectResponse,
  FrameDecoder,
  fourLetterWordOf,
  JuteReader,
  JuteWriter,
  OpCode,
  RequestRejectedError,
  writeReply,
  writeWatcherEvent,
} from '@zabkit/wire';
import { AuditIdentities, type AuditLog, auditEventsOf, isAudited } from './audit-log.js';
import {
  type BudgetWaiter,
  type ClientPortLimits,
  defaultClientPortLimits,
  OutstandingBudget,
} from './client-limits.js';
import {
  type ClientPortTls,
  createClientTlsServer,
  refusedClientCertificate,
  tlsHandshakeRecordType,
} from './client-tls.js';
import { type ConnectionInfo, ConnectionStats } from './connection-stats.js';
import {
  answerFourLetterWord,
  type FourLetterWordActions,
  type FourLetterWordContext,
} from './four-letter-words.js';
import type { Logger } from './log.js';
import { DigestMd5Server, type SaslFailure } from './sasl-digest.js';
import { certificateSubject } from './x509-subject.js';

/** Who clients may prove they are beyond `addauth`: SASL users, certificate subjects, super users. */
export interface ClientPortAuth {
  /** The DIGEST-MD5 users and their passwords; undefined when SASL is not configured. */
  readonly saslUsers?: ReadonlyMap<string, string> | undefined;
  /** SASL users that are super (`superUser`). */
  readonly saslSuperUsers?: readonly string[];
  /** The client certificate subject that is super (`X509AuthenticationProvider.superUser`). */
  readonly x509SuperUser?: string | undefined;
  /** Keep a connection whose SASL exchange failed (`allowSaslFailedClients`), unless SASL is enforced. */
  readonly allowSaslFailedClients?: boolean;
  /** enforce.auth.schemes includes sasl: a failed exchange is answered SessionClosedRequireSaslAuth. */
  readonly saslRequired?: boolean;
}

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
  /** What crst, srst and stmk change; without it they answer and change nothing. */
  readonly fourLetterWordActions?: FourLetterWordActions;
  readonly log: Logger;
  /** Bounds on connections, outstanding requests and unread replies; defaults for those left out. */
  readonly limits?: Partial<ClientPortLimits>;
  /**
   * The server-wide count of outstanding requests, when several listeners (plain and secure)
   * share one limit. Default: one of its own, of `limits.maxOutstandingTotal`.
   */
  readonly budget?: OutstandingBudget;
  /** SASL users, and the super users of SASL and x509; none by default. */
  readonly auth?: ClientPortAuth;
  /** Where each write a client asked for is recorded with its result (audit.enable). */
  readonly audit?: AuditLog | undefined;
  /**
   * Whether a connection to the secure port is to be closed before its TLS handshake now
   * (netty.server.earlyDropSecureConnectionHandshakes while the server does not serve).
   */
  readonly dropTlsBeforeHandshake?: () => boolean;
  /** TLS: on every connection (a secure client port), or beside plain TCP when `unified`. */
  readonly tls?: ClientPortTls & {
    /**
     * `client.portUnification`: plain and TLS connections on one port, told apart by the first
     * byte a client sends.
     */
    readonly unified: boolean;
  };
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
  /** Connections closed at accept: over maxCnxns or maxClientCnxns. */
  connectionsRefused: number;
  /** Connections closed for having no session after the sessionless timeout. */
  connectionsSessionless: number;
  /** Connections closed because their client left too many replies unread. */
  connectionsSlowConsumer: number;
  /** Times a connection's socket stopped being read because a limit was reached. */
  readsThrottled: number;
  /** Connections closed because their TLS handshake failed or their certificate was refused. */
  tlsHandshakeFailures: number;
  /** Of those, the ones whose handshake completed and whose certificate was refused after. */
  tlsCertificatesRefused: number;
  /** Connections closed before their TLS handshake: as many were under way as the limit allows. */
  tlsHandshakesRefused: number;
  /** Connections to the secure port closed before their handshake: the server did not serve. */
  tlsDroppedNotServing: number;
  /** SASL exchanges that failed (a wrong password, an unknown user, a malformed token). */
  saslFailures: number;
  /** Bytes read from clients, four-letter words included. */
  bytesReceived: number;
  /** Bytes of replies and watch events handed to client sockets. */
  bytesSent: number;
  /** `addauth` requests refused (AuthFailed). */
  authFailures: number;
  /** Connections that speak plain TCP (no TLS), from a loopback address and from others. */
  plainConnectionsLocal: number;
  plainConnectionsRemote: number;
  /** Connect requests that carry a session id: a client resuming its session here. */
  sessionsResumed: number;
}

/**
 * Told of every reply and watch event written to a client: its packet's bytes (header and
 * body, without the length prefix, as ZooKeeper's ServerCnxn counts them); must not throw.
 */
export type ResponseWrittenListener = (bytes: number, notification: boolean) => void;

/** Told of every request the core answered, for metrics; must not throw. */
export type RequestServedListener = (request: ClientRequest, reply: Reply, latencyMs: number) => void;

/**
 * One reply slot, so replies leave in request order even when some are answered locally. An
 * answered slot waits here, unencoded, while its client has too much unread: a reply holds
 * the tree's own data, not a copy, so waiting costs little.
 */
interface ReplySlot {
  readonly xid: number;
  /** Whether it counts against the server-wide outstanding limit (sent to the core). */
  readonly counted: boolean;
  /** The request, for the reply's shape; undefined for one refused here. */
  readonly decoded: DecodedRequest | undefined;
  readonly receivedAt: number;
  /** The answer once known: the core's reply, or an error answered here. */
  answer: { readonly zxid: bigint; readonly reply: Reply } | undefined;
  /** Close the connection once this answer is out (ZooKeeper's way with an unknown opcode). */
  readonly closesConnection?: boolean;
  /** A SASL reply: its body is this token (SetSASLResponse), not a core reply's. */
  readonly saslToken?: Uint8Array | null;
}

/**
 * The buffer gathering a turn's output is sized by the last turn's (within these bounds), so
 * an idle or one-at-a-time connection holds little and a busy one rarely grows its buffer.
 */
const minOutputBytes = 1024;
const maxOutputBytes = 64 * 1024;
/** The length prefix before every frame, which ZooKeeper's response sizes leave out. */
const frameLengthBytes = 4;

export type { ConnectionInfo } from './connection-stats.js';

/** The TCP listener speaking ZooKeeper's client protocol in front of a LinkFactory. */
export class ClientPortServer {
  private readonly server: Server;
  private readonly connections = new Set<ClientConnection>();
  private readonly perAddress = new Map<string, number>();
  /** Does the server side of TLS for the sockets this listener hands it; undefined without TLS. */
  private readonly tlsServer: TlsServer | undefined;
  /** Connections whose TLS handshake is under way, by the peer's address and port. */
  private readonly awaitingTls = new Map<string, { connection: ClientConnection; failure?: string }>();
  /** The bounds in force, defaults filled in. */
  readonly limits: ClientPortLimits;
  /** Requests awaiting a reply across every connection, against the server-wide limit. */
  readonly budget: OutstandingBudget;
  /** Running packet, connection and latency counters, which the four-letter words report. */
  readonly stats: ClientPortStats = {
    packetsReceived: 0,
    packetsSent: 0,
    connectionsOpened: 0,
    latencyMinMs: Number.POSITIVE_INFINITY,
    latencyMaxMs: 0,
    latencyTotalMs: 0,
    latencyCount: 0,
    connectionsRefused: 0,
    connectionsSessionless: 0,
    connectionsSlowConsumer: 0,
    readsThrottled: 0,
    tlsHandshakeFailures: 0,
    tlsCertificatesRefused: 0,
    tlsHandshakesRefused: 0,
    tlsDroppedNotServing: 0,
    saslFailures: 0,
    bytesReceived: 0,
    bytesSent: 0,
    authFailures: 0,
    plainConnectionsLocal: 0,
    plainConnectionsRemote: 0,
    sessionsResumed: 0,
  };
  private readonly servedListeners = new Set<RequestServedListener>();
  private readonly writtenListeners = new Set<ResponseWrittenListener>();

  private constructor(readonly options: ClientPortOptions) {
    this.limits = { ...defaultClientPortLimits, ...options.limits };
    this.budget = options.budget ?? new OutstandingBudget(this.limits.maxOutstandingTotal);
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    const tls = options.tls;
    if (tls !== undefined) {
      // The connection's sessionless timer bounds the handshake; TLS's own timeout, a second
      // later, is only a backstop.
      const server = createClientTlsServer(tls, this.limits.sessionlessTimeoutMs + 1000);
      server.on('secureConnection', (socket: TLSSocket) => this.secured(socket));
      server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
        const waiting = this.awaitingTls.get(peerKey(socket));
        if (waiting !== undefined) waiting.failure = error.message;
      });
      this.tlsServer = server;
    }
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

  /** crst: every connection's figures start again. */
  resetConnectionStats(): void {
    for (const connection of this.connections) connection.stats.reset();
  }

  /** srst: the server's packet and latency counters start again. */
  resetServerStats(): void {
    const stats = this.stats;
    stats.packetsReceived = 0;
    stats.packetsSent = 0;
    stats.latencyMinMs = Number.POSITIVE_INFINITY;
    stats.latencyMaxMs = 0;
    stats.latencyTotalMs = 0;
    stats.latencyCount = 0;
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
    const total = this.limits.maxConnections;
    if (total > 0 && this.connections.size >= total) {
      this.stats.connectionsRefused++;
      this.options.log.warn({ remote, limit: total }, 'too many connections (maxCnxns)');
      socket.destroy();
      return;
    }
    const limit = this.options.maxClientConnections;
    const count = this.perAddress.get(remote) ?? 0;
    if (limit > 0 && count >= limit) {
      this.stats.connectionsRefused++;
      this.options.log.warn({ remote, limit }, 'too many connections from one address (maxClientCnxns)');
      socket.destroy();
      return;
    }
    this.perAddress.set(remote, count + 1);
    this.stats.connectionsOpened++;
    const connection = new ClientConnection(this, socket, remote);
    this.connections.add(connection);
    const key = peerKey(socket);
    socket.once('close', () => {
      this.connections.delete(connection);
      const left = (this.perAddress.get(remote) ?? 1) - 1;
      if (left <= 0) this.perAddress.delete(remote);
      else this.perAddress.set(remote, left);
      const waiting = this.awaitingTls.get(key);
      if (waiting?.connection === connection) {
        this.awaitingTls.delete(key);
        if (!connection.expired) {
          // A scanner or a misconfigured client causes many: counted, and logged at debug.
          this.stats.tlsHandshakeFailures++;
          this.options.log.debug(
            { remote, why: waiting.failure ?? 'closed during the handshake' },
            'closing a client connection: TLS handshake failed',
          );
        }
      }
      connection.socketClosed();
    });
    if (this.options.tls === undefined) this.plainConnection(remote);
    else if (!this.options.tls.unified) {
      // As ZooKeeper's Netty factory, on the secure port alone, before the costly handshake.
      if (this.options.dropTlsBeforeHandshake?.() === true) {
        this.stats.tlsDroppedNotServing++;
        this.options.log.info(
          { remote },
          'the server is not serving: closing a secure connection before its TLS handshake',
        );
        socket.destroy();
        return;
      }
      connection.beginTls(undefined);
    }
  }

  /** @internal A connection speaks plain TCP: counted by where it comes from. */
  plainConnection(remote: string): void {
    if (isLoopback(remote)) this.stats.plainConnectionsLocal++;
    else this.stats.plainConnectionsRemote++;
  }

  /** TLS handshakes under way now (accepted, not yet secured or failed). */
  tlsHandshakesInProgress(): number {
    return this.awaitingTls.size;
  }

  /**
   * @internal
   * Hands an accepted socket (with what was read from it put back) to TLS; the connection
   * waits for the handshake.
   */
  handOverToTls(socket: Socket, connection: ClientConnection, first: Buffer | undefined): void {
    const limit = this.limits.tlsHandshakesMax;
    if (limit > 0 && this.awaitingTls.size >= limit) {
      // A flood of handshakes costs CPU: refused before any TLS work, as ZooKeeper's Netty factory does.
      this.stats.tlsHandshakesRefused++;
      this.options.log.debug(
        { remote: socket.remoteAddress, limit },
        'closing a client connection: too many TLS handshakes under way (netty.server.outstandingHandshake.limit)',
      );
      socket.destroy();
      return;
    }
    this.awaitingTls.set(peerKey(socket), { connection });
    if (first !== undefined) socket.unshift(first);
    this.tlsServer!.emit('connection', socket);
  }

  /** A handshake is done: the connection goes on over TLS, unless its certificate is refused. */
  private secured(socket: TLSSocket): void {
    const key = peerKey(socket);
    const waiting = this.awaitingTls.get(key);
    if (waiting === undefined) {
      socket.destroy();
      return;
    }
    const refused = refusedClientCertificate(socket, this.options.tls!.clientAuth);
    if (refused !== undefined) {
      this.stats.tlsCertificatesRefused++;
      waiting.failure = `client certificate refused: ${refused}`;
      socket.destroy();
      return;
    }
    this.awaitingTls.delete(key);
    waiting.connection.adoptTls(socket);
  }

  /** Calls `listener` for every request the core answers; returns a function that unsubscribes. */
  onRequestServed(listener: RequestServedListener): () => void {
    this.servedListeners.add(listener);
    return () => this.servedListeners.delete(listener);
  }

  /** Calls `listener` for every reply and watch event written; returns a function that unsubscribes. */
  onResponseWritten(listener: ResponseWrittenListener): () => void {
    this.writtenListeners.add(listener);
    return () => this.writtenListeners.delete(listener);
  }

  /** @internal */
  responseWritten(bytes: number, notification: boolean): void {
    for (const listener of this.writtenListeners) listener(bytes, notification);
  }

  /** @internal */
  served(request: ClientRequest, reply: Reply, ms: number): void {
    if (request.op === 'auth' && !reply.ok) this.stats.authFailures++;
    this.recordLatency(ms);
    for (const listener of this.servedListeners) listener(request, reply, ms);
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

class ClientConnection implements BudgetWaiter {
  private phase: Phase = 'firstBytes';
  private head = new Uint8Array(0);
  private readonly frames: FrameDecoder;
  /** Frames received but not yet served, held while a limit is reached. */
  private queued: Uint8Array[] = [];
  private queuedHead = 0;
  /** Whether the socket is paused (not read) because a limit is reached. */
  private readingPaused = false;
  private link: ClientLink | undefined;
  /**
   * Requests in arrival order; those before `slotsHead` have been answered and sent. The rest
   * are what the outstanding limits count.
   */
  private slots: ReplySlot[] = [];
  private slotsHead = 0;
  /** Slots after `slotsHead` that count against the server-wide limit. */
  private counted = 0;
  /** Replies sent so far: what deferred events wait for. */
  private repliesSent = 0;
  /** Watch events that follow replies still waiting to be sent, each after its reply count. */
  private deferredEvents: { after: number; zxid: bigint; event: WatchEvent }[] = [];
  /** About what the deferred events will take once encoded. */
  private deferredEventBytes = 0;
  /** Frames produced in this turn of the event loop, sent together as one write. */
  private readonly output = new JuteWriter({ initialCapacity: minOutputBytes });
  private outputScheduled = false;
  /** Whether the client sent ConnectRequest's readOnly byte: ZooKeeper answers with one only then. */
  private readOnlyFlagSent = false;
  /**
   * Whether the session is established. Requests that come with the handshake wait for it, as
   * ZooKeeper's do: served before it, a read would be answered ahead of the connect response.
   */
  private established = false;
  private sessionId: bigint | undefined;
  private timeoutMs = 0;
  /** Packets, last operation and latencies, for cons and the admin server; crst resets them. */
  readonly stats = new ConnectionStats();
  /** The latest zxid a reply carried: what a locally answered error reports. */
  private lastZxid = 0n;
  /** Closes the connection if no session is established in time. */
  private sessionlessTimer: ReturnType<typeof setTimeout> | undefined;
  /** Closes the connection if its client leaves replies unread for too long. */
  private stallTimer: ReturnType<typeof setTimeout> | undefined;
  private expiredSessionless = false;
  /** Who the client is, for the audit log: its address and each digest user it proved. */
  private readonly identities: AuditIdentities;
  /** This connection's SASL exchange, from its first SASL request on. */
  private sasl: DigestMd5Server | undefined;

  constructor(
    private readonly port: ClientPortServer,
    private socket: Socket,
    private readonly remote: string,
  ) {
    this.frames = new FrameDecoder(port.options.maxFrameBytes);
    this.identities = new AuditIdentities(remote);
    socket.setNoDelay(true);
    this.listen(socket);
    this.sessionlessTimer = setTimeout(() => this.expireSessionless(), port.limits.sessionlessTimeoutMs);
  }

  private listen(socket: Socket): void {
    socket.on('data', this.onDataListener);
    socket.on('drain', this.onDrainListener);
    socket.on('error', () => socket.destroy());
  }

  private readonly onDataListener = (chunk: Buffer) => this.onData(chunk);
  private readonly onDrainListener = () => this.onDrain();

  /** Whether it was closed for having no session in time. */
  get expired(): boolean {
    return this.expiredSessionless;
  }

  /**
   * @internal
   * TLS takes the socket over (at once on a secure port; on a unified one when the first
   * byte opens a TLS handshake, `first` being what was read). Four-letter words work inside
   * TLS as outside; the sessionless timer runs on through the handshake.
   */
  beginTls(first: Buffer | undefined): void {
    const raw = this.socket;
    raw.off('data', this.onDataListener);
    raw.off('drain', this.onDrainListener);
    raw.pause();
    this.port.handOverToTls(raw, this, first);
  }

  /** @internal The handshake is done: speak over `socket` from now on. */
  adoptTls(socket: TLSSocket): void {
    if (this.phase === 'closed') {
      socket.destroy();
      return;
    }
    this.socket = socket;
    socket.setNoDelay(true);
    this.listen(socket);
  }

  info(): ConnectionInfo {
    const stats = this.stats;
    return {
      remote: this.remote,
      remotePort: this.socket.remotePort ?? 0,
      secure: (this.socket as Partial<TLSSocket>).encrypted === true,
      sessionId: this.sessionId,
      timeoutMs: this.timeoutMs,
      received: stats.received,
      sent: stats.sent,
      outstanding: this.slots.length - this.slotsHead,
      interestOps: this.readingPaused ? 0 : 1,
      establishedAtMs: stats.establishedAtMs,
      lastOperation: stats.lastOperation,
      lastCxid: stats.lastCxid,
      lastZxid: stats.lastZxid,
      lastResponseTimeMs: stats.lastResponseTimeMs,
      lastLatencyMs: stats.lastLatencyMs,
      latency: stats.latency(),
    };
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** The socket is gone: the session lives on until it expires. */
  socketClosed(): void {
    this.stopTimers();
    this.port.budget.forget(this);
    this.port.budget.release(this.counted);
    this.counted = 0;
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.link?.close();
    this.link = undefined;
  }

  budgetAvailable(): void {
    this.serveQueued();
  }

  private onData(chunk: Buffer): void {
    if (this.phase === 'closed') return;
    this.port.stats.bytesReceived += chunk.length;
    let bytes: Uint8Array = chunk;
    if (
      this.phase === 'firstBytes' &&
      this.head.length === 0 &&
      this.port.options.tls?.unified === true &&
      !(this.socket as Partial<TLSSocket>).encrypted &&
      chunk[0] === tlsHandshakeRecordType
    ) {
      this.beginTls(chunk);
      return;
    }
    if (this.phase === 'firstBytes' && this.head.length === 0 && this.port.options.tls?.unified === true)
      if (!(this.socket as Partial<TLSSocket>).encrypted) this.port.plainConnection(this.remote);
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
      if (word === 'stmk' && head.length < stmkLengthBytes) {
        // stmk carries its mask, 8 bytes after the word: wait for them.
        this.head = head;
        return;
      }
      if (word !== undefined) {
        const argument =
          word === 'stmk'
            ? new DataView(head.buffer, head.byteOffset, head.byteLength).getBigInt64(4)
            : undefined;
        this.answerFourLetterWord(word, argument);
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
    if (frames.length === 0) return;
    if (this.queuedHead === this.queued.length) this.queued = frames;
    else this.queued.push(...frames);
    this.serveQueued();
  }

  /**
   * Serves queued frames while the limits allow, then reads the socket again only if every
   * frame was served: a connection over a limit holds at most one chunk's frames here, and the
   * rest waits in the kernel, where TCP's own flow control slows its client.
   */
  private serveQueued(): void {
    while (this.queuedHead < this.queued.length) {
      if (this.phase === 'closed') return;
      if (this.phase === 'open' && !this.mayServe()) break;
      const frame = this.queued[this.queuedHead]!;
      this.queued[this.queuedHead++] = empty;
      this.stats.received++;
      this.port.stats.packetsReceived++;
      if (this.phase === 'handshake') this.onConnect(frame);
      else this.onRequest(frame);
    }
    if (this.queuedHead === this.queued.length) {
      this.queued = [];
      this.queuedHead = 0;
      this.setReading(true);
    } else {
      this.setReading(false);
    }
  }

  /** Whether one more request may be served now; when not, what will retry it is armed. */
  private mayServe(): boolean {
    if (!this.established) return false;
    const limits = this.port.limits;
    const waiting = this.slots.length - this.slotsHead;
    // A reply sent or the socket draining retries these two.
    if (waiting >= limits.maxOutstandingPerConnection) return false;
    if (this.congested()) return false;
    if (waiting > 0 && this.port.budget.exhausted) {
      this.port.budget.wait(this);
      return false;
    }
    return true;
  }

  /** Whether this client has more unread than the high-water mark. */
  private congested(): boolean {
    return this.unsentBytes() > this.port.limits.writeBufferHighWaterBytes;
  }

  private setReading(on: boolean): void {
    if (on === !this.readingPaused || this.socket.destroyed) return;
    if (on) {
      this.readingPaused = false;
      this.socket.resume();
    } else {
      this.readingPaused = true;
      this.port.stats.readsThrottled++;
      this.socket.pause();
    }
  }

  /** Bytes due to this client and not yet taken by the kernel: encoded, or events deferred. */
  private unsentBytes(): number {
    return this.output.length + this.socket.writableLength + this.deferredEventBytes;
  }

  private answerFourLetterWord(word: string, argument: bigint | undefined): void {
    this.phase = 'closed';
    const allowed = this.port.options.fourLetterWords;
    if (!(allowed === 'all' || allowed.has(word))) {
      this.socket.end(`${word} is not executed because it is not in the whitelist.\n`);
      return;
    }
    // mntr reads the metrics registry, which answers asynchronously.
    answerFourLetterWord(
      word,
      this.port.options.introspect(),
      this.port.options.fourLetterWordActions,
      argument,
    ).then(
      (text) => this.socket.end(text),
      (error: unknown) => {
        this.port.options.log?.error({ err: error, word }, 'four-letter word failed');
        this.socket.destroy();
      },
    );
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
    if (connect.sessionId !== 0n) this.port.stats.sessionsResumed++;
    this.readOnlyFlagSent = connect.readOnlyFlagSent;
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
    // The opcode (after the xid), read from the bytes: a DataView per request was a hot line.
    if (
      frame.length >= 8 &&
      ((frame[4]! << 24) | (frame[5]! << 16) | (frame[6]! << 8) | frame[7]!) === OpCode.sasl
    ) {
      this.onSasl(frame, now);
      return;
    }
    try {
      const decoded = decodeRequest(frame);
      this.slots.push({ xid: decoded.xid, counted: true, decoded, receivedAt: now, answer: undefined });
      this.counted++;
      this.port.budget.take();
      this.link?.send(decoded.xid, decoded.request);
    } catch (error) {
      if (error instanceof RequestRejectedError) {
        // A well-framed request ZooKeeper answers with an error (an unknown opcode gets
        // Unimplemented), in its turn among the replies.
        this.slots.push({
          xid: error.xid,
          counted: false,
          decoded: undefined,
          receivedAt: now,
          // ZooKeeper answers an opcode it does not know outside its pipeline, with the
          // request's own zxid, which is still -1; every other refusal carries the last zxid.
          answer: {
            zxid: error.code === ErrorCode.Unimplemented ? -1n : this.lastZxid,
            reply: { ok: false, code: error.code } as Reply,
          },
          closesConnection: error.closesConnection,
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
            // The byte says whether this server is read-only, not what the client allows.
            readOnly: this.readOnlyFlagSent ? message.readOnly === true : undefined,
          }),
        );
        if (message.timeoutMs > 0) {
          this.clearSessionlessTimer();
          this.established = true;
          this.authenticateCertificate();
          if (this.queuedHead < this.queued.length) this.serveQueued();
        }
        return;
      case 'reply': {
        if (message.zxid > this.lastZxid) this.lastZxid = message.zxid;
        const slot = this.slotFor(message.xid);
        if (slot === undefined || slot.decoded === undefined) {
          this.reject('reply without a request', new Error(`xid ${message.xid}`));
          return;
        }
        slot.answer = { zxid: message.zxid, reply: message.reply };
        if (this.port.options.audit !== undefined) this.audit(slot.decoded.request, message.reply);
        const respondedAtMs = performance.now();
        const latencyMs = respondedAtMs - slot.receivedAt;
        this.stats.responded(slot.decoded.opcode, slot.xid, message.zxid, latencyMs, respondedAtMs);
        this.port.served(slot.decoded.request, message.reply, latencyMs);
        this.flushSlots();
        if (this.queuedHead < this.queued.length) this.serveQueued();
        return;
      }
      case 'watch': {
        // After the replies the core sent before it, even those still waiting for the client
        // to read: a client sees the replies and events of its session in the core's order.
        const waiting = this.answeredWaiting();
        if (waiting === 0 && this.deferredEvents.length === 0) {
          this.writeEvent(message.zxid, message.event);
          return;
        }
        this.deferredEvents.push({
          after: this.repliesSent + waiting,
          zxid: message.zxid,
          event: message.event,
        });
        this.deferredEventBytes += deferredEventCost(message.event);
        if (this.unsentBytes() > this.port.limits.writeBufferMaxBytes)
          this.closeSlowConsumer('over zabkit.clientWriteBufferMax');
        return;
      }
    }
  }

  /**
   * A TLS client certificate the trust store vouched for makes the connection `x509:<subject>`
   * (and super when it is the configured super user), as ZooKeeper's X509 provider does; the
   * core holds it before the session's first request is served.
   */
  private authenticateCertificate(): void {
    const socket = this.socket as Partial<TLSSocket>;
    if (socket.encrypted !== true || socket.authorized !== true) return;
    const raw = (socket as TLSSocket).getPeerCertificate().raw;
    if (raw === undefined) return;
    let subject: string;
    try {
      subject = certificateSubject(raw);
    } catch (error) {
      this.reject('unreadable client certificate', error);
      return;
    }
    const ids: Id[] = [{ scheme: 'x509', id: subject }];
    if (subject === this.port.options.auth?.x509SuperUser) ids.unshift({ scheme: 'super', id: subject });
    this.grant(ids);
  }

  /** Hands proven identities to the core, and notes them for the audit log. */
  private grant(ids: readonly Id[]): void {
    for (const id of ids) this.identities.addVerified(id.scheme, id.id);
    this.port.options.log.info(
      { remote: this.remote, sessionId: this.sessionId, ids: ids.map((id) => `${id.scheme}:${id.id}`) },
      'client authenticated',
    );
    this.link?.authenticated?.(ids);
  }

  /**
   * A SASL request (opcode 102, GetSASLRequest): one step of DIGEST-MD5, answered in its turn
   * with the server's token (SetSASLResponse). A failed exchange is answered AuthFailed (or
   * SessionClosedRequireSaslAuth when SASL is enforced) and closes the connection, as
   * ZooKeeper's processSasl does; the session lives on.
   */
  private onSasl(frame: Uint8Array, now: number): void {
    const reader = new JuteReader(frame);
    const xid = reader.int();
    reader.int();
    let token: Uint8Array;
    try {
      token = reader.bytesOrEmpty();
    } catch (error) {
      this.reject('bad SASL request', error);
      return;
    }
    const auth = this.port.options.auth;
    const answer = (code: number, saslToken: Uint8Array | null, closesConnection: boolean) => {
      const reply = (code === 0 ? { ok: true } : { ok: false, code }) as Reply;
      this.slots.push({
        xid,
        counted: false,
        decoded: undefined,
        receivedAt: now,
        answer: { zxid: this.lastZxid, reply },
        closesConnection,
        saslToken,
      });
      this.flushSlots();
    };
    const users = auth?.saslUsers;
    if (users === undefined) {
      this.port.stats.saslFailures++;
      this.port.options.log.warn(
        { remote: this.remote, sessionId: this.sessionId },
        'SASL request refused: no SASL users are configured (java.security.auth.login.config)',
      );
      answer(ErrorCode.AuthFailed, null, true);
      return;
    }
    this.sasl ??= new DigestMd5Server((user) => users.get(user));
    let reply: Uint8Array;
    try {
      reply = this.sasl.evaluate(token);
    } catch (error) {
      this.port.stats.saslFailures++;
      const keep = auth?.allowSaslFailedClients === true && auth.saslRequired !== true;
      this.port.options.log.warn(
        { remote: this.remote, sessionId: this.sessionId, why: (error as SaslFailure).message },
        keep
          ? 'SASL authentication failed; the connection is kept (allowSaslFailedClients)'
          : 'SASL authentication failed',
      );
      if (keep) answer(0, null, false);
      else
        answer(
          auth?.saslRequired === true ? ErrorCode.SessionClosedRequireSaslAuth : ErrorCode.AuthFailed,
          null,
          true,
        );
      return;
    }
    const user = this.sasl.user;
    if (user !== undefined) {
      const ids: Id[] = [{ scheme: 'sasl', id: user }];
      if (auth?.saslSuperUsers?.includes(user) === true) ids.push({ scheme: 'super', id: '' });
      this.grant(ids);
    }
    answer(0, reply, false);
  }

  /** Records a write and its result before the client hears it; notes who authenticated. */
  private audit(request: ClientRequest, reply: Reply): void {
    if (request.op === 'auth') {
      if (reply.ok && request.scheme === 'digest')
        this.identities.addDigest(new TextDecoder().decode(request.auth));
      return;
    }
    if (!isAudited(request)) return;
    const context = { sessionId: this.sessionId, users: this.identities.users(), ip: this.remote };
    for (const event of auditEventsOf(request, reply, context)) this.port.options.audit!.record(event);
  }

  private writeEvent(zxid: bigint, event: WatchEvent): void {
    const output = this.outputFrame();
    if (output === undefined) return;
    const before = output.length;
    writeWatcherEvent(output, zxid, event, KeeperState.SyncConnected);
    this.port.responseWritten(output.length - before - frameLengthBytes, true);
  }

  /** Answered slots at the head of the queue, waiting for the client to read. */
  private answeredWaiting(): number {
    let count = 0;
    for (let i = this.slotsHead; i < this.slots.length && this.slots[i]!.answer !== undefined; i++) count++;
    return count;
  }

  /** Sends the deferred events due once `repliesSent` replies are out. */
  private writeDueEvents(): void {
    let due = 0;
    while (due < this.deferredEvents.length && this.deferredEvents[due]!.after <= this.repliesSent) {
      const deferred = this.deferredEvents[due++]!;
      this.deferredEventBytes -= deferredEventCost(deferred.event);
      this.writeEvent(deferred.zxid, deferred.event);
    }
    if (due > 0) this.deferredEvents.splice(0, due);
  }

  /** The unanswered slot for `xid`: the core answers in order, so almost always the first. */
  private slotFor(xid: number): ReplySlot | undefined {
    for (let i = this.slotsHead; i < this.slots.length; i++) {
      const slot = this.slots[i]!;
      if (slot.answer === undefined && slot.xid === xid) return slot;
    }
    return undefined;
  }

  /**
   * Sends the answered slots at the head of the queue, in order, while the client reads what it
   * was sent (all of them when `force`: the connection is closing).
   */
  private flushSlots(force = false): void {
    let released = 0;
    let end = false;
    while (this.slotsHead < this.slots.length && !end) {
      if (this.deferredEvents.length > 0) this.writeDueEvents();
      const slot = this.slots[this.slotsHead]!;
      if (slot.answer === undefined) break;
      if (!force && this.congested()) break;
      this.slotsHead++;
      this.repliesSent++;
      if (slot.counted) released++;
      const output = this.outputFrame();
      const before = output?.length ?? 0;
      if (output !== undefined && slot.saslToken !== undefined)
        writeSaslReply(output, slot.xid, slot.answer.zxid, slot.answer.reply, slot.saslToken);
      else if (output !== undefined)
        writeReply(output, slot.decoded ?? 0, slot.xid, slot.answer.zxid, slot.answer.reply);
      if (output !== undefined) this.port.responseWritten(output.length - before - frameLengthBytes, false);
      end = slot.closesConnection === true;
    }
    if (this.deferredEvents.length > 0) this.writeDueEvents();
    this.counted -= released;
    this.port.budget.release(released);
    if (end) {
      // The session lives on; only this connection goes, as ZooKeeper's sendCloseSession.
      this.link?.close();
      this.closeAfterFlush();
      return;
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
   * turn of the event loop go out in one socket write. A client that has left more than
   * writeBufferMaxBytes unread is closed here, before anything more is encoded for it.
   */
  private outputFrame(): JuteWriter | undefined {
    if (this.phase === 'closed') return undefined;
    if (this.unsentBytes() > this.port.limits.writeBufferMaxBytes) {
      this.closeSlowConsumer('over zabkit.clientWriteBufferMax');
      return undefined;
    }
    // A turn that produces much output sends it as it goes, so the gathering buffer stays small
    // and a burst of large replies is not copied again and again as the buffer grows.
    if (this.output.length >= maxOutputBytes) this.writeOutput();
    this.stats.sent++;
    this.port.stats.packetsSent++;
    if (!this.outputScheduled) {
      this.outputScheduled = true;
      process.nextTick(() => this.flushOutput());
    }
    return this.output;
  }

  /** Hands the gathered output to the socket. */
  private writeOutput(): void {
    if (this.output.length === 0) return;
    const used = this.output.length;
    const bytes = this.output.take(Math.min(maxOutputBytes, Math.max(minOutputBytes, used)));
    if (this.socket.destroyed) return;
    this.port.stats.bytesSent += bytes.length;
    this.socket.write(bytes);
  }

  /** The end of a turn: send what it produced; past the high-water mark, wait for a drain. */
  private flushOutput(): void {
    this.outputScheduled = false;
    this.writeOutput();
    if (this.phase === 'closed') return;
    if (this.congested()) this.startStallTimer();
    else this.resumeServing();
  }

  /** The kernel took everything queued: send the replies that waited, then serve requests. */
  private onDrain(): void {
    this.clearStallTimer();
    this.resumeServing();
  }

  private resumeServing(): void {
    if (this.phase === 'closed') return;
    if (this.slotsHead < this.slots.length) this.flushSlots();
    if (this.queuedHead < this.queued.length) this.serveQueued();
  }

  private startStallTimer(): void {
    if (this.stallTimer !== undefined) return;
    const limitMs =
      this.port.limits.writeStallTimeoutMs > 0
        ? this.port.limits.writeStallTimeoutMs
        : this.timeoutMs > 0
          ? this.timeoutMs
          : this.port.limits.sessionlessTimeoutMs;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      if (this.socket.writableLength > this.port.limits.writeBufferHighWaterBytes)
        this.closeSlowConsumer(`replies left unread for ${limitMs} ms`);
    }, limitMs);
  }

  private clearStallTimer(): void {
    if (this.stallTimer === undefined) return;
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  private clearSessionlessTimer(): void {
    if (this.sessionlessTimer === undefined) return;
    clearTimeout(this.sessionlessTimer);
    this.sessionlessTimer = undefined;
  }

  private stopTimers(): void {
    this.clearStallTimer();
    this.clearSessionlessTimer();
  }

  private expireSessionless(): void {
    this.sessionlessTimer = undefined;
    this.expiredSessionless = true;
    if (this.socket.destroyed) return;
    this.port.stats.connectionsSessionless++;
    // Routine under a scan or a flood of half-open sockets: counted, and logged at debug.
    this.port.options.log.debug(
      { remote: this.remote, timeoutMs: this.port.limits.sessionlessTimeoutMs },
      'closing a client connection without a session',
    );
    this.abandon();
  }

  private closeSlowConsumer(why: string): void {
    this.port.stats.connectionsSlowConsumer++;
    this.port.options.log.warn(
      { remote: this.remote, sessionId: this.sessionId, why, unsentBytes: this.unsentBytes() },
      'closing a client connection that does not read its replies',
    );
    this.abandon();
  }

  /** Closes now, dropping what is queued either way: the session lives on until it expires. */
  private abandon(): void {
    this.phase = 'closed';
    this.link?.close();
    this.link = undefined;
    this.output.take(minOutputBytes);
    this.deferredEvents = [];
    this.deferredEventBytes = 0;
    this.queued = [];
    this.queuedHead = 0;
    this.socket.destroy();
  }

  /** The server closed the session's link: send what is queued, then close. */
  private closeAfterFlush(): void {
    this.flushSlots(true);
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
    this.abandon();
  }
}

const empty = new Uint8Array(0);

/** stmk's request: the word and its 8-byte mask. */
const stmkLengthBytes = 12;

/** ReplyHeader and SetSASLResponse{buffer token}: the body comes with errors too, as ZooKeeper's. */
function writeSaslReply(
  writer: JuteWriter,
  xid: number,
  zxid: bigint,
  reply: Reply,
  token: Uint8Array | null,
): void {
  const at = writer.beginFrame();
  writer
    .int(xid)
    .long(zxid)
    .int(reply.ok ? 0 : reply.code)
    .buffer(token);
  writer.endFrame(at);
}

/** A connection's peer, as both its plain and its TLS socket report it. */
/** Whether an address is the loopback one (127.0.0.0/8 or ::1, IPv4-mapped included), as Java's isLoopbackAddress. */
function isLoopback(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return v4.startsWith('127.') || address === '::1';
}

function peerKey(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

/** About the bytes a watch event takes on the wire: its header and path, as UTF-16 at worst. */
function deferredEventCost(event: WatchEvent): number {
  return 32 + event.path.length * 3;
}
