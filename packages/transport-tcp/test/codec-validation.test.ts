/**
 * Messages that frame correctly but do not decode (a field out of range, a count beyond the
 * limits, a frame cut short) from a peer that passed the handshake: the link closes, the
 * reason is logged with the field at fault, and nothing of the message is delivered, so it
 * can be neither persisted nor seen by the core.
 */
import { connect } from 'node:net';
import { peerMessageTags } from '@zabkit/codec';
import { decodedSessionId, makeZxid, type PeerMessage, type ServerId, zeroZxid } from '@zabkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodePeerMessage,
  encodeHello,
  encodePeerMessage,
  FrameReader,
  TcpTransport,
} from '../src/index.js';
import { cleanUpAfterEach, fastReconnect, frame, recordingLog, until } from './helpers.js';

const { cleanup, sockets } = cleanUpAfterEach();

/** The codec's number encodings: int32 as zigzag varint + 1, anything else 0 then a float64. */
const small = (v: number) => [v * 2 + 1];
const float = (v: number) => {
  const bytes = Buffer.alloc(9);
  bytes.writeDoubleBE(v, 1);
  return [...bytes];
};

/** Server 2, expecting server 1, with what it delivers and logs. */
async function receiver() {
  const log = recordingLog();
  const transport = new TcpTransport({
    serverId: 2,
    listen: { host: '127.0.0.1', port: 0 },
    reconnect: fastReconnect,
    log,
  });
  cleanup.push(transport);
  const address = await transport.start();
  transport.setPeer(1, { host: '127.0.0.1', port: 1 });
  const received: { from: ServerId; message: PeerMessage }[] = [];
  const down: ServerId[] = [];
  transport.listen({
    message: (from, message) => received.push({ from, message }),
    linkDown: (peer) => down.push(peer),
  });
  return { transport, address, log, received, down };
}

/** Connects as server 1, completes the handshake, and sends `frames`; resolves when the socket closes. */
async function sendAsPeer(port: number, frames: Buffer[]): Promise<void> {
  const socket = connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  socket.on('error', () => {});
  const reader = new FrameReader(1 << 20);
  let replies = 0;
  socket.on('data', (chunk: Buffer) => {
    reader.push(chunk);
    while (reader.next() !== undefined) replies++;
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(encodeHello(1, 2));
  await until(() => replies === 1);
  for (const bytes of frames) socket.write(bytes);
  await closed;
}

const undecodable = (log: ReturnType<typeof recordingLog>) =>
  log.lines.filter((line) => line.message === 'closing peer link: message does not decode');

describe('a peer message that does not decode closes its link', () => {
  const cases: [string, number[], RegExp][] = [
    [
      'an epoch of 2^40 in followerInfo',
      [peerMessageTags.followerInfo, ...float(2 ** 40), 0, ...small(1)],
      /followerInfo\.acceptedEpoch: 1099511627776 is not in 0\.\.4294967295/,
    ],
    [
      'an epoch of 1000.5 in followerInfo',
      [peerMessageTags.followerInfo, ...float(1000.5), 0, ...small(1)],
      /followerInfo\.acceptedEpoch: 1000\.5 is not an integer/,
    ],
    ['a zxid cut short', [peerMessageTags.ack, ...small(3), 0, 0, 0, 1], /ack\.zxid: truncated/],
    [
      'a list longer than the frame',
      [peerMessageTags.pingReply, ...small(1), 0xff, 0xff, 0xff, 0xff, 0x0f],
      /pingReply\.touches: list of/,
    ],
    [
      'a length that does not end (a negative one)',
      [peerMessageTags.pingReply, ...small(1), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
      /varint too long/,
    ],
  ];
  for (const [name, payload, expected] of cases) {
    it(`${name}: after the message before it, which is delivered`, async () => {
      const peer = await receiver();
      const ping = encodePeerMessage({
        kind: 'ping',
        epoch: 3,
        sentThroughZxid: zeroZxid,
        commitZxid: zeroZxid,
      });
      await sendAsPeer(peer.address.port, [frame(ping), frame(payload)]);
      await until(() => peer.down.includes(1));
      expect(peer.received).toEqual([
        { from: 1, message: { kind: 'ping', epoch: 3, sentThroughZxid: 0n, commitZxid: 0n } },
      ]);
      expect(peer.transport.securityStats.undecodable).toBe(1);
      const lines = undecodable(peer.log);
      expect(lines).toHaveLength(1);
      expect(lines[0]!.fields).toMatchObject({ peer: 1 });
      expect(String(lines[0]!.fields.error)).toMatch(expected);
    });
  }

  it('a data field beyond the configured limit', async () => {
    const log = recordingLog();
    const transport = new TcpTransport({
      serverId: 2,
      listen: { host: '127.0.0.1', port: 0 },
      reconnect: fastReconnect,
      log,
      codecLimits: { dataBytesMax: 10 },
    });
    cleanup.push(transport);
    const address = await transport.start();
    transport.setPeer(1, { host: '127.0.0.1', port: 1 });
    const received: PeerMessage[] = [];
    transport.listen({ message: (_from, message) => received.push(message), linkDown: () => {} });
    const proposal: PeerMessage = {
      kind: 'proposal',
      epoch: 1,
      txns: [
        {
          zxid: makeZxid(1, 1),
          timeMs: 0,
          sessionId: decodedSessionId(1n),
          cxid: 1,
          body: { kind: 'setData', path: '/a', data: new Uint8Array(11), version: 1 },
        },
      ],
    };
    await sendAsPeer(address.port, [frame(encodePeerMessage(proposal))]);
    await until(() => undecodable(log).length === 1);
    expect(received).toEqual([]);
    expect(String(undecodable(log)[0]!.fields.error)).toMatch(
      /proposal\.txns\[0\]\.body\.data: length 11 is more than dataBytesMax \(10\)/,
    );
  });

  it('random payloads are delivered whole or close the link, never anything else', async () => {
    const peer = await receiver();
    const payloads = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 64 }), { numRuns: 25, seed: 42 });
    for (const payload of payloads) {
      let decodes = true;
      try {
        decodePeerMessage(payload);
      } catch {
        decodes = false;
      }
      const delivered = peer.received.length;
      const refused = peer.transport.securityStats.undecodable;
      const done = sendAsPeer(peer.address.port, [frame(payload)]);
      if (decodes) {
        // The link stays up: close it from this end once the message is through.
        await until(() => peer.received.length === delivered + 1);
        await until(() => sockets.length > 0);
        sockets.at(-1)!.destroy();
      }
      await done;
      expect(peer.received.length).toBe(delivered + (decodes ? 1 : 0));
      expect(peer.transport.securityStats.undecodable).toBe(refused + (decodes ? 0 : 1));
    }
  });
});
