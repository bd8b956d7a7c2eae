/**
 * No acknowledged write is ever lost: every write a client was told succeeded is in the
 * committed sequence, at the zxid its reply carried, from that session and request.
 */
import type { Txn } from '@zabkit/core';
import { describeWrite, type WriteRecord } from '../clients.js';
import type { Violation } from '../world.js';

export function checkAcknowledgedWrites(
  writes: readonly WriteRecord[],
  committed: readonly Txn[],
): Violation[] {
  const byZxid = new Map(committed.map((txn) => [txn.zxid, txn]));
  const violations: Violation[] = [];
  for (const write of writes) {
    if (write.zxid === undefined) continue;
    const txn = byZxid.get(write.zxid);
    if (txn === undefined) {
      violations.push({
        check: 'durability',
        message: `client ${write.clientId} was told ${describeWrite(write.input)} succeeded at ${write.zxid.toString(16)}, which no replica committed`,
      });
    } else if (txn.sessionId !== write.sessionId || txn.cxid !== write.xid) {
      violations.push({
        check: 'durability',
        message: `zxid ${write.zxid.toString(16)} answered client ${write.clientId}'s ${describeWrite(write.input)} but holds session ${txn.sessionId} request ${txn.cxid}`,
      });
    }
  }
  return violations;
}
