/**
 * Jute's binary encoding over Uint8Array and DataView: big-endian ints and longs, one-byte
 * booleans, length-prefixed UTF-8 strings and buffers (-1 for null), count-prefixed vectors.
 * The reader checks every length against what is left, so hostile input fails with a
 * WireDecodeError instead of a RangeError or a huge allocation.
 */
import { decodeUtf8, encodeUtf8 } from '@zabkit/core';
import { WireDecodeError } from './errors.js';

const emptyBytes = new Uint8Array(0);

/** Reads jute fields in order from one record or frame. */
export class JuteReader {
  private readonly view: DataView;
  private position: number;

  constructor(
    private readonly bytes: Uint8Array,
    offset = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.position = offset;
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.position;
  }

  /** Bytes left unread. */
  get remaining(): number {
    return this.bytes.length - this.position;
  }

  private need(count: number, what: string): void {
    if (count > this.bytes.length - this.position) {
      throw new WireDecodeError(`truncated ${what}: need ${count} bytes, ${this.remaining} left`);
    }
  }

  /** A 32-bit signed int. */
  int(): number {
    this.need(4, 'int');
    const value = this.view.getInt32(this.position);
    this.position += 4;
    return value;
  }

  /** A 64-bit signed long, as Java holds it. */
  long(): bigint {
    this.need(8, 'long');
    const value = this.view.getBigInt64(this.position);
    this.position += 8;
    return value;
  }

  /** A 64-bit long read as unsigned: the same bits, for values core keeps non-negative (zxids). */
  ulong(): bigint {
    this.need(8, 'long');
    const value = this.view.getBigUint64(this.position);
    this.position += 8;
    return value;
  }

  /** One byte; any non-zero byte is true, as Java's DataInput.readBoolean has it. */
  boolean(): boolean {
    this.need(1, 'boolean');
    return this.bytes[this.position++] !== 0;
  }

  /** A length prefix: -1 means null; any other negative, or more than is left, is malformed. */
  private length(what: string): number {
    const length = this.int();
    if (length === -1) return -1;
    if (length < 0) throw new WireDecodeError(`negative ${what} length ${length}`);
    this.need(length, what);
    return length;
  }

  /** Length-prefixed UTF-8, or null. Invalid UTF-8 decodes with replacement characters, as Java does. */
  ustring(): string | null {
    const length = this.length('ustring');
    if (length === -1) return null;
    const text = decodeUtf8(this.bytes.subarray(this.position, this.position + length));
    this.position += length;
    return text;
  }

  /** A ustring where null carries no meaning of its own: null reads as ''. */
  string(): string {
    return this.ustring() ?? '';
  }

  /** Length-prefixed bytes, or null. Copied, so a retained value does not pin the whole frame. */
  buffer(): Uint8Array | null {
    const length = this.length('buffer');
    if (length === -1) return null;
    const bytes = this.bytes.slice(this.position, this.position + length);
    this.position += length;
    return bytes;
  }

  /** A buffer where null carries no meaning of its own: null reads as empty. */
  bytesOrEmpty(): Uint8Array {
    return this.buffer() ?? emptyBytes.slice();
  }

  /**
   * A count-prefixed vector, or null. The count is bounded by the bytes left (every jute
   * element takes at least one byte), so a hostile count cannot make a long loop.
   */
  vector<T>(element: (reader: JuteReader) => T): T[] | null {
    const count = this.int();
    if (count === -1) return null;
    if (count < 0) throw new WireDecodeError(`negative vector count ${count}`);
    if (count > this.remaining) throw new WireDecodeError(`vector count ${count} exceeds the bytes left`);
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(element(this));
    return items;
  }

  /** A vector where null carries no meaning of its own: null reads as []. */
  list<T>(element: (reader: JuteReader) => T): T[] {
    return this.vector(element) ?? [];
  }

  /** A vector<ustring> with nulls read as ''. */
  strings(): string[] {
    return this.list((reader) => reader.string());
  }
}

