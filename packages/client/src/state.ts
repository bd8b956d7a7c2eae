/**
 * The states of a client's session, in a module of their own: the client and the helpers
 * that follow it (watch streams, recipes) share them without importing each other.
 */

/**
 * Where a client's session stands. `connectedReadOnly`: the server is a read-only one (cut
 * off from its quorum, with ZooKeeper's readonlymode); reads work, writes fail with
 * NotReadOnly.
 */
export type ClientState =
  | 'connecting'
  | 'connected'
  | 'connectedReadOnly'
  | 'disconnected'
  | 'expired'
  | 'closed';

/** Told of each change of a client's connection state. */
export type StateListener = (state: ClientState) => void;
