/**
 * ZooKeeper 3.9's AdminServer over HTTP: `admin.serverAddress:admin.serverPort` (0.0.0.0:8080),
 * commands under `admin.commandURL` (/commands), the list of commands at the URL itself, JSON
 * answers with `command` and `error`, snapshot as a byte stream. `/` serves nothing, as Jetty's
 * AdminServer does (404).
 *
 * @module
 */
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server } from 'node:net';
import { Duplex } from 'node:stream';
import type { Logger } from '../log.js';
import type { AdminServerSettings } from '../system-properties.js';
import {
  type AdminCommand,
  type AdminTarget,
  adminCommands,
  adminIdentities,
  mayAdminister,
} from './commands.js';
import { toJson } from './json.js';

/** The largest request body read (restore's snapshot): beyond it the request is refused. */
export const adminRequestBodyMax = 256 * 1024 * 1024;

/** The admin port's TLS (HTTPS), from the ssl.quorum.* stores as ZooKeeper's AdminServer takes them. */
export interface AdminTls {
  readonly key: string;
  readonly cert: string;
  readonly ca: readonly string[];
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion: 'TLSv1.2' | 'TLSv1.3';
  readonly ciphers: string | undefined;
}

/**
 * The admin server could not listen where it was told (its port is taken, say): names the
 * address, the system error code and the key to change.
 */
export class AdminServerStartError extends Error {
  override readonly name = 'AdminServerStartError';
  constructor(
    /** Where it tried to listen. */
    readonly address: string,
    readonly port: number,
    /** The system error code (EADDRINUSE, EACCES, ...), when there is one. */
    readonly code: string | undefined,
    options: { cause: unknown },
  ) {
    super(
      `cannot start the admin server on ${address}:${port}: ${
        code === 'EADDRINUSE'
          ? 'the port is in use (another server on this host?)'
          : code === 'EACCES'
            ? 'permission denied'
            : options.cause instanceof Error
              ? options.cause.message
              : String(options.cause)
      }; set admin.serverPort (0 picks a free port) or admin.enableServer=false`,
      options,
    );
  }
}

/** A TLS record's first byte: a handshake. What port unification tells HTTPS by. */
const tlsHandshakeRecordType = 0x16;

/** Another handler under the admin server's port (the dashboard): true when it answered. */
export type AdminRoute = (request: IncomingMessage, response: ServerResponse) => boolean | Promise<boolean>;

/** The AdminServer of one running server. */
export class AdminServer {
  private readonly byName = new Map<string, AdminCommand>();
  private readonly primary: string[] = [];
  private readonly routes: AdminRoute[] = [];
  /** Every accepted socket, so that close ends keep-alive connections over any protocol. */
  private readonly sockets = new Set<import('node:net').Socket>();

