/**
 * Loading a ZooKeeper data directory the way ZooKeeper 3.8 loads it at start-up
 * (FileTxnSnapLog.restore, then ZooKeeperServer.loadData): the newest snapshot that reads
 * back whole (up to 100 are tried, newest first), then every logged transaction after its
 * zxid, from the log file that starts at or before it onwards, applied in order by
 * ZooKeeper's rules; finally the ephemerals of sessions that are not in the session table
 * are deleted. The result is the tree, Stats, ACLs and sessions ZooKeeper would serve.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type ACL, Ids } from '@zabkit/core';
import { ZkFormatError } from './errors.js';
import {
  looksLikeSnapshot,
  readSnapshot,
  type SnapshotTrailer,
  snapshotStream,
  type ZxidDigest,
} from './snapshot.js';
import { readTxnLogFile, type ZkReadOptions, zxidFromFileName } from './txn-log.js';
import { type DigestReport, ZkDataTree } from './zk-tree.js';

/** How the ZooKeeper that wrote the directory was configured, and how to report progress. */
export interface ZkLoadOptions extends ZkReadOptions {
  /** dataLogDir, when the logs are not beside the snapshots. */
  readonly logDir?: string;
  /** zookeeper.extendedTypesEnabled (default true: a directory with TTL nodes was written with it on). */
  readonly extendedTypesEnabled?: boolean;
  /** Told of each file as it is read, with its size. */
  readonly onFile?: (file: string, bytes: number, kind: 'snapshot' | 'log') => void;
  /** Told of things ZooKeeper would log and carry on past (a torn log tail, a damaged older snapshot). */
  readonly warn?: (message: string) => void;
}

/** What loading found: the state and how it was reached. */
export interface ZkLoaded {
  readonly tree: ZkDataTree;
  /** Session ids and their timeouts in ms. */
  readonly sessions: ReadonlyMap<bigint, number>;
  /** The last zxid applied. */
  readonly zxid: bigint;
  /** The snapshot loaded, undefined for an empty directory. */
  readonly snapshotFile: string | undefined;
  readonly snapshotZxid: bigint;
  /** Log files read, in order, and the transactions applied from them. */
  readonly logFiles: readonly string[];
  readonly txnsApplied: number;
  readonly digest: DigestReport;
  /** The epochs ZooKeeper's quorum peer kept beside the snapshots, if it did. */
  readonly acceptedEpoch: number | undefined;
  readonly currentEpoch: number | undefined;
  /** Sessions whose ephemerals were deleted at the end because the session table does not hold them. */
  readonly deadSessions: readonly bigint[];
  readonly warnings: readonly string[];
}

/** Where the snapshots are: `<dataDir>/version-2`, or the directory itself when it holds them. */
export function resolveZooKeeperDir(dir: string): string {
  const versioned = join(dir, 'version-2');
  if (existsSync(versioned) && statSync(versioned).isDirectory()) return versioned;
  if (existsSync(dir) && statSync(dir).isDirectory()) {
    const names = readdirSync(dir);
    if (names.some((name) => name.startsWith('snapshot.') || name.startsWith('log.'))) return dir;
  }
  throw new ZkFormatError(
    'noSnapshot',
    dir,
    -1,
    'no ZooKeeper data here (expected a version-2 directory with snapshot.* and log.* files)',
  );
}

/** Snapshot files, newest first (Util.sortDataDir by the zxid in the name). */
export function snapshotFiles(snapDir: string): { name: string; zxid: bigint }[] {
  return readdirSync(snapDir)
    .map((name) => ({ name, zxid: zxidFromFileName(name, 'snapshot') }))
    .filter((entry) => entry.zxid !== -1n && statSync(join(snapDir, entry.name)).isFile())
    .sort((a, b) => (a.zxid < b.zxid ? 1 : a.zxid > b.zxid ? -1 : 0));
}

/** Log files, oldest first. */
export function logFiles(logDir: string): { name: string; zxid: bigint }[] {
  return readdirSync(logDir)
    .map((name) => ({ name, zxid: zxidFromFileName(name, 'log') }))
    .filter((entry) => entry.zxid >= 0n && statSync(join(logDir, entry.name)).isFile())
    .sort((a, b) => (a.zxid < b.zxid ? -1 : a.zxid > b.zxid ? 1 : 0));
}

/** The log files FileTxnIterator reads from `zxid` on: those starting after it, and the one it starts in. */
function logFilesFrom(
  all: readonly { name: string; zxid: bigint }[],
  zxid: bigint,
): { name: string; zxid: bigint }[] {
  const later = all.filter((entry) => entry.zxid >= zxid);
  const before = all.filter((entry) => entry.zxid < zxid);
  return before.length > 0 ? [before[before.length - 1]!, ...later] : later;
}

