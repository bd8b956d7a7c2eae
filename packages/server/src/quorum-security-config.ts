/**
 * The quorum's security keys in `zoo.cfg`: how peers authenticate each other. ZooKeeper's
 * names where ZooKeeper has the setting (`sslQuorum`, `ssl.quorum.*`), `zabkit.quorum.*`
 * where it does not. config.ts reads the file; this module owns these keys' meanings,
 * defaults and checks. Pure: the stores and the secret file are read at start
 * (quorum-security.ts).
 *
 * A key that asks for something zabkit cannot do (quorum SASL, revocation checks, certificate
 * reloading, port unification, a context supplier class, an unknown `ssl.quorum.*` or
 * `zabkit.quorum.*` key) stops the server naming it: a security setting silently dropped is
 * a hole.
 *
 * @module
 */
import { ConfigError } from './config-error.js';
import { parseTlsSettings, type TlsSettings, tlsSettingKeys } from './tls-settings.js';

/** The quorum security settings read from `zoo.cfg`. */
export interface QuorumSecuritySettings {
  /** `sslQuorum=true`: the `ssl.quorum.*` settings; undefined without TLS. */
  readonly tls: TlsSettings | undefined;
  /**
   * `zabkit.quorum.identity.N=<name>`: the name server N's certificate must carry (a DNS or IP
   * subjectAltName), where it is not the host of its `server.N` line. With reconfigEnabled, N
   * may be a server not yet in the membership (one to be added, or joining).
   */
  readonly identities: ReadonlyMap<number, string>;
  /** `zabkit.quorum.secretFile`: the file holding the ensemble's shared secret. */
  readonly secretFile: string | undefined;
  /**
   * `zabkit.quorum.allowUnauthenticated=true`: run an ensemble whose `server.N` addresses are
   * not loopback with neither TLS nor a secret. Default false: such an ensemble refuses to start.
   */
  readonly allowUnauthenticated: boolean;
  /** `zabkit.quorum.handshakeTimeoutMs`: time a peer connection has to authenticate. Default 5000. */
  readonly handshakeTimeoutMs: number;
  /** `zabkit.quorum.maxUnauthenticatedConnections`: inbound connections waiting to authenticate at once. Default 64. */
  readonly maxUnauthenticatedConnections: number;
  /**
   * `zabkit.quorum.nonMemberPeersMax`: servers outside the membership (started to be added by
   * a reconfig: they sync as non-voting followers first) whose links are held at once, each
   * authenticated as a member must be. 0 accepts none. Default 8.
   */
  readonly nonMemberPeersMax: number;
}

/** How config.ts hands values over. */
export interface QuorumSecuritySource {
  get(key: string): string | undefined;
  /** Every key given, to find the `zabkit.quorum.identity.N` ones. */
  keys(): Iterable<string>;
}

const sslPrefix = 'ssl.quorum.';
const identityPrefix = 'zabkit.quorum.identity.';

/** Keys accepted only as false (or their harmless value): true asks for what zabkit does not do. */
const refusedWhenTrue: ReadonlyMap<string, string> = new Map([
  [
    'quorum.auth.enableSasl',
    'quorum SASL is not supported; authenticate peers with zabkit.quorum.secretFile or sslQuorum',
  ],
  [
    'quorum.auth.learnerRequireSasl',
    'quorum SASL is not supported; authenticate peers with zabkit.quorum.secretFile or sslQuorum',
  ],
  [
    'quorum.auth.serverRequireSasl',
    'quorum SASL is not supported; authenticate peers with zabkit.quorum.secretFile or sslQuorum',
  ],
  ['ssl.quorum.crl', 'certificate revocation lists are not checked by zabkit'],
  ['ssl.quorum.ocsp', 'OCSP is not checked by zabkit'],
  [
    'sslQuorumReloadCertFiles',
    'certificates are not reloaded while running; restart the server to rotate them',
  ],
  ['portUnification', 'TLS and plain TCP on one quorum port is not supported'],
]);

const keys: ReadonlySet<string> = new Set([
  'sslQuorum',
  ...tlsSettingKeys(sslPrefix),
  'ssl.quorum.clientAuth',
  'ssl.quorum.handshakeDetectionTimeoutMillis',
  'ssl.quorum.context.supplier.class',
  ...refusedWhenTrue.keys(),
  'zabkit.quorum.secretFile',
  'zabkit.quorum.allowUnauthenticated',
  'zabkit.quorum.handshakeTimeoutMs',
  'zabkit.quorum.maxUnauthenticatedConnections',
  'zabkit.quorum.nonMemberPeersMax',
]);

/** Whether `key` is one this module reads (config.ts keeps its value for {@link parseQuorumSecurity}). */
export function isQuorumSecurityKey(key: string): boolean {
  return keys.has(key) || key.startsWith(identityPrefix) || key.startsWith('quorum.auth.');
}

/**
 * Whether an unknown `key` lies in a namespace where a typo must not pass as a warning:
 * `ssl.quorum.*` and `zabkit.quorum.*`.
 */
export function isReservedQuorumSecurityKey(key: string): boolean {
  return key.startsWith(sslPrefix) || key.startsWith('zabkit.quorum.');
}

function parseBoolean(key: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  const lower = value.trim().toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw new ConfigError(key, value, 'expected true or false');
}

