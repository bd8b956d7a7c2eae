/**
 * The primitive encodings every schema is built from, and their checks. Each write checks
 * that the value is in its field's range; each read checks the same range, the limits, and
 * that the encoding is the one the writer produces (one encoding per value, so bytes that
 * decode re-encode to themselves). Every method takes the field's path for its error.
 *
 * Numbers: an int32 is a zigzag varint plus one; 0 announces a float64 for every other
 * integer (a safe integer beyond int32), as the codec has always written them. Zxids are 8
 * bytes big-endian; other 64-bit values (session ids, ephemeral owners, TTLs) a 0 byte and
 * 8 bytes of signed big-endian. Strings and byte arrays are a varint length and the bytes.
 * Znode data may be null (ZooKeeper's length -1): null is the two bytes 0x80 0x00, a length
 * varint with a redundant zero group, which no length is ever written as, so every byte
 * array written before null existed reads back unchanged.
 */
import { isUtf8 } from 'node:buffer';
import type { Zxid } from '@zabkit/core';
import { PeerCodecError } from './codec-error.js';
import type { PeerCodecLimits } from './limits.js';

const int32Limit = 2 ** 31;
const int64Min = -(1n << 63n);
const int64Max = (1n << 63n) - 1n;
const uint64Max = (1n << 64n) - 1n;
/** The one bigint tag written: the value as signed 64-bit. (1 and 2, unsigned and decimal, are refused.) */
const int64Tag = 0;
/** Strings up to this long are checked for ASCII in a loop; longer ones go to the native UTF-8 check. */
const asciiScanBytesMax = 64;
/** Null znode data: the varint of 0 with a redundant zero group, refused as a length. */
const nullDataMarker = [0x80, 0x00] as const;

/** Strings up to this many code units are tried as ASCII first (their varuint length is one byte). */
const shortAsciiMax = 0x7f;

/**
 * The bytes each Writer method writes, computed without writing: what `Codec.size` adds up.
 * Each mirrors its writer's choice of encoding exactly (a golden property test holds them to it).
 */
export function varuintBytes(v: number): number {
  let bytes = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    bytes++;
  }
  return bytes;
}

/** `Writer.int`: a zigzag varint plus one within int32, else a 0 byte and a float64. */
export function intBytes(v: number): number {
  if (Number.isInteger(v) && v >= -int32Limit && v < int32Limit)
    return varuintBytes((v >= 0 ? v * 2 : -v * 2 - 1) + 1);
  return 9;
}

