/**
 * One member of an ensemble as a `server.N` line gives it, in zoo.cfg or in a dynamic
 * configuration file: `host:quorumPort:electionPort[:role][;[clientAddress:]clientPort]`, with
 * ZooKeeper's QuorumPeer.QuorumServer rules.
 *
 * @module
 */
import { ConfigError } from './config-error.js';

/**
 * The role a `server.N` line gives a member of the ensemble: a voting participant or a
 * non-voting observer (not to be confused with `PeerRole`, what a running peer is doing).
 */
export type MemberRole = 'participant' | 'observer';

/** One `server.N=host:quorumPort:electionPort[:role][;[clientAddress:]clientPort]` line. */
export interface ServerAddress {
  /** The server id N (what that server's `myid` file holds). */
  readonly id: number;
  /** Host name or address; IPv6 literals are given in brackets in the file and stored without them. */
  readonly host: string;
  /** Port followers use to connect to the leader (ZooKeeper's conventional 2888). */
  readonly quorumPort: number;
  /** Port used for leader election (ZooKeeper's conventional 3888). */
  readonly electionPort: number;
  /** `participant` unless the line ends in `:observer`. */
  readonly role: MemberRole;
  /** Client listen address from the `;addr:port` part; `0.0.0.0` when only `;port` is given (as ZooKeeper). */
  readonly clientAddress?: string;
  /** Client port from the `;[addr:]port` part, when present. */
  readonly clientPort?: number;
}

/** A port number in [1, 65535], else a ConfigError for `key`. */
function parsePort(key: string, value: string, expected: string): number {
  if (!/^[+-]?\d+$/.test(value)) throw new ConfigError(key, value, expected);
  const port = Number(value);
  if (port < 1 || port > 65535) throw new ConfigError(key, value, expected);
  return port;
}

export function parseRole(key: string, value: string): MemberRole {
  const lower = value.trim().toLowerCase();
  if (lower === 'participant' || lower === 'observer') return lower;
  throw new ConfigError(key, value, 'expected participant or observer');
}

/** Splits `host:port[:...]` with an optional `[ipv6]` host, as ZooKeeper's `ConfigUtils.getHostAndPort`. */
function splitHostAndPorts(key: string, value: string, expected: string): string[] {
  if (!value.startsWith('[')) return value.split(':');
  const close = value.indexOf(']');
  if (close === -1 || (close + 1 < value.length && value[close + 1] !== ':')) {
    throw new ConfigError(key, value, expected);
  }
  const host = value.slice(1, close);
  const rest = value.slice(close + 2);
  return close + 1 === value.length ? [host] : [host, ...rest.split(':')];
}

const SERVER_FORMAT =
  'expected host:quorumPort:electionPort[:participant|:observer][;[clientAddress:]clientPort]';

/**
 * Parses a `server.N` line: its key (`server.` and a positive integer id) and its value.
 *
 * @throws {@link ConfigError} naming the key, with what was expected
 */
export function parseServerLine(key: string, value: string): ServerAddress {
  const idText = key.slice('server.'.length);
  if (
    !key.startsWith('server.') ||
    !/^\d+$/.test(idText) ||
    Number(idText) < 1 ||
    !Number.isSafeInteger(Number(idText))
  ) {
    throw new ConfigError(key, value, 'server id must be a positive integer');
  }
  const id = Number(idText);
  const parts = value.split(';');
  if (parts.length > 2)
    throw new ConfigError(key, value, `${SERVER_FORMAT}; secure client ports are unsupported`);
  const [serverPart = '', clientPart = ''] = parts.map((part) => part.trim());
  if (serverPart.includes('|')) {
    throw new ConfigError(key, value, `${SERVER_FORMAT}; multiple addresses are unsupported`);
  }
  const fields = splitHostAndPorts(key, serverPart, SERVER_FORMAT);
  if (fields.length < 3 || fields.length > 4) throw new ConfigError(key, value, SERVER_FORMAT);
  const [host = '', quorum = '', election = '', role] = fields;
  if (host === '') throw new ConfigError(key, value, SERVER_FORMAT);
  const quorumPort = parsePort(key, quorum, `quorum port must be 1..65535; ${SERVER_FORMAT}`);
  const electionPort = parsePort(key, election, `election port must be 1..65535; ${SERVER_FORMAT}`);
  if (quorumPort === electionPort) {
    throw new ConfigError(key, value, 'quorum and election ports must be different');
  }
  let server: ServerAddress = {
    id,
    host,
    quorumPort,
    electionPort,
    role: role === undefined ? 'participant' : parseRole(key, role),
  };
  if (clientPart !== '') {
    const client = splitHostAndPorts(key, clientPart, SERVER_FORMAT);
    if (client.length > 2) throw new ConfigError(key, value, SERVER_FORMAT);
    const clientAddress = client.length === 2 ? client[0]! : '0.0.0.0';
    if (clientAddress === '') throw new ConfigError(key, value, SERVER_FORMAT);
    const clientPort = parsePort(key, client.at(-1)!, `client port must be 1..65535; ${SERVER_FORMAT}`);
    server = { ...server, clientAddress, clientPort };
  }
  return server;
}
