/**
 * ZooKeeper's dynamic configuration files (3.5 and later): the membership kept apart from
 * zoo.cfg, in a file zoo.cfg names with `dynamicConfigFile=`, so that a reconfiguration can
 * replace it without touching the static settings.
 *
 * What ZooKeeper 3.8 does, and this module does the same way (QuorumPeerConfig and
 * QuorumPeer.setQuorumVerifier; golden files in test/fixtures/zookeeper-3.8-dynamic):
 * - the file holds `server.N=host:quorumPort:electionPort:role[;clientAddress:clientPort]` lines
 *   only, sorted as text, joined by newlines, with no final newline and no `version=` line;
 * - its version is the configuration's version (the zxid of the reconfig that made it) in hex,
 *   as the end of the file's name: `<zoo.cfg path>.dynamic.<hex version>`; a name without a
 *   hex suffix means version 0, and a file holding `version=` is refused;
 * - on each committed configuration the server writes a new such file and rewrites zoo.cfg:
 *   the `server.`, `group`, `weight`, `peerType` and old `dynamicConfigFile` keys go, and so do
 *   `clientPort` and `clientPortAddress` when this server's own line now gives its client
 *   address; a `dynamicConfigFile=<absolute path>` line is added at the end;
 * - `<zoo.cfg path>.dynamic.next` holds a proposed configuration not yet committed, with its
 *   `version=` line kept.
 * ZooKeeper rewrites zoo.cfg in java.util.Properties' hash order and drops its comments; zabkit
 * keeps the file's lines, comments and order, and changes only the lines named above.
 *
 * Parsing and formatting are pure; the file helpers at the end write atomically (a temporary
 * file, fsync, rename), so a crash leaves the old file or the new one, never half of one.
 *
 * @module
 */
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { EnsembleConfig } from '@zabkit/core';
import { ConfigError } from './config-error.js';
import { parseProperties } from './properties.js';
import { readOptionalTextFile } from './read-optional-file.js';
import { parseServerLine, type ServerAddress } from './server-line.js';

/** A membership as a dynamic configuration file holds it. */
export interface DynamicConfig {
  /** The members by id. */
  readonly servers: ReadonlyMap<number, ServerAddress>;
  /**
   * The configuration's version (the zxid of the reconfig that made it): from the file's name
   * for a `zoo.cfg.dynamic.<hex>` file, from its `version=` line for a `.dynamic.next` file or
   * `/zookeeper/config`'s text, else `undefined`.
   */
  readonly version: bigint | undefined;
}

/** How {@link parseDynamicConfig} reads a text. */
export interface ParseDynamicConfigOptions {
  /**
   * Whether a `version=` line may be there: true for `/zookeeper/config`'s text and a
   * `.dynamic.next` file, false (the default) for a `zoo.cfg.dynamic.<hex>` file, where
   * ZooKeeper refuses one ("dynamic file shouldn't have version inside").
   */
  readonly versionLine?: boolean;
  /** The version the file's name gives, used when there is no `version=` line. */
  readonly version?: bigint | undefined;
  /** The file's name, for error messages. */
  readonly source?: string;
}

/** The suffix of the file holding a proposed, not yet committed, configuration. */
export const nextDynamicConfigSuffix = '.dynamic.next';

const versionPattern = /^[0-9a-fA-F]{1,16}$/;

function parseVersion(key: string, value: string): bigint {
  if (!versionPattern.test(value)) throw new ConfigError(key, value, 'expected a hexadecimal version');
  return BigInt(`0x${value}`);
}

/**
 * Parses a dynamic configuration's text: `server.N` lines and, where allowed, `version=`.
 * Any other key is refused, as ZooKeeper refuses it ("Unrecognised parameter"); so are
 * hierarchical quorums (`group.N`, `weight.N`), which zabkit does not implement.
 *
 * @throws {@link ConfigError} naming the first key at fault
 */
export function parseDynamicConfig(text: string, options: ParseDynamicConfigOptions = {}): DynamicConfig {
  const servers = new Map<number, ServerAddress>();
  let version = options.version;
  let versionSeen = false;
  const where = options.source === undefined ? '' : ` in ${options.source}`;
  for (const { key, value } of parseProperties(text)) {
    if (key.startsWith('server.')) {
      const server = parseServerLine(key, value);
      if (servers.has(server.id)) throw new ConfigError(key, value, `duplicate server id ${server.id}`);
      servers.set(server.id, server);
    } else if (key === 'version') {
      if (options.versionLine !== true)
        throw new ConfigError(key, value, `a dynamic file holds no version${where}; its name gives it`);
      if (versionSeen) throw new ConfigError(key, value, `duplicate version line${where}`);
      versionSeen = true;
      version = parseVersion(key, value);
    } else if (key.startsWith('group') || key.startsWith('weight')) {
      throw new ConfigError(key, value, `hierarchical quorums are not supported${where}`);
    } else {
      throw new ConfigError(key, value, `unrecognised parameter${where}: only server.N lines belong here`);
    }
  }
  return { servers: new Map([...servers].sort(([a], [b]) => a - b)), version };
}

