/**
 * zkCli's quota commands (setquota, listquota, delquota), as ZooKeeper 3.8 and 3.9 run them
 * (the two agree): they write /zookeeper/quota<path>/zookeeper_limits with ordinary client
 * calls, and the server keeps zookeeper_stats up to date. Messages, and the stream each goes
 * to, are zkCli's.
 */
import type { ZabClient } from '@zabkit/client';
import { parseStatsTrack, quotaLimitNode, quotaLimitPath, quotaStatPath, StatsTrack } from '@zabkit/core';
import { ShellError } from './errors.js';
import type { FlagSpec, ParsedWords } from './words.js';

const quotaRoot = '/zookeeper/quota';

/** What the quota commands need of the shell. */
export interface QuotaShell {
  client(): ZabClient;
  out(text: string): void;
  err(text: string): void;
}

/** Java's Integer.parseInt / Long.parseLong on ASCII: a sign, then digits, within range. */
function javaInteger(text: string, bits: 32 | 64): bigint | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const value = BigInt(text);
  const limit = 1n << BigInt(bits - 1);
  return value < -limit || value >= limit ? undefined : value;
}

/** The limits a quota starts from: every one -1, as zkCli's setquota sets them. */
function unlimited(): StatsTrack {
  return new StatsTrack()
    .set('count', -1n)
    .set('bytes', -1n)
    .set('countHardLimit', -1n)
    .set('byteHardLimit', -1n);
}

/** Reads StatsTrack data as zkCli does; a value that does not parse fails as its NumberFormatException. */
function statsOf(data: Uint8Array | null): StatsTrack {
  const stats = parseStatsTrack(data);
  if (stats === undefined) throw new ShellError('NumberFormatException happens when parsing the quota data');
  return stats;
}

async function childrenOrNone(zk: ZabClient, path: string): Promise<string[] | undefined> {
  try {
    return await zk.getChildren(path);
  } catch (error) {
    if (isNoNode(error)) return undefined;
    throw error;
  }
}

function isNoNode(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && (error as { codeName?: string }).codeName === 'NoNode'
  );
}

/** zkCli's checkIfChildQuota: no node below `path` may have a quota of its own. */
async function checkNoChildQuota(zk: ZabClient, path: string): Promise<void> {
  const start = `${quotaRoot}${path}`;
  // zkCli's client checks the path before sending it (PathUtils.validatePath).
  if (start.endsWith('/')) throw new ShellError('Path must not end with / character');
  const pending = [start];
  while (pending.length > 0) {
    const at = pending.shift()!;
    const children = await childrenOrNone(zk, at);
    if (children === undefined) continue;
    for (const child of [...children].sort()) {
      if (at !== start && child === quotaLimitNode)
        throw new ShellError(`${path} has a child ${at.slice(quotaRoot.length)} which has a quota`);
      pending.push(`${at}/${child}`);
    }
  }
}

/** zkCli's checkIfParentQuota: no node above `path` may have a quota. */
async function checkNoParentQuota(zk: ZabClient, path: string): Promise<void> {
  const parts = path.split('/');
  let at = quotaRoot;
  for (let i = 1; i < parts.length - 1; i++) {
    at = `${at}/${parts[i]}`;
    const children = await childrenOrNone(zk, at);
    if (children === undefined || children.length === 0) return;
    if (at !== `${quotaRoot}${path}` && children.includes(quotaLimitNode))
      throw new ShellError(`${path} has a parent ${at.slice(quotaRoot.length)} which has a quota`);
  }
}

/** zkCli's warning when a new limit is already below what the subtree holds (on standard output). */
function warnBelowCurrent(shell: QuotaShell, limits: StatsTrack, stats: StatsTrack): void {
  const below = (soft: bigint, hard: bigint, current: bigint) =>
    (soft > -1n && soft < current) || (hard > -1n && hard < current);
  if (below(limits.count, limits.countHardLimit, stats.count))
    shell.out(`[Warning]: the count quota you create is less than the existing count:${stats.count}\n`);
  if (below(limits.bytes, limits.byteHardLimit, stats.bytes))
    shell.out(`[Warning]: the bytes quota you create is less than the existing bytes:${stats.bytes}\n`);
}

/** The one of -n, -b, -N, -B given (zkCli's option group takes one), with its value. */
function quotaOption(
  flags: ParsedWords['flags'],
  letters: readonly string[],
): [string, string | true] | undefined {
  const given = letters.filter((letter) => flags.has(letter));
  if (given.length > 1)
    throw new ShellError(
      `The option '${given[1]}' was specified but an option from this group has already been selected: '${given[0]}'`,
    );
  return given[0] === undefined ? undefined : [given[0], flags.get(given[0])!];
}

const limitKeys: Readonly<Record<string, string>> = {
  n: 'count',
  b: 'bytes',
  N: 'countHardLimit',
  B: 'byteHardLimit',
};

