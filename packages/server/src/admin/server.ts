/**
 * ZooKeeper 3.9's AdminServer over HTTP: `admin.serverAddress:admin.serverPort` (0.0.0.0:8080),
 * commands under `admin.commandURL` (/commands), the list of commands at the URL itself, JSON
 * answers with `command` and `error`, snapshot as a byte stream. `/` serves nothing, as Jetty's
 * AdminServer does (404).
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
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

/** Another handler under the admin server's port (the dashboard): true when it answered. */
export type AdminRoute = (request: IncomingMessage, response: ServerResponse) => boolean | Promise<boolean>;

/** The AdminServer of one running server. */
export class AdminServer {
  private readonly byName = new Map<string, AdminCommand>();
  private readonly primary: string[] = [];
  private readonly routes: AdminRoute[] = [];

  private constructor(
    private readonly server: Server,
    private readonly target: AdminTarget,
    private readonly settings: AdminServerSettings,
    private readonly log: Logger,
  ) {
    for (const command of adminCommands()) {
      for (const name of command.names) this.byName.set(name, command);
      this.primary.push(command.names[0]!);
    }
    this.primary.sort();
  }

  /** Listens as `settings` say; resolves once bound, rejects if it cannot bind. */
  static async listen(target: AdminTarget, settings: AdminServerSettings, log: Logger): Promise<AdminServer> {
    let admin: AdminServer | undefined;
    const server = createServer((request, response) => {
      admin!.handle(request, response).catch((error: unknown) => {
        log.error({ err: error, url: request.url }, 'admin server request failed');
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
        response.end();
      });
    });
    if (settings.idleTimeoutMs > 0) server.keepAliveTimeout = settings.idleTimeoutMs;
    server.requestTimeout = Math.max(settings.idleTimeoutMs, 60_000);
    admin = new AdminServer(server, target, settings, log);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(settings.port, settings.address, () => {
        server.off('error', reject);
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
    this.server.closeAllConnections();
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
        this.answer(response, primary, { status: 401, error: 'Auth info is missing for the command' });
        return;
      }
      const ids = adminIdentities(
        header,
        request.socket.remoteAddress ?? '',
        this.target.config.systemProperties.superDigest,
      );
      if (ids === undefined) {
        this.answer(response, primary, { status: 401, error: 'Not authenticated' });
        return;
      }
      if (!mayAdminister(this.target, ids)) {
        this.answer(response, primary, { status: 403, error: 'Not authorized' });
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
