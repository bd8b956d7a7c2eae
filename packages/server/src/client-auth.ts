/**
 * How clients authenticate beyond `addauth digest`, configured with ZooKeeper's keys (system
 * properties in ZooKeeper, so zoo.cfg keys or `-Dzookeeper.<key>` here):
 *
 * - SASL DIGEST-MD5 (opcode 102): the users are a JAAS file's `Server` section (or the
 *   section `sasl.serverconfig` names), `user_<name>="<password>"` options of
 *   `org.apache.zookeeper.server.auth.DigestLoginModule`, the file named by
 *   `-Djava.security.auth.login.config` as for ZooKeeper, or zoo.cfg's
 *   `zabkit.sasl.loginConfig`. A proved user is `sasl:<user>`; `superUser` (and
 *   `superUser.<anything>`) name SASL super users; `SASLAuthenticationProvider.superPassword`
 *   replaces the password of the user `super`.
 * - x509: a TLS client certificate's subject (RFC 2253, as Java prints it) is `x509:<subject>`;
 *   `X509AuthenticationProvider.superUser` names the subject that is super. `ssl.authProvider`
 *   takes only `x509`.
 * - `enforce.auth.enabled` with `enforce.auth.schemes` (or `sessionRequireClientSASLAuth`):
 *   a connection holding none of those schemes is refused.
 * - `authProvider.<N>`: ZooKeeper's own provider classes are accepted (zabkit knows their
 *   schemes always); any other class cannot be loaded and stops the server.
 *
 * Kerberos (GSSAPI) is not supported: a JAAS section with another login module than
 * DigestLoginModule stops the server naming the file's key.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from './config-error.js';

/** The client authentication settings from zoo.cfg, checked but not yet loaded. */
export interface ClientAuthSettings {
  /** The JAAS file with the SASL users, and the key that named it; undefined without SASL. */
  readonly loginConfig: { readonly path: string; readonly key: string } | undefined;
  /** `sasl.serverconfig`: the JAAS section of the server's users (default Server). */
  readonly loginSection: string;
  /** `superUser`, `superUser.*`: SASL users that pass every ACL. */
  readonly saslSuperUsers: readonly string[];
  /** `SASLAuthenticationProvider.superPassword`: the password of the SASL user `super`. */
  readonly saslSuperPassword: string | undefined;
  /** `allowSaslFailedClients`: keep a connection whose SASL exchange failed. */
  readonly allowSaslFailedClients: boolean;
  /** `X509AuthenticationProvider.superUser`: the certificate subject that passes every ACL. */
  readonly x509SuperUser: string | undefined;
  /** The schemes enforce.auth requires (one of); empty when not enforced. */
  readonly enforceAuthSchemes: readonly string[];
}

/** The keys this module reads, as zoo.cfg spells them (system property `zookeeper.<key>`). */
export const CLIENT_AUTH_KEYS: ReadonlySet<string> = new Set([
  'zabkit.sasl.loginConfig',
  'sasl.serverconfig',
  'superUser',
  'SASLAuthenticationProvider.superPassword',
  'allowSaslFailedClients',
  'X509AuthenticationProvider.superUser',
  'ssl.authProvider',
  'enforce.auth.enabled',
  'enforce.auth.schemes',
  'sessionRequireClientSASLAuth',
  ...['letAnySaslUserDoX', 'DigestAuthenticationProvider.digestAlg', 'DigestAuthenticationProvider.enabled'],
]);

/**
 * Keys accepted only with the value zabkit does anyway: any other asks for what it does not do,
 * and stops the server (a security setting silently dropped is a hole).
 */
const honouredOnlyAs: ReadonlyMap<
  string,
  { readonly accept: (value: string) => boolean; readonly why: string }
> = new Map([
  [
    'letAnySaslUserDoX',
    {
      accept: () => false,
      why: 'an ACL user every SASL user passes is not supported; name the users in the ACL',
    },
  ],
  [
    'DigestAuthenticationProvider.digestAlg',
    {
      accept: (value: string) => /^SHA-?1$/i.test(value),
      why: 'digest identities are SHA1, as ZooKeeper defaults them; another algorithm is not supported',
    },
  ],
  [
    'DigestAuthenticationProvider.enabled',
    {
      accept: (value: string) => value.toLowerCase() === 'true',
      why: 'the digest scheme cannot be turned off in zabkit',
    },
  ],
]);

/** The command-line property a JVM reads the JAAS file from; cli.ts's `-D` maps it here. */
export const jaasProperty = 'java.security.auth.login.config';

