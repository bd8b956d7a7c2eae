/**
 * `zabkit storage inspect | dump-log | dump-snapshot`, in the spirit of ZooKeeper's
 * zkTxnLogToolkit and zkSnapShotToolkit: what a zabkit LevelDB store holds (epochs, the
 * newest snapshot, the log after it, the state a server would start from), each logged
 * transaction, and each znode of the snapshot, human-readable or as JSON lines (`--json`).
 * The same commands read Apache ZooKeeper's files too: a ZooKeeper data directory for
 * inspect (what ZooKeeper would load, a dry run of an import), a `log.*` file for dump-log,
 * a `snapshot.*` file for dump-snapshot.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type ACL,
  DataTree,
  formatZxid,
  nodeKindOf,
  type SnapshotNode,
  type Txn,
  type TxnBody,
  zxid,
} from '@zabkit/core';
import {
  logFiles,
  opName,
  readSnapshot,
  readTxnLogFile,
  resolveZooKeeperDir,
  type SnapshotNodeRecord,
  snapshotFiles,
  snapshotStream,
  type ZkTxn,
  type ZkTxnEntry,
} from '@zabkit/zk-format';
import { javaDate, javaHex, permsToLetters } from '../shell/format.js';
import { describeLoad, loadWithProgress } from './migration.js';
import { Progress } from './progress.js';
import { hasStore, openStore, ToolError, UsageError } from './store.js';

const out = (line: string) => process.stdout.write(`${line}\n`);
const json = (value: unknown) =>
  JSON.stringify(value, (_key, v) =>
    typeof v === 'bigint' ? javaHex(v) : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v,
  );

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Data as text when it is printable UTF-8, else as hex. */
export function showData(data: Uint8Array | null): string {
  if (data === null) return 'null';
  try {
    const text = strictUtf8.decode(data);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is checked for
    if (!/[\u0000-\u0008\u000e-\u001f]/.test(text)) return JSON.stringify(text);
  } catch {
    // not UTF-8
  }
  return `#${Buffer.from(data).toString('hex')}`;
}

/** An ACL list as `scheme:id:perms,...`, zkCli's syntax. */
export function showAcl(acl: readonly ACL[] | null): string {
  if (acl === null) return 'null';
  return acl.map((entry) => `${entry.id.scheme}:${entry.id.id}:${permsToLetters(entry.perms)}`).join(',');
}

// ---- zabkit's transactions ----------------------------------------------------------------

function describeBody(body: TxnBody): string {
  switch (body.kind) {
    case 'createSession':
      return `timeout=${body.timeoutMs}`;
    case 'closeSession':
      return `ephemerals=[${body.ephemeralPaths.join(',')}]`;
    case 'create':
      return `${body.path} data=${showData(body.data)} acl=${showAcl(body.acl)} ephemeralOwner=${javaHex(body.ephemeralOwner)} parentCversion=${body.parentCversion}`;
    case 'delete':
      return body.path;
    case 'setData':
      return `${body.path} data=${showData(body.data)} version=${body.version}`;
    case 'setACL':
      return `${body.path} acl=${showAcl(body.acl)} aversion=${body.aversion}`;
    case 'check':
      return `${body.path} version=${body.version}`;
    case 'error':
      return `err=${body.code}`;
    case 'multi':
      return `[${body.parts.map((part) => `${part.kind} ${describeBody(part)}`).join('; ')}]`;
    case 'reconfig':
      return JSON.stringify(body.config);
    case 'restore':
      return `token=${body.token} nodes=${body.nodes.length} sessions=${body.sessions.length}`;
  }
}

/** One logged zabkit transaction, as zkTxnLogToolkit prints one of ZooKeeper's. */
export function describeTxn(txn: Txn): string {
  return `${javaDate(txn.timeMs)} session ${javaHex(txn.sessionId)} cxid ${javaHex(txn.cxid)} zxid ${formatZxid(txn.zxid)} ${txn.body.kind} ${describeBody(txn.body)}`;
}

