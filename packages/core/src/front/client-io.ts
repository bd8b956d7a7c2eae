/**
 * What the client front exchanges with client connections: the inputs a driver steps a peer
 * with for connections and requests, and the outputs it leaves for each connection (in a
 * peer's Ready, `toClients`).
 */
import type { Id } from '../acl.js';
import type { ClientRequest, Reply } from '../requests.js';
import type { WatchEvent } from '../watches/events.js';
import type { Zxid } from '../zxid.js';

/** The driver's handle for one client connection. */
export type ConnectionId = number;

/** The first message of a client connection (ZooKeeper's ConnectRequest). */
export interface ConnectRequest {
  /** 0n for a new session; otherwise the session to resume. */
  readonly sessionId: bigint;
  /** The session's password when resuming (16 bytes); ignored for a new session. */
  readonly password: Uint8Array;
  readonly timeoutMs: number;
  /** The highest zxid the client has seen; a server behind it refuses the client. */
  readonly lastZxidSeen: Zxid;
  readonly readOnly: boolean;
  /** The client's address, for ip ACLs. */
  readonly clientAddress: string;
}

/** What a peer steps on from its client connections: connects, requests, disconnects. */
export type ClientInput =
  | { readonly kind: 'connect'; readonly connectionId: ConnectionId; readonly request: ConnectRequest }
  | {
      readonly kind: 'request';
      readonly connectionId: ConnectionId;
      readonly xid: number;
      readonly request: ClientRequest;
    }
  /**
   * Identities the driver verified for an attached connection, outside the protocol's `auth`
   * request: the subject of its TLS client certificate (x509), a completed SASL exchange
   * (sasl), the super user either names. They count from the next request on.
   */
  | {
      readonly kind: 'authenticated';
      readonly connectionId: ConnectionId;
      readonly identities: readonly Id[];
    }
  /** The client's connection is gone; its session lives on until it expires. */
  | { readonly kind: 'disconnect'; readonly connectionId: ConnectionId };

/** Why a server closed a client connection. */
export type CloseReason = 'sessionExpired' | 'sessionClosed' | 'sessionMoved' | 'refused';

/** What a server sends a client connection: the session, replies, watch events, a close. */
export type ClientOutput =
  /** The session is established (or resumed). A `timeoutMs` of 0 means it is expired. */
  | {
      readonly kind: 'connected';
      readonly connectionId: ConnectionId;
      readonly sessionId: bigint;
      readonly password: Uint8Array;
      readonly timeoutMs: number;
      /** The server serves reads only: a session of ZooKeeper's read-only mode. */
      readonly readOnly?: boolean;
    }
  | {
      readonly kind: 'reply';
      readonly connectionId: ConnectionId;
      readonly xid: number;
      readonly zxid: Zxid;
      readonly reply: Reply;
    }
  /** A watch notification; `zxid` is -1n for events fired by setWatches, as in ZooKeeper. */
  | {
      readonly kind: 'watch';
      readonly connectionId: ConnectionId;
      readonly zxid: bigint;
      readonly event: WatchEvent;
    }
  /** The server closes the connection after everything before this output. */
  | { readonly kind: 'close'; readonly connectionId: ConnectionId; readonly reason: CloseReason };
