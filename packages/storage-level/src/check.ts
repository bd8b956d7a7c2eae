/**
 * Checking and repairing a store offline. `checkStorage` reads every record (every log
 * record, every chunk of every snapshot) and reports every problem, where `load` stops at
 * the first one that matters. It also works out what the store can still recover to: the
 * snapshot and the end of the unbroken log after it that reach furthest. `repairStorage`
 * turns that into a plan (which keys it would delete or rewrite, and which transactions
 * that loses) and carries it out, in one atomic batch, only when asked.
 *
 * A repair that loses transactions is for a server of an ensemble: it restarts with a
 * shorter history and syncs what it lacks from the leader. Transactions only this server
 * held (the other copies gone too) are lost for good; the plan says which zxids are at risk.
 */
import { existsSync } from 'node:fs';
import {
  decodeEpochsRecord,
  decodeLogRecord,
  decodeManifest,
  decodeSessionSecretRecord,
  decodeSnapshotChunk,
  encodeFormatRecord,
  encodeLogRecord,
  type PeerCodecLimits,
  readLogRecordHeader,
  StorageRecordError,
} from '@zabkit/codec';
import { type Epochs, followsContiguously, type Zxid, zeroZxid } from '@zabkit/core';
import { StorageCorruptError, StorageFormatError, type StoreLocation } from './errors.js';
import { checkVersion, findFormat, unmarkedFormat } from './format.js';
import {
  chunkIndexOfKey,
  epochsKey,
  formatKey,
  hexZxid,
  isChunkKey,
  isManifestKey,
  isZabkitKey,
  keyHex,
  Section,
  sessionSecretKey,
  zxidOfKey,
} from './keys.js';
import type { BytesLevel, Op } from './level.js';
import { decodePointer, isPointerRecord, ValueLog, ValueReadError } from './values.js';

/** How a store is checked: its codec limits, and where its value log is, if it has one. */
export interface CheckOptions {
  readonly limits?: PeerCodecLimits;
  /**
   * The value log's directory (`<location>/values` for a store `LevelStorage.open` made).
   * Without it, or when it does not exist, every pointer record is reported as dangling.
   */
  readonly valuesDir?: string;
}

/** Opens the value log of `dir` for reading, if there is one: a check creates nothing. */
function openValues(dir: string | undefined): ValueLog | undefined {
  return dir !== undefined && existsSync(dir) ? ValueLog.open(dir) : undefined;
}

/**
 * The log record a log key's value is, read through its pointer when it is one, or what is
 * wrong with it: a damaged pointer, or one whose bytes do not read back (dangling).
 */
async function resolveRecord(
  value: Uint8Array,
  values: ValueLog | undefined,
): Promise<{ record: Uint8Array } | { problem: string; last: Zxid | undefined }> {
  if (!isPointerRecord(value)) return { record: value };
  let pointer: ReturnType<typeof decodePointer>;
  try {
    pointer = decodePointer(value);
  } catch (error) {
    if (!(error instanceof StorageRecordError)) throw error;
    return { problem: error.problem, last: undefined };
  }
  if (values === undefined)
    return { problem: 'a pointer into a value log that is not there (dangling)', last: pointer.lastZxid };
  try {
    return { record: await values.read(pointer) };
  } catch (error) {
    if (!(error instanceof ValueReadError)) throw error;
    return { problem: `its bytes in the value log: ${error.message} (dangling)`, last: pointer.lastZxid };
  }
}

/** One thing wrong with a store. */
export interface StorageProblem {
  /** What part of the store: `log record`, `log`, `snapshot`, `epochs`, `session secret`, `format record`, `key`. */
  readonly what: string;
  readonly location: StoreLocation;
  /** What is wrong with it. */
  readonly problem: string;
  /** True when repair cannot fix it: the epochs, the format record, keys zabkit did not write. */
  readonly unrepairable: boolean;
}

/** One key a repair deletes or rewrites, and why. */
export interface RepairChange {
  readonly key: Uint8Array;
  /** `delete`, or `truncate`: a log record rewritten with only its transactions up to `RepairPlan.keepsThrough`. */
  readonly action: 'delete' | 'truncate';
  readonly why: string;
}

