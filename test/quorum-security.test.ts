/**
 * Quorum security on real processes: 3-server ensembles of `zabkit server` processes whose
 * peers authenticate by a quorum secret or by mutual TLS, each on its own loopback address
 * (127.0.0.N for server N, so certificates can tell the servers apart). Each elects, takes a
 * client's write, loses its leader and elects again; then each attack of issue 15 is tried
 * on it from a raw socket, as a stranger on the network would: a stranger claiming a member's
 * id (with frames sent along with the handshake), a fake leader dialling a follower with a
 * proposal and a commit, a fake follower forwarding a write that claims `super`, forged acks
 * for a leader without a quorum, 200 half-open connections and a 64 MiB frame header.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { connectTcp, type ZabClient } from '@zabkit/client';
import { makeZxid, type PeerMessage } from '@zabkit/core';
import { encodeHello, encodePeerMessage, FrameReader, newNonce } from '@zabkit/transport-tcp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fourLetterWord,
  type Member,
  type ProcessEnsemble,
  startProcessEnsemble,
  until,
} from './support/process-ensemble.js';
import { createTestPki } from './support/tls.js';

const pki = createTestPki();
const certificates = new Map(
  [1, 2, 3].map((id) => [id, pki.issue({ name: `server${id}`, ip: [`127.0.0.${id}`] })]),
);
afterAll(() => pki.cleanup());

const modes = {
  secret: (_id: number, dir: string) => {
    const secretFile = join(dir, 'quorum-secret');
    writeFileSync(secretFile, 'an ensemble secret, thirty-odd bytes long\n', { mode: 0o600 });
    return [`zabkit.quorum.secretFile=${secretFile}`];
  },
  tls: (id: number) => [
    'sslQuorum=true',
    // One member on PEM stores, the others on PKCS#12 ones: both must interoperate.
    ...(id === 1
      ? [`ssl.quorum.keyStore.location=${certificates.get(id)!.keyStore('PEM')}`]
      : [
          `ssl.quorum.keyStore.location=${certificates.get(id)!.keyStore('PKCS12')}`,
          `ssl.quorum.keyStore.password=${pki.password}`,
        ]),
    `ssl.quorum.trustStore.location=${pki.ca.trustStore('PEM')}`,
  ],
} as const;

const attempt = async <T>(operation: () => Promise<T>): Promise<T | undefined> => {
  try {
    return await operation();
  } catch {
    return undefined;
  }
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function frame(message: PeerMessage): Buffer {
  const payload = encodePeerMessage(message);
  const out = Buffer.alloc(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, 4);
  return out;
}

/** The epoch in a member's srvr zxid. */
async function epochOf(member: Member): Promise<number> {
  const zxid = /Zxid: 0x([0-9a-f]+)/.exec(await fourLetterWord(member.clientPort, 'srvr'))?.[1];
  if (zxid === undefined) throw new Error(`server ${member.id} reports no zxid`);
  return Number(BigInt(`0x${zxid}`) >> 32n);
}

/**
 * A stranger's connection to a member's quorum port: plain TCP, or TLS with `certificate`
 * (none: no client certificate at all). Collects what it is sent; `closed` resolves when the
 * server hangs up.
 */
async function stranger(member: Member, tls: false | { certificate?: number }) {
  let socket: Socket;
  if (tls === false) {
    socket = connect({ host: member.quorumHost, port: member.quorumPort });
  } else {
    const certificate = tls.certificate === undefined ? undefined : certificates.get(tls.certificate)!;
    socket = tlsConnect({
      host: member.quorumHost,
      port: member.quorumPort,
      ca: pki.ca.certPem,
      checkServerIdentity: () => undefined,
      ...(certificate === undefined ? {} : { key: certificate.keyPem, cert: certificate.chainPem }),
    });
  }
  socket.on('error', () => {});
  const reader = new FrameReader(1 << 20);
  const frames: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => {
    reader.push(chunk);
    for (let payload = reader.next(); payload !== undefined; payload = reader.next()) frames.push(payload);
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once(tls === false ? 'connect' : 'secureConnect', () => resolve());
    socket.once('close', () => reject(new Error('closed before connecting')));
  });
  return { socket, frames, closed };
}

