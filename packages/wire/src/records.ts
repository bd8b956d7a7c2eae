/**
 * The records shared by several messages (Stat, Id, ACL), and the helpers that turn wire
 * longs into core's zxids. Zxids are read as unsigned 64-bit: core brands only non-negative
 * bigints, and reading the same bits unsigned lets every value on the wire round-trip.
 */
import type { ACL, Stat, Zxid } from '@zabkit/core';
import { zeroZxid, zxid } from '@zabkit/core';
import type { JuteReader, JuteWriter } from './jute.js';

/** A zxid field whose bits must survive a round trip (Stat's zxids). */
export function readZxidBits(reader: JuteReader): Zxid {
  return zxid(reader.ulong());
}

/**
 * A zxid the peer uses as a high-water mark (lastZxidSeen, relativeZxid, ReplyHeader.zxid).
 * ZooKeeper compares these as signed longs, so a negative value is behind everything: it
 * reads as zero rather than as a huge unsigned zxid.
 */
export function readZxidMark(reader: JuteReader): Zxid {
  const value = reader.long();
  return value < 0n ? zeroZxid : zxid(value);
}

/** Stat, field for field; times become JS numbers, ephemeralOwner stays signed as core keeps it. */
export function readStat(reader: JuteReader): Stat {
  return {
    czxid: readZxidBits(reader),
    mzxid: readZxidBits(reader),
    ctime: Number(reader.long()),
    mtime: Number(reader.long()),
    version: reader.int(),
    cversion: reader.int(),
    aversion: reader.int(),
    ephemeralOwner: reader.long(),
    dataLength: reader.int(),
    numChildren: reader.int(),
    pzxid: readZxidBits(reader),
  };
}

/** Writes a Stat in ZooKeeper's field order. */
export function writeStat(writer: JuteWriter, stat: Stat): void {
  writer
    .long(stat.czxid)
    .long(stat.mzxid)
    .time(stat.ctime)
    .time(stat.mtime)
    .int(stat.version)
    .int(stat.cversion)
    .int(stat.aversion)
    .long(stat.ephemeralOwner)
    .int(stat.dataLength)
    .int(stat.numChildren)
    .long(stat.pzxid);
}

/** ACL{int perms; Id{ustring scheme; ustring id}}; null strings read as ''. */
export function readAcl(reader: JuteReader): ACL {
  const perms = reader.int();
  const scheme = reader.string();
  const id = reader.string();
  return { perms, id: { scheme, id } };
}

/** Writes one ACL entry. */
export function writeAcl(writer: JuteWriter, acl: ACL): void {
  writer.int(acl.perms).ustring(acl.id.scheme).ustring(acl.id.id);
}
