/**
 * zkCli's `-client-configuration <file>`: a Java properties file of ZooKeeper's client keys.
 * `zookeeper.client.secure=true` turns TLS on; the stores and protocols come from
 * `zookeeper.ssl.*` (read by tls-settings.ts, as the server reads its `ssl.*`):
 * `keyStore.location/password/passwordPath/type` for a client certificate (needed when the
 * server's `ssl.clientAuth` is need), `trustStore.*` for the CAs the server's certificate must
 * chain to (Node's bundled CAs without one, as Java falls back to its own), `protocol`,
 * `enabledProtocols`, `ciphersuites` and `hostnameVerification` (default true).
 * `zookeeper.clientCnxnSocket` is accepted and has no effect: Java needs Netty for TLS, zabkit
 * does not. A `zookeeper.ssl.*` key that cannot be honoured stops the shell naming it, and so
 * does a SASL key (`zookeeper.sasl.*` other than `zookeeper.sasl.client=false`,
 * `zookeeper.server.principal`, `zookeeper.server.realm`): the shell does not speak SASL, and
 * a login silently skipped would leave it unauthenticated where its user expects otherwise.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import type { TcpTlsOptions } from '@zabkit/client';
import { parseProperties } from '../config.js';
import { ConfigError } from '../config-error.js';
import {
  loadKeyStore,
  loadTrustStore,
  parseTlsSettings,
  tlsSettingKeys,
  tlsVersionsAndCiphers,
} from '../tls-settings.js';

const prefix = 'zookeeper.ssl.';

/** Client keys accepted only with their harmless value. */
const refusedUnlessFalse: ReadonlyMap<string, string> = new Map([
  ['zookeeper.ssl.crl', 'certificate revocation lists are not checked'],
  ['zookeeper.ssl.ocsp', 'OCSP is not checked'],
]);

const known: ReadonlySet<string> = new Set([
  'zookeeper.client.secure',
  'zookeeper.clientCnxnSocket',
  ...tlsSettingKeys(prefix),
  ...refusedUnlessFalse.keys(),
]);

/** What a client configuration file asks for. */
export interface ClientConfiguration {
  /** TLS options for the connection, when `zookeeper.client.secure=true`. */
  readonly tls: TcpTlsOptions | undefined;
  /** Keys that have no effect here, for the shell to mention. */
  readonly warnings: readonly string[];
}

/** ZooKeeper's client keys for SASL. */
function isSaslKey(key: string): boolean {
  return (
    key.startsWith('zookeeper.sasl.') ||
    key === 'zookeeper.server.principal' ||
    key === 'zookeeper.server.realm'
  );
}

function parseBoolean(key: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  const lower = value.trim().toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw new ConfigError(key, value, 'expected true or false');
}

/**
 * Reads a client configuration file and loads the stores it names.
 *
 * @throws {@link ConfigError} naming the first key that cannot be honoured; file system errors
 *   for the file itself
 */
export async function loadClientConfiguration(
  path: string,
  nowMs = Date.now(),
): Promise<ClientConfiguration> {
  const values = new Map<string, string>();
  const warnings: string[] = [];
  for (const { key, value, line } of parseProperties(await readFile(path, 'utf8'))) {
    if (known.has(key)) values.set(key, value);
    else if (key.startsWith(prefix))
      throw new ConfigError(key, value, 'is not a client TLS key zabkit knows');
    else if (isSaslKey(key) && !(key === 'zookeeper.sasl.client' && value.trim().toLowerCase() === 'false'))
      throw new ConfigError(
        key,
        value,
        "zabkit's shell does not authenticate with SASL; use addauth digest user:password, or a client certificate",
      );
    else warnings.push(`${path}:${line}: ${key} has no effect in zabkit's shell`);
  }
  const get = (key: string) => values.get(key);
  for (const [key, why] of refusedUnlessFalse) {
    if (parseBoolean(key, get(key))) throw new ConfigError(key, get(key), why);
  }
  const settings = parseTlsSettings({ get }, prefix);
  if (!parseBoolean('zookeeper.client.secure', get('zookeeper.client.secure'))) {
    const tlsKeys = [...values.keys()].filter((key) => key.startsWith(prefix));
    if (tlsKeys.length > 0)
      warnings.push(`${tlsKeys.join(', ')} have no effect without zookeeper.client.secure=true`);
    return { tls: undefined, warnings };
  }
  const own = settings.keyStore === undefined ? undefined : await loadKeyStore(settings.keyStore, nowMs);
  const ca = settings.trustStore === undefined ? undefined : await loadTrustStore(settings.trustStore);
  const { minVersion, maxVersion, ciphers } = tlsVersionsAndCiphers(settings);
  const tls: TcpTlsOptions = {
    ...(own === undefined ? {} : { key: own.key, cert: own.cert }),
    ...(ca === undefined ? {} : { ca }),
    minVersion,
    maxVersion,
    ...(ciphers === undefined ? {} : { ciphers }),
    ...(settings.hostnameVerification ? {} : { checkServerIdentity: () => undefined }),
  };
  return { tls, warnings };
}
