/**
 * Moving state between ZooKeeper's data directory and zabkit's storage. Import: the state
 * ZooKeeper would load becomes one zabkit snapshot at its last zxid, written with a reset
 * (and the epochs), so it works on any PeerStorage. The log is not carried over as zabkit
 * transactions: ZooKeeper replays it over a fuzzy snapshot by rules of its own (failed
 * creates and deletes ignored, partial multis), and only the end state is the same either
 * way. Export: the state a zabkit store would start from becomes one ZooKeeper snapshot,
 * check-summed and with its tree digest, that ZooKeeper 3.8 starts from.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  type ACL,
  DataTree,
  decodedSessionId,
  type Epochs,
  epochOf,
  type PeerStorage,
  type PersistedState,
  type SnapshotNode,
  type TreeSnapshot,
  zxid,
} from '@zabkit/core';
import type { ZkLoaded } from './data-dir.js';
import { ZkFormatError } from './errors.js';
import type { StatPersisted } from './records.js';
import { encodeSnapshot, type SnapshotContent, type SnapshotNodeRecord } from './snapshot.js';
import { digestVersion, zkNodeDigest } from './zk-tree.js';

/** The loaded ZooKeeper state as a zabkit snapshot: every node parents first, siblings sorted. */
export function toTreeSnapshot(loaded: Pick<ZkLoaded, 'tree' | 'sessions' | 'zxid'>): TreeSnapshot {
  const nodes: SnapshotNode[] = [];
  const pending = [''];
  while (pending.length > 0) {
    const path = pending.pop()!;
    const node = loaded.tree.nodes.get(path)!;
    const s = node.stat;
    nodes.push({
      path: path === '' ? '/' : path,
      data: node.data,
      acl: node.acl!,
      czxid: zxid(BigInt.asUintN(64, s.czxid)),
      mzxid: zxid(BigInt.asUintN(64, s.mzxid)),
      pzxid: zxid(BigInt.asUintN(64, s.pzxid)),
      ctime: Number(s.ctime),
      mtime: Number(s.mtime),
      version: s.version,
      cversion: s.cversion,
      aversion: s.aversion,
      ephemeralOwner: s.ephemeralOwner,
    });
    const children = [...node.children].sort();
    for (let i = children.length - 1; i >= 0; i--) pending.push(`${path}/${children[i]}`);
  }
  return {
    zxid: zxid(BigInt.asUintN(64, loaded.zxid)),
    nodes,
    sessions: [...loaded.sessions]
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([id, timeoutMs]) => [decodedSessionId(id), timeoutMs] as const),
  };
}

/** The epochs a zabkit peer starts with: at least the epoch of the last zxid, so new zxids come after it. */
export function importedEpochs(loaded: ZkLoaded): Epochs {
  const epoch = epochOf(zxid(BigInt.asUintN(64, loaded.zxid)));
  const acceptedEpoch = Math.max(epoch, loaded.acceptedEpoch ?? 0, loaded.currentEpoch ?? 0);
  const currentEpoch = Math.min(acceptedEpoch, Math.max(epoch, loaded.currentEpoch ?? 0));
  return { acceptedEpoch, currentEpoch };
}

/** What an import wrote. */
export interface ImportSummary {
  readonly zxid: bigint;
  readonly nodes: number;
  readonly sessions: number;
  readonly epochs: Epochs;
}

/**
 * Writes the loaded state into a zabkit store: a reset with one snapshot (the log emptied),
 * then the epochs. The caller decides whether the store may already hold data.
 */
export async function importIntoStorage(storage: PeerStorage, loaded: ZkLoaded): Promise<ImportSummary> {
  const snapshot = toTreeSnapshot(loaded);
  // Rebuilding the tree checks the snapshot's shape (every parent before its children).
  DataTree.fromSnapshot(snapshot);
  const epochs = importedEpochs(loaded);
  await storage.reset(snapshot);
  await storage.writeEpochs(epochs);
  return { zxid: snapshot.zxid, nodes: snapshot.nodes.length, sessions: snapshot.sessions.length, epochs };
}

/** The state a zabkit store starts from: its newest snapshot with the log after it applied. */
export function stateOf(persisted: PersistedState): TreeSnapshot {
  const tree = persisted.snapshot === undefined ? new DataTree() : DataTree.fromSnapshot(persisted.snapshot);
  for (const txn of persisted.log) tree.apply(txn);
  return tree.snapshot();
}

