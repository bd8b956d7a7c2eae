/**
 * Parsing of ZooKeeper's `zoo.cfg` format into a typed, validated {@link ZabkitConfig}.
 *
 * The file format is what `java.util.Properties` accepts, minus escapes: `key=value`, `key:value` or
 * `key value` lines, `#` and `!` comment lines, blank lines, whitespace trimmed around key and value.
 * Backslash escapes and line continuations are not interpreted (a Windows path stays as written).
 *
 * Meanings, defaults and checks follow Apache ZooKeeper's `QuorumPeerConfig`, `QuorumPeer.QuorumServer`
 * and `FourLetterCommands`; where zabkit deviates (errors instead of silent fallbacks) the field's comment
 * says so. Settings ZooKeeper takes as Java system properties (`DigestAuthenticationProvider.superDigest`,
 * `forceSync`, `admin.*`, ...) come from zoo.cfg and from `-D` flags: see system-properties.ts.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { fourLetterWords } from '@zabkit/wire';
import { isClientAuthKey, jaasProperty } from './client-auth.js';
import {
  CLIENT_PORT_KEYS,
  CLIENT_PORT_PROPERTY_KEYS,
  type ClientPortSettings,
  isClientPortKey,
  parseClientPortSettings,
} from './client-port-config.js';
import { isReservedClientTlsKey } from './client-tls.js';
import { ConfigError } from './config-error.js';
import { type DynamicConfig, readDynamicConfigFile, readNextDynamicConfigFile } from './dynamic-config.js';
import {
  METRICS_KEYS,
  type MetricsSettings,
  PAUSE_MONITOR_KEYS,
  type PauseMonitorSettings,
  parseMetricsSettings,
  parsePauseMonitorSettings,
} from './metrics/config.js';
import { PEER_LINK_KEYS, type PeerLinkSettings, parsePeerLinkSettings } from './peer-link-config.js';
import { parseProperties } from './properties.js';
import {
  isQuorumSecurityKey,
  isReservedQuorumSecurityKey,
  parseQuorumSecurity,
  type QuorumSecuritySettings,
} from './quorum-security-config.js';
import { readOptionalTextFile } from './read-optional-file.js';
import { type MemberRole, parseRole, parseServerLine, type ServerAddress } from './server-line.js';
import { defaultStoreSettings, parseStoreSettings, STORE_KEYS, type StoreSettings } from './store-config.js';
import { parseSystemProperties, SYSTEM_PROPERTY_KEYS, type SystemProperties } from './system-properties.js';
import { parseTlsSettings, type TlsSettings } from './tls-settings.js';

/** Every four-letter-word command ZooKeeper knows, as accepted by `4lw.commands.whitelist`. */
export const FOUR_LETTER_WORDS: ReadonlySet<string> = fourLetterWords;

