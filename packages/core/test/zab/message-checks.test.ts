import { describe, expect, it } from 'vitest';
import { messageFault } from '../../src/zab/message-checks.js';
import { makeZxid } from '../../src/zxid.js';
import { deleteAt } from '../txn-fixtures.js';

describe('messageFault on the transactions a message carries', () => {
  it('takes a proposal of its own epoch in zxid order, empty or not', () => {
    expect(
      messageFault({
        kind: 'proposal',
        epoch: 3,
        txns: [deleteAt(3, 1), deleteAt(3, 2), deleteAt(3, 0xffff_ffff)],
      }),
    ).toBe(undefined);
    expect(messageFault({ kind: 'proposal', epoch: 3, txns: [] })).toBe(undefined);
  });

  it('refuses a proposal with a transaction of another epoch, earlier or later', () => {
    expect(messageFault({ kind: 'proposal', epoch: 3, txns: [deleteAt(3, 1), deleteAt(2, 9)] })).toBe(
      `txns[1] has zxid ${makeZxid(2, 9)} of epoch 2 in a message of epoch 3`,
    );
    expect(messageFault({ kind: 'proposal', epoch: 3, txns: [deleteAt(4, 1)] })).toBe(
      `txns[0] has zxid ${makeZxid(4, 1)} of epoch 4 in a message of epoch 3`,
    );
  });

  it('takes earlier epochs in a sync or an inform, never a later one', () => {
    const earlier = [deleteAt(1, 7), deleteAt(2, 1), deleteAt(3, 4)];
    expect(messageFault({ kind: 'syncTxns', epoch: 3, attempt: 1, seq: 1, txns: earlier })).toBe(undefined);
    expect(messageFault({ kind: 'inform', epoch: 3, txns: earlier })).toBe(undefined);
    expect(messageFault({ kind: 'inform', epoch: 3, txns: [deleteAt(3, 1), deleteAt(4, 1)] })).toBe(
      `txns[1] has zxid ${makeZxid(4, 1)} of epoch 4 in a message of epoch 3`,
    );
  });

  it('refuses transactions out of zxid order', () => {
    expect(messageFault({ kind: 'proposal', epoch: 3, txns: [deleteAt(3, 2), deleteAt(3, 2)] })).toBe(
      `txns[1] has zxid ${makeZxid(3, 2)}, not after ${makeZxid(3, 2)}`,
    );
    expect(messageFault({ kind: 'inform', epoch: 3, txns: [deleteAt(3, 2), deleteAt(2, 5)] })).toBe(
      `txns[1] has zxid ${makeZxid(2, 5)}, not after ${makeZxid(3, 2)}`,
    );
  });

  it('takes the last epoch’s bounds exactly', () => {
    const last = 0xffff_fffe;
    expect(
      messageFault({ kind: 'proposal', epoch: last, txns: [deleteAt(last, 1), deleteAt(last, 0xffff_ffff)] }),
    ).toBe(undefined);
    expect(messageFault({ kind: 'proposal', epoch: 0, txns: [deleteAt(0, 1)] })).toBe(undefined);
    expect(messageFault({ kind: 'proposal', epoch: 0, txns: [deleteAt(1, 0)] })).toMatch(
      /of epoch 1 in a message of epoch 0/,
    );
  });

  it('refuses transactions in a message whose epoch is not a 32-bit one (as an object in process may be)', () => {
    for (const epoch of [1.5, -1, 0x1_0000_0000, Number.NaN]) {
      expect(messageFault({ kind: 'inform', epoch, txns: [deleteAt(1, 1)] }), String(epoch)).toBe(
        `a message of epoch ${epoch}, not a 32-bit epoch`,
      );
      expect(messageFault({ kind: 'inform', epoch, txns: [] }), String(epoch)).toBe(undefined);
    }
  });
});
