/**
 * The ensemble's membership as `/zookeeper/config` holds it, in the text ZooKeeper's quorum
 * verifier writes: one `server.N=host:quorumPort:electionPort:role[;clientAddress:clientPort]`
 * line per member, in id order, then `version=` and the configuration's version in hex. A
 * static configuration has version 0; a reconfiguration's version is its zxid.
 *
 * The parsers here read what a reconfig request carries (the joining and new-member lists,
 * the leaving ids) and what `/zookeeper/config` or a `zoo.cfg.dynamic.<version>` file holds;
 * malformed text is an `EnsembleConfigError` naming what is wrong, never a crash.
 */
import { MajorityQuorum, type ServerId } from './zab/quorum.js';
import type { Zxid } from './zxid.js';

/** One member of the ensemble, as its `server.N` line names it. */
export interface EnsembleMember {
  readonly id: ServerId;
  /** Host name or address; an IPv6 literal without brackets (the text adds them). */
  readonly host: string;
  readonly quorumPort: number;
  readonly electionPort: number;
  readonly role: 'participant' | 'observer';
  /**
   * The client address a `;[address:]port` suffix of the line gave, if any. ZooKeeper writes
   * it only when it came from the line, never from `clientPort`.
   */
  readonly client?: { readonly address: string; readonly port: number };
}

/** The ensemble's membership and its version (0 for a static configuration, else the reconfig's zxid). */
export interface EnsembleConfig {
  readonly members: readonly EnsembleMember[];
  readonly version: Zxid;
}

/** Text that is not a valid server line, member list or configuration: ZooKeeper answers BadArguments. */
export class EnsembleConfigError extends Error {
  override readonly name = 'EnsembleConfigError';
}

/** The largest server id a member may have (core's session ids carry it in their top byte). */
export const memberIdMax = 254;

const bracketed = (host: string) => (host.includes(':') ? `[${host}]` : host);

/** One member's `server.N=...` line, without its newline, as ZooKeeper writes it. */
export function formatEnsembleMember(member: EnsembleMember): string {
  const client =
    member.client === undefined ? '' : `;${bracketed(member.client.address)}:${member.client.port}`;
  return `server.${member.id}=${bracketed(member.host)}:${member.quorumPort}:${member.electionPort}:${member.role}${client}`;
}

/** The text of `/zookeeper/config` for `config`, byte for byte as ZooKeeper writes it. */
export function formatEnsembleConfig(config: EnsembleConfig): string {
  const lines = [...config.members]
    .sort((a, b) => a.id - b.id)
    .map((member) => `${formatEnsembleMember(member)}\n`);
  return `${lines.join('')}version=${config.version.toString(16)}`;
}

function parsePort(text: string, what: string, line: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new EnsembleConfigError(`${what} '${text}' is not a port in '${line}'`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new EnsembleConfigError(`${what} ${port} is out of range in '${line}'`);
  return port;
}

/** Splits `host:rest` where host may be a bracketed IPv6 literal; returns [host, rest parts]. */
function splitHostAndPorts(text: string, line: string): [string, string[]] {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw new EnsembleConfigError(`unclosed '[' in '${line}'`);
    const host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':'))
      throw new EnsembleConfigError(`expected ':' after ']' in '${line}'`);
    return [host, rest === '' ? [] : rest.slice(1).split(':')];
  }
  const [host = '', ...rest] = text.split(':');
  return [host, rest];
}

/** Parses a server id (`N` of `server.N`), 0..memberIdMax. */
export function parseMemberId(text: string): ServerId {
  const trimmed = text.trim();
  if (!/^\d{1,3}$/.test(trimmed)) throw new EnsembleConfigError(`'${text}' is not a server id`);
  const id = Number(trimmed);
  if (id > memberIdMax) throw new EnsembleConfigError(`server id ${id} exceeds ${memberIdMax}`);
  return id;
}

/**
 * Parses one `server.N=host:quorumPort:electionPort[:participant|observer][;[clientHost:]clientPort]`
 * line (ZooKeeper's QuorumServer form); the role defaults to participant. A client port
 * without an address listens on every address (`0.0.0.0`, as ZooKeeper writes it).
 */
