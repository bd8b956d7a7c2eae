/**
 * zkCli's `-client-configuration <file>`: a Java properties file of ZooKeeper's client keys.
 * `zookeeper.client.secure=true` turns TLS on; the stores and protocols come from
 * `zookeeper.ssl.*` (read by tls-settings.ts, as the server reads its `ssl.*`):
 * `keyStore.location/password/passwordPath/type` for a client certificate (needed when the
 * server's `ssl.clientAuth` is need), `trustStore.*` for the CAs the server's certificate must
 * chain to (Node's bundled CAs without one, as Java falls back to its own), `protocol`,
 * `enabledProtocols`, `ciphersuites` and `hostnameVerification` (default true).
 * `zookeeper.clientCnxnSocket` is accepted and has no effect: Java needs Netty for TLS, zabkit
 * does not. A `zookeeper.ssl.*` key that cannot be honoured stops the shell naming it.
 *
 * SASL DIGEST-MD5 as zkCli logs in: the JAAS file (`java.security.auth.login.config`, which a
 * JVM takes as a system property and the shell takes in this file) and its section
 * (`zookeeper.sasl.clientconfig`, default Client) give `username` and `password` of a
 * DigestLoginModule; `zookeeper.sasl.client=false` turns the login off. Any other SASL key
 * (`zookeeper.sasl.client.username`, `zookeeper.server.principal`, `zookeeper.server.realm`,
 * all for Kerberos), a Kerberos login module, or a section that is not there stops the shell
 * naming the key: a login silently skipped would leave it unauthenticated where its user
 * expects otherwise.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import type { SaslDigestCredentials, TcpTlsOptions } from '@zabkit/client';
import { type JaasEntry, parseJaas } from '../client-auth.js';
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

const saslKeys = {
  jaasFile: 'java.security.auth.login.config',
  section: 'zookeeper.sasl.clientconfig',
  enabled: 'zookeeper.sasl.client',
} as const;

const known: ReadonlySet<string> = new Set([
  'zookeeper.client.secure',
  'zookeeper.clientCnxnSocket',
  ...Object.values(saslKeys),
  ...tlsSettingKeys(prefix),
  ...refusedUnlessFalse.keys(),
]);

/** What a client configuration file asks for. */
export interface ClientConfiguration {
  /** TLS options for the connection, when `zookeeper.client.secure=true`. */
  readonly tls: TcpTlsOptions | undefined;
  /** The SASL DIGEST-MD5 login, when a JAAS file is named and SASL is not turned off. */
  readonly sasl?: SaslDigestCredentials | undefined;
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
    else if (isSaslKey(key))
      throw new ConfigError(
        key,
        value,
        "is for Kerberos, which zabkit's shell does not do; it logs in with SASL DIGEST-MD5 from a JAAS file's username and password",
      );
    else warnings.push(`${path}:${line}: ${key} has no effect in zabkit's shell`);
  }
  const get = (key: string) => values.get(key);
  for (const [key, why] of refusedUnlessFalse) {
    if (parseBoolean(key, get(key))) throw new ConfigError(key, get(key), why);
  }
  const settings = parseTlsSettings({ get }, prefix);
  const sasl = await loadSaslLogin(get);
  if (!parseBoolean('zookeeper.client.secure', get('zookeeper.client.secure'))) {
    const tlsKeys = [...values.keys()].filter((key) => key.startsWith(prefix));
    if (tlsKeys.length > 0)
      warnings.push(`${tlsKeys.join(', ')} have no effect without zookeeper.client.secure=true`);
    return { tls: undefined, sasl, warnings };
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
  return { tls, sasl, warnings };
}

/**
 * The DIGEST-MD5 login the JAAS file's section names, as ZooKeeper's client finds it: none
 * without a file (unless a section was asked for: that is an error, as in ZooKeeper) or with
 * `zookeeper.sasl.client=false`.
 *
 * @throws {@link ConfigError} naming the key at fault
 */
async function loadSaslLogin(
  get: (key: string) => string | undefined,
): Promise<SaslDigestCredentials | undefined> {
  const enabledValue = get(saslKeys.enabled);
  const enabled = enabledValue === undefined || parseBoolean(saslKeys.enabled, enabledValue);
  const path = get(saslKeys.jaasFile)?.trim();
  const sectionValue = get(saslKeys.section)?.trim();
  if (!enabled) return undefined;
  if (path === undefined) {
    if (sectionValue !== undefined)
      throw new ConfigError(
        saslKeys.section,
        sectionValue,
        `names a section, but ${saslKeys.jaasFile} names no JAAS file`,
      );
    return undefined;
  }
  const section = sectionValue || 'Client';
  let entries: JaasEntry[];
  try {
    const found = parseJaas(await readFile(path, 'utf8')).get(section);
    if (found === undefined) throw new Error(`it has no ${section} section`);
    entries = found;
  } catch (error) {
    throw new ConfigError(saslKeys.jaasFile, path, `cannot be used: ${(error as Error).message}`);
  }
  const entry = entries[0];
  if (entries.length !== 1 || entry?.module !== 'org.apache.zookeeper.server.auth.DigestLoginModule')
    throw new ConfigError(
      saslKeys.jaasFile,
      path,
      `its ${section} section must be one org.apache.zookeeper.server.auth.DigestLoginModule: the shell logs in with SASL DIGEST-MD5 only (no Kerberos)`,
    );
  const username = entry.options.get('username');
  const password = entry.options.get('password');
  if (username === undefined || password === undefined)
    throw new ConfigError(saslKeys.jaasFile, path, `its ${section} section needs username and password`);
  return { username, password };
}
