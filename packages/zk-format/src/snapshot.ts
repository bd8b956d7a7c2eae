/**
 * ZooKeeper's snapshot files (`snapshot.<zxid>`, FileSnap): a file header (`ZKSN`, version
 * 2, dbid), the session table, the ACL cache (each ACL list once, under a long the nodes
 * refer to), every node as its path and a DataNode record (data, ACL reference, persisted
 * Stat) up to the path "/", then a seal: the Adler32 of everything before it and "/". Since
 * 3.6 a digest of the tree (zxid, digest version, digest) and a second seal may follow.
 * `.gz` snapshots are gzip streams of the same bytes; `.snappy` ones are not read here.
 */
import { gunzipSync } from 'node:zlib';
import type { ACL } from '@zabkit/core';
import { ZkEndOfInput, ZkFormatError } from './errors.js';
import { adler32, JuteReader, JuteWriter, juteLengthMax, juteMaxBufferDefault } from './jute.js';
import {
  type FileHeader,
  fileFormatVersion,
  readAcl,
  readFileHeader,
  readStatPersisted,
  type StatPersisted,
  snapshotMagic,
  writeAclList,
  writeFileHeader,
  writeStatPersisted,
} from './records.js';
import type { ZkReadOptions } from './txn-log.js';

/** The tree digest a snapshot records, and the zxid it belongs to (DataTree.ZxidDigest). */
export interface ZxidDigest {
  readonly zxid: bigint;
  readonly digestVersion: number;
  readonly digest: bigint;
}

/** What a snapshot reader hands over as it goes, in file order, as ZooKeeper's loader applies it. */
export interface SnapshotSink {
  session(sessionId: bigint, timeoutMs: number): void;
  /** The ACL cache, before any node. */
  acls(cache: ReadonlyMap<bigint, readonly ACL[]>): void;
  /** One node; may throw a ZkFormatError (a node before its parent). */
  node(path: string, data: Uint8Array | null, aclRef: bigint, stat: StatPersisted, offset: number): void;
  /** The "/" that ends the nodes. */
  endOfNodes(): void;
}

/** What follows the nodes. */
export interface SnapshotTrailer {
  readonly header: FileHeader;
  /** The digest, or null when the snapshot has none (before 3.6, or digests disabled). */
  readonly digest: ZxidDigest | null;
  /**
   * The last processed zxid ZooKeeper 3.9 writes after the digest
   * (`zookeeper.serializeLastProcessedZxid.enabled`, on by default), or null when absent.
   */
  readonly lastZxid?: bigint | null;
}

/** How the snapshot's bytes are stored, from the file's last name extension (SnapStream.getStreamMode). */
export function snapshotStreamMode(name: string): 'checked' | 'gz' | 'snappy' {
  const parts = name.split('.');
  const extension = parts.length > 1 ? parts[parts.length - 1]!.toLowerCase() : '';
  return extension === 'gz' ? 'gz' : extension === 'snappy' ? 'snappy' : 'checked';
}

/**
 * ZooKeeper's quick check before it tries a snapshot (SnapStream.isValidSnapshot): a plain
 * snapshot of at least 10 bytes ending in the seal's "/", a gzip one starting with gzip's magic.
 */
export function looksLikeSnapshot(name: string, bytes: Uint8Array): boolean {
  switch (snapshotStreamMode(name)) {
    case 'gz':
      return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
    case 'snappy':
      return bytes.length >= 8 && bytes[0] === 0x82 && bytes[1] === 0x53 && bytes[2] === 0x4e;
    case 'checked': {
      if (bytes.length < 10) return false;
      const tail = bytes.subarray(bytes.length - 5);
      return tail[0] === 0 && tail[1] === 0 && tail[2] === 0 && tail[3] === 1 && tail[4] === 0x2f;
    }
  }
}

/** The bytes of the snapshot stream: the file itself, or its gzip stream inflated. */
export function snapshotStream(name: string, file: string, bytes: Uint8Array): Uint8Array {
  switch (snapshotStreamMode(name)) {
    case 'checked':
      return bytes;
    case 'gz':
      try {
        return gunzipSync(bytes);
      } catch (error) {
        throw new ZkFormatError('badChecksum', file, -1, `the gzip stream is damaged: ${String(error)}`);
      }
    case 'snappy':
      throw new ZkFormatError(
        'unsupported',
        file,
        -1,
        'snappy-compressed snapshots are not supported: restart ZooKeeper with zookeeper.snapshot.compression.method unset (or gz) so that it writes a new snapshot',
      );
  }
}

function checkSeal(reader: JuteReader, stream: Uint8Array, what: string): void {
  const sealAt = reader.offset;
  const expected = adler32(stream.subarray(0, reader.position));
  const value = reader.long(what);
  reader.string(what);
  if (value !== BigInt(expected))
    reader.fail(
      'badChecksum',
      `${what}: checksum 0x${BigInt.asUintN(64, value).toString(16)} does not match the bytes before it (0x${expected.toString(16)})`,
      sealAt,
    );
}

/**
 * Reads a snapshot stream (see snapshotStream) into `sink`, as FileSnap.deserialize does,
 * then checks its seal and reads its digest. Throws a ZkFormatError naming the offset.
 */