/** `Writer.string`: the UTF-8 length as a varuint, then the bytes. */
export function stringBytes(v: string): number {
  const length = v.length;
  // Short ASCII (paths, names), the common case, without a call into C++.
  if (length <= shortAsciiMax) {
    let ascii = true;
    for (let i = 0; i < length; i++) {
      if (v.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return 1 + length;
  }
  const bytes = Buffer.byteLength(v, 'utf8');
  return varuintBytes(bytes) + bytes;
}

/** `Writer.data`: the length as a varuint, then the bytes. */
export function dataBytes(v: Uint8Array): number {
  return varuintBytes(v.length) + v.length;
}

/** `Writer.nullableData`: null is its two-byte marker. */
export function nullableDataBytes(v: Uint8Array | null): number {
  return v === null ? nullDataMarker.length : dataBytes(v);
}

/**
 * 64-bit fields and floats go through one 8-byte DataView shared by every Writer and Reader,
 * their bytes copied to or from the buffer: Buffer's BigInt writers do their arithmetic in
 * JS, and a DataView over each message's buffer costs more to make (about 140 ns) than the
 * copy of 8 bytes (a few ns), for nearly every message (zxids, session ids).
 */
const scratch = new DataView(new ArrayBuffer(8));
const scratchBytes = new Uint8Array(scratch.buffer);

/**
 * The smallest kept encoding a Writer with parts references rather than copies: below it, an
 * extra part in a socket's writev costs more than the copy.
 */
export const keptPartMinBytes = 4096;

/**
 * What a Writer references rather than copies (see `Writer.parts()`): nothing; kept
 * transaction encodings; or those and znode data too, each of keptPartMinBytes or more. Data
 * may be referenced only where no encoding is kept of what holds them (`copyFrom` refuses to
 * copy across a part): a snapshot chunk's nodes, never a transaction's.
 */
export type WriterParts = 'none' | 'kept' | 'keptAndData';

/** Appends encodings to a growing buffer. */
export class Writer {
  buf: Buffer;
  /** The same bytes as a plain Uint8Array, for copies that need not be Buffers; made on first use. */
  private plainView: Uint8Array | undefined;
  pos: number;
  /**
   * With parts, the encoding so far in order, but for the bytes of `buf` from `partStart` on:
   * pieces of `buf` and the kept encodings between them, referenced, not copied.
   */
  private readonly taken: Uint8Array[] | undefined;
  private partStart = 0;
  /** True when large znode data are referenced as parts, as large kept encodings are. */
  private readonly dataParts: boolean;

  /**
   * @param reserve - spare leading bytes left for the caller (a frame's length prefix)
   * @param parts - what to reference rather than copy, from keptPartMinBytes on (see `parts()`)
   * @param into - a buffer to write into, when it holds `initialBytes` (see `bytes()`)
   */
  constructor(initialBytes: number, reserve: number, parts: WriterParts = 'none', into?: Uint8Array) {
    // Into the caller's buffer when it is large enough: a record encoded into one buffer reused
    // from write to write. Should the encoding outgrow it, it grows into a buffer of its own.
    this.buf =
      into !== undefined && into.length >= Math.max(initialBytes, reserve + 16)
        ? Buffer.from(into.buffer, into.byteOffset, into.byteLength)
        : Buffer.allocUnsafe(Math.max(initialBytes, reserve + 16));
    this.pos = reserve;
    this.taken = parts === 'none' ? undefined : [];
    this.dataParts = parts === 'keptAndData';
  }

  /**
   * What was written, reserved bytes included, as parts whose concatenation is the encoding:
   * the first always starts with the reserved bytes; a large kept encoding (or znode data, as
   * asked) is a part of its own (shared: nobody may write to it).
   */
  parts(): [Buffer, ...Uint8Array[]] {
    const last = this.buf.subarray(this.partStart, this.pos);
    if (this.taken === undefined || this.taken.length === 0) return [last];
    return [this.taken[0] as Buffer, ...this.taken.slice(1), last];
  }

  private get plain(): Uint8Array {
    this.plainView ??= new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    return this.plainView;
  }

  /** Appends the 8 bytes set in `scratch` (room ensured by the caller). */
  private scratch8(): void {
    const buf = this.buf;
    const at = this.pos;
    for (let i = 0; i < 8; i++) buf[at + i] = scratchBytes[i]!;
    this.pos = at + 8;
  }

  /** What was written, after the reserved bytes (a view, not a copy). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  fail(path: string, problem: string): PeerCodecError {
    return new PeerCodecError(path, problem);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
    this.plainView = undefined;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  /** A non-negative integer below 2^49 (lengths and tags only: callers pass checked values). */
  varuint(v: number): void {
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /** An integer in min..max; -0 is written as 0 (they are the same integer). */
  int(v: number, path: string, min: number, max: number): void {
    if (Number.isInteger(v) && v >= -int32Limit && v < int32Limit) {
      if (v < min || v > max) throw this.fail(path, `${v} is not an integer in ${min}..${max}`);
      this.varuint((v >= 0 ? v * 2 : -v * 2 - 1) + 1);
      return;
    }
    if (!Number.isInteger(v) || v < min || v > max)
      throw this.fail(path, `${String(v)} is not an integer in ${min}..${max}`);
    this.ensure(9);
    this.buf[this.pos++] = 0;
    scratch.setFloat64(0, v);
    this.scratch8();
  }

  bool(v: boolean, path: string): void {
    if (typeof v !== 'boolean') throw this.fail(path, `${String(v)} is not a boolean`);
    this.u8(v ? 1 : 0);
  }

  zxid(v: Zxid, path: string): void {
    if (typeof v !== 'bigint' || v < 0n || v > uint64Max)
      throw this.fail(path, `${String(v)} is not a zxid (0..2^64-1)`);
    this.ensure(8);
    scratch.setBigUint64(0, v);
    this.scratch8();
  }

  /** A signed 64-bit value: session ids, ephemeral owners, TTLs. */
  int64(v: bigint, path: string): void {
    if (typeof v !== 'bigint' || v < int64Min || v > int64Max)
      throw this.fail(path, `${String(v)} is not a signed 64-bit integer`);
    this.ensure(9);
    this.buf[this.pos++] = int64Tag;
    scratch.setBigInt64(0, v);
    this.scratch8();
  }

  string(v: string, path: string): void {
    if (typeof v !== 'string') throw this.fail(path, `${String(v)} is not a string`);
    // A short ASCII string (a path, a name) is copied here: for it, Buffer's byteLength and
    // write, two calls into C++ each, cost more than the loop (a third of encoding a snapshot).
    if (v.length <= shortAsciiMax && this.asciiWritten(v)) return;
    const length = Buffer.byteLength(v, 'utf8');
    this.varuint(length);
    this.ensure(length);
    this.pos += this.buf.write(v, this.pos, length, 'utf8');
  }

  /** Writes `v` (at most shortAsciiMax code units) when it is all ASCII; false, nothing written, when not. */
  private asciiWritten(v: string): boolean {
    const length = v.length;
    this.ensure(length + 1);
    const buf = this.buf;
    let at = this.pos + 1;
    for (let i = 0; i < length; i++) {
      const code = v.charCodeAt(i);
      if (code >= 0x80) return false;
      buf[at++] = code;
    }
    // The length as a varuint: one byte, below 0x80.
    buf[this.pos] = length;
    this.pos = at;
    return true;
  }

  data(v: Uint8Array, path: string): void {
    if (!(v instanceof Uint8Array)) throw this.fail(path, `${String(v)} is not a Uint8Array`);
    this.varuint(v.length);
    if (this.dataParts) this.kept(v);
    else this.raw(v);
  }

  /** Znode data: bytes, or null as the marker no length is written as. */
  nullableData(v: Uint8Array | null, path: string): void {
    if (v !== null) {
      this.data(v, path);
      return;
    }
    this.u8(nullDataMarker[0]);
    this.u8(nullDataMarker[1]);
  }

  /** A list's length; its elements follow. */
  listLength(v: readonly unknown[], path: string): void {
    if (!Array.isArray(v)) throw this.fail(path, `${String(v)} is not a list`);
    this.varuint(v.length);
  }

  /** Bytes as they are, no length. */
  raw(v: Uint8Array): void {
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /**
   * A kept encoding, as `raw` writes it; a Writer with parts references a large one instead
   * of copying it (its length is already known, so nothing written before needs it).
   */
  kept(v: Uint8Array): void {
    if (this.taken === undefined || v.length < keptPartMinBytes) {
      this.raw(v);
      return;
    }
    // The first part is always a piece of buf: the reserved bytes are written there.
    if (this.pos > this.partStart || this.taken.length === 0)
      this.taken.push(this.buf.subarray(this.partStart, this.pos));
    this.taken.push(v);
    this.partStart = this.pos;
  }

  /** A copy of what was written from `start` on. */
  copyFrom(start: number): Uint8Array {
    // Bytes before partStart may be elsewhere (another part): never the case, as no kept
    // encoding is written inside the value it would be kept for.
    if (start < this.partStart) throw new RangeError('copyFrom across a referenced part');
    return this.plain.slice(start, this.pos);
  }
}

/** Reads encodings back, checking each against its field's range and the limits. */
export class Reader {
  private pos = 0;
  /**
   * The same bytes as a plain Uint8Array: its slices are plain Uint8Arrays, one allocation
   * each, where a Buffer's go through Buffer's constructor. Made on first use.
   */
  private plainView: Uint8Array | undefined;

  /**
   * `dataViews`: znode data are views of `buf` rather than copies, for records whose data
   * should share one allocation (a snapshot chunk loaded at start-up); they keep `buf` alive.
   */
  constructor(
    private readonly buf: Buffer,
    readonly limits: PeerCodecLimits,
    private readonly dataViews = false,
  ) {}

  /** Copies the next 8 bytes (there, as checked by the caller) into `scratch`. */
  private scratch8(): void {
    const buf = this.buf;
    const at = this.pos;
    for (let i = 0; i < 8; i++) scratchBytes[i] = buf[at + i]!;
    this.pos = at + 8;
  }

  private get plain(): Uint8Array {
    this.plainView ??= new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    return this.plainView;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  /**
   * What was read last at a `repeating` schema's place (one place: a record has one such
   * field, or its places take turns and each read decodes), with the bytes it was read from.
   */
  private repeatSite: object | undefined;
  private repeatStart = 0;
  private repeatEnd = 0;
  private repeatValue: unknown;

  /**
   * The value read last at `site`, when the bytes from here on repeat its bytes (they are
   * then passed over); undefined otherwise.
   */
  repeated<T>(site: object): T | undefined {
    if (this.repeatSite !== site) return undefined;
    const from = this.repeatStart;
    const length = this.repeatEnd - from;
    const at = this.pos;
    if (at + length > this.buf.length) return undefined;
    const buf = this.buf;
    for (let i = 0; i < length; i++) if (buf[at + i] !== buf[from + i]) return undefined;
    this.pos = at + length;
    return this.repeatValue as T;
  }

  /** Remembers `value`, read at `site` from `start` to here, for `repeated`. */
  remember(site: object, start: number, value: unknown): void {
    this.repeatSite = site;
    this.repeatStart = start;
    this.repeatEnd = this.pos;
    this.repeatValue = value;
  }

  /** Where the next read starts. */
  get position(): number {
    return this.pos;
  }

  fail(path: string, problem: string): PeerCodecError {
    return new PeerCodecError(path, problem);
  }

  /**
   * What was read from `start` on: a copy, or a view where that keeps little else alive (see
   * `worthAView`), or where the reader was made with `dataViews` (a log record read at
   * start-up: the encodings kept of its transactions are all of it but its framing, so views
   * keep no more alive than copies would hold, without an ArrayBuffer each).
   */
  copyFrom(start: number): Uint8Array {
    return this.dataViews || this.worthAView(this.pos - start)
      ? this.plain.subarray(start, this.pos)
      : this.plain.slice(start, this.pos);
  }

  /**
   * True when `length` bytes are at least three quarters of the memory a view of them keeps
   * alive (the whole ArrayBuffer under what is read). Values are copied out so that a small
   * one never pins a large frame or record; but a large znode's data, or a large transaction's
   * encoding, in a frame that carries little else would be copied for nothing: the copy
   * doubles the bytes and costs a pass over them, where the view keeps at most a third more
   * than its own bytes alive. Nothing writes into a decoded frame or record afterwards: each
   * comes in a buffer of its own (a socket read, a frame put together, a database value).
   */
  private worthAView(length: number): boolean {
    return length > 0 && length * 4 >= this.buf.buffer.byteLength * 3;
  }

  private need(n: number, path: string): void {
    if (this.pos + n > this.buf.length) throw this.fail(path, 'truncated');
  }

  /** Every byte read: what is left over is not part of any message. */
  done(): void {
    if (this.pos !== this.buf.length) throw this.fail('', `${this.remaining} trailing bytes`);
  }

  u8(path: string): number {
    this.need(1, path);
    return this.buf[this.pos++]!;
  }

  /** Seven groups give 49 bits: every length and zigzagged int32 fits, and garbage stops early. */
  varuint(path: string): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      const byte = this.u8(path);
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) throw this.fail(path, 'varint with a redundant zero group');
        return result;
      }
      scale *= 0x80;
    }
    throw this.fail(path, 'varint too long');
  }

  int(path: string, min: number, max: number): number {
    const v = this.varuint(path);
    let value: number;
    if (v !== 0) {
      const z = v - 1;
      value = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      if (value < -int32Limit || value >= int32Limit)
        throw this.fail(path, `${value} beyond int32 written as a varint`);
    } else {
      this.need(8, path);
      this.scratch8();
      value = scratch.getFloat64(0);
      if (!Number.isInteger(value)) throw this.fail(path, `${value} is not an integer`);
      if (value >= -int32Limit && value < int32Limit)
        throw this.fail(path, `${Object.is(value, -0) ? '-0' : value} written as a float64`);
    }
    if (value < min || value > max) throw this.fail(path, `${value} is not in ${min}..${max}`);
    return value;
  }

  bool(path: string): boolean {
    const v = this.u8(path);
    if (v > 1) throw this.fail(path, `${v} is not a boolean (0 or 1)`);
    return v === 1;
  }

  /**
   * The zxid read last, as its two 32-bit halves and its value: a zxid whose bytes repeat the
   * last one's is that same BigInt, not a new one. A snapshot node's czxid, mzxid and pzxid
   * are one zxid for most znodes (created and never changed, no children): a million-znode
   * restart then makes a million BigInts fewer, where two of every three were garbage.
   */
  private lastZxidHigh = -1;
  private lastZxidLow = -1;
  private lastZxid: Zxid = 0n as Zxid;

  zxid(path: string): Zxid {
    this.need(8, path);
    const buf = this.buf;
    const at = this.pos;
    const high = buf.readUInt32BE(at);
    const low = buf.readUInt32BE(at + 4);
    if (high === this.lastZxidHigh && low === this.lastZxidLow) {
      this.pos = at + 8;
      return this.lastZxid;
    }
    this.scratch8();
    const value = scratch.getBigUint64(0) as Zxid;
    this.lastZxidHigh = high;
    this.lastZxidLow = low;
    this.lastZxid = value;
    return value;
  }

  int64(path: string): bigint {
    const tag = this.u8(path);
    if (tag !== int64Tag)
      throw this.fail(path, `bigint tag ${tag} (only ${int64Tag}, signed 64-bit, is written)`);
    this.need(8, path);
    const buf = this.buf;
    const at = this.pos;
    // Zero (no ephemeral owner, no TTL) is nearly every value read: the literal, no allocation.
    if (buf.readUInt32BE(at) === 0 && buf.readUInt32BE(at + 4) === 0) {
      this.pos = at + 8;
      return 0n;
    }
    this.scratch8();
    const value = scratch.getBigInt64(0);
    return value;
  }

  private length(path: string, max: number, maxName: string): number {
    const length = this.varuint(path);
    if (length > max) throw this.fail(path, `length ${length} is more than ${maxName} (${max})`);
    this.need(length, path);
    return length;
  }

  /** UTF-8, checked: bytes that are not UTF-8 were never written by an encoder of strings. */
  string(path: string): string {
    const length = this.length(path, this.limits.stringBytesMax, 'stringBytesMax');
    const start = this.pos;
    const end = start + length;
    const buf = this.buf;
    let ascii = length <= asciiScanBytesMax;
    if (ascii) {
      for (let i = start; i < end; i++) {
        if (buf[i]! >= 0x80) {
          ascii = false;
          break;
        }
      }
    }
    if (!ascii && !isUtf8(buf.subarray(start, end))) throw this.fail(path, 'not UTF-8');
    this.pos = end;
    return buf.toString(ascii ? 'latin1' : 'utf8', start, end);
  }

  /**
   * Copies, so a decoded message never pins the (possibly huge) frame it came from; a view
   * when the reader was made with `dataViews`, or when the data are most of that frame
   * (`worthAView`).
   */
  data(path: string): Uint8Array {
    const length = this.length(path, this.limits.dataBytesMax, 'dataBytesMax');
    const value =
      this.dataViews || this.worthAView(length)
        ? this.plain.subarray(this.pos, this.pos + length)
        : this.plain.slice(this.pos, this.pos + length);
    this.pos += length;
    return value;
  }

  /** Znode data: bytes, or null where the marker stands. */
  nullableData(path: string): Uint8Array | null {
    if (this.buf[this.pos] === nullDataMarker[0] && this.buf[this.pos + 1] === nullDataMarker[1]) {
      this.pos += 2;
      return null;
    }
    return this.data(path);
  }

  /** Every element takes at least one byte, so a count above the bytes left is garbage. */
  listLength(path: string): number {
    const count = this.varuint(path);
    if (count > this.limits.listLengthMax)
      throw this.fail(path, `list of ${count}, more than listLengthMax (${this.limits.listLengthMax})`);
    if (count > this.remaining) throw this.fail(path, `list of ${count} in ${this.remaining} bytes`);
    return count;
  }
}
