/**
 * The test PKI makes what it says: certificates Node's TLS accepts or refuses for the right
 * reasons, SANs that hostname checks see, PKCS#12 stores Node loads, and stores Java reads.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import {
  type ConnectionOptions,
  checkServerIdentity,
  connect,
  createServer,
  type PeerCertificate,
  type TLSSocket,
} from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestPki, keytoolInstalled } from './support/tls.js';

const pki = createTestPki();
afterAll(() => pki.cleanup());

const server1 = pki.issue({
  name: 'server1',
  subject: '/CN=server1/O=zabkit',
  dns: ['localhost'],
  ip: ['127.0.0.1'],
});
const client1 = pki.issue({ name: 'client1', subject: '/CN=alice/OU=ops', usage: 'client' });

/** Runs one TLS handshake between the given server and client options; resolves with what each side saw. */
async function handshake(
  serverOptions: Parameters<typeof createServer>[0],
  clientOptions: ConnectionOptions,
): Promise<{ clientError?: Error; serverPeer?: PeerCertificate; clientPeer?: PeerCertificate }> {
  const seen: { serverPeer?: PeerCertificate } = {};
  const server = createServer({ ...serverOptions }, (socket: TLSSocket) => {
    seen.serverPeer = socket.getPeerCertificate();
    socket.end('ok');
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    return await new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, ...clientOptions });
      socket.on('secureConnect', () => {
        const clientPeer = socket.getPeerCertificate();
        socket.on('data', () => {});
        socket.on('end', () => resolve({ ...seen, clientPeer }));
      });
      socket.on('error', (clientError) => resolve({ clientError }));
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('the test PKI', () => {
  it('issues a server and a client certificate that authenticate each other under the CA (PEM)', async () => {
    const result = await handshake(
      {
        key: server1.keyPem,
        cert: server1.chainPem,
        ca: pki.ca.certPem,
        requestCert: true,
        rejectUnauthorized: true,
      },
      {
        key: client1.keyPem,
        cert: client1.chainPem,
        ca: readFileSync(pki.ca.trustStore('PEM')),
        servername: 'localhost',
      },
    );
    expect(result.clientError).toBeUndefined();
    expect(result.clientPeer?.subject).toMatchObject({ CN: 'server1', O: 'zabkit' });
    expect(result.serverPeer?.subject).toMatchObject({ CN: 'alice', OU: 'ops' });
  });

  it('puts the SANs where hostname verification looks', () => {
    const result = handshakePeer(server1);
    expect(result.subjectaltname).toBe('DNS:localhost, IP Address:127.0.0.1');
    expect(checkServerIdentity('localhost', result)).toBeUndefined();
    expect(checkServerIdentity('127.0.0.1', result)).toBeUndefined();
    expect(checkServerIdentity('other.example', result)).toBeInstanceOf(Error);
  });

  it('writes PKCS#12 key stores that Node loads with the password', async () => {
    const result = await handshake(
      { pfx: readFileSync(server1.keyStore('PKCS12')), passphrase: pki.password, ca: pki.ca.certPem },
      { ca: pki.ca.certPem, servername: 'localhost' },
    );
    expect(result.clientError).toBeUndefined();
    expect(result.clientPeer?.subject.CN).toBe('server1');
    await expect(
      handshake({ pfx: readFileSync(server1.keyStore('PKCS12')), passphrase: 'wrong' }, {}),
    ).rejects.toThrow();
  });

  it('makes certificates from another CA and expired ones that verification refuses', async () => {
    const stranger = pki.createCa('stranger-ca');
    const forged = pki.issue({
      name: 'forged',
      subject: '/CN=server1',
      dns: ['localhost'],
      issuer: stranger,
    });
    const expired = pki.issue({ name: 'expired', dns: ['localhost'], expired: true });
    const byStranger = await handshake(
      { key: forged.keyPem, cert: forged.chainPem },
      { ca: pki.ca.certPem, servername: 'localhost' },
    );
    expect((byStranger.clientError as NodeJS.ErrnoException | undefined)?.code).toBe(
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    );
    const byExpired = await handshake(
      { key: expired.keyPem, cert: expired.chainPem },
      { ca: pki.ca.certPem, servername: 'localhost' },
    );
    expect((byExpired.clientError as NodeJS.ErrnoException | undefined)?.code).toBe('CERT_HAS_EXPIRED');
  });

  it('chains through an intermediate CA', async () => {
    const intermediate = pki.createCa('intermediate', { issuer: pki.ca });
    const leaf = pki.issue({ name: 'leaf', dns: ['localhost'], issuer: intermediate });
    const result = await handshake(
      { key: leaf.keyPem, cert: leaf.chainPem },
      { ca: pki.ca.certPem, servername: 'localhost' },
    );
    expect(result.clientError).toBeUndefined();
    expect(readFileSync(leaf.keyStore('PEM'), 'utf8').match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
  });

  it('writes an RSA key when asked', () => {
    const rsa = pki.issue({ name: 'rsa', keyType: 'rsa' });
    expect(rsa.keyPem).toContain('BEGIN PRIVATE KEY');
    expect(execFileSync('openssl', ['pkey', '-in', rsa.keyPath, '-noout', '-text']).toString()).toContain(
      '2048 bit',
    );
  });
});

if (!keytoolInstalled)
  console.warn('keytool not installed: the Java store checks are skipped (CI installs Java 17)');

describe.skipIf(!keytoolInstalled)('the test PKI, as Java reads it', () => {
  const list = (path: string, type: string) =>
    execFileSync('keytool', [
      '-list',
      '-keystore',
      path,
      '-storetype',
      type,
      '-storepass',
      pki.password,
    ]).toString();

  it('writes JKS and PKCS#12 key stores with a private key entry', () => {
    expect(list(server1.keyStore('JKS'), 'JKS')).toMatch(/server1, .*PrivateKeyEntry/);
    expect(list(server1.keyStore('PKCS12'), 'PKCS12')).toMatch(/server1, .*PrivateKeyEntry/);
  });

  it('writes trust stores Java sees as trusted entries, and says which openssl store it cannot see', () => {
    expect(list(pki.ca.trustStore('JKS'), 'JKS')).toMatch(/ca, .*trustedCertEntry/);
    expect(list(pki.ca.trustStore('PKCS12'), 'PKCS12')).toMatch(/ca, .*trustedCertEntry/);
    expect(list(pki.ca.trustStore('PKCS12', 'openssl'), 'PKCS12')).toContain('contains 0 entries');
  });
});

/** The parsed form Node hands to checkServerIdentity, built from the PEM itself. */
function handshakePeer(certificate: { certPem: string }): PeerCertificate {
  const x509 = new X509Certificate(certificate.certPem);
  return { subject: {}, subjectaltname: x509.subjectAltName ?? '' } as unknown as PeerCertificate;
}
