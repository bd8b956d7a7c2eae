/**
 * @zabkit/transport-tcp: ZAB peer links over TCP, optionally in TLS, optionally
 * authenticated with a shared secret.
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
 * Every connection starts with a handshake (frames.ts) in which the dialler names itself and
 * the server it means to reach, and, with a quorum secret, both ends prove they hold it
 * (handshake.ts); with TLS both ends present certificates, and each checks that the other's
 * belongs to the server id at the other end. Until the acceptor has accepted, nothing the
 * dialler sends is decoded as a PeerMessage: frames are limited to a few bytes, anything
 * beyond the expected handshake frame closes the connection, a handshake must finish within
 * `handshakeTimeoutMs`, and at most `maxUnauthenticatedConnections` connections wait at once.
 *
 * A server outside the membership (one about to be added by a reconfig, which ZooKeeper has
 * start, connect and sync as a non-voting follower before `reconfig -add`) is accepted too,
 * once it authenticates as any member must: its hello says where its own peer port is, and
 * the acceptor dials it back there. At most `nonMemberPeersMax` such links are held at once;
 * each is logged when accepted and forgotten when it breaks (the stranger dials again if it
 * still wants in), unless `setPeer` made it a member meanwhile.
 *
 * @packageDocumentation
 */
import {
  isIP,
  type Server,
  type Socket,
  createConnection as tcpConnect,
  createServer as tcpServer,
} from 'node:net';
import {
  checkServerIdentity,
  createSecureContext,
  type PeerCertificate,
  type SecureContext,
  type TLSSocket,
  connect as tlsConnect,
  createServer as tlsServer,
} from 'node:tls';
import {
  decodePeerMessage,
  framePeerMessage,
  PeerCodecError,
  type PeerCodecLimits,
  peerFramePrefixBytes,
  resolveLimits,
} from '@zabkit/codec';
import type { PeerMessage, PeerTransport, ServerId, TransportHandlers } from '@zabkit/core';
import { Admission, type AdmissionStats } from './admission.js';
import {
  decodeAcceptorReply,
  decodeHello,
  decodeProof,
  encodeAccept,
  encodeChallenge,
  encodeHello,
  encodeHelloV2,
  encodeProof,
  encodeRefuse,
  FrameReader,
  type Hello,
  type HelloAddress,
  handshakeFrameBytesMax,
  helloHostBytesMax,
  type RefuseReasonName,
} from './frames.js';
import { handshakeProof, newNonce, proofMatches } from './handshake.js';

export { decodePeerMessage, encodePeerMessage, PeerCodecError } from '@zabkit/codec';
export type { AdmissionStats } from './admission.js';
export {
  type AcceptorReply,
  decodeAcceptorReply,
  decodeHello,
  decodeProof,
  encodeAccept,
  encodeChallenge,
  encodeHello,
  encodeHelloV2,
  encodeProof,
  encodeRefuse,
  FrameError,
  FrameReader,
  HandshakeKind,
  type Hello,
  type HelloAddress,
  handshakeFrameBytesMax,
  helloHostBytesMax,
  nonceBytes,
  proofBytes,
  protocolMagic,
  protocolVersion,
  protocolVersionOldest,
  RefuseReason,
  type RefuseReasonName,
} from './frames.js';
export { type HandshakeRole, handshakeProof, newNonce, proofMatches } from './handshake.js';

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

/**
 * TLS on every peer link, both ways authenticated: each end presents `cert` and accepts only
 * a certificate chaining to `ca`.
 */
export interface PeerTlsOptions {
  /** This server's private key, PEM. */
  readonly key: string;
  /** This server's certificate, then any intermediates, PEM. */
  readonly cert: string;
  /** The certificates peers' chains must lead to, PEM. */
  readonly ca: string | readonly string[];
  /** Lowest TLS version offered and accepted. Default TLSv1.2. */
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Highest TLS version offered and accepted. Default TLSv1.3. */
  readonly maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list (TLSv1.3 suites by their `TLS_` names); Node's default when absent. */
  readonly ciphers?: string;
  /**
   * Check that a peer's certificate belongs to the server id at the other end: its DNS or IP
   * subjectAltName (or, without DNS names, its CN) must match that server's identity. Default
   * true. Off, any certificate the CA signed may claim any server id.
   */
  readonly hostnameVerification?: boolean;
  /** The name each server's certificate must carry, where it is not the host of its address. */
  readonly identities?: ReadonlyMap<ServerId, string>;
}