/** What a repair would do, and what it would lose. */
export interface RepairPlan {
  readonly changes: readonly RepairChange[];
  /** Write the format record of a store from before format records. */
  readonly markFormat: boolean;
  /** The snapshot the repaired store restarts from, if any. */
  readonly snapshotZxid: Zxid | undefined;
  /** The last transaction the repaired store holds. */
  readonly keepsThrough: Zxid;
  /**
   * Transactions the store held that a repair drops: every zxid after `keepsThrough` up to
   * `upTo` (undefined: the last damaged record's end is unknown). Undefined when nothing is lost.
   */
  readonly loses: { readonly after: Zxid; readonly upTo: Zxid | undefined } | undefined;
  /** Problems no repair fixes; while there are any, repair changes nothing. */
  readonly unrepairable: readonly StorageProblem[];
}

/** A snapshot found in the store. */
export interface SnapshotSummary {
  readonly zxid: Zxid;
  readonly chunks: number;
  readonly nodes: number;
  readonly intact: boolean;
}

/** Everything `checkStorage` found. */
export interface StorageCheck {
  /** The format version the store's record names; 1 for a store from before format records; undefined when unknown. */
  readonly formatVersion: number | undefined;
  readonly epochs: Epochs | undefined;
  readonly snapshots: readonly SnapshotSummary[];
  readonly log: {
    readonly records: number;
    readonly firstZxid: Zxid | undefined;
    readonly lastZxid: Zxid | undefined;
  };
  /** Damage and inconsistencies: each one would stop the store from opening or lose data if served. */
  readonly problems: readonly StorageProblem[];
  /** Harmless findings a repair tidies up: a snapshot a crash left without its manifest, a missing format record. */
  readonly notes: readonly string[];
  readonly plan: RepairPlan;
}

/** What `repairStorage` did. */
export interface RepairResult {
  readonly plan: RepairPlan;
  /** False when not asked to apply it, when there was nothing to do, or when a problem is unrepairable. */
  readonly applied: boolean;
  /** The store checked again after the repair. */
  readonly after: StorageCheck | undefined;
}

interface LogRecordInfo {
  readonly key: Uint8Array;
  readonly first: Zxid;
  /** Known when the checksum held. */
  readonly last: Zxid | undefined;
  /** The transactions' zxids, when the record decoded. */
  readonly zxids: readonly Zxid[] | undefined;
  readonly problem: string | undefined;
}

interface SnapshotInfo {
  zxid: Zxid;
  keys: Uint8Array[];
  chunks: Map<number, { nodes: number } | { problem: string }>;
  manifest: { chunks: number; nodes: number } | { problem: string } | undefined;
}

/** A store's contents, every record read and checked. */
interface Scan {
  formatVersion: number | undefined;
  unmarked: boolean;
  epochs: Epochs | undefined;
  /** Why the session secret record does not read back, if it does not. */
  sessionSecretDamage: string | undefined;
  records: LogRecordInfo[];
  snapshots: Map<bigint, SnapshotInfo>;
  problems: StorageProblem[];
}

const problem = (
  what: string,
  location: StoreLocation,
  text: string,
  unrepairable = false,
): StorageProblem => ({
  what,
  location,
  problem: text,
  unrepairable,
});

function recordInfo(key: Uint8Array, value: Uint8Array, limits: PeerCodecLimits | undefined): LogRecordInfo {
  const first = zxidOfKey(key);
  try {
    const record = decodeLogRecord(value, limits);
    const zxids = record.txns.map((txn) => txn.zxid);
    if (zxids[0] !== first)
      return {
        key,
        first,
        last: record.lastZxid,
        zxids: undefined,
        problem: `its first transaction is ${hexZxid(zxids[0]!)}, its key says ${hexZxid(first)}`,
      };
    for (let i = 1; i < zxids.length; i++) {
      if (!followsContiguously(zxids[i - 1]!, zxids[i]!))
        return {
          key,
          first,
          last: record.lastZxid,
          zxids: undefined,
          problem: `${hexZxid(zxids[i]!)} does not follow ${hexZxid(zxids[i - 1]!)} inside it`,
        };
    }
    return { key, first, last: record.lastZxid, zxids, problem: undefined };
  } catch (error) {
    if (!(error instanceof StorageRecordError)) throw error;
    let last: Zxid | undefined;
    try {
      last = readLogRecordHeader(value).lastZxid;
    } catch {
      last = undefined;
    }
    return { key, first, last, zxids: undefined, problem: error.problem };
  }
}

function snapshotInfo(scan: Scan, zxid: Zxid): SnapshotInfo {
  let info = scan.snapshots.get(zxid);
  if (info === undefined) {
    info = { zxid, keys: [], chunks: new Map(), manifest: undefined };
    scan.snapshots.set(zxid, info);
  }
  return info;
}

