/**
 * A compact binary codec for every PeerMessage. Nothing has to interoperate with Java
 * ZooKeeper's quorum protocol, so the layout is zabkit's own: a one-byte tag per union
 * variant, fixed 8-byte zxids, varint-packed small integers (most numbers in ZAB messages are
 * small epochs, versions and counters) and length-prefixed UTF-8 strings and byte arrays.
 *
 * Decoding validates every length against the bytes left before allocating, so garbage
 * throws a PeerCodecError quickly instead of allocating huge arrays or looping.
 */
import type {
  ACL,
  CreateModeValue,
  CreateRequest,
  ErrorCodeValue,
  Id,
  LearnerSyncMode,
  MultiOp,
  MultiPartTxn,
  PeerMessage,
  PeerRole,
  PreparableRequest,
  SessionId,
  SnapshotNode,
  TreeSnapshot,
  Txn,
  TxnBody,
  Vote,
  Zxid,
} from '@zabkit/core';

/** Thrown for bytes that are not a well-formed encoded PeerMessage (or a message that cannot be encoded). */
export class PeerCodecError extends Error {
  override readonly name = 'PeerCodecError';
}

const kindTags = [
  'notification',
  'followerInfo',
  'ackEpoch',
  'ackNewLeader',
  'ack',
  'pingReply',
  'request',
  'clientSync',
  'revalidate',
  'leaderInfo',
  'learnerSync',
  'newLeader',
  'upToDate',
  'proposal',
  'commit',
  'inform',
  'ping',
  'clientSyncReply',
  'revalidateReply',
] as const satisfies readonly PeerMessage['kind'][];
const roles = ['looking', 'following', 'leading', 'observing'] as const satisfies readonly PeerRole[];
const learnerSyncModes = ['diff', 'trunc', 'snap'] as const satisfies readonly LearnerSyncMode[];
const txnKinds = [
  'createSession',
  'closeSession',
  'create',
  'delete',
  'setData',
  'setACL',
  'check',
  'multi',
  'error',
] as const satisfies readonly TxnBody['kind'][];
const requestOps = [
  'create',
  'delete',
  'setData',
  'setACL',
  'check',
  'multi',
  'createSession',
  'closeSession',
  'deleteContainer',
] as const satisfies readonly PreparableRequest['op'][];

function tagIndex<T extends string>(table: readonly T[]): Map<T, number> {
  return new Map(table.map((name, index) => [name, index]));
}
const kindIndex = tagIndex<string>(kindTags);
const roleIndex = tagIndex<string>(roles);
const learnerSyncModeIndex = tagIndex<string>(learnerSyncModes);
const txnKindIndex = tagIndex<string>(txnKinds);
const requestOpIndex = tagIndex<string>(requestOps);

const int64Min = -(1n << 63n);
const uint64Max = (1n << 64n) - 1n;
const int32Limit = 2 ** 31;

/** Bigint encodings: most fit a signed 64-bit slot; unsigned 64-bit and beyond are kept exact. */
const BigintTag = { Int64: 0, Uint64: 1, Decimal: 2 } as const;

class Writer {
  buf: Buffer;
  /** 64-bit fields go through a DataView: Buffer's BigInt writers do their arithmetic in JS. */
  private view: DataView;
  pos: number;

