import { describe, expect, it } from 'vitest';
import { AssertionError, assert } from '../src/index.js';

describe('assert', () => {
  it('formats a message given as a function only when the assertion fails', () => {
    let formatted = 0;
    const message = () => {
      formatted++;
      return `zxid ${0x100000002n} applied after ${0x100000003n}`;
    };
    assert(true, message);
    expect(formatted).toBe(0);
    expect(() => assert(false, message)).toThrow(AssertionError);
    expect(formatted).toBe(1);
    expect(() => assert(0, message)).toThrow(
      'zabkit invariant broken: zxid 4294967298 applied after 4294967299',
    );
    expect(() => assert(undefined, 'plain words')).toThrow('zabkit invariant broken: plain words');
  });
});
