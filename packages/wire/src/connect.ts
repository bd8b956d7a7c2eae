/**
 * The handshake: the first frame each way carries a bare ConnectRequest / ConnectResponse,
 * no header. The trailing readOnly boolean is optional both ways: node-zookeeper-client
 * never sends it, kazoo always does, and a server echoes it only to a client that sent it.
 */
import type { ConnectRequest, Zxid } from '@zabkit/core';
import { protocolVersion } from './constants.js';
import { JuteReader, JuteWriter } from './jute.js';
import { readZxidMark } from './records.js';

/** A decoded ConnectRequest: core's fields (bar the address, which the socket knows) plus wire facts. */
export interface ConnectRequestFrame extends Omit<ConnectRequest, 'clientAddress'> {
  readonly protocolVersion: number;
  /** Whether the client sent the readOnly byte; the server echoes it in its answer only if so. */
  readonly readOnlyFlagSent: boolean;
}

/**
 * Decodes a ConnectRequest payload (after the length prefix). The readOnly byte is read when
 * any byte remains after the password; bytes after it are ignored, as ZooKeeper does. A
 * null password reads as empty; a negative lastZxidSeen reads as zero (ZooKeeper compares
 * it signed, so it is behind every server).
 */
export function decodeConnectRequest(payload: Uint8Array): ConnectRequestFrame {
  const reader = new JuteReader(payload);
  const version = reader.int();
  const lastZxidSeen = readZxidMark(reader);
  const timeoutMs = reader.int();
  const sessionId = reader.long();
  const password = reader.bytesOrEmpty();
  const readOnlyFlagSent = reader.remaining > 0;
  const readOnly = readOnlyFlagSent ? reader.boolean() : false;
  return {
    protocolVersion: version,
    lastZxidSeen,
    timeoutMs,
    sessionId,
    password,
    readOnly,
    readOnlyFlagSent,
  };
}

/** What a client puts in its handshake; `readOnly` undefined leaves the optional byte out. */
export interface ConnectRequestFields {
  readonly lastZxidSeen: Zxid | bigint;
  readonly timeoutMs: number;
  readonly sessionId: bigint;
  readonly password: Uint8Array;
  readonly readOnly?: boolean | undefined;
  readonly protocolVersion?: number;
}

/** Encodes a ConnectRequest as a full frame (length prefix included). */
export function encodeConnectRequest(fields: ConnectRequestFields): Uint8Array {
  const writer = new JuteWriter({ framed: true, initialCapacity: 64 });
  writer
    .int(fields.protocolVersion ?? protocolVersion)
    .long(fields.lastZxidSeen)
    .int(fields.timeoutMs)
    .long(fields.sessionId)
    .buffer(fields.password);
  if (fields.readOnly !== undefined) writer.boolean(fields.readOnly);
  return writer.finish();
}

/** A server's handshake answer; `readOnly` is undefined when the byte is (to be) absent. */
export interface ConnectResponseFields {
  /** The negotiated timeout; 0 tells the client its session is expired. */
  readonly timeoutMs: number;
  readonly sessionId: bigint;
  readonly password: Uint8Array;
  readonly readOnly?: boolean | undefined;
  readonly protocolVersion?: number;
}

/** Encodes a ConnectResponse as a full frame; the readOnly byte only when `readOnly` is defined. */
export function encodeConnectResponse(fields: ConnectResponseFields): Uint8Array {
  const writer = new JuteWriter({ framed: true, initialCapacity: 64 });
  writer
    .int(fields.protocolVersion ?? protocolVersion)
    .int(fields.timeoutMs)
    .long(fields.sessionId)
    .buffer(fields.password);
  if (fields.readOnly !== undefined) writer.boolean(fields.readOnly);
  return writer.finish();
}

/** A decoded ConnectResponse. */
export interface ConnectResponseFrame {
  readonly protocolVersion: number;
  readonly timeoutMs: number;
  readonly sessionId: bigint;
  readonly password: Uint8Array;
  /** Undefined when the server left the byte out (it does unless the client sent one). */
  readonly readOnly: boolean | undefined;
}

/** Decodes a ConnectResponse payload (after the length prefix); a null password reads as empty. */
export function decodeConnectResponse(payload: Uint8Array): ConnectResponseFrame {
  const reader = new JuteReader(payload);
  const version = reader.int();
  const timeoutMs = reader.int();
  const sessionId = reader.long();
  const password = reader.bytesOrEmpty();
  const readOnly = reader.remaining > 0 ? reader.boolean() : undefined;
  return { protocolVersion: version, timeoutMs, sessionId, password, readOnly };
}
