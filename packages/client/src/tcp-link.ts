/**
 * Client links over TCP, speaking ZooKeeper's wire protocol: the same ClientLink contract
 * the in-process server provides, so ZabClient talks to zabkit or Apache ZooKeeper over a
 * socket exactly as it talks to an embedded server. A connect string names several servers;
 * each (re)connection attempt moves on to the next, starting from a random one.
 */
import { connect as connectSocket, isIP, type Socket } from 'node:net';
import { type ConnectionOptions, connect as connectTls } from 'node:tls';
import { type ClientRequest, type ConnectRequest, ErrorCode } from '@zabkit/core';
import {
  decodeConnectResponse,
  decodeReply,
  decodeWatcherEvent,
  encodeConnectRequest,
  encodeRequest,
  FrameDecoder,
  JuteReader,
  JuteWriter,
  OpCode,
  opcodeOf,
  peekXid,
  Xid,
} from '@zabkit/wire';
import { type ClientOptions, ZabClient } from './client.js';
import type { ClientLink, LinkFactory, LinkHandlers, LinkMessage } from './link.js';
import { checkRoot } from './paths.js';
import { DigestMd5Client, type SaslDigestCredentials, SaslFailure } from './sasl-digest.js';

/**
 * Opens a session over TCP to zabkit or Apache ZooKeeper: `connectTcp('a:2181,b:2181')`.
 * The client fails over between the servers named, keeping its session and watches. A chroot
 * suffix (`a:2181,b:2181/app`) puts every path under `/app`, as in every ZooKeeper client.
 */
export async function connectTcp(
  connectString: string,
  options: ClientOptions & TcpLinkOptions = {},
): Promise<ZabClient> {
  const { hosts, chroot } = splitChroot(connectString);
  if (chroot !== undefined && options.chroot !== undefined && options.chroot !== chroot)
    throw new RangeError(`two chroots: ${chroot} in the connect string and ${options.chroot} in the options`);
  return ZabClient.connect(new TcpLinkFactory(hosts, options), {
    ...options,
    chroot: chroot ?? options.chroot,
  });
}

/** One server of a connect string. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * Splits "hosts/chroot" where the chroot starts (ZooKeeper's ConnectStringParser): the first
 * "/" and what follows, a valid path. A bare "/" is no chroot at all.
 */
export function splitChroot(connectString: string): { hosts: string; chroot: string | undefined } {
  const slash = connectString.indexOf('/');
  if (slash < 0) return { hosts: connectString, chroot: undefined };
  const chroot = connectString.slice(slash);
  return { hosts: connectString.slice(0, slash), chroot: chroot === '/' ? undefined : checkRoot(chroot) };
}

/** Parses "host:port,host:port[/chroot]" into its servers (`splitChroot` gives the chroot). */
export function parseConnectString(connectString: string): HostPort[] {
  const servers = splitChroot(connectString)
    .hosts.split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part) => {
      const ipv6 = /^\[(.+)\](?::(\d+))?$/.exec(part);
      const [host, port] = ipv6 !== null ? [ipv6[1]!, ipv6[2]] : (part.split(':') as [string, string?]);
      const portNumber = port === undefined ? 2181 : Number(port);
      if (host.length === 0 || !Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535)
        throw new RangeError(`bad server address in connect string: ${part}`);
      return { host, port: portNumber };
    });
  if (servers.length === 0) throw new RangeError('the connect string names no server');
  return servers;
}

/** How TCP links connect and what they accept. */
export interface TcpLinkOptions {
  /** Largest frame accepted from a server (jute.maxbuffer). Default 0xfffff + 1 KiB of headers. */
  readonly maxFrameBytes?: number;
  /** Milliseconds to wait for the TCP connection itself. Default 5000. */
  readonly connectTimeoutMs?: number;
  /** Send the read-only flag in the handshake (kazoo does, node-zookeeper-client does not). Default true. */
  readonly sendReadOnlyFlag?: boolean;
  /** Start from a random server of the list (the default), or from the first. */
  readonly shuffle?: boolean;
  /**
   * Speak TLS, as to ZooKeeper's secureClientPort (or a port with client.portUnification):
   * Node's TLS options for every connection. The server's certificate is checked against `ca`
   * (Node's bundled CAs without it) and the host name it was reached by, unless
   * `rejectUnauthorized` is false; `cert` and `key` are for a server whose ssl.clientAuth
   * is need or want. Default: plain TCP.
   */
  readonly tls?: TcpTlsOptions;
  /**
   * Log in with SASL DIGEST-MD5 on every connection, as ZooKeeper's Java client does from a
   * JAAS `Client` section: the session is `sasl:<username>` on the server. Requests wait until
   * the exchange is done; a refused login ends the client with AuthFailed. Default: no SASL.
   */
  readonly sasl?: SaslDigestCredentials;
}