async function scanStore(
  db: BytesLevel,
  limits: PeerCodecLimits | undefined,
  values: ValueLog | undefined,
): Promise<Scan> {
  const scan: Scan = {
    formatVersion: undefined,
    unmarked: false,
    epochs: undefined,
    sessionSecretDamage: undefined,
    records: [],
    snapshots: new Map(),
    problems: [],
  };
  try {
    const found = await findFormat(db);
    if (found.kind === 'marked') {
      checkVersion(found.version);
      scan.formatVersion = found.version;
    } else if (found.kind === 'unmarked') {
      scan.formatVersion = unmarkedFormat;
      scan.unmarked = true;
    }
  } catch (error) {
    // A newer format cannot be read at all; the other findings leave the records to read.
    if (error instanceof StorageFormatError && error.found !== undefined) throw error;
    if (error instanceof StorageCorruptError)
      scan.problems.push(problem('format record', { key: formatKey }, error.problem, true));
    else if (!(error instanceof StorageFormatError)) throw error;
  }
  for await (const [key, value] of db.iterator()) {
    if (!isZabkitKey(key)) {
      scan.problems.push(problem('key', { key }, 'not a key zabkit writes; repair leaves it alone', true));
    } else if (key[0] === Section.epochs) {
      try {
        scan.epochs = decodeEpochsRecord(value);
      } catch (error) {
        if (!(error instanceof StorageRecordError)) throw error;
        scan.problems.push(
          problem(
            'epochs',
            { key: epochsKey },
            `${error.problem}: the epochs are the server's promises and cannot be guessed`,
            true,
          ),
        );
      }
    } else if (key[0] === Section.sessionSecret) {
      try {
        decodeSessionSecretRecord(value);
      } catch (error) {
        if (!(error instanceof StorageRecordError)) throw error;
        scan.sessionSecretDamage = error.problem;
      }
    } else if (key[0] === Section.log) {
      const resolved = await resolveRecord(value, values);
      if ('record' in resolved) scan.records.push(recordInfo(key, resolved.record, limits));
      else
        scan.records.push({
          key,
          first: zxidOfKey(key),
          last: resolved.last,
          zxids: undefined,
          problem: resolved.problem,
        });
    } else if (isChunkKey(key)) {
      const info = snapshotInfo(scan, zxidOfKey(key));
      info.keys.push(key);
      try {
        info.chunks.set(chunkIndexOfKey(key), { nodes: decodeSnapshotChunk(value, limits).length });
      } catch (error) {
        if (!(error instanceof StorageRecordError)) throw error;
        info.chunks.set(chunkIndexOfKey(key), { problem: error.problem });
      }
    } else if (isManifestKey(key)) {
      const info = snapshotInfo(scan, zxidOfKey(key));
      info.keys.push(key);
      try {
        const manifest = decodeManifest(value, limits);
        info.manifest = { chunks: manifest.chunks, nodes: manifest.nodes };
      } catch (error) {
        if (!(error instanceof StorageRecordError)) throw error;
        info.manifest = { problem: error.problem };
      }
    }
  }
  return scan;
}

/** Why a snapshot with a manifest does not read back whole, or undefined when it does. */
function snapshotDamage(info: SnapshotInfo): string | undefined {
  const manifest = info.manifest;
  if (manifest === undefined) return undefined;
  if ('problem' in manifest) return `its manifest: ${manifest.problem}`;
  let nodes = 0;
  for (let index = 0; index < manifest.chunks; index++) {
    const chunk = info.chunks.get(index);
    if (chunk === undefined) return `chunk ${index} of ${manifest.chunks} is missing`;
    if ('problem' in chunk) return `chunk ${index}: ${chunk.problem}`;
    nodes += chunk.nodes;
  }
  if (nodes !== manifest.nodes) return `its chunks hold ${nodes} nodes, its manifest says ${manifest.nodes}`;
  return undefined;
}

/** True when a record holds nothing after `base`: its end is at or below it, or the next record starts right after. */
function whollyWithin(records: readonly LogRecordInfo[], index: number, base: Zxid): boolean {
  const record = records[index]!;
  if (record.first > base) return false;
  if (record.last !== undefined && record.problem === undefined) return record.last <= base;
  const next = records[index + 1];
  return next !== undefined && next.first <= base + 1n;
}

/** How far the log after a base runs unbroken, and where and why it breaks. */
interface Reach {
  /** The last zxid before the first damage or gap. */
  readonly through: Zxid;
  /** The index of the record the log breaks at; undefined when it runs to its end. */
  readonly breakAt: number | undefined;
  /** The break is a gap before that record (not damage in it). */
  readonly gap: boolean;
}

