/**
 * The store's keys and records. Keys sort by what they name: a one-byte section, then the
 * zxid as 8 big-endian bytes, so LevelDB's byte order is zxid order. Every value carries a
 * CRC-32 of its body, so a record damaged on disk is noticed when read, not served.
 */
import { crc32 } from 'node:zlib';
import type { Epochs, Zxid } from '@zabkit/core';

export const Section = {
  /** `e`: the epochs. */
  epochs: 0x65,
  /** `l` + zxid: one logged transaction. */
  log: 0x6c,
  /** `s` + zxid + `c` + chunk: a chunk of a snapshot's nodes; + `m`: its manifest. */
  snapshot: 0x73,
} as const;

const chunkMark = 0x63;
const manifestMark = 0x6d;

export const epochsKey = Uint8Array.of(Section.epochs);

export function logKey(zxid: Zxid | bigint): Uint8Array {
  const key = new Uint8Array(9);
  key[0] = Section.log;
  new DataView(key.buffer).setBigUint64(1, BigInt.asUintN(64, zxid));
  return key;
}

/** The first and past-the-last keys of the log section. */
export const logStart = Uint8Array.of(Section.log);
export const logEnd = Uint8Array.of(Section.log + 1);

export function zxidOfKey(key: Uint8Array): Zxid {
  return new DataView(key.buffer, key.byteOffset, key.byteLength).getBigUint64(1) as Zxid;
}

function snapshotPrefix(zxid: Zxid | bigint, mark: number, extra: number): Uint8Array {
  const key = new Uint8Array(10 + extra);
  key[0] = Section.snapshot;
  new DataView(key.buffer).setBigUint64(1, BigInt.asUintN(64, zxid));
  key[9] = mark;
  return key;
}

export function manifestKey(zxid: Zxid | bigint): Uint8Array {
  return snapshotPrefix(zxid, manifestMark, 0);
}

export function chunkKey(zxid: Zxid | bigint, index: number): Uint8Array {
  const key = snapshotPrefix(zxid, chunkMark, 4);
  new DataView(key.buffer).setUint32(10, index);
  return key;
}

/** Every key of the snapshot at `zxid`: [start, end). */
export function snapshotRange(zxid: Zxid | bigint): { gte: Uint8Array; lt: Uint8Array } {
  const gte = snapshotPrefix(zxid, 0, 0);
  const lt = snapshotPrefix(zxid, 0xff, 0);
  return { gte, lt };
}

export const snapshotStart = Uint8Array.of(Section.snapshot);
export const snapshotEnd = Uint8Array.of(Section.snapshot + 1);

export function isManifestKey(key: Uint8Array): boolean {
  return key.length === 10 && key[0] === Section.snapshot && key[9] === manifestMark;
}

/** A record whose checksum does not match its body. */
export class ChecksumError extends Error {
  constructor(readonly what: string) {
    super(`${what}: checksum mismatch`);
    this.name = 'ChecksumError';
  }
}

/** CRC-32 of the body, then the body. */
export function sealed(body: Uint8Array): Uint8Array {
  const record = new Uint8Array(4 + body.length);
  new DataView(record.buffer).setUint32(0, crc32(body));
  record.set(body, 4);
  return record;
}

/** The body of a sealed record, after checking its CRC. */
export function unseal(record: Uint8Array, what: string): Uint8Array {
  if (record.length < 4) throw new ChecksumError(what);
  const expected = new DataView(record.buffer, record.byteOffset, record.byteLength).getUint32(0);
  const body = record.subarray(4);
  if (crc32(body) !== expected) throw new ChecksumError(what);
  return body;
}

export function encodeEpochs(epochs: Epochs): Uint8Array {
  const body = new Uint8Array(16);
  const view = new DataView(body.buffer);
  view.setFloat64(0, epochs.acceptedEpoch);
  view.setFloat64(8, epochs.currentEpoch);
  return sealed(body);
}

export function decodeEpochs(record: Uint8Array): Epochs {
  const body = unseal(record, 'epochs');
  if (body.length !== 16) throw new ChecksumError('epochs');
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  return { acceptedEpoch: view.getFloat64(0), currentEpoch: view.getFloat64(8) };
}

/** What a snapshot's manifest says: how many chunks, and the sessions it holds. */
export interface Manifest {
  readonly chunks: number;
  readonly nodes: number;
  readonly sessions: Uint8Array;
}

export function encodeManifest(manifest: Manifest): Uint8Array {
  const body = new Uint8Array(8 + manifest.sessions.length);
  const view = new DataView(body.buffer);
  view.setUint32(0, manifest.chunks);
  view.setUint32(4, manifest.nodes);
  body.set(manifest.sessions, 8);
  return sealed(body);
}

export function decodeManifest(record: Uint8Array, what: string): Manifest {
  const body = unseal(record, what);
  if (body.length < 8) throw new ChecksumError(what);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  return { chunks: view.getUint32(0), nodes: view.getUint32(4), sessions: body.subarray(8) };
}

/**
 * A run of consecutive transactions in one log record, keyed by the first one's zxid: a
 * group-commit batch is one put, not one per transaction. Header: the last zxid and the
 * count, so a record's reach is known without decoding its transactions.
 */
export function encodeLogRecord(encodedTxns: readonly Uint8Array[], lastZxid: Zxid): Uint8Array {
  let size = 12;
  for (const txn of encodedTxns) size += 4 + txn.length;
  const body = new Uint8Array(size);
  const view = new DataView(body.buffer);
  view.setBigUint64(0, BigInt.asUintN(64, lastZxid));
  view.setUint32(8, encodedTxns.length);
  let offset = 12;
  for (const txn of encodedTxns) {
    view.setUint32(offset, txn.length);
    body.set(txn, offset + 4);
    offset += 4 + txn.length;
  }
  return sealed(body);
}

/** The encoded transactions of a log record, after checking its CRC and its framing. */
export function decodeLogRecord(record: Uint8Array, what: string): { lastZxid: Zxid; txns: Uint8Array[] } {
  const body = unseal(record, what);
  if (body.length < 12) throw new ChecksumError(`${what} is too short`);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const lastZxid = view.getBigUint64(0) as Zxid;
  const count = view.getUint32(8);
  const txns: Uint8Array[] = [];
  let offset = 12;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > body.length) throw new ChecksumError(`${what} is cut short`);
    const length = view.getUint32(offset);
    if (offset + 4 + length > body.length) throw new ChecksumError(`${what} is cut short`);
    txns.push(body.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return { lastZxid, txns };
}
