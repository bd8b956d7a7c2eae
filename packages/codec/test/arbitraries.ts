/**
 * fast-check generators for every PeerMessage, typed so a new message field fails to compile
 * here. Every value is one the codec accepts: each number in its field's range (with the
 * range's edges), so a round trip must give it back exactly.
 */
import {
  type ACL,
  type CreateModeValue,
  decodedSessionId,
  ErrorCode,
  type ErrorCodeValue,
  type Id,
  type MultiOp,
  type MultiPartTxn,
  type PeerMessage,
  type PreparableRequest,
  type SessionId,
  type SnapshotNode,
  type TreeSnapshot,
  type Txn,
  type TxnBody,
  type Zxid,
} from '@zabkit/core';
import fc from 'fast-check';

export const zxidArb: fc.Arbitrary<Zxid> = fc
  .oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(0n, (1n << 64n) - 1n, 1n << 32n))
  .map((v) => v as Zxid);
/** Session ids and owners: signed 64-bit, with its edges. */
export const int64Arb = fc.oneof(
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
  fc.constantFrom(0n, -1n, 1n, -(1n << 63n), (1n << 63n) - 1n),
);
export const sessionIdArb: fc.Arbitrary<SessionId> = int64Arb.map((v) => decodedSessionId(v));
const uint32Max = 2 ** 32 - 1;
/** Epochs and election rounds: 0..2^32-1, small ones most often. */
export const uint32Arb = fc.oneof(
  fc.integer({ min: 0, max: 200 }),
  fc.integer({ min: 0, max: uint32Max }),
  fc.constantFrom(0, 2 ** 31 - 1, 2 ** 31, uint32Max),
);
/** ZooKeeper ints: versions, xids, permissions. */
export const int32Arb = fc.oneof(
  fc.integer({ min: -5, max: 200 }),
  fc.integer(),
  fc.constantFrom(-(2 ** 31), 2 ** 31 - 1, -1, 0),
);
/** Counters past 32 bits: forwarded request numbers, connection ids, attempts. */
export const uint53Arb = fc.oneof(
  fc.integer({ min: 0, max: 200 }),
  fc.maxSafeNat(),
  fc.constantFrom(2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER, 1_764_000_000_000_003),
);
/** Wall-clock milliseconds (ctime, mtime, a txn's time): any safe integer. */
export const timeMsArb = fc.oneof(
  fc.integer({ min: 1_700_000_000_000, max: 1_900_000_000_000 }),
  fc.maxSafeInteger(),
  fc.constantFrom(0, -1, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
);
export const timeoutMsArb = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  fc.constantFrom(0, 2 ** 31 - 1, 30_000),
);
export const serverIdArb = fc.integer({ min: 0, max: 254 });
const strArb = fc.string({ maxLength: 20 });
const pathArb = fc.oneof(
  fc.constantFrom('/', '/a', '/zookeeper/quota', '/é/日本'),
  fc.array(fc.string({ minLength: 1, maxLength: 6 })).map((parts) => `/${parts.join('/')}`),
);
const bytesArb = fc.uint8Array({ maxLength: 40 });
/** Znode data: bytes, empty, or null (kept apart end to end). */
const nullableDataArb = fc.option(bytesArb, { nil: null, freq: 4 });
const idArb: fc.Arbitrary<Id> = fc.record({ scheme: strArb, id: strArb });
const aclArb: fc.Arbitrary<ACL[]> = fc.array(
  fc.record({ perms: fc.oneof(fc.integer({ min: 0, max: 31 }), int32Arb), id: idArb }),
  {
    maxLength: 3,
  },
);
const codeArb = fc.constantFrom(...(Object.values(ErrorCode) as ErrorCodeValue[]));

const createTxn = fc.record({
  kind: fc.constant('create' as const),
  path: pathArb,
  data: nullableDataArb,
  acl: aclArb,
  ephemeralOwner: int64Arb,
  parentCversion: int32Arb,
});
const deleteTxn = fc.record({ kind: fc.constant('delete' as const), path: pathArb });
const setDataTxn = fc.record({
  kind: fc.constant('setData' as const),
  path: pathArb,
  data: nullableDataArb,
  version: int32Arb,
});
const checkTxn = fc.record({ kind: fc.constant('check' as const), path: pathArb, version: int32Arb });
const errorTxn = fc.record({ kind: fc.constant('error' as const), code: codeArb });
const multiPart: fc.Arbitrary<MultiPartTxn> = fc.oneof(createTxn, deleteTxn, setDataTxn, checkTxn, errorTxn);