/** The TLS options a TCP link takes: a subset of Node's `tls.connect` options. */
export type TcpTlsOptions = Pick<
  ConnectionOptions,
  | 'ca'
  | 'cert'
  | 'key'
  | 'passphrase'
  | 'pfx'
  | 'servername'
  | 'rejectUnauthorized'
  | 'checkServerIdentity'
  | 'minVersion'
  | 'maxVersion'
  | 'ciphers'
  | 'secureContext'
>;

/** Opens links to the servers of a connect string, one server per attempt, round-robin. */
export class TcpLinkFactory implements LinkFactory {
  private readonly servers: HostPort[];
  private readonly start: number;

  /** `connectString` may carry a chroot; it is the client's to apply (`connectTcp` does), and ignored here. */
  constructor(
    connectString: string | readonly HostPort[],
    private readonly options: TcpLinkOptions = {},
  ) {
    this.servers = typeof connectString === 'string' ? parseConnectString(connectString) : [...connectString];
    if (this.servers.length === 0) throw new RangeError('no servers');
    // Spread clients over the ensemble, as ZooKeeper clients shuffle their host list.
    this.start = options.shuffle === false ? 0 : Math.floor(Math.random() * this.servers.length);
  }

  open(handlers: LinkHandlers, attempt: number): ClientLink {
    const server = this.servers[(this.start + attempt) % this.servers.length]!;
    return new TcpLink(server, handlers, this.options);
  }
}

/**
 * The xids of a link's own SASL requests, sent before the session's first request (which the
 * server never confuses with them: it answers SASL in turn and by xid alone).
 */
const saslXidBase = 1;

class TcpLink implements ClientLink {
  private readonly socket: Socket;
  private readonly frames: FrameDecoder;
  private handshaken = false;
  private ended = false;
  /** Opcodes of the requests awaiting replies, in order: replies come back in request order. */
  private readonly awaiting: { xid: number; opcode: number }[] = [];
  private connectFrame: Uint8Array | undefined;
  private connected = false;
  private lastReceivedMs = performance.now();
  private readTimer: ReturnType<typeof setInterval> | undefined;
  /** The SASL exchange under way, and the session it holds back until it is done. */
  private sasl:
    | { readonly client: DigestMd5Client; readonly connected: LinkMessage; step: number }
    | undefined;

  constructor(
    server: HostPort,
    private readonly handlers: LinkHandlers,
    private readonly options: TcpLinkOptions,
  ) {
    this.frames = new FrameDecoder(options.maxFrameBytes ?? 0xfffff + 1024);
    const tls = options.tls;
    // A TLS link is connected once its handshake is done; the connect timeout covers both.
    this.socket =
      tls === undefined
        ? connectSocket({ host: server.host, port: server.port, noDelay: true })
        : connectTls({
            host: server.host,
            port: server.port,
            ...tls,
            servername: tls.servername ?? (isIP(server.host) === 0 ? server.host : undefined),
          }).setNoDelay(true);
    this.socket.setTimeout(options.connectTimeoutMs ?? 5000);
    this.socket.once('timeout', () => this.fail());
    this.socket.once(tls === undefined ? 'connect' : 'secureConnect', () => {
      this.socket.setTimeout(0);
      this.connected = true;
      if (this.connectFrame !== undefined) this.socket.write(this.connectFrame);
    });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', () => this.fail());
    this.socket.on('close', () => this.fail());
  }

  connect(request: ConnectRequest): void {
    this.connectFrame = encodeConnectRequest({
      lastZxidSeen: request.lastZxidSeen,
      timeoutMs: request.timeoutMs,
      sessionId: request.sessionId,
      password: request.password,
      readOnly: (this.options.sendReadOnlyFlag ?? true) ? request.readOnly : undefined,
    });
    if (this.connected) this.socket.write(this.connectFrame);
  }

