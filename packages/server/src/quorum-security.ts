/**
 * Quorum security at start: loads what `zoo.cfg`'s quorum keys name (the TLS stores, the
 * secret file), applies the start-up policy, and gives the peer transport its options.
 *
 * The policy: an ensemble whose peers authenticate neither by TLS nor by a secret logs a
 * warning at start, and one whose `server.N` addresses are not all loopback refuses to start
 * (naming the first such `server.N`) unless `zabkit.quorum.allowUnauthenticated=true`. Any
 * key that cannot be honoured stops the server naming it.
 *
 * @module
 */
import { readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { PeerSecurityOptions } from '@zabkit/transport-tcp';
import type { ZabkitConfig } from './config.js';
import { ConfigError } from './config-error.js';
import type { Logger } from './log.js';
import { loadTlsSettings } from './tls-settings.js';

/** The fewest secret bytes accepted: 128 bits, if they were random. */
export const minQuorumSecretBytes = 16;

/** What the peer transport is built with. */
export interface LoadedQuorumSecurity {
  readonly security: PeerSecurityOptions;
  readonly handshakeTimeoutMs: number;
  readonly maxUnauthenticatedConnections: number;
  /** Servers outside the membership whose links are held at once (`zabkit.quorum.nonMemberPeersMax`). */
  readonly nonMemberPeersMax: number;
  /** How peers authenticate, for logs and health answers: `tls`, `secret`, both, or `none`. */
  readonly mechanism: 'tls+secret' | 'tls' | 'secret' | 'none';
}

/** Whether `host` names this machine's loopback interface. */
export function isLoopbackHost(host: string): boolean {
  const lower = host.toLowerCase();
  if (lower === 'localhost') return true;
  if (isIP(lower) === 4) return lower.startsWith('127.');
  if (isIP(lower) === 6) return lower === '::1' || lower === '0:0:0:0:0:0:0:1';
  return false;
}

/** Reads the quorum secret: the file's bytes, trailing whitespace (a final newline) dropped. */
export async function readQuorumSecret(path: string, log: Logger): Promise<Uint8Array> {
  const key = 'zabkit.quorum.secretFile';
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new ConfigError(key, path, `cannot be read: ${(error as Error).message}`);
  }
  let end = bytes.length;
  while (end > 0 && [0x0a, 0x0d, 0x20, 0x09].includes(bytes[end - 1]!)) end--;
  if (end < minQuorumSecretBytes) {
    throw new ConfigError(key, path, `holds ${end} bytes; the secret needs at least ${minQuorumSecretBytes}`);
  }
  const mode = (await stat(path)).mode;
  if ((mode & 0o077) !== 0) {
    log.warn(
      { key, path, mode: `0${(mode & 0o777).toString(8)}` },
      'the quorum secret file can be read by other users',
    );
  }
  return new Uint8Array(bytes.subarray(0, end));
}

/**
 * Loads the quorum's security for an ensemble member and applies the start-up policy.
 *
 * @throws {@link ConfigError} naming the key that cannot be honoured, or the `server.N`
 *   whose address is not loopback when peers would not be authenticated
 */
export async function loadQuorumSecurity(
  config: ZabkitConfig,
  log: Logger,
  nowMs = Date.now(),
): Promise<LoadedQuorumSecurity> {
  const settings = config.quorumSecurity;
  const myid = config.myid;
  const self = myid === undefined ? undefined : config.servers.get(myid);
  if (self === undefined) throw new ConfigError('myid', String(myid), 'is not one of the server.N ids');
  let security: PeerSecurityOptions = {};

  if (settings.tls !== undefined) {
    const tls = await loadTlsSettings(settings.tls, nowMs);
    if (settings.tls.hostnameVerification) {
      // Peers check our certificate against our server.N host (or mapped identity): check it first.
      const identity = settings.identities.get(self.id) ?? self.host;
      const matches =
        isIP(identity) === 0 ? tls.certificate.checkHost(identity) : tls.certificate.checkIP(identity);
      if (matches === undefined) {
        throw new ConfigError(
          'ssl.quorum.keyStore.location',
          settings.tls.keyStore!.location,
          `holds a certificate for ${tls.certificate.subjectAltName ?? tls.certificate.subject}, not for ${identity} (server.${self.id}); peers verifying host names would refuse it (set zabkit.quorum.identity.${self.id} to map another name)`,
        );
      }
    } else {
      log.warn(
        { key: 'ssl.quorum.hostnameVerification' },
        'quorum TLS without hostname verification: any certificate the trust store accepts may claim any server id',
      );
    }
    security = {
      tls: {
        key: tls.key,
        cert: tls.cert,
        ca: tls.ca,
        minVersion: tls.minVersion,
        maxVersion: tls.maxVersion,
        ...(tls.ciphers === undefined ? {} : { ciphers: tls.ciphers }),
        hostnameVerification: settings.tls.hostnameVerification,
        identities: settings.identities,
      },
    };
  }
  if (settings.secretFile !== undefined) {
    security = { ...security, secret: await readQuorumSecret(settings.secretFile, log) };
  }

  const mechanism =
    security.tls !== undefined && security.secret !== undefined
      ? 'tls+secret'
      : security.tls !== undefined
        ? 'tls'
        : security.secret !== undefined
          ? 'secret'
          : 'none';
  if (mechanism === 'none') {
    const exposed = [...config.servers.values()].find((server) => !isLoopbackHost(server.host));
    if (exposed !== undefined && !settings.allowUnauthenticated) {
      throw new ConfigError(
        `server.${exposed.id}`,
        exposed.host,
        'is not a loopback address and peers are not authenticated: anyone who reaches the quorum port could join the ensemble. Set sslQuorum=true (ssl.quorum.*) or zabkit.quorum.secretFile, or zabkit.quorum.allowUnauthenticated=true to run so anyway',
      );
    }
    log.warn(
      {
        keys: 'sslQuorum, zabkit.quorum.secretFile',
        ...(exposed === undefined ? {} : { optedIn: 'zabkit.quorum.allowUnauthenticated' }),
      },
      'PEER LINKS ARE NOT AUTHENTICATED: any process that reaches a quorum port can claim a server id, vote, and commit writes',
    );
  }
  return {
    security,
    handshakeTimeoutMs: settings.handshakeTimeoutMs,
    maxUnauthenticatedConnections: settings.maxUnauthenticatedConnections,
    nonMemberPeersMax: settings.nonMemberPeersMax,
    mechanism,
  };
}
