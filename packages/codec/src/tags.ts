/**
 * Every tag the codec writes, as explicit numbers. These bytes are on every peer link and in
 * every store: a tag, once given, is never reused for something else. The type system checks
 * each table: `satisfies Record<Kind, number>` fails to compile when a kind is missing or
 * unknown, and `distinctTags` fails to compile (and throws at load) when two kinds share a tag.
 * New kinds take new numbers; a removed kind's number stays retired.
 */
import {
  CreateMode,
  type CreateModeValue,
  ErrorCode,
  type ErrorCodeValue,
  type LearnerSyncMode,
  type PeerMessage,
  type PeerRole,
  type PreparableRequest,
  type RelayedTransferOutcome,
  type TxnBody,
} from '@zabkit/core';

/** The keys of a tag table whose tag another key has too; never when every tag is distinct. */
type SharedTagKeys<T extends Readonly<Record<string, number>>> = {
  [K in keyof T]: T[K] extends T[Exclude<keyof T, K>] ? K : never;
}[keyof T];

/** T when its tags are distinct; otherwise a type naming the tag given twice, which T does not match. */
type DistinctTags<T extends Readonly<Record<string, number>>> = [SharedTagKeys<T>] extends [never]
  ? T
  : { readonly [K in SharedTagKeys<T>]: `tag ${T[K]} is given to more than one kind` };

/** Checks, when compiling and at load, that no two kinds of `table` share a tag, and that each is a byte. */
export function distinctTags<T extends Readonly<Record<string, number>>>(
  what: string,
  table: DistinctTags<T>,
): T {
  const seen = new Map<number, string>();
  for (const [name, tag] of Object.entries(table as Readonly<Record<string, number>>)) {
    if (!Number.isInteger(tag) || tag < 0 || tag > 255)
      throw new RangeError(`${what} ${name}: tag ${tag} is not a byte`);
    const other = seen.get(tag);
    if (other !== undefined) throw new RangeError(`${what} ${name} and ${other} share tag ${tag}`);
    seen.set(tag, name);
  }
  return table as T;
}

const peerMessageTagTable = {
  notification: 0,
  followerInfo: 1,
  ackEpoch: 2,
  ackNewLeader: 3,
  ack: 4,
  pingReply: 5,
  request: 6,
  clientSync: 7,
  revalidate: 8,
  leaderInfo: 9,
  // 10 was learnerSync, the whole sync in one message: retired for the streamed sync below.
  newLeader: 11,
  upToDate: 12,
  proposal: 13,
  commit: 14,
  inform: 15,
  ping: 16,
  clientSyncReply: 17,
  revalidateReply: 18,
  syncBegin: 19,
  syncSnapshotChunk: 20,
  syncTxns: 21,
  syncAck: 22,
  leaderLeaving: 23,
  configNotice: 24,
  transferLeadership: 25,
  leadershipTransfer: 26,
  transferOutcome: 27,
} as const satisfies Record<PeerMessage['kind'], number>;
/** The first byte of every peer message. */
export const peerMessageTags = distinctTags('peer message', peerMessageTagTable);

const txnKindTagTable = {
  createSession: 0,
  closeSession: 1,
  create: 2,
  delete: 3,
  setData: 4,
  setACL: 5,
  check: 6,
  multi: 7,
  error: 8,
  reconfig: 9,
  restore: 10,
} as const satisfies Record<TxnBody['kind'], number>;
/** The first byte of every transaction body, in messages and in the log. */
export const txnKindTags = distinctTags('txn kind', txnKindTagTable);

const requestOpTagTable = {
  create: 0,
  delete: 1,
  setData: 2,
  setACL: 3,
  check: 4,
  multi: 5,
  createSession: 6,
  closeSession: 7,
  deleteContainer: 8,
  reconfig: 9,
  restore: 10,
} as const satisfies Record<PreparableRequest['op'], number>;
/** The first byte of every request a learner forwards. */
export const requestOpTags = distinctTags('request op', requestOpTagTable);

const peerRoleTagTable = {
  looking: 0,
  following: 1,
  leading: 2,
  observing: 3,
} as const satisfies Record<PeerRole, number>;
/** A notification's sender state. */
export const peerRoleTags = distinctTags('peer role', peerRoleTagTable);

const learnerSyncModeTagTable = { diff: 0, trunc: 1, snap: 2 } as const satisfies Record<
  LearnerSyncMode,
  number
>;
/** How a learner sync (DIFF, TRUNC, SNAP) brings a learner in line. */
export const learnerSyncModeTags = distinctTags('learner sync mode', learnerSyncModeTagTable);

const transferOutcomeTagTable = { refused: 0, timedOut: 1, abandoned: 2 } as const satisfies Record<
  RelayedTransferOutcome,
  number
>;
/** How a transfer a learner asked for ended at the leader (transferOutcome). */
export const transferOutcomeTags = distinctTags('transfer outcome', transferOutcomeTagTable);

/** Every ErrorCode value core knows: an error transaction carries one of these and nothing else. */
export const errorCodes: readonly ErrorCodeValue[] = Object.values(ErrorCode);

/** ZooKeeper's create modes, 0 to 6 (the values the wire carries). */
export const createModes: readonly CreateModeValue[] = Object.values(CreateMode);
