/**
 * Replies: ReplyHeader{xid, zxid, err} + body. The body's shape depends on the request's
 * wire opcode, not only on the operation (create answers a path, create2 a path and Stat;
 * getChildren a list, getChildren2 a list and Stat), so the server encodes with the opcode
 * it decoded and the client decodes with the opcode it sent. An error reply has no body.
 *
 * Each body is the jute record ZooKeeper's FinalRequestProcessor answers with (3.8 and 3.9
 * alike): create CreateResponse{path}; create2, createContainer, createTTL
 * Create2Response{path, stat}; exists ExistsResponse{stat}; getData GetDataResponse{data,
 * stat}; setData SetDataResponse{stat}; getACL GetACLResponse{acl, stat}; setACL
 * SetACLResponse{stat}; getChildren GetChildrenResponse{children}; getChildren2
 * GetChildren2Response{children, stat}; sync SyncResponse{path}; getAllChildrenNumber
 * GetAllChildrenNumberResponse{totalNumber}; getEphemerals GetEphemeralsResponse{ephemerals};
 * whoAmI WhoAmIResponse{clientInfo}; multi and multiRead MultiResponse; addWatch
 * ErrorResponse{err} (always 0); delete, ping, auth, closeSession, setWatches,
 * setWatches2, removeWatches and checkWatches no body.
 */
import {
  ErrorCode,
  type ErrorCodeValue,
  EventType,
  type EventTypeValue,
  emptyStat,
  isErrorCode,
  type OpName,
  type OpResult,
  type Reply,
  type ResultByOp,
  type WatchEvent,
  type Zxid,
} from '@zabkit/core';
import { OpCode, Xid } from './constants.js';
import { UnknownOpCodeError, WireDecodeError } from './errors.js';
import { JuteReader, JuteWriter } from './jute.js';
import { readAcl, readStat, readZxidMark, writeAcl, writeStat } from './records.js';
import type { DecodedRequest } from './requests.js';

/** What `encodeReply` needs from the request: its opcode, and each op's opcode for a multi. */
export type ReplyShape = Pick<DecodedRequest, 'opcode' | 'multiOpcodes'>;

const opNames: ReadonlyMap<number, OpName> = new Map<number, OpName>([
  [OpCode.create, 'create'],
  [OpCode.create2, 'create'],
  [OpCode.createContainer, 'create'],
  [OpCode.createTTL, 'create'],
  [OpCode.delete, 'delete'],
  [OpCode.exists, 'exists'],
  [OpCode.getData, 'getData'],
  [OpCode.setData, 'setData'],
  [OpCode.getACL, 'getACL'],
  [OpCode.setACL, 'setACL'],
  [OpCode.getChildren, 'getChildren'],
  [OpCode.getChildren2, 'getChildren'],
  [OpCode.sync, 'sync'],
  [OpCode.reconfig, 'reconfig'],
  [OpCode.ping, 'ping'],
  [OpCode.check, 'check'],
  [OpCode.multi, 'multi'],
  [OpCode.multiRead, 'multiRead'],
  [OpCode.auth, 'auth'],
  [OpCode.setWatches, 'setWatches'],
  [OpCode.setWatches2, 'setWatches'],
  [OpCode.addWatch, 'addWatch'],
  [OpCode.removeWatches, 'removeWatches'],
  [OpCode.checkWatches, 'checkWatches'],
  [OpCode.getEphemerals, 'getEphemerals'],
  [OpCode.getAllChildrenNumber, 'getAllChildrenNumber'],
  [OpCode.whoAmI, 'whoAmI'],
  [OpCode.closeSession, 'closeSession'],
]);

/** The core operation a wire opcode maps to, or undefined for one zabkit does not serve. */
export function opNameOf(opcode: number): OpName | undefined {
  return opNames.get(opcode);
}

/** A header-only reply carrying an error code, as a full frame (e.g. Unimplemented for an unknown opcode). */
export function encodeError(xid: number, zxid: bigint, code: number): Uint8Array {
  return new JuteWriter({ framed: true, initialCapacity: 20 }).int(xid).long(zxid).int(code).finish();
}

function writeMultiResult(writer: JuteWriter, result: OpResult, opcode: number | undefined): void {
  switch (result.op) {
    case 'create':
      // A plain create answers the path alone; every other create variant answers create2's shape.
      if (opcode === OpCode.create) writer.int(OpCode.create).boolean(false).int(0).ustring(result.path);
      else {
        writer.int(OpCode.create2).boolean(false).int(0).ustring(result.path);
        writeStat(writer, result.stat);
      }
      return;
    case 'delete':
      writer.int(OpCode.delete).boolean(false).int(0);
      return;
    case 'check':
      writer.int(OpCode.check).boolean(false).int(0);
      return;
    case 'setData':
      writer.int(OpCode.setData).boolean(false).int(0);
      writeStat(writer, result.stat);
      return;
    case 'getData':
      writer.int(OpCode.getData).boolean(false).int(0).buffer(result.data);
      writeStat(writer, result.stat);
      return;
    case 'getChildren':
      writer.int(OpCode.getChildren).boolean(false).int(0).strings(result.children);
      return;
    case 'error':
      writer.int(OpCode.error).boolean(false).int(result.code).int(result.code);
      return;
  }
}

