/**
 * ZooKeeper's settings that are Java system properties rather than zoo.cfg keys, as zabkit
 * takes them. A ZooKeeper server gets them from two places, and so does zabkit:
 *
 * - zoo.cfg: every key QuorumPeerConfig does not know becomes the system property
 *   `zookeeper.<key>`, so `DigestAuthenticationProvider.superDigest=...` in zoo.cfg sets
 *   `zookeeper.DigestAuthenticationProvider.superDigest`. (A zoo.cfg key written with the
 *   prefix, `zookeeper.forceSync=no`, becomes `zookeeper.zookeeper.forceSync`, which nothing
 *   reads: ZooKeeper ignores it, and zabkit warns that it does.)
 * - the command line: `-D<property>=<value>`, as a JVM takes them (`SERVER_JVMFLAGS`).
 *   zoo.cfg wins where both set one, as in ZooKeeper (it sets the property after the JVM has
 *   started), except `jute.maxbuffer`, which ZooKeeper reads from the command line alone.
 *
 * Every key here is honoured, refused with a ConfigError, or accepted with a warning saying
 * why it has no effect: none is accepted silently while ignored.
 *
 * @module
 */

/** The admin server's settings (admin.*), parsed and validated. */
export interface AdminServerSettings {
  /** `admin.enableServer`; ZooKeeper's default is true. */
  readonly enabled: boolean;
  /** `admin.serverAddress`; default 0.0.0.0. */
  readonly address: string;
  /** `admin.serverPort`; default 8080 (0 picks a free port, unlike ZooKeeper). */
  readonly port: number;
  /** `admin.commandURL`; default /commands. */
  readonly commandUrl: string;
  /** `admin.idleTimeout`, in ms; default 30000. */
  readonly idleTimeoutMs: number;
  /** `admin.forceHttps`: HTTPS only, with the ssl.quorum.* key and trust stores, as ZooKeeper. */
  readonly forceHttps: boolean;
  /** `admin.portUnification`: HTTP and HTTPS on the one port. */
  readonly portUnification: boolean;
  /** `admin.needClientAuth`: HTTPS clients must present a certificate the trust store accepts. */
  readonly needClientAuth: boolean;
  /** `admin.snapshot.enabled` (3.9): the snapshot command; off, it answers 503. Default true. */
  readonly snapshotEnabled: boolean;
  /** `admin.restore.enabled` (3.9): the restore command; off, it answers 503. Default true. */
  readonly restoreEnabled: boolean;
  /**
   * `admin.rateLimiterIntervalInMS` (3.9): one restore per this many ms (default 300000);
   * snapshot reads the same number as microseconds, as 3.9 does (one per 300 ms).
   */
  readonly rateLimiterInterval: number;
}

/** The system properties zabkit acts on, with ZooKeeper's defaults filled in. */
export interface SystemProperties {
  /**
   * `reconfigEnabled` (zoo.cfg): whether clients may change the membership with reconfig
   * (only the super user may, by default). Off: reconfig answers ReconfigDisabled, as ZooKeeper.
   */
  readonly reconfigEnabled: boolean;
  /**
   * `DigestAuthenticationProvider.superDigest`: `user:base64(sha1(user:password))`; a session
   * that authenticates with matching digest credentials passes every ACL check.
   */
  readonly superDigest: string | undefined;
  /**
   * `skipACL=yes`: a reconfig skips the check of WRITE on /zookeeper/config, as ZooKeeper's
   * does. ZooKeeper skips every other ACL check too; zabkit checks them (and warns so).
   */
  readonly skipAcl: boolean;
  /**
   * `extendedTypesEnabled`: TTL nodes. ZooKeeper's default is false, zabkit's true; `false`
   * refuses TTL creates with Unimplemented, as ZooKeeper does.
   */
  readonly extendedTypesEnabled: boolean;
  /** `forceSync`: fsync the log before acknowledging writes. As in ZooKeeper, only `no` turns it off. */
  readonly forceSync: boolean;
  /** admin.*: the AdminServer's address, port and command URL (admin/server.ts). */
  readonly adminServer: AdminServerSettings;
  /**
   * `-Dznode.container.checkIntervalMs` (a bare system property, read from the command line
   * only, as in ZooKeeper): how often the leader looks for empty containers and expired TTL
   * nodes. Default 60000.
   */
  readonly containerCheckIntervalMs: number;
  /**
   * `enforceQuota` (`-Dzookeeper.enforceQuota`): hard quotas (countHardLimit, byteHardLimit)
   * refuse the writes that would pass them with QuotaExceeded. Default false, as in ZooKeeper.
   */
  readonly enforceQuota: boolean;
  /**
   * `-Dreadonlymode.enabled` (a bare system property, as in ZooKeeper; zabkit also reads it
   * from zoo.cfg): a member cut off from its quorum serves reads to clients that allow
   * read-only connections. Default false.
   */
  readonly readOnlyModeEnabled: boolean;
}

/**
 * Every key this module reads, as written in zoo.cfg (the system property is
 * `zookeeper.<key>`). `reconfigEnabled` is a zoo.cfg key of ZooKeeper's own, kept here
 * with the other features zabkit does not have.
 */
