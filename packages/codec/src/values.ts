/**
 * The values peers and stores share, encoded on their own: one transaction (a log record
 * holds several), a run of snapshot nodes (a snapshot chunk), a snapshot's sessions.
 */
import type { SessionId, SnapshotNode, TreeSnapshot, Txn } from '@zabkit/core';
import { Reader, Writer } from './bytes.js';
import { nestError } from './codec-error.js';
import { defaultPeerCodecLimits, type PeerCodecLimits } from './limits.js';
import { type Codec, compile, list } from './schema.js';
import { keptTxnEncoding, snapshotNode, snapshotSessions, txn } from './txn-schema.js';

/**
 * Runs `codec` over all of `bytes`, reporting every failure as a PeerCodecError. With
 * `dataViews`, znode data are views of `bytes`, not copies (they keep `bytes` alive).
 */
export function decodeWhole<T>(
  codec: Codec<T>,
  bytes: Uint8Array,
  limits: PeerCodecLimits,
  dataViews = false,
): T {
  const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), limits, dataViews);
  try {
    const value = codec.read(r);
    r.done();
    return value;
  } catch (error) {
    throw nestError(error, '');
  }
}

/** `value` encoded with `codec`, reporting every failure as a PeerCodecError. */
export function encodeWhole<T>(codec: Codec<T>, value: T, initialBytes = 128): Uint8Array {
  const w = new Writer(initialBytes, 0);
  try {
    codec.write(w, value);
  } catch (error) {
    throw nestError(error, '');
  }
  return w.bytes();
}

/** The compiled transaction codec, for records that frame transactions themselves. */
export const txnCodec: Codec<Txn> = txn.codec();
/** The compiled codec of a run of snapshot nodes. */
export const snapshotNodesCodec: Codec<readonly SnapshotNode[]> = compile(list(snapshotNode));
/** The compiled codec of one snapshot node: a chunk's nodes encoded one at a time. */
export const snapshotNodeCodec: Codec<SnapshotNode> = compile(snapshotNode);
/** The compiled codec of a snapshot's sessions. */
export const sessionsCodec: Codec<TreeSnapshot['sessions']> = compile(snapshotSessions);

/**
 * A transaction's encoding for a record that frames it itself: the one kept since it was
 * encoded or decoded (a view the caller must not write to), or made now and kept. Throws
 * what the codec throws, not yet nested under the record's path.
 */
export function txnEncoding(value: Txn): Uint8Array {
  const kept = keptTxnEncoding(value);
  if (kept !== undefined) return kept;
  // Room for the header, a path and the data a create or setData carries: one allocation for
  // most transactions, where 128 bytes grew by doubling for any data above a few dozen bytes.
  const body = value?.body as { data?: unknown } | undefined;
  const dataBytes = body?.data instanceof Uint8Array ? body.data.length : 0;
  const w = new Writer(128 + dataBytes, 0);
  txnCodec.write(w, value);
  return keptTxnEncoding(value) ?? w.bytes();
}

/** One transaction, as a log record holds it. */
export function encodeTxn(value: Txn): Uint8Array {
  return encodeWhole(txnCodec, value);
}

/** Decodes what encodeTxn made; throws PeerCodecError (naming the field) for anything else. */
export function decodeTxn(bytes: Uint8Array, limits: PeerCodecLimits = defaultPeerCodecLimits): Txn {
  return decodeWhole(txnCodec, bytes, limits);
}

/** Many snapshot nodes in one record: snapshots are stored in chunks of nodes. */
export function encodeSnapshotNodes(nodes: readonly SnapshotNode[]): Uint8Array {
  return encodeWhole(snapshotNodesCodec, nodes, 1024);
}

/** Decodes what encodeSnapshotNodes made. */
export function decodeSnapshotNodes(
  bytes: Uint8Array,
  limits: PeerCodecLimits = defaultPeerCodecLimits,
): SnapshotNode[] {
  return decodeWhole(snapshotNodesCodec, bytes, limits) as SnapshotNode[];
}

/** A snapshot's sessions, stored beside its nodes. */
export function encodeSessions(sessions: TreeSnapshot['sessions']): Uint8Array {
  return encodeWhole(sessionsCodec, sessions);
}

/** Decodes what encodeSessions made. */
export function decodeSessions(
  bytes: Uint8Array,
  limits: PeerCodecLimits = defaultPeerCodecLimits,
): (readonly [SessionId, number])[] {
  return decodeWhole(sessionsCodec, bytes, limits) as (readonly [SessionId, number])[];
}