function reachFrom(records: readonly LogRecordInfo[], base: Zxid): Reach {
  let previous = base;
  for (let i = 0; i < records.length; i++) {
    if (whollyWithin(records, i, base)) continue;
    const record = records[i]!;
    if (record.zxids === undefined) return { through: previous, breakAt: i, gap: false };
    for (const zxid of record.zxids) {
      if (zxid <= base) continue;
      if (!followsContiguously(previous, zxid)) return { through: previous, breakAt: i, gap: true };
      previous = zxid;
    }
  }
  return { through: previous, breakAt: undefined, gap: false };
}

/** The highest zxid the store held, or undefined when the last record is too damaged to say. */
function highestHeld(records: readonly LogRecordInfo[], snapshots: Iterable<Zxid>): Zxid | undefined {
  let highest: Zxid = zeroZxid;
  for (const zxid of snapshots) if (zxid > highest) highest = zxid;
  const last = records.at(-1);
  if (last === undefined) return highest;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const end = record.last ?? (i + 1 < records.length ? ((records[i + 1]!.first - 1n) as Zxid) : undefined);
    if (end === undefined) return undefined;
    if (end > highest) highest = end;
  }
  return highest;
}

function analyse(scan: Scan): StorageCheck {
  const problems = [...scan.problems];
  const notes: string[] = [];
  const changes: RepairChange[] = [];
  if (scan.unmarked)
    notes.push('no format record: the store was written before zabkit kept one (its layout is format 1)');

  if (scan.sessionSecretDamage !== undefined) {
    problems.push(problem('session secret', { key: sessionSecretKey }, scan.sessionSecretDamage));
    changes.push({
      key: sessionSecretKey,
      action: 'delete',
      why: "damaged: the server takes its leader's secret at its next sync (a lone server draws a new one, and sessions created before cannot resume)",
    });
  }

  const snapshots: SnapshotSummary[] = [];
  const intact: Zxid[] = [];
  const damaged: Zxid[] = [];
  for (const info of [...scan.snapshots.values()].sort((a, b) => (a.zxid < b.zxid ? -1 : 1))) {
    const where = `snapshot ${hexZxid(info.zxid)}`;
    if (info.manifest === undefined) {
      notes.push(`${where}: ${info.chunks.size} chunks without a manifest (a snapshot a crash interrupted)`);
      for (const key of info.keys)
        changes.push({ key, action: 'delete', why: `${where} was never completed` });
      continue;
    }
    const damage = snapshotDamage(info);
    const manifest = 'problem' in info.manifest ? { chunks: 0, nodes: 0 } : info.manifest;
    snapshots.push({
      zxid: info.zxid,
      chunks: manifest.chunks,
      nodes: manifest.nodes,
      intact: damage === undefined,
    });
    if (damage === undefined) {
      intact.push(info.zxid);
      for (const [index] of info.chunks) {
        if (index >= manifest.chunks) {
          const key = info.keys.find((k) => isChunkKey(k) && chunkIndexOfKey(k) === index)!;
          notes.push(`${where}: chunk ${index} beyond the ${manifest.chunks} its manifest names`);
          changes.push({ key, action: 'delete', why: `${where} does not use it` });
        }
      }
      continue;
    }
    damaged.push(info.zxid);
    problems.push(
      problem(
        'snapshot',
        { key: info.keys.find(isManifestKey), firstZxid: info.zxid, lastZxid: info.zxid },
        damage,
      ),
    );
    for (const key of info.keys) changes.push({ key, action: 'delete', why: `${where} is damaged` });
  }

  // The base that recovers furthest (the newest on a tie): a snapshot, or none.
  const records = scan.records;
  let snapshotZxid: Zxid | undefined;
  let reach = reachFrom(records, zeroZxid);
  for (const zxid of intact) {
    const from = reachFrom(records, zxid);
    if (from.through >= reach.through) {
      snapshotZxid = zxid;
      reach = from;
    }
  }
  const base = snapshotZxid ?? zeroZxid;
  const keepsThrough = reach.through;
  const locate = (record: LogRecordInfo) => ({
    key: record.key,
    firstZxid: record.first,
    lastZxid: record.last,
  });
  if (reach.breakAt !== undefined && reach.gap) {
    const record = records[reach.breakAt]!;
    const first = record.zxids!.find((zxid) => zxid > base)!;
    problems.push(
      keepsThrough === base
        ? problem(
            'snapshot',
            locate(record),
            `the log goes on at ${hexZxid(first)}, after ${snapshotZxid === undefined ? 'no snapshot' : `the snapshot at ${hexZxid(base)}`}: the snapshot it starts from is missing`,
          )
        : problem(
            'log',
            locate(record),
            `${hexZxid(first)} does not follow ${hexZxid(keepsThrough)}: records are missing`,
          ),
    );
  }
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    if (record.problem !== undefined) {
      problems.push(problem('log record', locate(record), record.problem));
      if (whollyWithin(records, i, base)) {
        changes.push({
          key: record.key,
          action: 'delete',
          why: `damaged, and wholly inside snapshot ${hexZxid(base)}`,
        });
        continue;
      }
    }
    if (record.first > keepsThrough)
      changes.push({
        key: record.key,
        action: 'delete',
        why: `after the last unbroken transaction ${hexZxid(keepsThrough)}`,
      });
    else if (record.problem !== undefined)
      changes.push({
        key: record.key,
        action: 'delete',
        why: `damaged, and it may hold transactions after ${hexZxid(base)}`,
      });
    else if (record.last !== undefined && record.last > keepsThrough)
      changes.push({
        key: record.key,
        action: 'truncate',
        why: `holds transactions after ${hexZxid(keepsThrough)}`,
      });
  }

  const highest = highestHeld(records, [...intact, ...damaged]);
  const loses =
    highest !== undefined && highest <= keepsThrough ? undefined : { after: keepsThrough, upTo: highest };
  const unrepairable = problems.filter((p) => p.unrepairable);
  const logRecords = records.length;
  return {
    formatVersion: scan.formatVersion,
    epochs: scan.epochs,
    snapshots,
    log: {
      records: logRecords,
      firstZxid: records[0]?.first,
      lastZxid: records.at(-1)?.last,
    },
    problems,
    notes,
    plan: { changes, markFormat: scan.unmarked, snapshotZxid, keepsThrough, loses, unrepairable },
  };
}

