import { connect, type Socket } from 'node:net';
import { decodedSessionId, makeZxid, type PeerMessage, type ServerId } from '@zabkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeAcceptorReply,
  encodeHello,
  encodePeerMessage,
  FrameReader,
  TcpTransport,
} from '../src/index.js';
import {
  collect,
  connectedEndpoints,
  fastReconnect,
  frame,
  freePort,
  type Inbox,
  localhost,
  ping,
  sleep,
  until,
} from './helpers.js';

const epochs = (inbox: Inbox, from: ServerId) =>
  inbox.received.filter((r) => r.from === from).map((r) => (r.message as { epoch: number }).epoch);

async function rawConnection(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
  const socket = connect({ host: localhost, port });
  socket.on('error', () => {});
  // Read (and drop) what the acceptor says, as any client would, so its close is seen.
  socket.resume();
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, closed };
}

/** Says hello as server `from` to server `to` (no secret, no TLS) and waits for the acceptor's answer. */
async function rawPeer(
  port: number,
  from: ServerId,
  to: ServerId,
): Promise<{ socket: Socket; closed: Promise<void> }> {
  const raw = await rawConnection(port);
  raw.socket.write(encodeHello(from, to));
  const reply = await new Promise<string>((resolve) => {
    const reader = new FrameReader(128);
    raw.socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      const payload = reader.next();
      if (payload !== undefined) resolve(decodeAcceptorReply(payload)?.kind ?? 'garbage');
    });
    raw.closed.then(() => resolve('closed'));
  });
  if (reply !== 'accept') throw new Error(`hello answered with ${reply}`);
  raw.socket.removeAllListeners('data');
  return raw;
}

const cleanup: TcpTransport[] = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((t) => t.shutdown()));
});
async function endpoints(ids: ServerId[], options = {}): Promise<TcpTransport[]> {
  const made = await connectedEndpoints(ids, options);
  cleanup.push(...made);
  return made;
}