/** `setquota -n|-b|-N|-B val path`. */
export const setquota = {
  options: '-n|-b|-N|-B val path',
  spec: { values: 'nbNB' } satisfies FlagSpec,
  async run(shell: QuotaShell, parsed: ParsedWords): Promise<void> {
    const path = parsed.rest[0]!;
    if (path.startsWith(quotaRoot)) {
      shell.err(`cannot set a quota under the path: ${quotaRoot}\n`);
      return;
    }
    const option = quotaOption(parsed.flags, ['n', 'b', 'N', 'B']);
    if (option === undefined)
      throw new ShellError(
        'Missing required option: [-n num soft quota, -b bytes soft quota, -N num hard quota, -B bytes hard quota]',
      );
    const [letter, text] = option;
    const isCount = letter === 'n' || letter === 'N';
    const value = javaInteger(String(text), isCount ? 32 : 64);
    if (value === undefined) {
      shell.err('NumberFormatException happens when parsing the option value\n');
      return;
    }
    if (isCount ? value <= 0n : value < 0n) {
      shell.err(
        isCount
          ? 'the num quota must be greater than zero\n'
          : 'the bytes quota must be greater than or equal to zero\n',
      );
      return;
    }
    const quota = unlimited().set(limitKeys[letter]!, value);
    const zk = shell.client();
    if ((await zk.exists(path)) === null) throw new ShellError(`${path} does not exist.`);
    await checkNoChildQuota(zk, path);
    await checkNoParentQuota(zk, path);
    let at = quotaRoot;
    for (const part of path.split('/').slice(1)) {
      at = `${at}/${part}`;
      if ((await zk.exists(at)) !== null) continue;
      try {
        await zk.create(at, null);
      } catch (error) {
        if ((error as { codeName?: string }).codeName !== 'NodeExists') throw error;
      }
    }
    const limitPath = quotaLimitPath(path);
    const statPath = quotaStatPath(path);
    if ((await zk.exists(limitPath)) === null) {
      await zk.create(limitPath, quota.toBytes());
      await zk.create(statPath, new StatsTrack().set('count', 0n).set('bytes', 0n).toBytes());
      const limits = statsOf((await zk.getData(limitPath)).data);
      warnBelowCurrent(shell, limits, statsOf((await zk.getData(statPath)).data));
      return;
    }
    const limits = statsOf((await zk.getData(limitPath)).data);
    for (const key of Object.values(limitKeys)) {
      if (quota.get(key) > -1n) limits.set(key, quota.get(key));
    }
    warnBelowCurrent(shell, limits, statsOf((await zk.getData(statPath)).data));
    await zk.setData(limitPath, limits.toBytes(), -1);
  },
};

/** `listquota path`. */
export const listquota = {
  options: 'path',
  spec: {} satisfies FlagSpec,
  async run(shell: QuotaShell, parsed: ParsedWords): Promise<void> {
    const path = parsed.rest[0]!;
    const zk = shell.client();
    shell.err(`absolute path is ${quotaLimitPath(path)}\n`);
    try {
      const limits = statsOf((await zk.getData(quotaLimitPath(path))).data);
      const stats = statsOf((await zk.getData(quotaStatPath(path))).data);
      shell.out(`Output quota for ${path} ${limits}\n`);
      shell.out(`Output stat for ${path} ${stats}\n`);
    } catch (error) {
      if (!isNoNode(error)) throw error;
      shell.err(`quota for ${path} does not exist.\n`);
    }
  },
};

/** `delquota [-n|-b|-N|-B] path`: one limit, or the whole quota. */
export const delquota = {
  options: '[-n|-b|-N|-B] path',
  spec: { switches: 'nbNB' } satisfies FlagSpec,
  async run(shell: QuotaShell, parsed: ParsedWords): Promise<void> {
    const path = parsed.rest[0]!;
    const option = quotaOption(parsed.flags, ['n', 'b', 'N', 'B']);
    const zk = shell.client();
    const limitPath = quotaLimitPath(path);
    try {
      if ((await zk.exists(limitPath)) === null) {
        shell.out(`Quota does not exist for ${path}\n`);
        return;
      }
      const limits = statsOf((await zk.getData(limitPath)).data);
      if (option !== undefined) {
        limits.set(limitKeys[option[0]]!, -1n);
        await zk.setData(limitPath, limits.toBytes(), -1);
        return;
      }
      const quotaNode = `${quotaRoot}${path}`;
      for (const child of await zk.getChildren(quotaNode)) await zk.delete(`${quotaNode}/${child}`, -1);
      // Then the quota's empty ancestors, up to /zookeeper/quota.
      for (let at = quotaNode; at !== quotaRoot; at = at.slice(0, at.lastIndexOf('/'))) {
        if ((await zk.getChildren(at)).length > 0) break;
        await zk.delete(at, -1);
      }
    } catch (error) {
      if (!isNoNode(error)) throw error;
      shell.err(`quota for ${path} does not exist.\n`);
    }
  },
};
