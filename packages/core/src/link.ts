/**
 * A client's link to one server: the transport-independent contract between the client and
 * whatever serves it. The client's TCP connection implements it over ZooKeeper's protocol;
 * a server's driver implements it in process (the runtime's PeerDriver and LocalServer, the
 * simulator's clients), turning its `ClientOutput`s into link messages with `deliverToLink`.
 */

import type { ACL, Id } from './acl.js';
import type { ClientOutput, ConnectRequest } from './front/client-io.js';
import { ownedCopy } from './owned-bytes.js';
import type { ClientRequest, ReadRequest, Reply } from './requests.js';
import type { WatchEvent } from './watches/events.js';
import type { Zxid } from './zxid.js';

/** What a server sends down a link. */
export type LinkMessage =
  | {
      readonly kind: 'connected';
      readonly sessionId: bigint;
      readonly password: Uint8Array;
      readonly timeoutMs: number;
      /** The server serves reads only (ZooKeeper's read-only mode). */
      readonly readOnly?: boolean;
    }
  | { readonly kind: 'reply'; readonly xid: number; readonly zxid: Zxid; readonly reply: Reply }
  | { readonly kind: 'watch'; readonly zxid: bigint; readonly event: WatchEvent };

/**
 * Why a link closed: the server's word when it closed it, a transport failure, or a login
 * (SASL) the server refused or that did not prove the server.
 */
export type LinkCloseReason =
  | 'sessionExpired'
  | 'sessionClosed'
  | 'sessionMoved'
  | 'refused'
  | 'lost'
  | 'authFailed';

/** What a link calls as its server speaks: messages in order, then one `closed`. */
export interface LinkHandlers {
  /** A message from the server, in the order it sent them. */
  message(message: LinkMessage): void;
  /** The link is over: the server closed it, or the transport broke. */
  closed(reason: LinkCloseReason): void;
}

/** One connection to one server, as the client drives it. */
export interface ClientLink {
  /** Sends the request that opens (or resumes) a session; answered by a `connected` message. */
  connect(request: ConnectRequest): void;
  /** Sends a request; its reply comes back with the same `xid`. */
  send(xid: number, request: ClientRequest): void;
  /** Closes the link from the client side; `closed` is not called for it. */
  close(): void;
  /**
   * Hands the server identities its transport verified (a TLS client certificate's subject, a
   * SASL exchange), held from the next request on. Only a server's own client port calls it;
   * links without a server behind them (a client's TCP link) leave it out.
   */
  authenticated?(identities: readonly Id[]): void;
  /**
   * Serves a read at once, synchronously, from the server's replica as it stands (its applied
   * state, the connection's identities checked against the ACLs), without a watch and without
   * waiting behind the session's requests in flight. Undefined when the link cannot answer so
   * (not connected, or closed). Only links to a server in the same process offer it.
   */
  readNow?(request: ReadRequest): Reply | undefined;
}

/** Opens links to the servers of an ensemble, one attempt at a time. */
export interface LinkFactory {
  /**
   * Opens a link to the next server to try. `attempt` counts the links the client has opened,
   * from 0 and never reset, so `(start + attempt) % servers` moves on to the next server after
   * every lost connection, as ZooKeeper's host provider does.
   */
  open(handlers: LinkHandlers, attempt: number): ClientLink;
}

/**
 * Hands a server's output for one connection to that connection's link handlers. Returns
 * true when the output closed the connection, so the caller can forget the link.
 */
export function deliverToLink(handlers: LinkHandlers, output: ClientOutput): boolean {
  switch (output.kind) {
    case 'connected':
      handlers.message({
        kind: 'connected',
        sessionId: output.sessionId,
        password: output.password,
        timeoutMs: output.timeoutMs,
        ...(output.readOnly === true ? { readOnly: true } : {}),
      });
      return false;
    // A reply or watch output is its link message already (with the connection's id besides):
    // handed over as it is, not copied for every reply (a client in this process copies out
    // what it keeps: `ownedReply`).
    case 'reply':
    case 'watch':
      handlers.message(output);
      return false;
    case 'close':
      handlers.closed(output.reason);
      return true;
  }
}

/**
 * A reply a client in this process may keep and change: the bytes of a getData (alone or in
 * a multiRead) and a getACL's list copied out of the replica, whose znodes (and ACL cache)
 * hold them, as ZooKeeper's clients own what they read. A reply sent over TCP is encoded
 * from the replica's bytes and needs no copy (so links do not copy: the client does); every
 * other reply is built for the one answer.
 */
export function ownedReply(reply: Reply): Reply {
  if (!reply.ok) return reply;
  switch (reply.op) {
    case 'getData': {
      const { data, stat } = reply.result;
      return { ok: true, op: 'getData', result: { data: ownedCopy(data), stat } };
    }
    case 'getACL': {
      const { acl, stat } = reply.result;
      return { ok: true, op: 'getACL', result: { acl: acl.map(copyAcl), stat } };
    }
    case 'multiRead':
      return {
        ok: true,
        op: 'multiRead',
        result: {
          results: reply.result.results.map((result) =>
            result.op === 'getData'
              ? { op: 'getData', data: ownedCopy(result.data), stat: result.stat }
              : result,
          ),
        },
      };
    default:
      return reply;
  }
}

function copyAcl(entry: ACL): ACL {
  return { perms: entry.perms, id: { scheme: entry.id.scheme, id: entry.id.id } };
}
