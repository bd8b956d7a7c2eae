/**
 * ZooKeeper's transaction log files (`log.<zxid>`, FileTxnLog): a file header (`ZKLG`,
 * version 2, dbid), then entries, each an Adler32 of its bytes, the bytes with their length,
 * and an end-of-record byte 'B'. ZooKeeper preallocates log files with zeros, so a zero
 * length ends the file; so do the end of the file, a missing 'B' (a torn last write) and an
 * entry cut short. A checksum that does not match, a length ZooKeeper calls unreasonable or
 * a transaction type it does not know stop ZooKeeper from starting, and stop this reader:
 * each is a ZkFormatError naming the file and the entry's offset.
 */
import { ZkEndOfInput, ZkFormatError } from './errors.js';
import { adler32, JuteReader, JuteWriter, juteLengthMax, juteMaxBufferDefault } from './jute.js';
import {
  encodeTxnEntry,
  type FileHeader,
  fileFormatVersion,
  readFileHeader,
  readTxnEntry,
  txnLogMagic,
  writeFileHeader,
  type ZkTxnEntry,
} from './records.js';

/** The end-of-record byte after every log entry. */
const endOfRecord = 0x42;

/** A log entry and where it starts in its file. */
export interface LogEntryAt extends ZkTxnEntry {
  /** Offset of the entry's checksum in the file. */
  readonly offset: number;
}

/** Why reading a log file stopped before its last byte, as ZooKeeper would stop there too. */
export type LogEnd =
  /** The file ends between entries. */
  | 'end of file'
  /** A zero length: ZooKeeper's preallocated padding. */
  | 'zero padding'
  /** The entry has no end-of-record byte: a torn write. */
  | 'partial entry'
  /** The file, or the entry's record, ends inside the entry. */
  | 'truncated entry';

/** What a log file holds, read as ZooKeeper reads it. */
export interface LogFile {
  readonly file: string;
  readonly header: FileHeader;
  readonly entries: readonly LogEntryAt[];
  /** Where reading stopped, and why. */
  readonly endOffset: number;
  readonly end: LogEnd;
  /** Bytes after `endOffset` that are not zero: a torn tail, reported, never applied. */
  readonly bytesAfterEnd: number;
}

/** How to read ZooKeeper's files. */
export interface ZkReadOptions {
  /** jute.maxbuffer of the ZooKeeper that wrote them (default 0xfffff). */
  readonly juteMaxBufferBytes?: number;
  /** zookeeper.digest.enabled (default true). */
  readonly digestEnabled?: boolean;
}

/** The zxid in a `log.<hex>` or `snapshot.<hex>[.ext]` name, as ZooKeeper's Util.getZxidFromName parses it; -1 if none. */
export function zxidFromFileName(name: string, prefix: 'log' | 'snapshot'): bigint {
  const parts = name.split('.');
  if (parts.length < 2 || parts[0] !== prefix) return -1n;
  const hex = parts[1]!;
  if (!/^[+-]?[0-9a-fA-F]+$/.test(hex)) return -1n;
  const negative = hex.startsWith('-');
  const value = BigInt(`0x${hex.replace(/^[+-]/, '')}`);
  const signed = negative ? -value : value;
  // Long.parseLong refuses what does not fit a signed long.
  if (signed > 0x7fff_ffff_ffff_ffffn || signed < -(1n << 63n)) return -1n;
  return signed;
}

/** A log file's name for its first zxid (Util.makeLogName). */
export function logFileName(firstZxid: bigint): string {
  return `log.${BigInt.asUintN(64, firstZxid).toString(16)}`;
}

/** Reads a whole log file. */
export function readTxnLogFile(bytes: Uint8Array, file: string, options: ZkReadOptions = {}): LogFile {
  const lengthMax = juteLengthMax(options.juteMaxBufferBytes ?? juteMaxBufferDefault);
  const reader = new JuteReader(bytes, file, 0, lengthMax);
  // A header ZooKeeper cannot read stops it from starting (it is not taken as an end of file).
  let header: FileHeader;
  try {
    header = readFileHeader(reader);
  } catch (error) {
    if (error instanceof ZkEndOfInput)
      throw new ZkFormatError('truncated', file, 0, 'the file is shorter than its header');
    throw error;
  }
  if (header.magic !== txnLogMagic)
    throw new ZkFormatError('badMagic', file, 0, `magic 0x${(header.magic >>> 0).toString(16)} is not ZKLG`);
  const entries: LogEntryAt[] = [];
  const finish = (endOffset: number, end: LogEnd): LogFile => {
    let bytesAfterEnd = 0;
    for (let i = endOffset; i < bytes.length; i++) if (bytes[i] !== 0) bytesAfterEnd++;
    return { file, header, entries, endOffset, end, bytesAfterEnd };
  };
  for (;;) {
    const start = reader.position;
    if (reader.remaining < 12)
      return finish(start, reader.remaining === 0 ? 'end of file' : 'truncated entry');
    const checksum = reader.long();
    const lengthAt = reader.offset;
    const length = reader.int();
    if (length === 0) return finish(start, 'zero padding');
    if (length === -1)
      // ZooKeeper's reader fails with a NullPointerException here and does not start.
      throw new ZkFormatError(
        'badLength',
        file,
        lengthAt,
        'an entry of length -1 (ZooKeeper fails on it too)',
      );
    if (length < 0 || length > lengthMax)
      throw new ZkFormatError('badLength', file, lengthAt, `unreasonable entry length ${length}`);
    if (reader.remaining < length + 1) return finish(start, 'truncated entry');
    const entryBytes = bytes.subarray(reader.position, reader.position + length);
    reader.position += length;
    if (reader.byte() !== endOfRecord) return finish(start, 'partial entry');
    const actual = adler32(entryBytes);
    if (BigInt(actual) !== checksum)
      throw new ZkFormatError(
        'badChecksum',
        file,
        start,
        `entry checksum 0x${BigInt.asUintN(64, checksum).toString(16)} does not match its bytes (0x${actual.toString(16)})`,
      );
    let entry: ZkTxnEntry;
    try {
      entry = readTxnEntry(new JuteReader(entryBytes, file, start + 12, lengthMax), options);
    } catch (error) {
      // A record that ends early is an end of file to ZooKeeper's iterator.
      if (error instanceof ZkEndOfInput) return finish(start, 'truncated entry');
      throw error;
    }
    entries.push({ ...entry, offset: start });
  }
}

/** A log file's bytes: header, entries, then `paddingBytes` zeros (ZooKeeper preallocates 64 MiB). */
export function encodeTxnLogFile(
  entries: readonly ZkTxnEntry[],
  options: { readonly dbid?: bigint; readonly paddingBytes?: number } = {},
): Uint8Array {
  const writer = new JuteWriter();
  writeFileHeader(writer, { magic: txnLogMagic, version: fileFormatVersion, dbid: options.dbid ?? 0n });
  for (const entry of entries) {
    const bytes = encodeTxnEntry(entry);
    writer
      .long(BigInt(adler32(bytes)))
      .buffer(bytes)
      .byte(endOfRecord);
  }
  if (options.paddingBytes !== undefined && options.paddingBytes > 0)
    writer.raw(new Uint8Array(options.paddingBytes));
  return writer.finish();
}