const bracketed = (host: string) => (host.includes(':') ? `[${host}]` : host);

/**
 * A member's line value as ZooKeeper's QuorumServer.toString writes it:
 * `host:quorumPort:electionPort:role`, then `;clientAddress:clientPort` when the line gave a
 * client port (a bare `;port` reads as address 0.0.0.0 and is written so).
 */
export function formatServerLine(server: ServerAddress): string {
  const quorum = `${bracketed(server.host)}:${server.quorumPort}:${server.electionPort}:${server.role}`;
  if (server.clientPort === undefined) return quorum;
  return `${quorum};${bracketed(server.clientAddress ?? '0.0.0.0')}:${server.clientPort}`;
}

/** Java's String.compareTo on the ASCII these lines hold: code unit order. */
const textOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The text of a dynamic configuration file, byte for byte as ZooKeeper's writeDynamicConfig
 * writes it: one `server.N=...` line per member, sorted as text (server.10 before server.2),
 * joined by newlines, no final newline. With `versionLine` (a `.dynamic.next` file), the
 * `version=<hex>` line is kept among them, sorted with the rest.
 */
export function formatDynamicConfig(config: DynamicConfig, options: { versionLine?: boolean } = {}): string {
  const lines = [...config.servers.values()].map(
    (server) => `server.${server.id}=${formatServerLine(server)}`,
  );
  if (options.versionLine === true && config.version !== undefined)
    lines.push(`version=${config.version.toString(16)}`);
  return lines.sort(textOrder).join('\n');
}

/** `<configPath>.dynamic.<hex version>`, the name ZooKeeper gives a committed configuration's file. */
export function dynamicConfigFileName(configPath: string, version: bigint): string {
  if (version < 0n) throw new RangeError(`a configuration version is not negative: ${version}`);
  return `${configPath}.dynamic.${version.toString(16)}`;
}

/**
 * The version a dynamic file's name gives (ZooKeeper's getVersionFromFilename): the text after
 * the last `.`, read as hex; `undefined` when that is not hex (`zoo.cfg.dynamic`), which
 * ZooKeeper takes as version 0.
 */
export function versionFromFileName(path: string): bigint | undefined {
  const name = basename(path);
  const dot = name.lastIndexOf('.');
  if (dot < 0) return undefined;
  const suffix = name.slice(dot + 1);
  return versionPattern.test(suffix) ? BigInt(`0x${suffix}`) : undefined;
}

/** zoo.cfg keys that move to the dynamic file (ZooKeeper's editStaticConfig drops them). */
function movesToDynamicFile(key: string): boolean {
  return (
    key.startsWith('server.') ||
    key.startsWith('group') ||
    key.startsWith('weight') ||
    key.startsWith('dynamicConfigFile') ||
    key.startsWith('peerType')
  );
}

/**
 * zoo.cfg's text after a configuration is committed (ZooKeeper's editStaticConfig): the lines
 * of keys that belong to the dynamic file are dropped, `clientPort` and `clientPortAddress` too
 * when `eraseClientPort` (this server's line in the new configuration gives its client address),
 * and `dynamicConfigFile=<dynamicFilePath>` is appended. Every other line, comments included,
 * stays as it was, in its place.
 */
export function rewriteStaticConfig(text: string, dynamicFilePath: string, eraseClientPort: boolean): string {
  const entries = new Map(parseProperties(text).map((entry) => [entry.line, entry.key]));
  const kept = text
    .split(/\r\n|\r|\n/)
    .filter((_line, index) => {
      const key = entries.get(index + 1);
      if (key === undefined) return true;
      if (movesToDynamicFile(key)) return false;
      return !(eraseClientPort && key.startsWith('clientPort'));
    })
    .join('\n');
  const body = kept.replace(/\n+$/, '');
  return `${body === '' ? '' : `${body}\n`}dynamicConfigFile=${dynamicFilePath}\n`;
}

/** Writes `text` to `path` through a temporary file in the same directory, fsynced, then renamed. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Writes a membership's text to `path` atomically (see writeAtomically), for the embedding API's kept membership. */
export function writeDynamicConfigText(path: string, text: string): Promise<void> {
  return writeAtomically(path, text);
}

/**
 * Reads a committed configuration's file, its version from its name.
 *
 * @throws {@link ConfigError} for content ZooKeeper would refuse; file system errors as thrown
 */
