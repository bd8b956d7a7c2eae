/**
 * Test certificates made at test time: a CA (or several, or an intermediate), then server and
 * client certificates with chosen subjects and SANs, written into a temporary directory in
 * every store format a ZooKeeper configuration names: PEM (`ssl.*.type=PEM`: the private key
 * and the chain in one file), PKCS#12 (`openssl pkcs12`), and JKS (`keytool`, for Java-side
 * tests). Trust stores come as a PEM file of CA certificates, or as a PKCS#12 or JKS store made
 * by `keytool`, which marks the entries trusted the way Java reads them (a PKCS#12 made by
 * `openssl pkcs12 -nokeys` has no such mark: Java sees it as empty; `trustStore('PKCS12',
 * 'openssl')` gives one of those too).
 *
 * Why the CLIs rather than an npm library: the stores are then made by the very tools operators
 * use (so a test checks that we read what `openssl` and `keytool` write, not what a library
 * of ours thinks they write), there is nothing to install (CI has openssl and Java 17), and
 * expired or wrongly signed certificates are one flag away. Everything runs synchronously:
 * EC P-256 keys take a few milliseconds each.
 *
 * ```ts
 * const pki = createTestPki();
 * const server1 = pki.issue({ name: 'server1', subject: '/CN=server1', dns: ['localhost'], ip: ['127.0.0.1'] });
 * server1.keyStore('PKCS12'); // path to a .p12 with key and chain, password pki.password
 * pki.ca.trustStore('PEM');   // path to the CA certificate
 * pki.cleanup();
 * ```
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Store formats, as `ssl.keyStore.type` / `ssl.trustStore.type` spell them. */
export type StoreType = 'PEM' | 'PKCS12' | 'JKS';

/** Whether `keytool` (Java) is on this machine: JKS stores and keytool-made PKCS#12 need it. */
export const keytoolInstalled = existsSync('/usr/bin/keytool') || onPath('keytool');

/** What a certificate should say. */
export interface CertificateSpec {
  /** File name stem, unique within the PKI (letters, digits, `-`, `_`). */
  readonly name: string;
  /** The subject in openssl's slash form, e.g. `/CN=server1/O=zabkit`. Default `/CN=<name>`. */
  readonly subject?: string;
  /** DNS names for the subjectAltName. */
  readonly dns?: readonly string[];
  /** IP addresses for the subjectAltName. */
  readonly ip?: readonly string[];
  /** URIs for the subjectAltName (SPIFFE-style identities). */
  readonly uri?: readonly string[];
  /** Extended key usage: `both` (the default; a quorum peer is a server and a client) or one of them. */
  readonly usage?: 'server' | 'client' | 'both';
  /** The signing CA: default the PKI's root `ca`. */
  readonly issuer?: TestCa;
  /** Issue it already expired (valid for one day in 2020). */
  readonly expired?: boolean;
  /** Key type: `ec` (P-256, the default, fast) or `rsa` (2048 bits). */
  readonly keyType?: 'ec' | 'rsa';
}

/** An issued end-entity certificate and its stores. */
export interface IssuedCertificate {
  readonly name: string;
  readonly subject: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** The certificate followed by the issuing intermediates (not the root), PEM. */
  readonly chainPem: string;
  /** A key store with the private key and chain, made on first request; password {@link TestPki.password}. */
  keyStore(type: StoreType): string;
}

/** A certificate authority: the root or an intermediate. */
export interface TestCa {
  readonly name: string;
  readonly subject: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly certPem: string;
  /** This CA's certificate and its issuers up to, not including, the root. */
  readonly chainPem: string;
  /**
   * A trust store holding this CA's certificate, made on first request; password
   * {@link TestPki.password}. PKCS#12 and JKS are made by keytool unless `maker` is `openssl`.
   */
  trustStore(type: StoreType, maker?: 'keytool' | 'openssl'): string;
}

/** A throwaway PKI in a temporary directory. */
export interface TestPki {
  readonly dir: string;
  /** The password of every store made here. */
  readonly password: string;
  /** The root CA everything is signed by unless a spec says otherwise. */
  readonly ca: TestCa;
  /** Another CA: a root of its own (an "unknown CA" for negative tests), or an intermediate under `issuer`. */
  createCa(name: string, options?: { readonly subject?: string; readonly issuer?: TestCa }): TestCa;
  issue(spec: CertificateSpec): IssuedCertificate;
  /** A trust store holding several CAs' certificates. */
  trustStoreOf(cas: readonly TestCa[], type: StoreType, name: string): string;
  cleanup(): void;
}

