/**
 * Hand-picked values for the golden-byte tests: at least one of every peer message kind,
 * every transaction body kind and every forwarded request op, with edge values (int32
 * bounds, the largest epoch and zxid, negative session ids, container and TTL owners,
 * non-ASCII paths, empty and absent fields). Each has a stable name; the checked-in hex
 * beside it in golden/ is what the codec must write for it, byte for byte.
 */
import {
  type ACL,
  containerEphemeralOwner,
  decodedSessionId,
  Ids,
  makeZxid,
  noSessionId,
  type PeerMessage,
  type SnapshotNode,
  type TreeSnapshot,
  type Txn,
  ttlEphemeralOwner,
  type Zxid,
  zxid,
} from '@zabkit/core';

const int32Max = 2 ** 31 - 1;
const int32Min = -(2 ** 31);
const uint32Max = 2 ** 32 - 1;
const zxidMax = zxid((1n << 64n) - 1n);
const session = decodedSessionId(0x0100_0190_1234_0001n);
/** A session id with the top bit set: negative as a signed 64-bit value, as ZooKeeper's can be. */
const highSession = decodedSessionId(-0x0123_4567_89ab_cdefn);
const wallClockMs = 1_764_000_000_000;
const digestAcl: ACL[] = [
  { perms: 31, id: { scheme: 'digest', id: 'bob:Xdp1qeWk4A6ml1B6mBvwDlB1Ko0=' } },
  { perms: 1, id: { scheme: 'world', id: 'anyone' } },
];
const data = (text: string) => new TextEncoder().encode(text);

/** One of every transaction body kind, with its header. */
export const sampleTxns: Record<string, Txn> = {
  createSession: {
    zxid: makeZxid(1, 1),
    timeMs: wallClockMs,
    sessionId: session,
    cxid: 0,
    body: { kind: 'createSession', timeoutMs: 30_000 },
  },
  closeSession: {
    zxid: makeZxid(1, 2),
    timeMs: wallClockMs + 1,
    sessionId: highSession,
    cxid: -1,
    body: { kind: 'closeSession', ephemeralPaths: ['/app/lock-0000000001', '/é/日本'] },
  },
  closeSessionNoEphemerals: {
    zxid: makeZxid(1, 3),
    timeMs: 0,
    sessionId: session,
    cxid: int32Max,
    body: { kind: 'closeSession', ephemeralPaths: [] },
  },
  create: {
    zxid: makeZxid(2, 1),
    timeMs: wallClockMs,
    sessionId: session,
    cxid: 7,
    body: {
      kind: 'create',
      path: '/config',
      data: data('retries=3'),
      acl: Ids.openAclUnsafe,
      ephemeralOwner: 0n,
      parentCversion: 1,
    },
  },
  createEphemeral: {
    zxid: makeZxid(2, 2),
    timeMs: wallClockMs,
    sessionId: highSession,
    cxid: 8,
    body: {
      kind: 'create',
      path: '/service/instance-0000000042',
      data: new Uint8Array(0),
      acl: digestAcl,
      ephemeralOwner: highSession,
      parentCversion: int32Min,
    },
  },
  createContainer: {
    zxid: makeZxid(2, 3),
    timeMs: wallClockMs,
    sessionId: session,
    cxid: 9,
    body: {
      kind: 'create',
      path: '/locks',
      data: new Uint8Array(0),
      acl: Ids.openAclUnsafe,
      ephemeralOwner: containerEphemeralOwner,
      parentCversion: 2,
    },
  },
  createTtl: {
    zxid: makeZxid(2, 4),
    timeMs: wallClockMs,
    sessionId: session,
    cxid: 10,
    body: {
      kind: 'create',
      path: '/ttl',
      data: Uint8Array.of(0, 1, 2, 0xff),
      acl: Ids.openAclUnsafe,
      ephemeralOwner: ttlEphemeralOwner(60_000n),
      parentCversion: 3,
    },
  },
  delete: {
    zxid: makeZxid(2, 5),
    timeMs: wallClockMs,
    sessionId: session,
    cxid: 11,
    body: { kind: 'delete', path: '/ttl' },
  },
  setData: {
    zxid: makeZxid(2, 6),
    timeMs: wallClockMs,
    sessionId: session,
    cxid: 12,
    body: { kind: 'setData', path: '/config', data: data('retries=5'), version: int32Max },
  },
  setACL: {
    zxid: makeZxid(2, 7),
    timeMs: wallClockMs,
    sessionId: session,
    cxid: 13,
    body: { kind: 'setACL', path: '/config', acl: digestAcl, aversion: 1 },
  },
  check: {
    zxid: makeZxid(2, 8),
    timeMs: wallClockMs,
    sessionId: session,
    cxid: 14,
    body: { kind: 'check', path: '/config', version: -1 },
  },
  multi: {
    zxid: makeZxid(2, 9),
    timeMs: wallClockMs,
    sessionId: session,
    cxid: 15,
    body: {
      kind: 'multi',
      parts: [
        { kind: 'check', path: '/config', version: 1 },
        {
          kind: 'create',
          path: '/config/flag',
          data: data('on'),
          acl: Ids.openAclUnsafe,
          ephemeralOwner: 0n,
          parentCversion: 1,
        },
        { kind: 'setData', path: '/config', data: data('x'), version: 2 },
        { kind: 'delete', path: '/old' },
      ],
    },
  },
  multiFailed: {
    zxid: makeZxid(2, 10),
    timeMs: wallClockMs,
    sessionId: session,
    cxid: 16,
    body: {
      kind: 'multi',
      parts: [
        { kind: 'error', code: 0 },
        { kind: 'error', code: -101 },
        { kind: 'error', code: -2 },
      ],
    },
  },
  error: {
    zxid: makeZxid(uint32Max, 0xffff_fffe),
    timeMs: -1,
    sessionId: session,
    cxid: int32Min,
    body: { kind: 'error', code: -110 },
  },
};

