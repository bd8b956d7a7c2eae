/**
 * A TCP-proxy nemesis for the peer links of a real ensemble: every member reaches every other
 * through its own proxy (one per direction and port), so a test can cut, slow or half-cut
 * any link while the processes run. A cut link forwards nothing and answers nothing (bytes
 * wait, as on a broken route); when it heals, the connections that were cut are reset, as TCP
 * gives up on a route that was down for long, and new ones go through.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

interface Pair {
  readonly inbound: Socket;
  readonly outbound: Socket;
  /** Set once the link was cut while this pair was open: it is reset at the heal. */
  cut: boolean;
  /** Per direction, what a throttle holds back: released at its rate. */
  readonly held: Map<Socket, Held>;
}

/** Bytes a throttled direction holds for `to`, and the socket they come from. */
interface Held {
  readonly from: Socket;
  readonly chunks: Buffer[];
  bytes: number;
}

/** A throttled direction pauses its sender beyond this much held back (as a full TCP window). */
const throttleHeldBytesMax = 256 * 1024;
/** How often a throttle releases bytes. */
const throttleIntervalMs = 20;

/** The proxy a member dials to reach one port of another member. */
export class LinkProxy {
  private blocked = false;
  private delayMs = 0;
  /** Bytes per second each direction forwards; 0: as fast as they come. */
  private rateBytesPerSecond = 0;
  private pump: NodeJS.Timeout | undefined;
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
    const pair: Pair = { inbound, outbound, cut: this.blocked, held: new Map() };
    this.pairs.add(pair);
    for (const socket of [inbound, outbound]) {
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.pairs.delete(pair);
        inbound.destroy();
        outbound.destroy();
      });
    }
    const forward = (to: Socket) => (chunk: Buffer) => {
      // A cut link drops nothing: the bytes never arrive, and the pair is reset at the heal.
      if (this.blocked || pair.cut) {
        pair.cut = true;
        return;
      }
      if (this.rateBytesPerSecond > 0) this.hold(pair, to, chunk);
      else if (this.delayMs === 0) to.write(chunk);
      else setTimeout(() => to.write(chunk), this.delayMs);
    };
    inbound.on('data', forward(outbound));
    outbound.on('data', forward(inbound));
  }

  /** A throttled chunk waits its turn; a sender with too much waiting is paused. */
  private hold(pair: Pair, to: Socket, chunk: Buffer): void {
    let held = pair.held.get(to);
    if (held === undefined) {
      held = { from: to === pair.outbound ? pair.inbound : pair.outbound, chunks: [], bytes: 0 };
      pair.held.set(to, held);
    }
    held.chunks.push(chunk);
    held.bytes += chunk.length;
    if (held.bytes > throttleHeldBytesMax) held.from.pause();
  }

  /** Releases each direction's share of the rate; with no rate, everything held and resumes. */
  private release(budgetBytes: number): void {
    for (const pair of this.pairs) {
      for (const [to, held] of pair.held) {
        let budget = budgetBytes;
        while (held.chunks.length > 0 && budget > 0) {
          const chunk = held.chunks[0]!;
          const part = chunk.length <= budget ? chunk : chunk.subarray(0, budget);
          if (part === chunk) held.chunks.shift();
          else held.chunks[0] = chunk.subarray(budget);
          held.bytes -= part.length;
          budget -= part.length;
          if (!to.destroyed) to.write(part);
        }
        if (held.bytes <= throttleHeldBytesMax && held.from.isPaused()) held.from.resume();
      }
    }
  }

  /**
   * Forwards at most `bytesPerSecond` each way (0: lifts the throttle, sending what it held).
   * A sender with more than 256 KiB held back is paused, so the bytes back up into its own
   * socket as they would behind a slow route.
   */
  throttle(bytesPerSecond: number): void {
    this.rateBytesPerSecond = bytesPerSecond;
    if (this.pump !== undefined) clearInterval(this.pump);
    this.pump = undefined;
    if (bytesPerSecond === 0) {
      this.release(Number.POSITIVE_INFINITY);
      return;
    }
    const budget = Math.max(1, Math.floor((bytesPerSecond * throttleIntervalMs) / 1000));
    this.pump = setInterval(() => this.release(budget), throttleIntervalMs);
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

  /** Holds every chunk this long (0: none). Order is kept: every chunk waits the same. */
  delay(ms: number): void {
    this.delayMs = ms;
  }

  async close(): Promise<void> {
    if (this.pump !== undefined) clearInterval(this.pump);
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
