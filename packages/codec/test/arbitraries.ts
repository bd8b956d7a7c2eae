/** fast-check generators for every PeerMessage, typed so a new message field fails to compile here. */
import type {
  ACL,
  CreateModeValue,
  ErrorCodeValue,
  Id,
  MultiOp,
  MultiPartTxn,
  PeerMessage,
  PreparableRequest,
  SnapshotNode,
  TreeSnapshot,
  Txn,
  TxnBody,
  Zxid,
} from '@zabkit/core';
import fc from 'fast-check';

export const zxidArb: fc.Arbitrary<Zxid> = fc
  .bigInt({ min: 0n, max: (1n << 64n) - 1n })
  .map((v) => v as Zxid);
/** Session ids and owners: signed and unsigned 64-bit, plus the odd value beyond both. */
export const bigArb = fc.oneof(
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
  fc.bigInt({ min: 1n << 63n, max: (1n << 64n) - 1n }),
  fc.bigInt({ min: -(1n << 80n), max: 1n << 80n }),
  fc.constantFrom(0n, -1n, 1n),
);
/** Numbers of every shape: small ints, int32 edges, large and fractional doubles, -0, NaN. */
export const numArb = fc.oneof(
  fc.integer({ min: -5, max: 200 }),
  fc.integer(),
  fc.constantFrom(2 ** 31, -(2 ** 31), 2 ** 31 - 1, 2 ** 53, -0, Number.NaN, Number.POSITIVE_INFINITY, 0.5),
  fc.double(),
);
const strArb = fc.string({ maxLength: 20 });
const pathArb = fc.oneof(
  fc.constantFrom('/', '/a', '/zookeeper/quota', '/é/日本'),
  fc.array(fc.string({ minLength: 1, maxLength: 6 })).map((parts) => `/${parts.join('/')}`),
);
const bytesArb = fc.uint8Array({ maxLength: 40 });
const idArb: fc.Arbitrary<Id> = fc.record({ scheme: strArb, id: strArb });
const aclArb: fc.Arbitrary<ACL[]> = fc.array(
  fc.record({ perms: fc.integer({ min: 0, max: 31 }), id: idArb }),
  {
    maxLength: 3,
  },
);
const codeArb = fc.constantFrom(0, -101, -110, -2, -112) as fc.Arbitrary<ErrorCodeValue>;

const createTxn = fc.record({
  kind: fc.constant('create' as const),
  path: pathArb,
  data: bytesArb,
  acl: aclArb,
  ephemeralOwner: bigArb,
  parentCversion: numArb,
});
const deleteTxn = fc.record({ kind: fc.constant('delete' as const), path: pathArb });
const setDataTxn = fc.record({
  kind: fc.constant('setData' as const),
  path: pathArb,
  data: bytesArb,
  version: numArb,
});
const checkTxn = fc.record({ kind: fc.constant('check' as const), path: pathArb, version: numArb });
const errorTxn = fc.record({ kind: fc.constant('error' as const), code: codeArb });
const multiPart: fc.Arbitrary<MultiPartTxn> = fc.oneof(createTxn, deleteTxn, setDataTxn, checkTxn, errorTxn);

/** Every TxnBody kind. */
export const txnBodyArb: fc.Arbitrary<TxnBody> = fc.oneof(
  fc.record({ kind: fc.constant('createSession' as const), timeoutMs: numArb }),
  fc.record({
    kind: fc.constant('closeSession' as const),
    ephemeralPaths: fc.array(pathArb, { maxLength: 4 }),
  }),
  createTxn,
  deleteTxn,
  setDataTxn,
  fc.record({ kind: fc.constant('setACL' as const), path: pathArb, acl: aclArb, aversion: numArb }),
  checkTxn,
  fc.record({ kind: fc.constant('multi' as const), parts: fc.array(multiPart, { maxLength: 4 }) }),
  errorTxn,
);

export const txnArb: fc.Arbitrary<Txn> = fc.record({
  zxid: zxidArb,
  timeMs: numArb,
  sessionId: bigArb,
  cxid: numArb,
  body: txnBodyArb,
});
const txnsArb = fc.array(txnArb, { maxLength: 5 });

const snapshotNodeArb: fc.Arbitrary<SnapshotNode> = fc.record({
  path: pathArb,
  data: bytesArb,
  acl: aclArb,
  czxid: zxidArb,
  mzxid: zxidArb,
  pzxid: zxidArb,
  ctime: numArb,
  mtime: numArb,
  version: numArb,
  cversion: numArb,
  aversion: numArb,
  ephemeralOwner: bigArb,
});
export const snapshotArb: fc.Arbitrary<TreeSnapshot> = fc.record({
  zxid: zxidArb,
  nodes: fc.array(snapshotNodeArb, { maxLength: 5 }),
  sessions: fc.array(fc.tuple(bigArb, numArb), { maxLength: 4 }),
});