/** Writes jute fields into a buffer that grows geometrically. */
export class JuteWriter {
  private bytes: Uint8Array;
  private view: DataView;
  private position: number;
  private readonly framed: boolean;

  /** `framed` reserves the 4-byte length prefix that `finish` fills in. */
  constructor(options: { framed?: boolean; initialCapacity?: number } = {}) {
    this.framed = options.framed ?? false;
    this.bytes = new Uint8Array(Math.max(16, options.initialCapacity ?? 256));
    this.view = new DataView(this.bytes.buffer);
    this.position = this.framed ? 4 : 0;
  }

  /** Bytes written so far (the length prefix included when framed). */
  get length(): number {
    return this.position;
  }

  private reserve(count: number): void {
    const needed = this.position + count;
    if (needed <= this.bytes.length) return;
    let capacity = this.bytes.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.bytes.subarray(0, this.position));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  /** A 32-bit int; values outside the int32 range wrap as Java's cast would. */
  int(value: number): this {
    this.reserve(4);
    this.view.setInt32(this.position, value | 0);
    this.position += 4;
    return this;
  }

  /** A 64-bit long; accepts signed or unsigned bigints and writes their low 64 bits. */
  long(value: bigint): this {
    this.reserve(8);
    this.view.setBigInt64(this.position, BigInt.asIntN(64, value));
    this.position += 8;
    return this;
  }

  /** A millisecond time carried as a long; fractions are dropped and non-finite values write 0. */
  time(value: number): this {
    return this.long(Number.isFinite(value) ? BigInt(Math.trunc(value)) : 0n);
  }

  /** One byte: 1 for true, 0 for false. */
  boolean(value: boolean): this {
    this.reserve(1);
    this.bytes[this.position++] = value ? 1 : 0;
    return this;
  }

  /** Raw bytes, no length prefix. */
  raw(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.bytes.set(bytes, this.position);
    this.position += bytes.length;
    return this;
  }

  /** Length-prefixed UTF-8; null writes -1. */
  ustring(value: string | null): this {
    if (value === null) return this.int(-1);
    const encoded = encodeUtf8(value);
    return this.int(encoded.length).raw(encoded);
  }

  /** Length-prefixed bytes; null writes -1. */
  buffer(value: Uint8Array | null): this {
    if (value === null) return this.int(-1);
    return this.int(value.length).raw(value);
  }

  /** Count-prefixed elements; null writes -1. */
  vector<T>(items: readonly T[] | null, element: (writer: JuteWriter, item: T) => void): this {
    if (items === null) return this.int(-1);
    this.int(items.length);
    for (const item of items) element(this, item);
    return this;
  }

  /** A vector<ustring>. */
  strings(items: readonly string[]): this {
    return this.vector(items, (writer, item) => writer.ustring(item));
  }

  /**
   * Starts a frame in a writer that gathers several (one socket write for many replies):
   * reserves its length prefix and returns where the frame starts, for `endFrame`.
   */
  beginFrame(): number {
    const at = this.position;
    this.reserve(4);
    this.position += 4;
    return at;
  }

  /** Fills in the length prefix of the frame `beginFrame` started at `at`. */
  endFrame(at: number): void {
    this.view.setInt32(at, this.position - at - 4);
  }

  /**
   * Hands over the bytes written (no copy: the writer moves on to a fresh buffer of
   * `capacity` bytes, by default as large as the last) and starts again from empty. For
   * unframed writers gathering frames.
   */
  take(capacity: number = this.bytes.length): Uint8Array {
    const written = this.bytes.subarray(0, this.position);
    this.bytes = new Uint8Array(Math.max(16, capacity));
    this.view = new DataView(this.bytes.buffer);
    this.position = this.framed ? 4 : 0;
    return written;
  }

  /** The bytes written, as a fresh array; when framed, with the length prefix filled in. */
  finish(): Uint8Array {
    if (this.framed) this.view.setInt32(0, this.position - 4);
    return this.bytes.slice(0, this.position);
  }
}
