/**
 * `zabkit storage` as an operator runs it: inspect, dump-log and dump-snapshot on a zabkit
 * LevelDB store (human-readable and --json) and on ZooKeeper's files, and bad input (a damaged
 * log, a wrong magic, logs without a snapshot, a store in use) answered with the file, the
 * offset and a non-zero exit, never a stack trace.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataTree, decodedSessionId, makeZxid, type Txn } from '@zabkit/core';
import { LevelStorage } from '@zabkit/storage-level';
import {
  encodeSnapshot,
  encodeTxnLogFile,
  toSnapshotContent,
  ZkOpCode,
  type ZkTxnEntry,
} from '@zabkit/zk-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../packages/server/bin/zabkit.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'zabkit-storage-tools-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function zabkit(...args: string[]) {
  const result = spawnSync(process.execPath, [bin, 'storage', ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const enc = (text: string) => new TextEncoder().encode(text);
const open = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const session = decodedSessionId(0x1_0000_0000_00abn);
const sessionHex = `0x${session.toString(16)}`;

const txns: Txn[] = [
  {
    zxid: makeZxid(1, 1),
    timeMs: 1_700_000_000_000,
    sessionId: session,
    cxid: 0,
    body: { kind: 'createSession', timeoutMs: 30_000 },
  },
  {
    zxid: makeZxid(1, 2),
    timeMs: 1_700_000_000_001,
    sessionId: session,
    cxid: 1,
    body: {
      kind: 'create',
      path: '/app',
      data: enc('config'),
      acl: open,
      ephemeralOwner: 0n,
      parentCversion: 2,
    },
  },
  {
    zxid: makeZxid(1, 3),
    timeMs: 1_700_000_000_002,
    sessionId: session,
    cxid: 2,
    body: {
      kind: 'create',
      path: '/app/eph',
      data: enc('mine'),
      acl: open,
      ephemeralOwner: session,
      parentCversion: 1,
    },
  },
  {
    zxid: makeZxid(1, 4),
    timeMs: 1_700_000_000_003,
    sessionId: session,
    cxid: 3,
    body: { kind: 'setData', path: '/app', data: enc('v2'), version: 1 },
  },
];

const store = join(root, 'store');
const zkDir = join(root, 'zk');

beforeAll(async () => {
  mkdirSync(store);
  const storage = await LevelStorage.open(join(store, 'zabkit.db'));
  const tree = new DataTree();
  tree.apply(txns[0]!);
  tree.apply(txns[1]!);
  await storage.reset(tree.snapshot());
  await storage.append(txns.slice(2));
  await storage.writeEpochs({ acceptedEpoch: 1, currentEpoch: 1 });
  await storage.close();
  // A ZooKeeper directory from the same history.
  mkdirSync(join(zkDir, 'version-2'), { recursive: true });
  writeFileSync(
    join(zkDir, 'version-2', 'snapshot.0'),
    encodeSnapshot(toSnapshotContent(new DataTree().snapshot())),
  );
  const entries: ZkTxnEntry[] = [
    {
      header: { clientId: session, cxid: 0, zxid: 1n, time: 5n, type: ZkOpCode.createSession },
      txn: { kind: 'createSession', timeoutMs: 30_000 },
      digest: null,
    },
    {
      header: { clientId: session, cxid: 1, zxid: 2n, time: 6n, type: ZkOpCode.create },
      txn: {
        kind: 'create',
        path: '/app',
        data: enc('config'),
        acl: open,
        ephemeral: false,
        parentCversion: 2,
      },
      digest: null,
    },
  ];
  writeFileSync(join(zkDir, 'version-2', 'log.1'), encodeTxnLogFile(entries, { paddingBytes: 512 }));
});

describe('zabkit storage', () => {
  it('inspects a store: epochs, snapshot, log and the state they make', () => {
    const human = zabkit('inspect', store);
    expect(human.status, human.stderr).toBe(0);
    expect(human.stdout).toContain('epochs: accepted 1, current 1');
    expect(human.stdout).toMatch(/snapshot: zxid 0x100000002, 5 znodes, 1 sessions/);
    expect(human.stdout).toMatch(
      /log: 2 txns after the snapshot, 0x100000003 to 0x100000004 \(create 1, setData 1\)/,
    );
    const report = JSON.parse(zabkit('inspect', store, '--json').stdout);
    expect(report.state).toMatchObject({ zxid: '0x100000004', znodes: 6, sessions: 1, ephemerals: 1 });
  });

  it('dumps the log and the snapshot, human-readable and as JSON lines', () => {
    const log = zabkit('dump-log', store);
    expect(log.status, log.stderr).toBe(0);
    expect(log.stdout).toContain(
      `session ${sessionHex} cxid 0x2 zxid 0x100000003 create /app/eph data="mine"`,
    );
    expect(log.stdout).toMatch(/zxid 0x100000004 setData \/app data="v2" version=1/);
    const lines = zabkit('dump-log', store, '--json', '--from', '0x100000004').stdout.trim().split('\n');
    expect(lines.map((line) => JSON.parse(line).zxid)).toEqual(['0x100000004']);
    expect(zabkit('dump-log', store, '--limit', '1').stdout).toMatch(/2 txns logged, 1 shown/);

    const snapshot = zabkit('dump-snapshot', store, '--data');
    expect(snapshot.stdout).toMatch(/\/app\n {2}cZxid = 0x100000002/);
    expect(snapshot.stdout).toContain('  data = "config"');
    expect(snapshot.stdout).toContain('Last zxid: 0x100000002');
    const state = zabkit('dump-snapshot', store, '--state', '--json')
      .stdout.trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(state.find((entry) => entry.path === '/app/eph')).toMatchObject({
      ephemeralOwner: sessionHex,
      dataLength: 4,
    });
    expect(state.find((entry) => entry.session !== undefined)).toMatchObject({
      session: sessionHex,
      timeoutMs: 30_000,
      ephemerals: 1,
    });
  });

  it("reads ZooKeeper's files: a data directory, a log, a snapshot", () => {
    const inspected = zabkit('inspect', zkDir);
    expect(inspected.status, inspected.stderr).toBe(0);
    expect(inspected.stdout).toMatch(/ZooKeeper would load: zxid 0x2, 5 znodes, 1 sessions/);
    const log = zabkit('dump-log', join(zkDir, 'version-2', 'log.1'));
    expect(log.stdout).toMatch(
      /zxid 0x2 create \/app data="config" acl=world:anyone:cdrwa ephemeral=false parentCversion=2/,
    );
    expect(log.stdout).toMatch(/EOF reached after 2 txns \(zero padding at offset \d+\)/);
    const snapshot = zabkit('dump-snapshot', join(zkDir, 'version-2', 'snapshot.0'));
    expect(snapshot.stdout).toContain('ZNode Details (count=4):');
  });

  it('answers bad input with the file, the offset and exit 1', () => {
    const damaged = join(root, 'damaged');
    mkdirSync(join(damaged, 'version-2'), { recursive: true });
    const entry: ZkTxnEntry = {
      header: { clientId: 1n, cxid: 0, zxid: 1n, time: 0n, type: ZkOpCode.createSession },
      txn: { kind: 'createSession', timeoutMs: 4000 },
      digest: null,
    };
    const bytes = encodeTxnLogFile([entry, { ...entry, header: { ...entry.header, zxid: 2n } }]);
    bytes[bytes.length - 3]! ^= 0xff;
    writeFileSync(join(damaged, 'version-2', 'log.1'), bytes);
    const log = zabkit('dump-log', join(damaged, 'version-2', 'log.1'));
    expect(log.status).toBe(1);
    expect(log.stderr).toMatch(/log\.1 at offset 65: entry checksum .* \[badChecksum\]/);
    expect(log.stderr).not.toMatch(/\n\s+at /);

    // Logs but no snapshot: ZooKeeper refuses this directory, and so does the import.
    const imported = zabkit('import-zookeeper', damaged, join(root, 'never'));
    expect(imported.status).toBe(1);
    expect(imported.stderr).toMatch(/no snapshot, but there are transaction logs.*\[noSnapshot\]/);

    const notSnapshot = join(root, 'snapshot.5');
    writeFileSync(notSnapshot, Uint8Array.of(1, 2, 3, 4, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    const snapshot = zabkit('dump-snapshot', notSnapshot);
    expect(snapshot.status).toBe(1);
    expect(snapshot.stderr).toMatch(/snapshot\.5 at offset 0: magic 0x1020304 is not ZKSN \[badMagic\]/);

    const missing = zabkit('inspect', join(root, 'no-such-store'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/no ZooKeeper data here|no zabkit store/);
    expect(zabkit('no-such-command').status).toBe(2);
    expect(zabkit('dump-log').status).toBe(2);
  });

  it('refuses a store a server holds open', async () => {
    const storage = await LevelStorage.open(join(store, 'zabkit.db'));
    try {
      const result = zabkit('inspect', store);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/is in use \(is a zabkit server running on it\?\)/);
    } finally {
      await storage.close();
    }
  });
});