// ---- ZooKeeper's transactions -------------------------------------------------------------

function describeZkTxn(txn: ZkTxn): string {
  switch (txn.kind) {
    case 'createSession':
      return `timeout=${txn.timeoutMs}`;
    case 'closeSession':
      return txn.paths === null ? '' : `paths=[${txn.paths.join(',')}]`;
    case 'create':
      return `${txn.path} data=${showData(txn.data)} acl=${showAcl(txn.acl)} ephemeral=${txn.ephemeral} parentCversion=${txn.parentCversion}`;
    case 'createContainer':
      return `${txn.path} data=${showData(txn.data)} acl=${showAcl(txn.acl)} parentCversion=${txn.parentCversion}`;
    case 'createTTL':
      return `${txn.path} data=${showData(txn.data)} acl=${showAcl(txn.acl)} parentCversion=${txn.parentCversion} ttl=${txn.ttl}`;
    case 'delete':
      return txn.path;
    case 'setData':
      return `${txn.path} data=${showData(txn.data)} version=${txn.version}`;
    case 'setACL':
      return `${txn.path} acl=${showAcl(txn.acl)} version=${txn.version}`;
    case 'check':
      return `${txn.path} version=${txn.version}`;
    case 'error':
      return `err=${txn.err}`;
    case 'multi':
      return `[${txn.parts.map((part) => opName(part.type)).join('; ')}]`;
  }
}

/** One entry of a ZooKeeper log, as zkTxnLogToolkit prints it. */
export function describeZkEntry(entry: ZkTxnEntry): string {
  const { header } = entry;
  const digest =
    entry.digest === null ? '' : ` digest=${entry.digest.version}:${javaHex(entry.digest.treeDigest)}`;
  return `${javaDate(Number(header.time))} session ${javaHex(header.clientId)} cxid ${javaHex(header.cxid)} zxid ${javaHex(header.zxid)} ${opName(header.type)} ${describeZkTxn(entry.txn)}${digest}`;
}

// ---- znodes -----------------------------------------------------------------------------

interface NodeView {
  readonly path: string;
  readonly data: Uint8Array | null;
  readonly acl: readonly ACL[] | null;
  readonly czxid: bigint;
  readonly mzxid: bigint;
  readonly pzxid: bigint;
  readonly ctime: number;
  readonly mtime: number;
  readonly version: number;
  readonly cversion: number;
  readonly aversion: number;
  readonly ephemeralOwner: bigint;
}

/** A znode as zkSnapShotToolkit prints one; cversion is the stored count of child creations. */
function describeNode(node: NodeView, withData: boolean): string {
  const lines = [
    node.path,
    `  cZxid = ${javaHex(node.czxid)}`,
    `  ctime = ${javaDate(node.ctime)}`,
    `  mZxid = ${javaHex(node.mzxid)}`,
    `  mtime = ${javaDate(node.mtime)}`,
    `  pZxid = ${javaHex(node.pzxid)}`,
    `  cversion = ${node.cversion}`,
    `  dataVersion = ${node.version}`,
    `  aclVersion = ${node.aversion}`,
    `  ephemeralOwner = ${javaHex(node.ephemeralOwner)} (${nodeKindOf(node.ephemeralOwner)})`,
    `  dataLength = ${node.data?.length ?? 0}`,
    `  acl = ${showAcl(node.acl)}`,
  ];
  if (withData) lines.push(`  data = ${showData(node.data)}`);
  return lines.join('\n');
}

function printSessions(
  sessions: readonly (readonly [bigint, number])[],
  ephemerals: (id: bigint) => number,
  asJson: boolean,
): void {
  if (asJson) {
    for (const [sessionId, timeoutMs] of sessions)
      out(json({ session: sessionId, timeoutMs, ephemerals: ephemerals(sessionId) }));
    return;
  }
  out(`Session Details (sid, timeout, ephemeralCount):`);
  for (const [sessionId, timeoutMs] of sessions)
    out(`${javaHex(sessionId)}, ${timeoutMs}, ${ephemerals(sessionId)}`);
}