describe('TcpTransport', () => {
  it('reconnects to a peer restarted on the same port, and messages flow again both ways', async () => {
    const [a, b] = await endpoints([1, 2]);
    const inboxA = collect(a!);
    const inboxB = collect(b!);
    a!.send(2, ping(1));
    await until(() => inboxB.received.length === 1);
    const portB = b!.address!.port;
    await b!.shutdown();
    await until(() => inboxA.down.includes(2));

    const restarted = new TcpTransport({
      serverId: 2,
      listen: { host: localhost, port: portB },
      peers: new Map([[1, a!.address!]]),
      reconnect: fastReconnect,
    });
    cleanup.push(restarted);
    const inboxB2 = collect(restarted);
    await restarted.start();
    a!.send(2, ping(2));
    restarted.send(1, ping(3));
    await until(() => inboxB2.received.length === 1 && epochs(inboxA, 2).length === 1);
    expect(inboxB2.received).toEqual([{ from: 1, message: ping(2) }]);
    expect(epochs(inboxA, 2)).toEqual([3]);
    expect(inboxB.received).toEqual([{ from: 1, message: ping(1) }]);
    expect(inboxA.down).toEqual([2]);
  });

  it('dials a restarted peer back as soon as it dials in, not when its backoff comes round', async () => {
    // A's redials wait 2.5-5 s: a peer back sooner must not wait for them to hear from A.
    const slowRedial = { initialMs: 5000, maxMs: 5000 };
    const [a, b] = await endpoints([1, 2], { reconnect: slowRedial });
    const inboxA = collect(a!);
    const portB = b!.address!.port;
    await b!.shutdown();
    await until(() => inboxA.down.includes(2));

    const restarted = new TcpTransport({
      serverId: 2,
      listen: { host: localhost, port: portB },
      peers: new Map([[1, a!.address!]]),
      reconnect: fastReconnect,
    });
    cleanup.push(restarted);
    const inboxB = collect(restarted);
    const started = performance.now();
    await restarted.start();
    await until(() => a!.isLinkUp(2) && restarted.isLinkUp(1), 2000);
    a!.send(2, ping(8));
    await until(() => inboxB.received.length === 1, 2000);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(inboxB.received).toEqual([{ from: 1, message: ping(8) }]);
  });

  it('closes only the connection that sends an oversized frame; other links keep working', async () => {
    const [a, b] = await endpoints([1, 2], { maxFrameBytes: 1024 });
    b!.setPeer(3, await freePort());
    const inboxA = collect(a!);
    const inboxB = collect(b!);
    const raw = await rawPeer(b!.address!.port, 3, 2);
    raw.socket.write(frame(encodePeerMessage(ping(5))));
    await until(() => inboxB.received.length === 1);
    expect(inboxB.received[0]).toEqual({ from: 3, message: ping(5) });

    const header = Buffer.alloc(4);
    header.writeUInt32BE(0xffff_fff0, 0);
    raw.socket.write(header);
    await raw.closed;
    await until(() => inboxB.down.includes(3));

    a!.send(2, ping(6));
    b!.send(1, ping(7));
    await until(() => epochs(inboxB, 1).length === 1 && epochs(inboxA, 2).length === 1);
    expect(epochs(inboxB, 1)).toEqual([6]);
    expect(epochs(inboxA, 2)).toEqual([7]);
    expect(inboxB.down).toEqual([3]);
    expect(inboxA.down).toEqual([]);
  });

  it('reports the bytes of a message on its way before the whole message, only from that peer', async () => {
    const [a, b] = await endpoints([1, 2]);
    b!.setPeer(3, await freePort());
    collect(a!);
    const received: ServerId[] = [];
    const progress: ServerId[] = [];
    b!.listen({
      message: (from) => received.push(from),
      linkDown: () => undefined,
      progress: (from) => progress.push(from),
    });
    const raw = await rawPeer(b!.address!.port, 3, 2);
    const whole = frame(encodePeerMessage(ping(5)));
    // A whole message alone reports no progress: the message itself says the peer lives.
    raw.socket.write(whole);
    await until(() => received.length === 1);
    expect(progress).toEqual([]);
    // Its length, then part of it: reported, and nothing delivered yet.
    raw.socket.write(whole.subarray(0, 4));
    await until(() => progress.length === 1);
    raw.socket.write(whole.subarray(4, 9));
    await until(() => progress.length === 2);
    expect(progress).toEqual([3, 3]);
    expect(received).toEqual([3]);
    // The rest: the message, and no further progress.
    raw.socket.write(whole.subarray(9));
    await until(() => received.length === 2);
    expect(received).toEqual([3, 3]);
    expect(progress).toHaveLength(2);
  });

  it('closes only the connection that sends an undecodable payload', async () => {
    const [a, b] = await endpoints([1, 2]);
    b!.setPeer(3, await freePort());
    const inboxA = collect(a!);
    const inboxB = collect(b!);
    const raw = await rawPeer(b!.address!.port, 3, 2);
    raw.socket.write(frame(new Uint8Array([250, 1, 2, 3])));
    await raw.closed;
    await until(() => inboxB.down.includes(3));
    a!.send(2, ping(1));
    await until(() => inboxB.received.length === 1);
    expect(inboxB.received).toEqual([{ from: 1, message: ping(1) }]);
    expect(inboxA.down).toEqual([]);
  });

  it('refuses a connection whose handshake is garbage or names an unknown peer, reporting nothing', async () => {
    const [a, b] = await endpoints([1, 2]);
    const inboxB = collect(b!);
    collect(a!);
    const garbage = await rawConnection(b!.address!.port);
    garbage.socket.write(frame(Buffer.from('GET / HTTP/1.1\r\n\r\n')));
    await garbage.closed;
    const stranger = await rawConnection(b!.address!.port);
    stranger.socket.write(encodeHello(42, 2));
    await stranger.closed;
    const impersonator = await rawConnection(b!.address!.port);
    impersonator.socket.write(encodeHello(2, 2));
    await impersonator.closed;
    const misdirected = await rawConnection(b!.address!.port);
    misdirected.socket.write(encodeHello(1, 3));
    await misdirected.closed;
    await sleep(20);
    expect(inboxB.down).toEqual([]);
    expect(b!.isLinkUp(1)).toBe(true);
  });

  it('reports linkDown when the send queue overflows, drops it, and delivers what follows in order', async () => {
    const address = await freePort();
    const a = new TcpTransport({
      serverId: 1,
      listen: { host: localhost, port: 0 },
      peers: new Map([[2, address]]),
      maxQueuedBytes: 2000,
      reconnect: fastReconnect,
    });
    cleanup.push(a);
    const inboxA = collect(a);
    await a.start();
    const big = (epoch: number): PeerMessage => ({
      kind: 'proposal',
      epoch,
      txns: [
        {
          zxid: makeZxid(1, epoch),
          timeMs: 0,
          sessionId: decodedSessionId(1n),
          cxid: 1,
          body: { kind: 'setData', path: '/x', data: new Uint8Array(300), version: epoch },
        },
      ],
    });
    for (let i = 0; i < 10; i++) a.send(2, big(i));
    await until(() => inboxA.down.length === 1);
    expect(inboxA.down).toEqual([2]);
    // Six ~330-byte frames fit: the overflow dropped 0..5 with the seventh; 7..9 are queued.
    const b = new TcpTransport({
      serverId: 2,
      listen: address,
      peers: new Map([[1, a.address!]]),
      reconnect: fastReconnect,
    });
    cleanup.push(b);
    const inboxB = collect(b);
    await b.start();
    a.send(2, big(10));
    await until(() => inboxB.received.length === 4);
    expect(inboxB.received.map((r) => (r.message as { epoch: number }).epoch)).toEqual([7, 8, 9, 10]);
    expect(inboxA.down).toEqual([2]);
  });

  it('reports linkDown for a message larger than the frame limit, and keeps the link usable', async () => {
    const [a, b] = await endpoints([1, 2], { maxFrameBytes: 100 });
    const inboxA = collect(a!);
    const inboxB = collect(b!);
    a!.send(2, {
      kind: 'proposal',
      epoch: 1,
      txns: [
        {
          zxid: makeZxid(1, 1),
          timeMs: 0,
          sessionId: decodedSessionId(1n),
          cxid: 1,
          body: { kind: 'setData', path: '/x', data: new Uint8Array(200), version: 1 },
        },
      ],
    });
    a!.send(2, ping(2));
    await until(() => inboxA.down.includes(2) && inboxB.down.includes(1));
    await until(() => inboxB.received.length === 1);
    expect(inboxB.received).toEqual([{ from: 1, message: ping(2) }]);
  });

  it('carries a multi-megabyte snapshot chunk intact (a single large node travels alone)', async () => {
    const [a, b] = await endpoints([1, 2]);
    collect(a!);
    const inboxB = collect(b!);
    const data = new Uint8Array(5 * 1024 * 1024).map((_v, i) => i % 251);
    const message: PeerMessage = {
      kind: 'syncSnapshotChunk',
      epoch: 3,
      attempt: 3,
      seq: 1,
      nodes: [
        {
          path: '/big',
          data,
          acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
          czxid: makeZxid(3, 1),
          mzxid: makeZxid(3, 1),
          pzxid: makeZxid(3, 1),
          ctime: 1,
          mtime: 2,
          version: 0,
          cversion: 0,
          aversion: 0,
          ephemeralOwner: 0n,
        },
      ],
      sessions: [[decodedSessionId(7n), 30_000]],
      last: true,
    };
    type Chunk = Extract<PeerMessage, { kind: 'syncSnapshotChunk' }>;
    a!.send(2, message);
    a!.send(2, ping(9));
    await until(() => inboxB.received.length === 2);
    // vitest's deep equality walks typed arrays element by element: compare the bytes directly.
    const got = inboxB.received[0]!.message as Chunk;
    const gotData = got.nodes[0]?.data;
    expect(gotData && Buffer.from(gotData).equals(data)).toBe(true);
    const empty = new Uint8Array(0);
    const strip = (m: Chunk) => ({ ...m, nodes: m.nodes.map((node) => ({ ...node, data: empty })) });
    expect(strip(got)).toEqual(strip(message as Chunk));
    expect(inboxB.received[1]).toEqual({ from: 1, message: ping(9) });
  });

  it('keeps order across a burst of many small messages both ways', async () => {
    const [a, b] = await endpoints([1, 2]);
    const inboxA = collect(a!);
    const inboxB = collect(b!);
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      a!.send(2, { kind: 'ack', epoch: 1, zxid: makeZxid(1, i) });
      b!.send(1, ping(i));
    }
    await until(() => inboxB.received.length === n && inboxA.received.length === n, 15_000);
    expect(inboxB.received.map((r) => Number((r.message as { zxid: bigint }).zxid & 0xffffffffn))).toEqual(
      Array.from({ length: n }, (_v, i) => i),
    );
    expect(epochs(inboxA, 2)).toEqual(Array.from({ length: n }, (_v, i) => i));
  });

  it('queues messages sent before the peer is up and delivers them once it is', async () => {
    const address = await freePort();
    const a = new TcpTransport({
      serverId: 1,
      listen: { host: localhost, port: 0 },
      peers: new Map([[2, address]]),
      reconnect: fastReconnect,
    });
    cleanup.push(a);
    const inboxA = collect(a);
    await a.start();
    for (let i = 0; i < 5; i++) a.send(2, ping(i));
    await sleep(30);
    const b = new TcpTransport({ serverId: 2, listen: address, peers: new Map([[1, a.address!]]) });
    cleanup.push(b);
    const inboxB = collect(b);
    await b.start();
    await until(() => inboxB.received.length === 5);
    expect(epochs(inboxB, 1)).toEqual([0, 1, 2, 3, 4]);
    expect(inboxA.down).toEqual([]);
  });

  it('a healed partition carries messages again', async () => {
    const [a, b] = await endpoints([1, 2]);
    const inboxA = collect(a!);
    const inboxB = collect(b!);
    a!.partition(2);
    b!.partition(1);
    await until(() => inboxA.down.includes(2) && inboxB.down.includes(1));
    a!.send(2, ping(1));
    a!.heal();
    b!.heal(1);
    a!.send(2, ping(2));
    await until(() => inboxB.received.length === 1);
    expect(inboxB.received).toEqual([{ from: 1, message: ping(2) }]);
  });

  it('after close nothing is delivered and no socket or timer is left', async () => {
    const [a, b] = await endpoints([1, 2]);
    const inboxA = collect(a!);
    collect(b!);
    b!.send(1, ping(1));
    a!.close();
    await sleep(30);
    expect(inboxA.received).toEqual([]);
    expect(inboxA.down).toEqual([]);
    await a!.shutdown();
    expect(a!.address).toBeDefined();
  });
});