export const snapshotNodeArb: fc.Arbitrary<SnapshotNode> = fc.record({
  path: pathArb,
  data: nullableDataArb,
  acl: aclArb,
  czxid: zxidArb,
  mzxid: zxidArb,
  pzxid: zxidArb,
  ctime: timeMsArb,
  mtime: timeMsArb,
  version: int32Arb,
  cversion: int32Arb,
  aversion: int32Arb,
  ephemeralOwner: int64Arb,
});
const restoreFields = {
  token: fc.string(),
  nodes: fc.array(snapshotNodeArb, { maxLength: 3 }),
  sessions: fc.array(fc.tuple(sessionIdArb, timeoutMsArb), { maxLength: 3 }),
};

/** Every TxnBody kind. */
export const txnBodyArb: fc.Arbitrary<TxnBody> = fc.oneof(
  fc.record({ kind: fc.constant('createSession' as const), timeoutMs: timeoutMsArb }),
  fc.record({
    kind: fc.constant('closeSession' as const),
    ephemeralPaths: fc.array(pathArb, { maxLength: 4 }),
  }),
  createTxn,
  deleteTxn,
  setDataTxn,
  fc.record({ kind: fc.constant('setACL' as const), path: pathArb, acl: aclArb, aversion: int32Arb }),
  checkTxn,
  fc.record({ kind: fc.constant('multi' as const), parts: fc.array(multiPart, { maxLength: 4 }) }),
  fc.record({ kind: fc.constant('reconfig' as const), config: fc.string() }),
  fc.record({ kind: fc.constant('restore' as const), ...restoreFields }),
  errorTxn,
);

export const txnArb: fc.Arbitrary<Txn> = fc.record({
  zxid: zxidArb,
  timeMs: timeMsArb,
  sessionId: sessionIdArb,
  cxid: int32Arb,
  body: txnBodyArb,
});
const txnsArb = fc.array(txnArb, { maxLength: 5 });

export const snapshotArb: fc.Arbitrary<TreeSnapshot> = fc.record({
  zxid: zxidArb,
  nodes: fc.array(snapshotNodeArb, { maxLength: 5 }),
  sessions: fc.array(fc.tuple(sessionIdArb, timeoutMsArb), { maxLength: 4 }),
});

const modeArb = fc.integer({ min: 0, max: 6 }) as fc.Arbitrary<CreateModeValue>;
const createRequest = fc.record({
  op: fc.constant('create' as const),
  path: pathArb,
  data: nullableDataArb,
  acl: aclArb,
  mode: modeArb,
  ttlMs: int64Arb,
});
const deleteRequest = fc.record({ op: fc.constant('delete' as const), path: pathArb, version: int32Arb });
const setDataRequest = fc.record({
  op: fc.constant('setData' as const),
  path: pathArb,
  data: nullableDataArb,
  version: int32Arb,
});
const checkRequest = fc.record({ op: fc.constant('check' as const), path: pathArb, version: int32Arb });
const multiOp: fc.Arbitrary<MultiOp> = fc.oneof(createRequest, deleteRequest, setDataRequest, checkRequest);
/** Every PreparableRequest op. */
export const requestArb: fc.Arbitrary<PreparableRequest> = fc.oneof(
  createRequest,
  deleteRequest,
  setDataRequest,
  fc.record({ op: fc.constant('setACL' as const), path: pathArb, acl: aclArb, version: int32Arb }),
  checkRequest,
  fc.record({ op: fc.constant('multi' as const), ops: fc.array(multiOp, { maxLength: 4 }) }),
  fc.record({ op: fc.constant('createSession' as const), timeoutMs: timeoutMsArb }),
  fc.record({ op: fc.constant('closeSession' as const) }),
  fc.record({ op: fc.constant('deleteContainer' as const), path: pathArb }),
  fc.record({
    op: fc.constant('reconfig' as const),
    joiningServers: fc.option(fc.string(), { nil: null }),
    leavingServers: fc.option(fc.string(), { nil: null }),
    newMembers: fc.option(fc.string(), { nil: null }),
    fromConfig: int64Arb,
  }),
  fc.record({ op: fc.constant('restore' as const), ...restoreFields }),
);

const epoch = uint32Arb;

