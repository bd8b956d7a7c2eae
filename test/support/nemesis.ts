/**
 * A TCP-proxy nemesis for the peer links of a real ensemble: every member reaches every other
 * through its own proxy (one per direction and port), so a test can cut, slow, throttle or
 * half-cut any link while the processes run. A cut link forwards nothing and answers nothing
 * (bytes wait, as on a broken route); when it heals, the connections that were cut are reset,
 * as TCP gives up on a route that was down for long, and new ones go through.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

interface Pair {
  readonly inbound: Socket;
  readonly outbound: Socket;
  /** Set once the link was cut while this pair was open: it is reset at the heal. */
  cut: boolean;
  readonly directions: readonly Direction[];
}

/**
 * One direction of a pair: the chunks a delay or a throttle holds, in the order they came.
 * Every chunk leaves in order, whatever the delay or the rate did meanwhile: a stream whose
 * bytes overtook each other (as when a delay is lifted while chunks still wait) is a corrupt
 * stream, which no network makes.
 */
interface Direction {
  readonly from: Socket;
  readonly to: Socket;
  readonly queue: { readonly dueMs: number; chunk: Buffer }[];
  heldBytes: number;
  /** When the last chunk queued is due: a later one is never due before it. */
  lastDueMs: number;
  /** Bytes a throttle lets go, refilled at its rate. */
  allowanceBytes: number;
  refilledMs: number;
  timer: NodeJS.Timeout | undefined;
}

/** A direction pauses its sender beyond this much held back (as a full TCP window). */
const heldBytesMax = 256 * 1024;
/** How often a throttled direction lets bytes go. */
const throttleIntervalMs = 20;

/** The proxy a member dials to reach one port of another member. */
export class LinkProxy {
  private blocked = false;
  private delayMs = 0;
  /** Bytes per second each direction forwards; 0: as fast as they come. */
  private rateBytesPerSecond = 0;
  private readonly pairs = new Set<Pair>();

  private constructor(
    private readonly server: Server,
    readonly from: number,
    readonly to: number,
    private readonly refuseWhileCut: boolean,
  ) {}

  static async start(
    from: number,
    to: number,
    target: { host: string; port: number },
    refuseWhileCut = false,
  ): Promise<LinkProxy> {
    let proxy: LinkProxy | undefined;
    const server = createServer((inbound) => proxy!.accept(inbound, target));
    proxy = new LinkProxy(server, from, to, refuseWhileCut);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('not listening');
    return address.port;
  }

  private accept(inbound: Socket, target: { host: string; port: number }): void {
    if (this.blocked && this.refuseWhileCut) {
      // As a route that answers with a reset: the connection ends at once.
      inbound.on('error', () => undefined);
      inbound.resetAndDestroy();
      return;
    }
    const outbound = tcpConnect(target);
    const direction = (from: Socket, to: Socket): Direction => ({
      from,
      to,
      queue: [],
      heldBytes: 0,
      lastDueMs: 0,
      allowanceBytes: 0,
      refilledMs: Date.now(),
      timer: undefined,
    });
    const pair: Pair = {
      inbound,
      outbound,
      cut: this.blocked,
      directions: [direction(inbound, outbound), direction(outbound, inbound)],
    };
    this.pairs.add(pair);
    for (const socket of [inbound, outbound]) {
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.pairs.delete(pair);
        for (const d of pair.directions) clearTimeout(d.timer);
        inbound.destroy();
        outbound.destroy();
      });
    }
    for (const d of pair.directions) {
      d.from.on('data', (chunk: Buffer) => {
        // A cut link drops nothing: the bytes never arrive, and the pair is reset at the heal.
        if (this.blocked || pair.cut) {
          pair.cut = true;
          return;
        }
        if (d.queue.length === 0 && this.delayMs === 0 && this.rateBytesPerSecond === 0) {
          d.to.write(chunk);
          return;
        }
        const dueMs = Math.max(Date.now() + this.delayMs, d.lastDueMs);
        d.lastDueMs = dueMs;
        d.queue.push({ dueMs, chunk });
        d.heldBytes += chunk.length;
        if (d.heldBytes > heldBytesMax) d.from.pause();
        if (d.timer === undefined) this.pump(d);
      });
    }
  }

  /** Lets go, in order, what is due and what the throttle allows; comes back for the rest. */
  private pump(d: Direction): void {
    clearTimeout(d.timer);
    d.timer = undefined;
    const now = Date.now();
    const rate = this.rateBytesPerSecond;
    // At most a tenth of a second's worth saved up: a throttle is not lifted by waiting.
    if (rate > 0)
      d.allowanceBytes = Math.min(
        d.allowanceBytes + ((now - d.refilledMs) * rate) / 1000,
        Math.max(1, rate / 10),
      );
    d.refilledMs = now;
    while (d.queue.length > 0 && d.queue[0]!.dueMs <= now) {
      const head = d.queue[0]!;
      let part = head.chunk;
      if (rate > 0) {
        const allowed = Math.floor(d.allowanceBytes);
        if (allowed <= 0) break;
        if (part.length > allowed) {
          head.chunk = part.subarray(allowed);
          part = part.subarray(0, allowed);
        } else d.queue.shift();
        d.allowanceBytes -= part.length;
      } else d.queue.shift();
      d.heldBytes -= part.length;
      if (!d.to.destroyed) d.to.write(part);
    }
    if (d.heldBytes <= heldBytesMax && d.from.isPaused()) d.from.resume();
    if (d.queue.length === 0) return;
    const waitMs = Math.max(d.queue[0]!.dueMs - now, rate > 0 ? throttleIntervalMs : 0, 1);
    d.timer = setTimeout(() => this.pump(d), waitMs);
  }

  /** Runs every waiting direction's pump again: the delay or the rate changed. */
  private repump(): void {
    for (const pair of this.pairs) for (const d of pair.directions) if (d.queue.length > 0) this.pump(d);
  }

  /** Forwards nothing until `heal`. */
  cut(): void {
    this.blocked = true;
    for (const pair of this.pairs) pair.cut = true;
  }

  /** Forwards again; the connections that were cut are reset. */
  heal(): void {
    this.blocked = false;
    for (const pair of [...this.pairs]) {
      if (!pair.cut) continue;
      pair.inbound.destroy();
      pair.outbound.destroy();
    }
  }

  /**
   * Holds every chunk this long (0: none). Order is kept: a chunk never leaves before one that
   * came earlier, also when the delay is lowered or lifted while chunks wait.
   */
  delay(ms: number): void {
    this.delayMs = ms;
    this.repump();
  }

  /**
   * Forwards at most `bytesPerSecond` each way (0: lifts the throttle; what it held goes on, in
   * order). A sender with more than 256 KiB held back is paused, so the bytes back up into its
   * own socket as they would behind a slow route.
   */
  throttle(bytesPerSecond: number): void {
    this.rateBytesPerSecond = bytesPerSecond;
    this.repump();
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) {
      pair.inbound.destroy();
      pair.outbound.destroy();
    }
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** Every peer link of an ensemble of `size`, each direction and port through its own proxy. */
export class Nemesis {
  private readonly proxies: LinkProxy[] = [];
  readonly log: string[] = [];

