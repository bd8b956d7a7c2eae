/**
 * The records of ZooKeeper's data directory, field for field as zookeeper.jute declares
 * them: the file header, ACLs, the persisted Stat, the transaction header and every
 * transaction record ZooKeeper's loader knows (SerializeUtils.deserializeTxn), with the
 * 3.6+ digest that may follow a transaction. Longs stay bigints, signed as in Java.
 */
import type { ACL } from '@zabkit/core';
import { ZkEndOfInput } from './errors.js';
import { type JuteReader, JuteWriter } from './jute.js';

/** ZooKeeper's opcodes for the transactions a log can hold (ZooDefs.OpCode). */
export const ZkOpCode = {
  create: 1,
  delete: 2,
  setData: 5,
  setACL: 7,
  check: 13,
  multi: 14,
  create2: 15,
  reconfig: 16,
  createContainer: 19,
  deleteContainer: 20,
  createTTL: 21,
  createSession: -10,
  closeSession: -11,
  error: -1,
} as const;

/** The name of an opcode, as zkTxnLogToolkit prints it; unknown ones as their number. */
export function opName(type: number): string {
  for (const [name, code] of Object.entries(ZkOpCode)) if (code === type) return name;
  return `type${type}`;
}

/** `ZKSN`, the first four bytes of a snapshot. */
export const snapshotMagic = 0x5a4b534e;
/** `ZKLG`, the first four bytes of a transaction log. */
export const txnLogMagic = 0x5a4b4c47;
/** The format version both files carry. */
export const fileFormatVersion = 2;

/** The header of a snapshot or log file. */
export interface FileHeader {
  readonly magic: number;
  readonly version: number;
  readonly dbid: bigint;
}

/** The metadata ZooKeeper stores for a znode (StatPersisted). cversion counts child creations. */
export interface StatPersisted {
  czxid: bigint;
  mzxid: bigint;
  ctime: bigint;
  mtime: bigint;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  pzxid: bigint;
}

/** The header of a logged transaction. */
export interface TxnHeader {
  readonly clientId: bigint;
  readonly cxid: number;
  readonly zxid: bigint;
  readonly time: bigint;
  readonly type: number;
}

/** The tree digest ZooKeeper 3.6+ logs after a transaction: the tree's after applying it. */
export interface TxnDigest {
  readonly version: number;
  readonly treeDigest: bigint;
}

/** One part of a multi as MultiTxn stores it: its opcode and its record's bytes. */
export interface ZkMultiPart {
  readonly type: number;
  readonly data: Uint8Array;
}

/** A transaction record, by what the header's type says it is. */
export type ZkTxn =
  | { readonly kind: 'createSession'; readonly timeoutMs: number }
  /** `paths` is null for a pre-3.6 closeSession that names no paths. */
  | { readonly kind: 'closeSession'; readonly paths: readonly string[] | null }
  | {
      readonly kind: 'create';
      readonly path: string;
      readonly data: Uint8Array | null;
      readonly acl: readonly ACL[] | null;
      readonly ephemeral: boolean;
      /** -1 in a pre-3.3 record (CreateTxnV0): the parent's cversion plus one. */
      readonly parentCversion: number;
    }
  | {
      readonly kind: 'createContainer';
      readonly path: string;
      readonly data: Uint8Array | null;
      readonly acl: readonly ACL[] | null;
      readonly parentCversion: number;
    }
  | {
      readonly kind: 'createTTL';
      readonly path: string;
      readonly data: Uint8Array | null;
      readonly acl: readonly ACL[] | null;
      readonly parentCversion: number;
      readonly ttl: bigint;
    }
  | { readonly kind: 'delete'; readonly path: string }
  | {
      readonly kind: 'setData';
      readonly path: string;
      readonly data: Uint8Array | null;
      readonly version: number;
    }
  | {
      readonly kind: 'setACL';
      readonly path: string;
      readonly acl: readonly ACL[] | null;
      readonly version: number;
    }
  | { readonly kind: 'check'; readonly path: string; readonly version: number }
  | { readonly kind: 'error'; readonly err: number }
  | { readonly kind: 'multi'; readonly parts: readonly ZkMultiPart[] };

/** A logged transaction: header, record and digest. */
export interface ZkTxnEntry {
  readonly header: TxnHeader;
  readonly txn: ZkTxn;
  readonly digest: TxnDigest | null;
}

// ---- reading ---------------------------------------------------------------------------

export function readFileHeader(reader: JuteReader): FileHeader {
  return {
    magic: reader.int('the file header'),
    version: reader.int('the file header'),
    dbid: reader.long('the file header'),
  };
}