/** ZooKeeper's provider classes, by the scheme each serves. */
const providerClasses: ReadonlyMap<string, string> = new Map([
  ['org.apache.zookeeper.server.auth.IPAuthenticationProvider', 'ip'],
  ['org.apache.zookeeper.server.auth.DigestAuthenticationProvider', 'digest'],
  ['org.apache.zookeeper.server.auth.SASLAuthenticationProvider', 'sasl'],
  ['org.apache.zookeeper.server.auth.X509AuthenticationProvider', 'x509'],
]);

const knownSchemes: ReadonlySet<string> = new Set(providerClasses.values());

/** Whether `key` is one this module reads. */
export function isClientAuthKey(key: string): boolean {
  return CLIENT_AUTH_KEYS.has(key) || key.startsWith('authProvider.') || key.startsWith('superUser.');
}

function parseBoolean(key: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  const lower = value.trim().toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw new ConfigError(key, value, 'expected true or false');
}

/**
 * Reads and checks the client authentication keys. Pure: the JAAS file is read by
 * {@link loadSaslUsers}.
 *
 * @param keys - every key set (to find `authProvider.*` and `superUser.*`)
 * @throws {@link ConfigError} naming the first key that cannot be honoured
 */
export function parseClientAuthSettings(
  get: (key: string) => string | undefined,
  keys: Iterable<string>,
  jaasFromCommandLine: string | undefined,
): ClientAuthSettings {
  for (const [key, rule] of honouredOnlyAs) {
    const value = get(key)?.trim();
    if (value !== undefined && !rule.accept(value)) throw new ConfigError(key, value, rule.why);
  }
  const saslSuperUsers: string[] = [];
  for (const key of keys) {
    if (key.startsWith('authProvider.')) {
      const value = get(key)!.trim();
      if (!providerClasses.has(value))
        throw new ConfigError(
          key,
          value,
          `zabkit cannot load a Java authentication provider; it knows ${[...providerClasses.keys()].join(', ')}`,
        );
    } else if (key === 'superUser' || key.startsWith('superUser.')) {
      const value = get(key)!.trim();
      if (value !== '') saslSuperUsers.push(value);
    }
  }
  const authProvider = get('ssl.authProvider')?.trim();
  if (authProvider !== undefined && authProvider !== 'x509')
    throw new ConfigError(
      'ssl.authProvider',
      authProvider,
      'only x509 (the subject of a client certificate) is supported',
    );
  const loginConfigValue = get('zabkit.sasl.loginConfig')?.trim();
  if (loginConfigValue === '')
    throw new ConfigError('zabkit.sasl.loginConfig', loginConfigValue, 'expected the path of a JAAS file');
  const loginConfig =
    loginConfigValue !== undefined
      ? { path: loginConfigValue, key: 'zabkit.sasl.loginConfig' }
      : jaasFromCommandLine !== undefined
        ? { path: jaasFromCommandLine, key: `-D${jaasProperty}` }
        : undefined;
  const enforceAuthSchemes = parseEnforcement(get);
  if (enforceAuthSchemes.includes('sasl') && loginConfig === undefined)
    throw new ConfigError(
      'enforce.auth.schemes',
      enforceAuthSchemes.join(','),
      `sasl needs SASL users: set -D${jaasProperty} or zabkit.sasl.loginConfig`,
    );
  return {
    loginConfig,
    loginSection: get('sasl.serverconfig')?.trim() || 'Server',
    saslSuperUsers,
    saslSuperPassword: get('SASLAuthenticationProvider.superPassword'),
    allowSaslFailedClients: parseBoolean('allowSaslFailedClients', get('allowSaslFailedClients')),
    x509SuperUser: get('X509AuthenticationProvider.superUser')?.trim() || undefined,
    enforceAuthSchemes,
  };
}

/** ZooKeeper's AuthenticationHelper: sessionRequireClientSASLAuth wins, then enforce.auth.*. */
function parseEnforcement(get: (key: string) => string | undefined): readonly string[] {
  if (parseBoolean('sessionRequireClientSASLAuth', get('sessionRequireClientSASLAuth'))) return ['sasl'];
  if (!parseBoolean('enforce.auth.enabled', get('enforce.auth.enabled'))) return [];
  const value = get('enforce.auth.schemes');
  const schemes = (value ?? '')
    .split(',')
    .map((scheme) => scheme.trim())
    .filter((scheme) => scheme !== '');
  if (schemes.length === 0)
    throw new ConfigError(
      'enforce.auth.schemes',
      value,
      'must name a scheme when enforce.auth.enabled is true',
    );
  for (const scheme of schemes) {
    if (!knownSchemes.has(scheme))
      throw new ConfigError(
        'enforce.auth.schemes',
        value,
        `authentication scheme ${scheme} is not available`,
      );
  }
  return schemes;
}