/** Errors with which ZooKeeper passes over a snapshot to try an older one (its IOExceptions). */
function snapshotFallsBack(error: unknown): boolean {
  return (
    error instanceof ZkFormatError &&
    ['truncated', 'badMagic', 'badChecksum', 'badLength', 'badTree'].includes(error.code)
  );
}

function readEpochFile(snapDir: string, name: string): number | undefined {
  const file = join(snapDir, name);
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8').split('\n')[0]!.trim();
  if (!/^\d+$/.test(text))
    throw new ZkFormatError('badRecord', file, 0, `${JSON.stringify(text)} is not an epoch`);
  return Number(text);
}

/** Loads a ZooKeeper data directory (dataDir, or its version-2) as ZooKeeper 3.8 would. */
export function loadZooKeeperDataDir(dataDir: string, options: ZkLoadOptions = {}): ZkLoaded {
  const snapDir = resolveZooKeeperDir(dataDir);
  const logDir = options.logDir === undefined ? snapDir : resolveZooKeeperDir(options.logDir);
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    options.warn?.(message);
  };
  const digestEnabled = options.digestEnabled ?? true;
  const tree = new ZkDataTree(
    { extendedTypesEnabled: options.extendedTypesEnabled ?? true, digestEnabled },
    warn,
  );
  // One table across attempts, as in ZooKeeper: a snapshot that fails late leaves its sessions in it.
  const sessions = new Map<bigint, number>();
  let snapshotFile: string | undefined;
  let snapshotZxid = 0n;
  let tried = 0;
  let candidates = 0;
  for (const { name, zxid } of snapshotFiles(snapDir)) {
    if (candidates === 100) break;
    const file = join(snapDir, name);
    const bytes = readFileSync(file);
    if (!looksLikeSnapshot(name, bytes)) {
      // An incomplete snapshot (ZooKeeper died writing it): ZooKeeper passes over it too.
      warn(`passing over ${file}: it does not end like a whole snapshot`);
      continue;
    }
    candidates++;
    tried++;
    options.onFile?.(file, bytes.length, 'snapshot');
    try {
      const digest = loadSnapshotInto(tree, sessions, name, file, bytes, options);
      tree.snapshotLoaded(zxid, digest);
      snapshotFile = file;
      snapshotZxid = zxid;
      break;
    } catch (error) {
      if (!snapshotFallsBack(error)) throw error;
      warn(`passing over snapshot ${file}: ${(error as Error).message}`);
    }
  }
  const logs = logFiles(logDir);
  if (snapshotFile === undefined) {
    if (tried > 0)
      throw new ZkFormatError('noSnapshot', snapDir, -1, `none of the ${tried} snapshots reads back whole`);
    if (logs.length > 0)
      throw new ZkFormatError(
        'noSnapshot',
        snapDir,
        -1,
        'no snapshot, but there are transaction logs: ZooKeeper refuses to start from this too',
      );
  }
  const from = tree.lastProcessedZxid + 1n;
  const read: string[] = [];
  let applied = 0;
  let highest = tree.lastProcessedZxid;
  // FileTxnIterator skips entries below `from` only until the first one at or above it.
  let forwarded = false;
  for (const { name } of logFilesFrom(logs, from)) {
    const file = join(logDir, name);
    const bytes = readFileSync(file);
    options.onFile?.(file, bytes.length, 'log');
    const log = readTxnLogFile(bytes, file, options);
    read.push(file);
    if (log.end !== 'end of file' && log.end !== 'zero padding')
      warn(`${file}: reading stops at offset ${log.endOffset} (${log.end}), as ZooKeeper's does`);
    else if (log.bytesAfterEnd > 0)
      warn(
        `${file}: ${log.bytesAfterEnd} non-zero bytes after the padding at offset ${log.endOffset} are ignored, as ZooKeeper ignores them`,
      );
    for (const entry of log.entries) {
      if (!forwarded && entry.header.zxid < from) continue;
      forwarded = true;
      if (entry.header.zxid < highest && highest !== 0n)
        warn(
          `${file} at offset ${entry.offset}: txn 0x${entry.header.zxid.toString(16)} comes after 0x${highest.toString(16)}`,
        );
      else highest = entry.header.zxid;
      if (entry.txn.kind === 'createSession') sessions.set(entry.header.clientId, entry.txn.timeoutMs);
      if (entry.txn.kind === 'closeSession') sessions.delete(entry.header.clientId);
      tree.processTxn(entry.header, entry.txn);
      tree.compareTxnDigest(entry.header.zxid, entry.digest);
      applied++;
    }
  }
  tree.finishReplay();
  if (tree.digestFromLoadedSnapshot !== null)
    warn(
      `the log ends at 0x${tree.lastProcessedZxid.toString(16)}, before the snapshot's digest zxid 0x${tree.digestFromLoadedSnapshot.zxid.toString(16)}: the state may be inconsistent (ZooKeeper warns of this too)`,
    );
  const deadSessions = tree.killDeadSessions(sessions);
  for (const [path, node] of tree.nodes) {
    if (node.acl === null)
      throw new ZkFormatError(
        'badTree',
        snapshotFile ?? snapDir,
        -1,
        `node ${path === '' ? '/' : path} refers to ACL ${node.danglingAclRef} that the snapshot's ACL cache does not hold (ZooKeeper cannot serve it either)`,
      );
  }
  return {
    tree,
    sessions,
    zxid: tree.lastProcessedZxid,
    snapshotFile,
    snapshotZxid,
    logFiles: read,
    txnsApplied: applied,
    digest: tree.digestReport,
    acceptedEpoch: readEpochFile(snapDir, 'acceptedEpoch'),
    currentEpoch: readEpochFile(snapDir, 'currentEpoch'),
    deadSessions,
    warnings,
  };
}

