/** Golden bytes for every storage record: what LevelDB keeps is pinned, not just self-consistent. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  decodeEpochsRecord,
  decodeFormatRecord,
  decodeLogRecord,
  decodeManifest,
  decodeSessionSecretRecord,
  decodeSnapshotChunk,
  encodeEpochsRecord,
  encodeFormatRecord,
  encodeLogRecord,
  encodeManifest,
  encodeSessionSecretRecord,
  encodeSnapshotChunk,
  storageFormatVersion,
} from '../src/index.js';
import { fromHex, readGolden, toHex, updatingGolden, writeGolden } from './golden.js';
import { nullDataNodes, nullDataTxns, sampleNodes, sampleSnapshot, sampleTxns } from './samples.js';

const file = fileURLToPath(new URL('./golden/storage-records.txt', import.meta.url));
const header = `
Golden bytes of storage records (the values LevelStorage writes): one sample per line, its
name, then the record in hex. Rewrite only on purpose, with a new storage format version:
ZABKIT_UPDATE_GOLDEN=1 npx vitest run packages/codec
`;

const t = sampleTxns;
const uint32Max = 2 ** 32 - 1;

/** Each sample: how to write it, and what reading it back must give. */
const samples: Record<
  string,
  { bytes: () => Uint8Array; read: (bytes: Uint8Array) => unknown; value: unknown }
> = {
  'format/1': { value: 1, bytes: () => encodeFormatRecord(1), read: decodeFormatRecord },
  'format/current': {
    value: storageFormatVersion,
    bytes: () => encodeFormatRecord(),
    read: decodeFormatRecord,
  },
  'epochs/zero': {
    value: { acceptedEpoch: 0, currentEpoch: 0 },
    bytes: () => encodeEpochsRecord({ acceptedEpoch: 0, currentEpoch: 0 }),
    read: decodeEpochsRecord,
  },
  'epochs/acceptedAhead': {
    value: { acceptedEpoch: 5, currentEpoch: 4 },
    bytes: () => encodeEpochsRecord({ acceptedEpoch: 5, currentEpoch: 4 }),
    read: decodeEpochsRecord,
  },
  'epochs/largest': {
    value: { acceptedEpoch: uint32Max, currentEpoch: uint32Max },
    bytes: () => encodeEpochsRecord({ acceptedEpoch: uint32Max, currentEpoch: uint32Max }),
    read: decodeEpochsRecord,
  },
  'log/one': {
    value: { lastZxid: t.createSession!.zxid, count: 1, txns: [t.createSession] },
    bytes: () => encodeLogRecord([t.createSession!]),
    read: decodeLogRecord,
  },
  'log/batch': {
    value: {
      lastZxid: t.multiFailed!.zxid,
      count: 10,
      txns: [
        t.create,
        t.createEphemeral,
        t.createContainer,
        t.createTtl,
        t.delete,
        t.setData,
        t.setACL,
        t.check,
        t.multi,
        t.multiFailed,
      ],
    },
    bytes: () =>
      encodeLogRecord([
        t.create!,
        t.createEphemeral!,
        t.createContainer!,
        t.createTtl!,
        t.delete!,
        t.setData!,
        t.setACL!,
        t.check!,
        t.multi!,
        t.multiFailed!,
      ]),
    read: decodeLogRecord,
  },
  'log/sessions': {
    value: {
      lastZxid: t.closeSessionNoEphemerals!.zxid,
      count: 2,
      txns: [t.closeSession, t.closeSessionNoEphemerals],
    },
    bytes: () => encodeLogRecord([t.closeSession!, t.closeSessionNoEphemerals!]),
    read: decodeLogRecord,
  },
  'log/error': {
    value: { lastZxid: t.error!.zxid, count: 1, txns: [t.error] },
    bytes: () => encodeLogRecord([t.error!]),
    read: decodeLogRecord,
  },
  'snapshotChunk/nodes': {
    value: sampleNodes,
    bytes: () => encodeSnapshotChunk(sampleNodes),
    read: decodeSnapshotChunk,
  },
  'log/nullData': {
    value: { lastZxid: nullDataTxns.multi!.zxid, count: 3, txns: Object.values(nullDataTxns) },
    bytes: () => encodeLogRecord(Object.values(nullDataTxns)),
    read: decodeLogRecord,
  },
  'snapshotChunk/nullData': {
    value: nullDataNodes,
    bytes: () => encodeSnapshotChunk(nullDataNodes),
    read: decodeSnapshotChunk,
  },
  'snapshotChunk/empty': { value: [], bytes: () => encodeSnapshotChunk([]), read: decodeSnapshotChunk },
  'manifest/sessions': {
    value: { chunks: 3, nodes: 5000, sessions: sampleSnapshot.sessions },
    bytes: () => encodeManifest({ chunks: 3, nodes: 5000, sessions: sampleSnapshot.sessions }),
    read: decodeManifest,
  },
  'sessionSecret/32': {
    value: Uint8Array.from({ length: 32 }, (_v, i) => 255 - i),
    bytes: () => encodeSessionSecretRecord(Uint8Array.from({ length: 32 }, (_v, i) => 255 - i)),
    read: decodeSessionSecretRecord,
  },
  'manifest/empty': {
    value: { chunks: 1, nodes: 0, sessions: [] },
    bytes: () => encodeManifest({ chunks: 1, nodes: 0, sessions: [] }),
    read: decodeManifest,
  },
};

describe('golden bytes of storage records', () => {
  if (updatingGolden) {
    it('rewrites the golden file', () => {
      writeGolden(file, header, new Map(Object.entries(samples).map(([name, s]) => [name, s.bytes()])));
    });
    return;
  }
  const golden = readGolden(file);

  it('has one entry per sample and no other', () => {
    expect([...golden.keys()].sort()).toEqual(Object.keys(samples).sort());
  });

  for (const [name, sample] of Object.entries(samples)) {
    it(`writes ${name} as checked in`, () => {
      expect(toHex(sample.bytes())).toBe(golden.get(name));
    });
    it(`reads ${name} from its checked-in bytes`, () => {
      expect(sample.read(fromHex(golden.get(name) ?? ''))).toEqual(sample.value);
    });
  }
});

describe('snapshot chunks decoded with data views', () => {
  const record = encodeSnapshotChunk([...sampleNodes, ...nullDataNodes]);

  it('reads the same nodes as copies do, null data included', () => {
    expect(decodeSnapshotChunk(record, undefined, { dataViews: true })).toEqual(decodeSnapshotChunk(record));
  });

  it('gives data that share the record, where copies own their bytes', () => {
    const viewed = decodeSnapshotChunk(record, undefined, { dataViews: true });
    const copied = decodeSnapshotChunk(record);
    const withData = viewed.filter((node) => node.data !== null && node.data.length > 0);
    expect(withData.length).toBeGreaterThan(0);
    for (const node of withData) expect(node.data!.buffer).toBe(record.buffer);
    for (const node of copied) if (node.data !== null) expect(node.data.buffer).not.toBe(record.buffer);
  });
});
