/**
 * The records a store keeps, one encoder and one checking decoder each: the format record,
 * the epochs, log records, snapshot chunks and snapshot manifests. Every record starts with
 * a CRC-32 of the rest, so damage on disk is noticed when read, never served. The bytes of
 * each are pinned by golden tests; changing any layout means a new `storageFormatVersion`.
 *
 * Layouts (integers big-endian):
 * - format:   crc32, "zabkit", u32 version
 * - epochs:   crc32, f64 acceptedEpoch, f64 currentEpoch (whole numbers, 0..2^32-1)
 * - log:      crc32, u64 lastZxid, u32 count, then count times (u32 length, transaction)
 * - chunk:    crc32, a list of snapshot nodes
 * - manifest: crc32, u32 chunks, u32 nodes, the snapshot's sessions
 * - session secret: crc32, the secret's bytes (1 to 1024)
 */
import { crc32 } from 'node:zlib';
import {
  type Epochs,
  type SnapshotNode,
  snapshotNodeBytes,
  type TreeSnapshot,
  type Txn,
  type Zxid,
} from '@zabkit/core';
import { Writer } from './bytes.js';
import { nestError, PeerCodecError } from './codec-error.js';
import { defaultPeerCodecLimits, type PeerCodecLimits } from './limits.js';
import {
  decodeWhole,
  encodeWhole,
  sessionsCodec,
  snapshotNodeCodec,
  snapshotNodesCodec,
  txnCodec,
  txnEncoding,
} from './values.js';

/**
 * The layout version of a store, written in its format record when the store is created.
 * Version 1 is the layout zabkit wrote before stores carried a format record, unchanged.
 * Version 2 adds null znode data (a marker no length of version 1 is written as), so every
 * record of version 1 reads the same in version 2; a version 1 reader refuses a null.
 */
export const storageFormatVersion = 2;

/** The kinds of record a store keeps. */
export type StorageRecordKind =
  | 'format'
  | 'epochs'
  | 'log record'
  | 'snapshot chunk'
  | 'manifest'
  | 'session secret';

/** A stored record that does not read back: its checksum, framing or content is wrong. */
export class StorageRecordError extends Error {
  override readonly name = 'StorageRecordError';

