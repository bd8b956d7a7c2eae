/**
 * Framing: every message is an int32 big-endian length and a payload. The decoder keeps one
 * growable buffer with a read offset, so many small chunks cost linear copying, and checks
 * each length as soon as its 4 bytes arrive, before buffering a hostile frame's body.
 */
import { defaultMaxFrameBytes } from './constants.js';
import { FrameTooLargeError, WireDecodeError } from './errors.js';

/** Splits a byte stream into frame payloads. After it throws, it keeps throwing: the stream is lost. */
export class FrameDecoder {
  private buffer = new Uint8Array(0);
  private start = 0;
  private end = 0;
  private failure: WireDecodeError | undefined;

  /** `maxFrameBytes` is jute.maxbuffer: the largest payload accepted (ZooKeeper's default 0xfffff). */
  constructor(readonly maxFrameBytes: number = defaultMaxFrameBytes) {}

  /** Bytes received but not yet returned as a frame. */
  get pending(): number {
    return this.end - this.start;
  }

  /**
   * Adds a chunk and returns the payloads of every frame it completes, in order. A frame that
   * lies wholly inside `chunk` is returned as a view of it, not copied (a socket's chunk is its
   * own, and the decoders copy what they keep): the caller must not change `chunk` afterwards.
   * Frames that span chunks are copied.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failure !== undefined) throw this.failure;
    const frames: Uint8Array[] = [];
    // Nothing buffered: the chunk's whole frames are taken from it in place, and only the
    // partial frame at its end (if any) is buffered.
    if (this.start === this.end) chunk = chunk.subarray(this.takeWhole(chunk, frames));
    if (chunk.length === 0) return frames;
    this.append(chunk);
    while (this.end - this.start >= 4) {
      const b = this.buffer;
      const s = this.start;
      const length = (b[s]! << 24) | (b[s + 1]! << 16) | (b[s + 2]! << 8) | b[s + 3]! | 0;
      if (length < 0) this.fail(new WireDecodeError(`negative frame length ${length}`));
      if (length > this.maxFrameBytes) this.fail(new FrameTooLargeError(length, this.maxFrameBytes));
      if (this.end - s - 4 < length) break;
      frames.push(b.slice(s + 4, s + 4 + length));
      this.start = s + 4 + length;
    }
    if (this.start === this.end) this.start = this.end = 0;
    return frames;
  }

  /** Takes the whole frames at the start of `chunk` as views into `frames`; returns where they end. */
  private takeWhole(chunk: Uint8Array, frames: Uint8Array[]): number {
    let at = 0;
    while (chunk.length - at >= 4) {
      const length = (chunk[at]! << 24) | (chunk[at + 1]! << 16) | (chunk[at + 2]! << 8) | chunk[at + 3]! | 0;
      if (length < 0) this.fail(new WireDecodeError(`negative frame length ${length}`));
      if (length > this.maxFrameBytes) this.fail(new FrameTooLargeError(length, this.maxFrameBytes));
      if (chunk.length - at - 4 < length) break;
      // A plain Uint8Array over the chunk's bytes, even when the chunk is a Buffer: the
      // decoders copy with slice, which on a Buffer would make a view instead.
      frames.push(new Uint8Array(chunk.buffer, chunk.byteOffset + at + 4, length));
      at += 4 + length;
    }
    return at;
  }

  private fail(error: WireDecodeError): never {
    this.failure = error;
    throw error;
  }

  private append(chunk: Uint8Array): void {
    const live = this.end - this.start;
    if (this.end + chunk.length > this.buffer.length) {
      const needed = live + chunk.length;
      if (needed <= this.buffer.length / 2) {
        // Plenty of room once the consumed prefix is dropped: slide the live bytes down.
        this.buffer.copyWithin(0, this.start, this.end);
      } else {
        let capacity = Math.max(256, this.buffer.length * 2);
        while (capacity < needed) capacity *= 2;
        const grown = new Uint8Array(capacity);
        grown.set(this.buffer.subarray(this.start, this.end));
        this.buffer = grown;
      }
      this.start = 0;
      this.end = live;
    }
    this.buffer.set(chunk, this.end);
    this.end += chunk.length;
  }
}

/** Every four-letter word ZooKeeper knows; a server answers those its whitelist allows. */
export const fourLetterWords: ReadonlySet<string> = new Set([
  'conf',
  'cons',
  'crst',
  'dirs',
  'dump',
  'envi',
  'gtmk',
  'ruok',
  'stmk',
  'srvr',
  'srst',
  'stat',
  'wchc',
  'wchp',
  'wchs',
  'mntr',
  'isro',
  'hash',
]);

/**
 * The four-letter word a connection's first 4 bytes spell, or undefined. No word can be
 * mistaken for a frame: read as a length, each is far above jute.maxbuffer.
 */
export function fourLetterWordOf(first4: Uint8Array): string | undefined {
  if (first4.length < 4) return undefined;
  const word = String.fromCharCode(first4[0]!, first4[1]!, first4[2]!, first4[3]!);
  return fourLetterWords.has(word) ? word : undefined;
}
