/**
 * The single-file readers and writers: round trips of arbitrary log entries and snapshots,
 * and hand-made damage, each refused (or, where ZooKeeper reads it as the end of a log,
 * taken as the end) with the file and the offset.
 */
import type { ACL } from '@zabkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  adler32,
  encodeSnapshot,
  encodeTxnEntry,
  encodeTxnLogFile,
  encodeTxnRecord,
  JuteWriter,
  looksLikeSnapshot,
  readSnapshot,
  readTxnLogFile,
  type SnapshotContent,
  type SnapshotNodeRecord,
  type StatPersisted,
  ZkFormatError,
  ZkOpCode,
  type ZkTxn,
  type ZkTxnEntry,
  zxidFromFileName,
} from '../src/index.js';
import { int, long, stat } from './arbitraries.js';

const text = fc.string({ maxLength: 12, unit: 'grapheme' });
const path = text.map((t) => `/${t.replaceAll('/', '_')}`);
const data = fc.option(fc.uint8Array({ maxLength: 16 }), { nil: null });
const acl: fc.Arbitrary<ACL> = fc.record({ perms: int, id: fc.record({ scheme: text, id: text }) });
const acls = fc.option(fc.array(acl, { maxLength: 3 }), { nil: null });

const record: fc.Arbitrary<{ type: number; txn: ZkTxn }> = fc.oneof(
  fc.record({
    type: fc.constant(ZkOpCode.createSession),
    txn: fc.record({ kind: fc.constant('createSession' as const), timeoutMs: int }),
  }),
  fc.record({
    type: fc.constant(ZkOpCode.closeSession),
    txn: fc.record({ kind: fc.constant('closeSession' as const), paths: fc.array(path, { maxLength: 3 }) }),
  }),
  fc.record({
    type: fc.constantFrom(ZkOpCode.create, ZkOpCode.create2),
    txn: fc.record({
      kind: fc.constant('create' as const),
      path,
      data,
      acl: acls,
      ephemeral: fc.boolean(),
      parentCversion: int,
    }),
  }),
  fc.record({
    type: fc.constant(ZkOpCode.createContainer),
    txn: fc.record({
      kind: fc.constant('createContainer' as const),
      path,
      data,
      acl: acls,
      parentCversion: int,
    }),
  }),
  fc.record({
    type: fc.constant(ZkOpCode.createTTL),
    txn: fc.record({
      kind: fc.constant('createTTL' as const),
      path,
      data,
      acl: acls,
      parentCversion: int,
      ttl: long,
    }),
  }),
  fc.record({
    type: fc.constantFrom(ZkOpCode.delete, ZkOpCode.deleteContainer),
    txn: fc.record({ kind: fc.constant('delete' as const), path }),
  }),
  fc.record({
    type: fc.constantFrom(ZkOpCode.setData, ZkOpCode.reconfig),
    txn: fc.record({ kind: fc.constant('setData' as const), path, data, version: int }),
  }),
  fc.record({
    type: fc.constant(ZkOpCode.setACL),
    txn: fc.record({ kind: fc.constant('setACL' as const), path, acl: acls, version: int }),
  }),
  fc.record({
    type: fc.constant(ZkOpCode.error),
    txn: fc.record({ kind: fc.constant('error' as const), err: int }),
  }),
  fc.record({
    type: fc.constant(ZkOpCode.multi),
    txn: fc.record({
      kind: fc.constant('multi' as const),
      parts: fc.array(fc.record({ type: int, data: fc.uint8Array({ maxLength: 12 }) }), { maxLength: 3 }),
    }),
  }),
);

const entry: fc.Arbitrary<ZkTxnEntry> = fc
  .record({
    record,
    clientId: long,
    cxid: int,
    zxid: long,
    time: long,
    digest: fc.option(fc.record({ version: int, treeDigest: long }), { nil: null }),
  })
  .map(({ record, clientId, cxid, zxid, time, digest }) => ({
    header: { clientId, cxid, zxid, time, type: record.type },
    txn: record.txn,
    digest,
  }));

const createEntry = (zxid: bigint, path: string): ZkTxnEntry => ({
  header: { clientId: 1n, cxid: 1, zxid, time: 1000n, type: ZkOpCode.create },
  txn: { kind: 'create', path, data: new Uint8Array([1, 2]), acl: null, ephemeral: false, parentCversion: 1 },
  digest: null,
});

function errorOf(run: () => unknown): ZkFormatError {
  try {
    run();
  } catch (error) {
    if (error instanceof ZkFormatError) return error;
    throw error;
  }
  throw new Error('no error');
}