const modeArb = fc.integer({ min: 0, max: 6 }) as fc.Arbitrary<CreateModeValue>;
const createRequest = fc.record({
  op: fc.constant('create' as const),
  path: pathArb,
  data: bytesArb,
  acl: aclArb,
  mode: modeArb,
  ttlMs: bigArb,
});
const deleteRequest = fc.record({ op: fc.constant('delete' as const), path: pathArb, version: numArb });
const setDataRequest = fc.record({
  op: fc.constant('setData' as const),
  path: pathArb,
  data: bytesArb,
  version: numArb,
});
const checkRequest = fc.record({ op: fc.constant('check' as const), path: pathArb, version: numArb });
const multiOp: fc.Arbitrary<MultiOp> = fc.oneof(createRequest, deleteRequest, setDataRequest, checkRequest);
/** Every PreparableRequest op. */
export const requestArb: fc.Arbitrary<PreparableRequest> = fc.oneof(
  createRequest,
  deleteRequest,
  setDataRequest,
  fc.record({ op: fc.constant('setACL' as const), path: pathArb, acl: aclArb, version: numArb }),
  checkRequest,
  fc.record({ op: fc.constant('multi' as const), ops: fc.array(multiOp, { maxLength: 4 }) }),
  fc.record({ op: fc.constant('createSession' as const), timeoutMs: numArb }),
  fc.record({ op: fc.constant('closeSession' as const) }),
  fc.record({ op: fc.constant('deleteContainer' as const), path: pathArb }),
);

const epoch = numArb;

/** One generator per PeerMessage kind, keyed by kind so the test can cover each. */
export const messageArbs: { [K in PeerMessage['kind']]: fc.Arbitrary<Extract<PeerMessage, { kind: K }>> } = {
  notification: fc.record({
    kind: fc.constant('notification'),
    vote: fc.record({ leader: numArb, zxid: zxidArb, peerEpoch: numArb }),
    electionEpoch: numArb,
    state: fc.constantFrom('looking', 'following', 'leading', 'observing'),
  }),
  followerInfo: fc.record({
    kind: fc.constant('followerInfo'),
    acceptedEpoch: epoch,
    observer: fc.boolean(),
    attempt: numArb,
  }),
  ackEpoch: fc.record({ kind: fc.constant('ackEpoch'), epoch, currentEpoch: numArb, lastZxid: zxidArb }),
  ackNewLeader: fc.record({ kind: fc.constant('ackNewLeader'), epoch }),
  ack: fc.record({ kind: fc.constant('ack'), epoch, zxid: zxidArb }),
  pingReply: fc.record({
    kind: fc.constant('pingReply'),
    epoch,
    touches: fc.array(bigArb, { maxLength: 5 }),
  }),
  request: fc.record({
    kind: fc.constant('request'),
    epoch,
    seq: numArb,
    sessionId: bigArb,
    cxid: numArb,
    authInfo: fc.array(idArb, { maxLength: 3 }),
    request: requestArb,
  }),
  clientSync: fc.record({
    kind: fc.constant('clientSync'),
    epoch,
    seq: numArb,
    sessionId: bigArb,
    cxid: numArb,
  }),
  revalidate: fc.record({ kind: fc.constant('revalidate'), epoch, sessionId: bigArb, connectionId: numArb }),
  leaderInfo: fc.record({ kind: fc.constant('leaderInfo'), epoch }),
  learnerSync: fc.record({
    kind: fc.constant('learnerSync'),
    epoch,
    mode: fc.constantFrom('diff', 'trunc', 'snap'),
    truncateTo: fc.option(zxidArb, { nil: undefined }),
    snapshot: fc.option(snapshotArb, { nil: undefined }),
    txns: txnsArb,
  }),
  newLeader: fc.record({ kind: fc.constant('newLeader'), epoch, lastZxid: zxidArb }),
  upToDate: fc.record({ kind: fc.constant('upToDate'), epoch, commitZxid: zxidArb }),
  proposal: fc.record({ kind: fc.constant('proposal'), epoch, txns: txnsArb }),
  commit: fc.record({ kind: fc.constant('commit'), epoch, zxid: zxidArb }),
  inform: fc.record({ kind: fc.constant('inform'), epoch, txns: txnsArb }),
  ping: fc.record({ kind: fc.constant('ping'), epoch }),
  clientSyncReply: fc.record({
    kind: fc.constant('clientSyncReply'),
    epoch,
    sessionId: bigArb,
    cxid: numArb,
    zxid: zxidArb,
  }),
  revalidateReply: fc.record({
    kind: fc.constant('revalidateReply'),
    epoch,
    sessionId: bigArb,
    connectionId: numArb,
    valid: fc.boolean(),
  }),
};

/** Any PeerMessage. */
export const peerMessageArb: fc.Arbitrary<PeerMessage> = fc.oneof(
  ...(Object.values(messageArbs) as fc.Arbitrary<PeerMessage>[]),
);