export async function readDynamicConfigFile(path: string): Promise<DynamicConfig> {
  const text = await readFile(path, 'utf8');
  return parseDynamicConfig(text, { version: versionFromFileName(path) ?? 0n, source: path });
}

/**
 * Reads `<configPath>.dynamic.next`, a proposed configuration with its `version=` line;
 * undefined when there is none.
 *
 * @throws {@link ConfigError} for content ZooKeeper would refuse; other file system errors as thrown
 */
export async function readNextDynamicConfigFile(configPath: string): Promise<DynamicConfig | undefined> {
  const path = `${configPath}${nextDynamicConfigSuffix}`;
  const text = await readOptionalTextFile(path);
  if (text === undefined) return undefined;
  return parseDynamicConfig(text, { versionLine: true, source: path });
}

/** What {@link writeDynamicConfigFiles} wrote. */
export interface WrittenDynamicConfig {
  /** The absolute path of the new `zoo.cfg.dynamic.<hex>` file. */
  readonly dynamicFile: string;
  /** zoo.cfg's new text. */
  readonly staticConfig: string;
}

/**
 * Keeps a committed configuration on disk as ZooKeeper does: writes
 * `<configPath>.dynamic.<hex version>`, then rewrites zoo.cfg to point at it (see
 * {@link rewriteStaticConfig}; `myid`'s line decides whether the client port keys go), then
 * removes a `.dynamic.next` file that held the same version. Each write is atomic.
 */
export async function writeDynamicConfigFiles(
  configPath: string,
  config: DynamicConfig & { readonly version: bigint },
  myid: number,
): Promise<WrittenDynamicConfig> {
  const dynamicFile = resolve(dynamicConfigFileName(configPath, config.version));
  await writeAtomically(dynamicFile, formatDynamicConfig(config));
  const self = config.servers.get(myid);
  const staticConfig = rewriteStaticConfig(
    await readFile(configPath, 'utf8'),
    dynamicFile,
    self?.clientPort !== undefined,
  );
  await writeAtomically(configPath, staticConfig);
  const next = `${configPath}${nextDynamicConfigSuffix}`;
  const proposed = await readOptionalTextFile(next);
  if (proposed !== undefined) {
    const version = (() => {
      try {
        return parseDynamicConfig(proposed, { versionLine: true }).version;
      } catch {
        return undefined;
      }
    })();
    if (version === undefined || version <= config.version) await rm(next, { force: true });
  }
  return { dynamicFile, staticConfig };
}

/**
 * Writes a proposed configuration to `<configPath>.dynamic.next`, its `version=` line kept, as
 * ZooKeeper's setLastSeenQuorumVerifier does, so that a server restarted in the middle of a
 * reconfiguration still knows it.
 */
export async function writeNextDynamicConfig(
  configPath: string,
  config: DynamicConfig & { readonly version: bigint },
): Promise<string> {
  const path = `${configPath}${nextDynamicConfigSuffix}`;
  await writeAtomically(path, formatDynamicConfig(config, { versionLine: true }));
  return path;
}

/**
 * A membership as core holds it (a peer's activated configuration), as a dynamic file holds
 * it: the same members, addresses and roles, the version the reconfig's zxid.
 */
export function dynamicConfigOf(config: EnsembleConfig): DynamicConfig & { readonly version: bigint } {
  const servers = new Map<number, ServerAddress>();
  for (const member of [...config.members].sort((a, b) => a.id - b.id)) {
    servers.set(member.id, {
      id: member.id,
      host: member.host,
      quorumPort: member.quorumPort,
      electionPort: member.electionPort,
      role: member.role,
      ...(member.client === undefined
        ? {}
        : { clientAddress: member.client.address, clientPort: member.client.port }),
    });
  }
  return { servers, version: config.version };
}

/**
 * What a server does when a configuration takes effect (a peer's `activatedConfig`), as
 * ZooKeeper's QuorumPeer.setQuorumVerifier does: writes `<configPath>.dynamic.<hex version>`
 * and points zoo.cfg at it (see {@link writeDynamicConfigFiles}).
 */
export function keepActivatedConfig(
  configPath: string,
  config: EnsembleConfig,
  myid: number,
): Promise<WrittenDynamicConfig> {
  return writeDynamicConfigFiles(configPath, dynamicConfigOf(config), myid);
}

/**
 * The copy `<configPath>.bak` ZooKeeper keeps at start when reconfiguration is enabled and
 * zoo.cfg itself lists the members (its backward compatibility mode): the file as the
 * operator wrote it, before the first rewrite. Returns the copy's path.
 */
export async function backupStaticConfig(configPath: string): Promise<string> {
  const backup = `${configPath}.bak`;
  await writeAtomically(backup, await readFile(configPath, 'utf8'));
  return backup;
}
