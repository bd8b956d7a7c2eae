/**
 * The schemas of what both peer messages and storage records carry: transactions, snapshot
 * nodes, sessions, ACLs and the requests a learner forwards. One declaration each, so a
 * transaction reads the same on the wire and on disk.
 *
 * Each number has the range its field can hold, checked both ways: epochs and session
 * timeouts are 32-bit unsigned (an epoch is the high half of a zxid), versions and client
 * xids 32-bit signed as in ZooKeeper, times safe integers of milliseconds, session ids and
 * ephemeral owners signed 64-bit. No field is a float: NaN, infinities and fractions are refused.
 */
import type {
  ACL,
  CreateModeValue,
  CreateRequest,
  CreateSessionTxn,
  Id,
  MultiOp,
  MultiPartTxn,
  PreparableRequest,
  SessionId,
  SnapshotNode,
  TreeSnapshot,
  Txn,
  TxnBody,
  Zxid,
} from '@zabkit/core';
import {
  brandedInt64,
  type Fields,
  int64,
  integer,
  integerSet,
  list,
  memoized,
  named,
  nullable,
  nullableData,
  pair,
  repeating,
  type Schema,
  string,
  struct,
  union,
  zxid as zxidOf,
} from './schema.js';
import { errorCodes, requestOpTags, txnKindTags } from './tags.js';

/** 0..2^32-1: epochs (the high half of a zxid) and election rounds. */
export const uint32 = integer(0, 2 ** 32 - 1);
/** ZooKeeper's `int`: versions, cversions, client xids, ACL permissions. */
export const int32 = integer(-(2 ** 31), 2 ** 31 - 1);
/** Counters that outgrow 32 bits (forwarded request numbers, connection ids, attempts): 0..2^53-1. */
export const uint53 = integer(0, Number.MAX_SAFE_INTEGER);
/** Milliseconds of the wall clock, as ZooKeeper's `long` times, within the safe integers. */
export const timeMs = integer(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
/** A session timeout in milliseconds: ZooKeeper's non-negative `int`. */
export const timeoutMs = integer(0, 2 ** 31 - 1);
/**
 * Server ids: 0..254, the range a peer can run with (ZooKeeper caps ids at 254 when TTL
 * nodes are on, and core's session ids carry the server id in their top byte).
 */
export const serverIdMax = 254;
/** A server id, as a vote names it. */
export const serverId = integer(0, serverIdMax);
/** A zxid: 64 unsigned bits. */
export const zxid = zxidOf<Zxid>();
/** A session id (signed 64-bit, as ZooKeeper's). */
export const sessionId = brandedInt64<SessionId>();

const id = struct<Id>({ scheme: string, id: string });
// Nearly every znode of a snapshot chunk and create of a log record has the ACL of the one
// before it: read once per run (the tree keeps one list per distinct ACL anyway).
const acl = repeating(list(struct<ACL>({ perms: int32, id })));
/** The identities a session authenticated as. */
export const authInfo = list(id);

/** One znode of a snapshot. */
export const snapshotNode = named(
  struct<SnapshotNode>({
    path: string,
    data: nullableData,
    acl,
    czxid: zxid,
    mzxid: zxid,
    pzxid: zxid,
    ctime: timeMs,
    mtime: timeMs,
    version: int32,
    cversion: int32,
    aversion: int32,
    ephemeralOwner: int64,
  }),
);

/** A snapshot's sessions: each id with its timeout. */
export const snapshotSessions = list(pair<SessionId, number>(sessionId, timeoutMs));

const createTxn: Fields<Omit<Extract<TxnBody, { kind: 'create' }>, 'kind'>> = {
  path: string,
  data: nullableData,
  acl,
  ephemeralOwner: int64,
  parentCversion: int32,
};
const deleteTxn = { path: string };
const setDataTxn = { path: string, data: nullableData, version: int32 };
const checkTxn = { path: string, version: int32 };
const errorTxn = { code: integerSet('error code', errorCodes) };
const createSessionTxn: Fields<Omit<CreateSessionTxn, 'kind'>> = { timeoutMs };

/** A multi's parts: never a multi (one level of nesting is all the format allows), never a session change. */
const multiPartTxn = union<MultiPartTxn, 'kind'>('kind', 'multi part', txnKindTags, {
  create: createTxn,
  delete: deleteTxn,
  setData: setDataTxn,
  check: checkTxn,
  error: errorTxn,
});

const txnBody = union<TxnBody, 'kind'>('kind', 'txn kind', txnKindTags, {
  createSession: createSessionTxn,
  closeSession: { ephemeralPaths: list(string) },
  create: createTxn,
  delete: deleteTxn,
  setData: setDataTxn,
  setACL: { path: string, acl, aversion: int32 },
  check: checkTxn,
  multi: { parts: list(multiPartTxn) },
  reconfig: { config: string },
  restore: { token: string, nodes: list(snapshotNode), sessions: snapshotSessions },
  error: errorTxn,
});

/**
 * Each transaction's encoding, kept once made or read: a leader logs a transaction and
 * proposes it to every follower, and a follower logs the one it decoded, so without this
 * one transaction would be encoded three or four times. Transactions are immutable, and the
 * entry goes with the transaction.
 */
const txnEncodings = new WeakMap<Txn, Uint8Array>();

/** The encoding kept for `value` since it was last encoded or decoded, if any. */
export function keptTxnEncoding(value: Txn): Uint8Array | undefined {
  return txnEncodings.get(value);
}

/** A transaction with its header. */
export const txn = named(
  memoized(struct<Txn>({ zxid, timeMs, sessionId, cxid: int32, body: txnBody }), txnEncodings),
);

/** A whole snapshot, as a SNAP sync carries it. */
export const treeSnapshot = named(
  struct<TreeSnapshot>({ zxid, nodes: list(snapshotNode), sessions: snapshotSessions }),
);

const createRequest: Fields<Omit<CreateRequest, 'op'>> = {
  path: string,
  data: nullableData,
  acl,
  // Any int: flags that name no mode reach the leader, which answers BadArguments, as ZooKeeper.
  mode: int32 as Schema<CreateModeValue>,
  ttlMs: int64,
};
const versioned = { path: string, version: int32 };
const setDataRequest = { path: string, data: nullableData, version: int32 };

/** A multi's ops: never a multi. */
const multiOp = union<MultiOp, 'op'>('op', 'multi op', requestOpTags, {
  create: createRequest,
  delete: versioned,
  setData: setDataRequest,
  check: versioned,
});

/** A request a learner forwards to its leader for preparation. */
export const preparableRequest = named(
  union<PreparableRequest, 'op'>('op', 'request op', requestOpTags, {
    create: createRequest,
    delete: versioned,
    setData: setDataRequest,
    setACL: { path: string, acl, version: int32 },
    check: versioned,
    multi: { ops: list(multiOp) },
    createSession: { timeoutMs },
    closeSession: {},
    deleteContainer: { path: string },
    reconfig: {
      joiningServers: nullable(string),
      leavingServers: nullable(string),
      newMembers: nullable(string),
      fromConfig: int64,
    },
    restore: { token: string, nodes: list(snapshotNode), sessions: snapshotSessions },
  }),
);