  constructor(
    readonly record: StorageRecordKind,
    /** What is wrong: "checksum mismatch", "cut short", or the content's PeerCodecError message. */
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${record}: ${problem}`, options);
  }
}

const crcBytes = 4;
const formatMagic = Buffer.from('zabkit', 'latin1');
const uint32Max = 2 ** 32 - 1;

/** A Writer with room for the CRC, which `seal` fills once the body is written; into `into` if it fits. */
function recordWriter(initialBytes: number, into?: Uint8Array): Writer {
  return new Writer(initialBytes, crcBytes, 'none', into);
}

function seal(w: Writer): Uint8Array {
  const record = w.bytes();
  record.writeUInt32BE(crc32(record.subarray(crcBytes)), 0);
  return record;
}

/** The body of a record, after checking its CRC. */
function unseal(record: Uint8Array, kind: StorageRecordKind): Buffer {
  const bytes = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  if (bytes.length < crcBytes)
    throw new StorageRecordError(kind, `${bytes.length} bytes, shorter than its checksum`);
  const body = bytes.subarray(crcBytes);
  if (crc32(body) !== bytes.readUInt32BE(0)) throw new StorageRecordError(kind, 'checksum mismatch');
  return body;
}

/** Decodes a record's content with `read`, reporting a bad value as a StorageRecordError. */
function content<T>(kind: StorageRecordKind, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof StorageRecordError) throw error;
    const problem = error instanceof PeerCodecError ? error.message : String(error);
    throw new StorageRecordError(kind, problem, { cause: error });
  }
}

// ---- format ----------------------------------------------------------------------------

/** The format record of a store of `version`. */
export function encodeFormatRecord(version: number = storageFormatVersion): Uint8Array {
  if (!Number.isInteger(version) || version < 1 || version > uint32Max)
    throw new RangeError(`bad storage format version ${version}`);
  const w = recordWriter(16);
  w.raw(formatMagic);
  const version32 = Buffer.allocUnsafe(4);
  version32.writeUInt32BE(version, 0);
  w.raw(version32);
  return seal(w);
}

/** The format version a format record names. */
export function decodeFormatRecord(record: Uint8Array): number {
  const body = unseal(record, 'format');
  if (body.length !== formatMagic.length + 4 || !body.subarray(0, formatMagic.length).equals(formatMagic))
    throw new StorageRecordError('format', 'not a zabkit format record');
  const version = body.readUInt32BE(formatMagic.length);
  if (version < 1) throw new StorageRecordError('format', `format version ${version}`);
  return version;
}

// ---- epochs ----------------------------------------------------------------------------

function checkEpoch(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > uint32Max || Object.is(value, -0))
    throw new PeerCodecError(name, `${value} is not an epoch (an integer in 0..${uint32Max})`);
}

/** The two epochs ZAB keeps durable. */
export function encodeEpochsRecord(epochs: Epochs): Uint8Array {
  try {
    checkEpoch('acceptedEpoch', epochs.acceptedEpoch);
    checkEpoch('currentEpoch', epochs.currentEpoch);
  } catch (error) {
    throw nestError(error, '');
  }
  const w = recordWriter(24);
  const body = Buffer.allocUnsafe(16);
  body.writeDoubleBE(epochs.acceptedEpoch, 0);
  body.writeDoubleBE(epochs.currentEpoch, 8);
  w.raw(body);
  return seal(w);
}

/** The epochs, checked: whole numbers in range, and the current one never above the accepted one. */
export function decodeEpochsRecord(record: Uint8Array): Epochs {
  const body = unseal(record, 'epochs');
  if (body.length !== 16) throw new StorageRecordError('epochs', `${body.length} bytes, not 16`);
  return content('epochs', () => {
    const acceptedEpoch = body.readDoubleBE(0);
    const currentEpoch = body.readDoubleBE(8);
    checkEpoch('acceptedEpoch', acceptedEpoch);
    checkEpoch('currentEpoch', currentEpoch);
    if (currentEpoch > acceptedEpoch)
      throw new PeerCodecError('currentEpoch', `${currentEpoch} is above acceptedEpoch ${acceptedEpoch}`);
    return { acceptedEpoch, currentEpoch };
  });
}

// ---- session secret --------------------------------------------------------------------

/** Longest session secret a store or a NEWLEADER carries (zabkit draws 32 bytes). */
export const sessionSecretMaxBytes = 1024;

/** The ensemble's session secret, which session passwords derive from. */
export function encodeSessionSecretRecord(secret: Uint8Array): Uint8Array {
  if (secret.length === 0 || secret.length > sessionSecretMaxBytes)
    throw new RangeError(`a session secret of ${secret.length} bytes (1..${sessionSecretMaxBytes})`);
  const w = recordWriter(crcBytes + secret.length);
  w.raw(secret);
  return seal(w);
}

/** The session secret, checked: its CRC and its length. */
export function decodeSessionSecretRecord(record: Uint8Array): Uint8Array {
  const body = unseal(record, 'session secret');
  if (body.length === 0 || body.length > sessionSecretMaxBytes)
    throw new StorageRecordError('session secret', `${body.length} bytes (1..${sessionSecretMaxBytes})`);
  return new Uint8Array(body);
}

// ---- log records -----------------------------------------------------------------------

/** What a log record's header says, read without decoding its transactions. */
export interface LogRecordHeader {
  readonly lastZxid: Zxid;
  readonly count: number;
}

/** A log record's decoded transactions, checked. */
export interface LogRecord extends LogRecordHeader {
  readonly txns: Txn[];
}

const logHeaderBytes = 12;

/**
 * A run of consecutive transactions in one record, keyed (by the store) by the first one's
 * zxid: a group-commit batch is one put, not one per transaction. The header's last zxid and
 * count let a record's reach be known without decoding its transactions.
 */
/**
 * A log record of `txns`. With `into` large enough, the record is written there (and a view
 * of it returned) rather than into a buffer of its own: for a store whose database copies each
 * value as it takes a write, so that one buffer serves every record, and a learner taking a
 * 1 GB sync does not allocate (and the collector free) a second gigabyte.
 */
export function encodeLogRecord(txns: readonly Txn[], into?: Uint8Array): Uint8Array {
  if (txns.length === 0) throw new RangeError('a log record holds at least one transaction');
  // Each transaction's encoding first (nearly always the one kept since it was proposed or
  // decoded), so the record is one allocation of its exact size: written into a growing
  // buffer, a record of a MiB was copied about twice over by the doublings.
  const encodings: Uint8Array[] = new Array(txns.length);
  let bytes = crcBytes + logHeaderBytes;
  for (let i = 0; i < txns.length; i++) {
    let encoding: Uint8Array;
    try {
      encoding = txnEncoding(txns[i]!);
    } catch (error) {
      throw nestError(error, `txns[${i}]`);
    }
    encodings[i] = encoding;
    bytes += 4 + encoding.length;
  }
  const record =
    into !== undefined && into.length >= bytes
      ? Buffer.from(into.buffer, into.byteOffset, bytes)
      : Buffer.allocUnsafe(bytes);
  record.writeBigUInt64BE(txns[txns.length - 1]!.zxid, crcBytes);
  record.writeUInt32BE(txns.length, crcBytes + 8);
  let at = crcBytes + logHeaderBytes;
  for (const encoding of encodings) {
    record.writeUInt32BE(encoding.length, at);
    record.set(encoding, at + 4);
    at += 4 + encoding.length;
  }
  record.writeUInt32BE(crc32(record.subarray(crcBytes)), 0);
  return record;
}

function logHeader(body: Buffer): LogRecordHeader {
  if (body.length < logHeaderBytes)
    throw new StorageRecordError('log record', `${body.length} bytes, too short`);
  const count = body.readUInt32BE(8);
  if (count === 0) throw new StorageRecordError('log record', 'holds no transactions');
  return { lastZxid: body.readBigUInt64BE(0) as Zxid, count };
}

/** The header of a log record, after checking its CRC. */
export function readLogRecordHeader(record: Uint8Array): LogRecordHeader {
  return logHeader(unseal(record, 'log record'));
}

/** How a log record is decoded. */
export interface LogRecordDecoding {
  /**
   * The transactions' znode data as views of `record` instead of one copy each: copying a
   * hundred bytes into an ArrayBuffer of its own cost a restart replaying the log several
   * microseconds per transaction, more than the rest of its decoding. The record then stays in
   * memory while any view of it does. Default false.
   */
  readonly dataViews?: boolean;
}

/**
 * A log record's transactions, checked: the CRC, the framing, every transaction whole, zxids
 * strictly increasing, and the last one the header's.
 */
export function decodeLogRecord(
  record: Uint8Array,
  limits: PeerCodecLimits = defaultPeerCodecLimits,
  decoding: LogRecordDecoding = {},
): LogRecord {
  const dataViews = decoding.dataViews === true;
  const body = unseal(record, 'log record');
  const { lastZxid, count } = logHeader(body);
  if (count > (body.length - logHeaderBytes) / 5)
    throw new StorageRecordError('log record', `${count} transactions cannot fit in ${body.length} bytes`);
  const txns: Txn[] = new Array(count);
  let offset = logHeaderBytes;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > body.length) throw new StorageRecordError('log record', `cut short at transaction ${i}`);
    const length = body.readUInt32BE(offset);
    if (offset + 4 + length > body.length)
      throw new StorageRecordError('log record', `cut short at transaction ${i}`);
    const txn = content('log record', () => {
      try {
        return decodeWhole(txnCodec, body.subarray(offset + 4, offset + 4 + length), limits, dataViews);
      } catch (error) {
        throw nestError(error, `txns[${i}]`);
      }
    });
    if (i > 0 && txn.zxid <= txns[i - 1]!.zxid)
      throw new StorageRecordError(
        'log record',
        `transaction ${i} (0x${txn.zxid.toString(16)}) does not follow 0x${txns[i - 1]!.zxid.toString(16)}`,
      );
    txns[i] = txn;
    offset += 4 + length;
  }
  if (offset !== body.length)
    throw new StorageRecordError('log record', `${body.length - offset} trailing bytes`);
  if (txns[count - 1]!.zxid !== lastZxid)
    throw new StorageRecordError(
      'log record',
      `ends at 0x${txns[count - 1]!.zxid.toString(16)}, its header says 0x${lastZxid.toString(16)}`,
    );
  return { lastZxid, count, txns };
}

// ---- snapshots -------------------------------------------------------------------------

/**
 * One chunk of a snapshot's nodes. With `into` large enough, the chunk is written there (and
 * a view of it returned), as `encodeLogRecord` does: a learner staging a snapshot for a store
 * whose database copies each value then reuses one buffer rather than allocating each chunk.
 */
export function encodeSnapshotChunk(nodes: readonly SnapshotNode[], into?: Uint8Array): Uint8Array {
  // Sized for the chunk at once (snapshotNodeBytes errs large): grown by doubling from a small
  // buffer, a chunk of a MiB was copied about twice over on its way.
  let bytes = 16;
  for (const node of nodes) bytes += snapshotNodeBytes(node);
  const w = recordWriter(bytes, into);
  try {
    snapshotNodesCodec.write(w, nodes);
  } catch (error) {
    throw nestError(error, 'nodes');
  }
  return seal(w);
}

/**
 * A snapshot chunk encoded a node at a time, for a writer that lets its event loop turn
 * between nodes: `add` each node, then `finish` seals the chunk, the same bytes as
 * `encodeSnapshotChunk` of those nodes. The nodes' bytes go into one buffer reused from
 * chunk to chunk, so a snapshot of many chunks allocates one record per chunk and no more.
 */
export class SnapshotChunkEncoder {
  private readonly body = new Writer(64 * 1024, 0);
  private count = 0;

  /** Nodes added since the last chunk was finished. */
  get nodes(): number {
    return this.count;
  }

  /** Bytes of those nodes, encoded. */
  get bytes(): number {
    return this.body.pos;
  }

  /** Encodes `node` into the chunk; a node that cannot be encoded leaves the chunk as it was. */
  add(node: SnapshotNode): void {
    const start = this.body.pos;
    try {
      snapshotNodeCodec.write(this.body, node);
    } catch (error) {
      this.body.pos = start;
      throw nestError(nestError(error, `[${this.count}]`), 'nodes');
    }
    this.count++;
  }

  /** The chunk of the nodes added, sealed; the encoder starts an empty chunk. */
  finish(): Uint8Array {
    const w = recordWriter(crcBytes + varuintBytes(this.count) + this.body.pos);
    w.varuint(this.count);
    w.raw(this.body.bytes());
    this.body.pos = 0;
    this.count = 0;
    return seal(w);
  }
}

/** Bytes of `value` as `Writer.varuint` writes it. */
function varuintBytes(value: number): number {
  let bytes = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) bytes++;
  return bytes;
}

/** How a snapshot chunk is decoded. */
export interface SnapshotChunkDecoding {
  /**
   * The nodes' data as views of `record` instead of one copy each: for a snapshot loaded
   * into a tree, one allocation per chunk rather than per znode (a separate Uint8Array costs
   * about 300 bytes of memory besides its bytes). The chunk then stays in memory while any of
   * its nodes keeps the data it was loaded with: at most the snapshot's size. Default false.
   */
  readonly dataViews?: boolean;
}

/** The nodes of a snapshot chunk, checked. */
export function decodeSnapshotChunk(
  record: Uint8Array,
  limits: PeerCodecLimits = defaultPeerCodecLimits,
  decoding: SnapshotChunkDecoding = {},
): SnapshotNode[] {
  const body = unseal(record, 'snapshot chunk');
  return content('snapshot chunk', () =>
    decodeWhole(snapshotNodesCodec, body, limits, decoding.dataViews === true).slice(),
  );
}

/** What a snapshot's manifest says: how many chunks and nodes, and the sessions it holds. */
export interface Manifest {
  readonly chunks: number;
  readonly nodes: number;
  readonly sessions: TreeSnapshot['sessions'];
}

/** A snapshot's manifest, written last: until it lands, the snapshot does not exist. */
export function encodeManifest(manifest: Manifest): Uint8Array {
  const { chunks, nodes } = manifest;
  if (!Number.isInteger(chunks) || chunks < 1 || chunks > uint32Max)
    throw new RangeError(`bad chunk count ${chunks}`);
  if (!Number.isInteger(nodes) || nodes < 0 || nodes > uint32Max)
    throw new RangeError(`bad node count ${nodes}`);
  const sessions = encodeWhole(sessionsCodec, manifest.sessions);
  const w = recordWriter(16 + sessions.length);
  const counts = Buffer.allocUnsafe(8);
  counts.writeUInt32BE(chunks, 0);
  counts.writeUInt32BE(nodes, 4);
  w.raw(counts);
  w.raw(sessions);
  return seal(w);
}

/** A manifest, checked. */
export function decodeManifest(
  record: Uint8Array,
  limits: PeerCodecLimits = defaultPeerCodecLimits,
): Manifest {
  const body = unseal(record, 'manifest');
  if (body.length < 8) throw new StorageRecordError('manifest', `${body.length} bytes, too short`);
  const chunks = body.readUInt32BE(0);
  if (chunks === 0) throw new StorageRecordError('manifest', 'names no chunks');
  const nodes = body.readUInt32BE(4);
  const sessions = content('manifest', () => decodeWhole(sessionsCodec, body.subarray(8), limits));
  return { chunks, nodes, sessions };
}