/** The SASL users the JAAS file grants, by name. */
export type SaslUsers = ReadonlyMap<string, string>;

const digestLoginModule = 'org.apache.zookeeper.server.auth.DigestLoginModule';

/**
 * Reads the JAAS file's section and the DIGEST-MD5 users in it.
 *
 * @throws {@link ConfigError} naming the key that named the file, when it cannot be read, has
 *   no such section, or asks for a login module other than DigestLoginModule (Kerberos)
 */
export async function loadSaslUsers(settings: ClientAuthSettings): Promise<SaslUsers | undefined> {
  const config = settings.loginConfig;
  if (config === undefined) return undefined;
  let text: string;
  try {
    text = await readFile(config.path, 'utf8');
  } catch (error) {
    throw new ConfigError(config.key, config.path, `cannot be read: ${(error as Error).message}`);
  }
  let sections: Map<string, JaasEntry[]>;
  try {
    sections = parseJaas(text);
  } catch (error) {
    throw new ConfigError(config.key, config.path, `is not a JAAS file: ${(error as Error).message}`);
  }
  const entries = sections.get(settings.loginSection);
  if (entries === undefined)
    throw new ConfigError(config.key, config.path, `has no ${settings.loginSection} section`);
  const users = new Map<string, string>();
  for (const entry of entries) {
    if (entry.module !== digestLoginModule)
      throw new ConfigError(
        config.key,
        config.path,
        `${entry.module} in ${settings.loginSection}: zabkit supports SASL DIGEST-MD5 (${digestLoginModule}) only; Kerberos (GSSAPI) is not supported`,
      );
    for (const [option, value] of entry.options) {
      if (!option.startsWith('user_')) continue;
      const user = option.slice('user_'.length);
      if (user === '' || /[/@]/.test(user))
        throw new ConfigError(
          config.key,
          config.path,
          `user ${JSON.stringify(user)}: a DIGEST-MD5 user is a plain name (no / or @, which are Kerberos principals)`,
        );
      users.set(user, value);
    }
  }
  if (settings.saslSuperPassword !== undefined) users.set('super', settings.saslSuperPassword);
  return users;
}

/** One login module line of a JAAS section. */
export interface JaasEntry {
  readonly module: string;
  readonly flag: string;
  readonly options: ReadonlyMap<string, string>;
}

/**
 * Parses JAAS's configuration syntax: `Name { module flag key=value ...; ... };`, with `//`,
 * `#` and `/* *\/` comments and quoted or bare values.
 *
 * @throws Error saying what is malformed
 */
export function parseJaas(text: string): Map<string, JaasEntry[]> {
  const tokens = tokenize(text);
  let i = 0;
  const next = (what: string): string => {
    const token = tokens[i++];
    if (token === undefined) throw new Error(`unexpected end, expected ${what}`);
    return token;
  };
  const expect = (symbol: string) => {
    const token = next(symbol);
    if (token !== symbol) throw new Error(`expected ${symbol}, found ${token}`);
  };
  const sections = new Map<string, JaasEntry[]>();
  while (i < tokens.length) {
    const name = next('a section name');
    expect('{');
    const entries: JaasEntry[] = [];
    while (tokens[i] !== '}') {
      const module = next('a login module');
      const flag = next('a control flag');
      if (!/^(required|requisite|sufficient|optional)$/i.test(flag))
        throw new Error(`unknown control flag ${flag} for ${module}`);
      const options = new Map<string, string>();
      while (tokens[i] !== ';') {
        const key = next('an option');
        expect('=');
        const value = next('a value');
        options.set(key, value.startsWith('"') ? value.slice(1, -1) : value);
      }
      i++;
      entries.push({ module, flag, options });
    }
    i++;
    if (tokens[i] === ';') i++;
    sections.set(name, entries);
  }
  return sections;
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    if (/\s/.test(char)) {
      i++;
    } else if (text.startsWith('//', i) || char === '#') {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new Error('unterminated comment');
      i = end + 2;
    } else if ('{};='.includes(char)) {
      tokens.push(char);
      i++;
    } else if (char === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw new Error('unterminated quoted value');
      tokens.push(text.slice(i, end + 1));
      i = end + 1;
    } else {
      let end = i;
      while (end < text.length && !/[\s{};="]/.test(text[end]!)) end++;
      tokens.push(text.slice(i, end));
      i = end;
    }
  }
  return tokens;
}
