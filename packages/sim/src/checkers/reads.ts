/**
 * Reads follow ZooKeeper's model, not linearizability: a read returns the state at some
 * committed zxid (the one its reply carries) no older than what its session had seen, and a
 * session's replies never go back in time. The committed sequence is replayed into a fresh
 * tree and each read is compared with the state at its zxid.
 */
import { DataTree, type Txn } from '@zabkit/core';
import type { ReadRecord } from '../clients.js';
import type { Violation } from '../world.js';

const text = new TextDecoder();

export function checkReads(reads: readonly ReadRecord[], committed: readonly Txn[]): Violation[] {
  const violations: Violation[] = [];
  const lastBySession = new Map<bigint, bigint>();
  for (const read of reads) {
    if (read.replyZxid < read.lastSeenBefore) {
      violations.push({
        check: 'reads',
        message: `client ${read.clientId} read at ${read.replyZxid.toString(16)} after seeing ${read.lastSeenBefore.toString(16)}`,
      });
    }
    const last = lastBySession.get(read.sessionId) ?? 0n;
    if (read.replyZxid < last) {
      violations.push({
        check: 'reads',
        message: `session ${read.sessionId} went back from ${last.toString(16)} to ${read.replyZxid.toString(16)}`,
      });
    }
    lastBySession.set(read.sessionId, read.replyZxid > last ? read.replyZxid : last);
  }
  const ordered = [...reads].sort((a, b) =>
    a.replyZxid < b.replyZxid ? -1 : a.replyZxid > b.replyZxid ? 1 : 0,
  );
  const tree = new DataTree();
  let next = 0;
  for (const read of ordered) {
    while (next < committed.length && committed[next]!.zxid <= read.replyZxid) {
      const txn = committed[next++]!;
      if (txn.zxid > tree.lastZxid) tree.apply(txn);
    }
    if (tree.lastZxid !== read.replyZxid && read.replyZxid !== 0n) {
      violations.push({
        check: 'reads',
        message: `client ${read.clientId} read at ${read.replyZxid.toString(16)}, which was never committed`,
      });
      continue;
    }
    const node = tree.getNode(read.path);
    const expected = node === undefined ? 'missing' : `${text.decode(node.data)}@${node.version}`;
    const actual = read.found ? `${read.data}@${read.version}` : 'missing';
    if (expected !== actual) {
      violations.push({
        check: 'reads',
        message: `client ${read.clientId} read ${read.path} = ${actual} at ${read.replyZxid.toString(16)}; the committed state there is ${expected}`,
      });
    }
  }
  return violations;
}
