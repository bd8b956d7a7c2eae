/**
 * What a peer needs from the network. Messages between two peers arrive in the order they
 * were sent, or not at all once the link between them breaks; a broken link is reported so
 * the peer can react (a learner that loses its leader looks for a new one). Every adapter
 * (memory, TCP) passes the one compliance suite in test/compliance.
 */
import type { PeerMessage } from './zab/messages.js';
import type { ServerId } from './zab/quorum.js';

/** What a transport calls: messages in FIFO order per peer, and broken links. */
export interface TransportHandlers {
  /** A message from `from` arrived; messages from one peer arrive in the order it sent them. */
  message(from: ServerId, message: PeerMessage): void;
  /** The link to `peer` broke: messages sent to it since may have been lost. */
  linkDown(peer: ServerId): void;
  /**
   * Bytes of a message from `from` arrived, not yet the whole message (the peer's
   * `linkProgress` input). Optional for a transport that delivers whole messages only; one
   * that reads a stream calls it whenever a read leaves a message incomplete, and the caller
   * decides how often to pass it on.
   */
  progress?(from: ServerId): void;
}

/** Links to the other peers: send without waiting, FIFO per pair while the link holds. */
export interface PeerTransport {
  /** This endpoint's server id. */
  readonly serverId: ServerId;
  /** Sends without waiting; delivery is FIFO per pair of peers while their link holds. */
  send(to: ServerId, message: PeerMessage): void;
  /** Starts delivering to `handlers`. */
  listen(handlers: TransportHandlers): void;
  /**
   * Breaks the link to `peer` (it sent what no correct peer sends): reported as `linkDown`
   * like any break, and made again as usual. Optional: without it the peer's core still
   * ends its relation with that peer.
   */
  disconnect?(peer: ServerId): void;
  /** Stops sending and receiving; pending deliveries to this endpoint are dropped. */
  close(): void;
}