function writeBody(writer: JuteWriter, reply: Reply & { ok: true }, shape: ReplyShape): void {
  const { opcode } = shape;
  switch (reply.op) {
    case 'create': {
      const result = reply.result as ResultByOp['create'];
      writer.ustring(result.path);
      if (opcode !== OpCode.create) writeStat(writer, result.stat);
      return;
    }
    case 'exists':
    case 'setData':
    case 'setACL':
      writeStat(writer, (reply.result as ResultByOp['exists']).stat);
      return;
    case 'getData':
    case 'reconfig': {
      // A reconfig is answered with GetDataResponse: the new configuration and its Stat.
      const result = reply.result as ResultByOp['getData'];
      writer.buffer(result.data);
      writeStat(writer, result.stat);
      return;
    }
    case 'getChildren': {
      const result = reply.result as ResultByOp['getChildren'];
      writer.strings(result.children);
      if (opcode !== OpCode.getChildren) writeStat(writer, result.stat);
      return;
    }
    case 'getACL': {
      const result = reply.result as ResultByOp['getACL'];
      writer.vector(result.acl, writeAcl);
      writeStat(writer, result.stat);
      return;
    }
    case 'sync':
      writer.ustring((reply.result as ResultByOp['sync']).path);
      return;
    case 'getAllChildrenNumber':
      writer.int((reply.result as ResultByOp['getAllChildrenNumber']).totalNumber);
      return;
    case 'getEphemerals':
      writer.strings((reply.result as ResultByOp['getEphemerals']).ephemerals);
      return;
    case 'whoAmI':
      writer.vector((reply.result as ResultByOp['whoAmI']).clientInfo, (w, info) =>
        w.ustring(info.authScheme).ustring(info.user),
      );
      return;
    case 'multi':
    case 'multiRead': {
      const results = (reply.result as ResultByOp['multi']).results;
      results.forEach((result, index) => {
        writeMultiResult(writer, result, shape.multiOpcodes?.[index]);
      });
      writer.int(-1).boolean(true).int(-1);
      return;
    }
    case 'addWatch':
      // ErrorResponse{err}: ZooKeeper's Java client reads it and drops the connection without it.
      writer.int(0);
      return;
    case 'delete':
    case 'check':
    case 'ping':
    case 'auth':
    case 'closeSession':
    case 'setWatches':
    case 'removeWatches':
    case 'checkWatches':
      return;
  }
}

/**
 * Encodes a reply as a full frame: ReplyHeader{xid, zxid, err} and, when `reply.ok`, the
 * body the request's opcode calls for. A failed reply carries its code and no body; a
 * failed multi is `ok: true` with error results, so its header err stays 0, as ZooKeeper's.
 * `shape` is the decoded request (or just its opcode for anything but a multi).
 */
export function encodeReply(shape: ReplyShape | number, xid: number, zxid: bigint, reply: Reply): Uint8Array {
  const writer = new JuteWriter();
  writeReply(writer, shape, xid, zxid, reply);
  return writer.take(0); // the writer is dropped: no need for a buffer after it
}

/** Appends the frame `encodeReply` makes to `writer`, which may be gathering several. */
export function writeReply(
  writer: JuteWriter,
  shape: ReplyShape | number,
  xid: number,
  zxid: bigint,
  reply: Reply,
): void {
  const at = writer.beginFrame();
  const opcode = typeof shape === 'number' ? shape : shape.opcode;
  // ZooKeeper answers every ping with the ping xid, whatever xid the ping came with: clients
  // match a ping's answer by it (ours takes the oldest awaited ping for it).
  writer.int(opcode === OpCode.ping ? Xid.ping : xid).long(zxid);
  if (!reply.ok) writer.int(reply.code);
  else {
    writer.int(0);
    writeBody(writer, reply, typeof shape === 'number' ? { opcode: shape } : shape);
  }
  writer.endFrame(at);
}

/** Encodes a watch notification as a full frame: ReplyHeader(-1, zxid, 0) + WatcherEvent. */
export function encodeWatcherEvent(zxid: bigint, event: WatchEvent, state: number): Uint8Array {
  const writer = new JuteWriter();
  writeWatcherEvent(writer, zxid, event, state);
  return writer.take(0); // the writer is dropped: no need for a buffer after it
}

/** Appends the frame `encodeWatcherEvent` makes to `writer`. */
export function writeWatcherEvent(writer: JuteWriter, zxid: bigint, event: WatchEvent, state: number): void {
  const at = writer.beginFrame();
  writer.int(Xid.notification).long(zxid).int(0).int(event.type).int(state).ustring(event.path);
  writer.endFrame(at);
}

/** The xid of a reply frame payload, to route it before decoding (notifications are -1). */
export function peekXid(frame: Uint8Array): number {
  return new JuteReader(frame).int();
}

