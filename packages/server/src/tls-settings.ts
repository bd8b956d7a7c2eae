/**
 * TLS settings as ZooKeeper names them under a prefix (`ssl.quorum.` for peer links, `ssl.`
 * for the client port): key and trust stores (`keyStore.location/password/passwordPath/type`,
 * the same under `trustStore.`), `protocol`, `enabledProtocols`, `ciphersuites` and
 * `hostnameVerification`; parsed (pure) and then loaded into the options Node's TLS takes.
 *
 * Stores: PEM (the private key and the certificate chain in one file for a key store, CA
 * certificates for a trust store) and PKCS#12 (read with node-forge: Node itself can load a
 * PKCS#12 key store but not a trust store, which holds no key, and it would quietly trust every
 * extra certificate of a key store). JKS and BCFKS cannot be read and stop the server naming
 * the key, with the keytool command that converts them. Every failure (a file it cannot read,
 * a wrong password, a key that does not match its certificate, an expired certificate, a
 * protocol or cipher suite Node does not have) is a {@link ConfigError} naming the key.
 *
 * @module
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { createSecureContext } from 'node:tls';
import type forgeModule from 'node-forge';
import { ConfigError } from './config-error.js';

/**
 * node-forge, loaded on the first PKCS#12 store read: loading it costs every server start
 * 40-70 ms of CPU, and most servers read no PKCS#12 store.
 */
let forgeLoaded: typeof forgeModule | undefined;
function nodeForge(): typeof forgeModule {
  forgeLoaded ??= createRequire(import.meta.url)('node-forge') as typeof forgeModule;
  return forgeLoaded;
}

/** Store formats zabkit reads. */
export type StoreType = 'PEM' | 'PKCS12';

/** TLS versions zabkit offers; older ones are refused as insecure. */
export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

/** How a parser reads raw values (config.ts hands over its parsed properties). */
export interface TlsSettingsSource {
  get(key: string): string | undefined;
}

/** Where a store is and how to open it; `*Key` fields name the keys for error messages. */
export interface StoreSettings {
  readonly location: string;
  readonly locationKey: string;
  /** The password given inline, or undefined. */
  readonly password: string | undefined;
  readonly passwordKey: string;
  /** A file holding the password (ZooKeeper's `passwordPath`), or undefined. */
  readonly passwordPath: string | undefined;
  readonly passwordPathKey: string;
  readonly type: StoreType;
}

/** TLS settings under one prefix, validated but not yet loaded. */
export interface TlsSettings {
  readonly prefix: string;
  readonly keyStore: StoreSettings | undefined;
  readonly trustStore: StoreSettings | undefined;
  /** Versions to offer and accept, at least one. */
  readonly protocols: readonly TlsVersion[];
  /** Cipher suites as configured (IANA or OpenSSL names), or undefined for Node's defaults. */
  readonly cipherSuites: readonly string[] | undefined;
  /** `hostnameVerification`, default true. */
  readonly hostnameVerification: boolean;
}

/** What Node's TLS takes, loaded from the stores. */
export interface TlsContextOptions {
  /** Private key, PKCS#8 PEM. */
  readonly key: string;
  /** Leaf certificate and intermediates, PEM. */
  readonly cert: string;
  /** Trusted CA certificates, PEM each. */
  readonly ca: readonly string[];
  readonly minVersion: TlsVersion;
  readonly maxVersion: TlsVersion;
  /** OpenSSL cipher list, when suites were configured. */
  readonly ciphers: string | undefined;
  /** The leaf certificate, for checks such as "does it name this server". */
  readonly certificate: X509Certificate;
}

/** The keys {@link parseTlsSettings} reads under `prefix`. */
export function tlsSettingKeys(prefix: string): string[] {
  const stores = ['keyStore', 'trustStore'].flatMap((store) =>
    ['location', 'password', 'passwordPath', 'type'].map((field) => `${prefix}${store}.${field}`),
  );
  return [
    ...stores,
    `${prefix}protocol`,
    `${prefix}enabledProtocols`,
    `${prefix}ciphersuites`,
    `${prefix}hostnameVerification`,
  ];
}

