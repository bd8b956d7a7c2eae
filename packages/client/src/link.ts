/**
 * A client's link to one server: the contract the client speaks, defined in core beside the
 * server's client I/O types so that servers implement it without depending on the client.
 */
export type {
  ClientLink,
  LinkCloseReason,
  LinkFactory,
  LinkHandlers,
  LinkMessage,
} from '@zabkit/core';