const eventTypes: ReadonlySet<number> = new Set(Object.values(EventType));

/** A decoded watch notification; `zxid` keeps its sign (-1 for events fired by setWatches). */
export interface DecodedWatcherEvent {
  readonly xid: number;
  readonly zxid: bigint;
  readonly event: WatchEvent;
  /** The KeeperState the server reported. */
  readonly state: number;
}

/** Decodes a notification frame payload (after the length prefix). Unknown event types are malformed. */
export function decodeWatcherEvent(frame: Uint8Array): DecodedWatcherEvent {
  const reader = new JuteReader(frame);
  const xid = reader.int();
  const zxid = reader.long();
  reader.int(); // err: always 0 for a notification
  const type = reader.int();
  const state = reader.int();
  const path = reader.string();
  if (!eventTypes.has(type)) throw new WireDecodeError(`unknown event type ${type}`);
  return { xid, zxid, event: { type: type as EventTypeValue, path }, state };
}

/** A decoded reply. `err` is the raw header code; `reply` always reflects it. */
export interface DecodedReply {
  readonly xid: number;
  /** ReplyHeader.zxid; a negative value (never sent for a real reply) reads as zero. */
  readonly zxid: Zxid;
  readonly err: number;
  readonly reply: Reply;
}

/** An error code from the wire; one zabkit does not know becomes SystemError rather than a type lie. */
function errorCodeOf(code: number): ErrorCodeValue {
  return isErrorCode(code) ? code : ErrorCode.SystemError;
}

function readMultiResults(reader: JuteReader): OpResult[] {
  const results: OpResult[] = [];
  // Every header takes 9 bytes, so this loop ends with the frame.
  for (;;) {
    const type = reader.int();
    const done = reader.boolean();
    reader.int(); // the header's err repeats ErrorResponse's
    if (done) return results;
    switch (type) {
      case OpCode.create:
        results.push({ op: 'create', path: reader.string(), stat: emptyStat });
        break;
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL:
        results.push({ op: 'create', path: reader.string(), stat: readStat(reader) });
        break;
      case OpCode.delete:
        results.push({ op: 'delete' });
        break;
      case OpCode.check:
        results.push({ op: 'check' });
        break;
      case OpCode.setData:
        results.push({ op: 'setData', stat: readStat(reader) });
        break;
      case OpCode.getData:
        results.push({ op: 'getData', data: reader.buffer(), stat: readStat(reader) });
        break;
      case OpCode.getChildren:
        results.push({ op: 'getChildren', children: reader.strings() });
        break;
      case OpCode.error:
        results.push({ op: 'error', code: errorCodeOf(reader.int()) });
        break;
      default:
        throw new WireDecodeError(`result type ${type} not allowed in a multi reply`);
    }
  }
}

function readResult(reader: JuteReader, op: OpName, opcode: number): ResultByOp[OpName] {
  switch (op) {
    case 'create': {
      const path = reader.string();
      return { path, stat: opcode === OpCode.create ? emptyStat : readStat(reader) };
    }
    case 'exists':
    case 'setData':
    case 'setACL':
      return { stat: readStat(reader) };
    case 'getData':
    case 'reconfig': {
      const data = reader.buffer();
      return { data, stat: readStat(reader) };
    }
    case 'getChildren': {
      const children = reader.strings();
      return { children, stat: opcode === OpCode.getChildren ? emptyStat : readStat(reader) };
    }
    case 'getACL': {
      const acl = reader.list(readAcl);
      return { acl, stat: readStat(reader) };
    }
    case 'sync':
      return { path: reader.string() };
    case 'getAllChildrenNumber':
      return { totalNumber: reader.int() };
    case 'getEphemerals':
      return { ephemerals: reader.strings() };
    case 'whoAmI':
      return {
        clientInfo: reader.list((r) => {
          const authScheme = r.string();
          return { authScheme, user: r.string() };
        }),
      };
    case 'multi':
    case 'multiRead':
      return { results: readMultiResults(reader) };
    case 'delete':
    case 'check':
    case 'ping':
    case 'auth':
    case 'closeSession':
    case 'setWatches':
    case 'addWatch':
    case 'removeWatches':
    case 'checkWatches':
      return {};
  }
}

/**
 * Decodes a reply frame payload (after the length prefix) for a request sent with
 * `opcode`. A plain create (1) and getChildren (8) carry no Stat: theirs reads as core's
 * emptyStat. Throws UnknownOpCodeError for an opcode with no reply shape, WireDecodeError
 * for malformed bytes.
 */
export function decodeReply(opcode: number, frame: Uint8Array): DecodedReply {
  const reader = new JuteReader(frame);
  const xid = reader.int();
  const zxid = readZxidMark(reader);
  const err = reader.int();
  const op = opNameOf(opcode);
  if (op === undefined) throw new UnknownOpCodeError(xid, opcode);
  if (err !== 0) return { xid, zxid, err, reply: { ok: false, op, code: errorCodeOf(err) } };
  const result = readResult(reader, op, opcode);
  return { xid, zxid, err, reply: { ok: true, op, result } as Reply };
}
