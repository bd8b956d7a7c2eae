/**
 * `zabkit storage check` and `zabkit storage repair` as an operator runs them, on a LevelDB
 * store the server would refuse: what they print, their exit codes, and that repair changes
 * nothing without --yes.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { storageFormatVersion } from '@zabkit/codec';
import { decodedSessionId, Ids, makeZxid, type Txn } from '@zabkit/core';
import { LevelStorage, StorageCorruptError } from '@zabkit/storage-level';
import { ClassicLevel } from 'classic-level';
import { afterAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../packages/server/bin/zabkit.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'zabkit-storage-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function zabkit(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr.on('data', (chunk) => {
    err += chunk;
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out, err })));
}

const txn = (counter: number): Txn => ({
  zxid: makeZxid(1, counter),
  timeMs: counter,
  sessionId: decodedSessionId(1n),
  cxid: counter,
  body: {
    kind: 'create',
    path: `/n${counter}`,
    data: new Uint8Array(0),
    acl: Ids.openAclUnsafe,
    ephemeralOwner: 0n,
    parentCversion: counter,
  },
});

/** A data directory as `zabkit server` lays it out: dataDir/zabkit.db, with five transactions logged one per record. */
async function dataDir(name: string): Promise<{ dir: string; db: string }> {
  const dir = join(root, name);
  const db = join(dir, 'zabkit.db');
  const store = await LevelStorage.open(db);
  await store.writeEpochs({ acceptedEpoch: 1, currentEpoch: 1 });
  for (let counter = 1; counter <= 5; counter++) await store.append([txn(counter)]);
  await store.close();
  return { dir, db };
}

async function flipLastRecord(db: string): Promise<void> {
  const level = new ClassicLevel<Uint8Array, Uint8Array>(db, { keyEncoding: 'view', valueEncoding: 'view' });
  await level.open();
  const [entry] = await level
    .iterator({ gte: Uint8Array.of(0x6c), lt: Uint8Array.of(0x6d), reverse: true, limit: 1 })
    .all();
  const value = Uint8Array.from(entry![1]);
  value[value.length - 1]! ^= 0xff;
  await level.put(entry![0], value);
  await level.close();
}

describe('zabkit storage', () => {
  it('check says a sound store is sound, and exits 0', async () => {
    const { dir } = await dataDir('sound');
    const result = await zabkit(['storage', 'check', dir]);
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    // The format a new store is written in, whatever the codec's current version is.
    expect(result.out).toContain(
      `format: ${storageFormatVersion}\nepochs: accepted 1, current 1\nsnapshots: none\nlog: 5 records from 0x100000001 to 0x100000005\nsound\n`,
    );
  });

  it('check names a damaged last record and what repair would lose; repair changes nothing without --yes, then repairs', async () => {
    const { dir, db } = await dataDir('damaged');
    await flipLastRecord(db);
    const refused = await LevelStorage.open(db);
    await expect(refused.load()).rejects.toBeInstanceOf(StorageCorruptError);
    await refused.close();

    const check = await zabkit(['storage', 'check', dir]);
    expect(check.code).toBe(1);
    expect(check.out).toMatch(
      /problems \(1\):\n {2}log record from 0x100000005 \(key 6c0000000100000005\): checksum mismatch/,
    );
    expect(check.out).toMatch(/LOST: every transaction after 0x100000004/);

    const dry = await zabkit(['storage', 'repair', dir]);
    expect(dry.code).toBe(1);
    expect(dry.out).toMatch(
      /repair would:\n {2}delete 6c0000000100000005: after the last unbroken transaction 0x100000004/,
    );
    expect(dry.out).toMatch(/nothing was changed/);
    expect((await zabkit(['storage', 'check', dir])).code).toBe(1);

    const repaired = await zabkit(['storage', 'repair', dir, '--yes']);
    expect(repaired.code).toBe(0);
    expect(repaired.out).toMatch(/repaired: the store is sound/);
    const store = await LevelStorage.open(db);
    expect((await store.load()).log.map((t) => t.zxid)).toEqual([1, 2, 3, 4].map((c) => makeZxid(1, c)));
    await store.close();
    expect((await zabkit(['storage', 'check', dir])).code).toBe(0);
  });

  it('check reads a store with a value log through its pointers, and names a record whose bytes are gone', async () => {
    const dir = join(root, 'values');
    const db = join(dir, 'zabkit.db');
    const store = await LevelStorage.open(db, { valueLog: { thresholdBytes: 0 } });
    await store.writeEpochs({ acceptedEpoch: 1, currentEpoch: 1 });
    for (let counter = 1; counter <= 3; counter++) await store.append([txn(counter)]);
    await store.close();
    const sound = await zabkit(['storage', 'check', dir]);
    expect(sound.code).toBe(0);
    expect(sound.out).toContain('format: 3\n');
    expect(sound.out).toContain('log: 3 records from 0x100000001 to 0x100000003\nsound\n');
    // The segment cut short inside the last record's bytes.
    const segment = join(db, 'values', readdirSync(join(db, 'values'))[0]!);
    truncateSync(segment, statSync(segment).size - 1);
    const check = await zabkit(['storage', 'check', dir]);
    expect(check.code).toBe(1);
    expect(check.out).toMatch(
      /log record 0x100000003 \(key 6c0000000100000003\): its bytes in the value log: segment 1 ends .* \(dangling\)/,
    );
    const repaired = await zabkit(['storage', 'repair', dir, '--yes']);
    expect(repaired.code).toBe(0);
    const after = await LevelStorage.open(db);
    expect((await after.load()).log.map((t) => t.zxid)).toEqual([1, 2].map((c) => makeZxid(1, c)));
    await after.close();
  });

  it('check --json reports the same findings as data', async () => {
    const { dir, db } = await dataDir('json');
    await flipLastRecord(db);
    const result = await zabkit(['storage', 'check', dir, '--json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.out);
    expect(report.problems).toEqual([
      {
        what: 'log record',
        location: { key: '6c0000000100000005', firstZxid: '0x100000005' },
        problem: 'checksum mismatch',
        unrepairable: false,
      },
    ]);
    expect(report.plan.loses).toEqual({ after: '0x100000004' });
  });

  it('refuses a store in use, a directory without one, and bad usage', async () => {
    const { dir, db } = await dataDir('busy');
    const open = await LevelStorage.open(db);
    const busy = await zabkit(['storage', 'check', dir]);
    await open.close();
    expect(busy.err).toMatch(/in use \(is a zabkit server running on it\?\)/);
    expect(busy.code).toBe(1);
    const missing = await zabkit(['storage', 'check', join(root, 'nothing-here')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/no zabkit store in/);
    expect((await zabkit(['storage', 'fix', dir])).code).toBe(2);
    expect((await zabkit(['storage', 'check'])).code).toBe(2);
  });
});
