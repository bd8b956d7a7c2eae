/**
 * What no correct peer sends, judged on one message alone. The codec has already checked
 * every field's range (epochs 32-bit, zxids 64-bit, lengths bounded); these are the
 * relations between fields that a correct leader or learner always keeps. A message that
 * breaks one comes from a broken or corrupted peer: the core refuses it before any role sees
 * it (a learner leaves such a leader, a leader drops such a learner) instead of letting it
 * reach an assertion or the log.
 */
import type { Txn } from '../txn.js';
import { epochOf, type Zxid } from '../zxid.js';
import type { PeerMessage } from './messages.js';

/** The last epoch: no election can follow it, so no peer may propose or promise it. */
export const epochMax = 0xffff_ffff;

/** Why `message` cannot have come from a correct peer, or undefined when it may have. */
export function messageFault(message: PeerMessage): string | undefined {
  switch (message.kind) {
    case 'notification':
      // A round or an epoch at the last value could never be followed by another.
      if (message.electionEpoch === epochMax) return `election round ${epochMax}: no round can follow it`;
      if (message.vote.peerEpoch === epochMax || epochOf(message.vote.zxid) === epochMax)
        return `a vote in epoch ${epochMax}: no epoch can follow it`;
      return undefined;
    case 'followerInfo':
      return message.acceptedEpoch === epochMax
        ? `accepted epoch ${epochMax}: no epoch can follow it`
        : undefined;
    case 'leaderInfo':
      return message.epoch === epochMax ? `epoch ${epochMax}: no epoch can follow it` : undefined;
    case 'ackEpoch':
      if (message.currentEpoch > message.epoch)
        return `current epoch ${message.currentEpoch} beyond the epoch acknowledged (${message.epoch})`;
      return zxidBeyond('lastZxid', message.lastZxid, message.epoch);
    case 'ack':
      return zxidBeyond('zxid', message.zxid, message.epoch);
    case 'syncBegin':
      if (message.mode === 'snap' && message.snapshotZxid === undefined) return 'a SNAP names no snapshot';
      if (message.mode === 'trunc' && message.truncateTo === undefined) return 'a TRUNC names no zxid';
      return (
        (message.truncateTo === undefined
          ? undefined
          : zxidBeyond('truncateTo', message.truncateTo, message.epoch)) ??
        (message.snapshotZxid === undefined
          ? undefined
          : zxidBeyond('snapshotZxid', message.snapshotZxid, message.epoch))
      );
    case 'syncTxns':
      return txnsFault(message.txns, message.epoch, false);
    case 'proposal':
      // A leader proposes in its own epoch only.
      return txnsFault(message.txns, message.epoch, true);
    case 'inform':
      return txnsFault(message.txns, message.epoch, false);
    case 'newLeader':
      return zxidBeyond('lastZxid', message.lastZxid, message.epoch);
    case 'upToDate':
      return zxidBeyond('commitZxid', message.commitZxid, message.epoch);
    case 'commit':
      return zxidBeyond('zxid', message.zxid, message.epoch);
    case 'ping':
      return (
        zxidBeyond('sentThroughZxid', message.sentThroughZxid, message.epoch) ??
        zxidBeyond('commitZxid', message.commitZxid, message.epoch)
      );
    case 'clientSyncReply':
    case 'leadershipTransfer':
      return zxidBeyond('zxid', message.zxid, message.epoch);
    default:
      // No relation between its fields to check (acks by sequence number, session requests,
      // snapshot chunks, configuration notices...): what they name is checked where used.
      return undefined;
  }
}

/** A zxid of a later epoch than the message's: nobody can have made it yet. */
function zxidBeyond(field: string, zxid: Zxid, epoch: number): string | undefined {
  const of = epochOf(zxid);
  return of > epoch ? `${field} ${zxid} is of epoch ${of}, after the message's ${epoch}` : undefined;
}

/** Transactions out of zxid order, or of an epoch they cannot be of. */
function txnsFault(txns: readonly Txn[], epoch: number, sameEpoch: boolean): string | undefined {
  // The message's epoch as a range of zxids: comparing each zxid with its ends makes no
  // BigInt, where taking each one's epoch made one per transaction, on every follower, for
  // every proposal. (The codec gives a 32-bit epoch; an object handed over in process is
  // checked for one here.)
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > epochMax)
    return txns.length === 0 ? undefined : `a message of epoch ${epoch}, not a 32-bit epoch`;
  const epochStart = BigInt(epoch) << 32n;
  const epochEnd = BigInt(epoch + 1) << 32n;
  let previous: Zxid | undefined;
  for (let index = 0; index < txns.length; index++) {
    const zxid = txns[index]!.zxid;
    if (zxid >= epochEnd || (sameEpoch && zxid < epochStart))
      return `txns[${index}] has zxid ${zxid} of epoch ${epochOf(zxid)} in a message of epoch ${epoch}`;
    if (previous !== undefined && zxid <= previous)
      return `txns[${index}] has zxid ${zxid}, not after ${previous}`;
    previous = zxid;
  }
  return undefined;
}
