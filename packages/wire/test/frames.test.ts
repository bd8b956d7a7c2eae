import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeRequest,
  FrameDecoder,
  FrameTooLargeError,
  fourLetterWordOf,
  WireDecodeError,
} from '../src/index.js';

function frameOf(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(4 + payload.length);
  new DataView(frame.buffer).setInt32(0, payload.length);
  frame.set(payload, 4);
  return frame;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const payloads = [
  new Uint8Array(0),
  Uint8Array.of(1, 2, 3),
  encodeRequest(5, { op: 'exists', path: '/a/b', watch: true }).subarray(4),
  new Uint8Array(300).map((_, i) => i & 0xff),
];
const stream = concat(payloads.map(frameOf));

describe('FrameDecoder', () => {
  it('returns a frame inside one chunk as a view of it, and copies one that spans chunks', () => {
    const first = frameOf(new Uint8Array([1, 2, 3]));
    const second = frameOf(new Uint8Array([4, 5, 6, 7]));
    const chunk = concat([first, second.subarray(0, 6)]);
    const decoder = new FrameDecoder();
    const [inside] = decoder.push(chunk);
    expect(inside).toEqual(new Uint8Array([1, 2, 3]));
    // A view: no copy was made of the chunk's bytes.
    expect(inside!.buffer).toBe(chunk.buffer);
    const rest = second.subarray(6);
    const [spanning] = decoder.push(rest);
    expect(spanning).toEqual(new Uint8Array([4, 5, 6, 7]));
    // Copied out of the decoder: later chunks cannot change it.
    chunk.fill(0);
    rest.fill(0);
    expect(spanning).toEqual(new Uint8Array([4, 5, 6, 7]));
    expect(decoder.pending).toBe(0);
  });

  it('returns plain Uint8Arrays from a Buffer chunk, so that slicing one copies', () => {
    const chunk = Buffer.from(frameOf(new Uint8Array([9, 8, 7])));
    const [frame] = new FrameDecoder().push(chunk);
    expect(Buffer.isBuffer(frame)).toBe(false);
    const copy = frame!.slice(0, 2);
    chunk.fill(0);
    expect(copy).toEqual(new Uint8Array([9, 8]));
  });

  it('splits the stream correctly at every byte boundary', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new FrameDecoder();
      const frames = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
      expect(frames).toEqual(payloads);
      expect(decoder.pending).toBe(0);
    }
  });

  it('splits correctly at every pair of boundaries', () => {
    for (let a = 0; a <= stream.length; a += 7) {
      for (let b = a; b <= stream.length; b += 11) {
        const decoder = new FrameDecoder();
        const frames = [
          ...decoder.push(stream.subarray(0, a)),
          ...decoder.push(stream.subarray(a, b)),
          ...decoder.push(stream.subarray(b)),
        ];
        expect(frames).toEqual(payloads);
      }
    }
  });

  it('reassembles byte-by-byte and random chunkings', () => {
    const decoder = new FrameDecoder();
    const frames: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i++) frames.push(...decoder.push(stream.subarray(i, i + 1)));
    expect(frames).toEqual(payloads);
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 30 }),
        (parts, sizes) => {
          const bytes = concat(parts.map(frameOf));
          const d = new FrameDecoder();
          const out: Uint8Array[] = [];
          let offset = 0;
          let i = 0;
          while (offset < bytes.length) {
            const size = sizes[i++ % sizes.length]!;
            out.push(...d.push(bytes.subarray(offset, offset + size)));
            offset += size;
          }
          expect(out).toEqual(parts);
          expect(d.pending).toBe(0);
        },
      ),
    );
  });

  it('returns copies that later pushes do not overwrite', () => {
    const decoder = new FrameDecoder();
    const [first] = decoder.push(frameOf(Uint8Array.of(9, 9, 9)));
    decoder.push(frameOf(Uint8Array.of(1, 1, 1)).subarray(0, 5));
    decoder.push(new Uint8Array(1000));
    expect(first).toEqual(Uint8Array.of(9, 9, 9));
  });

  it('refuses a frame above maxFrameBytes as soon as its length arrives, and stays failed', () => {
    const decoder = new FrameDecoder(100);
    expect(decoder.push(frameOf(new Uint8Array(100)))).toHaveLength(1);
    const header = new Uint8Array(4);
    new DataView(header.buffer).setInt32(0, 101);
    expect(() => decoder.push(header)).toThrow(FrameTooLargeError);
    expect(() => decoder.push(new Uint8Array(0))).toThrow(FrameTooLargeError);
  });

  it('defaults to jute.maxbuffer (0xfffff)', () => {
    const decoder = new FrameDecoder();
    expect(decoder.maxFrameBytes).toBe(0xfffff);
    const header = new Uint8Array(4);
    new DataView(header.buffer).setInt32(0, 0x100000);
    expect(() => decoder.push(header)).toThrow(FrameTooLargeError);
  });

  it('refuses a negative length', () => {
    const error = (() => {
      try {
        new FrameDecoder().push(Uint8Array.of(0xff, 0xff, 0xff, 0xfe));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(WireDecodeError);
    expect(error).not.toBeInstanceOf(FrameTooLargeError);
  });

  it('assembles a large frame from one-byte chunks in linear time', () => {
    const payload = new Uint8Array(0x3ffff).map((_, i) => (i * 7) & 0xff);
    const bytes = frameOf(payload);
    const decoder = new FrameDecoder();
    const started = performance.now();
    let frames: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const got = decoder.push(bytes.subarray(i, i + 1));
      if (got.length > 0) frames = got;
    }
    expect(frames).toHaveLength(1);
    expect(frames[0]).toEqual(payload);
    // Quadratic copying would move ~3e10 bytes here; linear copying takes well under a few seconds.
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('compacts its buffer correctly over long runs of small, distinct frames', () => {
    const count = 20_000;
    const parts = Array.from({ length: count }, (_, i) => Uint8Array.of((i * 31) & 0xff, i >> 8, i & 0xff));
    const bytes = concat(parts.map(frameOf));
    const decoder = new FrameDecoder();
    const out: Uint8Array[] = [];
    // A 5-byte first chunk, then 7-byte chunks against 7-byte frames: every push ends with the
    // next frame's header and first payload byte, so the buffer never empties and must slide
    // its live bytes (which differ from frame to frame) down.
    for (let offset = 0, i = 0; offset < bytes.length; i++) {
      const size = i === 0 ? 5 : 7;
      out.push(...decoder.push(bytes.subarray(offset, offset + size)));
      offset += size;
    }
    expect(out).toEqual(parts);
    expect(decoder.pending).toBe(0);
  });
});

describe('fourLetterWordOf', () => {
  const ascii = (text: string) => new TextEncoder().encode(text);
  it('recognises every four-letter word ZooKeeper defines', () => {
    for (const word of 'conf cons crst dirs dump envi gtmk ruok stmk srvr srst stat wchc wchp wchs mntr isro hash'.split(
      ' ',
    )) {
      expect(fourLetterWordOf(ascii(word))).toBe(word);
    }
  });

  it('ignores anything else, including a real frame header and short input', () => {
    expect(fourLetterWordOf(ascii('RUOK'))).toBeUndefined();
    expect(fourLetterWordOf(ascii('kill'))).toBeUndefined();
    expect(fourLetterWordOf(ascii('ruo'))).toBeUndefined();
    expect(fourLetterWordOf(Uint8Array.of(0, 0, 0, 44))).toBeUndefined();
  });
});