  constructor(initial: number, reserve: number) {
    this.buf = Buffer.allocUnsafe(initial);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.pos = reserve;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  varuint(v: number): void {
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /** Int32 values as zigzag varint + 1; 0 announces a float64 for everything else (incl. -0, NaN). */
  num(v: number): void {
    if (Number.isInteger(v) && v >= -int32Limit && v < int32Limit && !Object.is(v, -0)) {
      this.varuint((v >= 0 ? v * 2 : -v * 2 - 1) + 1);
      return;
    }
    this.ensure(9);
    this.buf[this.pos++] = 0;
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  bool(v: boolean): void {
    this.u8(v ? 1 : 0);
  }

  zxid(v: Zxid): void {
    if (typeof v !== 'bigint' || v < 0n || v > uint64Max)
      throw new PeerCodecError(`not a zxid: ${String(v)}`);
    this.ensure(8);
    this.view.setBigUint64(this.pos, v);
    this.pos += 8;
  }

  bigint(v: bigint): void {
    if (typeof v !== 'bigint') throw new PeerCodecError(`not a bigint: ${String(v)}`);
    if (v >= int64Min && v < -int64Min) {
      this.ensure(9);
      this.buf[this.pos++] = BigintTag.Int64;
      this.view.setBigInt64(this.pos, v);
      this.pos += 8;
    } else if (v >= 0n && v <= uint64Max) {
      this.ensure(9);
      this.buf[this.pos++] = BigintTag.Uint64;
      this.view.setBigUint64(this.pos, v);
      this.pos += 8;
    } else {
      this.u8(BigintTag.Decimal);
      this.string(v.toString());
    }
  }

  string(v: string): void {
    const length = Buffer.byteLength(v, 'utf8');
    this.varuint(length);
    this.ensure(length);
    this.pos += this.buf.write(v, this.pos, length, 'utf8');
  }

  bytes(v: Uint8Array): void {
    this.varuint(v.length);
    this.raw(v);
  }

  /** Bytes as they are, no length. */
  raw(v: Uint8Array): void {
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** A copy of what was written from `start` on. */
  copyFrom(start: number): Uint8Array {
    return Uint8Array.prototype.slice.call(this.buf, start, this.pos);
  }

  tag(table: Map<string, number>, name: string, what: string): void {
    const index = table.get(name);
    if (index === undefined) throw new PeerCodecError(`unknown ${what}: ${name}`);
    this.u8(index);
  }
}

class Reader {
  private pos = 0;
  private readonly view: DataView;

  constructor(private readonly buf: Buffer) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  /** Where the next read starts. */
  get position(): number {
    return this.pos;
  }

  /** A copy of what was read from `start` on. */
  copyFrom(start: number): Uint8Array {
    return Uint8Array.prototype.slice.call(this.buf, start, this.pos);
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new PeerCodecError('truncated message');
  }

  done(): void {
    if (this.pos !== this.buf.length) throw new PeerCodecError(`${this.remaining} trailing bytes`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  varuint(): number {
    let result = 0;
    let scale = 1;
    // Seven groups give 49 bits: every length and zigzagged int32 fits, and garbage stops early.
    for (let i = 0; i < 7; i++) {
      const byte = this.u8();
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return result;
      scale *= 0x80;
    }
    throw new PeerCodecError('varint too long');
  }

  num(): number {
    const v = this.varuint();
    if (v === 0) {
      this.need(8);
      const value = this.buf.readDoubleBE(this.pos);
      this.pos += 8;
      return value;
    }
    const z = v - 1;
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  bool(): boolean {
    const v = this.u8();
    if (v > 1) throw new PeerCodecError(`bad boolean ${v}`);
    return v === 1;
  }

  zxid(): Zxid {
    this.need(8);
    const value = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return value as Zxid;
  }

  bigint(): bigint {
    const tag = this.u8();
    if (tag === BigintTag.Decimal) {
      const text = this.string();
      if (!/^-?[0-9]+$/.test(text)) throw new PeerCodecError('bad decimal bigint');
      return BigInt(text);
    }
    if (tag !== BigintTag.Int64 && tag !== BigintTag.Uint64)
      throw new PeerCodecError(`bad bigint tag ${tag}`);
    this.need(8);
    const value =
      tag === BigintTag.Int64 ? this.view.getBigInt64(this.pos) : this.view.getBigUint64(this.pos);
    this.pos += 8;
    return value;
  }

  private length(): number {
    const length = this.varuint();
    this.need(length);
    return length;
  }

  string(): string {
    const length = this.length();
    const value = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return value;
  }

  /** Copies, so a decoded message never pins the (possibly huge) frame it came from. */
  bytes(): Uint8Array {
    const length = this.length();
    const value = new Uint8Array(length);
    value.set(this.buf.subarray(this.pos, this.pos + length));
    this.pos += length;
    return value;
  }

  /** Every element takes at least one byte, so a count above the bytes left is garbage. */
  array<T>(item: () => T): T[] {
    const count = this.varuint();
    if (count > this.remaining) throw new PeerCodecError(`array of ${count} in ${this.remaining} bytes`);
    const items = new Array<T>(count);
    for (let i = 0; i < count; i++) items[i] = item();
    return items;
  }

  tag<T>(table: readonly T[], what: string): T {
    const index = this.u8();
    const value = table[index];
    if (value === undefined) throw new PeerCodecError(`unknown ${what} tag ${index}`);
    return value;
  }
}

// ---- encoding ----

function writeId(w: Writer, id: Id): void {
  w.string(id.scheme);
  w.string(id.id);
}

function writeAcls(w: Writer, acl: readonly ACL[]): void {
  w.varuint(acl.length);
  for (const entry of acl) {
    w.num(entry.perms);
    writeId(w, entry.id);
  }
}

function writeTxnBody(w: Writer, body: TxnBody): void {
  w.tag(txnKindIndex, body.kind, 'txn kind');
  switch (body.kind) {
    case 'createSession':
      w.num(body.timeoutMs);
      return;
    case 'closeSession':
      w.varuint(body.ephemeralPaths.length);
      for (const path of body.ephemeralPaths) w.string(path);
      return;
    case 'create':
      w.string(body.path);
      w.bytes(body.data);
      writeAcls(w, body.acl);
      w.bigint(body.ephemeralOwner);
      w.num(body.parentCversion);
      return;
    case 'delete':
      w.string(body.path);
      return;
    case 'setData':
      w.string(body.path);
      w.bytes(body.data);
      w.num(body.version);
      return;
    case 'setACL':
      w.string(body.path);
      writeAcls(w, body.acl);
      w.num(body.aversion);
      return;
    case 'check':
      w.string(body.path);
      w.num(body.version);
      return;
    case 'multi':
      w.varuint(body.parts.length);
      for (const part of body.parts) writeTxnBody(w, part);
      return;
    case 'error':
      w.num(body.code);
      return;
    default:
      throw new PeerCodecError(`unknown txn kind: ${(body as { kind: string }).kind}`);
  }
}

/**
 * Each transaction's encoding, kept once made or read: a leader logs a transaction and
 * proposes it to every follower, and a follower logs the one it decoded, so without this
 * one transaction would be encoded three or four times. Transactions are immutable, and the
 * entry goes with the transaction.
 */
const txnEncodings = new WeakMap<Txn, Uint8Array>();

function writeTxn(w: Writer, txn: Txn): void {
  const known = txnEncodings.get(txn);
  if (known !== undefined) {
    w.raw(known);
    return;
  }
  const start = w.pos;
  w.zxid(txn.zxid);
  w.num(txn.timeMs);
  w.bigint(txn.sessionId);
  w.num(txn.cxid);
  writeTxnBody(w, txn.body);
  txnEncodings.set(txn, w.copyFrom(start));
}

function writeTxns(w: Writer, txns: readonly Txn[]): void {
  w.varuint(txns.length);
  for (const txn of txns) writeTxn(w, txn);
}

function writeSnapshotNode(w: Writer, node: SnapshotNode): void {
  w.string(node.path);
  w.bytes(node.data);
  writeAcls(w, node.acl);
  w.zxid(node.czxid);
  w.zxid(node.mzxid);
  w.zxid(node.pzxid);
  w.num(node.ctime);
  w.num(node.mtime);
  w.num(node.version);
  w.num(node.cversion);
  w.num(node.aversion);
  w.bigint(node.ephemeralOwner);
}

function writeSnapshot(w: Writer, snapshot: TreeSnapshot): void {
  w.zxid(snapshot.zxid);
  w.varuint(snapshot.nodes.length);
  for (const node of snapshot.nodes) writeSnapshotNode(w, node);
  w.varuint(snapshot.sessions.length);
  for (const [sessionId, timeoutMs] of snapshot.sessions) {
    w.bigint(sessionId);
    w.num(timeoutMs);
  }
}

function writeRequest(w: Writer, request: PreparableRequest): void {
  w.tag(requestOpIndex, request.op, 'request op');
  switch (request.op) {
    case 'create':
      w.string(request.path);
      w.bytes(request.data);
      writeAcls(w, request.acl);
      w.num(request.mode);
      w.bigint(request.ttlMs);
      return;
    case 'delete':
    case 'check':
      w.string(request.path);
      w.num(request.version);
      return;
    case 'setData':
      w.string(request.path);
      w.bytes(request.data);
      w.num(request.version);
      return;
    case 'setACL':
      w.string(request.path);
      writeAcls(w, request.acl);
      w.num(request.version);
      return;
    case 'multi':
      w.varuint(request.ops.length);
      for (const op of request.ops) writeRequest(w, op);
      return;
    case 'createSession':
      w.num(request.timeoutMs);
      return;
    case 'closeSession':
      return;
    case 'deleteContainer':
      w.string(request.path);
      return;
    default:
      throw new PeerCodecError(`unknown request op: ${(request as { op: string }).op}`);
  }
}

function writeMessage(w: Writer, m: PeerMessage): void {
  w.tag(kindIndex, m.kind, 'message kind');
  switch (m.kind) {
    case 'notification':
      w.num(m.vote.leader);
      w.zxid(m.vote.zxid);
      w.num(m.vote.peerEpoch);
      w.num(m.electionEpoch);
      w.tag(roleIndex, m.state, 'role');
      return;
    case 'followerInfo':
      w.num(m.acceptedEpoch);
      w.bool(m.observer);
      w.num(m.attempt);
      return;
    case 'ackEpoch':
      w.num(m.epoch);
      w.num(m.currentEpoch);
      w.zxid(m.lastZxid);
      return;
    case 'ackNewLeader':
    case 'leaderInfo':
    case 'ping':
      w.num(m.epoch);
      return;
    case 'ack':
    case 'commit':
      w.num(m.epoch);
      w.zxid(m.zxid);
      return;
    case 'pingReply':
      w.num(m.epoch);
      w.varuint(m.touches.length);
      for (const sessionId of m.touches) w.bigint(sessionId);
      return;
    case 'request':
      w.num(m.epoch);
      w.num(m.seq);
      w.bigint(m.sessionId);
      w.num(m.cxid);
      w.varuint(m.authInfo.length);
      for (const id of m.authInfo) writeId(w, id);
      writeRequest(w, m.request);
      return;
    case 'clientSync':
      w.num(m.epoch);
      w.num(m.seq);
      w.bigint(m.sessionId);
      w.num(m.cxid);
      return;
    case 'revalidate':
      w.num(m.epoch);
      w.bigint(m.sessionId);
      w.num(m.connectionId);
      return;
    case 'learnerSync':
      w.num(m.epoch);
      w.tag(learnerSyncModeIndex, m.mode, 'learner sync mode');
      w.bool(m.truncateTo !== undefined);
      if (m.truncateTo !== undefined) w.zxid(m.truncateTo);
      w.bool(m.snapshot !== undefined);
      if (m.snapshot !== undefined) writeSnapshot(w, m.snapshot);
      writeTxns(w, m.txns);
      return;
    case 'newLeader':
      w.num(m.epoch);
      w.zxid(m.lastZxid);
      return;
    case 'upToDate':
      w.num(m.epoch);
      w.zxid(m.commitZxid);
      return;
    case 'proposal':
    case 'inform':
      w.num(m.epoch);
      writeTxns(w, m.txns);
      return;
    case 'clientSyncReply':
      w.num(m.epoch);
      w.bigint(m.sessionId);
      w.num(m.cxid);
      w.zxid(m.zxid);
      return;
    case 'revalidateReply':
      w.num(m.epoch);
      w.bigint(m.sessionId);
      w.num(m.connectionId);
      w.bool(m.valid);
      return;
    default:
      throw new PeerCodecError(`unknown message kind: ${(m as { kind: string }).kind}`);
  }
}

// ---- decoding ----

function readId(r: Reader): Id {
  const scheme = r.string();
  return { scheme, id: r.string() };
}

function readAcls(r: Reader): ACL[] {
  return r.array(() => {
    const perms = r.num();
    return { perms, id: readId(r) };
  });
}

const multiPartKinds = new Set<string>(['create', 'delete', 'setData', 'check', 'error']);

function readTxnBody(r: Reader, depth: number): TxnBody {
  const kind = r.tag(txnKinds, 'txn kind');
  switch (kind) {
    case 'createSession':
      return { kind, timeoutMs: r.num() };
    case 'closeSession':
      return { kind, ephemeralPaths: r.array(() => r.string()) };
    case 'create': {
      const path = r.string();
      const data = r.bytes();
      const acl = readAcls(r);
      const ephemeralOwner = r.bigint();
      return { kind, path, data, acl, ephemeralOwner, parentCversion: r.num() };
    }
    case 'delete':
      return { kind, path: r.string() };
    case 'setData': {
      const path = r.string();
      const data = r.bytes();
      return { kind, path, data, version: r.num() };
    }
    case 'setACL': {
      const path = r.string();
      const acl = readAcls(r);
      return { kind, path, acl, aversion: r.num() };
    }
    case 'check': {
      const path = r.string();
      return { kind, path, version: r.num() };
    }
    case 'multi': {
      // A multi's parts are never multis: one level of nesting is all the format allows.
      if (depth > 0) throw new PeerCodecError('nested multi txn');
      const parts = r.array(() => {
        const part = readTxnBody(r, depth + 1);
        if (!multiPartKinds.has(part.kind)) throw new PeerCodecError(`${part.kind} inside a multi txn`);
        return part as MultiPartTxn;
      });
      return { kind, parts };
    }
    case 'error':
      return { kind, code: r.num() as ErrorCodeValue };
  }
}

function readTxn(r: Reader): Txn {
  const start = r.position;
  const zxid = r.zxid();
  const timeMs = r.num();
  const sessionId = r.bigint();
  const cxid = r.num();
  const txn: Txn = { zxid, timeMs, sessionId, cxid, body: readTxnBody(r, 0) };
  txnEncodings.set(txn, r.copyFrom(start));
  return txn;
}

function readSnapshotNode(r: Reader): SnapshotNode {
  const path = r.string();
  const data = r.bytes();
  const acl = readAcls(r);
  const czxid = r.zxid();
  const mzxid = r.zxid();
  const pzxid = r.zxid();
  const ctime = r.num();
  const mtime = r.num();
  const version = r.num();
  const cversion = r.num();
  const aversion = r.num();
  const ephemeralOwner = r.bigint();
  return { path, data, acl, czxid, mzxid, pzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner };
}

function readSnapshot(r: Reader): TreeSnapshot {
  const zxid = r.zxid();
  const nodes = r.array(() => readSnapshotNode(r));
  const sessions = r.array((): readonly [SessionId, number] => {
    const sessionId = r.bigint();
    return [sessionId, r.num()];
  });
  return { zxid, nodes, sessions };
}

const multiOps = new Set<string>(['create', 'delete', 'setData', 'check']);

function readRequest(r: Reader, depth: number): PreparableRequest {
  const op = r.tag(requestOps, 'request op');
  switch (op) {
    case 'create': {
      const path = r.string();
      const data = r.bytes();
      const acl = readAcls(r);
      const mode = r.num() as CreateModeValue;
      return { op, path, data, acl, mode, ttlMs: r.bigint() } satisfies CreateRequest;
    }
    case 'delete':
    case 'check': {
      const path = r.string();
      return { op, path, version: r.num() };
    }
    case 'setData': {
      const path = r.string();
      const data = r.bytes();
      return { op, path, data, version: r.num() };
    }
    case 'setACL': {
      const path = r.string();
      const acl = readAcls(r);
      return { op, path, acl, version: r.num() };
    }
    case 'multi': {
      if (depth > 0) throw new PeerCodecError('nested multi request');
      const ops = r.array(() => {
        const inner = readRequest(r, depth + 1);
        if (!multiOps.has(inner.op)) throw new PeerCodecError(`${inner.op} inside a multi request`);
        return inner as MultiOp;
      });
      return { op, ops };
    }
    case 'createSession':
      return { op, timeoutMs: r.num() };
    case 'closeSession':
      return { op };
    case 'deleteContainer':
      return { op, path: r.string() };
  }
}

function readMessage(r: Reader): PeerMessage {
  const kind = r.tag(kindTags, 'message kind');
  switch (kind) {
    case 'notification': {
      const leader = r.num();
      const zxid = r.zxid();
      const vote: Vote = { leader, zxid, peerEpoch: r.num() };
      const electionEpoch = r.num();
      return { kind, vote, electionEpoch, state: r.tag(roles, 'role') };
    }
    case 'followerInfo': {
      const acceptedEpoch = r.num();
      const observer = r.bool();
      return { kind, acceptedEpoch, observer, attempt: r.num() };
    }
    case 'ackEpoch': {
      const epoch = r.num();
      const currentEpoch = r.num();
      return { kind, epoch, currentEpoch, lastZxid: r.zxid() };
    }
    case 'ackNewLeader':
    case 'leaderInfo':
    case 'ping':
      return { kind, epoch: r.num() };
    case 'ack':
    case 'commit': {
      const epoch = r.num();
      return { kind, epoch, zxid: r.zxid() };
    }
    case 'pingReply': {
      const epoch = r.num();
      return { kind, epoch, touches: r.array(() => r.bigint()) };
    }
    case 'request': {
      const epoch = r.num();
      const seq = r.num();
      const sessionId = r.bigint();
      const cxid = r.num();
      const authInfo = r.array(() => readId(r));
      return { kind, epoch, seq, sessionId, cxid, authInfo, request: readRequest(r, 0) };
    }
    case 'clientSync': {
      const epoch = r.num();
      const seq = r.num();
      const sessionId = r.bigint();
      return { kind, epoch, seq, sessionId, cxid: r.num() };
    }
    case 'revalidate': {
      const epoch = r.num();
      const sessionId = r.bigint();
      return { kind, epoch, sessionId, connectionId: r.num() };
    }
    case 'learnerSync': {
      const epoch = r.num();
      const mode = r.tag(learnerSyncModes, 'learner sync mode');
      const truncateTo = r.bool() ? r.zxid() : undefined;
      const snapshot = r.bool() ? readSnapshot(r) : undefined;
      return { kind, epoch, mode, truncateTo, snapshot, txns: r.array(() => readTxn(r)) };
    }
    case 'newLeader': {
      const epoch = r.num();
      return { kind, epoch, lastZxid: r.zxid() };
    }
    case 'upToDate': {
      const epoch = r.num();
      return { kind, epoch, commitZxid: r.zxid() };
    }
    case 'proposal':
    case 'inform': {
      const epoch = r.num();
      return { kind, epoch, txns: r.array(() => readTxn(r)) };
    }
    case 'clientSyncReply': {
      const epoch = r.num();
      const sessionId = r.bigint();
      const cxid = r.num();
      return { kind, epoch, sessionId, cxid, zxid: r.zxid() };
    }
    case 'revalidateReply': {
      const epoch = r.num();
      const sessionId = r.bigint();
      const connectionId = r.num();
      return { kind, epoch, sessionId, connectionId, valid: r.bool() };
    }
  }
}

/**
 * Encodes `message` after `reserve` spare leading bytes, so the transport can write its
 * length prefix in place instead of copying the payload into a frame.
 * @internal
 */
export function encodePeerMessageWithRoom(message: PeerMessage, reserve: number): Buffer {
  const w = new Writer(256, reserve);
  try {
    writeMessage(w, message);
  } catch (error) {
    if (error instanceof PeerCodecError) throw error;
    throw new PeerCodecError(`cannot encode ${String(message?.kind)}: ${String(error)}`);
  }
  return w.buf.subarray(0, w.pos);
}

/** Encodes a peer message to bytes; throws PeerCodecError for a value outside the message types. */
export function encodePeerMessage(message: PeerMessage): Uint8Array {
  return encodePeerMessageWithRoom(message, 0);
}

/** Decodes bytes made by encodePeerMessage; throws PeerCodecError for anything else. */
export function decodePeerMessage(bytes: Uint8Array): PeerMessage {
  const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  try {
    const message = readMessage(r);
    r.done();
    return message;
  } catch (error) {
    if (error instanceof PeerCodecError) throw error;
    // Buffer reads throw RangeError on their own checks; report every failure one way.
    throw new PeerCodecError(`undecodable message: ${String(error)}`);
  }
}

/** Runs `read` over all of `bytes`, reporting every failure as a PeerCodecError. */
function decodeWhole<T>(bytes: Uint8Array, what: string, read: (r: Reader) => T): T {
  const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  try {
    const value = read(r);
    r.done();
    return value;
  } catch (error) {
    if (error instanceof PeerCodecError) throw error;
    throw new PeerCodecError(`undecodable ${what}: ${String(error)}`);
  }
}

function encodeWith(what: string, write: (w: Writer) => void): Uint8Array {
  const w = new Writer(128, 0);
  try {
    write(w);
  } catch (error) {
    if (error instanceof PeerCodecError) throw error;
    throw new PeerCodecError(`cannot encode ${what}: ${String(error)}`);
  }
  return w.buf.subarray(0, w.pos);
}

/** One transaction, as a storage log record holds it. */
export function encodeTxn(txn: Txn): Uint8Array {
  return encodeWith('txn', (w) => writeTxn(w, txn));
}

/** Decodes what encodeTxn made; throws PeerCodecError for anything else. */
export function decodeTxn(bytes: Uint8Array): Txn {
  return decodeWhole(bytes, 'txn', readTxn);
}

/** Many snapshot nodes in one record: snapshots are stored in chunks of nodes. */
export function encodeSnapshotNodes(nodes: readonly SnapshotNode[]): Uint8Array {
  return encodeWith('snapshot nodes', (w) => {
    w.varuint(nodes.length);
    for (const node of nodes) writeSnapshotNode(w, node);
  });
}

/** Decodes what encodeSnapshotNodes made. */
export function decodeSnapshotNodes(bytes: Uint8Array): SnapshotNode[] {
  return decodeWhole(bytes, 'snapshot nodes', (r) => r.array(() => readSnapshotNode(r)));
}

/** A snapshot's sessions, stored beside its nodes. */
export function encodeSessions(sessions: TreeSnapshot['sessions']): Uint8Array {
  return encodeWith('sessions', (w) => {
    w.varuint(sessions.length);
    for (const [sessionId, timeoutMs] of sessions) {
      w.bigint(sessionId);
      w.num(timeoutMs);
    }
  });
}

/** Decodes what encodeSessions made. */
export function decodeSessions(bytes: Uint8Array): (readonly [SessionId, number])[] {
  return decodeWhole(bytes, 'sessions', (r) =>
    r.array((): readonly [SessionId, number] => {
      const sessionId = r.bigint();
      return [sessionId, r.num()];
    }),
  );
}
