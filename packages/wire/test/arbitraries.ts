import {
  type ACL,
  type ClientRequest,
  type CreateModeValue,
  type CreateRequest,
  ErrorCode,
  type ErrorCodeValue,
  EventType,
  type EventTypeValue,
  type MultiOp,
  type MultiReadOp,
  type OpResult,
  type Reply,
  type Stat,
  WatcherType,
  type WatcherTypeValue,
  zxid,
} from '@zabkit/core';
import fc from 'fast-check';
import { OpCode } from '../src/index.js';

export const int32 = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.constantFrom(-(2 ** 31), -1, 0, 1, 2 ** 31 - 1),
);
const minLong = -(1n << 63n);
const maxLong = (1n << 63n) - 1n;
export const long = fc.oneof(
  fc.bigInt({ min: minLong, max: maxLong }),
  fc.constantFrom(minLong, -1n, 0n, 1n, maxLong, BigInt.asIntN(64, 0xff00_0000_0000_0001n)),
);
/** Any 64-bit zxid: Stat's zxids keep every bit. */
export const anyZxid = fc
  .oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(0n, maxLong, (1n << 64n) - 1n))
  .map(zxid);
/** A zxid used as a high-water mark: ZooKeeper compares those signed, so they stay below 2^63. */
export const markZxid = fc
  .oneof(fc.bigInt({ min: 0n, max: maxLong }), fc.constantFrom(0n, maxLong))
  .map(zxid);
export const time = fc.oneof(
  fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
  fc.constantFrom(0, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1_700_000_000_000),
);
/** Unicode text (every code point, astral ones included) and the empty string. */
export const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.constantFrom('', '/', '/zk/节点/😀'),
);
export const path = fc.oneof(
  text,
  text.map((t) => `/${t}`),
);
export const bytes = fc.oneof(fc.uint8Array({ maxLength: 48 }), fc.constant(new Uint8Array(0)));
export const strings = fc.array(text, { maxLength: 5 });

export const stat: fc.Arbitrary<Stat> = fc.record({
  czxid: anyZxid,
  mzxid: anyZxid,
  ctime: time,
  mtime: time,
  version: int32,
  cversion: int32,
  aversion: int32,
  ephemeralOwner: long,
  dataLength: int32,
  numChildren: int32,
  pzxid: anyZxid,
});

export const acl: fc.Arbitrary<ACL> = fc.record({
  perms: int32,
  id: fc.record({ scheme: text, id: text }),
});
export const acls = fc.array(acl, { maxLength: 4 });

const createMode = fc.constantFrom(0, 1, 2, 3, 4, 5, 6) as fc.Arbitrary<CreateModeValue>;
export const createRequest: fc.Arbitrary<CreateRequest> = fc
  .record({ path, data: bytes, acl: acls, mode: createMode, ttlMs: fc.oneof(fc.constant(-1n), long) })
  .map((r) => ({ op: 'create' as const, ...r }));

const watcherType = fc.constantFrom(...Object.values(WatcherType)) as fc.Arbitrary<WatcherTypeValue>;

export const multiOp: fc.Arbitrary<MultiOp> = fc.oneof(
  createRequest,
  fc.record({ op: fc.constant('delete' as const), path, version: int32 }),
  fc.record({ op: fc.constant('setData' as const), path, data: bytes, version: int32 }),
  fc.record({ op: fc.constant('check' as const), path, version: int32 }),
);
export const multiReadOp: fc.Arbitrary<MultiReadOp> = fc.oneof(
  fc.record({ op: fc.constant('getData' as const), path, watch: fc.boolean() }),
  fc.record({ op: fc.constant('getChildren' as const), path, watch: fc.boolean() }),
);

/** One arbitrary per ClientRequest kind, so every kind is exercised. */
export const requestsByOp: Record<ClientRequest['op'], fc.Arbitrary<ClientRequest>> = {
  create: createRequest,
  delete: fc.record({ op: fc.constant('delete' as const), path, version: int32 }),
  setData: fc.record({ op: fc.constant('setData' as const), path, data: bytes, version: int32 }),
  setACL: fc.record({ op: fc.constant('setACL' as const), path, acl: acls, version: int32 }),
  check: fc.record({ op: fc.constant('check' as const), path, version: int32 }),
  multi: fc.record({ op: fc.constant('multi' as const), ops: fc.array(multiOp, { maxLength: 6 }) }),
  exists: fc.record({ op: fc.constant('exists' as const), path, watch: fc.boolean() }),
  getData: fc.record({ op: fc.constant('getData' as const), path, watch: fc.boolean() }),
  getChildren: fc.record({ op: fc.constant('getChildren' as const), path, watch: fc.boolean() }),
  getAllChildrenNumber: fc.record({ op: fc.constant('getAllChildrenNumber' as const), path }),
  getEphemerals: fc.record({ op: fc.constant('getEphemerals' as const), prefixPath: path }),
  getACL: fc.record({ op: fc.constant('getACL' as const), path }),
  multiRead: fc.record({
    op: fc.constant('multiRead' as const),
    ops: fc.array(multiReadOp, { maxLength: 6 }),
  }),
  addWatch: fc.record({
    op: fc.constant('addWatch' as const),
    path,
    mode: fc.constantFrom(0 as const, 1 as const),
  }),
  removeWatches: fc.record({ op: fc.constant('removeWatches' as const), path, watcherType }),
  checkWatches: fc.record({ op: fc.constant('checkWatches' as const), path, watcherType }),
  setWatches: fc.record({
    op: fc.constant('setWatches' as const),
    relativeZxid: markZxid,
    dataWatches: strings,
    existWatches: strings,
    childWatches: strings,
    persistentWatches: fc.oneof(fc.constant([]), strings),
    persistentRecursiveWatches: fc.oneof(fc.constant([]), strings),
  }),
  sync: fc.record({ op: fc.constant('sync' as const), path }),
  reconfig: fc.record({
    op: fc.constant('reconfig' as const),
    joiningServers: fc.option(text, { nil: null }),
    leavingServers: fc.option(text, { nil: null }),
    newMembers: fc.option(text, { nil: null }),
    fromConfig: long,
  }),
  auth: fc.record({ op: fc.constant('auth' as const), scheme: text, auth: bytes }),
  whoAmI: fc.constant({ op: 'whoAmI' as const }),
  ping: fc.constant({ op: 'ping' as const }),
  closeSession: fc.constant({ op: 'closeSession' as const }),
};
export const anyRequest: fc.Arbitrary<ClientRequest> = fc.oneof(...Object.values(requestsByOp));