const versions: readonly TlsVersion[] = ['TLSv1.2', 'TLSv1.3'];
const insecureVersions = new Set(['SSLv2', 'SSLv3', 'TLSv1', 'TLSv1.1', 'SSL', 'SSLv2Hello']);

function parseVersion(key: string, value: string): TlsVersion {
  const version = value.trim();
  if ((versions as readonly string[]).includes(version)) return version as TlsVersion;
  if (insecureVersions.has(version)) {
    throw new ConfigError(key, value, `${version} is insecure and not offered; use TLSv1.2 or TLSv1.3`);
  }
  throw new ConfigError(key, value, 'expected TLSv1.2 or TLSv1.3');
}

function parseStoreType(typeKey: string, typeValue: string | undefined, location: string): StoreType {
  let type = typeValue?.trim().toUpperCase();
  if (type === undefined || type === '') {
    // As ZooKeeper: from the file name when the type is not given.
    const extension = extname(location).toLowerCase();
    type = {
      '.pem': 'PEM',
      '.crt': 'PEM',
      '.p12': 'PKCS12',
      '.pfx': 'PKCS12',
      '.jks': 'JKS',
      '.bcfks': 'BCFKS',
    }[extension];
    if (type === undefined) {
      throw new ConfigError(
        typeKey,
        undefined,
        `is not set and cannot be told from the file name ${location}; expected PEM or PKCS12`,
      );
    }
  }
  if (type === 'PEM' || type === 'PKCS12') return type;
  if (type === 'JKS' || type === 'BCFKS') {
    throw new ConfigError(
      typeKey,
      typeValue ?? type,
      `${type} stores cannot be read by zabkit; convert to PKCS12 with: keytool -importkeystore -srckeystore ${location} -srcstoretype ${type} -destkeystore store.p12 -deststoretype PKCS12`,
    );
  }
  throw new ConfigError(typeKey, typeValue, 'expected PEM or PKCS12');
}

function parseStore(source: TlsSettingsSource, base: string): StoreSettings | undefined {
  const locationKey = `${base}.location`;
  const passwordKey = `${base}.password`;
  const passwordPathKey = `${base}.passwordPath`;
  const typeKey = `${base}.type`;
  const location = source.get(locationKey)?.trim();
  const password = source.get(passwordKey);
  const passwordPath = source.get(passwordPathKey)?.trim();
  if (location === undefined || location === '') {
    for (const key of [passwordKey, passwordPathKey, typeKey]) {
      if (source.get(key) !== undefined) throw new ConfigError(key, source.get(key), `needs ${locationKey}`);
    }
    return undefined;
  }
  if (password !== undefined && passwordPath !== undefined) {
    throw new ConfigError(
      passwordPathKey,
      passwordPath,
      `cannot be set with ${passwordKey}; set one of them`,
    );
  }
  return {
    location,
    locationKey,
    password,
    passwordKey,
    passwordPath: passwordPath === '' ? undefined : passwordPath,
    passwordPathKey,
    type: parseStoreType(typeKey, source.get(typeKey), location),
  };
}

function parseBoolean(key: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  const lower = value.trim().toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw new ConfigError(key, value, 'expected true or false');
}

/**
 * Reads and checks the TLS keys under `prefix`. Pure: files are read by {@link loadTlsSettings}.
 *
 * Versions: `enabledProtocols` when set; else `protocol` alone when set (as ZooKeeper, where the
 * enabled protocols default to the context's protocol); else TLSv1.3 and TLSv1.2, as ZooKeeper
 * 3.9 (3.8 offers TLSv1.2 only).
 *
 * @throws {@link ConfigError} naming the first key that cannot be honoured
 */
