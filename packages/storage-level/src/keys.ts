/**
 * The store's keys. Keys sort by what they name: a one-byte section, then the zxid as 8
 * big-endian bytes, so LevelDB's byte order is zxid order. The values under them are the
 * records of @zabkit/codec's storage-records module.
 */
import type { Zxid } from '@zabkit/core';

export const Section = {
  /** `e`: the epochs. */
  epochs: 0x65,
  /** `f`: the format record, naming the store's layout version. */
  format: 0x66,
  /** `l` + zxid: a log record, a run of transactions from this zxid on. */
  log: 0x6c,
  /** `s` + zxid + `c` + chunk: a chunk of a snapshot's nodes; + `m`: its manifest. */
  snapshot: 0x73,
  /** `k`: the session secret. */
  sessionSecret: 0x6b,
} as const;

const chunkMark = 0x63;
const manifestMark = 0x6d;

export const epochsKey = Uint8Array.of(Section.epochs);
export const formatKey = Uint8Array.of(Section.format);
export const sessionSecretKey = Uint8Array.of(Section.sessionSecret);

export function logKey(zxid: Zxid | bigint): Uint8Array {
  const key = new Uint8Array(9);
  key[0] = Section.log;
  new DataView(key.buffer).setBigUint64(1, BigInt.asUintN(64, zxid));
  return key;
}

/** The first and past-the-last keys of the log section. */
export const logStart = Uint8Array.of(Section.log);
export const logEnd = Uint8Array.of(Section.log + 1);

/** The zxid a log, chunk or manifest key names. */
export function zxidOfKey(key: Uint8Array): Zxid {
  return new DataView(key.buffer, key.byteOffset, key.byteLength).getBigUint64(1) as Zxid;
}

function snapshotPrefix(zxid: Zxid | bigint, mark: number, extra: number): Uint8Array {
  const key = new Uint8Array(10 + extra);
  key[0] = Section.snapshot;
  new DataView(key.buffer).setBigUint64(1, BigInt.asUintN(64, zxid));
  key[9] = mark;
  return key;
}

export function manifestKey(zxid: Zxid | bigint): Uint8Array {
  return snapshotPrefix(zxid, manifestMark, 0);
}

export function chunkKey(zxid: Zxid | bigint, index: number): Uint8Array {
  const key = snapshotPrefix(zxid, chunkMark, 4);
  new DataView(key.buffer).setUint32(10, index);
  return key;
}

/** Every chunk key of the snapshot at `zxid`: [start, end). */
export function chunkRange(zxid: Zxid | bigint): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: snapshotPrefix(zxid, chunkMark, 0), lt: snapshotPrefix(zxid, chunkMark + 1, 0) };
}

/** Every key of the snapshot at `zxid`: [start, end). */
export function snapshotRange(zxid: Zxid | bigint): { gte: Uint8Array; lt: Uint8Array } {
  const gte = snapshotPrefix(zxid, 0, 0);
  const lt = snapshotPrefix(zxid, 0xff, 0);
  return { gte, lt };
}

export const snapshotStart = Uint8Array.of(Section.snapshot);
export const snapshotEnd = Uint8Array.of(Section.snapshot + 1);

export function isManifestKey(key: Uint8Array): boolean {
  return key.length === 10 && key[0] === Section.snapshot && key[9] === manifestMark;
}

export function isChunkKey(key: Uint8Array): boolean {
  return key.length === 14 && key[0] === Section.snapshot && key[9] === chunkMark;
}

/** The index of a chunk key. */
export function chunkIndexOfKey(key: Uint8Array): number {
  return new DataView(key.buffer, key.byteOffset, key.byteLength).getUint32(10);
}

/** True for keys zabkit writes: a store holding any other key is not (only) a zabkit store. */
export function isZabkitKey(key: Uint8Array): boolean {
  if (key.length === 1)
    return key[0] === Section.epochs || key[0] === Section.format || key[0] === Section.sessionSecret;
  if (key[0] === Section.log) return key.length === 9;
  return isManifestKey(key) || isChunkKey(key);
}

/** A key as a report shows it: hex. */
export function keyHex(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');
}

/** Hex form of a zxid, as ZooKeeper prints it. */
export function hexZxid(zxid: bigint): string {
  return `0x${zxid.toString(16)}`;
}