export function readAcl(reader: JuteReader): ACL {
  const perms = reader.int('an ACL');
  const scheme = reader.string('an ACL scheme');
  const id = reader.string('an ACL id');
  if (scheme === null || id === null) reader.fail('badRecord', 'an ACL with a null scheme or id');
  return { perms, id: { scheme, id } };
}

/** A vector of ACLs; null when the vector is null (ZooKeeper then gives the open ACL). */
export function readAclList(reader: JuteReader): ACL[] | null {
  const count = reader.vector('an ACL list');
  if (count === null) return null;
  const acl: ACL[] = [];
  for (let i = 0; i < count; i++) acl.push(readAcl(reader));
  return acl;
}

export function readStatPersisted(reader: JuteReader): StatPersisted {
  const what = 'a node stat';
  return {
    czxid: reader.long(what),
    mzxid: reader.long(what),
    ctime: reader.long(what),
    mtime: reader.long(what),
    version: reader.int(what),
    cversion: reader.int(what),
    aversion: reader.int(what),
    ephemeralOwner: reader.long(what),
    pzxid: reader.long(what),
  };
}

export function readTxnHeader(reader: JuteReader): TxnHeader {
  const what = 'a transaction header';
  return {
    clientId: reader.long(what),
    cxid: reader.int(what),
    zxid: reader.long(what),
    time: reader.long(what),
    type: reader.int(what),
  };
}

function path(reader: JuteReader, what: string): string {
  const at = reader.offset;
  const value = reader.string(what);
  // ZooKeeper would fail with a NullPointerException applying it; refuse it here instead.
  if (value === null) reader.fail('badRecord', `${what} is null`, at);
  return value;
}

/** The record of a transaction or multi part of type `type`, or undefined for a type the loader does not know. */
export function readTxnRecord(reader: JuteReader, type: number): ZkTxn | undefined {
  switch (type) {
    case ZkOpCode.createSession:
      return { kind: 'createSession', timeoutMs: reader.int('a createSession record') };
    case ZkOpCode.closeSession: {
      const count = reader.vector('the paths of a closeSession');
      if (count === null) return { kind: 'closeSession', paths: null };
      const paths: string[] = [];
      for (let i = 0; i < count; i++) paths.push(path(reader, 'a closeSession path'));
      return { kind: 'closeSession', paths };
    }
    case ZkOpCode.create:
    case ZkOpCode.create2:
      return {
        kind: 'create',
        path: path(reader, 'a create path'),
        data: reader.buffer('create data'),
        acl: readAclList(reader),
        ephemeral: reader.bool('a create record'),
        parentCversion: reader.int('a create record'),
      };
    case ZkOpCode.createContainer:
      return {
        kind: 'createContainer',
        path: path(reader, 'a createContainer path'),
        data: reader.buffer('createContainer data'),
        acl: readAclList(reader),
        parentCversion: reader.int('a createContainer record'),
      };
    case ZkOpCode.createTTL:
      return {
        kind: 'createTTL',
        path: path(reader, 'a createTTL path'),
        data: reader.buffer('createTTL data'),
        acl: readAclList(reader),
        parentCversion: reader.int('a createTTL record'),
        ttl: reader.long('a createTTL record'),
      };
    case ZkOpCode.delete:
    case ZkOpCode.deleteContainer:
      return { kind: 'delete', path: path(reader, 'a delete path') };
    case ZkOpCode.setData:
    case ZkOpCode.reconfig:
      return {
        kind: 'setData',
        path: path(reader, 'a setData path'),
        data: reader.buffer('setData data'),
        version: reader.int('a setData record'),
      };
    case ZkOpCode.setACL:
      return {
        kind: 'setACL',
        path: path(reader, 'a setACL path'),
        acl: readAclList(reader),
        version: reader.int('a setACL record'),
      };
    case ZkOpCode.check:
      return { kind: 'check', path: path(reader, 'a check path'), version: reader.int('a check record') };
    case ZkOpCode.error:
      return { kind: 'error', err: reader.int('an error record') };
    case ZkOpCode.multi: {
      const count = reader.vector('the parts of a multi');
      if (count === null) reader.fail('badRecord', 'a multi with a null list of parts');
      const parts: ZkMultiPart[] = [];
      for (let i = 0; i < count; i++) {
        const partType = reader.int('a multi part');
        const data = reader.buffer('a multi part');
        if (data === null) reader.fail('badRecord', 'a multi part with null data');
        parts.push({ type: partType, data });
      }
      return { kind: 'multi', parts };
    }
    default:
      return undefined;
  }
}

/** Options that change how ZooKeeper reads a transaction entry. */
export interface TxnDecodeOptions {
  /** zookeeper.digest.enabled (default true): read the digest after the record. */
  readonly digestEnabled?: boolean;
}