/** A fully parsed server configuration: every field has its default filled in. */
export interface ZabkitConfig {
  /** Milliseconds per tick. Default 3000, as in ZooKeeper 3.8 and 3.9 (zoo_sample.cfg sets 2000). */
  readonly tickTime: number;
  /** Ticks a follower may take to connect and sync to the leader. Required in an ensemble; 10 standalone. */
  readonly initLimit: number;
  /** Ticks a follower may lag behind the leader. Required in an ensemble; 5 standalone. */
  readonly syncLimit: number;
  /** Directory for snapshots (and the `myid` file). Required, as in ZooKeeper. */
  readonly dataDir: string;
  /** Directory for the transaction log; defaults to {@link ZabkitConfig.dataDir}. */
  readonly dataLogDir: string;
  /**
   * Port for client connections; `undefined` when neither `clientPort` nor this server's `server.N` line
   * sets one. Unlike ZooKeeper, 0 is accepted and means "any free port" (handy in tests).
   */
  readonly clientPort: number | undefined;
  /** Address to bind the client port to; `undefined` means all interfaces. Needs a client port. */
  readonly clientPortAddress: string | undefined;
  /** The ensemble members by id; empty for a standalone server. */
  readonly servers: ReadonlyMap<number, ServerAddress>;
  /**
   * The membership's version (the zxid of the reconfig that made it): the hex suffix of the
   * `zoo.cfg.dynamic.<version>` file it came from, 0 for `server.N` lines in zoo.cfg.
   */
  readonly configVersion: bigint;
  /** The file the membership came from (zoo.cfg's `dynamicConfigFile=`), if any. */
  readonly dynamicConfigFile: string | undefined;
  /**
   * A reconfig proposed and not yet committed when the server last ran: `<zoo.cfg>.dynamic.next`,
   * read as ZooKeeper's QuorumPeerConfig reads it (only beside a `dynamicConfigFile=`), its
   * version from its `version=` line. The peer counts it as proposed if its log ends before it.
   */
  readonly proposedConfig: (DynamicConfig & { readonly version: bigint }) | undefined;
  /**
   * The zoo.cfg this configuration was read from, if it came from a file: where a server that
   * is reconfigured keeps `zoo.cfg.dynamic.<version>` files and which it rewrites to name them.
   */
  readonly configFile: string | undefined;
  /** This server's id: required (and one of {@link ZabkitConfig.servers}) in an ensemble. */
  readonly myid: number | undefined;
  /** This server's role; taken from its `server.N` line when that disagrees with `peerType` (with a warning). */
  readonly peerType: MemberRole;
  /** ZooKeeper's `standaloneEnabled` (default true). */
  readonly standaloneEnabled: boolean;
  /** Concurrent connections allowed per client IP; 0 means unlimited. Default 60. */
  readonly maxClientCnxns: number;
  /** Smallest session timeout granted, in ms. Default `2 * tickTime`. */
  readonly minSessionTimeout: number;
  /** Largest session timeout granted, in ms; at least {@link ZabkitConfig.minSessionTimeout}. Default `20 * tickTime`. */
  readonly maxSessionTimeout: number;
  /** Transactions logged between snapshots. Default 100000. */
  readonly snapCount: number;
  /** `autopurge.snapRetainCount`: snapshots kept by autopurge, at least 3 (smaller values are raised). Default 3. */
  readonly snapRetainCount: number;
  /**
   * `autopurge.purgeInterval`: hours between purges. Not set (the default): zabkit purges after
   * each snapshot, keeping `snapRetainCount` snapshots, so the disk stays bounded with no
   * configuration. 0: no purge at all, as in ZooKeeper (an operator purges). N: at most one
   * purge every N hours.
   */
  readonly purgeIntervalHours: number | undefined;
  /** `jute.maxbuffer`: largest record in bytes, given in decimal or `0x` hex. Default 0xfffff. */
  readonly juteMaxBuffer: number;
  /**
   * `4lw.commands.whitelist`: enabled four-letter words, or `'all'` for `*`. As in ZooKeeper, `srvr` is always
   * enabled, so the default is the set `{srvr}`.
   */
  readonly fourLetterWords: ReadonlySet<string> | 'all';
  /** The client port's limits (globalOutstandingLimit, maxCnxns, ...): see client-port-config.ts. */
  readonly clientPortSettings: ClientPortSettings;
  /** Learner sync chunks and window, the peer links' frame cap (zabkit.sync*, zabkit.peerMaxFrameBytes): see peer-link-config.ts. */
  readonly peerLinks: PeerLinkSettings;
  /** The LevelDB store's value log (zabkit.valueLogThresholdBytes): see store-config.ts. */
  readonly store: StoreSettings;
  /** How peers authenticate each other (sslQuorum, ssl.quorum.*, zabkit.quorum.*): see quorum-security-config.ts. */
  readonly quorumSecurity: QuorumSecuritySettings;
  /** What ZooKeeper reads as system properties (superDigest, forceSync, admin.*, ...): see system-properties.ts. */
  readonly systemProperties: SystemProperties;
  /**
   * The admin server's TLS stores (`ssl.quorum.*`, as ZooKeeper's AdminServer reads them), when
   * `admin.forceHttps` or `admin.portUnification` asks for HTTPS.
   */
  readonly adminTls: TlsSettings | undefined;
  /** The Prometheus endpoint (`metricsProvider.*`), when one is asked for: see metrics/config.ts. */
  readonly metrics: MetricsSettings | undefined;
  /** The pause monitor (`jvm.pause.*`), when `jvm.pause.monitor=true`: see metrics/config.ts. */
  readonly pauseMonitor: PauseMonitorSettings | undefined;
}

/** Options for {@link parseConfig}. */
export interface ParseConfigOptions {
  /** This server's id (ZooKeeper reads it from `<dataDir>/myid`); required when `server.N` lines are present. */
  readonly myid?: number;
  /**
   * `-D<name>=<value>` flags, as a JVM takes them: `jute.maxbuffer`, and `zookeeper.<key>` for
   * any zoo.cfg key ZooKeeper also reads as a system property. zoo.cfg wins where both set
   * one, as in ZooKeeper, except jute.maxbuffer, which ZooKeeper reads from the command line alone.
   */
  readonly systemProperties?: ReadonlyMap<string, string>;
  /**
   * The membership the file zoo.cfg names with `dynamicConfigFile=` holds, as read
   * ({@link loadConfigFile} reads it): then the servers and the configuration's version come
   * from it, and zoo.cfg may hold no `server.N` line.
   */
  readonly dynamicConfig?: DynamicConfig;
  /**
   * The proposed configuration `<zoo.cfg>.dynamic.next` holds, as read ({@link loadConfigFile}
   * reads it when zoo.cfg names a `dynamicConfigFile=`); one without a version is ignored.
   */
  readonly nextDynamicConfig?: DynamicConfig;
  /** The path the text was read from ({@link loadConfigFile} gives it): see {@link ZabkitConfig.configFile}. */
  readonly configFile?: string;
}

/** What {@link parseConfig} returns: the config and any non-fatal findings. */
export interface ParsedConfig {
  /** The validated configuration with defaults filled in. */
  readonly config: ZabkitConfig;
  /** Human-readable warnings: unknown keys, duplicate keys, clamped values, non-optimal ensembles. */
  readonly warnings: string[];
}

export { ConfigError } from './config-error.js';
export { type PropertyEntry, parseProperties } from './properties.js';
export type { MemberRole, ServerAddress } from './server-line.js';

