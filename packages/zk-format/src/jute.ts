/**
 * Jute, ZooKeeper's binary record encoding, as its BinaryInputArchive reads it from disk:
 * big-endian ints and longs, a length before each string and buffer (-1 for null), a count
 * before each vector. Lengths are checked the way ZooKeeper checks them (jute.maxbuffer plus
 * its extra size), and running out of input is a distinct error, because ZooKeeper's loader
 * gives the end of input its own meaning.
 */
import { ZkEndOfInput, ZkFormatError } from './errors.js';

/** jute.maxbuffer's default: 0xfffff bytes. */
export const juteMaxBufferDefault = 0xfffff;

/** The longest string or buffer ZooKeeper reads with a given jute.maxbuffer (it adds an extra size, at least 1024). */
export function juteLengthMax(juteMaxBufferBytes = juteMaxBufferDefault): number {
  return juteMaxBufferBytes + Math.max(1024, juteMaxBufferBytes);
}

const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

/** Reads jute values from bytes, naming the file and absolute offset in every error. */
export class JuteReader {
  /** Position within `bytes`. */
  position = 0;

  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly file: string,
    /** Offset of `bytes[0]` in the file, for error messages. */
    readonly baseOffset = 0,
    readonly lengthMax = juteLengthMax(),
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The absolute offset of the next byte in the file. */
  get offset(): number {
    return this.baseOffset + this.position;
  }

  /** Bytes left. */
  get remaining(): number {
    return this.bytes.length - this.position;
  }

  private need(count: number, what: string): void {
    if (this.position + count > this.bytes.length) throw new ZkEndOfInput(this.file, this.offset, what);
  }

  /** Throws a ZkFormatError at the current offset (or `at`). */
  fail(code: ZkFormatError['code'], reason: string, at = this.offset): never {
    throw new ZkFormatError(code, this.file, at, reason);
  }

  byte(what = 'a byte'): number {
    this.need(1, what);
    return this.bytes[this.position++]!;
  }

  /** Any non-zero byte is true, as Java's DataInput has it. */
  bool(what = 'a boolean'): boolean {
    return this.byte(what) !== 0;
  }

  int(what = 'an int'): number {
    this.need(4, what);
    const value = this.view.getInt32(this.position);
    this.position += 4;
    return value;
  }

  /** A signed 64-bit long, as Java holds it. */
  long(what = 'a long'): bigint {
    this.need(8, what);
    const value = this.view.getBigInt64(this.position);
    this.position += 8;
    return value;
  }

  private length(what: string): number | null {
    const at = this.offset;
    const length = this.int(`the length of ${what}`);
    if (length === -1) return null;
    if (length < 0 || length > this.lengthMax)
      this.fail('badLength', `unreasonable length ${length} for ${what} (ZooKeeper refuses it too)`, at);
    this.need(length, what);
    return length;
  }

  /** A buffer, or null for length -1. The bytes are a view into the input. */
  buffer(what = 'a buffer'): Uint8Array | null {
    const length = this.length(what);
    if (length === null) return null;
    // A copy: a view would keep a whole (64 MiB, preallocated) log file alive for one node.
    const value = new Uint8Array(this.bytes.subarray(this.position, this.position + length));
    this.position += length;
    return value;
  }

  /** A UTF-8 string, or null for length -1; malformed UTF-8 becomes U+FFFD, as in Java. */
  string(what = 'a string'): string | null {
    const bytes = this.buffer(what);
    return bytes === null ? null : utf8.decode(bytes);
  }

  /** A vector's element count, or null for -1. Java's reader reads other negative counts as empty. */
  vector(what = 'a vector'): number | null {
    const count = this.int(`the count of ${what}`);
    if (count === -1) return null;
    return Math.max(0, count);
  }
}

/** Writes jute values into a growing buffer. */
export class JuteWriter {
  private bytes = new Uint8Array(256);
  private view = new DataView(this.bytes.buffer);
  private length = 0;

  private reserve(count: number): void {
    if (this.length + count <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + count) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  byte(value: number): this {
    this.reserve(1);
    this.bytes[this.length++] = value & 0xff;
    return this;
  }

  bool(value: boolean): this {
    return this.byte(value ? 1 : 0);
  }

  int(value: number): this {
    this.reserve(4);
    this.view.setInt32(this.length, value | 0);
    this.length += 4;
    return this;
  }

  long(value: bigint): this {
    this.reserve(8);
    this.view.setBigInt64(this.length, BigInt.asIntN(64, value));
    this.length += 8;
    return this;
  }

  raw(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.bytes.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  buffer(value: Uint8Array | null): this {
    if (value === null) return this.int(-1);
    return this.int(value.length).raw(value);
  }

  string(value: string | null): this {
    return this.buffer(value === null ? null : utf8Encoder.encode(value));
  }

  /** Bytes written so far (a copy). */
  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }

  /** Bytes written so far (a view, valid until the next write). */
  peek(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

/** UTF-8 bytes of a string (Java's String.getBytes on a UTF-8 platform). */
export function utf8Bytes(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

const adlerModulus = 65521;
/** The most bytes summed before the modulus must be taken (zlib's NMAX). */
const adlerBlock = 5552;

/** Adler-32, the checksum of ZooKeeper's log entries and snapshots (java.util.zip.Adler32). */
export function adler32(bytes: Uint8Array, start = 1): number {
  let a = start & 0xffff;
  let b = (start >>> 16) & 0xffff;
  let i = 0;
  while (i < bytes.length) {
    const end = Math.min(bytes.length, i + adlerBlock);
    for (; i < end; i++) {
      a += bytes[i]!;
      b += a;
    }
    a %= adlerModulus;
    b %= adlerModulus;
  }
  return ((b << 16) | a) >>> 0;
}
