import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  isValidPath,
  parentOf,
  pathProblem,
  selfAndAncestors,
  sequentialSuffix,
  validatePath,
  ZabError,
} from '../src/index.js';

describe('path validation follows ZooKeeper PathUtils', () => {
  it.each([
    '/',
    '/a',
    '/a/b',
    '/a.b',
    '/...',
    '/a/..b',
    '/.a',
    '/a/b.',
    '/a/.b/..c',
    '/..a/b',
    '/zookeeper',
    '/ü',
    '/a b',
    '/a/b/c/d/e',
  ])('accepts %j', (path) => {
    expect(pathProblem(path)).toBeUndefined();
  });

  it.each([
    ['', 'empty'],
    ['a', 'no leading slash'],
    ['/a/', 'trailing slash'],
    ['//a', 'empty segment'],
    ['/a//b', 'empty segment'],
    ['/.', 'dot'],
    ['/..', 'dot dot'],
    ['/a/./b', 'dot inside'],
    ['/a/../b', 'dot dot inside'],
    ['/a/.', 'dot last'],
    ['/a/..', 'dot dot last'],
    ['/./a', 'dot first'],
    ['/a\u0000b', 'NUL'],
    ['/a\u0001', 'C0 control'],
    ['/a\u007f', 'DEL'],
    ['/a\u009f', 'C1 control'],
    ['/a\ud83d\ude00', 'surrogate pair (emoji)'],
    ['/a\ue000', 'private use'],
    ['/a\ufff0', 'specials'],
    ['/a\uffff', 'non-character'],
  ])('rejects %j (%s)', (path) => {
    expect(pathProblem(path)).toBeDefined();
    expect(() => validatePath(path)).toThrow(ZabError);
    try {
      validatePath(path);
    } catch (error) {
      expect((error as ZabError).code).toBe(ErrorCode.BadArguments);
    }
  });

  it('parent and ancestors', () => {
    expect(parentOf('/a')).toBe('/');
    expect(parentOf('/a/b/c')).toBe('/a/b');
    expect([...selfAndAncestors('/a/b')]).toEqual(['/a/b', '/a', '/']);
    expect([...selfAndAncestors('/')]).toEqual(['/']);
  });

  it('a path built from valid segments is valid and its parent is its prefix', () => {
    const segment = fc.stringMatching(/^[a-zA-Z0-9_\-:]{1,8}$/).filter((s) => s !== '.' && s !== '..');
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), (segments) => {
        const path = `/${segments.join('/')}`;
        expect(isValidPath(path)).toBe(true);
        expect(isValidPath(`${path}/`)).toBe(false);
        const parent = parentOf(path);
        expect(segments.length === 1 ? parent === '/' : path.startsWith(`${parent}/`)).toBe(true);
      }),
    );
  });
});

describe('sequential suffix is Java %010d of the parent cversion', () => {
  it('pads to ten digits', () => {
    expect(sequentialSuffix(0)).toBe('0000000000');
    expect(sequentialSuffix(42)).toBe('0000000042');
    expect(sequentialSuffix(2147483647)).toBe('2147483647');
  });
  it('goes negative after the 32-bit counter wraps, as ZooKeeper does', () => {
    expect(sequentialSuffix(-1)).toBe('-000000001');
    expect(sequentialSuffix(-2147483648)).toBe('-2147483648');
  });
});