export function parseTlsSettings(source: TlsSettingsSource, prefix: string): TlsSettings {
  const protocolKey = `${prefix}protocol`;
  const enabledKey = `${prefix}enabledProtocols`;
  const protocolValue = source.get(protocolKey);
  const enabledValue = source.get(enabledKey);
  // Java's generic context names ("TLS") mean "the defaults".
  const protocol =
    protocolValue === undefined || protocolValue.trim().toUpperCase() === 'TLS'
      ? undefined
      : parseVersion(protocolKey, protocolValue);
  let protocols: TlsVersion[];
  if (enabledValue !== undefined) {
    protocols = enabledValue
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '')
      .map((entry) => parseVersion(enabledKey, entry));
    if (protocols.length === 0)
      throw new ConfigError(enabledKey, enabledValue, 'expected TLSv1.2 and/or TLSv1.3');
  } else {
    protocols = protocol === undefined ? ['TLSv1.3', 'TLSv1.2'] : [protocol];
  }
  const ciphersKey = `${prefix}ciphersuites`;
  const ciphersValue = source.get(ciphersKey);
  let cipherSuites: string[] | undefined;
  if (ciphersValue !== undefined) {
    cipherSuites = ciphersValue
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    if (cipherSuites.length === 0)
      throw new ConfigError(ciphersKey, ciphersValue, 'expected a comma list of cipher suites');
    for (const suite of cipherSuites) openSslCipherName(ciphersKey, ciphersValue, suite);
  }
  return {
    prefix,
    keyStore: parseStore(source, `${prefix}keyStore`),
    trustStore: parseStore(source, `${prefix}trustStore`),
    protocols: [...new Set(protocols)],
    cipherSuites,
    hostnameVerification: parseBoolean(
      `${prefix}hostnameVerification`,
      source.get(`${prefix}hostnameVerification`),
      true,
    ),
  };
}

/** TLSv1.3 suites: the same name in Java, IANA's registry and OpenSSL. */
const tls13Suites = new Set([
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_CCM_SHA256',
  'TLS_AES_128_CCM_8_SHA256',
]);

/** TLSv1.2 suites by the IANA name Java (and so ZooKeeper's configuration) uses, to OpenSSL's name. */
const tls12Suites: ReadonlyMap<string, string> = new Map([
  ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'ECDHE-ECDSA-AES128-GCM-SHA256'],
  ['TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', 'ECDHE-ECDSA-AES256-GCM-SHA384'],
  ['TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305'],
  ['TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256', 'ECDHE-ECDSA-AES128-SHA256'],
  ['TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384', 'ECDHE-ECDSA-AES256-SHA384'],
  ['TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA', 'ECDHE-ECDSA-AES128-SHA'],
  ['TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA', 'ECDHE-ECDSA-AES256-SHA'],
  ['TLS_ECDHE_ECDSA_WITH_AES_128_CCM', 'ECDHE-ECDSA-AES128-CCM'],
  ['TLS_ECDHE_ECDSA_WITH_AES_256_CCM', 'ECDHE-ECDSA-AES256-CCM'],
  ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'ECDHE-RSA-AES128-GCM-SHA256'],
  ['TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'ECDHE-RSA-AES256-GCM-SHA384'],
  ['TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256', 'ECDHE-RSA-CHACHA20-POLY1305'],
  ['TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256', 'ECDHE-RSA-AES128-SHA256'],
  ['TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384', 'ECDHE-RSA-AES256-SHA384'],
  ['TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', 'ECDHE-RSA-AES128-SHA'],
  ['TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA', 'ECDHE-RSA-AES256-SHA'],
  ['TLS_DHE_RSA_WITH_AES_128_GCM_SHA256', 'DHE-RSA-AES128-GCM-SHA256'],
  ['TLS_DHE_RSA_WITH_AES_256_GCM_SHA384', 'DHE-RSA-AES256-GCM-SHA384'],
  ['TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256', 'DHE-RSA-CHACHA20-POLY1305'],
  ['TLS_DHE_RSA_WITH_AES_128_CBC_SHA256', 'DHE-RSA-AES128-SHA256'],
  ['TLS_DHE_RSA_WITH_AES_256_CBC_SHA256', 'DHE-RSA-AES256-SHA256'],
  ['TLS_DHE_RSA_WITH_AES_128_CBC_SHA', 'DHE-RSA-AES128-SHA'],
  ['TLS_DHE_RSA_WITH_AES_256_CBC_SHA', 'DHE-RSA-AES256-SHA'],
  ['TLS_RSA_WITH_AES_128_GCM_SHA256', 'AES128-GCM-SHA256'],
  ['TLS_RSA_WITH_AES_256_GCM_SHA384', 'AES256-GCM-SHA384'],
  ['TLS_RSA_WITH_AES_128_CBC_SHA256', 'AES128-SHA256'],
  ['TLS_RSA_WITH_AES_256_CBC_SHA256', 'AES256-SHA256'],
  ['TLS_RSA_WITH_AES_128_CBC_SHA', 'AES128-SHA'],
  ['TLS_RSA_WITH_AES_256_CBC_SHA', 'AES256-SHA'],
]);
const openSslTls12Names = new Set(tls12Suites.values());

