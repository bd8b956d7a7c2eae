/**
 * Requests: RequestHeader{xid, type} + body. The server decodes every wire variant into
 * core's ClientRequest (create/create2/createContainer/createTTL all become `create`,
 * getChildren/getChildren2 become `getChildren`, setWatches/setWatches2 become
 * `setWatches`) and keeps the wire opcodes the reply must match. The client encodes each
 * ClientRequest with the richest variant, so every answer carries a Stat where one exists.
 *
 * Bytes after a complete record are ignored, as ZooKeeper's own deserializers do: a frame's
 * length already bounds it, and rejecting would only break clients that pad.
 */
import {
  AddWatchMode,
  type AddWatchModeValue,
  type ClientRequest,
  CreateMode,
  type CreateModeValue,
  type CreateRequest,
  ErrorCode,
  isTtlMode,
  type MultiOp,
  type MultiReadOp,
  WatcherType,
  type WatcherTypeValue,
} from '@zabkit/core';
import { OpCode } from './constants.js';
import { RequestRejectedError, UnknownOpCodeError, WireDecodeError } from './errors.js';
import { JuteReader, JuteWriter } from './jute.js';
import { readAcl, readZxidMark, writeAcl } from './records.js';

/**
 * A request as the server decoded it. `opcode` and `multiOpcodes` are what `encodeReply`
 * needs to answer in the shape the client expects (create vs create2, getChildren vs
 * getChildren2, and the same per op inside a multi).
 */
export interface DecodedRequest {
  readonly xid: number;
  readonly opcode: number;
  readonly request: ClientRequest;
  /** For multi and multiRead: each op's wire opcode, in order. */
  readonly multiOpcodes?: readonly number[];
}

/** How the client picks wire variants. The defaults suit ZooKeeper 3.5 and later. */
export interface EncodeOptions {
  /** Send plain creates as create2 (15), so replies carry the Stat. Default true. */
  readonly create2?: boolean;
  /** Send getChildren as getChildren2 (12), so replies carry the Stat. Default true. */
  readonly getChildren2?: boolean;
}

const addWatchModes: ReadonlySet<number> = new Set(Object.values(AddWatchMode));
const watcherTypes: ReadonlySet<number> = new Set(Object.values(WatcherType));

/**
 * A request's path. ZooKeeper looks paths up as given, so a malformed one is the core's to
 * answer; a null one (length -1) makes ZooKeeper fail inside (MarshallingError), and is
 * malformed here.
 */
function readPath(reader: JuteReader): string {
  const path = reader.ustring();
  if (path === null) throw new WireDecodeError('null path');
  return path;
}

/**
 * A create. Flags that name no create mode are passed on as they are: the core answers them
 * with BadArguments in preparation, as ZooKeeper's CreateMode.fromFlag does (so a multi gets a
 * BadArguments result for that op, and the failure takes a zxid, as there).
 */
function readCreate(reader: JuteReader, opcode: number): CreateRequest {
  const path = readPath(reader);
  const data = reader.buffer();
  const acl = reader.list(readAcl);
  const flags = reader.int();
  const ttlMs = opcode === OpCode.createTTL ? reader.long() : -1n;
  // Opcode 19 means a container whatever the flags say: core cannot carry the mismatch.
  const mode = opcode === OpCode.createContainer ? CreateMode.Container : (flags as CreateModeValue);
  return { op: 'create', path, data, acl, mode, ttlMs };
}

function readPathWatch<Op extends 'exists' | 'getData' | 'getChildren'>(reader: JuteReader, op: Op) {
  const path = readPath(reader);
  const watch = reader.boolean();
  return { op, path, watch };
}

interface MultiHeader {
  readonly type: number;
  readonly done: boolean;
  readonly err: number;
}

function readMultiHeader(reader: JuteReader): MultiHeader {
  return { type: reader.int(), done: reader.boolean(), err: reader.int() };
}

/** Reads multi ops until the done marker; each header takes 9 bytes, so this always ends. */
function readMultiOps<T>(reader: JuteReader, readOp: (type: number) => T): { ops: T[]; opcodes: number[] } {
  const ops: T[] = [];
  const opcodes: number[] = [];
  let header = readMultiHeader(reader);
  while (!header.done) {
    ops.push(readOp(header.type));
    opcodes.push(header.type);
    header = readMultiHeader(reader);
  }
  return { ops, opcodes };
}