describe('ZooKeeper transaction log files', () => {
  it('Adler32 is java.util.zip.Adler32', () => {
    expect(adler32(new TextEncoder().encode('Wikipedia'))).toBe(0x11e60398);
    expect(adler32(new Uint8Array(0))).toBe(1);
    // Long runs of 0xff: the modulus must be taken before the sums overflow.
    const ones = new Uint8Array(100_000).fill(0xff);
    let a = 1;
    let b = 0;
    for (const byte of ones) {
      a = (a + byte) % 65521;
      b = (b + a) % 65521;
    }
    expect(adler32(ones)).toBe(((b << 16) | a) >>> 0);
  });

  it('reads back every entry it writes, padding or not', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), fc.nat({ max: 64 }), (entries, padding) => {
        const bytes = encodeTxnLogFile(entries, { paddingBytes: padding });
        const log = readTxnLogFile(bytes, 'log.1');
        expect(log.entries.map(({ offset: _offset, ...rest }) => rest)).toEqual(entries);
        expect(log.end).toBe(
          padding >= 12 ? 'zero padding' : padding === 0 ? 'end of file' : 'truncated entry',
        );
        expect(log.bytesAfterEnd).toBe(0);
      }),
    );
  });

  it('stops at a torn last entry, keeping the ones before, as ZooKeeper does', () => {
    const entries = [createEntry(1n, '/a'), createEntry(2n, '/b'), createEntry(3n, '/c')];
    const whole = encodeTxnLogFile(entries, { paddingBytes: 100 });
    const third = readTxnLogFile(whole, 'log.1').entries[2]!.offset;
    // The last write torn inside its bytes: what follows is preallocated zeros.
    const torn = whole.slice();
    torn.fill(0, third + 20);
    const log = readTxnLogFile(torn, 'log.1');
    expect(log.entries.map((e) => e.header.zxid)).toEqual([1n, 2n]);
    expect(log.end).toBe('partial entry');
    expect(log.endOffset).toBe(third);
    // Cut off inside the entry (no padding after it).
    const cut = readTxnLogFile(whole.subarray(0, third + 15), 'log.1');
    expect(cut.entries).toHaveLength(2);
    expect(cut.end).toBe('truncated entry');
  });

  it('refuses a checksum mismatch, naming the file and the entry offset', () => {
    const bytes = encodeTxnLogFile([createEntry(1n, '/a'), createEntry(2n, '/b')]);
    const second = readTxnLogFile(bytes, 'log.1').entries[1]!.offset;
    const damaged = bytes.slice();
    damaged[second + 12 + 30]! ^= 0x01;
    const error = errorOf(() => readTxnLogFile(damaged, '/data/version-2/log.1'));
    expect(error.code).toBe('badChecksum');
    expect(error.file).toBe('/data/version-2/log.1');
    expect(error.offset).toBe(second);
    expect(error.message).toContain(`log.1 at offset ${second}`);
  });

  it('refuses a wrong magic, a short header, an unknown type and an unreasonable length', () => {
    const bytes = encodeTxnLogFile([createEntry(1n, '/a')]);
    const wrongMagic = bytes.slice();
    wrongMagic[0] = 0x41;
    expect(errorOf(() => readTxnLogFile(wrongMagic, 'log.1')).code).toBe('badMagic');
    expect(errorOf(() => readTxnLogFile(bytes.subarray(0, 10), 'log.1')).code).toBe('truncated');

    const unknown = new JuteWriter().long(1n).int(1).long(5n).long(0n).int(99).int(7).finish();
    const withUnknown = new JuteWriter()
      .raw(bytes)
      .long(BigInt(adler32(unknown)))
      .buffer(unknown)
      .byte(0x42)
      .finish();
    const error = errorOf(() => readTxnLogFile(withUnknown, 'log.1'));
    expect(error.code).toBe('unknownTxnType');
    expect(error.offset).toBe(bytes.length + 12 + 28);
    expect(error.reason).toContain('99');

    const huge = new JuteWriter().raw(bytes).long(0n).int(0x7fff_0000).finish();
    const lengthError = errorOf(() => readTxnLogFile(huge, 'log.1'));
    expect(lengthError.code).toBe('badLength');
    expect(lengthError.offset).toBe(bytes.length + 8);
  });

  it('reads a pre-3.3 create (no parent cversion) and a pre-3.6 closeSession (no paths)', () => {
    const v0 = new JuteWriter()
      .long(1n)
      .int(1)
      .long(1n)
      .long(0n)
      .int(ZkOpCode.create)
      .string('/old')
      .buffer(null)
      .int(-1)
      .bool(true)
      .finish();
    const close = new JuteWriter().long(1n).int(2).long(2n).long(0n).int(ZkOpCode.closeSession).finish();
    const writer = new JuteWriter().raw(encodeTxnLogFile([]));
    for (const bytes of [v0, close])
      writer
        .long(BigInt(adler32(bytes)))
        .buffer(bytes)
        .byte(0x42);
    const log = readTxnLogFile(writer.finish(), 'log.1');
    expect(log.entries[0]!.txn).toEqual({
      kind: 'create',
      path: '/old',
      data: null,
      acl: null,
      ephemeral: true,
      parentCversion: -1,
    });
    expect(log.entries[1]!.txn).toEqual({ kind: 'closeSession', paths: null });
  });

  it('parses zxids from file names as ZooKeeper does', () => {
    expect(zxidFromFileName('log.100000001', 'log')).toBe(0x100000001n);
    expect(zxidFromFileName('snapshot.1a.gz', 'snapshot')).toBe(0x1an);
    expect(zxidFromFileName('snapshot.xyz', 'snapshot')).toBe(-1n);
    expect(zxidFromFileName('log.1', 'snapshot')).toBe(-1n);
    expect(zxidFromFileName('acceptedEpoch', 'log')).toBe(-1n);
  });

  it('encodes multi parts that decode back', () => {
    const part = encodeTxnRecord({ kind: 'check', path: '/a', version: 3 });
    const entryBytes = encodeTxnEntry({
      header: { clientId: 0n, cxid: 0, zxid: 1n, time: 0n, type: ZkOpCode.multi },
      txn: { kind: 'multi', parts: [{ type: ZkOpCode.check, data: part }] },
      digest: null,
    });
    expect(entryBytes.length).toBeGreaterThan(part.length);
  });
});

