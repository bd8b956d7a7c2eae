/**
 * Quotas as ZooKeeper keeps them: a quota on `/a/b` is the node `/zookeeper/quota/a/b` with
 * two children, `zookeeper_limits` (the limits, written by clients) and `zookeeper_stats`
 * (how many nodes and data bytes the subtree holds, kept up to date by every server as it
 * applies writes, outside any transaction). Both hold ZooKeeper's StatsTrack text:
 * `count=N,bytes=M`, then, when there are more fields, `=` and `;key=value` pairs sorted by
 * key (`count=4,bytes=5=;byteHardLimit=10;countHardLimit=10`). `count` and `bytes` are soft
 * limits (logged when exceeded), `countHardLimit` and `byteHardLimit` hard ones (refused with
 * QuotaExceeded when enforcement is on); -1 or absent is no limit.
 */
import { quotaPath } from '../path.js';
import type { ZnodeData } from '../requests.js';
import { decodeUtf8, encodeUtf8 } from '../utf8.js';

/** The child of a quota node that holds its limits. */
export const quotaLimitNode = 'zookeeper_limits';
/** The child of a quota node that holds its subtree's counts. */
export const quotaStatNode = 'zookeeper_stats';

/** `/zookeeper/quota<path>/zookeeper_limits`. */
export function quotaLimitPath(path: string): string {
  return `${quotaPath}${path}/${quotaLimitNode}`;
}

/** `/zookeeper/quota<path>/zookeeper_stats`. */
export function quotaStatPath(path: string): string {
  return `${quotaPath}${path}/${quotaStatNode}`;
}

/**
 * The path a node under /zookeeper/quota stands for (`/zookeeper/quota/a/b` is `/a/b`), or
 * undefined for a path outside it.
 */
export function quotaSubject(path: string): string | undefined {
  if (!path.startsWith(`${quotaPath}/`)) return undefined;
  return path.slice(quotaPath.length);
}

/** ZooKeeper's StatsTrack: named 64-bit values; absent ones read as -1. */
export class StatsTrack {
  private readonly values = new Map<string, bigint>();

  get(key: string): bigint {
    return this.values.get(key) ?? -1n;
  }

  set(key: string, value: bigint): this {
    this.values.set(key, value);
    return this;
  }

  get count(): bigint {
    return this.get('count');
  }

  get bytes(): bigint {
    return this.get('bytes');
  }

  get countHardLimit(): bigint {
    return this.get('countHardLimit');
  }

  get byteHardLimit(): bigint {
    return this.get('byteHardLimit');
  }

  /** The text ZooKeeper writes: count and bytes first, then `=` and the rest sorted by key. */
  toString(): string {
    const rest = [...this.values.keys()].filter((key) => key !== 'count' && key !== 'bytes').sort();
    const head = `count=${this.count},bytes=${this.bytes}`;
    if (rest.length === 0) return head;
    return `${head}=${rest.map((key) => `;${key}=${this.values.get(key)}`).join('')}`;
  }

  toBytes(): Uint8Array {
    return encodeUtf8(this.toString());
  }
}

const int64Min = -(1n << 63n);
const int64Max = (1n << 63n) - 1n;

/** Java's Long.parseLong, for ASCII digits: an optional sign, then at least one digit, within 64 bits. */
function parseLong(text: string): bigint | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const value = BigInt(text);
  return value < int64Min || value > int64Max ? undefined : value;
}

/** Java's String.split with its trailing empty strings removed. */
function javaSplit(text: string, separator: RegExp): string[] {
  const parts = text.split(separator);
  while (parts.length > 0 && parts.at(-1) === '') parts.pop();
  return parts;
}

/**
 * Reads StatsTrack text as ZooKeeper does (pairs split on runs of `,` and `;`, each on `=`,
 * an empty value -1); undefined where ZooKeeper's parser throws (a pair without a value, a
 * value that is not a 64-bit integer). Null and empty data are no values at all.
 */
export function parseStatsTrack(data: ZnodeData): StatsTrack | undefined {
  const stats = new StatsTrack();
  if (data === null || data.length === 0) return stats;
  const text = decodeUtf8(data);
  for (const pair of javaSplit(text, /[,;]+/)) {
    const kv = javaSplit(pair, /=/);
    if (kv.length < 2) return undefined;
    const value = kv[1] === '' ? -1n : parseLong(kv[1]!);
    if (value === undefined) return undefined;
    stats.set(kv[0]!, value);
  }
  return stats;
}