function readWriteOp(reader: JuteReader, type: number): MultiOp {
  switch (type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL:
      return readCreate(reader, type);
    case OpCode.delete:
      return { op: 'delete', path: readPath(reader), version: reader.int() };
    case OpCode.setData:
      return { op: 'setData', path: readPath(reader), data: reader.buffer(), version: reader.int() };
    case OpCode.check:
      return { op: 'check', path: readPath(reader), version: reader.int() };
    default:
      // setACL, a read, or anything else: ZooKeeper's MultiOperationRecord refuses it.
      throw new WireDecodeError(`op type ${type} not allowed in a multi`);
  }
}

function readReadOp(reader: JuteReader, type: number): MultiReadOp {
  switch (type) {
    case OpCode.getData:
      return readPathWatch(reader, 'getData');
    case OpCode.getChildren:
      return readPathWatch(reader, 'getChildren');
    default:
      throw new WireDecodeError(`op type ${type} not allowed in a multiRead`);
  }
}

/** ZooKeeper's WatcherType.fromInt throws for an unknown type: MarshallingError, as any body it cannot read. */
function readWatcherType(reader: JuteReader): WatcherTypeValue {
  const type = reader.int();
  if (!watcherTypes.has(type)) throw new WireDecodeError(`unknown watcher type ${type}`);
  return type as WatcherTypeValue;
}

/**
 * Opcodes ZooKeeper's server takes (Request.isValid, plus auth and sasl) that zabkit does not
 * serve: answered Unimplemented with the connection kept. Any other opcode is one ZooKeeper
 * answers Unimplemented and then closes the connection for.
 */
const knownButUnserved: ReadonlySet<number> = new Set([
  OpCode.deleteContainer,
  OpCode.createSession,
  OpCode.sasl,
]);

/**
 * Decodes one request frame payload (after the length prefix: RequestHeader + body), with
 * ZooKeeper's outcomes for what it cannot serve:
 * - a RequestHeader that does not decode, or an auth packet that does not: WireDecodeError
 *   (close the connection), as ZooKeeper closes it;
 * - an unknown opcode: UnknownOpCodeError (Unimplemented; `closesConnection` unless it is one
 *   ZooKeeper knows);
 * - a body that does not decode, a null path, a multi holding an op it may not (setACL, a
 *   read, reads and writes mixed), an unknown watch mode or watcher type: RequestRejectedError
 *   with MarshallingError, the connection kept, as ZooKeeper's request processors answer;
 * For a RequestRejectedError, answer `error.code` with `error.xid` and carry on.
 */
export function decodeRequest(frame: Uint8Array): DecodedRequest {
  const reader = new JuteReader(frame);
  const xid = reader.int();
  const opcode = reader.int();
  try {
    return decodeBody(reader, xid, opcode);
  } catch (error) {
    if (error instanceof WireDecodeError && opcode !== OpCode.auth) {
      throw new RequestRejectedError(xid, opcode, ErrorCode.MarshallingError, error.reason);
    }
    throw error;
  }
}

