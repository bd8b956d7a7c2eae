/**
 * What a peer needs from the network. Messages between two peers arrive in the order they
 * were sent, or not at all once the link between them breaks; a broken link is reported so
 * the peer can react (a learner that loses its leader looks for a new one). Every adapter
 * (memory, TCP) passes the one compliance suite in test/compliance.
 */
import type { PeerMessage } from './zab/messages.js';
import type { ServerId } from './zab/quorum.js';

export interface TransportHandlers {
  message(from: ServerId, message: PeerMessage): void;
  /** The link to `peer` broke: messages sent to it since may have been lost. */
  linkDown(peer: ServerId): void;
}

export interface PeerTransport {
  /** This endpoint's server id. */
  readonly serverId: ServerId;
  /** Sends without waiting; delivery is FIFO per pair of peers while their link holds. */
  send(to: ServerId, message: PeerMessage): void;
  /** Starts delivering to `handlers`. */
  listen(handlers: TransportHandlers): void;
  /** Stops sending and receiving; pending deliveries to this endpoint are dropped. */
  close(): void;
}