const INT32_MAX = 2 ** 31 - 1;
const DEFAULT_TICK_TIME = 3000;
const MIN_SNAP_RETAIN_COUNT = 3;

const KNOWN_KEYS: ReadonlySet<string> = new Set([
  'tickTime',
  'initLimit',
  'syncLimit',
  'dataDir',
  'dataLogDir',
  'clientPort',
  'clientPortAddress',
  'maxClientCnxns',
  'minSessionTimeout',
  'maxSessionTimeout',
  'snapCount',
  'autopurge.snapRetainCount',
  'autopurge.purgeInterval',
  'jute.maxbuffer',
  '4lw.commands.whitelist',
  'dynamicConfigFile',
  'peerType',
  'standaloneEnabled',
  ...CLIENT_PORT_KEYS,
  ...PEER_LINK_KEYS,
  ...STORE_KEYS,
  ...SYSTEM_PROPERTY_KEYS,
  ...METRICS_KEYS,
  ...PAUSE_MONITOR_KEYS,
]);

/** Parses a Java-`int`-sized decimal integer (optional sign) within [min, max], else throws for `key`. */
function parseInteger(key: string, value: string, min: number, max: number, expected: string): number {
  if (!/^[+-]?\d+$/.test(value)) throw new ConfigError(key, value, expected);
  const parsed = Number(value) || 0; // `|| 0` turns -0 into 0
  if (parsed < min || parsed > max) throw new ConfigError(key, value, expected);
  return parsed;
}

const positive = (key: string, value: string) =>
  parseInteger(key, value, 1, INT32_MAX, 'expected a positive integer');
/** How a store purges, from `autopurge.purgeInterval` (see {@link ZabkitConfig.purgeIntervalHours}). */
export interface PurgePolicy {
  /** False: purges are never carried out (`autopurge.purgeInterval=0`, as in ZooKeeper). */
  readonly autoPurge: boolean;
  /** Least time between two purges; 0 purges after every snapshot. */
  readonly purgeIntervalMs: number;
}

/**
 * `autopurge.purgeInterval=0` means no purge, as in ZooKeeper; not set, a purge follows each
 * snapshot so the zero-config disk stays bounded; N hours spaces purges at least that far apart.
 */
export function purgePolicyOf(config: Pick<ZabkitConfig, 'purgeIntervalHours'>): PurgePolicy {
  const hours = config.purgeIntervalHours;
  return { autoPurge: hours !== 0, purgeIntervalMs: (hours ?? 0) * 3_600_000 };
}

const nonNegative = (key: string, value: string) =>
  parseInteger(key, value, 0, INT32_MAX, 'expected a non-negative integer');