  send(xid: number, request: ClientRequest): void {
    if (this.ended) return;
    const opcode = opcodeOf(request);
    this.awaiting.push({ xid, opcode });
    this.socket.write(encodeRequest(xid, request));
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.readTimer !== undefined) clearInterval(this.readTimer);
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.ended) return;
    this.lastReceivedMs = performance.now();
    try {
      for (const frame of this.frames.push(chunk)) {
        if (this.ended) return;
        this.onFrame(frame);
      }
    } catch {
      // A server that sends what we cannot read is treated as a lost connection.
      this.fail();
    }
  }

  private onFrame(frame: Uint8Array): void {
    if (!this.handshaken) {
      this.handshaken = true;
      const response = decodeConnectResponse(frame);
      if (response.timeoutMs <= 0) {
        this.finish('sessionExpired');
        return;
      }
      // A server that stays silent for two thirds of the timeout (pings go every third) is
      // gone, even if TCP has not noticed: move on while the session can still be saved.
      const readTimeoutMs = Math.max(1, Math.floor((response.timeoutMs * 2) / 3));
      this.readTimer = setInterval(
        () => {
          if (performance.now() - this.lastReceivedMs > readTimeoutMs) this.fail();
        },
        Math.max(1, Math.floor(readTimeoutMs / 4)),
      );
      this.readTimer.unref();
      const connected: LinkMessage = {
        kind: 'connected',
        sessionId: response.sessionId,
        password: response.password,
        timeoutMs: response.timeoutMs,
        readOnly: response.readOnly === true,
      };
      if (this.options.sasl === undefined) {
        this.handlers.message(connected);
        return;
      }
      // DIGEST-MD5 has no initial response: an empty token asks for the challenge.
      this.sasl = { client: new DigestMd5Client(this.options.sasl), connected, step: 0 };
      this.sendSasl(new Uint8Array(0));
      return;
    }
    if (this.sasl !== undefined) {
      this.onSaslReply(frame);
      return;
    }
    const xid = peekXid(frame);
    if (xid === Xid.notification) {
      const { zxid, event } = decodeWatcherEvent(frame);
      this.handlers.message({ kind: 'watch', zxid, event });
      return;
    }
    let index = this.awaiting.findIndex((entry) => entry.xid === xid);
    // ZooKeeper answers every ping with the ping xid (-2), whatever xid it came with (its own
    // client sends -2): the answer is the oldest ping's, as replies come in request order.
    if (index < 0 && xid === Xid.ping)
      index = this.awaiting.findIndex((entry) => entry.opcode === OpCode.ping);
    if (index < 0) throw new Error(`reply for unknown xid ${xid}`);
    const awaited = this.awaiting.splice(index, 1)[0]!;
    const decoded = decodeReply(awaited.opcode, frame);
    if (decoded.reply === undefined) throw new Error(`undecodable reply for xid ${xid}`);
    this.handlers.message({ kind: 'reply', xid: awaited.xid, zxid: decoded.zxid, reply: decoded.reply });
    if (decoded.reply.op === 'closeSession') this.finish('sessionClosed');
  }

  /** One SASL request (opcode 102, GetSASLRequest), with the xid of its step. */
  private sendSasl(token: Uint8Array): void {
    const writer = new JuteWriter();
    const at = writer.beginFrame();
    writer
      .int(saslXidBase + this.sasl!.step)
      .int(OpCode.sasl)
      .buffer(token);
    writer.endFrame(at);
    this.socket.write(writer.take(0));
  }

  /** The server's SASL reply (SetSASLResponse): answer the challenge, or check its proof. */
  private onSaslReply(frame: Uint8Array): void {
    const sasl = this.sasl!;
    const reader = new JuteReader(frame);
    const xid = reader.int();
    reader.long();
    const code = reader.int();
    if (xid !== saslXidBase + sasl.step) throw new Error(`SASL reply for xid ${xid}`);
    if (code !== ErrorCode.Ok) {
      this.finish('authFailed');
      return;
    }
    const token = reader.bytesOrEmpty();
    try {
      if (sasl.step === 0) {
        sasl.step = 1;
        this.sendSasl(sasl.client.respond(token));
        return;
      }
      sasl.client.verify(token);
    } catch (error) {
      if (!(error instanceof SaslFailure)) throw error;
      this.finish('authFailed');
      return;
    }
    this.sasl = undefined;
    this.handlers.message(sasl.connected);
  }

  private fail(): void {
    this.finish('lost');
  }

  private finish(reason: 'lost' | 'sessionExpired' | 'sessionClosed' | 'authFailed'): void {
    if (this.ended) return;
    this.ended = true;
    if (this.readTimer !== undefined) clearInterval(this.readTimer);
    this.socket.destroy();
    this.handlers.closed(reason);
  }
}