/** One generator per PeerMessage kind, keyed by kind so the test can cover each. */
export const messageArbs: { [K in PeerMessage['kind']]: fc.Arbitrary<Extract<PeerMessage, { kind: K }>> } = {
  notification: fc.record({
    kind: fc.constant('notification'),
    vote: fc.record({ leader: fc.oneof(serverIdArb, fc.constant(-1)), zxid: zxidArb, peerEpoch: uint32Arb }),
    electionEpoch: uint32Arb,
    state: fc.constantFrom('looking', 'following', 'leading', 'observing'),
  }),
  followerInfo: fc.record({
    kind: fc.constant('followerInfo'),
    acceptedEpoch: epoch,
    observer: fc.boolean(),
    attempt: uint53Arb,
  }),
  ackEpoch: fc.record({
    kind: fc.constant('ackEpoch'),
    epoch,
    currentEpoch: uint32Arb,
    lastZxid: zxidArb,
    promisedNow: fc.boolean(),
  }),
  ackNewLeader: fc.record({ kind: fc.constant('ackNewLeader'), epoch, attempt: uint53Arb }),
  ack: fc.record({ kind: fc.constant('ack'), epoch, zxid: zxidArb }),
  pingReply: fc.record({
    kind: fc.constant('pingReply'),
    epoch,
    touches: fc.array(sessionIdArb, { maxLength: 5 }),
    forwardedSeq: uint53Arb,
  }),
  request: fc.record({
    kind: fc.constant('request'),
    epoch,
    seq: uint53Arb,
    sessionId: sessionIdArb,
    cxid: int32Arb,
    authInfo: fc.array(idArb, { maxLength: 3 }),
    request: requestArb,
  }),
  clientSync: fc.record({
    kind: fc.constant('clientSync'),
    epoch,
    seq: uint53Arb,
    sessionId: sessionIdArb,
    cxid: int32Arb,
  }),
  revalidate: fc.record({
    kind: fc.constant('revalidate'),
    epoch,
    sessionId: sessionIdArb,
    connectionId: uint53Arb,
  }),
  leaderInfo: fc.record({ kind: fc.constant('leaderInfo'), epoch }),
  configNotice: fc.record({ kind: fc.constant('configNotice'), config: fc.string() }),
  syncBegin: fc.record({
    kind: fc.constant('syncBegin'),
    epoch,
    attempt: uint53Arb,
    mode: fc.constantFrom('diff', 'trunc', 'snap'),
    truncateTo: fc.option(zxidArb, { nil: undefined }),
    snapshotZxid: fc.option(zxidArb, { nil: undefined }),
  }),
  syncSnapshotChunk: snapshotArb.chain((snapshot) =>
    fc.record({
      kind: fc.constant('syncSnapshotChunk'),
      epoch,
      attempt: uint53Arb,
      seq: uint53Arb,
      nodes: fc.constant(snapshot.nodes),
      sessions: fc.constant(snapshot.sessions),
      last: fc.boolean(),
    }),
  ),
  syncTxns: fc.record({
    kind: fc.constant('syncTxns'),
    epoch,
    attempt: uint53Arb,
    seq: uint53Arb,
    txns: txnsArb,
  }),
  syncAck: fc.record({ kind: fc.constant('syncAck'), epoch, seq: uint53Arb, arrivals: uint53Arb }),
  newLeader: fc.record({
    kind: fc.constant('newLeader'),
    epoch,
    attempt: uint53Arb,
    lastZxid: zxidArb,
    sessionSecret: fc.uint8Array({ minLength: 1, maxLength: 64 }),
  }),
  upToDate: fc.record({ kind: fc.constant('upToDate'), epoch, commitZxid: zxidArb }),
  proposal: fc.record({ kind: fc.constant('proposal'), epoch, txns: txnsArb }),
  commit: fc.record({ kind: fc.constant('commit'), epoch, zxid: zxidArb }),
  inform: fc.record({ kind: fc.constant('inform'), epoch, txns: txnsArb }),
  ping: fc.record({ kind: fc.constant('ping'), epoch, sentThroughZxid: zxidArb, commitZxid: zxidArb }),
  leaderLeaving: fc.record({ kind: fc.constant('leaderLeaving'), epoch }),
  transferLeadership: fc.record({
    kind: fc.constant('transferLeadership'),
    epoch,
    to: fc.oneof(serverIdArb, fc.constant(-1)),
    timeoutMs: uint53Arb,
  }),
  leadershipTransfer: fc.record({
    kind: fc.constant('leadershipTransfer'),
    epoch,
    successor: serverIdArb,
    zxid: zxidArb,
  }),
  transferOutcome: fc.record({
    kind: fc.constant('transferOutcome'),
    epoch,
    outcome: fc.constantFrom('refused', 'timedOut', 'abandoned'),
    reason: fc.string(),
  }),
  clientSyncReply: fc.record({
    kind: fc.constant('clientSyncReply'),
    epoch,
    sessionId: sessionIdArb,
    cxid: int32Arb,
    zxid: zxidArb,
  }),
  revalidateReply: fc.record({
    kind: fc.constant('revalidateReply'),
    epoch,
    sessionId: sessionIdArb,
    connectionId: uint53Arb,
    valid: fc.boolean(),
  }),
};

/** Any PeerMessage. */
export const peerMessageArb: fc.Arbitrary<PeerMessage> = fc.oneof(
  ...(Object.values(messageArbs) as fc.Arbitrary<PeerMessage>[]),
);
