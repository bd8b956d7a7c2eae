/** Output in zkCli's formats: Stat blocks, ACL listings, lists; and parsing zkCli's ACL syntax. */
import { type ACL, Perms, type Stat } from '@zabkit/client';
import { ShellError } from './errors.js';

/** Java's `"0x" + Long.toHexString(v)`: unsigned 64-bit hex. */
export function javaHex(value: bigint | number): string {
  return `0x${BigInt.asUintN(64, BigInt(value)).toString(16)}`;
}

const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** Java's `Date.toString()` in UTC, `Thu Nov 26 18:00:00 UTC 2026`, as zkCli prints times. */
export function javaDate(ms: number): string {
  const d = new Date(ms);
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${two(d.getUTCDate())} ${time} UTC ${d.getUTCFullYear()}`;
}

/** A Stat, one field a line with zkCli's names (its StatPrinter), no trailing newline. */
export function formatStat(stat: Stat): string {
  return [
    `cZxid = ${javaHex(stat.czxid)}`,
    `ctime = ${javaDate(stat.ctime)}`,
    `mZxid = ${javaHex(stat.mzxid)}`,
    `mtime = ${javaDate(stat.mtime)}`,
    `pZxid = ${javaHex(stat.pzxid)}`,
    `cversion = ${stat.cversion}`,
    `dataVersion = ${stat.version}`,
    `aclVersion = ${stat.aversion}`,
    `ephemeralOwner = ${javaHex(stat.ephemeralOwner)}`,
    `dataLength = ${stat.dataLength}`,
    `numChildren = ${stat.numChildren}`,
  ].join('\n');
}

/** Java's `List.toString()`: `[a, b, c]`. */
export function formatList(items: readonly string[]): string {
  return `[${items.join(', ')}]`;
}

const letters: readonly (readonly [string, number])[] = [
  ['c', Perms.Create],
  ['d', Perms.Delete],
  ['r', Perms.Read],
  ['w', Perms.Write],
  ['a', Perms.Admin],
];

/** Permission bits as zkCli's letters, in its order `cdrwa`. */
export function permsToLetters(perms: number): string {
  return letters
    .filter(([, bit]) => (perms & bit) !== 0)
    .map(([letter]) => letter)
    .join('');
}

/** getAcl's listing, two lines an entry: `'world,'anyone` then `: cdrwa`. */
export function formatAcl(acl: readonly ACL[]): string {
  return acl
    .map((entry) => `'${entry.id.scheme},'${entry.id.id}\n: ${permsToLetters(entry.perms)}`)
    .join('\n');
}

/**
 * zkCli's ACL syntax: `scheme:id:perms` entries separated by commas, perms from `cdrwa`.
 * The id is everything between the first and the last colon, so `digest:bob:hash:r` and
 * `auth::cdrwa` both work. Unlike zkCli, which skips a bad entry with a warning, a bad entry
 * fails the command.
 */
export function parseAcl(text: string): ACL[] {
  return text.split(',').map((entry) => {
    const first = entry.indexOf(':');
    const last = entry.lastIndexOf(':');
    if (first < 0 || last === first) throw new ShellError(`${entry} does not have the form scheme:id:perm`);
    let perms = 0;
    for (const letter of entry.slice(last + 1)) {
      const bit = letters.find(([name]) => name === letter)?.[1];
      if (bit === undefined) throw new ShellError(`Unknown perm type: ${letter}`);
      perms |= bit;
    }
    return { perms, id: { scheme: entry.slice(0, first), id: entry.slice(first + 1, last) } };
  });
}