function decodeBody(reader: JuteReader, xid: number, opcode: number): DecodedRequest {
  switch (opcode) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL:
      return {
        xid,
        opcode,
        request: readCreate(reader, opcode),
      };
    case OpCode.delete:
      return { xid, opcode, request: { op: 'delete', path: readPath(reader), version: reader.int() } };
    case OpCode.exists:
      return { xid, opcode, request: readPathWatch(reader, 'exists') };
    case OpCode.getData:
      return { xid, opcode, request: readPathWatch(reader, 'getData') };
    case OpCode.setData: {
      const path = readPath(reader);
      const data = reader.buffer();
      return { xid, opcode, request: { op: 'setData', path, data, version: reader.int() } };
    }
    case OpCode.getACL:
      return { xid, opcode, request: { op: 'getACL', path: readPath(reader) } };
    case OpCode.setACL: {
      const path = readPath(reader);
      const acl = reader.list(readAcl);
      return { xid, opcode, request: { op: 'setACL', path, acl, version: reader.int() } };
    }
    case OpCode.getChildren:
    case OpCode.getChildren2:
      return { xid, opcode, request: readPathWatch(reader, 'getChildren') };
    case OpCode.sync:
      return { xid, opcode, request: { op: 'sync', path: readPath(reader) } };
    case OpCode.ping:
      return { xid, opcode, request: { op: 'ping' } };
    case OpCode.check:
      return { xid, opcode, request: { op: 'check', path: readPath(reader), version: reader.int() } };
    case OpCode.multi: {
      const { ops, opcodes } = readMultiOps(reader, (type) => readWriteOp(reader, type));
      return { xid, opcode, request: { op: 'multi', ops }, multiOpcodes: opcodes };
    }
    case OpCode.multiRead: {
      const { ops, opcodes } = readMultiOps(reader, (type) => readReadOp(reader, type));
      return { xid, opcode, request: { op: 'multiRead', ops }, multiOpcodes: opcodes };
    }
    case OpCode.auth: {
      reader.int(); // AuthPacket.type: unused by every client and server
      const scheme = reader.string();
      return { xid, opcode, request: { op: 'auth', scheme, auth: reader.bytesOrEmpty() } };
    }
    case OpCode.setWatches:
    case OpCode.setWatches2: {
      const relativeZxid = readZxidMark(reader);
      const dataWatches = reader.strings();
      const existWatches = reader.strings();
      const childWatches = reader.strings();
      const two = opcode === OpCode.setWatches2;
      const persistentWatches = two ? reader.strings() : [];
      const persistentRecursiveWatches = two ? reader.strings() : [];
      return {
        xid,
        opcode,
        request: {
          op: 'setWatches',
          relativeZxid,
          dataWatches,
          existWatches,
          childWatches,
          persistentWatches,
          persistentRecursiveWatches,
        },
      };
    }
    case OpCode.addWatch: {
      const path = readPath(reader);
      const mode = reader.int();
      // AddWatchMode.fromValue throws: MarshallingError, as any body ZooKeeper cannot read.
      if (!addWatchModes.has(mode)) throw new WireDecodeError(`unknown addWatch mode ${mode}`);
      return { xid, opcode, request: { op: 'addWatch', path, mode: mode as AddWatchModeValue } };
    }
    case OpCode.removeWatches:
    case OpCode.checkWatches: {
      const path = readPath(reader);
      const watcherType = readWatcherType(reader);
      const op = opcode === OpCode.removeWatches ? 'removeWatches' : 'checkWatches';
      return { xid, opcode, request: { op, path, watcherType } };
    }
    case OpCode.getEphemerals:
      return { xid, opcode, request: { op: 'getEphemerals', prefixPath: reader.string() } };
    case OpCode.getAllChildrenNumber:
      return { xid, opcode, request: { op: 'getAllChildrenNumber', path: readPath(reader) } };
    case OpCode.whoAmI:
      return { xid, opcode, request: { op: 'whoAmI' } };
    case OpCode.closeSession:
      return { xid, opcode, request: { op: 'closeSession' } };
    case OpCode.reconfig: {
      // ReconfigRequest: each list a ustring (null when absent), then curConfigId. What the
      // lists say is the leader's to judge (BadArguments), as ZooKeeper's PrepRequestProcessor
      // does; so is whether reconfiguration is enabled at all (ReconfigDisabled).
      const joiningServers = reader.ustring();
      const leavingServers = reader.ustring();
      const newMembers = reader.ustring();
      const fromConfig = reader.long();
      return {
        xid,
        opcode,
        request: { op: 'reconfig', joiningServers, leavingServers, newMembers, fromConfig },
      };
    }
    default:
      throw new UnknownOpCodeError(xid, opcode, !knownButUnserved.has(opcode));
  }
}

function createOpcode(request: CreateRequest, options: EncodeOptions): number {
  if (isTtlMode(request.mode) || request.ttlMs !== -1n) return OpCode.createTTL;
  if (request.mode === CreateMode.Container) return OpCode.createContainer;
  return options.create2 === false ? OpCode.create : OpCode.create2;
}

/**
 * The wire opcode `encodeRequest` uses for a request; the client remembers it per xid to
 * decode the reply. create: createTTL (21) for a TTL mode or any ttl other than -1,
 * createContainer (19) for containers, else create2 (15); getChildren: getChildren2 (12);
 * setWatches: setWatches2 (105) only when it carries persistent watches, else setWatches
 * (101), which every server version knows.
 */