function printNodes(nodes: readonly NodeView[], options: { json: boolean; data: boolean }): void {
  const progress = new Progress('printing znodes');
  if (!options.json) out(`ZNode Details (count=${nodes.length}):`);
  nodes.forEach((node, index) => {
    progress.update(index + 1, nodes.length);
    if (options.json)
      out(json({ ...node, data: options.data ? node.data : undefined, dataLength: node.data?.length ?? 0 }));
    else out(`----\n${describeNode(node, options.data)}`);
  });
  progress.finish();
  if (!options.json) out('----');
}

function zkNodeView(record: SnapshotNodeRecord, acls: ReadonlyMap<bigint, readonly ACL[]>): NodeView {
  const s = record.stat;
  return {
    path: record.path === '' ? '/' : record.path,
    data: record.data,
    acl:
      record.aclRef === -1n
        ? [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }]
        : (acls.get(record.aclRef) ?? null),
    czxid: s.czxid,
    mzxid: s.mzxid,
    pzxid: s.pzxid,
    ctime: Number(s.ctime),
    mtime: Number(s.mtime),
    version: s.version,
    cversion: s.cversion,
    aversion: s.aversion,
    ephemeralOwner: s.ephemeralOwner,
  };
}

const isZooKeeperFile = (path: string, prefix: 'log.' | 'snapshot.') =>
  basename(path).startsWith(prefix) && statSync(path).isFile();

// ---- the commands -----------------------------------------------------------------------

/** `zabkit storage dump-snapshot <zabkitDataDir | snapshot.N> [--state] [--data] [--json]`. */
export async function runDumpSnapshot(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      data: { type: 'boolean', short: 'd', default: false },
      state: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1)
    throw new UsageError(
      'usage: zabkit storage dump-snapshot <zabkitDataDir | ZooKeeper snapshot file> [--state] [--data] [--json]',
    );
  const target = positionals[0]!;
  if (isZooKeeperFile(target, 'snapshot.')) {
    const sessions: [bigint, number][] = [];
    const records: SnapshotNodeRecord[] = [];
    let acls: ReadonlyMap<bigint, readonly ACL[]> = new Map();
    const trailer = readSnapshot(snapshotStream(basename(target), target, readFileSync(target)), target, {
      session: (id, timeoutMs) => sessions.push([id, timeoutMs]),
      acls: (cache) => {
        acls = cache;
      },
      node: (path, data, aclRef, stat) => records.push({ path, data, aclRef, stat }),
      endOfNodes: () => undefined,
    });
    const nodes = records.map((record) => zkNodeView(record, acls));
    printNodes(nodes, { json: values.json, data: values.data });
    const owners = (id: bigint) => nodes.filter((node) => node.ephemeralOwner === id).length;
    printSessions(sessions, owners, values.json);
    const digest =
      trailer.digest === null
        ? 'none'
        : `${javaHex(trailer.digest.digest)} at zxid ${javaHex(trailer.digest.zxid)}`;
    if (values.json) out(json({ digest: trailer.digest, dbid: trailer.header.dbid }));
    else out(`----\nDigest: ${digest}`);
    return 0;
  }
  const { storage } = await openStore(target);
  try {
    let snapshot = await storage.latestSnapshot();
    if (values.state) {
      // The state a server starts from: the snapshot with the log after it applied.
      const tree = snapshot === undefined ? new DataTree() : DataTree.fromSnapshot(snapshot);
      for (const txn of await storage.readLog(snapshot?.zxid ?? zxid(0n))) tree.apply(txn);
      snapshot = tree.snapshot();
    }
    if (snapshot === undefined) {
      out(
        `${target} holds no snapshot yet (its log holds every transaction: --state shows the state they make)`,
      );
      return 0;
    }
    printNodes(snapshot.nodes, { json: values.json, data: values.data });
    const owners = (id: bigint) =>
      snapshot.nodes.filter((node: SnapshotNode) => node.ephemeralOwner === id).length;
    printSessions(snapshot.sessions, owners, values.json);
    if (values.json) out(json({ lastZxid: snapshot.zxid }));
    else out(`----\nLast zxid: ${formatZxid(snapshot.zxid)}`);
    return 0;
  } finally {
    await storage.close();
  }
}