function statOf(node: SnapshotNode): StatPersisted {
  return {
    czxid: BigInt.asIntN(64, node.czxid),
    mzxid: BigInt.asIntN(64, node.mzxid),
    ctime: BigInt(node.ctime),
    mtime: BigInt(node.mtime),
    version: node.version,
    cversion: node.cversion,
    aversion: node.aversion,
    ephemeralOwner: node.ephemeralOwner,
    pzxid: BigInt.asIntN(64, node.pzxid),
  };
}

function aclKey(acl: readonly ACL[]): string {
  return JSON.stringify(acl.map((entry) => [entry.perms, entry.id.scheme, entry.id.id]));
}

/** A zabkit state as the content of a ZooKeeper snapshot, with an ACL cache and the tree digest. */
export function toSnapshotContent(state: TreeSnapshot): SnapshotContent {
  const acls = new Map<bigint, readonly ACL[]>();
  const refs = new Map<string, bigint>();
  const nodes: SnapshotNodeRecord[] = [];
  let digest = 0n;
  for (const node of state.nodes) {
    const key = aclKey(node.acl);
    let ref = refs.get(key);
    if (ref === undefined) {
      // ZooKeeper numbers its ACL cache from 1 (ReferenceCountedACLCache.incrementIndex).
      ref = BigInt(refs.size + 1);
      refs.set(key, ref);
      acls.set(ref, node.acl);
    }
    const path = node.path === '/' ? '' : node.path;
    const stat = statOf(node);
    nodes.push({ path, data: node.data, aclRef: ref, stat });
    digest = BigInt.asIntN(64, digest + zkNodeDigest(path, node.data, stat));
  }
  return {
    sessions: state.sessions,
    acls,
    nodes,
    digest: { zxid: BigInt.asIntN(64, state.zxid), digestVersion, digest },
  };
}

/** The name ZooKeeper gives a snapshot at a zxid (Util.makeSnapshotName, uncompressed). */
export function snapshotFileName(snapshotZxid: bigint): string {
  return `snapshot.${BigInt.asUintN(64, snapshotZxid).toString(16)}`;
}

/** What an export wrote. */
export interface ExportSummary {
  readonly snapshotFile: string;
  readonly zxid: bigint;
  readonly nodes: number;
  readonly sessions: number;
  readonly bytes: number;
}

function writeDurably(file: string, bytes: Uint8Array | string): void {
  writeFileSync(file, bytes);
  const fd = openSync(file, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a ZooKeeper data directory from a zabkit state: `<dataDir>/version-2/snapshot.<zxid>`
 * and the quorum peer's epoch files beside it. Refuses a directory that already holds
 * snapshots or logs, which ZooKeeper would combine with the new snapshot.
 */
export function writeZooKeeperDataDir(dataDir: string, state: TreeSnapshot, epochs: Epochs): ExportSummary {
  const snapDir = join(dataDir, 'version-2');
  mkdirSync(snapDir, { recursive: true });
  const existing = readdirSync(snapDir).filter(
    (name) => name.startsWith('snapshot.') || name.startsWith('log.'),
  );
  if (existing.length > 0)
    throw new ZkFormatError(
      'notEmpty',
      snapDir,
      -1,
      `already holds ZooKeeper data (${existing.slice(0, 3).join(', ')}): export into an empty directory`,
    );
  const bytes = encodeSnapshot(toSnapshotContent(state));
  const file = join(snapDir, snapshotFileName(state.zxid));
  // A name ZooKeeper does not take for a snapshot while it is being written.
  const partial = join(snapDir, '.zabkit-export.partial');
  writeDurably(partial, bytes);
  renameSync(partial, file);
  const epoch = epochOf(state.zxid);
  writeDurably(join(snapDir, 'acceptedEpoch'), String(Math.max(epoch, epochs.acceptedEpoch)));
  writeDurably(join(snapDir, 'currentEpoch'), String(Math.max(epoch, epochs.currentEpoch)));
  const dirFd = openSync(snapDir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
  if (!existsSync(file)) throw new Error(`${file} was not written`);
  return {
    snapshotFile: file,
    zxid: state.zxid,
    nodes: state.nodes.length,
    sessions: state.sessions.length,
    bytes: bytes.length,
  };
}

/** Exports what a zabkit store would start from into a ZooKeeper data directory. */
export async function exportFromStorage(storage: PeerStorage, dataDir: string): Promise<ExportSummary> {
  const persisted = await storage.load();
  return writeZooKeeperDataDir(dataDir, stateOf(persisted), persisted.epochs);
}