/** OpenSSL's name for a suite given by its IANA (Java) or OpenSSL name, and whether it is a TLSv1.3 suite. */
function openSslCipherName(key: string, value: string, suite: string): { name: string; tls13: boolean } {
  if (tls13Suites.has(suite)) return { name: suite, tls13: true };
  const mapped = tls12Suites.get(suite) ?? (openSslTls12Names.has(suite) ? suite : undefined);
  if (mapped === undefined) {
    throw new ConfigError(
      key,
      value,
      `cipher suite ${suite} is unknown or not offered (weak suites are not)`,
    );
  }
  return { name: mapped, tls13: false };
}

/** The versions and OpenSSL cipher list that honour `settings`, or a ConfigError when none can. */
export function tlsVersionsAndCiphers(settings: TlsSettings): {
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  ciphers: string | undefined;
} {
  let enabled = [...settings.protocols];
  let ciphers: string | undefined;
  const ciphersKey = `${settings.prefix}ciphersuites`;
  if (settings.cipherSuites !== undefined) {
    const value = settings.cipherSuites.join(',');
    const suites = settings.cipherSuites.map((suite) => openSslCipherName(ciphersKey, value, suite));
    // As in Java, the list is exact: a version none of the listed suites belongs to is not offered.
    const has13 = suites.some((suite) => suite.tls13);
    const has12 = suites.some((suite) => !suite.tls13);
    enabled = enabled.filter((version) => (version === 'TLSv1.3' ? has13 : has12));
    if (enabled.length === 0) {
      throw new ConfigError(
        ciphersKey,
        value,
        `no listed suite belongs to the enabled protocols ${settings.protocols.join(', ')}`,
      );
    }
    ciphers = suites.map((suite) => suite.name).join(':');
  }
  const sorted = versions.filter((version) => enabled.includes(version));
  return { minVersion: sorted[0]!, maxVersion: sorted.at(-1)!, ciphers };
}

async function readSetting(key: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new ConfigError(key, path, `cannot be read: ${(error as Error).message}`);
  }
}

/** The store's password: inline, from its passwordPath file (trailing newline dropped), or empty. */
async function storePassword(store: StoreSettings): Promise<string> {
  if (store.passwordPath !== undefined) {
    const text = (await readSetting(store.passwordPathKey, store.passwordPath)).toString('utf8');
    return text.replace(/\r?\n$/, '');
  }
  return store.password ?? '';
}

const pemBlock = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

function pemBlocks(text: string): { label: string; pem: string }[] {
  return [...text.matchAll(pemBlock)].map((match) => ({ label: match[1]!, pem: `${match[0]}\n` }));
}

function parseCertificate(key: string, location: string, pem: string | Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new ConfigError(
      key,
      location,
      `holds a certificate that does not parse: ${(error as Error).message}`,
    );
  }
}