/** `zabkit storage dump-log <zabkitDataDir | log.N> [--from ZXID] [--limit N] [--json]`. */
export async function runDumpLog(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      from: { type: 'string' },
      limit: { type: 'string' },
    },
  });
  if (positionals.length !== 1)
    throw new UsageError(
      'usage: zabkit storage dump-log <zabkitDataDir | ZooKeeper log file> [--from ZXID] [--limit N] [--json]',
    );
  const target = positionals[0]!;
  const from = values.from === undefined ? 0n : parseZxid(values.from);
  const limit = values.limit === undefined ? Number.POSITIVE_INFINITY : Number(values.limit);
  if (!(limit >= 0)) throw new ToolError(`invalid --limit: ${values.limit}`);
  if (isZooKeeperFile(target, 'log.')) {
    const log = readTxnLogFile(readFileSync(target), target);
    let shown = 0;
    for (const entry of log.entries) {
      if (entry.header.zxid < from || shown >= limit) continue;
      shown++;
      if (values.json)
        out(
          json({
            offset: entry.offset,
            ...entry.header,
            op: opName(entry.header.type),
            txn: entry.txn,
            digest: entry.digest,
          }),
        );
      else out(describeZkEntry(entry));
    }
    const end = `${log.end} at offset ${log.endOffset}${log.bytesAfterEnd > 0 ? `, ${log.bytesAfterEnd} non-zero bytes after it` : ''}`;
    if (values.json)
      out(
        json({
          entries: log.entries.length,
          end: log.end,
          endOffset: log.endOffset,
          bytesAfterEnd: log.bytesAfterEnd,
        }),
      );
    else out(`EOF reached after ${log.entries.length} txns (${end}).`);
    return 0;
  }
  const { storage } = await openStore(target);
  try {
    const txns = await storage.readLog(zxid(from === 0n ? 0n : from - 1n));
    const progress = new Progress('printing transactions');
    let shown = 0;
    for (const txn of txns) {
      if (shown >= limit) break;
      shown++;
      progress.update(shown, Math.min(limit, txns.length));
      if (values.json) out(json(txn));
      else out(describeTxn(txn));
    }
    progress.finish();
    if (!values.json) out(`${txns.length} txns logged${shown < txns.length ? `, ${shown} shown` : ''}.`);
    return 0;
  } finally {
    await storage.close();
  }
}

function parseZxid(text: string): bigint {
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(text))
    throw new ToolError(`invalid zxid: ${text} (hex with 0x, or decimal)`);
  return BigInt(text);
}