const failureCodes = Object.values(ErrorCode).filter((code) => code !== 0) as ErrorCodeValue[];
export const failureCode = fc.constantFrom(...failureCodes);
export const anyCode = fc.constantFrom(...(Object.values(ErrorCode) as ErrorCodeValue[]));

const writeResult: fc.Arbitrary<OpResult> = fc.oneof(
  fc.record({ op: fc.constant('create' as const), path, stat }),
  fc.constant({ op: 'delete' as const }),
  fc.record({ op: fc.constant('setData' as const), stat }),
  fc.constant({ op: 'check' as const }),
);
const readResult: fc.Arbitrary<OpResult> = fc.oneof(
  fc.record({ op: fc.constant('getData' as const), data: bytes, stat }),
  fc.record({ op: fc.constant('getChildren' as const), children: strings }),
  fc.record({ op: fc.constant('error' as const), code: failureCode }),
);
/** A failed multi as core reports it: every result an error, Ok before the failure, RuntimeInconsistency after. */
const failedMulti: fc.Arbitrary<OpResult[]> = fc
  .tuple(fc.nat({ max: 4 }), fc.nat({ max: 4 }), failureCode)
  .map(([before, after, code]) => [
    ...Array.from({ length: before }, () => ({ op: 'error' as const, code: ErrorCode.Ok })),
    { op: 'error' as const, code },
    ...Array.from({ length: after }, () => ({ op: 'error' as const, code: ErrorCode.RuntimeInconsistency })),
  ]);

/** Successful results per op, with the opcode a zabkit client sends for it (the one whose reply keeps every field). */
const okByOp: { [K in Reply['op']]: [number, fc.Arbitrary<unknown>] } = {
  create: [OpCode.create2, fc.record({ path, stat })],
  delete: [OpCode.delete, fc.constant({})],
  setData: [OpCode.setData, fc.record({ stat })],
  setACL: [OpCode.setACL, fc.record({ stat })],
  check: [OpCode.check, fc.constant({})],
  multi: [
    OpCode.multi,
    fc.record({ results: fc.oneof(fc.array(writeResult, { maxLength: 6 }), failedMulti) }),
  ],
  exists: [OpCode.exists, fc.record({ stat })],
  getData: [OpCode.getData, fc.record({ data: bytes, stat })],
  getChildren: [OpCode.getChildren2, fc.record({ children: strings, stat })],
  getAllChildrenNumber: [OpCode.getAllChildrenNumber, fc.record({ totalNumber: int32 })],
  getEphemerals: [OpCode.getEphemerals, fc.record({ ephemerals: strings })],
  getACL: [OpCode.getACL, fc.record({ acl: acls, stat })],
  sync: [OpCode.sync, fc.record({ path })],
  reconfig: [OpCode.reconfig, fc.record({ data: bytes, stat })],
  multiRead: [OpCode.multiRead, fc.record({ results: fc.array(readResult, { maxLength: 6 }) })],
  addWatch: [OpCode.addWatch, fc.constant({})],
  removeWatches: [OpCode.removeWatches, fc.constant({})],
  checkWatches: [OpCode.checkWatches, fc.constant({})],
  setWatches: [OpCode.setWatches, fc.constant({})],
  auth: [OpCode.auth, fc.constant({})],
  whoAmI: [
    OpCode.whoAmI,
    fc.record({ clientInfo: fc.array(fc.record({ authScheme: text, user: text }), { maxLength: 4 }) }),
  ],
  ping: [OpCode.ping, fc.constant({})],
  closeSession: [OpCode.closeSession, fc.constant({})],
};

/** For each op: the opcode it was sent with and a reply (success or failure) to it. */
export const repliesByOp = Object.fromEntries(
  Object.entries(okByOp).map(([op, [opcode, result]]) => [
    op,
    fc.oneof(
      result.map((r) => ({ opcode, reply: { ok: true, op, result: r } as Reply })),
      failureCode.map((code) => ({ opcode, reply: { ok: false, op, code } as Reply })),
    ),
  ]),
) as Record<Reply['op'], fc.Arbitrary<{ opcode: number; reply: Reply }>>;

export const watchEvent = fc.record({
  type: fc.constantFrom(...(Object.values(EventType) as EventTypeValue[])),
  path,
});

/** Strips the 4-byte length prefix after checking it matches. */
export function payloadOf(frame: Uint8Array): Uint8Array {
  const length = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getInt32(0);
  if (length !== frame.length - 4)
    throw new Error(`length prefix ${length} for a ${frame.length}-byte frame`);
  return frame.subarray(4);
}
