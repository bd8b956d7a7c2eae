import { decodedSessionId, makeZxid, type StorageAction, type Txn } from '@zabkit/core';
import { MemoryStorage } from '@zabkit/storage-memory';
import { describe, expect, it } from 'vitest';
import { carryOut } from '../src/index.js';

function txn(counter: number): Txn {
  return {
    zxid: makeZxid(1, counter),
    timeMs: counter,
    sessionId: decodedSessionId(1n),
    cxid: counter,
    body: { kind: 'delete', path: `/n${counter}` },
  };
}

describe('carryOut on a store without apply', () => {
  it('hands appends that follow one another to the store as one call, in order, and keeps the other actions between', async () => {
    const storage = new MemoryStorage();
    const calls: string[] = [];
    const append = storage.append.bind(storage);
    storage.append = (txns) => {
      calls.push(`append ${txns.map((t) => t.cxid).join(',')}`);
      return append(txns);
    };
    const writeEpochs = storage.writeEpochs.bind(storage);
    storage.writeEpochs = (epochs) => {
      calls.push('epochs');
      return writeEpochs(epochs);
    };
    const actions: StorageAction[] = [
      { kind: 'append', txns: [txn(1)] },
      { kind: 'append', txns: [txn(2), txn(3)] },
      { kind: 'append', txns: [txn(4)] },
      { kind: 'epochs', epochs: { acceptedEpoch: 1, currentEpoch: 1 } },
      { kind: 'append', txns: [txn(5)] },
    ];
    await carryOut(storage, actions);
    expect(calls).toEqual(['append 1,2,3,4', 'epochs', 'append 5']);
    expect((await storage.readLog(makeZxid(0, 0))).map((t) => t.cxid)).toEqual([1, 2, 3, 4, 5]);
    // The actions handed in are left as they were.
    expect(actions.map((action) => (action.kind === 'append' ? action.txns.length : 0))).toEqual([
      1, 2, 1, 0, 1,
    ]);
  });
});