function onPath(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function run(tool: string, args: readonly string[], cwd: string): void {
  try {
    execFileSync(tool, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`${tool} ${args.join(' ')} failed: ${stderr || String(error)}`);
  }
}

function keytool(args: readonly string[], cwd: string): void {
  if (!keytoolInstalled)
    throw new Error('keytool is not installed: JKS and keytool PKCS#12 stores need Java');
  run('keytool', args, cwd);
}

const stemPattern = /^[A-Za-z0-9_-]+$/;

/** Creates a PKI with a root CA `/CN=zabkit test CA` in a new temporary directory. */
export function createTestPki(options: { readonly password?: string } = {}): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-tls-'));
  const password = options.password ?? 'test-store-password';
  const used = new Set<string>();
  let serial = 1;

  const claim = (name: string) => {
    if (!stemPattern.test(name)) throw new Error(`bad certificate name ${JSON.stringify(name)}`);
    if (used.has(name)) throw new Error(`certificate name ${name} already used`);
    used.add(name);
  };

  const generateKey = (name: string, keyType: 'ec' | 'rsa') => {
    const keyPath = join(dir, `${name}.key`);
    const algorithm =
      keyType === 'ec'
        ? ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']
        : ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'];
    run('openssl', ['genpkey', ...algorithm, '-out', keyPath], dir);
    return keyPath;
  };

  /** Signs a CSR for `keyPath` with `issuer` (or self-signs when undefined), with the given v3 extensions. */
  const sign = (
    name: string,
    subject: string,
    keyPath: string,
    extensions: string,
    issuer: TestCa | undefined,
    expired: boolean,
  ) => {
    const certPath = join(dir, `${name}.pem`);
    const csrPath = join(dir, `${name}.csr`);
    const extPath = join(dir, `${name}.ext`);
    writeFileSync(extPath, `[v3]\n${extensions}\n`);
    // -utf8 and -multivalue-rdn: a subject may hold any character, and `+` joins the
    // attributes of one RDN (`/CN=a+UID=1`), as the x509 tests need.
    run(
      'openssl',
      ['req', '-new', '-utf8', '-multivalue-rdn', '-key', keyPath, '-subj', subject, '-out', csrPath],
      dir,
    );
    const signer = issuer ?? { certPath: undefined, keyPath };
    if (expired) {
      // `openssl x509` cannot back-date; `openssl ca` takes explicit dates.
      if (signer.certPath === undefined) throw new Error('an expired certificate needs an issuer');
      const caDir = join(dir, `${name}.ca`);
      mkdirSync(caDir);
      writeFileSync(join(caDir, 'index'), '');
      writeFileSync(join(caDir, 'serial'), `${(serial++).toString(16).padStart(4, '0')}\n`);
      const caConfig = join(caDir, 'ca.cnf');
      writeFileSync(
        caConfig,
        [
          '[ca]',
          'default_ca = test',
          '[test]',
          `database = ${join(caDir, 'index')}`,
          `serial = ${join(caDir, 'serial')}`,
          `new_certs_dir = ${caDir}`,
          'default_md = sha256',
          'policy = anything',
          'unique_subject = no',
          '[anything]',
          'commonName = optional',
          '',
        ].join('\n'),
      );
      run(
        'openssl',
        [
          'ca',
          '-batch',
          '-notext',
          '-config',
          caConfig,
          '-cert',
          signer.certPath,
          '-keyfile',
          signer.keyPath,
          '-in',
          csrPath,
          '-out',
          certPath,
          '-startdate',
          '20200101000000Z',
          '-enddate',
          '20200102000000Z',
          '-extfile',
          extPath,
          '-extensions',
          'v3',
        ],
        dir,
      );
    } else {
      run(
        'openssl',
        [
          'x509',
          '-req',
          '-in',
          csrPath,
          '-out',
          certPath,
          '-days',
          '30',
          '-sha256',
          '-set_serial',
          String(serial++),
          '-extfile',
          extPath,
          '-extensions',
          'v3',
          ...(signer.certPath === undefined
            ? ['-signkey', keyPath]
            : ['-CA', signer.certPath, '-CAkey', signer.keyPath]),
        ],
        dir,
      );
    }
    return certPath;
  };

  const makeCa = (name: string, subject: string, issuer: TestCa | undefined): TestCa => {
    claim(name);
    const keyPath = generateKey(name, 'ec');
    const certPath = sign(
      name,
      subject,
      keyPath,
      [
        'basicConstraints = critical, CA:TRUE',
        'keyUsage = critical, keyCertSign, cRLSign',
        'subjectKeyIdentifier = hash',
        ...(issuer === undefined ? [] : ['authorityKeyIdentifier = keyid']),
      ].join('\n'),
      issuer,
      false,
    );
    const certPem = readFileSync(certPath, 'utf8');
    // A root is what a trust store holds; an intermediate travels in the chain.
    const chainPem = issuer === undefined ? '' : certPem + issuer.chainPem;
    const stores = new Map<string, string>();
    const ca: TestCa = {
      name,
      subject,
      certPath,
      keyPath,
      certPem,
      chainPem,
      trustStore(type, maker = 'keytool') {
        const cacheKey = `${type}/${maker}`;
        const cached = stores.get(cacheKey);
        if (cached !== undefined) return cached;
        const path = writeTrustStore([ca], type, `${name}-trust-${maker}`, maker);
        stores.set(cacheKey, path);
        return path;
      },
    };
    return ca;
  };

  const writeTrustStore = (
    cas: readonly TestCa[],
    type: StoreType,
    stem: string,
    maker: 'keytool' | 'openssl',
  ): string => {
    if (type === 'PEM') {
      const path = join(dir, `${stem}.pem`);
      writeFileSync(path, cas.map((ca) => ca.certPem).join(''));
      return path;
    }
    if (type === 'PKCS12' && maker === 'openssl') {
      const path = join(dir, `${stem}.p12`);
      const bundle = join(dir, `${stem}.bundle.pem`);
      writeFileSync(bundle, cas.map((ca) => ca.certPem).join(''));
      run(
        'openssl',
        ['pkcs12', '-export', '-nokeys', '-in', bundle, '-out', path, '-passout', `pass:${password}`],
        dir,
      );
      return path;
    }
    const path = join(dir, `${stem}.${type === 'JKS' ? 'jks' : 'p12'}`);
    for (const ca of cas) {
      keytool(
        [
          '-importcert',
          '-noprompt',
          '-storetype',
          type,
          '-keystore',
          path,
          '-storepass',
          password,
          '-alias',
          ca.name,
          '-file',
          ca.certPath,
        ],
        dir,
      );
    }
    return path;
  };

  const ca = makeCa('ca', '/CN=zabkit test CA', undefined);

  const issue = (spec: CertificateSpec): IssuedCertificate => {
    const { name } = spec;
    claim(name);
    const subject = spec.subject ?? `/CN=${name}`;
    const issuer = spec.issuer ?? ca;
    const keyPath = generateKey(name, spec.keyType ?? 'ec');
    const san = [
      ...(spec.dns ?? []).map((entry) => `DNS:${entry}`),
      ...(spec.ip ?? []).map((entry) => `IP:${entry}`),
      ...(spec.uri ?? []).map((entry) => `URI:${entry}`),
    ];
    const usage = spec.usage ?? 'both';
    const extendedKeyUsage = { server: 'serverAuth', client: 'clientAuth', both: 'serverAuth, clientAuth' }[
      usage
    ];
    const certPath = sign(
      name,
      subject,
      keyPath,
      [
        'basicConstraints = critical, CA:FALSE',
        'keyUsage = critical, digitalSignature, keyEncipherment',
        `extendedKeyUsage = ${extendedKeyUsage}`,
        'authorityKeyIdentifier = keyid',
        ...(san.length === 0 ? [] : [`subjectAltName = ${san.join(', ')}`]),
      ].join('\n'),
      issuer,
      spec.expired === true,
    );
    const certPem = readFileSync(certPath, 'utf8');
    const keyPem = readFileSync(keyPath, 'utf8');
    const chainPem = certPem + issuer.chainPem;
    const stores = new Map<StoreType, string>();
    return {
      name,
      subject,
      certPath,
      keyPath,
      certPem,
      keyPem,
      chainPem,
      keyStore(type) {
        const cached = stores.get(type);
        if (cached !== undefined) return cached;
        let path: string;
        if (type === 'PEM') {
          path = join(dir, `${name}-keystore.pem`);
          writeFileSync(path, keyPem + chainPem);
        } else {
          const p12 = join(dir, `${name}-keystore.p12`);
          const chainPath = join(dir, `${name}-chain.pem`);
          writeFileSync(chainPath, chainPem);
          run(
            'openssl',
            [
              'pkcs12',
              '-export',
              '-in',
              chainPath,
              '-inkey',
              keyPath,
              '-name',
              name,
              '-out',
              p12,
              '-passout',
              `pass:${password}`,
            ],
            dir,
          );
          path = p12;
          if (type === 'JKS') {
            path = join(dir, `${name}-keystore.jks`);
            keytool(
              [
                '-importkeystore',
                '-noprompt',
                '-srckeystore',
                p12,
                '-srcstoretype',
                'PKCS12',
                '-srcstorepass',
                password,
                '-destkeystore',
                path,
                '-deststoretype',
                'JKS',
                '-deststorepass',
                password,
              ],
              dir,
            );
          }
        }
        stores.set(type, path);
        return path;
      },
    };
  };

  return {
    dir,
    password,
    ca,
    createCa: (name, options = {}) => makeCa(name, options.subject ?? `/CN=${name}`, options.issuer),
    issue,
    trustStoreOf: (cas, type, name) => {
      claim(name);
      return writeTrustStore(cas, type, name, 'keytool');
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