/** `jute.maxbuffer`: decimal, or hex with `0x`/`0X`/`#` as Java's `Integer.decode` (leading zeros stay decimal). */
function parseJuteMaxBuffer(key: string, value: string): number {
  const expected = 'expected a positive integer, decimal or 0x hex';
  const hex = /^(?:0[xX]|#)([0-9a-fA-F]+)$/.exec(value);
  if (hex === null) return parseInteger(key, value, 1, INT32_MAX, expected);
  const parsed = Number.parseInt(hex[1]!, 16);
  if (parsed < 1 || parsed > INT32_MAX) throw new ConfigError(key, value, expected);
  return parsed;
}

/** Java's `Boolean`-style parse as ZooKeeper's `parseBoolean`: `true`/`false`, any case, else an error. */
function parseBoolean(key: string, value: string): boolean {
  const lower = value.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw new ConfigError(key, value, 'expected true or false');
}

function parseWhitelist(key: string, value: string): ReadonlySet<string> | 'all' {
  const words = new Set<string>(['srvr']);
  for (const raw of value.split(',')) {
    const word = raw.trim();
    if (word === '*') return 'all';
    if (word === '') continue;
    if (!FOUR_LETTER_WORDS.has(word)) {
      throw new ConfigError(
        key,
        value,
        `unknown four-letter word "${word}"; expected * or a comma list of ${[...FOUR_LETTER_WORDS].join(' ')}`,
      );
    }
    words.add(word);
  }
  return words;
}

const WILDCARD_ADDRESSES: ReadonlySet<string> = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0']);

/**
 * Parses `zoo.cfg` text into a validated {@link ZabkitConfig}. Pure: no file system access.
 *
 * @param text - the file contents
 * @param options - `myid`, required when the text lists `server.N` lines
 * @returns the config plus warnings for unknown or duplicated keys and for values ZooKeeper would adjust
 * @throws {@link ConfigError} naming the key of the first invalid or missing value
 */
export function parseConfig(text: string, options: ParseConfigOptions = {}): ParsedConfig {
  const warnings: string[] = [];
  const values = new Map<string, string>();
  const serverLines = new Map<number, ServerAddress>();

  for (const { key, value, line } of parseProperties(text)) {
    if (key.startsWith('server.')) {
      const server = parseServerLine(key, value);
      if (serverLines.has(server.id)) throw new ConfigError(key, value, `duplicate server id ${server.id}`);
      serverLines.set(server.id, server);
    } else if (KNOWN_KEYS.has(key) || isQuorumSecurityKey(key) || isClientPortKey(key)) {
      if (values.has(key)) warnings.push(`duplicate key ${key} (line ${line}); the last value wins`);
      values.set(key, value);
    } else if (isReservedQuorumSecurityKey(key)) {
      throw new ConfigError(key, value, 'unknown quorum security key; it cannot be honoured');
    } else if (isReservedClientTlsKey(key)) {
      throw new ConfigError(key, value, 'unknown client TLS key; it cannot be honoured');
    } else {
      const bare = key.startsWith('zookeeper.') ? key.slice('zookeeper.'.length) : undefined;
      // ZooKeeper makes this the system property zookeeper.zookeeper.<bare>, which nothing reads.
      const hint =
        bare !== undefined && KNOWN_KEYS.has(bare)
          ? ` (ZooKeeper ignores it too; did you mean ${bare}= here, or -D${key}= on the command line?)`
          : '';
      warnings.push(`unknown key ${key} (line ${line}) ignored${hint}`);
    }
  }
  applyCommandLine(values, options.systemProperties, warnings);
  const dynamic = dynamicMembership(values.get('dynamicConfigFile'), serverLines, options.dynamicConfig);

  const get = (key: string) => values.get(key);

  const optional = <T>(key: string, parse: (key: string, value: string) => T): T | undefined => {
    const value = get(key);
    return value === undefined ? undefined : parse(key, value);
  };
  const dataDir = get('dataDir');
  if (dataDir === undefined || dataDir === '') throw new ConfigError('dataDir', dataDir, 'is not set');
  const dataLogDir = get('dataLogDir');
  if (dataLogDir === '') throw new ConfigError('dataLogDir', dataLogDir, 'expected a directory path');
  const clientPortAddress = get('clientPortAddress');
  if (clientPortAddress === '')
    throw new ConfigError('clientPortAddress', '', 'expected a host name or address');
  if (!isAbsolute(dataDir)) warnings.push(`dataDir ${dataDir} is a relative path`);
  const servers = dynamic?.servers ?? serverLines;
  const ids = new Set(servers.keys());
  const input: ConfigInput = {
    dataDir,
    myid: options.myid,
    servers,
    configVersion: dynamic?.version,
    dynamicConfigFile: values.get('dynamicConfigFile'),
    proposedConfig: proposedConfigOf(dynamic, options.nextDynamicConfig),
    configFile: options.configFile,
    tickTime: optional('tickTime', positive),
    dataLogDir,
    clientPort: optional('clientPort', (key, value) =>
      parseInteger(key, value, 0, 65535, 'expected a port 0..65535, 0 for any free port'),
    ),
    clientPortAddress,
    maxClientCnxns: optional('maxClientCnxns', nonNegative),
    minSessionTimeout: optional('minSessionTimeout', positive),
    maxSessionTimeout: optional('maxSessionTimeout', positive),
    snapCount: optional('snapCount', positive),
    snapRetainCount: optional('autopurge.snapRetainCount', (key, value) =>
      parseInteger(key, value, -INT32_MAX - 1, INT32_MAX, 'expected an integer'),
    ),
    purgeIntervalHours: optional('autopurge.purgeInterval', nonNegative),
    juteMaxBuffer: optional('jute.maxbuffer', parseJuteMaxBuffer),
    fourLetterWords: optional('4lw.commands.whitelist', parseWhitelist),
    peerType: optional('peerType', parseRole),
    standaloneEnabled: optional('standaloneEnabled', parseBoolean),
    initLimit: optional('initLimit', positive),
    syncLimit: optional('syncLimit', positive),
    clientPortSettings: parseClientPortSettings({
      get,
      error: (key, value, expected) => new ConfigError(key, value, expected),
      warnings,
      keys: values.keys(),
      jaasFile: options.systemProperties?.get(jaasProperty),
    }),
    peerLinks: parsePeerLinkSettings(
      { get, error: (key, value, expected) => new ConfigError(key, value, expected), warnings },
      optional('jute.maxbuffer', parseJuteMaxBuffer) ?? 0xfffff,
    ),
    store: parseStoreSettings({
      get,
      error: (key, value, expected) => new ConfigError(key, value, expected),
      warnings,
    }),
    quorumSecurity: parseQuorumSecurity({ get, keys: () => values.keys() }, ids, warnings),
    systemProperties: parseSystemProperties(
      { get, error: (key, value, expected) => new ConfigError(key, value, expected) },
      warnings,
    ),
  };
  const metrics = parseMetricsSettings(
    { get, error: (key, value, expected) => new ConfigError(key, value, expected) },
    warnings,
  );
  const pauseMonitor = parsePauseMonitorSettings(
    { get, error: (key, value, expected) => new ConfigError(key, value, expected) },
    warnings,
  );
  // The admin server's stores come from zoo.cfg's ssl.quorum.* keys, read here with the file.
  const adminTls = adminTlsSettings(
    input.systemProperties!,
    input.quorumSecurity!.tls,
    { get, keys: () => values.keys() },
    warnings,
  );
  return { config: resolveConfig({ ...input, metrics, pauseMonitor, adminTls }, warnings), warnings };
}

/**
 * The membership a `dynamicConfigFile=` key names, as ZooKeeper's QuorumPeerConfig takes it:
 * zoo.cfg may then hold no `server.N` line ("must be in a separate dynamic config file"), and
 * the file must have been read. `undefined` when zoo.cfg names no such file.
 */
function dynamicMembership(
  path: string | undefined,
  serverLines: ReadonlyMap<number, ServerAddress>,
  given: DynamicConfig | undefined,
): DynamicConfig | undefined {
  if (path === undefined) return undefined;
  if (path === '') throw new ConfigError('dynamicConfigFile', path, 'expected a file path');
  const first = serverLines.keys().next();
  if (!first.done)
    throw new ConfigError(
      `server.${first.value}`,
      undefined,
      'must be in the dynamic config file, as zoo.cfg names one (dynamicConfigFile)',
    );
  if (given === undefined)
    throw new ConfigError(
      'dynamicConfigFile',
      path,
      'was not read: loadConfigFile reads it, or pass dynamicConfig',
    );
  return given;
}

/**
 * The proposal a `.dynamic.next` file holds, when it is newer than the membership in force
 * (ZooKeeper keeps an older one as its last seen configuration, where it changes nothing).
 */
function proposedConfigOf(
  inForce: DynamicConfig | undefined,
  next: DynamicConfig | undefined,
): (DynamicConfig & { readonly version: bigint }) | undefined {
  const version = next?.version;
  if (next === undefined || version === undefined || version <= (inForce?.version ?? 0n)) return undefined;
  return { servers: next.servers, version };
}

/**
 * A configuration as given, before defaults: what zoo.cfg's keys parse into and what the
 * embedding API's options become. Every setting but `dataDir` may be left out; the names are
 * ZabkitConfig's (zoo.cfg's, where zoo.cfg has the setting).
 */
export interface ConfigInput {
  /** Directory for snapshots (and the `myid` file). */
  readonly dataDir: string;
  /** This server's id; required with {@link ConfigInput.servers}. */
  readonly myid?: number | undefined;
  /** The ensemble's members by id; empty or left out for a standalone server. */
  readonly servers?: ReadonlyMap<number, ServerAddress>;
  /** The membership's version; 0 when left out. */
  readonly configVersion?: bigint | undefined;
  /** Where the membership was read from, when a dynamic configuration file gave it. */
  readonly dynamicConfigFile?: string | undefined;
  /** A proposed configuration read from `.dynamic.next` (see {@link ZabkitConfig.proposedConfig}). */
  readonly proposedConfig?: (DynamicConfig & { readonly version: bigint }) | undefined;
  /** The zoo.cfg the settings were read from, if any. */
  readonly configFile?: string | undefined;
  readonly tickTime?: number | undefined;
  readonly initLimit?: number | undefined;
  readonly syncLimit?: number | undefined;
  readonly dataLogDir?: string | undefined;
  readonly clientPort?: number | undefined;
  readonly clientPortAddress?: string | undefined;
  readonly maxClientCnxns?: number | undefined;
  readonly minSessionTimeout?: number | undefined;
  readonly maxSessionTimeout?: number | undefined;
  readonly snapCount?: number | undefined;
  readonly snapRetainCount?: number | undefined;
  readonly purgeIntervalHours?: number | undefined;
  readonly juteMaxBuffer?: number | undefined;
  readonly fourLetterWords?: ReadonlySet<string> | 'all' | undefined;
  readonly peerType?: MemberRole | undefined;
  readonly standaloneEnabled?: boolean | undefined;
  readonly clientPortSettings?: ClientPortSettings | undefined;
  /** The peer links' sync chunk, sync window and frame cap (`zabkit.sync*`, `zabkit.peerMaxFrameBytes`). */
  readonly peerLinks?: PeerLinkSettings | undefined;
  /** The store's value log (`zabkit.valueLogThresholdBytes`); default off. */
  readonly store?: StoreSettings | undefined;
  readonly quorumSecurity?: QuorumSecuritySettings | undefined;
  readonly systemProperties?: SystemProperties | undefined;
  /** The admin server's HTTPS stores; worked out from systemProperties and quorumSecurity when left out. */
  readonly adminTls?: TlsSettings | undefined;
  /** The Prometheus endpoint (`metricsProvider.*`); none when left out. */
  readonly metrics?: MetricsSettings | undefined;
  /** The pause monitor (`jvm.pause.*`); off when left out. */
  readonly pauseMonitor?: PauseMonitorSettings | undefined;
}

/** Checks a number given in code as parseInteger checks one read from zoo.cfg. */
function checkInteger(key: string, value: number | undefined, min: number, max: number, expected: string) {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max)
    throw new ConfigError(key, String(value), expected);
}

