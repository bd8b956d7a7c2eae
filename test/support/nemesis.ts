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
}

/** The proxy a member dials to reach one port of another member. */
export class LinkProxy {
  private blocked = false;
  private delayMs = 0;
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
    const pair: Pair = { inbound, outbound, cut: this.blocked };
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
      if (this.delayMs === 0) to.write(chunk);
      else setTimeout(() => to.write(chunk), this.delayMs);
    };
    inbound.on('data', forward(outbound));
    outbound.on('data', forward(inbound));
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

  heal(): void {
    this.note('heal');
    for (const proxy of this.proxies) {
      proxy.delay(0);
      proxy.heal();
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.proxies.map((proxy) => proxy.close()));
  }
}
