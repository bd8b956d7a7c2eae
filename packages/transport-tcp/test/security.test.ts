/**
 * Peer authentication on real sockets: the quorum secret's challenge-response, mutual TLS
 * with certificates bound to server ids, and the bounds that hold before a peer is known.
 * Each attack is a raw socket doing what an attacker on the network could.
 */
import { connect, createServer, type Server } from 'node:net';
import { connect as tlsConnect, createServer as tlsCreateServer } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { transportComplianceSuite } from '../../../test/compliance/transport.js';
import { createTestPki, type IssuedCertificate } from '../../../test/support/tls.js';
import {
  decodeAcceptorReply,
  decodePeerMessage,
  encodeHello,
  encodePeerMessage,
  encodeProof,
  FrameReader,
  handshakeProof,
  newNonce,
  type PeerSecurityOptions,
  type PeerTlsOptions,
  TcpTransport,
  type TcpTransportOptions,
} from '../src/index.js';
import {
  cleanUpAfterEach,
  collect,
  connectedEndpoints,
  fastReconnect,
  frame,
  loopbackEnsemble,
  ping,
  recordingLog,
  sleep,
  until,
} from './helpers.js';

const pki = createTestPki();
afterAll(() => pki.cleanup());

/** One certificate per server, each for its own loopback address (127.0.0.N for server N). */
const certificates = new Map<number, IssuedCertificate>(
  [1, 2, 3].map((id) => [
    id,
    pki.issue({ name: `server${id}`, subject: `/CN=server${id}`, ip: [`127.0.0.${id}`] }),
  ]),
);
/** For tests whose endpoints all listen on 127.0.0.1. */
const loopbackCertificate = pki.issue({ name: 'loopback', ip: ['127.0.0.1'] });
const secret = new TextEncoder().encode('an ensemble secret of enough length');

function tlsOptions(certificate: IssuedCertificate, extra: Partial<PeerTlsOptions> = {}): PeerTlsOptions {
  return { key: certificate.keyPem, cert: certificate.chainPem, ca: pki.ca.certPem, ...extra };
}

const { cleanup, sockets } = cleanUpAfterEach();

/** Endpoints on 127.0.0.N for ids N, addressed by those hosts, fully linked. */
const ensemble = (
  ids: readonly number[],
  options: (id: number) => Partial<TcpTransportOptions> = () => ({}),
) => loopbackEnsemble(ids, options, cleanup);

/** A plain TCP connection that reads (and keeps) what it is sent. */
async function rawConnection(host: string, port: number) {
  const socket = connect({ host, port });
  sockets.push(socket);
  socket.on('error', () => {});
  const reader = new FrameReader(1 << 20);
  const frames: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => {
    reader.push(chunk);
    for (let payload = reader.next(); payload !== undefined; payload = reader.next()) frames.push(payload);
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, frames, closed };
}

describe('the transport compliance suite, on authenticated links', () => {
  for (const [name, security] of [
    ['quorum secret', { secret }],
    ['TLS', { tls: tlsOptions(loopbackCertificate) }],
    ['TLS and quorum secret', { secret, tls: tlsOptions(loopbackCertificate) }],
  ] as const satisfies readonly (readonly [string, PeerSecurityOptions])[]) {
    let endpoints: TcpTransport[] = [];
    transportComplianceSuite(`tcp with ${name}`, {
      create: async (ids) => {
        endpoints = await connectedEndpoints(ids, { security });
        return endpoints;
      },
      breakLink: (a, b) => {
        for (const endpoint of endpoints) {
          if (endpoint.serverId === a) endpoint.partition(b);
          if (endpoint.serverId === b) endpoint.partition(a);
        }
      },
      dispose: async () => {
        await Promise.all(endpoints.map((endpoint) => endpoint.shutdown()));
      },
    });
  }
});

