/**
 * The value log: large log records written once, to append-only segment files beside
 * LevelDB, with LevelDB holding a small pointer record under the record's log key
 * (WiscKey's split). Through LevelDB a 1 MB record was written twice (its write-ahead log,
 * then the level-0 table its memtable became) and copied into the memtable besides.
 *
 * Durability order: a record's bytes are written and fdatasync'ed before the batch holding
 * its pointer is committed, and a new segment's directory entry is synced with its first
 * bytes. So a pointer whose bytes do not read back is damage, never a torn write; bytes past
 * every pointer are an unacknowledged tail, never read. Each open starts a new segment, so
 * no segment is written after a crash: a tail stays garbage until its segment is deleted.
 *
 * Segments are deleted by prefix. The store appends in zxid order, truncates a suffix and
 * purges a prefix, and a new record always goes to the newest segment, so along the log's
 * key order the segments its pointers name never decrease: every segment below the first
 * pointer's is unreferenced.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { type FileHandle, open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { StorageRecordError } from '@zabkit/codec';
import type { Zxid } from '@zabkit/core';

/** Where a log record's bytes are: which segment, where in it, how long, and their checksum. */
export interface ValuePointer {
  /** The zxid the record reaches (its header's): a record's reach is known without its bytes. */
  readonly lastZxid: Zxid;
  readonly segment: number;
  readonly offset: number;
  readonly length: number;
  /** The record's own CRC-32 (its first 4 bytes, over the rest): checked against the bytes read. */
  readonly crc: number;
}

/**
 * A pointer record: crc32, u64 lastZxid, u32 0, u32 segment, u64 offset, u32 length, u32 crc.
 * It starts as a log record's header does (crc32, u64 lastZxid, u32 count), with a count of 0,
 * which no log record has: the two kinds tell apart by that field.
 */
const pointerBytes = 36;
const countAt = 12;

/** True when a log key's value is a pointer record (damaged or not), not a record itself. */
export function isPointerRecord(value: Uint8Array): boolean {
  if (value.length < countAt + 4) return false;
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return view.getUint32(countAt) === 0;
}

export function encodePointer(pointer: ValuePointer): Uint8Array {
  const record = Buffer.alloc(pointerBytes);
  record.writeBigUInt64BE(pointer.lastZxid, 4);
  record.writeUInt32BE(0, countAt);
  record.writeUInt32BE(pointer.segment, 16);
  record.writeBigUInt64BE(BigInt(pointer.offset), 20);
  record.writeUInt32BE(pointer.length, 28);
  record.writeUInt32BE(pointer.crc, 32);
  record.writeUInt32BE(crc32(record.subarray(4)), 0);
  return record;
}

/** The pointer a pointer record holds; a damaged one is a StorageRecordError. */
export function decodePointer(value: Uint8Array): ValuePointer {
  const record = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (record.length !== pointerBytes)
    throw new StorageRecordError(
      'log record',
      `a value pointer of ${record.length} bytes, not ${pointerBytes}`,
    );
  if (crc32(record.subarray(4)) !== record.readUInt32BE(0))
    throw new StorageRecordError('log record', 'value pointer checksum mismatch');
  const offset = record.readBigUInt64BE(20);
  if (offset > BigInt(Number.MAX_SAFE_INTEGER))
    throw new StorageRecordError('log record', `a value pointer to offset ${offset}`);
  return {
    lastZxid: record.readBigUInt64BE(4) as Zxid,
    segment: record.readUInt32BE(16),
    offset: Number(offset),
    length: record.readUInt32BE(28),
    crc: record.readUInt32BE(32),
  };
}

/** A pointer's bytes that are not there, or not the ones it names: damage in the value log. */
export class ValueReadError extends Error {
  override readonly name = 'ValueReadError';
}

const segmentName = (segment: number) => `${segment.toString().padStart(10, '0')}.seg`;
const segmentPattern = /^(\d{10})\.seg$/;

function segmentNumber(name: string): number | undefined {
  const match = segmentPattern.exec(name);
  return match === null ? undefined : Number(match[1]);
}

/** The segment numbers in `dir`, ascending; none when it does not exist. */
export function listSegments(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return [];
    throw error;
  }
  const numbers: number[] = [];
  for (const name of names) {
    const number = segmentNumber(name);
    if (number !== undefined) numbers.push(number);
  }
  return numbers.sort((a, b) => a - b);
}

export interface ValueLogOptions {
  /** A segment is closed once it holds this many bytes (a larger record fills one alone). Default 128 MiB. */
  readonly segmentBytes?: number;
  /** fdatasync each write (default). Off only for benchmarks, as the store's own `sync`. */
  readonly sync?: boolean;
}

/** Segments opened for reading, at most: each read of another closes the oldest. */
const readHandlesMax = 8;
const segmentNumberMax = 2 ** 32 - 1;

