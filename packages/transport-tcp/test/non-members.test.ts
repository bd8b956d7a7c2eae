/**
 * Servers outside the membership: ZooKeeper has a server that is about to be added start
 * first (its zoo.cfg names the members and itself), connect and sync as a non-voting
 * follower, and only then be added by `reconfig -add`. Here a member accepts such a server
 * when it authenticates as a member must, dials it back at the address its hello gave, holds
 * at most `nonMemberPeersMax` of them, and forgets one when its link breaks.
 */
import { connect, createServer } from 'node:net';
import type { PeerMessage } from '@zabkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestPki } from '../../../test/support/tls.js';
import {
  decodeAcceptorReply,
  decodeHello,
  decodePeerMessage,
  encodeAccept,
  encodeHello,
  encodeHelloV2,
  FrameReader,
  handshakeFrameBytesMax,
  protocolMagic,
  TcpTransport,
  type TcpTransportOptions,
} from '../src/index.js';
import {
  cleanUpAfterEach,
  collect,
  fastReconnect,
  loopbackEnsemble,
  ping,
  recordingLog,
  sleep,
  until,
} from './helpers.js';

const pki = createTestPki();
afterAll(() => pki.cleanup());
const secret = new TextEncoder().encode('an ensemble secret of enough length');

const { cleanup, sockets } = cleanUpAfterEach();

/** An endpoint for server `id` on 127.0.0.`id`, started. */
async function endpoint(id: number, options: Partial<TcpTransportOptions> = {}): Promise<TcpTransport> {
  const transport = new TcpTransport({
    reconnect: fastReconnect,
    ...options,
    serverId: id,
    listen: { host: `127.0.0.${id}`, port: 0 },
  });
  cleanup.push(transport);
  await transport.start();
  return transport;
}

/** Server `id` knows `members`; the members know each other and not it. */
async function joiner(
  id: number,
  members: readonly TcpTransport[],
  options: Partial<TcpTransportOptions> = {},
): Promise<TcpTransport> {
  const transport = await endpoint(id, options);
  for (const member of members) transport.setPeer(member.serverId, member.address!);
  return transport;
}

const members = (
  ids: readonly number[],
  options: (id: number) => Partial<TcpTransportOptions> = () => ({}),
) => loopbackEnsemble(ids, options, cleanup);