/**
 * One snapshot's bytes, as 3.9's restore command reads a posted one (ZKDatabase
 * deserializeSnapshot): the tree, sessions and ACLs, checked whole (seals, parents before
 * children, every ACL reference held), at the zxid its trailer names (3.9's last processed
 * zxid, else its digest's). The ephemerals of sessions the table lacks are deleted, as at a
 * start. Throws a ZkFormatError for anything else, naming `label` and the offset.
 */
export function loadZooKeeperSnapshot(
  bytes: Uint8Array,
  label: string,
  options: Omit<ZkLoadOptions, 'logDir' | 'onFile'> = {},
): ZkLoaded {
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    options.warn?.(message);
  };
  const tree = new ZkDataTree(
    { extendedTypesEnabled: options.extendedTypesEnabled ?? true, digestEnabled: true },
    warn,
  );
  const sessions = new Map<bigint, number>();
  if (!looksLikeSnapshot('snapshot', bytes))
    throw new ZkFormatError('badRecord', label, -1, 'it does not end like a whole snapshot (a seal and "/")');
  const trailer = loadSnapshotWithTrailer(tree, sessions, 'snapshot', label, bytes, options);
  const zxid = trailer.lastZxid ?? trailer.digest?.zxid;
  if (zxid === undefined || zxid === null)
    throw new ZkFormatError(
      'badRecord',
      label,
      -1,
      "it names no zxid: neither ZooKeeper 3.9's last processed zxid nor a 3.6+ digest follows the nodes",
    );
  tree.snapshotLoaded(zxid, trailer.digest);
  // No log here to show the snapshot one txn ahead of its digest: a difference is a mismatch.
  tree.finishReplay();
  const deadSessions = tree.killDeadSessions(sessions);
  for (const [path, node] of tree.nodes) {
    if (node.acl === null)
      throw new ZkFormatError(
        'badTree',
        label,
        -1,
        `node ${path === '' ? '/' : path} refers to ACL ${node.danglingAclRef} that the snapshot's ACL cache does not hold`,
      );
  }
  return {
    tree,
    sessions,
    zxid: tree.lastProcessedZxid,
    snapshotFile: label,
    snapshotZxid: zxid,
    logFiles: [],
    txnsApplied: 0,
    digest: tree.digestReport,
    acceptedEpoch: undefined,
    currentEpoch: undefined,
    deadSessions,
    warnings,
  };
}

function loadSnapshotInto(
  tree: ZkDataTree,
  sessions: Map<bigint, number>,
  name: string,
  file: string,
  bytes: Uint8Array,
  options: ZkLoadOptions,
): ZxidDigest | null {
  return loadSnapshotWithTrailer(tree, sessions, name, file, bytes, options).digest;
}

function loadSnapshotWithTrailer(
  tree: ZkDataTree,
  sessions: Map<bigint, number>,
  name: string,
  file: string,
  bytes: Uint8Array,
  options: ZkLoadOptions,
): SnapshotTrailer {
  const stream = snapshotStream(name, file, bytes);
  let cache: ReadonlyMap<bigint, readonly ACL[]> = new Map();
  const trailer = readSnapshot(
    stream,
    file,
    {
      session: (sessionId, timeoutMs) => sessions.set(sessionId, timeoutMs),
      acls: (acls) => {
        cache = acls;
        tree.beginSnapshot();
      },
      node: (path, data, aclRef, stat, offset) => {
        const acl = aclRef === -1n ? Ids.openAclUnsafe : (cache.get(aclRef) ?? null);
        tree.loadNode(path, data, acl, aclRef, stat, file, offset);
      },
      endOfNodes: () => {
        if (tree.nodes.get('') === undefined)
          throw new ZkFormatError('badTree', file, -1, 'the snapshot has no root node');
        tree.endSnapshot();
      },
    },
    options,
  );
  return trailer;
}
