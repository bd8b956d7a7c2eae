/** Output in zkCli's formats: Stat blocks, ACL listings, and parsing zkCli's ACL syntax. */
import { type ACL, digestOf, Perms, type Stat } from '@zabkit/core';

const hex = (value: bigint) => `0x${BigInt.asUintN(64, value).toString(16)}`;

const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** Java's Date.toString in UTC: `Thu Nov 26 18:00:00 UTC 2026`, as zkCli prints times. */
export function javaDate(ms: number): string {
  const d = new Date(ms);
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`;
}

/** A Stat, one field per line, with zkCli's names. */
export function formatStat(stat: Stat): string {
  return [
    `cZxid = ${hex(stat.czxid)}`,
    `ctime = ${javaDate(stat.ctime)}`,
    `mZxid = ${hex(stat.mzxid)}`,
    `mtime = ${javaDate(stat.mtime)}`,
    `pZxid = ${hex(stat.pzxid)}`,
    `cversion = ${stat.cversion}`,
    `dataVersion = ${stat.version}`,
    `aclVersion = ${stat.aversion}`,
    `ephemeralOwner = ${hex(stat.ephemeralOwner)}`,
    `dataLength = ${stat.dataLength}`,
    `numChildren = ${stat.numChildren}`,
  ].join('\n');
}

const letters: readonly [string, number][] = [
  ['c', Perms.Create],
  ['d', Perms.Delete],
  ['r', Perms.Read],
  ['w', Perms.Write],
  ['a', Perms.Admin],
];

export function permsToLetters(perms: number): string {
  return letters
    .filter(([, bit]) => (perms & bit) !== 0)
    .map(([letter]) => letter)
    .join('');
}

/** getAcl's listing: `'world,'anyone` then `: cdrwa`, per entry. */
export function formatAcl(acl: readonly ACL[]): string {
  return acl
    .map((entry) => `'${entry.id.scheme},'${entry.id.id}\n: ${permsToLetters(entry.perms)}`)
    .join('\n');
}

/**
 * zkCli's ACL syntax: `scheme:id:perms` entries separated by commas, perms from `cdrwa`.
 * For `digest` the id is `user:hash`; `auth::cdrwa` names the session's identities.
 */
export function parseAcl(text: string): ACL[] {
  return text.split(',').map((entry) => {
    const first = entry.indexOf(':');
    const last = entry.lastIndexOf(':');
    if (first < 0 || last === first) throw new Error(`bad ACL entry ${entry} (scheme:id:perms)`);
    const scheme = entry.slice(0, first);
    const id = entry.slice(first + 1, last);
    let perms = 0;
    for (const letter of entry.slice(last + 1)) {
      const bit = letters.find(([name]) => name === letter)?.[1];
      if (bit === undefined) throw new Error(`bad permission ${letter} in ${entry} (cdrwa)`);
      perms |= bit;
    }
    return { perms, id: { scheme, id } };
  });
}

export { digestOf };
