/**
 * `zabkit storage import-zookeeper` and `export-zookeeper`: moving an Apache ZooKeeper
 * server's data directory into a zabkit store and back, with @zabkit/zk-format. Import loads
 * the directory as ZooKeeper 3.8 would at start-up and writes that state into the store (a
 * reset with one snapshot, and the epochs); export writes what the store would start from as
 * a ZooKeeper snapshot that ZooKeeper starts from.
 */
import { parseArgs } from 'node:util';
import { formatZxid, zxid as toZxid } from '@zabkit/core';
import { exportFromStorage, importIntoStorage, loadZooKeeperDataDir, type ZkLoaded } from '@zabkit/zk-format';
import { Progress } from './progress.js';
import { openStore, ToolError, UsageError } from './store.js';

const hex = (value: bigint) => formatZxid(toZxid(BigInt.asUintN(64, value)));

/** Loads a ZooKeeper directory with a progress line per file read. */
export function loadWithProgress(
  zkDir: string,
  options: { logDir?: string; extendedTypesEnabled: boolean; juteMaxBufferBytes?: number },
): ZkLoaded {
  const progress = new Progress('reading ZooKeeper data');
  let files = 0;
  let bytes = 0;
  try {
    return loadZooKeeperDataDir(zkDir, {
      ...options,
      onFile: (file, size) => {
        files++;
        bytes += size;
        progress.update(files, undefined, `files, ${(bytes / 1_048_576).toFixed(1)} MiB (${file})`);
      },
      warn: (message) => {
        progress.finish();
        process.stderr.write(`zabkit: warning: ${message}\n`);
      },
    });
  } finally {
    progress.finish();
  }
}

/** What the loaded directory was made of, for the summary. */
export function describeLoad(loaded: ZkLoaded): Record<string, unknown> {
  return {
    zxid: hex(loaded.zxid),
    znodes: loaded.tree.nodes.size,
    sessions: loaded.sessions.size,
    snapshot: loaded.snapshotFile ?? null,
    snapshotZxid: hex(loaded.snapshotZxid),
    logFiles: loaded.logFiles,
    txnsApplied: loaded.txnsApplied,
    digest: {
      snapshot: loaded.digest.snapshot,
      txnsMatched: loaded.digest.txnsMatched,
      txnsMismatched: loaded.digest.txnsMismatched.map(hex),
    },
    deadSessions: loaded.deadSessions.map(hex),
    warnings: loaded.warnings,
  };
}

/** `zabkit storage import-zookeeper <zkDataDir> <zabkitDataDir>`. */
export async function runImport(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'log-dir': { type: 'string' },
      force: { type: 'boolean', default: false },
      'no-extended-types': { type: 'boolean', default: false },
      'jute-maxbuffer': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 2)
    throw new UsageError(
      'usage: zabkit storage import-zookeeper <zkDataDir> <zabkitDataDir> [--log-dir DIR] [--force] [--json]',
    );
  const [zkDir, zabkitDir] = positionals as [string, string];
  const juteMaxBufferBytes =
    values['jute-maxbuffer'] === undefined ? undefined : Number(values['jute-maxbuffer']);
  if (juteMaxBufferBytes !== undefined && !(Number.isInteger(juteMaxBufferBytes) && juteMaxBufferBytes > 0))
    throw new ToolError(`invalid --jute-maxbuffer: ${values['jute-maxbuffer']}`);
  const loaded = loadWithProgress(zkDir, {
    ...(values['log-dir'] === undefined ? {} : { logDir: values['log-dir'] }),
    extendedTypesEnabled: !values['no-extended-types'],
    ...(juteMaxBufferBytes === undefined ? {} : { juteMaxBufferBytes }),
  });
  const { digest } = loaded;
  if (digest.txnsMismatched.length > 0 || digest.snapshot === 'mismatched')
    // Refused before the store is touched: a store holding a state that failed its check
    // would look imported, and a second attempt would be told it already holds data.
    throw new ToolError(
      `refused: the replayed tree does not match ZooKeeper's digests (snapshot ${digest.snapshot}, ${digest.txnsMismatched.length} transactions mismatched${digest.txnsMismatched.length > 0 ? `, the first 0x${BigInt.asUintN(64, digest.txnsMismatched[0]!).toString(16)}` : ''}); nothing was written to ${zabkitDir}`,
    );
  const { storage, location } = await openStore(zabkitDir, { create: true });
  try {
    const existing = await storage.load();
    const holds = existing.snapshot !== undefined || existing.log.length > 0;
    if (holds && !values.force) {
      const last = existing.log.at(-1)?.zxid ?? existing.snapshot!.zxid;
      throw new ToolError(
        `${location} already holds zabkit data (up to zxid ${formatZxid(last)}); --force replaces it`,
      );
    }
    const before = holds ? await storage.readEpochs() : undefined;
    let summary = await importIntoStorage(storage, loaded);
    if (before !== undefined) {
      // Replacing a store (--force): its epochs never go back, so that the zxids it hands out
      // next stay above any a client of the old state has seen.
      const epochs = {
        acceptedEpoch: Math.max(before.acceptedEpoch, summary.epochs.acceptedEpoch),
        currentEpoch: Math.max(before.currentEpoch, summary.epochs.currentEpoch),
      };
      await storage.writeEpochs(epochs);
      summary = { ...summary, epochs };
    }
    const report = { store: location, ...describeLoad(loaded), epochs: summary.epochs };
    if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      process.stdout.write(
        `imported ${summary.nodes} znodes and ${summary.sessions} sessions at zxid ${hex(summary.zxid)} into ${location}\n` +
          `  from ${loaded.snapshotFile ?? 'an empty directory'} and ${loaded.txnsApplied} transactions of ${loaded.logFiles.length} log files\n` +
          `  epochs: accepted ${summary.epochs.acceptedEpoch}, current ${summary.epochs.currentEpoch}\n` +
          `  ZooKeeper's digests: snapshot ${loaded.digest.snapshot}, ${loaded.digest.txnsMatched} transactions matched, ${loaded.digest.txnsMismatched.length} mismatched\n`,
      );
    }
    return 0;
  } finally {
    await storage.close();
  }
}

/** `zabkit storage export-zookeeper <zabkitDataDir> <zkDataDir>`. */
export async function runExport(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 2)
    throw new UsageError('usage: zabkit storage export-zookeeper <zabkitDataDir> <zkDataDir> [--json]');
  const [zabkitDir, zkDir] = positionals as [string, string];
  const { storage, location } = await openStore(zabkitDir, {
    warn: (message) => process.stderr.write(`zabkit: warning: ${message}\n`),
  });
  try {
    const summary = await exportFromStorage(storage, zkDir);
    const report = {
      store: location,
      snapshot: summary.snapshotFile,
      zxid: hex(summary.zxid),
      znodes: summary.nodes,
      sessions: summary.sessions,
      bytes: summary.bytes,
    };
    if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else
      process.stdout.write(
        `exported ${summary.nodes} znodes and ${summary.sessions} sessions at zxid ${hex(summary.zxid)} to ${summary.snapshotFile} (${summary.bytes} bytes)\n`,
      );
    return 0;
  } finally {
    await storage.close();
  }
}