describe('the hello, version 3', () => {
  it('carries the address the dialler is reached at, in bytes fixed here', () => {
    const hello = encodeHello(4, 1, undefined, { host: '127.0.0.4', port: 2888 });
    expect(hello.toString('hex')).toBe(
      [
        '00000023', // payload length: 35
        '5a41424b', // ZABK
        '03', // version 3
        '01', // hello
        '00', // no secret
        '4010000000000000', // from: 4.0
        '3ff0000000000000', // to: 1.0
        '0b48', // port 2888
        '09', // host: 9 bytes
        '3132372e302e302e34', // 127.0.0.4
      ].join(''),
    );
    expect(decodeHello(hello.subarray(4))).toEqual({
      version: 3,
      from: 4,
      to: 1,
      nonce: undefined,
      address: { host: '127.0.0.4', port: 2888 },
    });
    const nonce = Buffer.alloc(32, 0xab);
    const withSecret = encodeHello(4, 1, nonce, { host: 'zk4.example', port: 3888 });
    expect(withSecret.subarray(4, 11).toString('hex')).toBe('5a41424b030101');
    expect(withSecret.subarray(27, 59)).toEqual(nonce);
    expect(withSecret.subarray(59).toString('hex')).toBe(
      `0f300b${Buffer.from('zk4.example').toString('hex')}`,
    );
    expect(decodeHello(withSecret.subarray(4))).toMatchObject({
      nonce,
      address: { host: 'zk4.example', port: 3888 },
    });
    // Without an address: port 0, no host.
    expect(encodeHello(4, 1).subarray(4).toString('hex')).toBe(
      ['5a41424b', '03', '01', '00', '4010000000000000', '3ff0000000000000', '0000', '00'].join(''),
    );
    expect(decodeHello(encodeHello(4, 1).subarray(4))?.address).toBeUndefined();
    // The longest host still fits a handshake frame, with the nonce.
    const longest = encodeHello(4, 1, nonce, { host: 'h'.repeat(253), port: 1 });
    expect(longest.length - 4).toBeLessThanOrEqual(handshakeFrameBytesMax);
    expect(() => encodeHello(4, 1, nonce, { host: 'h'.repeat(254), port: 1 })).toThrow(RangeError);
  });

  it('a version 2 hello (no address) is still understood; anything malformed is not', () => {
    const v2 = Buffer.concat([protocolMagic, Buffer.from('020100', 'hex'), Buffer.alloc(16)]);
    v2.writeDoubleBE(2, 7);
    v2.writeDoubleBE(1, 15);
    expect(decodeHello(v2)).toEqual({ version: 2, from: 2, to: 1, nonce: undefined, address: undefined });
    // What encodeHelloV2 says to a peer of version 2: the same bytes.
    expect(encodeHelloV2(2, 1).subarray(4)).toEqual(v2);
    // Version 2 with an address's bytes after it, and the versions around the known ones.
    expect(decodeHello(Buffer.concat([v2, Buffer.from('000000', 'hex')]))).toBeUndefined();
    for (const version of [1, 4]) {
      const other = Buffer.from(encodeHello(2, 1).subarray(4));
      other[4] = version;
      expect(decodeHello(other)).toBeUndefined();
    }
    const good = encodeHello(4, 1, undefined, { host: 'a', port: 5 }).subarray(4);
    // A host length beyond the frame, short of it, a port without a host, a host with a space.
    const cut = (length: number) => Buffer.from(good.subarray(0, length));
    expect(decodeHello(cut(good.length - 1))).toBeUndefined();
    expect(decodeHello(Buffer.concat([good, Buffer.of(0x61)]))).toBeUndefined();
    const noHost = Buffer.concat([cut(good.length - 2), Buffer.of(0)]);
    expect(decodeHello(noHost)).toBeUndefined();
    const spaced = Buffer.from(good);
    spaced[spaced.length - 1] = 0x20;
    expect(decodeHello(spaced)).toBeUndefined();
  });
});

describe('an ensemble upgraded one server at a time', () => {
  it('a peer of version 2, which closes on a version 3 hello, is linked with a version 2 hello', async () => {
    // Server 2 of version 2: it reads only version 2 hellos and closes on anything else.
    const versionsSeen: number[] = [];
    const received: PeerMessage[] = [];
    const old = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
      const reader = new FrameReader(1 << 20);
      let accepted = false;
      socket.on('data', (chunk: Buffer) => {
        reader.push(chunk);
        for (let payload = reader.next(); payload !== undefined; payload = reader.next()) {
          if (accepted) {
            received.push(decodePeerMessage(payload));
            continue;
          }
          versionsSeen.push(payload[4]!);
          if (payload[4] !== 2) {
            socket.destroy();
            return;
          }
          accepted = true;
          socket.write(encodeAccept());
        }
      });
    });
    await new Promise<void>((resolve) => old.listen(0, '127.0.0.2', resolve));
    const oldPort = (old.address() as { port: number }).port;
    try {
      const one = await endpoint(1);
      collect(one);
      one.setPeer(2, { host: '127.0.0.2', port: oldPort });
      // Server 2 dials server 1 with its own (version 2) hello, which server 1 reads.
      const back = connect({ host: '127.0.0.1', port: one.address!.port });
      sockets.push(back);
      back.on('error', () => {});
      back.on('connect', () => back.write(encodeHelloV2(2, 1)));
      await until(() => one.isLinkUp(2));
      one.send(2, ping(5));
      await until(() => received.length === 1);
      expect(received).toEqual([ping(5)]);
      expect(versionsSeen.slice(0, 2)).toEqual([3, 2]);
    } finally {
      old.close();
    }
  });
});

