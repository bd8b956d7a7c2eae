/**
 * The embedding API's options: one durable peer of an ensemble, configured from code. Every
 * zoo.cfg setting is an option here under ZabkitConfig's name for it, and both go through
 * the same `resolveConfig`: an option means what its zoo.cfg key means, has the same default
 * and is checked the same way (a bad one is a ConfigError naming it).
 *
 * @module
 */
import type { PeerStorage } from '@zabkit/core';
import type { ClientPortSettings } from '../client-port-config.js';
import {
  ConfigError,
  type ConfigInput,
  resolveConfig,
  type ServerAddress,
  type ZabkitConfig,
} from '../config.js';
import type { Logger } from '../log.js';
import type { QuorumSecuritySettings } from '../quorum-security-config.js';
import type { AdminServerSettings, SystemProperties } from '../system-properties.js';
import type { JoinOptions } from './join.js';
import type { PeerMember } from './member.js';
import type { PeerMetricsAttach } from './metrics.js';

export type { PeerMember } from './member.js';

/** Where this peer's client port listens, if it opens one (it is off by default). */
export interface ClientPortOption {
  /** The port; 0 picks a free one (read it back with `peer.address()`). */
  readonly port: number;
  /** The address to bind; default all interfaces. */
  readonly host?: string;
}

/**
 * How to start one peer from code: `{ id, peers, dataDir }` and, where the default will not
 * do, any zoo.cfg setting under ZabkitConfig's name (tickTime, initLimit, snapCount, ...).
 */
export interface StartPeerOptions
  extends Omit<
    ConfigInput,
    | 'dataDir'
    | 'myid'
    | 'servers'
    | 'clientPort'
    | 'clientPortAddress'
    | 'peerType'
    | 'clientPortSettings'
    | 'quorumSecurity'
    | 'systemProperties'
    | 'metrics'
  > {
  /** This peer's server id: one of `peers` (any positive integer when it runs alone). */
  readonly id: number;
  /**
   * Join a running ensemble instead of naming it: any member's client port, or
   * {@link JoinOptions}. The peer has itself added as an observer, starts with the membership
   * in force, syncs, and is promoted to participant (see `peer.joined()`). Goes with `member`
   * and without `peers`.
   */
  readonly join?: string | JoinOptions;
  /** This peer's own address when it joins (`join`): how the members will list it. */
  readonly member?: Omit<PeerMember, 'id' | 'observer'>;
  /**
   * Every member of the ensemble, this peer included, the same list on every instance.
   * Left out or holding this peer alone: a standalone peer (a one-voter ensemble).
   */
  readonly peers?: readonly PeerMember[];
  /** Where the peer keeps its data: its LevelDB store is `<dataLogDir ?? dataDir>/zabkit.db`. */
  readonly dataDir: string;
  /**
   * The storage: `'level'` (the default, LevelDB under dataDir), `'memory'` (nothing
   * survives a restart: tests and demos), or a store of your own.
   */
  readonly storage?: 'level' | 'memory' | PeerStorage;
  /**
   * Open a client port for ZooKeeper clients and tools: a port number or `{ port, host }`.
   * Default: the `clientPort` of this peer's own entry in `peers`, else none (the service's
   * own code uses `peer.client()`, in process, and needs none).
   */
  readonly clientPort?: number | ClientPortOption;
  /**
   * The client port's settings (limits, TLS, authentication, audit log), each defaulting as
   * its zoo.cfg keys do; `limits` may name only the limits to change.
   */
  readonly clientPortSettings?: Partial<Omit<ClientPortSettings, 'limits'>> & {
    readonly limits?: Partial<ClientPortSettings['limits']>;
  };
  /** How peers authenticate each other (TLS or a secret file), each defaulting as in zoo.cfg. */
  readonly quorumSecurity?: Partial<QuorumSecuritySettings>;
  /**
   * Whether the membership may change (zoo.cfg's `reconfigEnabled`): `addServer`,
   * `removeServer`, a client's `reconfig` and the join flow. Default false, as in ZooKeeper:
   * they are then refused with ReconfigDisabled. Every member should say the same.
   */
  readonly reconfigEnabled?: boolean;
  /** What ZooKeeper reads as system properties (superDigest, forceSync, ...). */
  readonly systemProperties?: Partial<Omit<SystemProperties, 'adminServer'>>;
  /**
   * The AdminServer (and its dashboard) on this peer's client port's host: off unless asked
   * for, since several peers of one host would all want ZooKeeper's fixed port 8080. Given,
   * it is on (`enabled` defaults to true) and `port` defaults to 0, a free port (read it
   * back with `peer.adminAddress()`); the other fields default as their `admin.*` keys. A
   * port that is taken then fails the start with an {@link AdminServerStartError}. It needs
   * a client port, as `zabkit server`'s does.
   */
  readonly adminServer?: Partial<AdminServerSettings>;
  /**
   * initLimit and syncLimit, which zoo.cfg requires in an ensemble, default here to 10 and 5
   * ticks (ZooKeeper's sample configuration).
   */
  readonly initLimit?: number;
  readonly syncLimit?: number;
  /** Where the peer logs (pino's `(fields, message)` order). Default: silent. */
  readonly log?: Logger;
  /** The session secret's first value, when the store holds none yet. Default: random. */
  readonly sessionSecret?: Uint8Array;
  /** The wall clock the peer reads. Default Date.now. */
  readonly clock?: () => number;
  /**
   * Sync lag, in transactions logged here and not yet applied, above which the peer reports
   * itself `lagging` rather than `synced` (default 1000).
   */
  readonly lagTxnsMax?: number;
  /** Attaches metrics to the peer once it runs (see {@link PeerMetricsAttach}). */
  readonly metrics?: PeerMetricsAttach;
}

