/** The fault harness's checkers find what they are meant to find (fed histories made up here). */
import { describe, expect, it } from 'vitest';
import { check, type FinalState, type OpRecord } from './support/workload.js';

const base = { client: 0, session: 'a', start: 0, end: 1 } as const;
const cas = (key: string, from: number, value: string, outcome: OpRecord['outcome'], at = 0): OpRecord => ({
  ...base,
  op: 'cas',
  key,
  readVersion: from,
  readValue: from === 0 ? 'init' : `v${from}`,
  value,
  outcome,
  start: at,
  end: at + 1,
  ...(outcome === 'ok' ? { version: from + 1 } : {}),
});
const final = (k0: [number, string], creates: Record<string, string> = {}): FinalState => ({
  keys: {
    '/k0': { version: k0[0], value: k0[1] },
    '/k1': { version: 0, value: 'init' },
    '/k2': { version: 0, value: 'init' },
  },
  creates,
});

describe('the fault harness checkers', () => {
  it('pass a clean history', () => {
    const records = [cas('/k0', 0, 'v1', 'ok', 10), cas('/k0', 1, 'v2', 'ok', 20)];
    expect(check(records, [final([2, 'v2']), final([2, 'v2'])], 0)).toEqual([]);
  });

  it('find a version with two values, and one acknowledged twice', () => {
    const records = [cas('/k0', 0, 'v1', 'ok', 10), cas('/k0', 0, 'other', 'ok', 20)];
    const problems = check(records, [final([1, 'v1'])], 0);
    expect(problems.some((p) => p.includes('version 1 is both'))).toBe(true);
    expect(problems.some((p) => p.includes('acknowledged twice'))).toBe(true);
  });

  it('find a lost create, a doubled one, and a failed one that exists', () => {
    const create = (value: string, path: string, outcome: OpRecord['outcome']): OpRecord => ({
      ...base,
      op: 'create',
      value,
      outcome,
      ...(outcome === 'ok' ? { path } : {}),
    });
    const records = [create('a', '/seq/s-1', 'ok'), create('b', '/seq/s-2', 'ok'), create('c', '', 'failed')];
    const problems = check(
      records,
      [final([0, 'init'], { '/seq/s-2': 'b', '/seq/s-3': 'b', '/seq/s-4': 'c' })],
      0,
    );
    expect(problems.some((p) => p.includes('"a" at /seq/s-1 is lost'))).toBe(true);
    expect(problems.some((p) => p.includes('"b" made 2 nodes'))).toBe(true);
    expect(problems.some((p) => p.includes('failed create "c" exists'))).toBe(true);
  });

  it('find servers that disagree, a read that goes back, and no write after the heal', () => {
    const read = (version: number, at: number): OpRecord => ({
      ...base,
      op: 'read',
      key: '/k0',
      version,
      value: version === 0 ? 'init' : `v${version}`,
      outcome: 'ok',
      start: at,
      end: at + 1,
    });
    const records = [cas('/k0', 0, 'v1', 'ok', 10), read(0, 20)];
    const problems = check(records, [final([1, 'v1']), final([0, 'init'])], 100_000);
    expect(
      problems.some((p) =>
        p.includes(
          `server 2's final state differs from server 1's (key /k0: {"version":1,"value":"v1"} vs {"version":0,"value":"init"})`,
        ),
      ),
    ).toBe(true);
    expect(problems.some((p) => p.includes('read /k0 at version 0 after version 1'))).toBe(true);
    expect(problems.some((p) => p.includes('no write succeeded within 30 s of the heal'))).toBe(true);
  });
});
