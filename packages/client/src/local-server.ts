/**
 * An in-process zabkit server: the pure StandaloneServer driven by real timers, with writes
 * made "durable" in memory. Many writes that arrive together are acknowledged together
 * (group commit), exactly as a disk-backed driver batches fsyncs.
 */
import { randomBytes } from 'node:crypto';
import {
  type ClientOutput,
  type ClientRequest,
  type ConnectionId,
  type ConnectRequest,
  type ServerInput,
  type ServerOptions,
  StandaloneServer,
  type Zxid,
} from '@zabkit/core';
import { type ClientOptions, ZabClient } from './client.js';
import { type ClientLink, deliverToLink, type LinkFactory, type LinkHandlers } from './link.js';

/** How an in-process standalone server is set up: the server options, and the clock to run on. */
export interface LocalServerOptions extends Partial<Omit<ServerOptions, 'sessionSecret' | 'startTimeMs'>> {
  /** The clock, in milliseconds. Default Date.now. */
  readonly clock?: () => number;
  /** Tick the server from a timer (default true). Tests turn it off and call `tick()`. */
  readonly autoTick?: boolean;
  /** Secret bytes for session passwords; random by default. */
  readonly sessionSecret?: Uint8Array;
}

/**
 * An in-process standalone server that clients connect to directly (it is their `LinkFactory`):
 * for tests, examples and embedding. Start it with `LocalServer.start`, stop it with `close`.
 */
export class LocalServer implements LinkFactory {
  readonly server: StandaloneServer;
  private readonly clock: () => number;
  private readonly links = new Map<ConnectionId, LinkHandlers>();
  private nextConnectionId = 1;
  private readonly inputs: ServerInput[] = [];
  private pumping = false;
  private lastPersisted: Zxid | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  /** Transactions made durable so far (in memory). */
  persistedCount = 0;

  private constructor(options: LocalServerOptions) {
    this.clock = options.clock ?? Date.now;
    this.server = new StandaloneServer({
      ...options,
      sessionSecret: options.sessionSecret ?? new Uint8Array(randomBytes(32)),
      startTimeMs: this.clock(),
    });
    if (options.autoTick ?? true) {
      const intervalMs = Math.max(1, Math.floor(this.server.options.tickTimeMs / 2));
      // Like a listening socket, a running server keeps the process alive until it is closed.
      this.timer = setInterval(() => this.tick(), intervalMs);
    }
  }

  /** Starts a standalone in-process server. */
  static start(options: LocalServerOptions = {}): LocalServer {
    return new LocalServer(options);
  }

  /** Connects a new client session to this server. */
  client(options: ClientOptions = {}): Promise<ZabClient> {
    return ZabClient.connect(this, options);
  }

  /** Moves the server's clock to `nowMs` (default: the clock's reading). */
  tick(nowMs: number = this.clock()): void {
    this.enqueue({ kind: 'tick', nowMs });
  }

  open(handlers: LinkHandlers): ClientLink {
    const connectionId = this.nextConnectionId++;
    const server = this;
    return {
      connect(request: ConnectRequest) {
        if (server.closed) {
          queueMicrotask(() => handlers.closed('lost'));
          return;
        }
        server.links.set(connectionId, handlers);
        server.enqueue({ kind: 'connect', connectionId, request });
      },
      send(xid: number, request: ClientRequest) {
        server.enqueue({ kind: 'request', connectionId, xid, request });
      },
      close() {
        if (!server.links.delete(connectionId)) return;
        server.enqueue({ kind: 'disconnect', connectionId });
      },
    };
  }

  /** Stops the server: every link is lost, and no new one is accepted. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    const handlers = [...this.links.values()];
    this.links.clear();
    for (const handler of handlers) handler.closed('lost');
  }

  private enqueue(input: ServerInput): void {
    if (this.closed) return;
    this.inputs.push(input);
    this.pump();
  }

  /**
   * Feeds queued inputs to the server one by one. Re-entrant calls (a handler that sends a
   * request while being told of a reply) only queue; the outer loop picks them up.
   */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const input = this.inputs.shift();
        if (input !== undefined) {
          this.handle(input);
          continue;
        }
        // Group commit: everything persisted by the batch above is acknowledged at once.
        if (this.lastPersisted === undefined) break;
        const zxid = this.lastPersisted;
        this.lastPersisted = undefined;
        this.handle({ kind: 'persisted', zxid });
      }
    } finally {
      this.pumping = false;
    }
  }

  private handle(input: ServerInput): void {
    const ready = this.server.step(input);
    if (ready.persist.length > 0) {
      this.persistedCount += ready.persist.length;
      this.lastPersisted = ready.persist[ready.persist.length - 1]!.zxid;
    }
    for (const output of ready.toClients) this.deliver(output);
  }

  private deliver(output: ClientOutput): void {
    const handlers = this.links.get(output.connectionId);
    if (handlers === undefined) return;
    if (deliverToLink(handlers, output)) this.links.delete(output.connectionId);
  }
}
