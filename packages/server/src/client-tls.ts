/**
 * TLS on the client port, configured as ZooKeeper configures it: `secureClientPort` (and
 * `secureClientPortAddress`) for a listener that speaks only TLS, `client.portUnification` for
 * a plain port that also takes TLS (told apart by the first byte a client sends: a TLS
 * handshake record starts with 22), the stores and protocols under `ssl.` (read by
 * tls-settings.ts, which the quorum shares), and `ssl.clientAuth` (none, want, need; need by
 * default, as ZooKeeper).
 *
 * A key zabkit cannot honour (revocation checks, client hostname verification, certificate
 * reloading, a context supplier class, an unknown `ssl.` key) stops the server naming it: a
 * security setting silently dropped is a hole. `ssl.authProvider` (x509 identities) is
 * client-auth.ts's.
 *
 * @module
 */
import {
  createSecureContext,
  createServer as createTlsServer,
  type SecureContextOptions,
  type TLSSocket,
  type Server as TlsServer,
} from 'node:tls';
import { ConfigError } from './config-error.js';
import {
  loadKeyStore,
  loadTrustStore,
  parseTlsSettings,
  type TlsSettings,
  tlsSettingKeys,
  tlsVersionsAndCiphers,
} from './tls-settings.js';

/** `ssl.clientAuth`: whether a client must (need), may (want) or does not (none) show a certificate. */
export type ClientAuth = 'none' | 'want' | 'need';

/** The client port's TLS settings from `zoo.cfg`, checked but not yet loaded. */
export interface ClientTlsSettings {
  /** `secureClientPort`: a listener that speaks only TLS; 0 picks a free port. */
  readonly secureClientPort: number | undefined;
  /** `secureClientPortAddress`: where it listens; the client port's address by default. */
  readonly secureClientPortAddress: string | undefined;
  /** `client.portUnification`: the plain client port takes TLS connections too. */
  readonly portUnification: boolean;
  /** `ssl.clientAuth`, default need (ZooKeeper's default). */
  readonly clientAuth: ClientAuth;
  /** The `ssl.` stores, protocols and suites; undefined when no listener speaks TLS. */
  readonly tls: TlsSettings | undefined;
}

const prefix = 'ssl.';

/** Keys accepted only with their harmless value: anything else asks for what zabkit does not do. */
const refusedUnlessFalse: ReadonlyMap<string, string> = new Map([
  ['ssl.crl', 'certificate revocation lists are not checked by zabkit'],
  ['ssl.ocsp', 'OCSP is not checked by zabkit'],
  [
    'ssl.clientHostnameVerification',
    "clients' host names are not verified by zabkit; their certificates are checked against the trust store",
  ],
  ['client.certReload', 'certificates are not reloaded while running; restart the server to rotate them'],
]);

/** Keys refused whatever their value. */
const refusedWhenSet: ReadonlyMap<string, string> = new Map([
  ['ssl.context.supplier.class', 'a Java SSLContext supplier cannot be loaded by zabkit'],
]);

/** Keys accepted and without effect here, with why. */
const accepted: ReadonlySet<string> = new Set([
  // ZooKeeper needs Netty for TLS; zabkit's client port takes TLS as it is.
  'serverCnxnFactory',
  // Netty's TLS engine choice (JDK or OpenSSL): zabkit uses Node's (OpenSSL).
  'ssl.sslProvider',
  // How long a unified port waits for a first byte: zabkit's sessionless timeout bounds that.
  'ssl.handshakeDetectionTimeoutMillis',
]);

const keys: ReadonlySet<string> = new Set([
  'secureClientPort',
  'secureClientPortAddress',
  'client.portUnification',
  'ssl.clientAuth',
  ...tlsSettingKeys(prefix),
  ...refusedUnlessFalse.keys(),
  ...refusedWhenSet.keys(),
  ...accepted,
]);

/** Whether `key` is one this module reads. */
export function isClientTlsKey(key: string): boolean {
  return keys.has(key);
}

/**
 * The keys ZooKeeper also reads as system properties (`zookeeper.<key>`, so a `-D` flag may set
 * them): all but secureClientPort and secureClientPortAddress, which only zoo.cfg sets.
 */
export const CLIENT_TLS_PROPERTY_KEYS: ReadonlySet<string> = new Set(
  [...keys].filter((key) => key !== 'secureClientPort' && key !== 'secureClientPortAddress'),
);

/**
 * Whether an unknown `key` lies where a typo must stop the server rather than pass as a
 * warning: `ssl.*` outside `ssl.quorum.*` (which the quorum's module owns).
 */
export function isReservedClientTlsKey(key: string): boolean {
  return key.startsWith(prefix) && !key.startsWith('ssl.quorum.');
}

function parseBoolean(key: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  const lower = value.trim().toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw new ConfigError(key, value, 'expected true or false');
}

function parseClientAuth(value: string | undefined): ClientAuth {
  if (value === undefined) return 'need';
  const lower = value.trim().toLowerCase();
  if (lower === 'none' || lower === 'want' || lower === 'need') return lower;
  throw new ConfigError('ssl.clientAuth', value, 'expected none, want or need');
}

/**
 * Reads and checks the client port's TLS keys. Pure: stores are read by {@link loadClientTls}.
 *
 * @param get - the raw value of a key, as config.ts parsed it
 * @param warnings - where keys that are set but have no effect are reported
 * @throws {@link ConfigError} naming the first key that cannot be honoured
 */