describe('a server outside the membership', () => {
  it('links to a member that never heard of it, both ways, and is forgotten (not redialled) once it goes', async () => {
    const log = recordingLog();
    const [one, two] = await members([1, 2], (id) => (id === 1 ? { log } : {}));
    const inboxOne = collect(one!);
    collect(two!);
    const four = await joiner(4, [one!, two!]);
    const inboxFour = collect(four);
    await until(() => four.isLinkUp(1) && one!.isLinkUp(4) && four.isLinkUp(2) && two!.isLinkUp(4));
    four.send(1, ping(7));
    one!.send(4, ping(8));
    await until(() => inboxOne.received.length === 1 && inboxFour.received.length === 1);
    expect(inboxOne.received).toEqual([{ from: 4, message: ping(7) }]);
    expect(inboxFour.received).toEqual([{ from: 1, message: ping(8) }]);
    expect(one!.securityStats).toMatchObject({ nonMembers: 1, nonMembersAccepted: 1 });
    const accepted = log.lines.find((line) => line.message.startsWith('accepted a server outside'));
    expect(accepted?.fields).toMatchObject({ peer: 4, address: `127.0.0.4:${four.address!.port}` });

    await four.shutdown();
    await until(() => inboxOne.down.includes(4) && one!.securityStats.nonMembers === 0);
    // Forgotten: nothing queues for it, nothing dials it.
    one!.send(4, ping(9));
    await sleep(300);
    expect(one!.isLinkUp(4)).toBe(false);
    expect(one!.securityStats.nonMembersAccepted).toBe(1);
    expect(log.lines.some((line) => line.message.includes('outside the membership closed'))).toBe(true);
  });

  it('becomes a member when setPeer names it: then it is redialled after a break like any member', async () => {
    const [one] = await members([1]);
    collect(one!);
    const four = await joiner(4, [one!]);
    const inboxFour = collect(four);
    await until(() => one!.isLinkUp(4));
    one!.setPeer(4, four.address!);
    expect(one!.securityStats.nonMembers).toBe(0);
    one!.disconnect(4);
    await until(() => inboxFour.down.length === 1);
    await until(() => one!.isLinkUp(4) && four.isLinkUp(1));
    one!.send(4, ping(3));
    await until(() => inboxFour.received.length === 1);
  });

  it('holds at most nonMemberPeersMax of them (tooManyNonMembers), and none with 0 (unknownPeer)', async () => {
    const [one] = await members([1], () => ({ nonMemberPeersMax: 1 }));
    collect(one!);
    const four = await joiner(4, [one!]);
    collect(four);
    await until(() => one!.isLinkUp(4));
    const fiveLog = recordingLog();
    const five = await joiner(5, [one!], { log: fiveLog });
    collect(five);
    await until(() => (one!.securityStats.refused.tooManyNonMembers ?? 0) >= 1);
    await until(() => fiveLog.lines.some((line) => line.fields.problem === 'refused: tooManyNonMembers'));
    expect(one!.isLinkUp(5)).toBe(false);
    // Once four goes, five gets in on a later attempt.
    await four.shutdown();
    await until(() => one!.isLinkUp(5), 10_000);

    const [two] = await members([2], () => ({ nonMemberPeersMax: 0 }));
    collect(two!);
    const six = await joiner(6, [two!]);
    collect(six);
    await until(() => (two!.securityStats.refused.unknownPeer ?? 0) >= 1);
    expect(two!.isLinkUp(6)).toBe(false);
  });

  it('a hello without an address is refused as an unknown peer: it could not be dialled back', async () => {
    const [one] = await members([1]);
    collect(one!);
    const socket = connect({ host: '127.0.0.1', port: one!.address!.port });
    sockets.push(socket);
    socket.on('error', () => {});
    const reader = new FrameReader(128);
    const replies: unknown[] = [];
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      const payload = reader.next();
      if (payload !== undefined) replies.push(decodeAcceptorReply(payload));
    });
    socket.on('connect', () => socket.write(encodeHello(9, 1)));
    await new Promise((resolve) => socket.on('close', resolve));
    expect(replies).toEqual([{ kind: 'refuse', reason: 'unknownPeer' }]);
    expect(one!.securityStats.nonMembers).toBe(0);
  });

  it('a wildcard host is replaced by the address the connection came from', async () => {
    const [one] = await members([1]);
    collect(one!);
    const four = new TcpTransport({
      serverId: 4,
      listen: { host: '0.0.0.0', port: 0 },
      reconnect: fastReconnect,
    });
    cleanup.push(four);
    await four.start();
    four.setPeer(1, one!.address!);
    collect(four);
    await until(() => one!.isLinkUp(4) && four.isLinkUp(1));
  });
});