  /**
   * With `refuseWhileCut`, a cut link resets new connections at once (a route that answers
   * with resets); by default it takes them and forwards nothing (a black hole).
   */
  constructor(private readonly options: { readonly refuseWhileCut?: boolean } = {}) {}

  /** The port member `from` dials to reach `port` of member `to` (called while configuring). */
  async route(from: number, to: number, port: number): Promise<number> {
    const proxy = await LinkProxy.start(
      from,
      to,
      { host: '127.0.0.1', port },
      this.options.refuseWhileCut ?? false,
    );
    this.proxies.push(proxy);
    return proxy.port;
  }

  private links(match: (from: number, to: number) => boolean): LinkProxy[] {
    return this.proxies.filter((proxy) => match(proxy.from, proxy.to));
  }

  private note(what: string): void {
    this.log.push(`${new Date().toISOString()} ${what}`);
  }

  /** Cuts every link to and from `id`, both ways. */
  isolate(id: number): void {
    this.note(`isolate ${id}`);
    for (const proxy of this.links((from, to) => from === id || to === id)) proxy.cut();
  }

  /** Cuts every link between `side` and the rest, both ways. */
  partition(side: readonly number[]): void {
    this.note(`partition [${side.join(',')}] from the rest`);
    for (const proxy of this.links((from, to) => side.includes(from) !== side.includes(to))) proxy.cut();
  }

  /** Cuts every link between `a` and `b`, both ways; their links to the others stay up (a bridge). */
  cutBetween(a: number, b: number): void {
    this.note(`cut ${a} <-> ${b}`);
    for (const proxy of this.links((f, t) => (f === a && t === b) || (f === b && t === a))) proxy.cut();
  }

  /** Cuts what `from` sends `to` (on the links `from` dials), the other way stays up. */
  cutOneWay(from: number, to: number): void {
    this.note(`cut ${from} -> ${to}`);
    for (const proxy of this.links((f, t) => f === from && t === to)) proxy.cut();
  }

  /** Holds every peer message this long. */
  delayAll(ms: number): void {
    this.note(`delay every link ${ms} ms`);
    for (const proxy of this.proxies) proxy.delay(ms);
  }

  /** Forwards at most `bytesPerSecond` each way on every link between `a` and `b` (0: lifts it). */
  throttle(a: number, b: number, bytesPerSecond: number): void {
    this.note(
      bytesPerSecond === 0 ? `unthrottle ${a} <-> ${b}` : `throttle ${a} <-> ${b} to ${bytesPerSecond} B/s`,
    );
    for (const proxy of this.links((f, t) => (f === a && t === b) || (f === b && t === a)))
      proxy.throttle(bytesPerSecond);
  }

  heal(): void {
    this.note('heal');
    for (const proxy of this.proxies) {
      proxy.delay(0);
      proxy.throttle(0);
      proxy.heal();
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.proxies.map((proxy) => proxy.close()));
  }
}