export const SYSTEM_PROPERTY_KEYS: ReadonlySet<string> = new Set([
  'DigestAuthenticationProvider.superDigest',
  'extendedTypesEnabled',
  'forceSync',
  'skipACL',
  'digest.enabled',
  'jute.maxbuffer.extrasize',
  'readonlymode.enabled',
  'enforceQuota',
  'reconfigEnabled',
  'admin.enableServer',
  'admin.serverAddress',
  'admin.serverPort',
  'admin.commandURL',
  'admin.idleTimeout',
  'admin.forceHttps',
  'admin.portUnification',
  'admin.needClientAuth',
  'admin.snapshot.enabled',
  'admin.restore.enabled',
  'admin.rateLimiterIntervalInMS',
]);

/** Where the settings are read from, and how a bad value is reported (config.ts's ConfigError). */
export interface SystemPropertySource {
  get(key: string): string | undefined;
  error(key: string, value: string, expected: string): Error;
}

/** ZooKeeper reads these with Boolean.parseBoolean; zabkit refuses what is neither true nor false. */
function bool(source: SystemPropertySource, key: string, fallback: boolean): boolean {
  const value = source.get(key);
  if (value === undefined) return fallback;
  const lower = value.trim().toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw source.error(key, value, 'expected true or false');
}

function int(source: SystemPropertySource, key: string, min: number, max: number, fallback: number): number {
  const value = source.get(key);
  if (value === undefined) return fallback;
  const parsed = Number(value.trim());
  if (!/^\d+$/.test(value.trim()) || parsed < min || parsed > max)
    throw source.error(key, value, `expected an integer ${min}..${max}`);
  return parsed;
}

/** A digest is `user:base64(sha1(...))`: anything else can never match a login. */
const digestPattern = /^[^:]*:[A-Za-z0-9+/]{27}=$/;

/** `admin.commandURL`: a path under which the commands are served. */
function commandUrl(source: SystemPropertySource): string {
  const value = source.get('admin.commandURL')?.trim() ?? '/commands';
  if (!value.startsWith('/') || /[\s?#]/.test(value))
    throw source.error('admin.commandURL', value, 'expected a path such as /commands');
  return value;
}

function parseAdminServer(source: SystemPropertySource): AdminServerSettings {
  const settings: AdminServerSettings = {
    enabled: bool(source, 'admin.enableServer', true),
    address: source.get('admin.serverAddress')?.trim() ?? '0.0.0.0',
    port: int(source, 'admin.serverPort', 0, 65535, 8080),
    commandUrl: commandUrl(source),
    idleTimeoutMs: int(source, 'admin.idleTimeout', 0, 2 ** 31 - 1, 30_000),
    forceHttps: bool(source, 'admin.forceHttps', false),
    portUnification: bool(source, 'admin.portUnification', false),
    needClientAuth: bool(source, 'admin.needClientAuth', false),
    snapshotEnabled: bool(source, 'admin.snapshot.enabled', true),
    restoreEnabled: bool(source, 'admin.restore.enabled', true),
    rateLimiterInterval: int(source, 'admin.rateLimiterIntervalInMS', 0, 2 ** 31 - 1, 300_000),
  };
  return settings;
}

/**
 * Reads the system-property settings from `source` (zoo.cfg's keys, with the command line's
 * `-Dzookeeper.<key>` filled in where zoo.cfg has none) and appends a warning for each that
 * has no effect here.
 *
 * @throws what `source.error` makes, for a value that cannot be used
 */
export function parseSystemProperties(source: SystemPropertySource, warnings: string[]): SystemProperties {
  const superDigest = source.get('DigestAuthenticationProvider.superDigest')?.trim();
  if (superDigest !== undefined && !digestPattern.test(superDigest)) {
    throw source.error(
      'DigestAuthenticationProvider.superDigest',
      superDigest,
      'expected user:base64(sha1(user:password)), as `zabkit digest user:password` prints it',
    );
  }
  const forceSync = source.get('forceSync')?.trim();
  // ZooKeeper: forceSync = !"no".equals(value). Its "false" keeps fsync on, and so here.
  if (forceSync !== undefined && forceSync !== 'yes' && forceSync !== 'no')
    warnings.push(`forceSync=${forceSync}: only "no" turns fsync off, in ZooKeeper as here; it stays on`);
  const skipAcl = source.get('skipACL')?.trim();
  // ZooKeeper: skipACL = "yes".equals(value); anything else checks every ACL.
  if (skipAcl === 'yes')
    warnings.push(
      'skipACL=yes: a reconfig skips its ACL check, as in ZooKeeper, but zabkit checks every other ACL, which ZooKeeper would skip',
    );
  if (bool(source, 'digest.enabled', false))
    warnings.push(
      'digest.enabled=true has no effect: zabkit keeps no tree digest; its log and snapshots carry CRC-32s',
    );
  if (source.get('jute.maxbuffer.extrasize') !== undefined)
    warnings.push(
      'jute.maxbuffer.extrasize has no effect: each record is bounded by its frame (jute.maxbuffer)',
    );
  return {
    superDigest,
    extendedTypesEnabled: bool(source, 'extendedTypesEnabled', true),
    forceSync: forceSync !== 'no',
    adminServer: parseAdminServer(source),
    containerCheckIntervalMs: int(source, 'znode.container.checkIntervalMs', 1, 2 ** 31 - 1, 60_000),
    enforceQuota: bool(source, 'enforceQuota', false),
    readOnlyModeEnabled: bool(source, 'readonlymode.enabled', false),
    reconfigEnabled: bool(source, 'reconfigEnabled', false),
    skipAcl: skipAcl === 'yes',
  };
}
