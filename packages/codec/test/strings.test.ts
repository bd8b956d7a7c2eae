import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Reader, Writer } from '../src/bytes.js';
import { defaultPeerCodecLimits } from '../src/limits.js';

/** A string as the format writes it: its UTF-8 length as a varuint, then its UTF-8 bytes. */
function expected(v: string): Uint8Array {
  const utf8 = Buffer.from(v, 'utf8');
  const length: number[] = [];
  for (let n = utf8.length; ; n = Math.floor(n / 0x80)) {
    if (n < 0x80) {
      length.push(n);
      break;
    }
    length.push((n % 0x80) | 0x80);
  }
  return Buffer.concat([Buffer.from(length), utf8]);
}

function written(v: string): Uint8Array {
  const w = new Writer(4, 0);
  w.string(v, 'path');
  return w.bytes();
}

describe('strings', () => {
  it('are written as UTF-8 with their byte length, short ASCII ones (copied in a loop) as the rest', () => {
    const edges = [
      '',
      '/',
      'x'.repeat(127),
      'x'.repeat(128),
      `${'x'.repeat(126)}\u007f`,
      `${'x'.repeat(126)}\u0080`,
      `/a${'\u00e9'}`,
      '\u20ac/zookeeper',
      `${'y'.repeat(60)}\u{1f600}`,
    ];
    const arb = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: 'binary', maxLength: 140 }),
      fc.constantFrom(...edges),
    );
    fc.assert(
      fc.property(fc.array(arb, { maxLength: 6 }), (strings) => {
        const w = new Writer(2, 0);
        for (const s of strings) w.string(s, 'path');
        expect(Buffer.from(w.bytes())).toEqual(Buffer.concat(strings.map(expected)));
        const r = new Reader(w.bytes(), defaultPeerCodecLimits);
        for (const s of strings) expect(r.string('path')).toBe(s);
        r.done();
      }),
      { numRuns: 500 },
    );
    for (const s of edges) expect(Buffer.from(written(s))).toEqual(Buffer.from(expected(s)));
  });
});
