/**
 * The client port's edges, with hand-built bytes: bad frames close only their own
 * connection, an unknown opcode gets Unimplemented, and four-letter words answer as
 * ZooKeeper's do, within the whitelist.
 */
import { type Socket, connect as tcpConnect } from 'node:net';
import { connectTcp } from '@zabkit/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerNode } from '../src/node.js';
import { rawExchange, startStandalone, until } from './helpers.js';

function frame(payload: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeInt32BE(payload.length);
  return Buffer.concat([length, payload]);
}

/** ConnectRequest{protocolVersion, lastZxidSeen, timeOut, sessionId, passwd}, no readOnly byte. */
function connectRequest(timeoutMs = 30_000): Buffer {
  const payload = Buffer.alloc(44);
  payload.writeInt32BE(0, 0);
  payload.writeBigInt64BE(0n, 4);
  payload.writeInt32BE(timeoutMs, 12);
  payload.writeBigInt64BE(0n, 16);
  payload.writeInt32BE(16, 24);
  return frame(payload);
}

function header(xid: number, type: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeInt32BE(xid, 0);
  bytes.writeInt32BE(type, 4);
  return bytes;
}

function ustring(text: string): Buffer {
  const bytes = Buffer.from(text);
  const length = Buffer.alloc(4);
  length.writeInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** A raw client: sends bytes, parses length-prefixed frames back. */
class RawClient {
  readonly frames: Buffer[] = [];
  closed = false;
  private pending = Buffer.alloc(0);
  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      while (this.pending.length >= 4) {
        const length = this.pending.readInt32BE(0);
        if (this.pending.length < 4 + length) break;
        this.frames.push(this.pending.subarray(4, 4 + length));
        this.pending = this.pending.subarray(4 + length);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static async open(port: number, readOnlyByte?: boolean): Promise<RawClient> {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    await new Promise((resolve) => socket.once('connect', resolve));
    const client = new RawClient(socket);
    if (readOnlyByte === undefined) socket.write(connectRequest());
    else {
      // The same request with the readOnly byte: the frame's length grows by one.
      const request = Buffer.concat([connectRequest(), Buffer.of(readOnlyByte ? 1 : 0)]);
      request.writeInt32BE(request.length - 4, 0);
      socket.write(request);
    }
    await until(() => client.frames.length === 1);
    return client;
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }
}

describe('the client port', () => {
  let server: ServerNode;
  let port: number;

  beforeAll(async () => {
    server = await startStandalone('jute.maxbuffer=4096\n');
    port = server.address().port;
  });

  afterAll(async () => {
    await server?.close();
  });

  it('answers the handshake as ZooKeeper does: no readOnly byte when none was sent', async () => {
    const client = await RawClient.open(port);
    const response = client.frames[0]!;
    // protocolVersion, timeOut, sessionId, passwd (4 + 16): 36 bytes, no trailing flag.
    expect(response.length).toBe(36);
    expect(response.readInt32BE(0)).toBe(0);
    // Asked for 30 s; maxSessionTimeout is 20 ticks of 200 ms.
    expect(response.readInt32BE(4)).toBe(4000);
    expect(response.readBigInt64BE(8)).not.toBe(0n);
    expect(response.readInt32BE(16)).toBe(16);
    client.socket.destroy();
  });

  it('answers a client that allows read-only with the byte that says this server is not read-only', async () => {
    const client = await RawClient.open(port, true);
    const response = client.frames[0]!;
    expect(response.length).toBe(37);
    expect(response[36]).toBe(0);
    client.socket.destroy();
  });

  it('answers an unknown opcode with Unimplemented, then closes the connection, as ZooKeeper does', async () => {
    const client = await RawClient.open(port);
    client.send(frame(header(7, 999)));
    await until(() => client.frames.length === 2);
    const reply = client.frames[1]!;
    expect(reply.readInt32BE(0)).toBe(7);
    // zxid -1: ZooKeeper answers it before the request has one.
    expect(reply.readBigInt64BE(4)).toBe(-1n);
    expect(reply.readInt32BE(12)).toBe(-6);
    await until(() => client.closed);
  });

  it('answers a request whose body does not decode with MarshallingError and keeps the connection', async () => {
    const client = await RawClient.open(port);
    // getData whose path claims 1000 bytes but carries 3.
    const body = Buffer.alloc(4);
    body.writeInt32BE(1000);
    client.send(frame(Buffer.concat([header(7, 4), body, Buffer.from('abc')])));
    await until(() => client.frames.length === 2);
    expect(client.frames[1]!.readInt32BE(0)).toBe(7);
    expect(client.frames[1]!.readInt32BE(12)).toBe(-5);
    // Still usable: an exists on "/" comes back with err 0.
    client.send(frame(Buffer.concat([header(8, 3), ustring('/'), Buffer.from([0])])));
    await until(() => client.frames.length === 3);
    expect(client.frames[2]!.readInt32BE(0)).toBe(8);
    expect(client.frames[2]!.readInt32BE(12)).toBe(0);
    expect(client.closed).toBe(false);
    client.socket.destroy();
  });

  it('closes a connection that sends an oversized frame, a bad length or a cut RequestHeader, and only that one', async () => {
    const bystander = await connectTcp(`127.0.0.1:${port}`);
    await bystander.create('/bystander', 'still here');
    try {
      const oversized = await RawClient.open(port);
      const big = Buffer.alloc(8);
      big.writeInt32BE(5000, 0);
      oversized.send(big);
      await until(() => oversized.closed);

      const negative = await RawClient.open(port);
      negative.send(Buffer.from([0xff, 0xff, 0xff, 0xf0]));
      await until(() => negative.closed);

      const badHeader = await RawClient.open(port);
      // A request of 6 bytes: its RequestHeader needs 8.
      badHeader.send(frame(Buffer.from([0, 0, 0, 1, 0, 0])));
      await until(() => badHeader.closed);

      const badHandshake = await rawExchange(port, frame(Buffer.from([1, 2, 3])));
      expect(badHandshake.length).toBe(0);

      expect(new TextDecoder().decode((await bystander.getData('/bystander')).data)).toBe('still here');
    } finally {
      await bystander.close();
    }
  });

  it('answers the four-letter words', async () => {
    const client = await connectTcp(`127.0.0.1:${port}`);
    try {
      await client.create('/flw', '');
      await client.create('/flw/e', '', { mode: 'ephemeral' });
      await client.getData('/flw', { watch: () => undefined });
      const word = async (w: string) => (await rawExchange(port, Buffer.from(w))).toString();
      expect(await word('ruok')).toBe('imok');
      expect(await word('isro')).toBe('rw');
      expect(await word('srvr')).toMatch(/Mode: standalone\nNode count: \d+\n$/);
      const stat = await word('stat');
      expect(stat).toMatch(/^Clients:$/m);
      expect(stat).toMatch(/127\.0\.0\.1/);
      const mntr = await word('mntr');
      expect(mntr).toMatch(/^zk_server_state\tstandalone$/m);
      expect(mntr).toMatch(/^zk_ephemerals_count\t1$/m);
      expect(mntr).toMatch(/^zk_watch_count\t1$/m);
      expect(await word('conf')).toMatch(/^tickTime=200$/m);
      const cons = await word('cons');
      expect(cons).toMatch(/sid=0x[0-9a-f]+/);
      // The last response's wall-clock time: the getData above, a moment ago.
      const lastResponses = [...cons.matchAll(/lresp=(\d+)/g)].map((m) => Number(m[1]));
      expect(lastResponses.some((ms) => ms > Date.now() - 10_000 && ms <= Date.now() + 5)).toBe(true);
      expect(await word('envi')).toMatch(/^Environment:\n/);
      expect(await word('wchs')).toMatch(/^1 connections watching 1 paths\nTotal watches:1\n$/);
      const dump = await word('dump');
      expect(dump).toMatch(/Sessions with Ephemerals \(1\):/);
      expect(dump).toMatch(/^\t\/flw\/e$/m);
    } finally {
      await client.close();
    }
  });

  it('refuses connections beyond maxClientCnxns from one address', async () => {
    const limited = await startStandalone('maxClientCnxns=2\n');
    try {
      const at = limited.address().port;
      const first = await RawClient.open(at);
      const second = await RawClient.open(at);
      const third = tcpConnect({ host: '127.0.0.1', port: at });
      third.on('error', () => undefined);
      await new Promise((resolve) => third.once('close', resolve));
      expect(first.closed || second.closed).toBe(false);
      first.socket.destroy();
      await until(() => limited.clientPort.connectionInfo().length === 1);
      const again = await RawClient.open(at);
      expect(again.frames[0]!.length).toBe(36);
      second.socket.destroy();
      again.socket.destroy();
    } finally {
      await limited.close();
    }
  });

  it('honours 4lw.commands.whitelist', async () => {
    const restricted = await startStandalone('4lw.commands.whitelist=ruok\n'.replace('ruok', 'ruok, mntr'));
    try {
      const at = restricted.address().port;
      expect((await rawExchange(at, Buffer.from('ruok'))).toString()).toBe('imok');
      expect((await rawExchange(at, Buffer.from('mntr'))).toString()).toMatch(/^zk_version/);
      expect((await rawExchange(at, Buffer.from('dump'))).toString()).toBe(
        'dump is not executed because it is not in the whitelist.\n',
      );
    } finally {
      await restricted.close();
    }
  });
});