describe('the quorum secret', () => {
  it('links servers that hold the same secret, and not servers whose secrets differ', async () => {
    const [a, b] = await ensemble([1, 2], () => ({ security: { secret } }));
    const inboxB = collect(b!);
    a!.send(2, ping(1));
    await until(() => inboxB.received.length === 1);

    const logC = recordingLog();
    const c = new TcpTransport({
      serverId: 3,
      listen: { host: '127.0.0.3', port: 0 },
      reconnect: fastReconnect,
      security: { secret: new TextEncoder().encode('another secret, also long enough') },
      log: logC,
    });
    cleanup.push(c);
    const addressC = await c.start();
    c.setPeer(2, b!.address!);
    b!.setPeer(3, addressC);
    await until(() => logC.lines.length > 0);
    await sleep(200);
    expect(b!.isLinkUp(3)).toBe(false);
    expect(c.isLinkUp(2)).toBe(false);
    // c checks b's proof first and stops there: b never sees a proof from c at all.
    expect(
      logC.lines.some((line) => line.fields.problem === 'the server there does not hold the quorum secret'),
    ).toBe(true);
    expect(b!.isLinkUp(1)).toBe(true);
  });

  it('refuses a server without the secret, and a server with it refuses one without', async () => {
    const logB = recordingLog();
    const [, b] = await ensemble([1, 2], (id) => ({
      security: { secret },
      ...(id === 2 ? { log: logB } : {}),
    }));
    const plain = new TcpTransport({
      serverId: 3,
      listen: { host: '127.0.0.3', port: 0 },
      reconnect: fastReconnect,
    });
    cleanup.push(plain);
    const addressPlain = await plain.start();
    plain.setPeer(2, b!.address!);
    b!.setPeer(3, addressPlain);
    await until(
      () =>
        (b!.securityStats.refused.authMismatch ?? 0) >= 1 &&
        (plain.securityStats.refused.authMismatch ?? 0) >= 1,
    );
    expect(plain.isLinkUp(2)).toBe(false);
    expect(logB.lines.some((line) => line.level === 'warn' && line.fields.reason === 'authMismatch')).toBe(
      true,
    );
  });

  it('a stranger claiming server 1 without the secret is refused, and the real link stays up', async () => {
    const [a, b] = await ensemble([1, 2], () => ({ security: { secret } }));
    const inboxB = collect(b!);
    collect(a!);
    const port = b!.address!.port;

    // Without a nonce (no secret at all), with a ping riding along.
    const bare = await rawConnection('127.0.0.2', port);
    bare.socket.write(Buffer.concat([encodeHello(1, 2), frame(encodePeerMessage(ping(66)))]));
    await bare.closed;

    // With a nonce and a made-up proof.
    const guesser = await rawConnection('127.0.0.2', port);
    const nonce = newNonce();
    guesser.socket.write(encodeHello(1, 2, nonce));
    await until(() => guesser.frames.length === 1);
    expect(decodeAcceptorReply(guesser.frames[0]!)?.kind).toBe('challenge');
    guesser.socket.write(
      Buffer.concat([encodeProof(Buffer.alloc(32, 7)), frame(encodePeerMessage(ping(67)))]),
    );
    await guesser.closed;

    // Reflection: hand the acceptor its own proof back.
    const reflector = await rawConnection('127.0.0.2', port);
    reflector.socket.write(encodeHello(1, 2, nonce));
    await until(() => reflector.frames.length === 1);
    const challenge = decodeAcceptorReply(reflector.frames[0]!);
    if (challenge?.kind !== 'challenge') throw new Error('expected a challenge');
    reflector.socket.write(encodeProof(challenge.proof));
    await reflector.closed;

    // Frames along with the hello, before any challenge.
    const eager = await rawConnection('127.0.0.2', port);
    eager.socket.write(Buffer.concat([encodeHello(1, 2, newNonce()), frame(encodePeerMessage(ping(68)))]));
    await eager.closed;

    await sleep(50);
    expect(inboxB.received).toEqual([]);
    expect(inboxB.down).toEqual([]);
    expect(b!.isLinkUp(1)).toBe(true);
    expect(b!.securityStats.refused).toMatchObject({ authMismatch: 1, badProof: 2, protocol: 1 });
    a!.send(2, ping(1));
    await until(() => inboxB.received.length === 1);
    expect(inboxB.received).toEqual([{ from: 1, message: ping(1) }]);
  });

  it('a recorded handshake replayed later is refused: the acceptor picks a new nonce', async () => {
    const [b] = await ensemble([2], () => ({ security: { secret } }));
    b!.setPeer(1, { host: '127.0.0.1', port: 1 });
    // Server 1 reaches server 2 through a relay that records what server 1 sends.
    const recorded: Buffer[] = [];
    const relay = createServer((inbound) => {
      const outbound = connect({ host: '127.0.0.2', port: b!.address!.port });
      inbound.on('data', (chunk: Buffer) => {
        recorded.push(chunk);
        outbound.write(chunk);
      });
      outbound.on('data', (chunk: Buffer) => inbound.write(chunk));
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    cleanup.push({ shutdown: () => new Promise<void>((resolve) => relay.close(() => resolve())) });
    const relayPort = (relay.address() as { port: number }).port;
    const a = new TcpTransport({
      serverId: 1,
      listen: { host: '127.0.0.1', port: 0 },
      reconnect: fastReconnect,
      security: { secret },
    });
    cleanup.push(a);
    b!.setPeer(1, await a.start());
    a.setPeer(2, { host: '127.0.0.1', port: relayPort });
    await until(() => a.isLinkUp(2) && b!.isLinkUp(1));
    a.close();
    relay.close();

    const bytes = Buffer.concat(recorded);
    const replay = await rawConnection('127.0.0.2', b!.address!.port);
    const helloLength = 4 + bytes.readUInt32BE(0);
    replay.socket.write(bytes.subarray(0, helloLength));
    await until(() => replay.frames.length === 1);
    replay.socket.write(bytes.subarray(helloLength, helloLength + 4 + 33));
    await replay.closed;
    expect(b!.securityStats.refused.badProof).toBe(1);
  });

  it('the proofs bind both ids, both nonces and the role', () => {
    const n1 = newNonce();
    const n2 = newNonce();
    const base = handshakeProof(secret, 'dialler', 1, 2, n1, n2);
    expect(handshakeProof(secret, 'dialler', 1, 2, n1, n2)).toEqual(base);
    for (const other of [
      handshakeProof(secret, 'acceptor', 1, 2, n1, n2),
      handshakeProof(secret, 'dialler', 3, 2, n1, n2),
      handshakeProof(secret, 'dialler', 1, 3, n1, n2),
      handshakeProof(secret, 'dialler', 1, 2, n2, n1),
      handshakeProof(new TextEncoder().encode('x'), 'dialler', 1, 2, n1, n2),
    ]) {
      expect(other).not.toEqual(base);
    }
  });
});

describe('quorum TLS', () => {
  const tlsFor = (id: number, extra: Partial<PeerTlsOptions> = {}) => ({
    security: { tls: tlsOptions(certificates.get(id)!, extra) },
  });

  it('a stranger without a certificate, or with one from another CA, never gets to say hello', async () => {
    const [a, b] = await ensemble([1, 2], (id) => tlsFor(id));
    const inboxB = collect(b!);
    collect(a!);
    const port = b!.address!.port;
    const stranger = pki.createCa('stranger-ca');
    const forged = pki.issue({
      name: 'forged-server1',
      subject: '/CN=server1',
      ip: ['127.0.0.1'],
      issuer: stranger,
    });
    for (const credentials of [{}, { key: forged.keyPem, cert: forged.chainPem }]) {
      const socket = tlsConnect({ host: '127.0.0.2', port, rejectUnauthorized: false, ...credentials });
      sockets.push(socket);
      socket.on('error', () => {});
      socket.on('secureConnect', () =>
        socket.write(Buffer.concat([encodeHello(1, 2), frame(encodePeerMessage(ping(66)))])),
      );
      await new Promise((resolve) => socket.on('close', resolve));
    }
    await sleep(50);
    expect(inboxB.received).toEqual([]);
    expect(b!.securityStats.refused.tls).toBe(2);
    expect(b!.isLinkUp(1)).toBe(true);
  });

  it("a server with a valid certificate cannot claim another server's id", async () => {
    const [a, b] = await ensemble([1, 2], (id) => tlsFor(id));
    const inboxB = collect(b!);
    collect(a!);
    // Server 3 is a member, and its certificate (for 127.0.0.3) is genuine: it claims to be server 1.
    b!.setPeer(3, { host: '127.0.0.3', port: 1 });
    const three = certificates.get(3)!;
    const socket = tlsConnect({
      host: '127.0.0.2',
      port: b!.address!.port,
      key: three.keyPem,
      cert: three.chainPem,
      ca: pki.ca.certPem,
      checkServerIdentity: () => undefined,
    });
    sockets.push(socket);
    socket.on('error', () => {});
    const reader = new FrameReader(128);
    const replies: string[] = [];
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      const payload = reader.next();
      if (payload !== undefined) replies.push(JSON.stringify(decodeAcceptorReply(payload)));
    });
    socket.on('secureConnect', () => socket.write(encodeHello(1, 2)));
    await new Promise((resolve) => socket.on('close', resolve));
    expect(replies).toEqual([JSON.stringify({ kind: 'refuse', reason: 'certificateMismatch' })]);
    expect(inboxB.received).toEqual([]);
    expect(b!.isLinkUp(1)).toBe(true);
  });

  it('a dialler checks that the server it reached holds the certificate of the id it dialled', async () => {
    // Something listens where server 2 should be, with server 3's (genuine) certificate.
    const three = certificates.get(3)!;
    let bytesReceived = 0;
    const impostor = tlsCreateServer({ key: three.keyPem, cert: three.chainPem }, (socket) => {
      socket.on('data', (chunk: Buffer) => {
        bytesReceived += chunk.length;
      });
      socket.on('error', () => {});
    });
    impostor.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.2', resolve));
    cleanup.push({
      shutdown: () => new Promise<void>((resolve) => (impostor as Server).close(() => resolve())),
    });
    const log = recordingLog();
    const a = new TcpTransport({
      serverId: 1,
      listen: { host: '127.0.0.1', port: 0 },
      peers: new Map([[2, { host: '127.0.0.2', port: (impostor.address() as { port: number }).port }]]),
      reconnect: fastReconnect,
      ...tlsFor(1),
      log,
    });
    cleanup.push(a);
    await a.start();
    a.send(2, ping(1));
    await until(() => log.lines.some((line) => line.level === 'warn'));
    expect(log.lines.find((line) => line.level === 'warn')?.fields).toMatchObject({
      peer: 2,
      problem: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
    await sleep(100);
    expect(bytesReceived).toBe(0);
    expect(a.isLinkUp(2)).toBe(false);
  });

  it('an identity mapping names what each certificate must carry instead of its address', async () => {
    const named = new Map(
      [1, 2].map((id) => [id, pki.issue({ name: `named${id}`, dns: [`zk${id}.zabkit.test`] })] as const),
    );
    const identities = new Map([
      [1, 'zk1.zabkit.test'],
      [2, 'zk2.zabkit.test'],
    ]);
    const [a, b] = await ensemble([1, 2], (id) => ({
      security: { tls: tlsOptions(named.get(id)!, { identities }) },
    }));
    const inboxB = collect(b!);
    a!.send(2, ping(1));
    await until(() => inboxB.received.length === 1);

    // Swapped names: each side expects the other's certificate to say the other name.
    const swapped = new Map([
      [1, 'zk2.zabkit.test'],
      [2, 'zk1.zabkit.test'],
    ]);
    const c = new TcpTransport({
      serverId: 1,
      listen: { host: '127.0.0.1', port: 0 },
      reconnect: fastReconnect,
      security: { tls: tlsOptions(named.get(1)!, { identities: swapped }) },
    });
    cleanup.push(c);
    await c.start();
    c.setPeer(2, b!.address!);
    await sleep(300);
    expect(c.isLinkUp(2)).toBe(false);
  });

  it('with hostnameVerification off, any certificate the CA signed may claim any id (as ZooKeeper)', async () => {
    const [b] = await ensemble([2], (id) => tlsFor(id, { hostnameVerification: false }));
    const inboxB = collect(b!);
    const a = new TcpTransport({
      serverId: 1,
      listen: { host: '127.0.0.1', port: 0 },
      reconnect: fastReconnect,
      // Server 3's certificate, presented by server 1.
      security: { tls: tlsOptions(certificates.get(3)!, { hostnameVerification: false }) },
    });
    cleanup.push(a);
    b!.setPeer(1, await a.start());
    a.setPeer(2, b!.address!);
    a.send(2, ping(9));
    await until(() => inboxB.received.length === 1);
    expect(inboxB.received).toEqual([{ from: 1, message: ping(9) }]);
  });
});

describe('after a peer is authenticated', () => {
  it('a message the codec refuses (an absurd epoch) closes that link, logging the field; others stay up', async () => {
    const log = recordingLog();
    const [a, b] = await ensemble([1, 2], (id) => (id === 2 ? { log } : {}));
    b!.setPeer(3, { host: '127.0.0.3', port: 1 });
    const inboxB = collect(b!);
    collect(a!);
    // followerInfo with acceptedEpoch 2^40: made from two encodings the codec does accept.
    const zero = encodePeerMessage({ kind: 'followerInfo', acceptedEpoch: 0, observer: false, attempt: 0 });
    const huge = encodePeerMessage({
      kind: 'followerInfo',
      acceptedEpoch: 0,
      observer: false,
      attempt: 2 ** 40,
    });
    const absurd = Buffer.concat([zero.subarray(0, 1), huge.subarray(3), zero.subarray(2, 4)]);
    expect(() => decodePeerMessage(absurd)).toThrow(/followerInfo\.acceptedEpoch: 1099511627776 is not in/);
    const raw = await rawConnection('127.0.0.2', b!.address!.port);
    raw.socket.write(encodeHello(3, 2));
    await until(() => raw.frames.length === 1);
    raw.socket.write(frame(absurd));
    await raw.closed;
    await until(() => inboxB.down.includes(3));
    expect(inboxB.received).toEqual([]);
    expect(
      log.lines.find((line) => line.message === 'closing peer link: message does not decode')?.fields,
    ).toMatchObject({
      peer: 3,
      field: 'followerInfo.acceptedEpoch',
    });
    expect(b!.isLinkUp(1)).toBe(true);
  });
});

describe('before a peer is authenticated', () => {
  it('a 64 MiB frame header before any handshake closes the connection at once', async () => {
    for (const security of [{}, { secret }] as PeerSecurityOptions[]) {
      const [, b] = await ensemble([1, 2], () => ({ security }));
      const raw = await rawConnection('127.0.0.2', b!.address!.port);
      const header = Buffer.alloc(4);
      header.writeUInt32BE(64 * 1024 * 1024, 0);
      raw.socket.write(header);
      // Keep sending as the attacker did; the server stopped reading after the header.
      let sent = 0;
      const chunk = Buffer.alloc(64 * 1024, 1);
      while (!raw.socket.destroyed && sent < 8 * 1024 * 1024) {
        raw.socket.write(chunk);
        sent += chunk.length;
        if (sent % (1024 * 1024) === 0) await sleep(1);
      }
      await raw.closed;
      expect(b!.securityStats.refused.protocol).toBe(1);
      expect(b!.securityStats.pending).toBe(0);
      expect(b!.isLinkUp(1)).toBe(true);
      await Promise.all(cleanup.splice(0).map((t) => t.shutdown()));
    }
  });

  it('200 half-open connections are capped, time out, and do not keep a real peer out', async () => {
    const max = 16;
    const [a, b] = await ensemble([1, 2], () => ({
      security: { secret },
      maxUnauthenticatedConnections: max,
      handshakeTimeoutMs: 5000,
    }));
    const inboxB = collect(b!);
    collect(a!);
    const port = b!.address!.port;
    const halfOpen: Awaited<ReturnType<typeof rawConnection>>[] = [];
    for (let i = 0; i < 200; i++) {
      const raw = await rawConnection('127.0.0.2', port);
      // Half a hello: a length header and the magic, then silence.
      raw.socket.write(encodeHello(1, 2, newNonce()).subarray(0, 8));
      halfOpen.push(raw);
    }
    await until(() => b!.securityStats.evicted >= 200 - max);
    expect(b!.securityStats.pending).toBeLessThanOrEqual(max);

    // The real server 1 reconnects while the stranger's connections are held.
    const started = Date.now();
    a!.disconnect(2);
    await until(() => a!.isLinkUp(2) && b!.isLinkUp(1), 5000);
    const relinkMs = Date.now() - started;
    // It got in while the stranger's connections were still held, not once they had timed out.
    expect(b!.securityStats.pending).toBeGreaterThan(0);
    expect(relinkMs).toBeLessThan(4000);
    a!.send(2, ping(5));
    await until(() => inboxB.received.length === 1);

    // Whatever is still pending is closed at the deadline.
    await Promise.all(halfOpen.map((raw) => raw.closed));
    expect(b!.securityStats.pending).toBe(0);
    expect(b!.securityStats.timedOut).toBeGreaterThan(0);
    expect(b!.securityStats.evicted + b!.securityStats.timedOut).toBe(200);
  });

  it('a connection that says nothing is closed after the handshake timeout', async () => {
    const [, b] = await ensemble([1, 2], () => ({ handshakeTimeoutMs: 300 }));
    const raw = await rawConnection('127.0.0.2', b!.address!.port);
    const started = Date.now();
    await raw.closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(b!.securityStats.timedOut).toBe(1);
  });

  it('an authenticated peer whose message does not decode loses its link, and it is logged', async () => {
    const log = recordingLog();
    const [b] = await ensemble([2], () => ({ log }));
    b!.setPeer(1, { host: '127.0.0.1', port: 1 });
    const inboxB = collect(b!);
    const raw = await rawConnection('127.0.0.2', b!.address!.port);
    raw.socket.write(encodeHello(1, 2));
    await until(() => raw.frames.length === 1);
    raw.socket.write(frame(new Uint8Array([250, 1, 2, 3])));
    await raw.closed;
    await until(() => inboxB.down.includes(1));
    expect(b!.securityStats.undecodable).toBe(1);
    expect(
      log.lines.find((line) => line.message === 'closing peer link: message does not decode')?.fields,
    ).toMatchObject({
      peer: 1,
    });
  });
});