function parseCount(key: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\+?\d+$/.test(value.trim()) || Number(value) > 2 ** 31 - 1) {
    throw new ConfigError(key, value, 'expected a non-negative integer');
  }
  return Number(value);
}

function parsePositive(key: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\+?\d+$/.test(value.trim()) || Number(value) < 1 || Number(value) > 2 ** 31 - 1) {
    throw new ConfigError(key, value, 'expected a positive integer');
  }
  return Number(value);
}

/**
 * Reads and checks the quorum security keys.
 *
 * @param serverIds - the `server.N` ids, which identity mappings must name
 * @param warnings - where keys that are set but have no effect are reported
 * @throws {@link ConfigError} naming the first key that cannot be honoured
 */
export function parseQuorumSecurity(
  source: QuorumSecuritySource,
  serverIds: ReadonlySet<number>,
  warnings: string[],
): QuorumSecuritySettings {
  for (const [key, why] of refusedWhenTrue) {
    if (parseBoolean(key, source.get(key), false)) throw new ConfigError(key, source.get(key), why);
  }
  for (const key of source.keys()) {
    if (key.startsWith('quorum.auth.') && !refusedWhenTrue.has(key)) {
      warnings.push(`${key} ignored: zabkit has no quorum SASL (see zabkit.quorum.secretFile)`);
    }
  }
  const supplier = source.get('ssl.quorum.context.supplier.class');
  if (supplier !== undefined) {
    throw new ConfigError(
      'ssl.quorum.context.supplier.class',
      supplier,
      'Java SSLContext suppliers cannot be loaded by zabkit',
    );
  }
  const clientAuth = source.get('ssl.quorum.clientAuth');
  if (clientAuth !== undefined && !['', 'need'].includes(clientAuth.trim().toLowerCase())) {
    throw new ConfigError(
      'ssl.quorum.clientAuth',
      clientAuth,
      'peer links always authenticate both ends; expected need',
    );
  }
  parsePositive(
    'ssl.quorum.handshakeDetectionTimeoutMillis',
    source.get('ssl.quorum.handshakeDetectionTimeoutMillis'),
    5000,
  );

  const sslQuorum = parseBoolean('sslQuorum', source.get('sslQuorum'), false);
  let tls: TlsSettings | undefined;
  if (sslQuorum) {
    tls = parseTlsSettings(source, sslPrefix);
    if (tls.keyStore === undefined)
      throw new ConfigError(
        `${sslPrefix}keyStore.location`,
        undefined,
        'is not set (sslQuorum=true needs it)',
      );
    if (tls.trustStore === undefined)
      throw new ConfigError(
        `${sslPrefix}trustStore.location`,
        undefined,
        'is not set (sslQuorum=true needs it)',
      );
  } else {
    const unused = [...source.keys()].filter((key) => key.startsWith(sslPrefix));
    if (unused.length > 0) warnings.push(`${unused.join(', ')} ignored: sslQuorum is not true`);
  }

  const identities = new Map<number, string>();
  // With reconfig, a server may be added at runtime: its identity can be named before it is a
  // member, so that a joiner whose certificate does not carry its address is accepted.
  const reconfigEnabled = parseBoolean('reconfigEnabled', source.get('reconfigEnabled'), false);
  for (const key of source.keys()) {
    if (!key.startsWith(identityPrefix)) continue;
    const idText = key.slice(identityPrefix.length);
    const id = Number(idText);
    const named = /^\d+$/.test(idText) && (serverIds.has(id) || (reconfigEnabled && id >= 1 && id <= 254));
    if (!named) {
      throw new ConfigError(
        key,
        source.get(key),
        reconfigEnabled
          ? 'expected zabkit.quorum.identity.N for a server id 1..254'
          : `expected zabkit.quorum.identity.N for a server.N (${[...serverIds].join(', ') || 'none'}; with reconfigEnabled=true, any server id)`,
      );
    }
    const name = source.get(key)!.trim();
    if (name === '')
      throw new ConfigError(key, '', "expected the DNS name or address server N's certificate carries");
    identities.set(id, name);
  }
  if (identities.size > 0 && !sslQuorum)
    warnings.push('zabkit.quorum.identity.N ignored: sslQuorum is not true');

  const secretFile = source.get('zabkit.quorum.secretFile')?.trim();
  if (secretFile === '')
    throw new ConfigError('zabkit.quorum.secretFile', '', 'expected the path of a file holding the secret');

  return {
    tls,
    identities,
    secretFile,
    allowUnauthenticated: parseBoolean(
      'zabkit.quorum.allowUnauthenticated',
      source.get('zabkit.quorum.allowUnauthenticated'),
      false,
    ),
    handshakeTimeoutMs: parsePositive(
      'zabkit.quorum.handshakeTimeoutMs',
      source.get('zabkit.quorum.handshakeTimeoutMs'),
      5000,
    ),
    maxUnauthenticatedConnections: parsePositive(
      'zabkit.quorum.maxUnauthenticatedConnections',
      source.get('zabkit.quorum.maxUnauthenticatedConnections'),
      64,
    ),
    nonMemberPeersMax: parseCount(
      'zabkit.quorum.nonMemberPeersMax',
      source.get('zabkit.quorum.nonMemberPeersMax'),
      8,
    ),
  };
}