describe('a server outside the membership, with the quorum secret', () => {
  it('is accepted when it holds the secret; refused without it (authMismatch) or with another (it cannot check the challenge)', async () => {
    const [one, two] = await members([1, 2], () => ({ security: { secret } }));
    const inboxOne = collect(one!);
    collect(two!);
    const four = await joiner(4, [one!, two!], { security: { secret } });
    collect(four);
    await until(() => one!.isLinkUp(4) && two!.isLinkUp(4));
    four.send(1, ping(1));
    await until(() => inboxOne.received.length === 1);

    const plain = await joiner(5, [one!]);
    collect(plain);
    const wrongLog = recordingLog();
    const wrong = await joiner(6, [one!], {
      security: { secret: new TextEncoder().encode('another secret, also long enough') },
      log: wrongLog,
    });
    collect(wrong);
    await until(() => (one!.securityStats.refused.authMismatch ?? 0) >= 1);
    // The stranger with another secret cannot check the member's proof, and stops there.
    await until(() =>
      wrongLog.lines.some(
        (line) => line.fields.problem === 'the server there does not hold the quorum secret',
      ),
    );
    await sleep(300);
    expect(one!.isLinkUp(5)).toBe(false);
    expect(one!.isLinkUp(6)).toBe(false);
    expect(wrong.isLinkUp(1)).toBe(false);
    expect(one!.securityStats).toMatchObject({ nonMembers: 1, nonMembersAccepted: 1 });
    expect(inboxOne.received.map((r) => r.from)).toEqual([4]);
  });
});

describe('a server outside the membership, with quorum TLS', () => {
  const issued = new Map(
    [1, 2, 4, 5].map((id) => [
      id,
      pki.issue({ name: `non-member-server${id}`, subject: `/CN=server${id}`, ip: [`127.0.0.${id}`] }),
    ]),
  );
  const tlsFor = (id: number, certificateOf = id) => {
    const certificate = issued.get(certificateOf)!;
    return { security: { tls: { key: certificate.keyPem, cert: certificate.chainPem, ca: pki.ca.certPem } } };
  };

  it('is accepted with a certificate for the address it gives; refused with one for another (certificateMismatch)', async () => {
    const [one] = await members([1, 2], (id) => tlsFor(id));
    collect(one!);
    const four = await joiner(4, [one!], tlsFor(4));
    collect(four);
    await until(() => one!.isLinkUp(4) && four.isLinkUp(1), 10_000);
    // Server 5 listens on 127.0.0.5 but holds server 2's certificate (for 127.0.0.2).
    const five = await joiner(5, [one!], tlsFor(5, 2));
    collect(five);
    await until(() => (one!.securityStats.refused.certificateMismatch ?? 0) >= 1, 10_000);
    expect(one!.isLinkUp(5)).toBe(false);
    expect(one!.securityStats.nonMembers).toBe(1);
  });

  it('is accepted with a certificate for another name when the members map its id to that name', async () => {
    // Server 4 listens on 127.0.0.4 with a certificate for zk4.zabkit.test alone.
    const named = pki.issue({ name: 'non-member-named4', dns: ['zk4.zabkit.test'] });
    const four = { key: named.keyPem, cert: named.chainPem, ca: pki.ca.certPem };
    const identities = new Map([[4, 'zk4.zabkit.test']]);
    const withMapping = (id: number) => ({ security: { tls: { ...tlsFor(id).security.tls, identities } } });
    const [one] = await members([1, 2], withMapping);
    collect(one!);
    const joining = await joiner(4, [one!], { security: { tls: four } });
    collect(joining);
    // Accepted, and dialled back at 127.0.0.4 expecting that name.
    await until(() => one!.isLinkUp(4) && joining.isLinkUp(1), 10_000);
    expect(one!.securityStats.refused.certificateMismatch ?? 0).toBe(0);
    // Without the mapping, the name is not the address it gives: refused.
    const [two] = await members([2], (id) => tlsFor(id));
    collect(two!);
    const again = await joiner(4, [two!], { security: { tls: four } });
    collect(again);
    await until(() => (two!.securityStats.refused.certificateMismatch ?? 0) >= 1, 10_000);
    expect(two!.isLinkUp(4)).toBe(false);
  });
});
