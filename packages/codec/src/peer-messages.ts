/**
 * Every PeerMessage, as one schema. Nothing has to interoperate with Java ZooKeeper's quorum
 * protocol, so the layout is zabkit's own: the message's tag (tags.ts), then its fields in
 * the order declared here. A message decodes only if every field is in its range, every
 * length within the limits, and no byte is left over: anything else is a PeerCodecError
 * naming the field, and never reaches the core.
 */
import type { PeerMessage, Vote } from '@zabkit/core';
import { Reader, Writer, type WriterParts } from './bytes.js';
import { nestError } from './codec-error.js';
import { defaultPeerCodecLimits, type PeerCodecLimits } from './limits.js';
import {
  boolean,
  boundedData,
  compile,
  enumeration,
  integer,
  list,
  optional,
  string,
  struct,
  union,
} from './schema.js';
import { sessionSecretMaxBytes } from './storage-records.js';
import { learnerSyncModeTags, peerMessageTags, peerRoleTags, transferOutcomeTags } from './tags.js';
import {
  authInfo,
  int32,
  preparableRequest,
  serverId,
  serverIdMax,
  sessionId,
  snapshotNode,
  snapshotSessions,
  txn,
  uint32,
  uint53,
  zxid,
} from './txn-schema.js';

const epoch = uint32;
/**
 * The leader a vote names: a server id, or -1 in an observer's own vote (it proposes nobody);
 * also a transfer's target, -1 for any.
 */
const voteLeader = integer(-1, serverIdMax);
const txns = list(txn);
/** The ensemble's session secret a leader sends with NEWLEADER: 1 to 1024 bytes. */
const sessionSecret = boundedData('session secret', 1, sessionSecretMaxBytes);

const peerMessage = compile(
  union<PeerMessage, 'kind'>('kind', 'peer message', peerMessageTags, {
    notification: {
      vote: struct<Vote>({ leader: voteLeader, zxid, peerEpoch: epoch }),
      electionEpoch: uint32,
      state: enumeration('peer role', peerRoleTags),
    },
    followerInfo: { acceptedEpoch: epoch, observer: boolean, attempt: uint53 },
    ackEpoch: { epoch, currentEpoch: epoch, lastZxid: zxid, promisedNow: boolean },
    ackNewLeader: { epoch, attempt: uint53 },
    ack: { epoch, zxid },
    pingReply: { epoch, touches: list(sessionId), forwardedSeq: uint53 },
    request: { epoch, seq: uint53, sessionId, cxid: int32, authInfo, request: preparableRequest },
    clientSync: { epoch, seq: uint53, sessionId, cxid: int32 },
    revalidate: { epoch, sessionId, connectionId: uint53 },
    leaderInfo: { epoch },
    syncBegin: {
      epoch,
      attempt: uint53,
      mode: enumeration('learner sync mode', learnerSyncModeTags),
      truncateTo: optional(zxid),
      snapshotZxid: optional(zxid),
    },
    syncSnapshotChunk: {
      epoch,
      attempt: uint53,
      seq: uint53,
      nodes: list(snapshotNode),
      sessions: snapshotSessions,
      last: boolean,
    },
    syncTxns: { epoch, attempt: uint53, seq: uint53, txns },
    syncAck: { epoch, seq: uint53, arrivals: uint53 },
    newLeader: { epoch, attempt: uint53, lastZxid: zxid, sessionSecret },
    upToDate: { epoch, commitZxid: zxid },
    proposal: { epoch, txns },
    commit: { epoch, zxid },
    inform: { epoch, txns },
    ping: { epoch, sentThroughZxid: zxid, commitZxid: zxid },
    clientSyncReply: { epoch, sessionId, cxid: int32, zxid },
    revalidateReply: { epoch, sessionId, connectionId: uint53, valid: boolean },
    leaderLeaving: { epoch },
    configNotice: { config: string },
    transferLeadership: { epoch, to: voteLeader, timeoutMs: uint53 },
    leadershipTransfer: { epoch, successor: serverId, zxid },
    transferOutcome: {
      epoch,
      outcome: enumeration('transfer outcome', transferOutcomeTags),
      reason: string,
    },
  }),
);

