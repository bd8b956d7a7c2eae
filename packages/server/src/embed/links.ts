/**
 * How an embedded peer's in-process clients reach the ensemble: through the local peer while
 * it serves (no socket, no encoding: the same ClientLink the core's client front speaks), and
 * over TCP to the other instances' client ports when it does not (looking, syncing, closed,
 * failed). Each (re)connection attempt chooses afresh, so a session that fell back to TCP
 * comes home to the local peer the next time its link breaks.
 *
 * @module
 */
import type { ClientLink, LinkFactory, LinkHandlers, TcpLinkFactory } from '@zabkit/client';
import type { PeerDriver } from '../peer-driver.js';

/** Opens links to the local peer while it serves, else to the fallback servers. */
export class LocalFirstLinks implements LinkFactory {
  private fallbackAttempts = 0;

  constructor(
    private readonly local: () => PeerDriver | undefined,
    /** Where to fall back to now: the membership may have changed since the last attempt. */
    private readonly fallback: () => TcpLinkFactory | undefined,
  ) {}

  open(handlers: LinkHandlers, _attempt: number): ClientLink {
    const driver = this.local();
    const serving =
      driver !== undefined &&
      !driver.isStopped &&
      driver.fatalError === undefined &&
      driver.peer.status().serving;
    const fallback = serving ? undefined : this.fallback();
    if (serving || fallback === undefined) {
      // Without a fallback the local peer is the only way in: an attempt while it is not
      // serving is refused, and the client tries again after its reconnect backoff.
      if (driver !== undefined && !driver.isStopped) return driver.open(handlers);
      return unavailable(handlers);
    }
    return fallback.open(handlers, this.fallbackAttempts++);
  }
}

/** A link to nowhere: it reports itself lost, and the client tries again later. */
function unavailable(handlers: LinkHandlers): ClientLink {
  return {
    connect: () => setImmediate(() => handlers.closed('lost')),
    send: () => undefined,
    close: () => undefined,
  };
}
