import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkPathHistory,
  checkWritesLinearizable,
  type LinearizableWrite,
} from '../src/checkers/writes-linearizable.js';
import type { WriteInput, WriteRecord } from '../src/clients.js';

const op = (
  input: WriteInput,
  call: number,
  ret: number | undefined,
  code?: number,
  version?: number,
): LinearizableWrite => ({
  input,
  call,
  ret: ret ?? Number.POSITIVE_INFINITY,
  code: ret === undefined ? undefined : code,
  version,
});
const create = { op: 'create', path: '/k', data: 'x', ephemeral: false } as const;
const set = (version = -1) => ({ op: 'setData', path: '/k', data: 'y', version }) as const;
const del = (version = -1) => ({ op: 'delete', path: '/k', version }) as const;

describe('the write linearizability checker', () => {
  it('accepts a legal sequential history', () => {
    expect(
      checkPathHistory([
        op(create, 0, 1, 0),
        op(create, 2, 3, -110),
        op(set(0), 4, 5, 0, 1),
        op(set(0), 6, 7, -103),
        op(del(1), 8, 9, 0),
        op(set(), 10, 11, -101),
      ]),
    ).toBe('ok');
  });

  it('rejects two successful creates with no delete between', () => {
    expect(checkPathHistory([op(create, 0, 1, 0), op(create, 2, 3, 0)])).toBe('illegal');
    expect(checkPathHistory([op(create, 0, 10, 0), op(create, 1, 9, 0)])).toBe('illegal');
  });

  it('accepts either order for overlapping operations', () => {
    expect(checkPathHistory([op(create, 0, 10, -110), op(create, 1, 9, 0)])).toBe('ok');
    expect(checkPathHistory([op(create, 0, 1, 0), op(set(), 2, 10, 0, 2), op(set(), 3, 9, 0, 1)])).toBe('ok');
  });

  it('rejects an impossible version and a stale outcome after a completed write', () => {
    expect(checkPathHistory([op(create, 0, 1, 0), op(set(), 2, 3, 0, 5)])).toBe('illegal');
    expect(checkPathHistory([op(create, 0, 1, 0), op(del(), 2, 3, 0), op(set(), 4, 5, 0, 1)])).toBe(
      'illegal',
    );
  });

  it('lets an unknown outcome take effect, or not', () => {
    expect(checkPathHistory([op(create, 0, undefined), op(set(), 5, 6, 0, 1)])).toBe('ok');
    expect(checkPathHistory([op(create, 0, undefined), op(set(), 5, 6, -101)])).toBe('ok');
    expect(checkPathHistory([op(create, 0, undefined), op(set(), 5, 6, 0, 1), op(set(), 7, 8, -101)])).toBe(
      'illegal',
    );
  });

  it('answers unknown when the budget runs out instead of hanging', () => {
    // Fourteen setData calls of unknown outcome beside one that claims version 30: no order
    // works, and proving it means trying every subset of the unknown ones.
    const unknowns = Array.from({ length: 14 }, () => op(set(), 2, undefined));
    const impossible = op(set(), 3, 50, 0, 30);
    const history = [op(create, 0, 1, 0), ...unknowns, impossible];
    expect(checkPathHistory(history, 1000)).toBe('unknown');
    expect(checkPathHistory(history)).toBe('illegal');
  });

  it('multi: all or nothing, and the failing op must be the one the model says', () => {
    const createB = { op: 'create', path: '/b', data: 'x', ephemeral: false } as const;
    const multiAB = { op: 'multi', ops: [create, createB] } as const;
    expect(checkPathHistory([op(multiAB, 0, 1, 0), op(set(), 2, 3, 0, 1)])).toBe('ok');
    // The multi failed on its second op, so /k was not created either.
    const failed = { ...op(multiAB, 0, 1, -110), failedIndex: 1 };
    expect(checkPathHistory([op(createB, -2, -1, 0), failed, op(set(), 2, 3, -101)])).toBe('ok');
    expect(checkPathHistory([op(createB, -2, -1, 0), failed, op(set(), 2, 3, 0, 1)])).toBe('illegal');
    expect(checkPathHistory([op(createB, -2, -1, 0), { ...failed, failedIndex: 0 }])).toBe('illegal');
  });

  it('groups paths a multi joins, and keeps other paths apart', () => {
    const record = (input: WriteRecord['input'], call: number, ret: number, code: number): WriteRecord => ({
      clientId: 1,
      sessionId: 1n,
      xid: call,
      input,
      callTime: call,
      returnTime: ret,
      output: { code },
      zxid: undefined,
    });
    const createAt = (path: string) => ({ op: 'create', path, data: 'x', ephemeral: false }) as const;
    const joined = { op: 'multi', ops: [createAt('/k1'), createAt('/k2')] } as const;
    const legal = [
      record(joined, 0, 1, 0),
      record(createAt('/k2'), 2, 3, -110),
      record(createAt('/k3'), 0, 1, 0),
    ];
    expect(checkWritesLinearizable(legal)).toEqual({ violations: [], groups: 2, unknown: 0 });
    // Out of search steps, a group is reported unknown, neither passed nor failed: with one step,
    // the joined group's two writes cannot be ordered; /k3's single write can.
    expect(checkWritesLinearizable(legal, 1)).toEqual({ violations: [], groups: 2, unknown: 1 });
    const illegal = [record(joined, 0, 1, 0), record(createAt('/k2'), 2, 3, 0)];
    expect(checkWritesLinearizable(illegal).violations).toHaveLength(1);
  });

  it('histories recorded from a real sequential execution are always legal; one corrupted outcome is not', () => {
    const input = fc.oneof(
      fc.constant(create),
      fc.integer({ min: -1, max: 2 }).map((v) => set(v)),
      fc.integer({ min: -1, max: 2 }).map((v) => del(v)),
    );
    fc.assert(
      fc.property(fc.array(input, { minLength: 1, maxLength: 12 }), fc.nat(), (inputs, corruptAt) => {
        let exists = false;
        let version = 0;
        const history = inputs.map((i, index) => {
          let code = 0;
          let out: number | undefined;
          if (i.op === 'create') {
            code = exists ? -110 : 0;
            if (!exists) [exists, version] = [true, 0];
          } else if (!exists) code = -101;
          else if (i.version !== -1 && i.version !== version) code = -103;
          else if (i.op === 'delete') exists = false;
          else out = version = version + 1;
          return op(i, index * 10, index * 10 + 5, code, out);
        });
        expect(checkPathHistory(history)).toBe('ok');
        const victim = history[corruptAt % history.length]!;
        const wrongCode = victim.code === 0 ? (victim.input.op === 'create' ? -110 : -101) : 0;
        const corrupted = history.map((h) =>
          h === victim ? { ...h, code: wrongCode, version: wrongCode === 0 ? 99 : undefined } : h,
        );
        expect(checkPathHistory(corrupted)).toBe('illegal');
      }),
      { numRuns: 300 },
    );
  });
});