/**
 * Encodes `message` after `reserve` spare leading bytes, so the transport can write its
 * length prefix in place instead of copying the payload into a frame.
 * @internal
 */
export function encodePeerMessageWithRoom(message: PeerMessage, reserve: number): Buffer {
  const w = new Writer(256, reserve);
  try {
    peerMessage.write(w, message);
  } catch (error) {
    throw nestError(error, '');
  }
  return w.bytes();
}

/** The bytes of a peer frame's length prefix, which a transport writes into the reserved room. */
export const peerFramePrefixBytes = 4;

/**
 * A message's frame as parts to write in order (a scatter write), their concatenation the
 * frame: `head` starts with the room reserved for the length prefix; `rest` holds the large
 * kept transaction encodings a message carries, referenced rather than copied into one buffer
 * (a DIFF sync would otherwise copy every byte it sends), and the pieces between them.
 */
export interface PeerFrame {
  readonly head: Buffer;
  readonly rest: readonly Uint8Array[];
  /** The frame's length: `head`'s and every part of `rest`'s. */
  readonly bytes: number;
}

/**
 * What a frame references rather than copies, by message kind: the kept encodings of the
 * transactions a message carries, and a snapshot chunk's large znode data (a SNAP would
 * otherwise copy every byte of the snapshot it sends into frames).
 */
function framedParts(kind: PeerMessage['kind'] | undefined): WriterParts {
  if (kind === 'syncTxns' || kind === 'proposal' || kind === 'inform') return 'kept';
  if (kind === 'syncSnapshotChunk') return 'keptAndData';
  return 'none';
}

/** The message `framePeerMessage` framed last, by identity, and its frame. */
let lastFramed:
  | { readonly message: PeerMessage; readonly reserve: number; readonly frame: PeerFrame }
  | undefined;

/**
 * The frame a transport sends for `message`: its encoding after `reserve` spare leading bytes
 * for the length prefix, in parts (see PeerFrame). The last message framed is remembered by
 * identity: a leader hands the same PROPOSAL and COMMIT object to every learner, and one
 * encoding then serves every link and the metrics that count its bytes. So the frame is
 * shared: a caller writes nothing into it but its reserved bytes, and writes the same there
 * (the payload's length). A peer message is never changed once sent, so the same object
 * always frames to the same bytes.
 * @internal
 */
export function framePeerMessage(message: PeerMessage, reserve: number): PeerFrame {
  const last = lastFramed;
  if (last !== undefined && last.message === message && last.reserve === reserve) return last.frame;
  const w = new Writer(256, reserve, framedParts(message?.kind));
  try {
    peerMessage.write(w, message);
  } catch (error) {
    throw nestError(error, '');
  }
  const [head, ...rest] = w.parts();
  let bytes = head.length;
  for (const part of rest) bytes += part.length;
  const frame: PeerFrame = { head, rest, bytes };
  lastFramed = { message, reserve, frame };
  return frame;
}

/** Encodes a peer message; throws PeerCodecError for a value outside the message types or a field out of range. */
export function encodePeerMessage(message: PeerMessage): Uint8Array {
  return encodePeerMessageWithRoom(message, 0);
}

/**
 * The bytes encodePeerMessage writes for `message`, counted without encoding it (a
 * transaction the leader logged already counts as its kept encoding's length). Checks
 * nothing: for a message encodePeerMessage would refuse, the answer means nothing.
 */
export function peerMessageBytes(message: PeerMessage): number {
  return peerMessage.size(message);
}

/**
 * Decodes one whole peer message, checking every field; throws PeerCodecError (naming the
 * field) for anything encodePeerMessage would not have written, or beyond `limits`.
 */
export function decodePeerMessage(
  bytes: Uint8Array,
  limits: PeerCodecLimits = defaultPeerCodecLimits,
): PeerMessage {
  const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), limits);
  try {
    const message = peerMessage.read(r);
    r.done();
    return message;
  } catch (error) {
    throw nestError(error, '');
  }
}