export function parseClientTlsSettings(
  get: (key: string) => string | undefined,
  warnings: string[],
): ClientTlsSettings {
  for (const [key, why] of refusedUnlessFalse) {
    if (parseBoolean(key, get(key), false)) throw new ConfigError(key, get(key), why);
  }
  for (const [key, why] of refusedWhenSet) {
    if (get(key) !== undefined) throw new ConfigError(key, get(key), why);
  }
  const portValue = get('secureClientPort');
  let secureClientPort: number | undefined;
  if (portValue !== undefined) {
    const trimmed = portValue.trim();
    if (!/^\d+$/.test(trimmed) || Number(trimmed) > 65535)
      throw new ConfigError('secureClientPort', portValue, 'expected a port 0..65535, 0 for any free port');
    secureClientPort = Number(trimmed);
  }
  const address = get('secureClientPortAddress')?.trim();
  if (address !== undefined && secureClientPort === undefined)
    throw new ConfigError('secureClientPortAddress', address, 'secureClientPort is not set');
  if (address === '')
    throw new ConfigError('secureClientPortAddress', address, 'expected a host name or address');
  const portUnification = parseBoolean('client.portUnification', get('client.portUnification'), false);
  const clientAuth = parseClientAuth(get('ssl.clientAuth'));
  const tlsWanted = secureClientPort !== undefined || portUnification;
  const tls = parseTlsSettings({ get }, prefix);
  if (!tlsWanted) {
    const set = [...keys].filter((key) => key.startsWith(prefix) && get(key) !== undefined);
    if (set.length > 0)
      warnings.push(`${set.join(', ')} have no effect without secureClientPort or client.portUnification`);
  }
  return {
    secureClientPort,
    secureClientPortAddress: address,
    portUnification,
    clientAuth,
    tls: tlsWanted ? tls : undefined,
  };
}

/** What a client port needs to speak TLS: the loaded stores and protocols, and the client-auth rule. */
export interface ClientPortTls {
  /** Key, certificate chain, trusted CAs, versions and cipher suites, as Node's TLS takes them. */
  readonly contextOptions: SecureContextOptions;
  readonly clientAuth: ClientAuth;
}

/**
 * Loads the stores the settings name, checks them, and builds the secure context.
 *
 * @throws {@link ConfigError} naming the key at fault (a missing or unreadable store, a wrong
 *   password, an expired certificate, no trust store while clients must show certificates)
 */
export async function loadClientTls(settings: ClientTlsSettings, nowMs = Date.now()): Promise<ClientPortTls> {
  const tls = settings.tls;
  if (tls === undefined) throw new Error('loadClientTls: no listener speaks TLS');
  if (tls.keyStore === undefined)
    throw new ConfigError(
      `${prefix}keyStore.location`,
      undefined,
      'is not set (a TLS client port needs one)',
    );
  if (tls.trustStore === undefined && settings.clientAuth !== 'none') {
    throw new ConfigError(
      `${prefix}trustStore.location`,
      undefined,
      `is not set: ssl.clientAuth=${settings.clientAuth} checks client certificates against it (or set ssl.clientAuth=none)`,
    );
  }
  const own = await loadKeyStore(tls.keyStore, nowMs);
  const ca = tls.trustStore === undefined ? undefined : await loadTrustStore(tls.trustStore);
  const { minVersion, maxVersion, ciphers } = tlsVersionsAndCiphers(tls);
  const contextOptions: SecureContextOptions = {
    key: own.key,
    cert: own.cert,
    ...(ca === undefined ? {} : { ca }),
    minVersion,
    maxVersion,
    ...(ciphers === undefined ? {} : { ciphers }),
  };
  try {
    // What Node's TLS refuses is refused here, at start, naming the key.
    createSecureContext(contextOptions);
  } catch (error) {
    const key =
      ciphers !== undefined && /cipher/i.test((error as Error).message)
        ? `${prefix}ciphersuites`
        : tls.keyStore.locationKey;
    throw new ConfigError(key, undefined, `is not accepted by TLS: ${(error as Error).message}`);
  }
  return { contextOptions, clientAuth: settings.clientAuth };
}

/** The first byte of a TLS connection: a handshake record. */
export const tlsHandshakeRecordType = 0x16;

/**
 * A TLS server that listens on nothing: a client port hands it the sockets it accepted (with
 * what it already read put back), and it does the server side of TLS, verifying client
 * certificates as `ssl.clientAuth` says. A handshake must end within `handshakeTimeoutMs`.
 */
export function createClientTlsServer(tls: ClientPortTls, handshakeTimeoutMs: number): TlsServer {
  return createTlsServer({
    ...tls.contextOptions,
    requestCert: tls.clientAuth !== 'none',
    // want: a certificate is optional, but one that is shown must be trusted (checked once the
    // handshake is done: see refusedClientCertificate), as Java's wantClientAuth does.
    rejectUnauthorized: tls.clientAuth === 'need',
    handshakeTimeout: handshakeTimeoutMs,
  });
}

/**
 * Why a finished handshake must be refused under `want`: a certificate was shown and the trust
 * store does not vouch for it. Undefined when the connection may proceed.
 */
export function refusedClientCertificate(socket: TLSSocket, clientAuth: ClientAuth): string | undefined {
  if (clientAuth !== 'want' || socket.authorized) return undefined;
  const shown = Object.keys(socket.getPeerCertificate()).length > 0;
  if (!shown) return undefined;
  return String(socket.authorizationError ?? 'untrusted client certificate');
}