/**
 * Reads every record of a store (opened, and not in use by a server) and reports every
 * problem, what the store can still recover to, and the repair that would get it there.
 * Changes nothing. Throws StorageFormatError for a store in a newer format.
 */
export async function checkStorage(db: BytesLevel, options: CheckOptions = {}): Promise<StorageCheck> {
  await db.open();
  const values = openValues(options.valuesDir);
  try {
    return analyse(await scanStore(db, options.limits, values));
  } finally {
    await values?.close();
  }
}

/**
 * Works out the repair of a store and, when `apply` is true, carries it out in one atomic,
 * synced batch: damaged snapshots and records and every record after the first break in
 * the log deleted, the record reaching over the break truncated, unfinished snapshots
 * deleted, the format record written if missing. Changes nothing while a problem is
 * unrepairable (damaged epochs or format record, keys zabkit did not write).
 */
export async function repairStorage(
  db: BytesLevel,
  options: CheckOptions & { readonly apply: boolean },
): Promise<RepairResult> {
  const check = await checkStorage(db, options);
  const { plan } = check;
  const nothingToDo = plan.changes.length === 0 && !plan.markFormat;
  if (!options.apply || nothingToDo || plan.unrepairable.length > 0)
    return { plan, applied: false, after: undefined };
  const ops: Op[] = [];
  const values = openValues(options.valuesDir);
  try {
    for (const change of plan.changes) {
      if (change.action === 'delete') {
        // A pointer's bytes stay in their segment, garbage the store deletes with the segment.
        ops.push({ type: 'del', key: change.key });
        continue;
      }
      const value = await db.get(change.key);
      if (value === undefined) throw new Error(`log record ${keyHex(change.key)} vanished during the repair`);
      const resolved = await resolveRecord(value, values);
      if (!('record' in resolved))
        throw new Error(`log record ${keyHex(change.key)} no longer reads back: ${resolved.problem}`);
      // Written back in place, not to the value log: a repair writes only the database.
      const kept = decodeLogRecord(resolved.record, options.limits).txns.filter(
        (txn) => txn.zxid <= plan.keepsThrough,
      );
      ops.push({ type: 'put', key: change.key, value: encodeLogRecord(kept) });
    }
  } finally {
    await values?.close();
  }
  if (plan.markFormat) ops.push({ type: 'put', key: formatKey, value: encodeFormatRecord(unmarkedFormat) });
  await db.batch(ops, { sync: true } as never);
  return { plan, applied: true, after: await checkStorage(db, options) };
}