/** A settings source with no key set: every setting at its default; what it warns is dropped. */
const noSettings = () => ({
  warnings: [] as string[],
  get: () => undefined,
  error: (key: string, value: string | undefined, expected: string) => new ConfigError(key, value, expected),
});

/** The whitelist as given in code, checked as zoo.cfg's is: known words only, srvr always on. */
function fourLetterWordsOf(given: ReadonlySet<string> | 'all' | undefined): ReadonlySet<string> | 'all' {
  if (given === 'all') return 'all';
  const words = new Set(['srvr']);
  for (const word of given ?? []) {
    if (!FOUR_LETTER_WORDS.has(word))
      throw new ConfigError(
        '4lw.commands.whitelist',
        word,
        `unknown four-letter word; expected * or some of ${[...FOUR_LETTER_WORDS].join(' ')}`,
      );
    words.add(word);
  }
  return words;
}

/**
 * Fills in every default of a configuration and checks it whole, as ZooKeeper's
 * QuorumPeerConfig does: the one place both zoo.cfg and the embedding API's options go
 * through, so that a setting means the same and is checked the same either way.
 *
 * @throws {@link ConfigError} naming the first setting at fault (zoo.cfg's name for it)
 */
export function resolveConfig(input: ConfigInput, warnings: string[]): ZabkitConfig {
  const { dataDir } = input;
  if (dataDir === '') throw new ConfigError('dataDir', dataDir, 'is not set');
  if (input.dataLogDir === '') throw new ConfigError('dataLogDir', '', 'expected a directory path');
  if (input.clientPortAddress === '')
    throw new ConfigError('clientPortAddress', '', 'expected a host name or address');
  const positiveInt = 'expected a positive integer';
  const nonNegativeInt = 'expected a non-negative integer';
  for (const key of [
    'tickTime',
    'minSessionTimeout',
    'maxSessionTimeout',
    'snapCount',
    'initLimit',
    'syncLimit',
    'juteMaxBuffer',
  ] as const)
    checkInteger(key === 'juteMaxBuffer' ? 'jute.maxbuffer' : key, input[key], 1, INT32_MAX, positiveInt);
  checkInteger('maxClientCnxns', input.maxClientCnxns, 0, INT32_MAX, nonNegativeInt);
  checkInteger('autopurge.purgeInterval', input.purgeIntervalHours, 0, INT32_MAX, nonNegativeInt);
  checkInteger(
    'autopurge.snapRetainCount',
    input.snapRetainCount,
    -INT32_MAX - 1,
    INT32_MAX,
    'expected an integer',
  );
  checkInteger('clientPort', input.clientPort, 0, 65535, 'expected a port 0..65535, 0 for any free port');
  const serverLines = input.servers ?? new Map<number, ServerAddress>();
  const tickTime = input.tickTime ?? DEFAULT_TICK_TIME;
  const dataLogDir = input.dataLogDir ?? dataDir;
  let clientPort = input.clientPort;
  let clientPortAddress = input.clientPortAddress;

  const maxClientCnxns = input.maxClientCnxns ?? 60;
  const minSessionTimeout = input.minSessionTimeout ?? 2 * tickTime;
  const maxSessionTimeout = input.maxSessionTimeout ?? 20 * tickTime;
  if (minSessionTimeout > maxSessionTimeout) {
    const key = input.minSessionTimeout !== undefined ? 'minSessionTimeout' : 'maxSessionTimeout';
    throw new ConfigError(
      key,
      String(key === 'minSessionTimeout' ? minSessionTimeout : maxSessionTimeout),
      `minSessionTimeout ${minSessionTimeout} must not be larger than maxSessionTimeout ${maxSessionTimeout}`,
    );
  }
  const snapCount = input.snapCount ?? 100_000;
  let snapRetainCount = input.snapRetainCount ?? MIN_SNAP_RETAIN_COUNT;
  if (snapRetainCount < MIN_SNAP_RETAIN_COUNT) {
    warnings.push(
      `invalid autopurge.snapRetainCount: ${snapRetainCount}; defaulting to ${MIN_SNAP_RETAIN_COUNT}`,
    );
    snapRetainCount = MIN_SNAP_RETAIN_COUNT;
  }
  const purgeIntervalHours = input.purgeIntervalHours;
  const juteMaxBuffer = input.juteMaxBuffer ?? 0xfffff;
  const systemProperties = input.systemProperties ?? parseSystemProperties(noSettings(), []);
  const fourLetterWords = fourLetterWordsOf(input.fourLetterWords);
  let peerType = input.peerType ?? 'participant';
  const standaloneEnabled = input.standaloneEnabled ?? true;

  const ensemble = serverLines.size > 0;
  const initLimit = input.initLimit ?? (ensemble ? 0 : 10);
  const syncLimit = input.syncLimit ?? (ensemble ? 0 : 5);
  const myid = input.myid;
  if (myid !== undefined && (!Number.isSafeInteger(myid) || myid < 1)) {
    throw new ConfigError('myid', String(myid), 'expected a positive integer');
  }

  if (ensemble) {
    if (initLimit === 0)
      throw new ConfigError('initLimit', undefined, 'is not set (required with server.N lines)');
    if (syncLimit === 0)
      throw new ConfigError('syncLimit', undefined, 'is not set (required with server.N lines)');
    const ids = [...serverLines.keys()].join(', ');
    if (myid === undefined) throw new ConfigError('myid', undefined, `is not set; expected one of ${ids}`);
    const self = serverLines.get(myid);
    if (self === undefined)
      throw new ConfigError('myid', String(myid), `expected one of the server ids ${ids}`);

    const participants = [...serverLines.values()].filter((server) => server.role === 'participant').length;
    if (participants === 0) {
      const first = [...serverLines.keys()][0]!;
      throw new ConfigError(`server.${first}`, undefined, 'is an observer, but no server is a participant');
    }
    if (participants <= 2)
      warnings.push('no server failure will be tolerated: you need at least 3 participants');
    else if (participants % 2 === 0)
      warnings.push('non-optimal configuration: consider an odd number of participants');

    if (input.peerType !== undefined && peerType !== self.role) {
      warnings.push(`peerType ${peerType} does not match server.${myid} (${self.role}); using ${self.role}`);
    }
    peerType = self.role;

    if (self.clientPort !== undefined) {
      if (clientPort !== undefined && clientPort !== self.clientPort) {
        throw new ConfigError(
          'clientPort',
          String(clientPort),
          `differs from server.${myid} client port ${self.clientPort}`,
        );
      }
      if (
        clientPortAddress !== undefined &&
        !WILDCARD_ADDRESSES.has(clientPortAddress) &&
        clientPortAddress !== self.clientAddress
      ) {
        throw new ConfigError(
          'clientPortAddress',
          clientPortAddress,
          `differs from server.${myid} client address ${self.clientAddress}`,
        );
      }
      clientPort = self.clientPort;
      clientPortAddress = self.clientAddress;
    }
  }
  if (clientPortAddress !== undefined && clientPort === undefined) {
    throw new ConfigError('clientPortAddress', clientPortAddress, 'clientPort is not set');
  }

  const quorumSecurity =
    input.quorumSecurity ??
    parseQuorumSecurity({ get: () => undefined, keys: () => [] }, new Set(serverLines.keys()), warnings);
  if (!ensemble && (quorumSecurity.tls !== undefined || quorumSecurity.secretFile !== undefined)) {
    warnings.push('sslQuorum and zabkit.quorum.secretFile have no effect on a standalone server');
  }

  return {
    tickTime,
    initLimit,
    syncLimit,
    dataDir,
    dataLogDir,
    clientPort,
    clientPortAddress,
    servers: new Map([...serverLines].sort(([a], [b]) => a - b)),
    configVersion: input.configVersion ?? 0n,
    dynamicConfigFile: input.dynamicConfigFile,
    proposedConfig: input.proposedConfig,
    configFile: input.configFile,
    myid,
    peerType,
    standaloneEnabled,
    maxClientCnxns,
    minSessionTimeout,
    maxSessionTimeout,
    snapCount,
    snapRetainCount,
    purgeIntervalHours,
    juteMaxBuffer,
    // As ZooKeeper (3.8 and 3.9): with read-only mode on, isro is always whitelisted.
    fourLetterWords:
      systemProperties.readOnlyModeEnabled && fourLetterWords !== 'all'
        ? new Set([...fourLetterWords, 'isro'])
        : fourLetterWords,
    clientPortSettings: input.clientPortSettings ?? parseClientPortSettings(noSettings()),
    peerLinks: input.peerLinks ?? parsePeerLinkSettings(noSettings(), juteMaxBuffer),
    store: input.store ?? defaultStoreSettings,
    quorumSecurity,
    systemProperties,
    // Given (parseConfig reads it from zoo.cfg's ssl.quorum.* keys), else from quorumSecurity's TLS.
    adminTls:
      'adminTls' in input
        ? input.adminTls
        : adminTlsSettings(
            systemProperties,
            quorumSecurity.tls,
            { get: () => undefined, keys: () => [] },
            warnings,
          ),
    metrics: input.metrics,
    pauseMonitor: input.pauseMonitor,
  };
}