// "/" alone ends a snapshot's nodes, so it is never a node's path there.
const nodePath = path.filter((p) => p !== '/');
const nodeRecord: fc.Arbitrary<SnapshotNodeRecord> = fc.record({ path: nodePath, data, aclRef: long, stat });

function readAll(bytes: Uint8Array, file = 'snapshot.1') {
  const sessions: [bigint, number][] = [];
  const nodes: SnapshotNodeRecord[] = [];
  let acls = new Map<bigint, readonly ACL[]>();
  const trailer = readSnapshot(bytes, file, {
    session: (id, timeout) => sessions.push([id, timeout]),
    acls: (cache) => {
      acls = new Map(cache);
    },
    node: (p, d, aclRef, s) => nodes.push({ path: p, data: d, aclRef, stat: s }),
    endOfNodes: () => undefined,
  });
  return { sessions, nodes, acls, digest: trailer.digest };
}

describe('ZooKeeper snapshot files', () => {
  it('reads back every snapshot it writes, with and without a digest', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(long, int), { maxLength: 4 }),
        fc.uniqueArray(fc.tuple(long, fc.array(acl, { maxLength: 2 })), {
          selector: ([ref]) => ref,
          maxLength: 3,
        }),
        fc.array(nodeRecord, { maxLength: 6 }),
        fc.option(fc.record({ zxid: long, digestVersion: fc.constant(2), digest: long }), { nil: null }),
        (sessions, aclEntries, nodes, digest) => {
          const content: SnapshotContent = {
            sessions,
            acls: new Map(aclEntries),
            nodes: [
              { path: '', data: new Uint8Array(0), aclRef: -1n, stat: nodes[0]?.stat ?? zeroStat },
              ...nodes,
            ],
            digest,
          };
          const bytes = encodeSnapshot(content);
          expect(looksLikeSnapshot('snapshot.1', bytes)).toBe(true);
          const read = readAll(bytes);
          expect(read.sessions).toEqual(sessions);
          expect(read.acls).toEqual(content.acls);
          expect(read.nodes).toEqual(content.nodes);
          expect(read.digest).toEqual(digest);
        },
      ),
    );
  });

  it('refuses a damaged byte by its seal, a wrong magic and a cut-off file', () => {
    const content: SnapshotContent = {
      sessions: [[0x100n, 30_000]],
      acls: new Map([[1n, [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }]]]),
      nodes: [
        { path: '', data: new Uint8Array(0), aclRef: 1n, stat: zeroStat },
        { path: '/a', data: new TextEncoder().encode('hello'), aclRef: 1n, stat: zeroStat },
      ],
      digest: { zxid: 5n, digestVersion: 2, digest: 42n },
    };
    const bytes = encodeSnapshot(content);
    const at = bytes.indexOf(0x68); // the 'h' of "hello"
    const damaged = bytes.slice();
    damaged[at] = 0x48;
    const error = errorOf(() => readAll(damaged, 'snapshot.5'));
    expect(error.code).toBe('badChecksum');
    expect(error.file).toBe('snapshot.5');
    expect(error.reason).toContain('the snapshot seal');

    const wrongMagic = bytes.slice();
    wrongMagic[3] = 0x00;
    expect(errorOf(() => readAll(wrongMagic)).code).toBe('badMagic');

    const cut = bytes.subarray(0, at);
    expect(looksLikeSnapshot('snapshot.5', cut)).toBe(false);
    expect(errorOf(() => readAll(cut)).code).toBe('truncated');

    // The digest's own seal covers the digest.
    const digestDamaged = bytes.slice();
    digestDamaged[bytes.length - 5 - 8 - 3]! ^= 1;
    expect(errorOf(() => readAll(digestDamaged)).reason).toContain('the digest seal');
  });
});

const zeroStat: StatPersisted = {
  czxid: 0n,
  mzxid: 0n,
  ctime: 0n,
  mtime: 0n,
  version: 0,
  cversion: 0,
  aversion: 0,
  ephemeralOwner: 0n,
  pzxid: 0n,
};