/** Orders `certificates` from the one matching `key` up its chain of issuers. */
function chainFrom(store: StoreSettings, key: KeyObject, certificates: X509Certificate[]): X509Certificate[] {
  const leaf = certificates.find((certificate) => certificate.checkPrivateKey(key));
  if (leaf === undefined) {
    throw new ConfigError(
      store.locationKey,
      store.location,
      'holds no certificate that matches its private key',
    );
  }
  const chain = [leaf];
  const rest = certificates.filter((certificate) => certificate !== leaf);
  for (let current = leaf; ; ) {
    const issuer = rest.find(
      (candidate) => candidate !== current && current.checkIssued(candidate) && !chain.includes(candidate),
    );
    if (issuer === undefined || issuer.checkIssued(issuer)) break; // the root stays with the trust store
    chain.push(issuer);
    current = issuer;
  }
  return chain;
}

function checkValidity(store: StoreSettings, certificate: X509Certificate, nowMs: number): void {
  const from = Date.parse(certificate.validFrom);
  const to = Date.parse(certificate.validTo);
  if (nowMs > to) {
    throw new ConfigError(
      store.locationKey,
      store.location,
      `holds a certificate that expired on ${certificate.validTo}`,
    );
  }
  if (nowMs < from) {
    throw new ConfigError(
      store.locationKey,
      store.location,
      `holds a certificate not valid before ${certificate.validFrom}`,
    );
  }
}

/** Decodes a PKCS#12 file: its certificates (DER) and its private keys (PKCS#8 DER). */
function readPkcs12(
  store: StoreSettings,
  bytes: Buffer,
  password: string,
): { certificates: Buffer[]; keys: Buffer[] } {
  const forge = nodeForge();
  let p12: forgeModule.pkcs12.Pkcs12Pfx;
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(bytes.toString('binary')));
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, true, password);
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    if (/MAC could not be verified|Invalid password/i.test(message)) {
      const key = store.passwordPath === undefined ? store.passwordKey : store.passwordPathKey;
      throw new ConfigError(
        key,
        undefined,
        `does not open ${store.location} (wrong password, or the store is damaged)`,
      );
    }
    throw new ConfigError(store.locationKey, store.location, `is not a readable PKCS12 store: ${message}`);
  }
  const toDer = (asn1: forgeModule.asn1.Asn1) => Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
  const certificates: Buffer[] = [];
  for (const bag of p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? []) {
    // forge parses RSA certificates itself and keeps the ASN.1 of the others (EC, Ed25519).
    const asn1 = bag.cert
      ? forge.pki.certificateToAsn1(bag.cert)
      : (bag as { asn1?: forgeModule.asn1.Asn1 }).asn1;
    if (asn1 !== undefined) certificates.push(toDer(asn1));
  }
  const keys: Buffer[] = [];
  for (const bagType of [forge.pki.oids.pkcs8ShroudedKeyBag!, forge.pki.oids.keyBag!]) {
    for (const bag of p12.getBags({ bagType })[bagType] ?? []) {
      const asn1 = bag.key
        ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key))
        : (bag as { asn1?: forgeModule.asn1.Asn1 }).asn1;
      if (asn1 !== undefined) keys.push(toDer(asn1));
    }
  }
  return { certificates, keys };
}

