/**
 * `zabkit storage check <dataDir>` and `zabkit storage repair <dataDir> [--yes]`: the
 * offline commands for a store the server refused to open (or one to look at before it
 * does). The server must not be running on it. `check` reads every record and reports every
 * problem; `repair` says what it would delete and which transactions that loses, and does
 * it only with `--yes`. Neither opens the store as a server would: nothing is written
 * unless repair is told to.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type BytesLevel,
  checkStorage,
  describeLocation,
  openExistingDatabase,
  type RepairPlan,
  repairStorage,
  type StorageCheck,
  StorageFormatError,
} from '@zabkit/storage-level';

import { storeLocation, ToolError, UsageError } from './store.js';

/** The usage lines of check and repair, for `zabkit storage help`. */
export const checkUsage = `  check <zabkitDataDir> [--json]
      Reads every record of the store and reports every problem (exit 1 when it finds one),
      and what a repair would do. The server must be stopped.
  repair <zabkitDataDir> [--yes]
      Says what a repair would delete and which transactions that loses; with --yes, does
      it, in one atomic write. A server that lost transactions syncs them from its leader.
`;

const hexZxid = (zxid: bigint) => `0x${zxid.toString(16)}`;
const hexKey = (key: Uint8Array) => Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');

function describeCheck(check: StorageCheck): string[] {
  const lines: string[] = [];
  lines.push(`format: ${check.formatVersion ?? 'unknown'}`);
  lines.push(
    check.epochs === undefined
      ? 'epochs: none recorded'
      : `epochs: accepted ${check.epochs.acceptedEpoch}, current ${check.epochs.currentEpoch}`,
  );
  const snapshots = check.snapshots.map(
    (s) => `${hexZxid(s.zxid)} (${s.intact ? `${s.nodes} nodes in ${s.chunks} chunks` : 'damaged'})`,
  );
  lines.push(`snapshots: ${snapshots.length === 0 ? 'none' : snapshots.join(', ')}`);
  const { records, firstZxid, lastZxid } = check.log;
  const span =
    firstZxid === undefined
      ? ''
      : ` from ${hexZxid(firstZxid)}${lastZxid === undefined ? '' : ` to ${hexZxid(lastZxid)}`}`;
  lines.push(`log: ${records} records${span}`);
  if (check.problems.length > 0) {
    lines.push(`problems (${check.problems.length}):`);
    for (const p of check.problems)
      lines.push(
        `  ${describeLocation(p.what, p.location)}: ${p.problem}${p.unrepairable ? ' [repair cannot fix this]' : ''}`,
      );
  }
  if (check.notes.length > 0) {
    lines.push('notes:');
    for (const note of check.notes) lines.push(`  ${note}`);
  }
  return lines;
}

function describePlan(plan: RepairPlan, done: boolean): string[] {
  const lines: string[] = [];
  const verb = done ? 'repair' : 'repair would';
  if (plan.unrepairable.length > 0) {
    lines.push(
      'repair cannot proceed: the problems marked above are beyond it. Restore the data directory from',
    );
    lines.push(
      "a backup, or empty it so that the server joins its ensemble anew (it then takes the leader's state).",
    );
    return lines;
  }
  if (plan.changes.length === 0 && !plan.markFormat) {
    lines.push('nothing to repair');
    return lines;
  }
  lines.push(`${verb}:`);
  for (const change of plan.changes) lines.push(`  ${change.action} ${hexKey(change.key)}: ${change.why}`);
  if (plan.markFormat) lines.push('  write the format record (format 1)');
  const base =
    plan.snapshotZxid === undefined ? 'no snapshot' : `the snapshot at ${hexZxid(plan.snapshotZxid)}`;
  lines.push(`the store then restarts from ${base} with the log through ${hexZxid(plan.keepsThrough)}`);
  if (plan.loses === undefined) lines.push('no transaction is lost');
  else {
    const upTo =
      plan.loses.upTo === undefined
        ? 'the end of the damaged log (its last zxid is unknown)'
        : hexZxid(plan.loses.upTo);
    lines.push(`LOST: every transaction after ${hexZxid(plan.loses.after)} up to ${upTo}.`);
    lines.push(
      'This server may have acknowledged some of them: it must rejoin an ensemble whose leader still',
    );
    lines.push('has them, or they are gone.');
  }
  return lines;
}

