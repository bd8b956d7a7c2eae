/** The value log's segments and pointer records, on their own. */
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeLogRecord, StorageRecordError } from '@zabkit/codec';
import { Ids, makeZxid, type SessionId, type Txn, type Zxid } from '@zabkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePointer, encodePointer, isPointerRecord, ValueLog, ValueReadError } from '../src/values.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-values-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function record(counter: number, bytes: number): Uint8Array {
  const txn: Txn = {
    zxid: makeZxid(1, counter),
    timeMs: counter,
    sessionId: 1n as SessionId,
    cxid: counter,
    body: {
      kind: 'create',
      path: `/n${counter}`,
      data: new Uint8Array(bytes).fill(counter & 0xff),
      acl: Ids.openAclUnsafe,
      ephemeralOwner: 0n,
      parentCversion: counter,
    },
  };
  return encodeLogRecord([txn]);
}

describe('value pointers', () => {
  const pointer = {
    lastZxid: makeZxid(3, 9) as Zxid,
    segment: 7,
    offset: 2 ** 40,
    length: 1 << 20,
    crc: 0xdeadbeef,
  };

  it('round-trip, and are told from log records by their zero count', () => {
    const encoded = encodePointer(pointer);
    expect(isPointerRecord(encoded)).toBe(true);
    expect(decodePointer(encoded)).toEqual(pointer);
    expect(isPointerRecord(record(1, 10))).toBe(false);
  });

  it('a damaged pointer is a StorageRecordError', () => {
    const encoded = encodePointer(pointer);
    encoded[20]! ^= 1;
    expect(() => decodePointer(encoded)).toThrow(StorageRecordError);
    expect(() => decodePointer(encoded.subarray(0, 30))).toThrow(StorageRecordError);
  });
});

describe('ValueLog', () => {
  it('reads back what it appended, across segments and reopens', async () => {
    const dir = tempDir();
    const log = ValueLog.open(dir, { segmentBytes: 3000 });
    const records = [record(1, 1000), record(2, 1000), record(3, 5000), record(4, 10)];
    const pointers = [];
    for (const [i, r] of records.entries()) pointers.push(await log.append(r, makeZxid(1, i + 1)));
    // Two records fill the first segment; the large one has one to itself.
    expect(pointers.map((p) => p.segment)).toEqual([1, 1, 2, 3]);
    for (const [i, p] of pointers.entries())
      expect(Buffer.from(await log.read(p))).toEqual(Buffer.from(records[i]!));
    await log.close();
    const again = ValueLog.open(dir, { segmentBytes: 3000 });
    for (const [i, p] of pointers.entries())
      expect(Buffer.from(await again.read(p))).toEqual(Buffer.from(records[i]!));
    // A reopened log never appends to a segment written before.
    expect((await again.append(record(5, 10), makeZxid(1, 5))).segment).toBe(4);
    await again.close();
  });

  it('appends made at once take one segment after another, each record whole', async () => {
    const dir = tempDir();
    const log = ValueLog.open(dir, { segmentBytes: 2500 });
    const records = Array.from({ length: 6 }, (_v, i) => record(i + 1, 1000));
    const pointers = await Promise.all(records.map((r, i) => log.append(r, makeZxid(1, i + 1))));
    expect(pointers.map((p) => p.segment)).toEqual([1, 1, 2, 2, 3, 3]);
    for (const [i, p] of pointers.entries())
      expect(Buffer.from(await log.read(p))).toEqual(Buffer.from(records[i]!));
    expect(log.segments()).toEqual([1, 2, 3]);
    await log.close();
  });

  it('a short segment, a missing one or other bytes at the offset are a ValueReadError', async () => {
    const dir = tempDir();
    const log = ValueLog.open(dir);
    const a = await log.append(record(1, 2000), makeZxid(1, 1));
    await log.close();
    const reader = ValueLog.open(dir);
    await expect(reader.read({ ...a, segment: 9 })).rejects.toThrow(/segment 9 is missing/);
    await expect(reader.read({ ...a, crc: a.crc ^ 1 })).rejects.toThrow(ValueReadError);
    await reader.close();
    truncateSync(join(dir, '0000000001.seg'), 100);
    const cut = ValueLog.open(dir);
    await expect(cut.read(a)).rejects.toThrow(/ends 100 bytes into/);
    await cut.close();
  });

  it('deletes segments below a number, never the one being appended to, and ignores other files', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'notes.txt'), 'kept');
    const log = ValueLog.open(dir, { segmentBytes: 1 });
    expect(log.hasClosedSegments()).toBe(false);
    await log.append(record(1, 100), makeZxid(1, 1));
    // Only the segment being appended to: nothing a deletion could take.
    expect(log.hasClosedSegments()).toBe(false);
    for (let i = 2; i <= 4; i++) await log.append(record(i, 100), makeZxid(1, i));
    expect(log.hasClosedSegments()).toBe(true);
    expect(log.segments()).toEqual([1, 2, 3, 4]);
    expect(await log.deleteBelow(3)).toBe(2);
    expect(log.segments()).toEqual([3, 4]);
    expect(await log.deleteBelow(100)).toBe(1);
    expect(log.segments()).toEqual([4]);
    await log.close();
  });
});