/** Reads a key store: the private key and the chain of the certificate it belongs to. */
export async function loadKeyStore(
  store: StoreSettings,
  nowMs = Date.now(),
): Promise<{ key: string; cert: string; certificate: X509Certificate }> {
  const bytes = await readSetting(store.locationKey, store.location);
  const password = await storePassword(store);
  let key: KeyObject;
  let certificates: X509Certificate[];
  if (store.type === 'PEM') {
    const blocks = pemBlocks(bytes.toString('utf8'));
    const keyBlocks = blocks.filter((block) => block.label.endsWith('PRIVATE KEY'));
    if (keyBlocks.length !== 1) {
      throw new ConfigError(
        store.locationKey,
        store.location,
        `holds ${keyBlocks.length} private keys; expected one`,
      );
    }
    try {
      key = createPrivateKey({
        key: keyBlocks[0]!.pem,
        ...(password === '' ? {} : { passphrase: password }),
      });
    } catch (error) {
      const encrypted =
        keyBlocks[0]!.label === 'ENCRYPTED PRIVATE KEY' || /ENCRYPTED/.test(keyBlocks[0]!.pem);
      if (encrypted) {
        const passwordKey = store.passwordPath === undefined ? store.passwordKey : store.passwordPathKey;
        throw new ConfigError(
          passwordKey,
          undefined,
          `does not decrypt the private key in ${store.location}`,
        );
      }
      throw new ConfigError(
        store.locationKey,
        store.location,
        `holds a private key that does not parse: ${(error as Error).message}`,
      );
    }
    certificates = blocks
      .filter((block) => block.label === 'CERTIFICATE')
      .map((block) => parseCertificate(store.locationKey, store.location, block.pem));
  } else {
    const contents = readPkcs12(store, bytes, password);
    if (contents.keys.length !== 1) {
      throw new ConfigError(
        store.locationKey,
        store.location,
        `holds ${contents.keys.length} private keys; expected one`,
      );
    }
    key = createPrivateKey({ key: contents.keys[0]!, format: 'der', type: 'pkcs8' });
    certificates = contents.certificates.map((der) =>
      parseCertificate(store.locationKey, store.location, der),
    );
  }
  if (certificates.length === 0)
    throw new ConfigError(store.locationKey, store.location, 'holds no certificate');
  const chain = chainFrom(store, key, certificates);
  checkValidity(store, chain[0]!, nowMs);
  return {
    key: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
    cert: chain.map((certificate) => certificate.toString()).join(''),
    certificate: chain[0]!,
  };
}

/** Reads a trust store: every certificate in it, PEM. */
export async function loadTrustStore(store: StoreSettings): Promise<string[]> {
  const bytes = await readSetting(store.locationKey, store.location);
  const password = await storePassword(store);
  let certificates: X509Certificate[];
  if (store.type === 'PEM') {
    certificates = pemBlocks(bytes.toString('utf8'))
      .filter((block) => block.label === 'CERTIFICATE')
      .map((block) => parseCertificate(store.locationKey, store.location, block.pem));
  } else {
    certificates = readPkcs12(store, bytes, password).certificates.map((der) =>
      parseCertificate(store.locationKey, store.location, der),
    );
  }
  if (certificates.length === 0)
    throw new ConfigError(store.locationKey, store.location, 'holds no certificate');
  return certificates.map((certificate) => certificate.toString());
}

/**
 * Loads the stores `settings` name and checks that Node's TLS takes the result (versions,
 * cipher suites, key and certificate together).
 *
 * @throws {@link ConfigError} naming the key at fault
 */
export async function loadTlsSettings(settings: TlsSettings, nowMs = Date.now()): Promise<TlsContextOptions> {
  if (settings.keyStore === undefined) {
    throw new ConfigError(`${settings.prefix}keyStore.location`, undefined, 'is not set');
  }
  if (settings.trustStore === undefined) {
    throw new ConfigError(
      `${settings.prefix}trustStore.location`,
      undefined,
      'is not set (zabkit does not fall back to the system CAs for mutual TLS)',
    );
  }
  const own = await loadKeyStore(settings.keyStore, nowMs);
  const ca = await loadTrustStore(settings.trustStore);
  const { minVersion, maxVersion, ciphers } = tlsVersionsAndCiphers(settings);
  const options: TlsContextOptions = {
    key: own.key,
    cert: own.cert,
    ca,
    minVersion,
    maxVersion,
    ciphers,
    certificate: own.certificate,
  };
  try {
    createSecureContext({
      key: options.key,
      cert: options.cert,
      ca: [...ca],
      minVersion,
      maxVersion,
      ...(ciphers === undefined ? {} : { ciphers }),
    });
  } catch (error) {
    const key =
      ciphers !== undefined && /cipher/i.test((error as Error).message)
        ? `${settings.prefix}ciphersuites`
        : settings.keyStore.locationKey;
    throw new ConfigError(key, undefined, `is not accepted by TLS: ${(error as Error).message}`);
  }
  return options;
}