/** JSON with bigints as hex zxids and keys as hex. */
function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    function (this: Record<string, unknown>, key: string, v: unknown) {
      // A Buffer has turned itself into {type, data} by now: look at what it was.
      const original = this[key];
      if (original instanceof Uint8Array) return hexKey(original);
      if (typeof v === 'bigint') return hexZxid(v);
      return v;
    },
    2,
  );
}

/** Opens the store of `dir` as it is, for reading every record (and for a repair). */
async function openForCheck(dir: string): Promise<{ db: BytesLevel; location: string }> {
  const location = storeLocation(dir);
  if (!existsSync(join(location, 'CURRENT')))
    throw new ToolError(`no zabkit store in ${dir} (expected ${location})`);
  try {
    return { db: await openExistingDatabase(location), location };
  } catch (error) {
    if (/in use/.test(String(error)))
      throw new ToolError(`${location} is in use (is a zabkit server running on it?)`);
    throw error;
  }
}

/** Runs `zabkit storage check <dir> [--json]`: exit 0 when sound, 1 when it found a problem. */
export async function runCheck(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { json: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1)
    throw new UsageError('check takes one directory: the store, or the data directory holding zabkit.db');
  const { db, location } = await openForCheck(positionals[0]!);
  try {
    const check = await checkFormatted(db, location);
    if (values.json) process.stdout.write(`${toJson({ store: location, ...check })}\n`);
    else {
      process.stdout.write(`store: ${location}\n${describeCheck(check).join('\n')}\n`);
      process.stdout.write(
        check.problems.length === 0
          ? 'sound\n'
          : `${describePlan(check.plan, false).join('\n')}\nzabkit storage repair ${positionals[0]} shows the repair; with --yes, makes it\n`,
      );
    }
    return check.problems.length === 0 ? 0 : 1;
  } finally {
    await db.close();
  }
}

/** Runs `zabkit storage repair <dir> [--yes]`: exit 0 when repaired or nothing to do, 1 when something is (still) to be done. */
export async function runRepair(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { yes: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1)
    throw new UsageError('repair takes one directory: the store, or the data directory holding zabkit.db');
  const { db, location } = await openForCheck(positionals[0]!);
  try {
    const before = await repairFormatted(db, location, false);
    process.stdout.write(`store: ${location}\n`);
    const pending = before.plan.changes.length > 0 || before.plan.markFormat;
    const blocked = before.plan.unrepairable.length > 0;
    if (!values.yes || !pending || blocked) {
      process.stdout.write(`${describePlan(before.plan, false).join('\n')}\n`);
      if (pending && !blocked) process.stdout.write('nothing was changed: run again with --yes to repair\n');
      return pending || blocked ? 1 : 0;
    }
    const result = await repairFormatted(db, location, true);
    process.stdout.write(`${describePlan(result.plan, true).join('\n')}\n`);
    const left = result.after?.problems.length ?? 0;
    process.stdout.write(left === 0 ? 'repaired: the store is sound\n' : `${left} problems remain\n`);
    return result.applied && left === 0 ? 0 : 1;
  } finally {
    await db.close();
  }
}

/** A store in a format this zabkit cannot read is the operator's to sort out: say so, as a ToolError. */
async function checkFormatted(db: BytesLevel, location: string) {
  try {
    // The value log, if the store has one, is where LevelStorage.open keeps it.
    return await checkStorage(db, { valuesDir: join(location, 'values') });
  } catch (error) {
    if (error instanceof StorageFormatError) throw new ToolError(error.message);
    throw error;
  }
}

async function repairFormatted(db: BytesLevel, location: string, apply: boolean) {
  try {
    return await repairStorage(db, { apply, valuesDir: join(location, 'values') });
  } catch (error) {
    if (error instanceof StorageFormatError) throw new ToolError(error.message);
    throw error;
  }
}
