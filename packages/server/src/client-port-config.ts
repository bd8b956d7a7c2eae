/**
 * The client port's keys in `zoo.cfg`: its limits (ZooKeeper's names where ZooKeeper has the
 * setting, `zabkit.`-prefixed ones where it does not). config.ts reads the file; this module
 * owns these keys' meanings, defaults and checks.
 *
 * @module
 */
import { AUDIT_KEYS, type AuditSettings, parseAuditSettings } from './audit-log.js';
import {
  CLIENT_AUTH_KEYS,
  type ClientAuthSettings,
  isClientAuthKey,
  parseClientAuthSettings,
} from './client-auth.js';
import { type ClientPortLimits, defaultClientPortLimits } from './client-limits.js';
import {
  CLIENT_TLS_PROPERTY_KEYS,
  type ClientTlsSettings,
  isClientTlsKey,
  parseClientTlsSettings,
} from './client-tls.js';

/** The client port's settings read from `zoo.cfg`. */
export interface ClientPortSettings {
  /**
   * `globalOutstandingLimit` (default 1000): requests awaiting a reply across the ensemble; each
   * server takes its share as ZooKeeper does (divided by the voters less one when over two).
   */
  readonly globalOutstandingLimit: number;
  /** Everything else bounded on the client port (maxOutstandingTotal is the share above). */
  readonly limits: Omit<ClientPortLimits, 'maxOutstandingTotal'>;
  /** TLS: secureClientPort, client.portUnification, ssl.* (see client-tls.ts). */
  readonly tls: ClientTlsSettings;
  /**
   * `netty.server.earlyDropSecureConnectionHandshakes` (false): while the server does not
   * serve, a connection to the secure client port is closed before its TLS handshake.
   */
  readonly earlyDropSecureConnectionHandshakes: boolean;
  /** The audit log: audit.enable, zabkit.audit.file (see audit-log.ts). */
  readonly audit: AuditSettings;
  /** SASL, x509 identities, super users, enforce.auth (see client-auth.ts). */
  readonly auth: ClientAuthSettings;
}

/** The keys this module reads. */
export const CLIENT_PORT_KEYS: ReadonlySet<string> = new Set([
  'globalOutstandingLimit',
  'maxCnxns',
  'nio.sessionlessCnxnTimeout',
  'netty.server.outstandingHandshake.limit',
  'netty.server.earlyDropSecureConnectionHandshakes',
  'zabkit.maxOutstandingPerConnection',
  'zabkit.clientWriteBufferHighWater',
  'zabkit.clientWriteBufferMax',
  'zabkit.clientWriteStallTimeout',
]);

/**
 * The client port's keys ZooKeeper also reads as the system property `zookeeper.<key>`, which
 * a `-D` flag may set: its limits, TLS keys and audit keys; not zabkit's own.
 */
export const CLIENT_PORT_PROPERTY_KEYS: ReadonlySet<string> = new Set([
  ...[...CLIENT_PORT_KEYS].filter((key) => !key.startsWith('zabkit.')),
  ...CLIENT_TLS_PROPERTY_KEYS,
  ...[...AUDIT_KEYS].filter((key) => !key.startsWith('zabkit.')),
  ...[...CLIENT_AUTH_KEYS].filter((key) => !key.startsWith('zabkit.')),
]);

/** Whether config.ts keeps `key` for {@link parseClientPortSettings}. */
export function isClientPortKey(key: string): boolean {
  return CLIENT_PORT_KEYS.has(key) || isClientTlsKey(key) || AUDIT_KEYS.has(key) || isClientAuthKey(key);
}

/** How config.ts hands values over: the raw value of a key, and the error it throws. */
export interface SettingsSource {
  get(key: string): string | undefined;
  /** Builds the error naming `key` (config.ts's ConfigError). */
  error(key: string, value: string | undefined, expected: string): Error;
  /** Where keys that are set but have no effect are reported. */
  readonly warnings: string[];
  /** Every key set, for the families named by a prefix (`authProvider.*`, `superUser.*`). */
  readonly keys?: Iterable<string>;
  /** `-Djava.security.auth.login.config`: the JAAS file, as a JVM is told it. */
  readonly jaasFile?: string | undefined;
}

const INT32_MAX = 2 ** 31 - 1;

function integer(source: SettingsSource, key: string, min: number, fallback: number): number {
  const value = source.get(key);
  if (value === undefined) return fallback;
  const expected = min === 0 ? 'expected a non-negative integer' : 'expected a positive integer';
  if (!/^[+-]?\d+$/.test(value)) throw source.error(key, value, expected);
  const parsed = Number(value) || 0;
  if (parsed < min || parsed > INT32_MAX) throw source.error(key, value, expected);
  return parsed;
}

/** A Java Boolean.getBoolean: true when the value is `true` (any case), false otherwise. */
function boolean(source: SettingsSource, key: string): boolean {
  return source.get(key)?.trim().toLowerCase() === 'true';
}

/**
 * Reads the client port's keys.
 *
 * @throws the source's error naming the first invalid key
 */
export function parseClientPortSettings(source: SettingsSource): ClientPortSettings {
  const d = defaultClientPortLimits;
  const writeBufferHighWaterBytes = integer(
    source,
    'zabkit.clientWriteBufferHighWater',
    1,
    d.writeBufferHighWaterBytes,
  );
  const writeBufferMaxBytes = integer(source, 'zabkit.clientWriteBufferMax', 1, d.writeBufferMaxBytes);
  if (writeBufferMaxBytes < writeBufferHighWaterBytes) {
    throw source.error(
      'zabkit.clientWriteBufferMax',
      String(writeBufferMaxBytes),
      `must not be below zabkit.clientWriteBufferHighWater (${writeBufferHighWaterBytes})`,
    );
  }
  return {
    globalOutstandingLimit: integer(source, 'globalOutstandingLimit', 1, d.maxOutstandingTotal),
    limits: {
      maxConnections: integer(source, 'maxCnxns', 0, d.maxConnections),
      sessionlessTimeoutMs: integer(source, 'nio.sessionlessCnxnTimeout', 1, d.sessionlessTimeoutMs),
      maxOutstandingPerConnection: integer(
        source,
        'zabkit.maxOutstandingPerConnection',
        1,
        d.maxOutstandingPerConnection,
      ),
      writeBufferHighWaterBytes,
      writeBufferMaxBytes,
      writeStallTimeoutMs: integer(source, 'zabkit.clientWriteStallTimeout', 0, d.writeStallTimeoutMs),
      // ZooKeeper's default is -1, and any value below 1 leaves handshakes unbounded.
      tlsHandshakesMax:
        source.get('netty.server.outstandingHandshake.limit')?.trim() === '-1'
          ? 0
          : integer(source, 'netty.server.outstandingHandshake.limit', 0, d.tlsHandshakesMax),
    },
    tls: parseClientTlsSettings((key) => source.get(key), source.warnings),
    earlyDropSecureConnectionHandshakes: boolean(source, 'netty.server.earlyDropSecureConnectionHandshakes'),
    audit: parseAuditSettings((key) => source.get(key), source.warnings),
    auth: parseClientAuthSettings((key) => source.get(key), source.keys ?? [], source.jaasFile),
  };
}