/**
 * One log entry's bytes (header, record, digest) as SerializeUtils.deserializeTxn reads them.
 * Running out of bytes in the header or record throws ZkEndOfInput (which the log reader
 * takes as the end of the file, as ZooKeeper does), except where ZooKeeper recovers: a create
 * is retried as the older CreateTxnV0, a closeSession without paths is an old closeSession,
 * and a missing or short digest is no digest.
 */
export function readTxnEntry(reader: JuteReader, options: TxnDecodeOptions = {}): ZkTxnEntry {
  const header = readTxnHeader(reader);
  const start = reader.position;
  const typeAt = reader.offset - 4;
  let txn: ZkTxn | undefined;
  try {
    txn = readTxnRecord(reader, header.type);
  } catch (error) {
    if (!(error instanceof ZkEndOfInput)) throw error;
    if (header.type === ZkOpCode.create) {
      reader.position = start;
      txn = {
        kind: 'create',
        path: path(reader, 'a create path'),
        data: reader.buffer('create data'),
        acl: readAclList(reader),
        ephemeral: reader.bool('a create record'),
        parentCversion: -1,
      };
    } else if (header.type === ZkOpCode.closeSession) {
      return { header, txn: { kind: 'closeSession', paths: null }, digest: null };
    } else {
      throw error;
    }
  }
  if (txn === undefined) reader.fail('unknownTxnType', `unknown transaction type ${header.type}`, typeAt);
  let digest: TxnDigest | null = null;
  if (options.digestEnabled ?? true) {
    if (reader.remaining >= 12) digest = { version: reader.int(), treeDigest: reader.long() };
  }
  return { header, txn, digest };
}

// ---- writing ---------------------------------------------------------------------------

export function writeFileHeader(writer: JuteWriter, header: FileHeader): void {
  writer.int(header.magic).int(header.version).long(header.dbid);
}

export function writeAclList(writer: JuteWriter, acl: readonly ACL[] | null): void {
  if (acl === null) {
    writer.int(-1);
    return;
  }
  writer.int(acl.length);
  for (const entry of acl) writer.int(entry.perms).string(entry.id.scheme).string(entry.id.id);
}

export function writeStatPersisted(writer: JuteWriter, stat: StatPersisted): void {
  writer
    .long(stat.czxid)
    .long(stat.mzxid)
    .long(stat.ctime)
    .long(stat.mtime)
    .int(stat.version)
    .int(stat.cversion)
    .int(stat.aversion)
    .long(stat.ephemeralOwner)
    .long(stat.pzxid);
}

/** A transaction record's bytes, as ZooKeeper writes it for a header of type `type`. */
export function writeTxnRecord(writer: JuteWriter, txn: ZkTxn): void {
  switch (txn.kind) {
    case 'createSession':
      writer.int(txn.timeoutMs);
      return;
    case 'closeSession':
      if (txn.paths === null) return;
      writer.int(txn.paths.length);
      for (const p of txn.paths) writer.string(p);
      return;
    case 'create':
      writer.string(txn.path).buffer(txn.data);
      writeAclList(writer, txn.acl);
      writer.bool(txn.ephemeral).int(txn.parentCversion);
      return;
    case 'createContainer':
      writer.string(txn.path).buffer(txn.data);
      writeAclList(writer, txn.acl);
      writer.int(txn.parentCversion);
      return;
    case 'createTTL':
      writer.string(txn.path).buffer(txn.data);
      writeAclList(writer, txn.acl);
      writer.int(txn.parentCversion).long(txn.ttl);
      return;
    case 'delete':
      writer.string(txn.path);
      return;
    case 'setData':
      writer.string(txn.path).buffer(txn.data).int(txn.version);
      return;
    case 'setACL':
      writer.string(txn.path);
      writeAclList(writer, txn.acl);
      writer.int(txn.version);
      return;
    case 'check':
      writer.string(txn.path).int(txn.version);
      return;
    case 'error':
      writer.int(txn.err);
      return;
    case 'multi':
      writer.int(txn.parts.length);
      for (const part of txn.parts) writer.int(part.type).buffer(part.data);
      return;
  }
}

/** The bytes of one multi part's record. */
export function encodeTxnRecord(txn: ZkTxn): Uint8Array {
  const writer = new JuteWriter();
  writeTxnRecord(writer, txn);
  return writer.finish();
}

/** A log entry's bytes: header, record, then the digest if there is one (Util.marshallTxnEntry). */
export function encodeTxnEntry(entry: ZkTxnEntry): Uint8Array {
  const writer = new JuteWriter();
  const { header } = entry;
  writer.long(header.clientId).int(header.cxid).long(header.zxid).long(header.time).int(header.type);
  writeTxnRecord(writer, entry.txn);
  if (entry.digest !== null) writer.int(entry.digest.version).long(entry.digest.treeDigest);
  return writer.finish();
}
