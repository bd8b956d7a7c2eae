import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JuteReader, JuteWriter, WireDecodeError } from '../src/index.js';

function reasonOf(read: () => unknown): string {
  try {
    read();
  } catch (error) {
    if (error instanceof WireDecodeError) return error.reason;
    throw error;
  }
  throw new Error('expected a WireDecodeError');
}

describe('JuteReader bounds', () => {
  it('refuses reads past the end', () => {
    expect(reasonOf(() => new JuteReader(new Uint8Array(3)).int())).toMatch(/truncated int/);
    expect(reasonOf(() => new JuteReader(new Uint8Array(7)).long())).toMatch(/truncated long/);
    expect(reasonOf(() => new JuteReader(new Uint8Array(0)).boolean())).toMatch(/truncated boolean/);
  });

  it('refuses negative lengths other than -1, and lengths beyond the bytes left', () => {
    const w = (length: number, extra = 0) => new JuteWriter().int(length).raw(new Uint8Array(extra)).finish();
    expect(reasonOf(() => new JuteReader(w(-2)).ustring())).toMatch(/negative ustring length/);
    expect(reasonOf(() => new JuteReader(w(-2)).buffer())).toMatch(/negative buffer length/);
    expect(reasonOf(() => new JuteReader(w(5, 4)).buffer())).toMatch(/truncated buffer/);
    expect(reasonOf(() => new JuteReader(w(0x7fffffff)).ustring())).toMatch(/truncated ustring/);
    expect(reasonOf(() => new JuteReader(w(-5)).vector((r) => r.int()))).toMatch(/negative vector count/);
    expect(reasonOf(() => new JuteReader(w(1_000_000, 8)).vector((r) => r.int()))).toMatch(/exceeds/);
  });

  it('reads -1 as null and offers empty defaults', () => {
    const bytes = new JuteWriter()
      .ustring(null)
      .buffer(null)
      .vector(null, () => {})
      .finish();
    const reader = new JuteReader(bytes);
    expect(reader.ustring()).toBeNull();
    expect(reader.buffer()).toBeNull();
    expect(reader.vector((r) => r.int())).toBeNull();
    const again = new JuteReader(bytes);
    expect([again.string(), again.bytesOrEmpty(), again.list((r) => r.int())]).toEqual([
      '',
      new Uint8Array(0),
      [],
    ]);
    expect(again.remaining).toBe(0);
  });

  it('reads booleans as Java does: any non-zero byte is true', () => {
    expect(new JuteReader(Uint8Array.of(2)).boolean()).toBe(true);
    expect(new JuteReader(Uint8Array.of(0)).boolean()).toBe(false);
  });
});

describe('JuteWriter', () => {
  it('round-trips every field kind through geometric growth', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((v) => ['int', v] as const),
            fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map((v) => ['long', v] as const),
            fc.boolean().map((v) => ['boolean', v] as const),
            fc.option(fc.string({ unit: 'binary' }), { nil: null }).map((v) => ['ustring', v] as const),
            fc.option(fc.uint8Array({ maxLength: 600 }), { nil: null }).map((v) => ['buffer', v] as const),
          ),
          { maxLength: 40 },
        ),
        (fields) => {
          const writer = new JuteWriter({ initialCapacity: 1 });
          for (const [kind, value] of fields) (writer[kind] as (v: unknown) => JuteWriter)(value);
          const reader = new JuteReader(writer.finish());
          for (const [kind, value] of fields) expect(reader[kind]()).toEqual(value);
          expect(reader.remaining).toBe(0);
        },
      ),
    );
  });

  it('fills in the length prefix of a framed writer', () => {
    const frame = new JuteWriter({ framed: true }).int(7).ustring('ab').finish();
    expect(Array.from(frame)).toEqual([0, 0, 0, 10, 0, 0, 0, 7, 0, 0, 0, 2, 0x61, 0x62]);
  });

  it('writes unsigned 64-bit values by their bits', () => {
    const bytes = new JuteWriter().long(0xffff_ffff_ffff_fffen).finish();
    expect(new JuteReader(bytes).long()).toBe(-2n);
    expect(new JuteReader(bytes).ulong()).toBe(0xffff_ffff_ffff_fffen);
  });
});