export function readSnapshot(
  stream: Uint8Array,
  file: string,
  sink: SnapshotSink,
  options: ZkReadOptions = {},
): SnapshotTrailer {
  const reader: JuteReader = new JuteReader(
    stream,
    file,
    0,
    juteLengthMax(options.juteMaxBufferBytes ?? juteMaxBufferDefault),
  );
  const header = readFileHeader(reader);
  if (header.magic !== snapshotMagic)
    reader.fail('badMagic', `magic 0x${(header.magic >>> 0).toString(16)} is not ZKSN`, 0);
  for (let count = reader.int('the session count'); count > 0; count--) {
    sink.session(reader.long('a session'), reader.int('a session'));
  }
  const cache = new Map<bigint, ACL[]>();
  for (let count = reader.int('the ACL cache size'); count > 0; count--) {
    const ref = reader.long('an ACL cache entry');
    const length = reader.vector('an ACL cache entry');
    // ZooKeeper throws a RuntimeException here and does not start.
    if (length === null) reader.fail('badRecord', `ACL cache entry ${ref} has no list`);
    const acl: ACL[] = [];
    for (let i = 0; i < length; i++) acl.push(readAcl(reader));
    cache.set(ref, acl);
  }
  sink.acls(cache);
  for (;;) {
    const at = reader.offset;
    const path = reader.string('a node path');
    if (path === '/') break;
    if (path === null) reader.fail('badRecord', 'a node with a null path', at);
    const data = reader.buffer('node data');
    const aclRef = reader.long('a node ACL reference');
    const stat = readStatPersisted(reader);
    sink.node(path, data, aclRef, stat, at);
  }
  sink.endOfNodes();
  checkSeal(reader, stream, 'the snapshot seal');
  if (!(options.digestEnabled ?? true)) return { header, digest: null };
  let digest: ZxidDigest;
  try {
    const zxid = reader.long('the digest');
    const digestVersion = reader.int('the digest');
    let value: bigint;
    if (digestVersion < 2) {
      // Digest version 1 kept the digest as a hex string.
      const at = reader.offset;
      const text = reader.string('the digest');
      value = 0n;
      if (text !== null) {
        if (!/^[0-9a-fA-F]{1,16}$/.test(text))
          reader.fail('badRecord', `digest ${JSON.stringify(text)} is not hex`, at);
        value = BigInt.asIntN(64, BigInt(`0x${text}`));
      }
    } else {
      value = reader.long('the digest');
    }
    digest = { zxid, digestVersion, digest: value };
  } catch (error) {
    // A snapshot from before digests ends after the seal: ZooKeeper reads the EOF as "no digest".
    if (error instanceof ZkEndOfInput) return { header, digest: null };
    throw error;
  }
  checkSeal(reader, stream, 'the digest seal');
  let lastZxid: bigint;
  try {
    lastZxid = reader.long('the last processed zxid');
  } catch (error) {
    // Before 3.9 (or with serializeLastProcessedZxid off) the snapshot ends here.
    if (error instanceof ZkEndOfInput) return { header, digest, lastZxid: null };
    throw error;
  }
  checkSeal(reader, stream, 'the last processed zxid seal');
  return { header, digest, lastZxid };
}

/** One node as a snapshot stores it. */
export interface SnapshotNodeRecord {
  /** "" for the root, as ZooKeeper writes it. */
  readonly path: string;
  readonly data: Uint8Array | null;
  readonly aclRef: bigint;
  readonly stat: StatPersisted;
}

/** Everything a snapshot holds, for writing one. */
export interface SnapshotContent {
  readonly sessions: readonly (readonly [bigint, number])[];
  readonly acls: ReadonlyMap<bigint, readonly ACL[]>;
  /** Parents before children; the root first, with path "". */
  readonly nodes: readonly SnapshotNodeRecord[];
  /** Written with a second seal when given, as ZooKeeper 3.6+ writes it. */
  readonly digest: ZxidDigest | null;
  readonly dbid?: bigint;
  /**
   * Written after the digest with a third seal when given, as ZooKeeper 3.9 writes its last
   * processed zxid (what its restore command reads).
   */
  readonly lastZxid?: bigint;
}

/** A snapshot's bytes, as FileSnap.serialize writes them (uncompressed). */
export function encodeSnapshot(content: SnapshotContent): Uint8Array {
  const writer = new JuteWriter();
  writeFileHeader(writer, { magic: snapshotMagic, version: fileFormatVersion, dbid: content.dbid ?? -1n });
  writer.int(content.sessions.length);
  for (const [sessionId, timeoutMs] of content.sessions) writer.long(sessionId).int(timeoutMs);
  writer.int(content.acls.size);
  for (const [ref, acl] of content.acls) {
    writer.long(ref);
    writeAclList(writer, acl);
  }
  for (const node of content.nodes) {
    writer.string(node.path).buffer(node.data).long(node.aclRef);
    writeStatPersisted(writer, node.stat);
  }
  writer.string('/');
  const seal = () => writer.long(BigInt(adler32(writer.peek()))).string('/');
  seal();
  if (content.digest !== null) {
    writer.long(content.digest.zxid).int(content.digest.digestVersion).long(content.digest.digest);
    seal();
    if (content.lastZxid !== undefined) {
      writer.long(content.lastZxid);
      seal();
    }
  }
  return writer.finish();
}