/** How peers prove who they are. Neither: anyone who can reach the port may claim any id. */
export interface PeerSecurityOptions {
  /** Mutual TLS on every link. */
  readonly tls?: PeerTlsOptions;
  /** The ensemble's shared secret: a mutual HMAC challenge-response opens every link (handshake.ts). */
  readonly secret?: Uint8Array;
}

/**
 * Where the transport reports refused peers, broken links and undecodable messages: fields
 * first, then the message, as pino (and zabkit's Logger) take them.
 */
export interface TransportLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
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
  /** TLS and/or the quorum secret; default neither. */
  readonly security?: PeerSecurityOptions;
  /** Time a connection has to complete its handshake (TLS included), either end. Default 5000 ms. */
  readonly handshakeTimeoutMs?: number;
  /** Inbound connections waiting to authenticate at once; one more closes the oldest. Default 64. */
  readonly maxUnauthenticatedConnections?: number;
  /**
   * Where peers reach this endpoint, told to every server it dials (so one that does not
   * know it can dial back). Default: the listen host and the port bound. A wildcard host
   * (0.0.0.0, ::) is replaced, at the acceptor, by the address the connection came from.
   */
  readonly advertise?: PeerAddress;
  /**
   * Servers outside the membership (not given by `peers` or `setPeer`) whose links are held at
   * once: each authenticated as a member must be, and said where it is reached. One more is
   * refused (`tooManyNonMembers`); 0 refuses every one (`unknownPeer`). Default 8.
   */
  readonly nonMemberPeersMax?: number;
  /** Default: nothing is logged. */
  readonly log?: TransportLogger;
  /**
   * Bounds on decoded messages (strings, data, list lengths); default the codec's. A message
   * beyond them closes its link like any other that does not decode.
   */
  readonly codecLimits?: Partial<PeerCodecLimits>;
}

/** 64 MiB: room for a snapshot sync without letting a stalled peer exhaust memory. */
export const defaultMaxQueuedBytes = 64 * 1024 * 1024;
/** 64 MiB, the largest frame by default. */
export const defaultMaxFrameBytes = 64 * 1024 * 1024;
/** 50 ms doubling to 2 s: quick to heal a blip, cheap against a peer that is down for long. */
export const defaultReconnect: ReconnectOptions = { initialMs: 50, maxMs: 2000 };
/** 5 s, ZooKeeper's default quorum connection timeout (`zookeeper.cnxTimeout`). */
export const defaultHandshakeTimeoutMs = 5000;
/** A refusal reason is logged at most once in this interval; the rest are summed up after it. */
const refusalLogIntervalMs = 1000;
/** 64 waiting connections: far more than an ensemble's peers ever open at once. */
export const defaultMaxUnauthenticatedConnections = 64;
/** 8 servers outside the membership at once: more than a reconfig adds in one go. */
export const defaultNonMemberPeersMax = 8;

/** What the transport refused or cut, for health answers and tests. */
export interface TransportSecurityStats extends AdmissionStats {
  /** Inbound handshakes refused, by reason (plus `protocol` for malformed handshakes, `tls` for failed TLS). */
  readonly refused: Readonly<Record<string, number>>;
  /** Links closed because a peer's message did not decode. */
  readonly undecodable: number;
  /** Servers outside the membership whose links are held now. */
  readonly nonMembers: number;
  /** Servers outside the membership accepted since the start. */
  readonly nonMembersAccepted: number;
}