/**
 * Reconfig transactions (issue 17): kept apart from sampleTxns, whose golden bytes (the
 * proposal of one of each) predate them and must not move.
 */
export const reconfigTxns: Record<string, Txn> = {
  reconfig: {
    zxid: makeZxid(3, 7),
    timeMs: wallClockMs,
    sessionId: session,
    cxid: 31,
    body: {
      kind: 'reconfig',
      config:
        'server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181\nserver.2=[::1]:2889:3889:observer\nversion=300000007',
    },
  },
};

/**
 * Transactions with null data (ZooKeeper's length -1, not empty data): kept apart from
 * sampleTxns, whose golden bytes predate null data and must not move.
 */
export const nullDataTxns: Record<string, Txn> = {
  create: {
    zxid: makeZxid(2, 11),
    timeMs: wallClockMs,
    sessionId: session,
    cxid: 17,
    body: {
      kind: 'create',
      path: '/null',
      data: null,
      acl: Ids.openAclUnsafe,
      ephemeralOwner: 0n,
      parentCversion: 4,
    },
  },
  setData: {
    zxid: makeZxid(2, 12),
    timeMs: wallClockMs,
    sessionId: session,
    cxid: 18,
    body: { kind: 'setData', path: '/config', data: null, version: 1 },
  },
  multi: {
    zxid: makeZxid(2, 13),
    timeMs: wallClockMs,
    sessionId: session,
    cxid: 19,
    body: {
      kind: 'multi',
      parts: [
        {
          kind: 'create',
          path: '/null/a',
          data: null,
          acl: Ids.openAclUnsafe,
          ephemeralOwner: 0n,
          parentCversion: 1,
        },
        { kind: 'setData', path: '/null', data: null, version: 1 },
      ],
    },
  },
};

const node = (path: string, at: Zxid, extra: Partial<SnapshotNode> = {}): SnapshotNode => ({
  path,
  data: data(path),
  acl: Ids.openAclUnsafe,
  czxid: at,
  mzxid: at,
  pzxid: at,
  ctime: wallClockMs,
  mtime: wallClockMs,
  version: 0,
  cversion: 0,
  aversion: 0,
  ephemeralOwner: 0n,
  ...extra,
});

/** Snapshot nodes of each kind: root, persistent, ephemeral, container, TTL, odd Stat values. */
export const sampleNodes: SnapshotNode[] = [
  node('/', zxid(0n), { data: new Uint8Array(0), ctime: 0, mtime: 0, cversion: 2 }),
  node('/config', makeZxid(2, 1), { mzxid: makeZxid(2, 6), version: int32Max, aversion: 1, acl: digestAcl }),
  node('/service/instance-0000000042', makeZxid(2, 2), { ephemeralOwner: highSession }),
  node('/locks', makeZxid(2, 3), { ephemeralOwner: containerEphemeralOwner, cversion: int32Min }),
  node('/ttl', makeZxid(2, 4), { ephemeralOwner: ttlEphemeralOwner(60_000n), pzxid: zxidMax }),
];

/** A snapshot node whose data is null, next to one whose data is empty. */
export const nullDataNodes: SnapshotNode[] = [
  node('/null', makeZxid(2, 11), { data: null }),
  node('/empty', makeZxid(2, 11), { data: new Uint8Array(0) }),
];