/**
 * The admin server's TLS: ZooKeeper's AdminServer reads the ssl.quorum.* stores whether or not
 * sslQuorum is on, so they are read here for it when admin.forceHttps or
 * admin.portUnification asks for HTTPS (and no longer reported as ignored).
 */
function adminTlsSettings(
  properties: SystemProperties,
  quorumTls: TlsSettings | undefined,
  source: { get(key: string): string | undefined; keys(): Iterable<string> },
  warnings: string[],
): TlsSettings | undefined {
  const admin = properties.adminServer;
  if (!admin.forceHttps && !admin.portUnification) {
    if (admin.needClientAuth)
      warnings.push('admin.needClientAuth has no effect without admin.forceHttps or admin.portUnification');
    return undefined;
  }
  const tls = quorumTls ?? parseTlsSettings(source, 'ssl.quorum.');
  for (const [key, what] of [
    ['ssl.quorum.keyStore.location', tls.keyStore],
    ['ssl.quorum.trustStore.location', tls.trustStore],
  ] as const) {
    if (what === undefined)
      throw new ConfigError(key, undefined, "is not set (the admin server's HTTPS needs it)");
  }
  const ignored = warnings.findIndex((warning) => warning.endsWith('ignored: sslQuorum is not true'));
  if (ignored >= 0) warnings.splice(ignored, 1);
  return tls;
}