/** Refusals a member logged, by reason. */
function refusals(member: Member): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of member.stderr().split('\n')) {
    if (!line.includes('refused a peer connection')) continue;
    const { reason, totalRefusedForReason } = JSON.parse(line) as {
      reason: string;
      totalRefusedForReason: number;
    };
    counts.set(reason, Math.max(counts.get(reason) ?? 0, totalRefusedForReason));
  }
  return counts;
}

function rssBytes(member: Member): number {
  const status = readFileSync(`/proc/${member.process!.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

for (const mode of ['secret', 'tls'] as const) {
  describe(`a 3-process ensemble on quorum ${mode === 'tls' ? 'TLS' : 'secret'}`, () => {
    let ensemble: ProcessEnsemble;
    const clients: ZabClient[] = [];
    const client = async (members: readonly Member[]) => {
      const made = await connectTcp(members.map((member) => `127.0.0.1:${member.clientPort}`).join(','), {
        sessionTimeoutMs: 6000,
        shuffle: false,
      });
      clients.push(made);
      return made;
    };
    /** A stranger's link to `member`: plain with the secret mode, TLS with `certificate` in TLS mode. */
    const strangerTo = (member: Member, certificate?: number) =>
      stranger(member, mode === 'tls' ? { ...(certificate === undefined ? {} : { certificate }) } : false);

    beforeAll(async () => {
      ensemble = await startProcessEnsemble({
        size: 3,
        quorumHost: (id) => `127.0.0.${id}`,
        extraConfig: modes[mode],
        logLevel: 'info',
      });
      await ensemble.settled(60_000);
    }, 90_000);

    afterAll(async () => {
      for (const made of clients) await made.close().catch(() => undefined);
      await ensemble?.stop();
    });

    it('elects, commits a client write, elects again when the leader is killed, and does not warn', async () => {
      for (const member of ensemble.members) {
        expect(member.stderr()).toContain(`"authentication":"${mode}"`);
        expect(member.stderr()).not.toContain('PEER LINKS ARE NOT AUTHENTICATED');
      }
      const writer = await client(ensemble.members);
      await writer.create('/before', 'x');
      const first = await ensemble.leader();
      await first.kill();
      const next = await ensemble.leader(30_000);
      expect(next).not.toBe(first);
      await until(() => attempt(() => writer.create('/after', 'y')), 30_000);
      for (const member of ensemble.members.filter((m) => m !== first)) {
        const reader = await client([member]);
        await reader.sync('/');
        expect((await reader.getData('/before')).data).toEqual(new TextEncoder().encode('x'));
        expect((await reader.getData('/after')).data).toEqual(new TextEncoder().encode('y'));
      }
      first.start();
      await ensemble.settled(60_000);
    }, 120_000);

    it('a stranger claiming a member id, with frames sent along with the handshake, is refused', async () => {
      const leader = await ensemble.leader();
      const [follower, other] = ensemble.members.filter((m) => m !== leader) as [Member, Member];
      const epoch = await epochOf(leader);
      const rideAlong = Buffer.concat([
        frame({
          kind: 'notification',
          vote: { leader: follower.id, zxid: makeZxid(epoch + 5, 0), peerEpoch: epoch + 5 },
          electionEpoch: 99,
          state: 'looking',
        }),
        frame({ kind: 'followerInfo', acceptedEpoch: epoch + 5, observer: false, attempt: 1 }),
        frame({ kind: 'ack', epoch, zxid: makeZxid(epoch, 1) }),
      ]);
      const before = refusals(leader);
      if (mode === 'secret') {
        // No nonce (no secret at all), frames riding along.
        const bare = await strangerTo(leader);
        bare.socket.write(Buffer.concat([encodeHello(follower.id, leader.id), rideAlong]));
        await bare.closed;
        // A nonce, then a guessed proof with frames riding along.
        const guesser = await strangerTo(leader);
        guesser.socket.write(encodeHello(follower.id, leader.id, newNonce()));
        await until(async () => (guesser.frames.length === 1 ? true : undefined));
        const proof = Buffer.alloc(4 + 33);
        proof.writeUInt32BE(33, 0);
        proof[4] = 3;
        guesser.socket.write(Buffer.concat([proof, rideAlong]));
        await guesser.closed;
      } else {
        // Without a client certificate: the TLS handshake fails.
        const anonymous = await strangerTo(leader).catch(() => undefined);
        anonymous?.socket.write(Buffer.concat([encodeHello(follower.id, leader.id), rideAlong]));
        await anonymous?.closed;
        // With a genuine member certificate, claiming another member's id.
        const impostor = await strangerTo(leader, other.id);
        impostor.socket.write(Buffer.concat([encodeHello(follower.id, leader.id), rideAlong]));
        await impostor.closed;
      }
      await until(async () => {
        const after = refusals(leader);
        const grew = (reason: string) => (after.get(reason) ?? 0) > (before.get(reason) ?? 0);
        return (
          mode === 'secret'
            ? grew('authMismatch') && grew('badProof')
            : grew('tls') && grew('certificateMismatch')
        )
          ? true
          : undefined;
      });
      // Nothing changed: the same leader, in the same epoch, and writes still commit.
      expect(await ensemble.leader()).toBe(leader);
      expect(await epochOf(leader)).toBe(epoch);
      const writer = await client([leader]);
      await writer.create('/after-stranger', '');
    }, 60_000);

    it('a fake leader dialling a follower with a proposal and a commit is refused; nothing is applied', async () => {
      const leader = await ensemble.leader();
      const follower = ensemble.members.find((m) => m !== leader)!;
      const epoch = await epochOf(leader);
      const zxid = makeZxid(epoch, 0xffff);
      const forged = Buffer.concat([
        frame({
          kind: 'proposal',
          epoch,
          txns: [
            {
              zxid,
              timeMs: Date.now(),
              sessionId: 0n as never,
              cxid: -1,
              body: {
                kind: 'create',
                path: '/forged',
                data: new TextEncoder().encode('by a fake leader'),
                acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
                ephemeralOwner: 0n,
                parentCversion: 99,
              },
            },
          ],
        }),
        frame({ kind: 'commit', epoch, zxid }),
      ]);
      const before = refusals(follower);
      const fake = await strangerTo(
        follower,
        mode === 'tls' ? ensemble.members.find((m) => m !== leader && m !== follower)!.id : undefined,
      );
      fake.socket.write(
        Buffer.concat([
          encodeHello(leader.id, follower.id, mode === 'secret' ? newNonce() : undefined),
          forged,
        ]),
      );
      await fake.closed;
      expect([...refusals(follower).values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(
        [...before.values()].reduce((a, b) => a + b, 0),
      );
      const reader = await client([follower]);
      await reader.sync('/');
      expect(await reader.exists('/forged')).toBeNull();
      expect(await follower.mode()).toBe('follower');
      expect(await ensemble.leader()).toBe(leader);
    }, 60_000);

    it('a fake follower forwarding a write that claims super is refused; nothing commits', async () => {
      const leader = await ensemble.leader();
      const [follower, other] = ensemble.members.filter((m) => m !== leader) as [Member, Member];
      const epoch = await epochOf(leader);
      const forward = frame({
        kind: 'request',
        epoch,
        seq: 1,
        sessionId: 0x1234n as never,
        cxid: 1,
        authInfo: [{ scheme: 'super', id: 'super' }],
        request: {
          op: 'create',
          path: '/claimed-by-super',
          data: new Uint8Array(),
          acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
          mode: 0,
          ttlMs: -1n,
        } as never,
      });
      const before = refusals(leader);
      const fake = await strangerTo(leader, mode === 'tls' ? other.id : undefined);
      fake.socket.write(
        Buffer.concat([
          encodeHello(follower.id, leader.id, mode === 'secret' ? newNonce() : undefined),
          forward,
        ]),
      );
      await fake.closed;
      await until(async () =>
        [...refusals(leader).values()].reduce((a, b) => a + b, 0) >
        [...before.values()].reduce((a, b) => a + b, 0)
          ? true
          : undefined,
      );
      const reader = await client([leader]);
      await reader.sync('/');
      expect(await reader.exists('/claimed-by-super')).toBeNull();
    }, 60_000);

    it('forged acks do not bring a leader without a quorum back to serving', async () => {
      const leader = await ensemble.leader();
      const followers = ensemble.members.filter((m) => m !== leader);
      const epoch = await epochOf(leader);
      for (const follower of followers) await follower.kill();
      await until(async () => ((await leader.mode()) !== 'leader' ? true : undefined), 30_000);
      // For 3 s, strangers claiming both followers send votes, follower handshakes and acks.
      const deadline = Date.now() + 3000;
      let seenLeading = false;
      while (Date.now() < deadline) {
        for (const [i, follower] of followers.entries()) {
          // In TLS mode each claims one follower's id with the other follower's (genuine) certificate.
          const borrowed = followers[1 - i]!.id;
          const fake = await strangerTo(leader, mode === 'tls' ? borrowed : undefined).catch(() => undefined);
          fake?.socket.write(
            Buffer.concat([
              encodeHello(follower.id, leader.id, mode === 'secret' ? newNonce() : undefined),
              frame({
                kind: 'notification',
                vote: { leader: leader.id, zxid: makeZxid(epoch, 0), peerEpoch: epoch },
                electionEpoch: 1,
                state: 'looking',
              }),
              frame({
                kind: 'ackEpoch',
                epoch: epoch + 1,
                currentEpoch: epoch,
                lastZxid: makeZxid(epoch, 0),
                promisedNow: true,
              }),
              frame({ kind: 'ackNewLeader', epoch: epoch + 1, attempt: 1 }),
              frame({ kind: 'ack', epoch: epoch + 1, zxid: makeZxid(epoch + 1, 1) }),
            ]),
          );
          await fake?.closed;
        }
        if ((await leader.mode()) === 'leader') seenLeading = true;
        await sleep(100);
      }
      expect(seenLeading).toBe(false);
      for (const follower of followers) follower.start();
      await ensemble.settled(60_000);
    }, 120_000);

    it('200 half-open connections and a 64 MiB frame header neither grow memory nor stop real peers', async () => {
      const leader = await ensemble.leader();
      const writer = await client([leader]);
      await writer.create('/load', '');
      const rssBefore = rssBytes(leader);
      const halfOpen: Socket[] = [];
      for (let i = 0; i < 200; i++) {
        const socket = connect({ host: leader.quorumHost, port: leader.quorumPort });
        socket.on('error', () => {});
        // Half a hello (in TLS mode: not even a TLS ClientHello), then silence.
        if (mode === 'secret')
          socket.on('connect', () => socket.write(Buffer.from([0, 0, 0, 55, 0x5a, 0x41])));
        halfOpen.push(socket);
      }
      // The giant header comes first thing on the link: in TLS mode, inside a TLS session opened
      // with a genuine member certificate (a stranger without one never gets this far).
      const follower = ensemble.members.find((m) => m !== leader)!;
      const giant =
        mode === 'secret'
          ? (await strangerTo(leader)).socket
          : (await strangerTo(leader, follower.id)).socket;
      const giantClosed = new Promise<number>((resolve) => {
        let sent = 0;
        giant.once('close', () => resolve(sent));
        void (async () => {
          const header = Buffer.alloc(4);
          header.writeUInt32BE(64 * 1024 * 1024, 0);
          giant.write(header);
          const chunk = Buffer.alloc(64 * 1024, 7);
          while (!giant.destroyed && sent < 64 * 1024 * 1024) {
            if (!giant.write(chunk)) await new Promise((r) => setTimeout(r, 5));
            sent += chunk.length;
          }
        })();
      });
      // Real work goes on meanwhile: writes through the leader, acknowledged by its followers.
      const latenciesMs: number[] = [];
      for (let i = 0; i < 100; i++) {
        const started = performance.now();
        await writer.create(`/load/n${i}`, 'x');
        latenciesMs.push(performance.now() - started);
      }
      const sentBeforeClose = await giantClosed;
      const rssAfter = rssBytes(leader);
      for (const socket of halfOpen) socket.destroy();
      latenciesMs.sort((a, b) => a - b);
      const p99 = latenciesMs[Math.floor(latenciesMs.length * 0.99)]!;
      // The server stopped reading after the header: the giant frame was never taken in.
      expect(sentBeforeClose).toBeLessThan(64 * 1024 * 1024);
      expect(rssAfter - rssBefore).toBeLessThan(48 * 1024 * 1024);
      expect(p99).toBeLessThan(2000);
      const counts = refusals(leader);
      expect(counts.get('protocol') ?? 0).toBeGreaterThan(0);
      expect((counts.get('evicted') ?? 0) + (counts.get('timedOut') ?? 0)).toBeGreaterThan(0);
      expect(await ensemble.leader()).toBe(leader);
    }, 120_000);
  });
}

describe('a server whose quorum security cannot be honoured', () => {
  const bin = fileURLToPath(new URL('../packages/server/bin/zabkit.js', import.meta.url));

  /** Starts `zabkit server` as member 1 of a 3-server config with `lines`; resolves with its exit code and stderr. */
  async function start(lines: string[], hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3']) {
    const dir = mkdtempSync(join(tmpdir(), 'zabkit-refused-'));
    try {
      mkdirSync(join(dir, 'data'));
      writeFileSync(join(dir, 'data', 'myid'), '1\n');
      const cfg = join(dir, 'zoo.cfg');
      writeFileSync(
        cfg,
        [
          'tickTime=200',
          'initLimit=10',
          'syncLimit=5',
          `dataDir=${join(dir, 'data')}`,
          'clientPort=0',
          'clientPortAddress=127.0.0.1',
          ...hosts.map((host, i) => `server.${i + 1}=${host}:${40100 + i}:${40200 + i}`),
          ...lines,
          '',
        ].join('\n'),
      );
      const child = spawn(process.execPath, [bin, 'server', '--config', cfg, '--storage', 'memory'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      return { code, stderr };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('refuses non-loopback peers without TLS or a secret, naming the server.N and the key that opts in', async () => {
    const { code, stderr } = await start([], ['127.0.0.1', '192.0.2.10', '127.0.0.3']);
    expect(code).not.toBe(0);
    expect(stderr).toContain('invalid server.2: "192.0.2.10"');
    expect(stderr).toContain('zabkit.quorum.allowUnauthenticated=true');
  }, 30_000);

  it('stops at a wrong key store password, and at quorum SASL, naming the key', async () => {
    const keyStore = certificates.get(1)!.keyStore('PKCS12');
    const wrong = await start([
      'sslQuorum=true',
      `ssl.quorum.keyStore.location=${keyStore}`,
      'ssl.quorum.keyStore.password=not-the-password',
      `ssl.quorum.trustStore.location=${pki.ca.trustStore('PEM')}`,
    ]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('ssl.quorum.keyStore.password does not open');
    const sasl = await start(['quorum.auth.enableSasl=true']);
    expect(sasl.code).not.toBe(0);
    expect(sasl.stderr).toContain('invalid quorum.auth.enableSasl: "true" (quorum SASL is not supported');
  }, 30_000);
});