export const sampleSnapshot: TreeSnapshot = {
  zxid: makeZxid(2, 10),
  nodes: sampleNodes,
  sessions: [
    [session, 30_000],
    [highSession, 4_000],
  ],
};

/**
 * A restore transaction (the admin restore on an ensemble member): kept apart from
 * sampleTxns, whose golden bytes predate it and must not move.
 */
export const restoreTxns: Record<string, Txn> = {
  restore: {
    zxid: makeZxid(3, 9),
    timeMs: wallClockMs,
    sessionId: noSessionId,
    cxid: -1,
    body: {
      kind: 'restore',
      token: '2:00ff00ff00ff00ff',
      nodes: [...sampleNodes, ...nullDataNodes],
      sessions: sampleSnapshot.sessions,
    },
  },
};

const t = sampleTxns;

/** Every PeerMessage kind at least once; requests once per forwarded op. */
export const sampleMessages: Record<string, PeerMessage> = {
  'notification/looking': {
    kind: 'notification',
    vote: { leader: 3, zxid: makeZxid(5, 17), peerEpoch: 5 },
    electionEpoch: 12,
    state: 'looking',
  },
  'notification/following': {
    kind: 'notification',
    vote: { leader: 254, zxid: zxidMax, peerEpoch: uint32Max },
    electionEpoch: uint32Max,
    state: 'following',
  },
  'notification/leading': {
    kind: 'notification',
    vote: { leader: 1, zxid: zxid(0n), peerEpoch: 0 },
    electionEpoch: 0,
    state: 'leading',
  },
  'notification/observing': {
    kind: 'notification',
    vote: { leader: 2, zxid: makeZxid(1, 0), peerEpoch: 1 },
    electionEpoch: 1,
    state: 'observing',
  },
  // An observer looking for its leader proposes nobody.
  'notification/observerLooking': {
    kind: 'notification',
    vote: { leader: -1, zxid: makeZxid(1, 4), peerEpoch: 1 },
    electionEpoch: 2,
    state: 'looking',
  },
  followerInfo: { kind: 'followerInfo', acceptedEpoch: 4, observer: false, attempt: 1_764_000_000_000_003 },
  'followerInfo/observer': { kind: 'followerInfo', acceptedEpoch: uint32Max, observer: true, attempt: 0 },
  ackEpoch: { kind: 'ackEpoch', epoch: 5, currentEpoch: 4, lastZxid: makeZxid(4, 99), promisedNow: true },
  'ackEpoch/promisedBefore': {
    kind: 'ackEpoch',
    epoch: 5,
    currentEpoch: 4,
    lastZxid: makeZxid(4, 99),
    promisedNow: false,
  },
  ackNewLeader: { kind: 'ackNewLeader', epoch: 5, attempt: 1_733_000_000_123_004 },
  ack: { kind: 'ack', epoch: 3, zxid: makeZxid(3, 7) },
  pingReply: {
    kind: 'pingReply',
    epoch: 5,
    touches: [session, highSession, decodedSessionId(1n)],
    forwardedSeq: 41,
  },
  'pingReply/empty': { kind: 'pingReply', epoch: 5, touches: [], forwardedSeq: 0 },
  'request/create': {
    kind: 'request',
    epoch: 5,
    seq: 1,
    sessionId: session,
    cxid: 3,
    authInfo: [
      { scheme: 'ip', id: '127.0.0.1' },
      { scheme: 'digest', id: 'bob:Xdp1qeWk4A6ml1B6mBvwDlB1Ko0=' },
    ],
    request: { op: 'create', path: '/a-', data: data('v'), acl: digestAcl, mode: 3, ttlMs: -1n },
  },
  'request/createTtl': {
    kind: 'request',
    epoch: 5,
    seq: 2,
    sessionId: session,
    cxid: 4,
    authInfo: [],
    request: {
      op: 'create',
      path: '/t',
      data: new Uint8Array(0),
      acl: Ids.openAclUnsafe,
      mode: 5,
      ttlMs: 60_000n,
    },
  },
  'request/delete': {
    kind: 'request',
    epoch: 5,
    seq: 3,
    sessionId: highSession,
    cxid: 5,
    authInfo: [],
    request: { op: 'delete', path: '/t', version: -1 },
  },
  'request/setData': {
    kind: 'request',
    epoch: 5,
    seq: 4,
    sessionId: session,
    cxid: int32Max,
    authInfo: [],
    request: { op: 'setData', path: '/a', data: data('é'), version: 3 },
  },
  'request/setACL': {
    kind: 'request',
    epoch: 5,
    seq: 5,
    sessionId: session,
    cxid: 6,
    authInfo: [],
    request: { op: 'setACL', path: '/a', acl: Ids.openAclUnsafe, version: 0 },
  },
  'request/check': {
    kind: 'request',
    epoch: 5,
    seq: 6,
    sessionId: session,
    cxid: 7,
    authInfo: [],
    request: { op: 'check', path: '/a', version: int32Min },
  },
  'request/multi': {
    kind: 'request',
    epoch: 5,
    seq: 7,
    sessionId: session,
    cxid: 8,
    authInfo: [],
    request: {
      op: 'multi',
      ops: [
        { op: 'check', path: '/a', version: 1 },
        { op: 'create', path: '/a/b', data: data('x'), acl: Ids.openAclUnsafe, mode: 0, ttlMs: -1n },
        { op: 'setData', path: '/a', data: data('y'), version: -1 },
        { op: 'delete', path: '/a/c', version: 2 },
      ],
    },
  },
  'request/createSession': {
    kind: 'request',
    epoch: 5,
    seq: 8,
    sessionId: session,
    cxid: 0,
    authInfo: [],
    request: { op: 'createSession', timeoutMs: 30_000 },
  },
  'request/closeSession': {
    kind: 'request',
    epoch: 5,
    seq: 9,
    sessionId: session,
    cxid: -11,
    authInfo: [],
    request: { op: 'closeSession' },
  },
  'request/deleteContainer': {
    kind: 'request',
    epoch: 5,
    seq: 2 ** 53 - 1,
    sessionId: noSessionId,
    cxid: -1,
    authInfo: [],
    request: { op: 'deleteContainer', path: '/locks' },
  },
  'request/reconfig': {
    kind: 'request',
    epoch: 5,
    seq: 11,
    sessionId: session,
    cxid: 32,
    authInfo: [{ scheme: 'super', id: 'super' }],
    request: {
      op: 'reconfig',
      joiningServers: 'server.4=10.0.0.4:2888:3888:participant;2181',
      leavingServers: null,
      newMembers: null,
      fromConfig: -1n,
    },
  },
  'request/reconfigWhole': {
    kind: 'request',
    epoch: 5,
    seq: 12,
    sessionId: session,
    cxid: 33,
    authInfo: [],
    request: {
      op: 'reconfig',
      joiningServers: null,
      leavingServers: '3',
      newMembers: 'server.1=a:1:2,server.2=b:1:2',
      fromConfig: 0x1_0000_0002n,
    },
  },
  'proposal/reconfig': { kind: 'proposal', epoch: 3, txns: Object.values(reconfigTxns) },
  'proposal/restore': { kind: 'proposal', epoch: 3, txns: Object.values(restoreTxns) },
  'request/restore': {
    kind: 'request',
    epoch: 3,
    seq: 13,
    sessionId: noSessionId,
    cxid: -1,
    authInfo: [],
    request: {
      op: 'restore',
      token: '2:00ff00ff00ff00ff',
      nodes: nullDataNodes,
      sessions: [[session, 30_000]],
    },
  },
  configNotice: {
    kind: 'configNotice',
    config:
      'server.1=10.0.0.1:2888:3888:participant;0.0.0.0:2181\nserver.4=10.0.0.4:2888:3888:observer\nversion=500000003',
  },
  clientSync: { kind: 'clientSync', epoch: 5, seq: 10, sessionId: session, cxid: 21 },
  revalidate: { kind: 'revalidate', epoch: 5, sessionId: highSession, connectionId: 17 },
  leaderInfo: { kind: 'leaderInfo', epoch: 6 },
  'syncBegin/diff': {
    kind: 'syncBegin',
    epoch: 6,
    attempt: 3,
    mode: 'diff',
    truncateTo: undefined,
    snapshotZxid: undefined,
  },
  'syncBegin/trunc': {
    kind: 'syncBegin',
    epoch: 6,
    attempt: 3,
    mode: 'trunc',
    truncateTo: makeZxid(2, 5),
    snapshotZxid: undefined,
  },
  'syncBegin/snap': {
    kind: 'syncBegin',
    epoch: 6,
    attempt: 3,
    mode: 'snap',
    truncateTo: undefined,
    snapshotZxid: sampleSnapshot.zxid,
  },
  'syncSnapshotChunk/first': {
    kind: 'syncSnapshotChunk',
    epoch: 6,
    attempt: 3,
    seq: 1,
    nodes: sampleSnapshot.nodes,
    sessions: sampleSnapshot.sessions,
    last: false,
  },
  'syncSnapshotChunk/last': {
    kind: 'syncSnapshotChunk',
    epoch: 6,
    attempt: 3,
    seq: 2 ** 53 - 1,
    nodes: sampleSnapshot.nodes.slice(0, 1),
    sessions: [],
    last: true,
  },
  'syncSnapshotChunk/empty': {
    kind: 'syncSnapshotChunk',
    epoch: 1,
    attempt: 3,
    seq: 1,
    nodes: [],
    sessions: [],
    last: true,
  },
  syncTxns: {
    kind: 'syncTxns',
    epoch: 6,
    attempt: 3,
    seq: 3,
    txns: [t.create!, t.createEphemeral!, t.setData!],
  },
  'syncTxns/empty': { kind: 'syncTxns', epoch: 6, attempt: 3, seq: 4, txns: [] },
  syncAck: { kind: 'syncAck', epoch: 6, seq: 2, arrivals: 5 },
  newLeader: {
    kind: 'newLeader',
    epoch: 6,
    attempt: 3,
    lastZxid: makeZxid(6, 0),
    sessionSecret: Uint8Array.from({ length: 32 }, (_v, i) => i),
  },
  upToDate: { kind: 'upToDate', epoch: 6, commitZxid: makeZxid(5, 123_456) },
  'proposal/oneOfEach': { kind: 'proposal', epoch: 2, txns: Object.values(sampleTxns) },
  'proposal/one': { kind: 'proposal', epoch: 2, txns: [t.setData!] },
  'proposal/nullData': { kind: 'proposal', epoch: 2, txns: Object.values(nullDataTxns) },
  'request/createNullData': {
    kind: 'request',
    epoch: 5,
    seq: 9,
    sessionId: session,
    cxid: 30,
    authInfo: [],
    request: { op: 'create', path: '/null', data: null, acl: Ids.openAclUnsafe, mode: 0, ttlMs: -1n },
  },
  'request/setNullData': {
    kind: 'request',
    epoch: 5,
    seq: 10,
    sessionId: session,
    cxid: 31,
    authInfo: [],
    request: { op: 'setData', path: '/null', data: null, version: -1 },
  },
  'syncSnapshotChunk/nullData': {
    kind: 'syncSnapshotChunk',
    epoch: 6,
    attempt: 3,
    seq: 3,
    nodes: nullDataNodes,
    sessions: [],
    last: false,
  },
  'syncTxns/nullData': { kind: 'syncTxns', epoch: 6, attempt: 3, seq: 4, txns: Object.values(nullDataTxns) },
  commit: { kind: 'commit', epoch: 2, zxid: makeZxid(2, 9) },
  inform: { kind: 'inform', epoch: 2, txns: [t.multi!, t.multiFailed!] },
  ping: { kind: 'ping', epoch: 3, sentThroughZxid: makeZxid(3, 17), commitZxid: makeZxid(3, 15) },
  'ping/largestEpoch': { kind: 'ping', epoch: uint32Max, sentThroughZxid: zxidMax, commitZxid: zxidMax },
  leaderLeaving: { kind: 'leaderLeaving', epoch: 7 },
  transferLeadership: { kind: 'transferLeadership', epoch: 7, to: 2, timeoutMs: 30_000 },
  'transferLeadership/any': { kind: 'transferLeadership', epoch: 7, to: -1, timeoutMs: 5000 },
  leadershipTransfer: { kind: 'leadershipTransfer', epoch: 7, successor: 1, zxid: makeZxid(7, 12) },
  transferOutcome: {
    kind: 'transferOutcome',
    epoch: 7,
    outcome: 'refused',
    reason: 'server 3 is not synced with this leader',
  },
  'transferOutcome/timedOut': { kind: 'transferOutcome', epoch: 7, outcome: 'timedOut', reason: '' },
  'transferOutcome/abandoned': {
    kind: 'transferOutcome',
    epoch: 7,
    outcome: 'abandoned',
    reason: 'lost server 2 while handing leadership over to it',
  },
  clientSyncReply: { kind: 'clientSyncReply', epoch: 5, sessionId: session, cxid: 22, zxid: makeZxid(5, 4) },
  revalidateReply: {
    kind: 'revalidateReply',
    epoch: 5,
    sessionId: highSession,
    connectionId: 17,
    valid: true,
  },
  'revalidateReply/invalid': {
    kind: 'revalidateReply',
    epoch: 5,
    sessionId: session,
    connectionId: 2 ** 40,
    valid: false,
  },
};