/**
 * The zoo.cfg keys ZooKeeper also reads as the system property `zookeeper.<key>`, so a `-D`
 * flag may set them: the four-letter-word whitelist, the client port's ZooKeeper limits and
 * system-properties.ts's keys (reconfigEnabled aside, a QuorumPeerConfig key).
 */
const PROPERTY_KEYS: ReadonlySet<string> = new Set([
  '4lw.commands.whitelist',
  ...CLIENT_PORT_PROPERTY_KEYS,
  ...[...SYSTEM_PROPERTY_KEYS].filter((key) => key !== 'reconfigEnabled'),
]);

/**
 * System properties ZooKeeper reads under their bare names, so only a `-D` flag sets them (a
 * zoo.cfg key becomes `zookeeper.<key>`, which nothing reads): the container and TTL check
 * interval, and read-only mode.
 */
const COMMAND_LINE_ONLY_PROPERTIES: ReadonlySet<string> = new Set([
  'znode.container.checkIntervalMs',
  'readonlymode.enabled',
]);

/**
 * Folds `-D` flags into zoo.cfg's values: `-Djute.maxbuffer` replaces zoo.cfg's (ZooKeeper
 * reads it from the command line alone), `-Dzookeeper.<key>` fills in a key zoo.cfg does
 * not set (zoo.cfg wins, as in ZooKeeper). Anything else is warned about and ignored.
 */
