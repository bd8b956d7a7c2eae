/**
 * @zabkit/transport-memory: peers in one process talking through a shared network object.
 * Delivery is asynchronous and FIFO per pair of peers, like a TCP connection; tests can cut
 * links (partitions) and the network reports a broken link to both ends, as a dropped
 * connection would be noticed.
 *
 * @packageDocumentation
 */
import type { PeerMessage, PeerTransport, ServerId, TransportHandlers } from '@zabkit/core';

interface InFlight {
  readonly from: ServerId;
  readonly to: ServerId;
  readonly message: PeerMessage;
}

/** Peers in one process, with links that tests can cut one way or both. */
export class MemoryNetwork {
  private readonly endpoints = new Map<ServerId, MemoryEndpoint>();
  private readonly cut = new Set<string>();
  private queue: InFlight[] = [];
  private scheduled = false;

  /** An endpoint for `serverId`; replaces (and closes) a previous one with that id. */
  endpoint(serverId: ServerId): MemoryEndpoint {
    this.endpoints.get(serverId)?.close();
    const endpoint = new MemoryEndpoint(this, serverId);
    this.endpoints.set(serverId, endpoint);
    return endpoint;
  }

  /** Cuts the link between two peers, both ways; both ends are told it broke. */
  partition(a: ServerId, b: ServerId): void {
    this.cut.add(linkKey(a, b));
    this.cut.add(linkKey(b, a));
    this.reportDown(a, b);
    this.reportDown(b, a);
  }

  /**
   * Breaks the link between two peers as a closed connection would: what is in flight on it
   * either way is lost, both ends are told, and messages sent afterwards go again.
   */
  breakLink(a: ServerId, b: ServerId): void {
    this.queue = this.queue.filter(
      (inFlight) =>
        !((inFlight.from === a && inFlight.to === b) || (inFlight.from === b && inFlight.to === a)),
    );
    this.reportDown(a, b);
    this.reportDown(b, a);
  }

  /** Cuts `id` off from every other peer. */
  isolate(id: ServerId): void {
    for (const other of this.endpoints.keys()) if (other !== id) this.partition(id, other);
  }

  /** Restores every link. */
  heal(): void {
    this.cut.clear();
  }

  /** @internal */
  enqueue(from: ServerId, to: ServerId, message: PeerMessage): void {
    if (this.cut.has(linkKey(from, to))) return;
    this.queue.push({ from, to, message });
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const { from, to, message } of batch) {
      if (this.cut.has(linkKey(from, to))) continue;
      const endpoint = this.endpoints.get(to);
      const sender = this.endpoints.get(from);
      if (endpoint === undefined || sender === undefined || sender.closed) continue;
      endpoint.deliver(from, message);
    }
  }

  private reportDown(at: ServerId, peer: ServerId): void {
    const endpoint = this.endpoints.get(at);
    if (endpoint === undefined || endpoint.closed) return;
    setImmediate(() => endpoint.linkDown(peer));
  }

  /** @internal */
  closed(endpoint: MemoryEndpoint): void {
    if (this.endpoints.get(endpoint.serverId) === endpoint) this.endpoints.delete(endpoint.serverId);
    for (const other of this.endpoints.keys()) this.reportDown(other, endpoint.serverId);
  }
}

/** One peer's side of a MemoryNetwork. */
export class MemoryEndpoint implements PeerTransport {
  /** Set by `close`: a closed endpoint neither sends nor receives. */
  closed = false;
  private handlers: TransportHandlers | undefined;

  constructor(
    private readonly network: MemoryNetwork,
    readonly serverId: ServerId,
  ) {}

  send(to: ServerId, message: PeerMessage): void {
    if (this.closed) return;
    this.network.enqueue(this.serverId, to, message);
  }

  listen(handlers: TransportHandlers): void {
    this.handlers = handlers;
  }

  /** Breaks the link to `peer`: both ends see it down; later messages go again. */
  disconnect(peer: ServerId): void {
    if (!this.closed) this.network.breakLink(this.serverId, peer);
  }

  /** @internal */
  deliver(from: ServerId, message: PeerMessage): void {
    if (!this.closed) this.handlers?.message(from, message);
  }

  /** @internal */
  linkDown(peer: ServerId): void {
    if (!this.closed) this.handlers?.linkDown(peer);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.network.closed(this);
  }
}

function linkKey(from: ServerId, to: ServerId): string {
  return `${from}->${to}`;
}