/** The zoo.cfg keys ZooKeeper requires in an ensemble, with the values the embedding API defaults them to. */
const ensembleDefaults = { initLimit: 10, syncLimit: 5 } as const;

/**
 * Turns the options into the configuration `zabkit server` would read from the equivalent
 * zoo.cfg, through zoo.cfg's own defaults and checks.
 *
 * @throws {@link ConfigError} naming the first option at fault (by its zoo.cfg name)
 */
export function configFromOptions(
  options: StartPeerOptions,
  /** A membership newer than `peers` to start from instead (the one the peer kept, or joined). */
  membership?: { readonly servers: ReadonlyMap<number, ServerAddress>; readonly version: bigint },
): { config: ZabkitConfig; warnings: string[] } {
  const warnings: string[] = [];
  const servers = membership?.servers ?? membersToServers(options);
  const ensemble = servers.size > 0;
  const clientPort = clientPortOf(options);
  const defaults = resolveConfig({ dataDir: options.dataDir }, []);
  const input: ConfigInput = {
    ...definedOnly(options),
    dataDir: options.dataDir,
    myid: options.id,
    servers,
    ...(membership === undefined ? {} : { configVersion: membership.version }),
    initLimit: options.initLimit ?? (ensemble ? ensembleDefaults.initLimit : undefined),
    syncLimit: options.syncLimit ?? (ensemble ? ensembleDefaults.syncLimit : undefined),
    clientPort: clientPort?.port,
    clientPortAddress: clientPort?.host,
    clientPortSettings: {
      ...defaults.clientPortSettings,
      ...definedFields(options.clientPortSettings ?? {}),
      limits: {
        ...defaults.clientPortSettings.limits,
        ...definedFields(options.clientPortSettings?.limits ?? {}),
      },
    },
    quorumSecurity: { ...defaults.quorumSecurity, ...definedFields(options.quorumSecurity ?? {}) },
    systemProperties: {
      ...defaults.systemProperties,
      ...definedFields(options.systemProperties ?? {}),
      ...(options.reconfigEnabled === undefined ? {} : { reconfigEnabled: options.reconfigEnabled }),
      adminServer: adminServerOf(options, defaults.systemProperties.adminServer),
    },
  };
  return { config: resolveConfig(input, warnings), warnings };
}

/** The embedded admin server: off unless `adminServer` asks for it, then on a free port unless it names one. */
function adminServerOf(options: StartPeerOptions, defaults: AdminServerSettings): AdminServerSettings {
  if (options.adminServer === undefined) return { ...defaults, enabled: false };
  const settings = { ...defaults, port: 0, enabled: true, ...definedFields(options.adminServer) };
  if (!Number.isInteger(settings.port) || settings.port < 0 || settings.port > 65535)
    throw new ConfigError('adminServer.port', String(settings.port), 'expected a port 0..65535');
  if (!settings.commandUrl.startsWith('/'))
    throw new ConfigError('adminServer.commandUrl', settings.commandUrl, 'expected a path such as /commands');
  return settings;
}

/** The client port asked for; resolveConfig takes the one this peer's member entry lists, if any. */
function clientPortOf(options: StartPeerOptions): ClientPortOption | undefined {
  return typeof options.clientPort === 'number' ? { port: options.clientPort } : options.clientPort;
}

/** The `server.N` lines the member list stands for; none for a peer alone. */
function membersToServers(options: StartPeerOptions): Map<number, ServerAddress> {
  const servers = new Map<number, ServerAddress>();
  const members = options.peers ?? [];
  if (members.length === 1 && members[0]!.id === options.id && members[0]!.observer !== true) return servers;
  for (const member of members) {
    const key = `peers[id ${member.id}]`;
    if (!Number.isSafeInteger(member.id) || member.id < 1)
      throw new ConfigError(key, String(member.id), 'expected a positive integer id');
    if (servers.has(member.id)) throw new ConfigError(key, String(member.id), 'duplicate server id');
    if (typeof member.host !== 'string' || member.host === '')
      throw new ConfigError(key, String(member.host), 'expected a host name or address');
    for (const [field, port] of [
      ['port', member.port],
      ['clientPort', member.clientPort],
    ] as const) {
      if (port === undefined && field === 'clientPort') continue;
      if (!Number.isInteger(port) || port! < 1 || port! > 65535)
        throw new ConfigError(`${key}.${field}`, String(port), 'expected a port 1..65535');
    }
    servers.set(member.id, {
      id: member.id,
      host: member.host,
      quorumPort: member.port,
      // zabkit elects over the peer port; ZooKeeper's separate election port is not used.
      electionPort: member.port,
      role: member.observer === true ? 'observer' : 'participant',
      // As zoo.cfg's `server.N=...;port`: the port on every interface.
      ...(member.clientPort === undefined ? {} : { clientAddress: '0.0.0.0', clientPort: member.clientPort }),
    });
  }
  return servers;
}

/** An object's fields without those set to undefined, so that spreading it keeps the defaults. */
function definedFields<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** The options that are zoo.cfg settings, without the ones left undefined. */
function definedOnly(options: StartPeerOptions): Partial<ConfigInput> {
  const keys = [
    'tickTime',
    'dataLogDir',
    'maxClientCnxns',
    'minSessionTimeout',
    'maxSessionTimeout',
    'snapCount',
    'snapRetainCount',
    'purgeIntervalHours',
    'juteMaxBuffer',
    'fourLetterWords',
    'standaloneEnabled',
  ] as const;
  const out: Record<string, unknown> = {};
  for (const key of keys) if (options[key] !== undefined) out[key] = options[key];
  return out as Partial<ConfigInput>;
}