export function opcodeOf(request: ClientRequest, options: EncodeOptions = {}): number {
  switch (request.op) {
    case 'create':
      return createOpcode(request, options);
    case 'getChildren':
      return options.getChildren2 === false ? OpCode.getChildren : OpCode.getChildren2;
    case 'setWatches':
      return request.persistentWatches.length > 0 || request.persistentRecursiveWatches.length > 0
        ? OpCode.setWatches2
        : OpCode.setWatches;
    default:
      return OpCode[request.op];
  }
}

function writeCreate(writer: JuteWriter, request: CreateRequest, opcode: number): void {
  writer.ustring(request.path).buffer(request.data).vector(request.acl, writeAcl).int(request.mode);
  if (opcode === OpCode.createTTL) writer.long(request.ttlMs);
}

function writeMultiHeader(writer: JuteWriter, type: number, done: boolean, err: number): void {
  writer.int(type).boolean(done).int(err);
}

function writeMultiOp(writer: JuteWriter, op: MultiOp | MultiReadOp, options: EncodeOptions): void {
  switch (op.op) {
    case 'create': {
      const opcode = createOpcode(op, options);
      writeMultiHeader(writer, opcode, false, -1);
      writeCreate(writer, op, opcode);
      return;
    }
    case 'delete':
      writeMultiHeader(writer, OpCode.delete, false, -1);
      writer.ustring(op.path).int(op.version);
      return;
    case 'setData':
      writeMultiHeader(writer, OpCode.setData, false, -1);
      writer.ustring(op.path).buffer(op.data).int(op.version);
      return;
    case 'check':
      writeMultiHeader(writer, OpCode.check, false, -1);
      writer.ustring(op.path).int(op.version);
      return;
    case 'getData':
      writeMultiHeader(writer, OpCode.getData, false, -1);
      writer.ustring(op.path).boolean(op.watch);
      return;
    case 'getChildren':
      writeMultiHeader(writer, OpCode.getChildren, false, -1);
      writer.ustring(op.path).boolean(op.watch);
      return;
  }
}

/**
 * Encodes a request as a full frame (length prefix, RequestHeader, body), with the opcode
 * `opcodeOf(request, options)` names. Multi ops get the same variant choices (create2,
 * createContainer, createTTL); multiRead ops are getData and getChildren (8), as ZooKeeper
 * requires.
 */
export function encodeRequest(xid: number, request: ClientRequest, options: EncodeOptions = {}): Uint8Array {
  const opcode = opcodeOf(request, options);
  const writer = new JuteWriter({ framed: true });
  writer.int(xid).int(opcode);
  switch (request.op) {
    case 'create':
      writeCreate(writer, request, opcode);
      break;
    case 'delete':
    case 'check':
      writer.ustring(request.path).int(request.version);
      break;
    case 'exists':
    case 'getData':
    case 'getChildren':
      writer.ustring(request.path).boolean(request.watch);
      break;
    case 'setData':
      writer.ustring(request.path).buffer(request.data).int(request.version);
      break;
    case 'getACL':
    case 'sync':
    case 'getAllChildrenNumber':
      writer.ustring(request.path);
      break;
    case 'setACL':
      writer.ustring(request.path).vector(request.acl, writeAcl).int(request.version);
      break;
    case 'getEphemerals':
      writer.ustring(request.prefixPath);
      break;
    case 'multi':
    case 'multiRead':
      for (const op of request.ops) writeMultiOp(writer, op, options);
      writeMultiHeader(writer, -1, true, -1);
      break;
    case 'auth':
      writer.int(0).ustring(request.scheme).buffer(request.auth);
      break;
    case 'setWatches':
      writer
        .long(request.relativeZxid)
        .strings(request.dataWatches)
        .strings(request.existWatches)
        .strings(request.childWatches);
      if (opcode === OpCode.setWatches2)
        writer.strings(request.persistentWatches).strings(request.persistentRecursiveWatches);
      break;
    case 'addWatch':
      writer.ustring(request.path).int(request.mode);
      break;
    case 'removeWatches':
    case 'checkWatches':
      writer.ustring(request.path).int(request.watcherType);
      break;
    case 'reconfig':
      // ZooKeeper's ReconfigRequest: joiningServers, leavingServers, newMembers, curConfigId.
      writer
        .ustring(request.joiningServers)
        .ustring(request.leavingServers)
        .ustring(request.newMembers)
        .long(request.fromConfig);
      break;
    case 'ping':
    case 'whoAmI':
    case 'closeSession':
      break;
  }
  return writer.finish();
}