function applyCommandLine(
  values: Map<string, string>,
  properties: ReadonlyMap<string, string> | undefined,
  warnings: string[],
): void {
  for (const [name, value] of properties ?? []) {
    if (COMMAND_LINE_ONLY_PROPERTIES.has(name)) {
      values.set(name, value);
      continue;
    }
    if (name === 'jute.maxbuffer') {
      const fromFile = values.get(name);
      if (fromFile !== undefined && fromFile !== value)
        warnings.push(
          `-Djute.maxbuffer=${value} replaces zoo.cfg's ${fromFile}, as ZooKeeper reads only the command line's`,
        );
      values.set(name, value);
      continue;
    }
    // The JVM's own property for the JAAS file (SASL users): client-auth.ts reads it.
    if (name === jaasProperty) continue;
    const key = name.startsWith('zookeeper.') ? name.slice('zookeeper.'.length) : undefined;
    if (key === undefined || !(PROPERTY_KEYS.has(key) || isClientAuthKey(key))) {
      const hint =
        key !== undefined && KNOWN_KEYS.has(key) ? `; ZooKeeper reads ${key} from zoo.cfg only` : '';
      warnings.push(`unknown system property -D${name} ignored${hint}`);
      continue;
    }
    const fromFile = values.get(key);
    if (fromFile === undefined) values.set(key, value);
    else if (fromFile !== value)
      warnings.push(`-D${name}=${value} ignored: zoo.cfg sets ${key}=${fromFile}, which wins`);
  }
}

/**
 * Reads `<dataDir>/myid` as ZooKeeper does (first line, a positive integer).
 *
 * @returns the id, or `undefined` when the file does not exist (a standalone server needs none)
 * @throws {@link ConfigError} with key `myid` when the file's content is not a positive integer
 */
export async function readMyId(dataDir: string): Promise<number | undefined> {
  const text = await readOptionalTextFile(join(dataDir, 'myid'));
  if (text === undefined) return undefined;
  const first = text.split(/\r?\n/, 1)[0]!.trim();
  return parseInteger('myid', first, 1, Number.MAX_SAFE_INTEGER, 'expected a positive integer');
}

/**
 * Reads and parses a `zoo.cfg` file. When `options.myid` is not given, the id is read from
 * `<dataDir>/myid` (if that file exists), as ZooKeeper does. When zoo.cfg names a
 * `dynamicConfigFile=` (a relative path is taken from the working directory, as ZooKeeper
 * takes it), the membership and its version are read from that file.
 *
 * @throws {@link ConfigError} for invalid content; file system errors as thrown by `node:fs/promises`
 */
export async function loadConfigFile(path: string, options: ParseConfigOptions = {}): Promise<ParsedConfig> {
  const text = await readFile(path, 'utf8');
  const entries = parseProperties(text);
  let myid = options.myid;
  if (myid === undefined) {
    const dataDir = entries.findLast((entry) => entry.key === 'dataDir')?.value;
    if (dataDir) myid = await readMyId(dataDir);
  }
  const dynamicFile = entries.findLast((entry) => entry.key === 'dynamicConfigFile')?.value;
  const dynamicConfig =
    options.dynamicConfig ?? (dynamicFile ? await readDynamicConfigFile(dynamicFile) : undefined);
  // As ZooKeeper: the proposal in `<zoo.cfg>.dynamic.next` is read only beside a dynamic file.
  const nextDynamicConfig =
    options.nextDynamicConfig ?? (dynamicFile ? await readNextDynamicConfigFile(path) : undefined);
  return parseConfig(text, {
    ...options,
    configFile: options.configFile ?? path,
    ...(myid === undefined ? {} : { myid }),
    ...(dynamicConfig === undefined ? {} : { dynamicConfig }),
    ...(nextDynamicConfig === undefined ? {} : { nextDynamicConfig }),
  });
}