function countKinds(kinds: Iterable<string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of kinds) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/** `zabkit storage inspect <zabkitDataDir | zkDataDir> [--json]`. */
export async function runInspect(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, 'log-dir': { type: 'string' } },
  });
  if (positionals.length !== 1)
    throw new UsageError('usage: zabkit storage inspect <zabkitDataDir | ZooKeeper dataDir> [--json]');
  const target = positionals[0]!;
  if (!hasStore(target)) return inspectZooKeeper(target, values.json, values['log-dir']);
  const { storage, location } = await openStore(target);
  try {
    const epochs = await storage.readEpochs();
    const snapshot = await storage.latestSnapshot();
    const log = await storage.readLog(snapshot?.zxid ?? zxid(0n));
    const progress = new Progress('replaying the log');
    const tree = snapshot === undefined ? new DataTree() : DataTree.fromSnapshot(snapshot);
    log.forEach((txn, index) => {
      tree.apply(txn);
      progress.update(index + 1, log.length);
    });
    progress.finish();
    const ephemerals = tree.ephemeralCount();
    const report = {
      store: location,
      epochs,
      snapshot:
        snapshot === undefined
          ? null
          : {
              zxid: formatZxid(snapshot.zxid),
              znodes: snapshot.nodes.length,
              sessions: snapshot.sessions.length,
              dataBytes: snapshot.nodes.reduce((sum, node) => sum + (node.data?.length ?? 0), 0),
            },
      log: {
        txns: log.length,
        firstZxid: log.length === 0 ? null : formatZxid(log[0]!.zxid),
        lastZxid: log.length === 0 ? null : formatZxid(log.at(-1)!.zxid),
        kinds: countKinds(log.map((txn) => txn.body.kind)),
      },
      state: {
        zxid: formatZxid(tree.lastZxid),
        znodes: tree.nodeCount,
        sessions: tree.sessions().size,
        ephemerals,
        approximateDataSize: tree.approximateDataSize(),
        digest: tree.digest(),
      },
    };
    if (values.json) out(json(report));
    else {
      out(`store: ${location}`);
      out(`epochs: accepted ${epochs.acceptedEpoch}, current ${epochs.currentEpoch}`);
      out(
        report.snapshot === null
          ? 'snapshot: none'
          : `snapshot: zxid ${report.snapshot.zxid}, ${report.snapshot.znodes} znodes, ${report.snapshot.sessions} sessions, ${report.snapshot.dataBytes} bytes of data`,
      );
      const kinds = Object.entries(report.log.kinds)
        .map(([kind, count]) => `${kind} ${count}`)
        .join(', ');
      out(
        log.length === 0
          ? 'log: empty after the snapshot'
          : `log: ${log.length} txns after the snapshot, ${report.log.firstZxid} to ${report.log.lastZxid} (${kinds})`,
      );
      out(
        `state: zxid ${report.state.zxid}, ${report.state.znodes} znodes, ${report.state.sessions} sessions, ${ephemerals} ephemerals, digest ${report.state.digest}`,
      );
    }
    return 0;
  } finally {
    await storage.close();
  }
}

/** A ZooKeeper data directory: its files, and what ZooKeeper would load from it. */
function inspectZooKeeper(target: string, asJson: boolean, logDir: string | undefined): number {
  const snapDir = resolveZooKeeperDir(target);
  const logsDir = logDir === undefined ? snapDir : resolveZooKeeperDir(logDir);
  const snapshots = snapshotFiles(snapDir).map(({ name, zxid: z }) => ({
    name,
    zxid: javaHex(z),
    bytes: statSync(`${snapDir}/${name}`).size,
  }));
  const logs = logFiles(logsDir).map(({ name, zxid: z }) => ({
    name,
    zxid: javaHex(z),
    bytes: statSync(`${logsDir}/${name}`).size,
  }));
  const loaded = loadWithProgress(target, {
    ...(logDir === undefined ? {} : { logDir }),
    extendedTypesEnabled: true,
  });
  const report = { zookeeper: snapDir, snapshots, logs, loads: describeLoad(loaded) };
  if (asJson) {
    out(json(report));
    return 0;
  }
  out(`ZooKeeper data: ${snapDir}`);
  for (const s of snapshots) out(`  ${s.name} (${s.bytes} bytes)`);
  for (const l of logs) out(`  ${l.name} (${l.bytes} bytes)`);
  const d = report.loads;
  out(`ZooKeeper would load: zxid ${d.zxid}, ${d.znodes} znodes, ${d.sessions} sessions`);
  out(
    `  from ${loaded.snapshotFile ?? 'no snapshot'} and ${loaded.txnsApplied} transactions of ${loaded.logFiles.length} log files`,
  );
  out(
    `  digests: snapshot ${loaded.digest.snapshot}, ${loaded.digest.txnsMatched} transactions matched, ${loaded.digest.txnsMismatched.length} mismatched`,
  );
  return 0;
}