export function parseEnsembleMember(line: string): EnsembleMember {
  const text = line.trim();
  const match = /^server\.([^=\s]+)\s*=\s*(.+)$/.exec(text);
  if (match === null) throw new EnsembleConfigError(`'${line}' is not a server.N=... line`);
  const id = parseMemberId(match[1] as string);
  const [serverPart = '', clientPart, ...extra] = (match[2] as string).split(';');
  if (extra.length > 0) throw new EnsembleConfigError(`more than one ';' in '${line}'`);
  const [host, parts] = splitHostAndPorts(serverPart.trim(), line);
  if (host === '') throw new EnsembleConfigError(`no host in '${line}'`);
  if (parts.length < 2 || parts.length > 3)
    throw new EnsembleConfigError(`'${line}' needs host:quorumPort:electionPort[:role]`);
  const quorumPort = parsePort(parts[0] as string, 'quorum port', line);
  const electionPort = parsePort(parts[1] as string, 'election port', line);
  const roleText = (parts[2] ?? 'participant').toLowerCase();
  if (roleText !== 'participant' && roleText !== 'observer')
    throw new EnsembleConfigError(`role '${parts[2]}' is neither participant nor observer in '${line}'`);
  const member: EnsembleMember = { id, host, quorumPort, electionPort, role: roleText };
  if (clientPart === undefined || clientPart.trim() === '') return member;
  const [clientHost, clientPorts] = splitHostAndPorts(clientPart.trim(), line);
  if (clientPorts.length === 0)
    return { ...member, client: { address: '0.0.0.0', port: parsePort(clientHost, 'client port', line) } };
  if (clientPorts.length !== 1 || clientHost === '')
    throw new EnsembleConfigError(`'${clientPart}' is not [clientHost:]clientPort in '${line}'`);
  return {
    ...member,
    client: { address: clientHost, port: parsePort(clientPorts[0] as string, 'client port', line) },
  };
}

/** Parses a reconfig's comma-separated `server.N=...` list (joining servers, new members); each id once. */
export function parseMemberList(text: string): EnsembleMember[] {
  const members = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map(parseEnsembleMember);
  assertDistinctIds(members.map((member) => member.id));
  return members;
}

/** Parses a reconfig's comma-separated leaving server ids; each id once. */
export function parseMemberIds(text: string): ServerId[] {
  const ids = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map(parseMemberId);
  assertDistinctIds(ids);
  return ids;
}

function assertDistinctIds(ids: readonly ServerId[]): void {
  const seen = new Set<ServerId>();
  for (const id of ids) {
    if (seen.has(id)) throw new EnsembleConfigError(`server ${id} is named twice`);
    seen.add(id);
  }
}

/**
 * Parses the text `formatEnsembleConfig` writes (what `/zookeeper/config` and a
 * `zoo.cfg.dynamic.<version>` file hold): server lines, blank lines and `#` comments, and at
 * most one `version=` in hex (0 when absent, as a static configuration's).
 */
export function parseEnsembleConfig(text: string): EnsembleConfig {
  const members: EnsembleMember[] = [];
  let version: Zxid | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('version=')) {
      if (version !== undefined) throw new EnsembleConfigError('more than one version= line');
      const hex = line.slice('version='.length).trim();
      if (!/^[0-9a-fA-F]{1,16}$/.test(hex))
        throw new EnsembleConfigError(`'${line}' is not a version in hex`);
      version = BigInt(`0x${hex}`) as Zxid;
      continue;
    }
    members.push(parseEnsembleMember(line));
  }
  assertDistinctIds(members.map((member) => member.id));
  const config = { members, version: version ?? (0n as Zxid) };
  validateEnsembleConfig(config);
  return config;
}

/** Checks what every configuration needs: members named once, and at least one participant. */
export function validateEnsembleConfig(config: EnsembleConfig): void {
  assertDistinctIds(config.members.map((member) => member.id));
  if (!config.members.some((member) => member.role === 'participant'))
    throw new EnsembleConfigError('a configuration needs at least one participant');
}

/** The quorum a configuration makes: a majority of its participants, its observers following. */
export function quorumOfConfig(config: EnsembleConfig): MajorityQuorum {
  return new MajorityQuorum(
    config.members.filter((member) => member.role === 'participant').map((member) => member.id),
    config.members.filter((member) => member.role === 'observer').map((member) => member.id),
  );
}

/** The member with `id`, if the configuration has one. */
export function memberOf(config: EnsembleConfig, id: ServerId): EnsembleMember | undefined {
  return config.members.find((member) => member.id === id);
}