  private constructor(
    private readonly server: Server,
    private readonly target: AdminTarget,
    private readonly settings: AdminServerSettings,
    private readonly log: Logger,
  ) {
    server.on('connection', (socket: import('node:net').Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    for (const command of adminCommands(settings)) {
      for (const name of command.names) this.byName.set(name, command);
      this.primary.push(command.names[0]!);
    }
    this.primary.sort();
  }

  /** Listens as `settings` say; resolves once bound, rejects if it cannot bind. */
  static async listen(
    target: AdminTarget,
    settings: AdminServerSettings,
    log: Logger,
    tls?: AdminTls,
  ): Promise<AdminServer> {
    let admin: AdminServer | undefined;
    const handler: RequestListener = (request, response) => {
      admin!.handle(request, response).catch((error: unknown) => {
        log.error({ err: error, url: request.url }, 'admin server request failed');
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
        response.end();
      });
    };
    const http = createServer(handler);
    const https =
      tls === undefined
        ? undefined
        : createHttpsServer(
            {
              key: tls.key,
              cert: tls.cert,
              ca: [...tls.ca],
              minVersion: tls.minVersion,
              maxVersion: tls.maxVersion,
              ...(tls.ciphers === undefined ? {} : { ciphers: tls.ciphers }),
              requestCert: settings.needClientAuth,
              rejectUnauthorized: settings.needClientAuth,
            },
            handler,
          );
    for (const server of [http, https]) {
      if (server === undefined) continue;
      if (settings.idleTimeoutMs > 0) server.keepAliveTimeout = settings.idleTimeoutMs;
      server.requestTimeout = Math.max(settings.idleTimeoutMs, 60_000);
      server.on('tlsClientError', (error: Error) =>
        log.debug({ err: error }, 'admin server TLS handshake failed'),
      );
    }
    // One listener: plain HTTP, HTTPS only (admin.forceHttps), or both by the first byte
    // (admin.portUnification), as ZooKeeper's AdminServer offers them.
    const server: Server =
      https === undefined
        ? http
        : settings.forceHttps
          ? https
          : createNetServer((socket) => {
              socket.on('error', () => socket.destroy());
              socket.once('data', (first) => {
                if (first[0] !== tlsHandshakeRecordType) {
                  // ZooKeeper's UnifiedConnectionFactory counts plain HTTP on a port that offers TLS.
                  target.metrics.inc('insecure_admin_count');
                  socket.pause();
                  socket.unshift(first);
                  http.emit('connection', socket);
                  socket.resume();
                  return;
                }
                // TLS reads a socket's handle directly, past what was unshifted: give it a
                // stream that starts with the bytes already read.
                https.emit('connection', replayed(socket, first));
              });
            });
    admin = new AdminServer(server, target, settings, log);
    await new Promise<void>((resolve, reject) => {
      const failed = (error: Error) => {
        const code = (error as NodeJS.ErrnoException).code;
        reject(new AdminServerStartError(settings.address, settings.port, code, { cause: error }));
      };
      server.once('error', failed);
      server.listen(settings.port, settings.address, () => {
        server.off('error', failed);
        resolve();
      });
    });
    server.on('error', (error) => log.error({ err: error }, 'admin server error'));
    return admin;
  }

  /** Serves more paths on this port (the dashboard), tried before the 404. */
  addRoute(route: AdminRoute): void {
    this.routes.push(route);
  }

  /** Where it listens. */
  address(): { host: string; port: number } {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('the admin server is not listening');
    return { host: address.address, port: address.port };
  }

  /** Stops listening and closes open connections. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const closable = this.server as Server & { closeAllConnections?: () => void };
    closable.closeAllConnections?.();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://admin');
    const base = this.settings.commandUrl.replace(/\/+$/, '');
    if (request.method === 'TRACE') {
      response.writeHead(405).end();
      return;
    }
    if (url.pathname === base || url.pathname === `${base}/`) {
      if (request.method !== 'GET' && request.method !== 'POST') {
        response.writeHead(405).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'text/html;charset=utf-8' });
      response.end(this.primary.map((name) => `<a href="${base}/${name}">${name}</a>\n<br/>\n`).join(''));
      return;
    }
    if (!url.pathname.startsWith(`${base}/`)) {
      for (const route of this.routes) if (await route(request, response)) return;
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found\n');
      return;
    }
    const name = decodeURIComponent(url.pathname.slice(base.length + 1));
    const command = this.byName.get(name);
    if (command !== undefined && request.method !== command.method) {
      response.writeHead(405, { 'content-type': 'text/plain', allow: command.method });
      response.end(`HTTP method ${request.method} is not supported by this URL\n`);
      return;
    }
    const body = request.method === 'POST' ? await readBody(request) : undefined;
    if (body === 'tooLarge') {
      this.answer(response, name, { status: 413, error: `request body over ${adminRequestBodyMax} bytes` });
      return;
    }
    if (command === undefined) {
      // ZooKeeper answers 200 here, to keep its older behaviour.
      this.answer(response, name, { error: `Unknown command: ${name}` });
      return;
    }
    const primary = command.names[0]!;
    const context = this.target.introspect();
    if (command.serverRequired && (!context.serving || context.failure !== undefined)) {
      this.answer(response, primary, { error: 'This ZooKeeper instance is not currently serving requests' });
      return;
    }
    if (command.authRequired) {
      const header = request.headers.authorization;
      if (header === undefined) {
        this.refuse(request, response, primary, 401, 'Auth info is missing for the command');
        return;
      }
      const ids = adminIdentities(
        header,
        request.socket.remoteAddress ?? '',
        this.target.config.systemProperties.superDigest,
      );
      if (ids === undefined) {
        this.refuse(request, response, primary, 401, 'Not authenticated');
        return;
      }
      if (!mayAdminister(this.target, ids)) {
        this.refuse(request, response, primary, 403, 'Not authorized');
        return;
      }
    }
    const args = new Map([...url.searchParams.entries()]);
    const result = await command.run(this.target, {
      args,
      remoteAddress: request.socket.remoteAddress ?? '',
      ...(body === undefined ? {} : { body }),
    });
    this.answer(response, primary, result);
  }

  /**
   * Answers a command that needs authentication and did not get it, and logs it: these are
   * the commands that read or replace the whole tree (snapshot, restore), so an operator is
   * told who tried.
   */
  private refuse(
    request: IncomingMessage,
    response: ServerResponse,
    command: string,
    status: 401 | 403,
    error: string,
  ): void {
    this.log.warn(
      { command, status, remoteAddress: request.socket.remoteAddress ?? '' },
      `admin command ${command} refused: ${error}`,
    );
    this.answer(response, command, { status, error });
  }

  private answer(
    response: ServerResponse,
    command: string,
    result: {
      status?: number;
      data?: Readonly<Record<string, unknown>>;
      error?: string;
      headers?: Readonly<Record<string, string>>;
      stream?: Uint8Array;
    },
  ): void {
    const headers = result.headers ?? {};
    if (result.stream !== undefined) {
      response.writeHead(result.status ?? 200, {
        ...headers,
        'content-type': 'application/octet-stream',
        'content-length': String(result.stream.length),
      });
      response.end(result.stream);
      return;
    }
    response.writeHead(result.status ?? 200, { ...headers, 'content-type': 'application/json' });
    response.end(toJson({ ...result.data, command, error: result.error ?? null }));
  }
}

/** A stream carrying `first`, then everything `socket` reads; writes go to `socket`. */
function replayed(socket: import('node:net').Socket, first: Buffer): Duplex {
  const stream = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk, _encoding, done) {
      socket.write(chunk, done);
    },
    final(done) {
      socket.end();
      done();
    },
    destroy(error, done) {
      socket.destroy();
      done(error);
    },
  });
  stream.push(first);
  socket.on('data', (chunk) => {
    if (!stream.push(chunk)) socket.pause();
  });
  socket.on('end', () => stream.push(null));
  socket.on('close', () => stream.destroy());
  return stream;
}

/** Reads a request body up to {@link adminRequestBodyMax}. */
async function readBody(request: IncomingMessage): Promise<Uint8Array | 'tooLarge'> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > adminRequestBodyMax) {
      request.destroy();
      return 'tooLarge';
    }
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}
