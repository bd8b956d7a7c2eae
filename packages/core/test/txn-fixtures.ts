// Transactions for tests that apply or check them directly, without a preparer.
import { Ids } from '../src/acl.js';
import type { Txn } from '../src/txn.js';
import { makeZxid } from '../src/zxid.js';

/** A transaction of epoch 1 at `counter`, by session 5. */
export const txnAt = (counter: number, body: Txn['body']): Txn => ({
  zxid: makeZxid(1, counter),
  timeMs: 2_000 + counter,
  sessionId: 5n as Txn['sessionId'],
  cxid: counter,
  body,
});

/** A create of a persistent, world-open node holding one byte. */
export const createAt = (counter: number, path: string, byte: number): Txn =>
  txnAt(counter, {
    kind: 'create',
    path,
    data: Uint8Array.of(byte),
    acl: Ids.openAclUnsafe,
    ephemeralOwner: 0n,
    parentCversion: counter,
  });

/** A setData of one byte at the expected version. */
export const setDataAt = (counter: number, path: string, byte: number, version: number): Txn =>
  txnAt(counter, { kind: 'setData', path, data: Uint8Array.of(byte), version });

/** A delete of `/n<counter>` at zxid (epoch, counter): for logs, whose bodies do not matter. */
export const deleteAt = (epoch: number, counter: number): Txn => ({
  zxid: makeZxid(epoch, counter),
  timeMs: 1_000,
  sessionId: 5n as Txn['sessionId'],
  cxid: counter,
  body: { kind: 'delete', path: `/n${counter}` },
});