/** One peer's link: the outbound socket we dial and the inbound one it dialled to us. */
interface Link {
  readonly id: ServerId;
  address: PeerAddress;
  /**
   * Accepted from a server outside the membership: dropped when it breaks, instead of
   * redialled, unless `setPeer` made it a member.
   */
  nonMember: boolean;
  /**
   * The next dial says a version 2 hello: the last one, of version 3, was met with a close
   * and no word, as an acceptor of version 2 answers it (see encodeHelloV2). One attempt.
   */
  helloV2Next: boolean;
  out: Socket | undefined;
  /** The outbound socket's handshake is done: the peer accepted us. */
  connected: boolean;
  inbound: Socket | undefined;
  /**
   * Frames not yet handed to the socket, as their parts (see PeerFrame): while disconnected,
   * or until the batch is flushed. queuedBytes counts every part.
   */
  queue: Uint8Array[];
  queuedBytes: number;
  flushScheduled: boolean;
  attempt: number;
  timer: NodeJS.Timeout | undefined;
  /** The last dial failure logged, so a peer that stays unreachable is logged once, not per attempt. */
  lastDialProblem: string | undefined;
}

/** A link not yet dialled or accepted, with nothing queued. */
function newLink(id: ServerId, address: PeerAddress, nonMember: boolean): Link {
  return {
    id,
    address,
    nonMember,
    helloV2Next: false,
    out: undefined,
    connected: false,
    inbound: undefined,
    queue: [],
    queuedBytes: 0,
    flushScheduled: false,
    attempt: 0,
    timer: undefined,
    lastDialProblem: undefined,
  };
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
  private readonly handshakeTimeoutMs: number;
  private readonly secret: Uint8Array | undefined;
  private readonly tls: PeerTlsOptions | undefined;
  private readonly secureContext: SecureContext | undefined;
  private readonly log: TransportLogger | undefined;
  private readonly codecLimits: PeerCodecLimits;
  private readonly links = new Map<ServerId, Link>();
  /** Every socket we hold, handshaken or not, so close() can destroy them all. */
  private readonly sockets = new Set<Socket>();
  /** Peers cut off by `partition`: not dialled, refused, and sent nothing until `heal`. */
  private readonly cut = new Set<ServerId>();
  private readonly admission: Admission;
  /** With TLS: the raw TCP socket under each TLS connection still in its handshake, by remote endpoint. */
  private readonly rawByEndpoint = new Map<string, Socket>();
  private readonly refusedCounts: Record<string, number> = {};
  private readonly refusalLoggedAtMs = new Map<string, number>();
  private readonly refusalsHeldBack = new Map<string, number>();
  private readonly refusalSummaryTimers = new Map<string, NodeJS.Timeout>();
  private undecodableCount = 0;
  private readonly advertise: PeerAddress | undefined;
  private readonly nonMemberPeersMax: number;
  private nonMembersAcceptedCount = 0;
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
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? defaultHandshakeTimeoutMs;
    this.log = options.log;
    this.codecLimits = resolveLimits(options.codecLimits);
    this.advertise = options.advertise;
    this.nonMemberPeersMax = options.nonMemberPeersMax ?? defaultNonMemberPeersMax;
    if (!Number.isSafeInteger(this.nonMemberPeersMax) || this.nonMemberPeersMax < 0)
      throw new RangeError(`nonMemberPeersMax ${this.nonMemberPeersMax}`);
    this.secret = options.security?.secret;
    if (this.secret !== undefined && this.secret.length === 0) throw new RangeError('empty quorum secret');
    this.tls = options.security?.tls;
    this.admission = new Admission(
      options.maxUnauthenticatedConnections ?? defaultMaxUnauthenticatedConnections,
      this.handshakeTimeoutMs,
      (socket, why) => this.noteRefusal(why, socket.remoteAddress, undefined),
    );
    for (const [id, address] of options.peers ?? []) this.setPeer(id, address);
    if (this.tls === undefined) {
      this.server = tcpServer((socket) => {
        if (this.admitRaw(socket)) this.accept(socket, socket);
      });
    } else {
      const contextOptions = {
        key: this.tls.key,
        cert: this.tls.cert,
        ca: typeof this.tls.ca === 'string' ? this.tls.ca : [...this.tls.ca],
        minVersion: this.tls.minVersion ?? 'TLSv1.2',
        maxVersion: this.tls.maxVersion ?? 'TLSv1.3',
        ...(this.tls.ciphers === undefined ? {} : { ciphers: this.tls.ciphers }),
      } as const;
      // Dialled connections share one context; the server builds its own from the same options
      // (tls.createServer takes the options, not a context).
      this.secureContext = createSecureContext(contextOptions);
      this.server = tlsServer(
        {
          ...contextOptions,
          requestCert: true,
          rejectUnauthorized: true,
          handshakeTimeout: this.handshakeTimeoutMs,
        },
        (socket) => this.acceptTls(socket),
      );
      this.server.on('connection', (raw: Socket) => {
        if (!this.admitRaw(raw)) return;
        const key = endpointKey(raw);
        if (key !== undefined) this.rawByEndpoint.set(key, raw);
        raw.once('close', () => {
          if (key !== undefined && this.rawByEndpoint.get(key) === raw) this.rawByEndpoint.delete(key);
        });
      });
      this.server.on('tlsClientError', (error: Error, socket: TLSSocket) =>
        this.noteRefusal('tls', socket.remoteAddress, undefined, { error: error.message }),
      );
    }
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

  /** What was refused and cut so far, and how many connections wait to authenticate now. */
  get securityStats(): TransportSecurityStats {
    return {
      ...this.admission.stats,
      refused: { ...this.refusedCounts },
      undecodable: this.undecodableCount,
      nonMembers: this.nonMemberCount(),
      nonMembersAccepted: this.nonMembersAcceptedCount,
    };
  }

  /**
   * Adds a peer or changes its address (a changed address breaks the current link). Lets a
   * caller learn ports bound with port 0 after constructing the endpoints.
   */
  setPeer(id: ServerId, address: PeerAddress): void {
    if (id === this.serverId || this.closed) return;
    const existing = this.links.get(id);
    if (existing !== undefined) {
      if (existing.nonMember) {
        existing.nonMember = false;
        this.log?.info({ peer: id }, 'server outside the membership is a member now');
      }
      if (existing.address.host === address.host && existing.address.port === address.port) return;
      existing.address = address;
      this.breakLink(existing, false);
      return;
    }
    const link = newLink(id, address, false);
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
    // Shared with the other learners' links when the leader sends them the same message.
    const frame = framePeerMessage(message, peerFramePrefixBytes);
    const payloadBytes = frame.bytes - peerFramePrefixBytes;
    const buffered = link.connected && link.out !== undefined ? link.out.writableLength : 0;
    if (
      payloadBytes > this.maxFrameBytes ||
      link.queuedBytes + buffered + frame.bytes > this.maxQueuedBytes
    ) {
      // The message cannot go out in order: drop it with everything unsent and report the gap.
      this.breakLink(link, true);
      return;
    }
    frame.head.writeUInt32BE(payloadBytes, 0);
    link.queue.push(frame.head);
    for (const part of frame.rest) link.queue.push(part);
    link.queuedBytes += frame.bytes;
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
    this.admission.clear();
    for (const timer of this.refusalSummaryTimers.values()) clearTimeout(timer);
    this.refusalSummaryTimers.clear();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    for (const raw of this.rawByEndpoint.values()) raw.destroy();
    this.rawByEndpoint.clear();
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
    // One corked write (a writev): a burst of acks, or a frame's parts, in one syscall.
    socket.cork();
    for (const part of queue) socket.write(part);
    socket.uncork();
  }

  /** The name `id`'s certificate must carry, or undefined when names are not checked. */
  private identityOf(id: ServerId, address: PeerAddress): string | undefined {
    if (this.tls === undefined || this.tls.hostnameVerification === false) return undefined;
    return this.tls.identities?.get(id) ?? address.host;
  }

  private dial(link: Link): void {
    if (!this.started || this.closed || this.cut.has(link.id)) return;
    if (link.out !== undefined || link.timer !== undefined) return;
    const { host, port } = link.address;
    let socket: Socket;
    if (this.secureContext === undefined) {
      socket = tcpConnect({ host, port });
      socket.on('connect', () => this.startDialHandshake(link, socket));
    } else {
      const identity = this.identityOf(link.id, link.address);
      socket = tlsConnect({
        host,
        port,
        secureContext: this.secureContext,
        // SNI takes names only; an IP identity is still checked below.
        ...(identity !== undefined && isIP(identity) === 0 ? { servername: identity } : {}),
        rejectUnauthorized: true,
        checkServerIdentity: (_host: string, certificate: PeerCertificate) =>
          identity === undefined ? undefined : checkServerIdentity(identity, certificate),
      });
      socket.on('secureConnect', () => this.startDialHandshake(link, socket));
    }
    this.sockets.add(socket);
    link.out = socket;
    socket.setNoDelay(true);
    // ZAB's own pings notice a silent peer; keepalive also reaps half-open sockets nobody writes to.
    socket.setKeepAlive(true, 10_000);
    // A peer that takes our connection but never finishes the handshake must not hold the link.
    socket.setTimeout(this.handshakeTimeoutMs, () => {
      if (!link.connected && link.out === socket) {
        this.noteDialProblem(link, 'handshake timed out');
        socket.destroy();
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // 'close' follows every error; the link is handled there.
      if (!link.connected && link.out === socket) this.noteDialProblem(link, error.code ?? error.message);
    });
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (link.out !== socket || this.closed) return;
      if (link.connected) {
        this.breakLink(link, true);
      } else {
        // Never accepted: nothing was lost, keep the queue and try again later.
        link.out = undefined;
        this.scheduleDial(link);
      }
    });
  }

  /** Connected (TLS verified, if on): say who we are, then follow the acceptor's replies. */
  private startDialHandshake(link: Link, socket: Socket): void {
    if (link.out !== socket) return;
    const nonce = this.secret === undefined ? undefined : newNonce();
    const v2 = link.helloV2Next;
    link.helloV2Next = false;
    socket.write(
      v2
        ? encodeHelloV2(this.serverId, link.id, nonce)
        : encodeHello(this.serverId, link.id, nonce, this.advertisedAddress()),
    );
    const reader = new FrameReader(handshakeFrameBytesMax);
    let challenged = false;
    let answered = false;
    socket.once('close', () => {
      // Closed on our version 3 hello without a word: the acceptor may be of version 2, which
      // refuses what it cannot read so. Say version 2 at the next attempt only; a server
      // outside its membership is refused either way, and one that was merely restarting
      // hears version 3 again after it.
      if (!answered && !v2 && !link.connected && !this.closed) link.helloV2Next = true;
    });
    socket.on('data', (chunk: Buffer) => {
      answered = true;
      if (link.out !== socket) {
        socket.destroy();
        return;
      }
      if (link.connected) {
        // The acceptor says nothing after accepting; anything more is a broken peer.
        this.breakLink(link, true);
        return;
      }
      reader.push(chunk);
      let payload: Buffer | undefined;
      try {
        payload = reader.next();
      } catch {
        payload = Buffer.alloc(0);
      }
      if (payload === undefined) return;
      const reply = decodeAcceptorReply(payload);
      const expected = this.secret !== undefined && !challenged ? 'challenge' : 'accept';
      if (reply?.kind === 'refuse') {
        this.noteDialProblem(link, `refused: ${reply.reason}`);
        socket.destroy();
        return;
      }
      if (reply === undefined || reply.kind !== expected || reader.bufferedBytes > 0) {
        this.noteDialProblem(link, 'not a zabkit peer handshake');
        socket.destroy();
        return;
      }
      if (reply.kind === 'challenge') {
        const mine = handshakeProof(this.secret!, 'acceptor', this.serverId, link.id, nonce!, reply.nonce);
        if (!proofMatches(mine, reply.proof)) {
          // Whoever listens there does not hold the secret: tell it nothing more.
          this.noteDialProblem(link, 'the server there does not hold the quorum secret');
          socket.destroy();
          return;
        }
        challenged = true;
        socket.write(
          encodeProof(handshakeProof(this.secret!, 'dialler', this.serverId, link.id, nonce!, reply.nonce)),
        );
        return;
      }
      this.linkAccepted(link, socket);
    });
  }

  private linkAccepted(link: Link, socket: Socket): void {
    socket.setTimeout(0);
    link.connected = true;
    link.attempt = 0;
    if (link.lastDialProblem !== undefined) {
      this.log?.info({ peer: link.id }, 'peer link up again');
      link.lastDialProblem = undefined;
    }
    this.flush(link);
  }

  private noteDialProblem(link: Link, problem: string): void {
    if (link.lastDialProblem === problem) return;
    link.lastDialProblem = problem;
    const fields = { peer: link.id, address: `${link.address.host}:${link.address.port}`, problem };
    // Refusals and certificate errors are configuration trouble; a peer that is down is routine.
    if (/refused:|certificate|secret|not a zabkit|ERR_TLS|CERT|SSL|alert/i.test(problem)) {
      this.log?.warn(fields, 'cannot authenticate to peer');
    } else {
      this.log?.debug(fields, 'cannot reach peer');
    }
  }

  /**
   * Dials `link` at once, cancelling a redial waiting out its backoff: the peer just dialled
   * us, so it is up. Waiting out a backoff grown while it was down (up to `maxMs`) would leave
   * a restarted server unable to hear anyone for that long: it cannot win or join an election
   * until its peers' redials come round, where ZooKeeper answers its connection at once.
   */
  private dialNow(link: Link): void {
    if (link.timer !== undefined) {
      clearTimeout(link.timer);
      link.timer = undefined;
    }
    link.attempt = 0;
    this.dial(link);
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
    if (link.nonMember) {
      // Not ours to redial: a server outside the membership dials again if it still wants in.
      clearTimeout(link.timer);
      link.timer = undefined;
      if (this.links.get(link.id) === link) this.links.delete(link.id);
      this.log?.info({ peer: link.id }, 'link to a server outside the membership closed: forgotten');
      return;
    }
    this.scheduleDial(link);
  }

  /** Where peers reach us, as the hello tells them; undefined before `start` bound a port. */
  private advertisedAddress(): HelloAddress | undefined {
    const address = this.advertise ?? this.boundAddress;
    if (address === undefined || address.port === 0) return undefined;
    return Buffer.byteLength(address.host, 'latin1') <= helloHostBytesMax ? address : undefined;
  }

  private nonMemberCount(): number {
    let count = 0;
    for (const link of this.links.values()) if (link.nonMember) count++;
    return count;
  }

  /**
   * An authenticated server outside the membership: a link of its own, dialled back at the
   * address its hello gave, until it breaks.
   */
  private addNonMember(hello: Hello, socket: Socket): Link {
    const said = hello.address!;
    // A wildcard host says "any of my addresses": the one it came from is one.
    const host = wildcardHosts.has(said.host) ? (socket.remoteAddress ?? said.host) : said.host;
    const link = newLink(hello.from, { host, port: said.port }, true);
    this.links.set(link.id, link);
    this.nonMembersAcceptedCount++;
    this.log?.info(
      {
        peer: link.id,
        address: `${host}:${said.port}`,
        nonMembers: this.nonMemberCount(),
        nonMemberPeersMax: this.nonMemberPeersMax,
      },
      'accepted a server outside the membership (it may sync as a non-voting learner)',
    );
    return link;
  }

  /** Admission control for a raw inbound TCP connection; false when it was not taken. */
  private admitRaw(raw: Socket): boolean {
    if (this.closed) {
      raw.destroy();
      return false;
    }
    raw.on('error', () => {
      // 'close' follows.
    });
    this.admission.admit(raw);
    raw.once('close', () => this.admission.release(raw));
    return true;
  }

  /** A TLS connection whose certificate chain verified: run our handshake on it. */
  private acceptTls(socket: TLSSocket): void {
    const key = endpointKey(socket);
    const raw = key === undefined ? undefined : this.rawByEndpoint.get(key);
    if (raw === undefined || !this.admission.has(raw)) {
      // Evicted or timed out while its TLS handshake was running.
      socket.destroy();
      return;
    }
    this.rawByEndpoint.delete(key!);
    this.accept(socket, raw);
  }

  /**
   * An inbound connection: read the hello (and with the secret, the proof) in tiny frames,
   * decide, and only then read PeerMessages. `raw` is the TCP socket admission counts.
   */
  private accept(socket: Socket, raw: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const reader = new FrameReader(handshakeFrameBytesMax);
    let link: Link | undefined;
    let hello: Hello | undefined;
    let acceptorNonce: Buffer | undefined;
    socket.on('error', () => {
      // 'close' follows.
    });
    const fail = () => {
      if (link !== undefined && link.inbound === socket) this.breakLink(link, true);
      else socket.destroy();
    };
    let refused = false;
    const refuse = (reason: RefuseReasonName | 'protocol', claimed?: ServerId) => {
      refused = true;
      this.noteRefusal(reason, socket.remoteAddress, claimed);
      if (reason === 'protocol') {
        // Not our protocol, or a broken peer: nothing to explain.
        socket.destroy();
        return;
      }
      // Say why, so a misconfigured peer can log it, but never wait on a stranger to read it.
      socket.end(encodeRefuse(reason));
      setTimeout(() => socket.destroy(), 1000).unref();
    };
    socket.on('data', (chunk: Buffer) => {
      if (refused) return;
      if (link === undefined) {
        // Before acceptance: copy, so a tiny remainder never pins a large read buffer.
        reader.push(Buffer.from(chunk));
      } else {
        reader.push(chunk);
      }
      while (!socket.destroyed && !this.closed && !refused) {
        let payload: Buffer | undefined;
        try {
          payload = reader.next();
        } catch {
          if (link === undefined) refuse('protocol');
          else fail();
          return;
        }
        if (payload === undefined) {
          if (link === undefined && reader.bufferedBytes > 4 + handshakeFrameBytesMax) refuse('protocol');
          // Part of a message came: over a slow link a large one takes long to come whole, and
          // the peer's core should know meanwhile that the link carries.
          if (link !== undefined && link.inbound === socket && reader.midFrame)
            this.handlers?.progress?.(link.id);
          return;
        }
        if (link !== undefined) {
          if (!this.deliver(link, socket, payload)) return;
          continue;
        }
        if (hello === undefined) {
          hello = decodeHello(payload);
          if (hello === undefined) return refuse('protocol');
          const problem = this.checkHello(hello, socket);
          if (problem !== undefined) return refuse(problem, hello.from);
          if (reader.bufferedBytes > 0) return refuse('protocol', hello.from);
          if (this.secret !== undefined) {
            acceptorNonce = newNonce();
            const proof = handshakeProof(
              this.secret,
              'acceptor',
              hello.from,
              hello.to,
              hello.nonce!,
              acceptorNonce,
            );
            socket.write(encodeChallenge(acceptorNonce, proof));
            continue;
          }
        } else {
          const received = decodeProof(payload);
          if (received === undefined) return refuse('protocol', hello.from);
          const expected = handshakeProof(
            this.secret!,
            'dialler',
            hello.from,
            hello.to,
            hello.nonce!,
            acceptorNonce!,
          );
          if (!proofMatches(expected, received)) return refuse('badProof', hello.from);
          if (reader.bufferedBytes > 0) return refuse('protocol', hello.from);
        }
        // Authenticated.
        let known = this.links.get(hello.from);
        // A second connection from the same peer means it saw a break we missed: report it.
        // (A server outside the membership is forgotten by that, and added again just below.)
        if (known !== undefined && known.inbound !== undefined) this.breakLink(known, true);
        known = this.links.get(hello.from);
        if (known === undefined) {
          // Checked again: other strangers may have authenticated while this one did.
          const problem = this.nonMemberProblem(hello);
          if (problem !== undefined) return refuse(problem, hello.from);
          known = this.addNonMember(hello, socket);
        }
        this.admission.release(raw);
        known.inbound = socket;
        link = known;
        if (known.out === undefined) this.dialNow(known);
        reader.setMaxFrameBytes(this.maxFrameBytes);
        socket.write(encodeAccept());
      }
    });
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.admission.release(raw);
      if (!this.closed && link !== undefined && link.inbound === socket) this.breakLink(link, true);
    });
  }

  /** Why a hello must be refused, or undefined when it may proceed. */
  private checkHello(hello: Hello, socket: Socket): RefuseReasonName | undefined {
    if (this.cut.has(hello.from)) return 'unknownPeer';
    const known = this.links.get(hello.from);
    if (known === undefined) {
      const problem = this.nonMemberProblem(hello);
      if (problem !== undefined) return problem;
    }
    if (hello.to !== this.serverId) return 'wrongServer';
    if ((hello.nonce !== undefined) !== (this.secret !== undefined)) return 'authMismatch';
    if (this.tls !== undefined) {
      // A stranger's certificate must belong to the address it says it is reached at.
      const identity =
        known === undefined
          ? this.identityOf(hello.from, hello.address!)
          : this.identityOf(known.id, known.address);
      if (identity !== undefined) {
        const certificate = (socket as TLSSocket).getPeerCertificate();
        if (checkServerIdentity(identity, certificate) !== undefined) return 'certificateMismatch';
      }
    }
    return undefined;
  }

  /** Why a server outside the membership may not link to us now, or undefined when it may. */
  private nonMemberProblem(hello: Hello): RefuseReasonName | undefined {
    // Without an address it cannot be dialled back; with none accepted, none is.
    if (hello.address === undefined || this.nonMemberPeersMax === 0) return 'unknownPeer';
    if (this.nonMemberCount() >= this.nonMemberPeersMax) return 'tooManyNonMembers';
    return undefined;
  }

  /** Decodes and delivers one PeerMessage; false when the link was closed instead. */
  private deliver(link: Link, socket: Socket, payload: Buffer): boolean {
    let message: PeerMessage;
    try {
      message = decodePeerMessage(payload, this.codecLimits);
    } catch (error) {
      this.undecodableCount++;
      // The codec's errors name the field at fault (followerInfo.acceptedEpoch, ...): log it.
      const field = error instanceof PeerCodecError && error.field !== '' ? { field: error.field } : {};
      this.log?.warn(
        {
          peer: link.id,
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          ...field,
        },
        'closing peer link: message does not decode',
      );
      if (link.inbound === socket) this.breakLink(link, true);
      else socket.destroy();
      return false;
    }
    if (link.inbound !== socket) return false;
    this.emit({ from: link.id, message });
    return true;
  }

  /**
   * Counts a refusal and logs it, at most once a second per reason so a flood cannot flood the
   * log; what a second held back is summed up in one line when it ends.
   */
  private noteRefusal(
    reason: string,
    address: string | undefined,
    claimed: ServerId | undefined,
    extra = {},
  ): void {
    this.refusedCounts[reason] = (this.refusedCounts[reason] ?? 0) + 1;
    const now = Date.now();
    const last = this.refusalLoggedAtMs.get(reason);
    const level = reason === 'evicted' || reason === 'timedOut' || reason === 'protocol' ? 'info' : 'warn';
    if (last !== undefined && now - last < refusalLogIntervalMs) {
      this.refusalsHeldBack.set(reason, (this.refusalsHeldBack.get(reason) ?? 0) + 1);
      if (!this.refusalSummaryTimers.has(reason)) {
        const timer = setTimeout(
          () => {
            this.refusalSummaryTimers.delete(reason);
            const heldBack = this.refusalsHeldBack.get(reason) ?? 0;
            this.refusalsHeldBack.delete(reason);
            if (this.closed || heldBack === 0) return;
            this.refusalLoggedAtMs.set(reason, Date.now());
            this.log?.[level](
              { reason, refusedSinceLastLine: heldBack, totalRefusedForReason: this.refusedCounts[reason] },
              'refused a peer connection',
            );
          },
          last + refusalLogIntervalMs - now,
        );
        timer.unref();
        this.refusalSummaryTimers.set(reason, timer);
      }
      return;
    }
    this.refusalLoggedAtMs.set(reason, now);
    this.log?.[level](
      {
        reason,
        ...(address === undefined ? {} : { address }),
        ...(claimed === undefined ? {} : { claimedServerId: claimed }),
        totalRefusedForReason: this.refusedCounts[reason],
        ...extra,
      },
      'refused a peer connection',
    );
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

/** Hosts that mean "every address of this machine" rather than one to dial. */
const wildcardHosts: ReadonlySet<string> = new Set(['0.0.0.0', '::', '[::]', '']);

function endpointKey(socket: Socket): string | undefined {
  const { remoteAddress, remotePort } = socket;
  return remoteAddress === undefined || remotePort === undefined
    ? undefined
    : `${remoteAddress}:${remotePort}`;
}