/** The segment files of one store's value log. */
export class ValueLog {
  private readonly segmentBytes: number;
  private readonly sync: boolean;
  /** The segment appended to, created at the first append after open. */
  private active: { readonly segment: number; readonly handle: FileHandle; size: number } | undefined;
  private nextSegment: number;
  private readonly readers = new Map<number, FileHandle>();
  /** The append under way, if any: the next waits for it. */
  private appending: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly dir: string,
    options: ValueLogOptions,
    existing: readonly number[],
  ) {
    this.segmentBytes = Math.max(1, options.segmentBytes ?? 128 * 1024 * 1024);
    this.sync = options.sync ?? true;
    this.nextSegment = existing.length === 0 ? 1 : existing[existing.length - 1]! + 1;
  }

  /** The value log in `dir`, created if missing. Nothing is written until the first append. */
  static open(dir: string, options: ValueLogOptions = {}): ValueLog {
    mkdirSync(dir, { recursive: true });
    return new ValueLog(dir, options, listSegments(dir));
  }

  /** The segment numbers on disk, ascending. */
  segments(): number[] {
    return listSegments(this.dir);
  }

  /**
   * Appends `record` (a log record: its first 4 bytes are its CRC) and makes it durable before
   * resolving with its pointer: only then may the pointer be committed.
   */
  append(record: Uint8Array, lastZxid: Zxid): Promise<ValuePointer> {
    // One at a time: a segment is rolled over and created by one append, never by two at once.
    const appended = this.appending.then(() => this.appendNow(record, lastZxid));
    this.appending = appended.catch(() => undefined);
    return appended;
  }

  private async appendNow(record: Uint8Array, lastZxid: Zxid): Promise<ValuePointer> {
    if (this.closed) throw new Error('ValueLog is closed');
    let active = this.active;
    let created = false;
    if (active !== undefined && active.size > 0 && active.size + record.length > this.segmentBytes) {
      this.active = undefined;
      await active.handle.close();
      active = undefined;
    }
    if (active === undefined) {
      if (this.nextSegment > segmentNumberMax)
        throw new RangeError('the value log ran out of segment numbers');
      const segment = this.nextSegment++;
      // 'wx': a new file or an error, never bytes appended to a segment written before.
      const handle = await open(join(this.dir, segmentName(segment)), 'wx');
      this.active = active = { segment, handle, size: 0 };
      created = true;
    }
    const offset = active.size;
    // The size moves on first: should the write fail, the next record does not take its place.
    active.size += record.length;
    let written = 0;
    while (written < record.length) {
      const { bytesWritten } = await active.handle.write(
        record,
        written,
        record.length - written,
        offset + written,
      );
      written += bytesWritten;
    }
    if (this.sync) {
      await active.handle.datasync();
      if (created) await this.syncDir();
    }
    const crc = new DataView(record.buffer, record.byteOffset, record.byteLength).getUint32(0);
    return { lastZxid, segment: active.segment, offset, length: record.length, crc };
  }

  private async syncDir(): Promise<void> {
    const dir = await open(this.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /** The bytes `pointer` names, checked against its checksum; a ValueReadError when they are not there. */
  async read(pointer: ValuePointer): Promise<Uint8Array> {
    if (this.closed) throw new Error('ValueLog is closed');
    const handle = await this.reader(pointer.segment);
    const bytes = Buffer.allocUnsafe(pointer.length);
    let got = 0;
    while (got < pointer.length) {
      const { bytesRead } = await handle.read(bytes, got, pointer.length - got, pointer.offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got < pointer.length)
      throw new ValueReadError(
        `segment ${pointer.segment} ends ${got} bytes into the record's ${pointer.length} at offset ${pointer.offset}`,
      );
    if (pointer.length < 4 || bytes.readUInt32BE(0) !== pointer.crc)
      throw new ValueReadError(
        `the bytes at offset ${pointer.offset} of segment ${pointer.segment} are not the record the pointer names (checksum)`,
      );
    return bytes;
  }

  private async reader(segment: number): Promise<FileHandle> {
    const open_ = this.readers.get(segment);
    if (open_ !== undefined) return open_;
    let handle: FileHandle;
    try {
      handle = await open(join(this.dir, segmentName(segment)), 'r');
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT')
        throw new ValueReadError(`segment ${segment} is missing`);
      throw error;
    }
    if (this.readers.size >= readHandlesMax) {
      const [oldest, oldHandle] = this.readers.entries().next().value as [number, FileHandle];
      this.readers.delete(oldest);
      await oldHandle.close();
    }
    this.readers.set(segment, handle);
    return handle;
  }

  /** Deletes every segment numbered below `segment`, except the one being appended to; returns how many. */
  async deleteBelow(segment: number): Promise<number> {
    let deleted = 0;
    for (const name of await readdir(this.dir)) {
      const number = segmentNumber(name);
      if (number === undefined || number >= segment || number === this.active?.segment) continue;
      const reader = this.readers.get(number);
      if (reader !== undefined) {
        this.readers.delete(number);
        await reader.close();
      }
      await unlink(join(this.dir, name));
      deleted++;
    }
    return deleted;
  }

  /** True when a segment other than the one being appended to is on disk: one deleteBelow could take. */
  hasClosedSegments(): boolean {
    const active = this.active?.segment;
    return this.segments().some((segment) => segment !== active);
  }

  /** The first segment number a new append could use: every segment is below it. */
  get segmentsEnd(): number {
    return this.nextSegment;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.appending;
    for (const handle of this.readers.values()) await handle.close();
    this.readers.clear();
    await this.active?.handle.close();
    this.active = undefined;
  }
}
