/**
 * What the client tests share: a manual clock for the client's injectable timers, a link
 * factory that can hold back a server's replies or make the servers unreachable (so a test
 * can lose a reply after the server applied the request), and a seeded random source.
 */

import {
  type ClientLink,
  type ClientOptions,
  type ClientTimers,
  type LinkFactory,
  type LinkHandlers,
  type LinkMessage,
  ZabClient,
} from '@zabkit/client';
import type { ClientRequest } from '@zabkit/core';
import { LocalServer, type LocalServerOptions } from '@zabkit/server';
import { afterEach } from 'vitest';

/** Lets every pending promise reaction run. */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A znode's data as text. Null data is not empty text, so it fails the test rather than read as ''. */
export const text = (data: Uint8Array | null) => {
  if (data === null) throw new Error('expected data, got null');
  return new TextDecoder().decode(data);
};

/** Timers on a clock that moves only when the test says so. */
export class ManualTimers implements ClientTimers {
  nowMs = 0;
  /** Every delay asked for, in order (reconnect backoff, retries, deadlines). */
  readonly requested: { delayMs: number; keepAlive: boolean }[] = [];
  private pending: { atMs: number; seq: number; callback: () => void; handle: object }[] = [];
  private seq = 0;
  /** Called after each step of the clock (a LocalServer on the same clock ticks here). */
  onAdvance: ((nowMs: number) => void) | undefined;

  now(): number {
    return this.nowMs;
  }

  setTimeout(callback: () => void, delayMs: number, keepAlive = false): unknown {
    const handle = {};
    this.requested.push({ delayMs, keepAlive });
    this.pending.push({ atMs: this.nowMs + Math.max(0, delayMs), seq: this.seq++, callback, handle });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.pending = this.pending.filter((timer) => timer.handle !== handle);
  }

  /** Moves the clock `ms` forward, firing due timers in order and settling promises between them. */
  async advance(ms: number): Promise<void> {
    const target = this.nowMs + ms;
    await settle();
    for (;;) {
      const due = this.pending
        .filter((timer) => timer.atMs <= target)
        .sort((a, b) => a.atMs - b.atMs || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.pending = this.pending.filter((timer) => timer !== due);
      this.nowMs = due.atMs;
      this.onAdvance?.(this.nowMs);
      due.callback();
      await settle();
    }
    this.nowMs = target;
    this.onAdvance?.(this.nowMs);
    await settle();
  }

  /** Advances in `stepMs` steps until `condition` holds (or `limitMs` passed). */
  async advanceUntil(condition: () => boolean, stepMs = 10, limitMs = 60_000): Promise<void> {
    for (let waited = 0; !condition(); waited += stepMs) {
      if (waited > limitMs) throw new Error('condition not met on the manual clock');
      await this.advance(stepMs);
    }
  }
}

/** A seeded random source in [0, 1) (mulberry32): the same numbers every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Links to a server that the test controls: replies can be held back and then lost with the
 * connection (the server applied the request, the client never heard), and the server can be
 * made unreachable (new links fail at once).
 */
export class ControlledLinks implements LinkFactory {
  reachable = true;
  holdReplies = false;
  /** Requests sent, in order, across links. */
  readonly sent: ClientRequest[] = [];
  /** Links opened so far. */
  opened = 0;
  /** When each link was opened, on `clock`. */
  readonly openedAtMs: number[] = [];
  /** The `attempt` the client passed for each link. */
  readonly attempts: number[] = [];
  /** When true, links open but the server never answers the handshake (a black hole). */
  swallowHandshakes = false;
  /** The clock `openedAtMs` reads. */
  clock: () => number = Date.now;
  /** The client on these links, when a test wants to reach it from a helper. */
  client: ZabClient | undefined;
  private held: LinkMessage[] = [];
  private current: { handlers: LinkHandlers; inner: ClientLink } | undefined;

  constructor(private readonly target: LinkFactory) {}

  open(handlers: LinkHandlers, attempt: number): ClientLink {
    this.opened++;
    this.openedAtMs.push(this.clock());
    this.attempts.push(attempt);
    if (this.swallowHandshakes) return { connect() {}, send() {}, close() {} };
    if (!this.reachable) {
      queueMicrotask(() => handlers.closed('lost'));
      return { connect() {}, send() {}, close() {} };
    }
    const inner = this.target.open(
      {
        message: (message) => {
          if (this.holdReplies && message.kind !== 'connected') this.held.push(message);
          else handlers.message(message);
        },
        closed: (reason) => {
          if (this.current?.inner === inner) this.current = undefined;
          handlers.closed(reason);
        },
      },
      attempt,
    );
    this.current = { handlers, inner };
    return {
      connect: (request) => inner.connect(request),
      send: (xid, request) => {
        this.sent.push(request);
        inner.send(xid, request);
      },
      close: () => {
        if (this.current?.inner === inner) this.current = undefined;
        inner.close();
      },
    };
  }

  /** Requests of one kind sent so far. */
  count(op: ClientRequest['op']): number {
    return this.sent.filter((request) => request.op === op).length;
  }

  /** Delivers the held replies and stops holding. */
  release(): void {
    this.holdReplies = false;
    const held = this.held;
    this.held = [];
    for (const message of held) this.current?.handlers.message(message);
  }

  /** The connection breaks: held replies are lost with it, and the client is told. */
  drop(): void {
    this.holdReplies = false;
    this.held = [];
    const current = this.current;
    this.current = undefined;
    if (current === undefined) return;
    current.inner.close();
    current.handlers.closed('lost');
  }
}

/** Servers started by a test file, closed after each test. */
export function useLocalServers() {
  const servers: LocalServer[] = [];
  const clients: ZabClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close().catch(() => undefined);
    for (const server of servers.splice(0)) server.close();
  });
  const start = (options: LocalServerOptions = {}) => {
    const server = LocalServer.start({ tickTimeMs: 50, maxSessionTimeoutMs: 60_000, ...options });
    servers.push(server);
    return server;
  };
  const connect = async (links: LinkFactory, options: ClientOptions = {}) => {
    const client = await ZabClient.connect(links, options);
    clients.push(client);
    return client;
  };
  return { start, connect, clients };
}
