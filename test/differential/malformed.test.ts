/**
 * Malformed requests, against Apache ZooKeeper 3.8 and against zabkit side by side, through
 * kazoo's own connection and records (its `raw` mode sends a path exactly as written, and
 * records kazoo has no class for): the same error codes, and the connection kept or dropped
 * as ZooKeeper keeps or drops it.
 *
 * What ZooKeeper does, and zabkit now with it: a read looks its path up as given, so a
 * malformed path is simply missing (NoNode), except exists with a NUL (BadArguments); "" is
 * the root's own key; addWatch registers any path and removeWatches finds no watcher there.
 * A body that does not decode, a multi holding an op it may not (setACL, a read, reads mixed
 * with writes) and an unknown addWatch mode or watcher type are answered MarshallingError
 * with the connection kept; an unknown opcode is answered Unimplemented and the connection
 * closed.
 */
import { connect as tcpConnect } from 'node:net';
import { encodeConnectRequest } from '@zabkit/wire';
import { describe, expect, it } from 'vitest';
import { kazooInstalled } from './drivers.js';
import { differences, pairForSuite, type ScenarioContext } from './harness.js';
import { zookeeperInstalled } from './servers.js';

const installed = zookeeperInstalled && kazooInstalled;
if (!installed) console.warn('Apache ZooKeeper or kazoo (python3-kazoo) is not installed: skipping');

const hex = (text: string) => Buffer.from(text, 'utf8').toString('hex');
/** A jute ustring, hex: int32 length and UTF-8 bytes. */
const ustring = (text: string) => `${Buffer.byteLength(text).toString(16).padStart(8, '0')}${hex(text)}`;

const malformedPaths = ['a', '/a/', '//', '/a//b', '/zookeeper/', '/x\u0001', '/a\u0000b', '/a/.', '/a/..'];

describe.skipIf(!installed)('malformed requests through kazoo, zabkit against ZooKeeper', () => {
  const pair = pairForSuite({ clients: ['kazoo'] });

  const connect = (t: ScenarioContext) => t.connect('a', { timeoutMs: 4000 });

  it('reads of malformed paths answer NoNode (BadArguments for exists with NUL); "" is the root', async () => {
    const transcripts = await pair().run('kazoo', async (t) => {
      await connect(t);
      for (const path of malformedPaths) {
        for (const request of ['getData', 'exists', 'getChildren', 'getChildren2', 'getACL', 'sync']) {
          await t.do({ op: 'raw', request, path });
        }
        await t.do({ op: 'raw', request: 'opcode', opcode: 104, bodyHex: ustring(path) });
      }
      // "" as a zero-length string (kazoo itself sends "" as a null string).
      await t.do({ op: 'raw', request: 'opcode', opcode: 4, bodyHex: `${ustring('')}00` });
      await t.do({ op: 'raw', request: 'opcode', opcode: 8, bodyHex: `${ustring('')}00` });
      await t.do({ op: 'raw', request: 'opcode', opcode: 3, bodyHex: `${ustring('')}00` });
      await t.do({ op: 'raw', request: 'opcode', opcode: 6, bodyHex: ustring('') });
      await t.events('a', 1);
    });
    expect(differences(transcripts), pair().serverLog('zabkit')).toEqual([]);
    const codes = transcripts.zookeeper.slice(1, 8).map((step) => step.answer.code ?? 0);
    expect(codes).toEqual([-101, 0, -101, -101, -101, 0, -101]);
  });

  it('watch requests on malformed paths: addWatch registers them, removeWatches finds none', async () => {
    const transcripts = await pair().run('kazoo', async (t) => {
      await connect(t);
      for (const path of ['/a/', '//', '/zookeeper/', '/x\u0001']) {
        await t.do({ op: 'raw', request: 'checkWatches', path, mode: 3 });
        await t.do({ op: 'raw', request: 'removeWatches', path, mode: 3 });
        await t.do({ op: 'raw', request: 'addWatch', path, mode: 0 });
        await t.do({ op: 'raw', request: 'checkWatches', path, mode: 3 });
        await t.do({ op: 'raw', request: 'removeWatches', path, mode: 3 });
        await t.do({ op: 'raw', request: 'removeWatches', path, mode: 3 });
      }
      await t.events('a', 1);
    });
    expect(differences(transcripts), pair().serverLog('zabkit')).toEqual([]);
  });

  it('writes of malformed paths answer BadArguments or NoNode as ZooKeeper prepares them', async () => {
    const transcripts = await pair().run('kazoo', async (t) => {
      await connect(t);
      for (const path of malformedPaths) {
        await t.do({ op: 'raw', request: 'create', path });
        await t.do({ op: 'raw', request: 'create2', path });
        await t.do({ op: 'raw', request: 'delete', path });
        await t.do({ op: 'raw', request: 'setData', path, data: 'x' });
      }
      await t.events('a', 1);
    });
    expect(differences(transcripts), pair().serverLog('zabkit')).toEqual([]);
  });

  it('answers MarshallingError for bodies that do not decode and ops a multi may not hold, keeping the connection', async () => {
    const transcripts = await pair().run('kazoo', async (t) => {
      await connect(t);
      const setAcl = { request: 'setACL', path: '/', acl: 'open', version: -1 };
      const getData = { request: 'getData', path: '/' };
      const create = { request: 'create', path: '/made-by-multi' };
      await t.do({ op: 'raw', request: 'multi', ops: [setAcl] });
      await t.do({ op: 'raw', request: 'multi', ops: [create, setAcl] });
      await t.do({ op: 'raw', request: 'multi', ops: [getData] });
      await t.do({ op: 'raw', request: 'multi', ops: [create, getData] });
      await t.do({ op: 'raw', request: 'multiRead', ops: [create] });
      await t.do({ op: 'raw', request: 'multiRead', ops: [setAcl] });
      await t.do({ op: 'exists', path: '/made-by-multi' });
      await t.do({ op: 'raw', request: 'addWatch', path: '/', mode: 7 });
      await t.do({ op: 'raw', request: 'removeWatches', path: '/', mode: 9 });
      await t.do({ op: 'raw', request: 'checkWatches', path: '/', mode: 9 });
      // Bodies cut short: getData without its watch flag, create after its path, a bare multi op.
      await t.do({ op: 'raw', request: 'opcode', opcode: 4, bodyHex: ustring('/') });
      await t.do({ op: 'raw', request: 'opcode', opcode: 1, bodyHex: ustring('/cut') });
      await t.do({
        op: 'raw',
        request: 'opcode',
        opcode: 14,
        bodyHex: `00000002 00 ffffffff ${ustring('/')}`,
      });
      await t.do({ op: 'raw', request: 'opcode', opcode: 4, bodyHex: 'ffffffff00' });
      await t.do({ op: 'exists', path: '/' });
      await t.events('a', 1);
    });
    expect(differences(transcripts), pair().serverLog('zabkit')).toEqual([]);
    const failures = transcripts.zookeeper.filter((step) => step.command.op === 'raw');
    expect(failures.map((step) => step.answer.code)).toEqual(Array(failures.length).fill(-5));
  });

  it("answers invalid create flags with BadArguments, in a multi as that op's result", async () => {
    const transcripts = await pair().run('kazoo', async (t) => {
      await connect(t);
      const good = { request: 'create', path: '/flags-ok' };
      const bad = { request: 'create', path: '/flags-bad', flags: 99 };
      await t.do({ op: 'raw', request: 'create', path: '/flags-top', flags: 99 });
      await t.do({ op: 'raw', request: 'multi', ops: [good, bad] });
      await t.do({ op: 'raw', request: 'multi', ops: [bad, good] });
      await t.do({ op: 'exists', path: '/flags-ok' });
      await t.events('a', 1);
    });
    expect(differences(transcripts), pair().serverLog('zabkit')).toEqual([]);
    expect(transcripts.zookeeper[1]!.answer.code).toBe(-8);
    expect(transcripts.zookeeper[2]!.answer).toMatchObject({ ok: true });
  });

  it('answers Unimplemented for an unknown opcode and closes the connection', async () => {
    const transcripts = await pair().run('kazoo', async (t) => {
      await connect(t);
      await t.events('a', 1);
      await t.do({ op: 'raw', request: 'opcode', opcode: 55, bodyHex: '' });
      await t.events('a', 2);
      await t.do({ op: 'exists', path: '/' });
    });
    expect(differences(transcripts), pair().serverLog('zabkit')).toEqual([]);
    expect(transcripts.zookeeper[2]!.answer.code).toBe(-6);
  });

  /**
   * The ReplyHeader of an unknown opcode, read off the socket (no client shows it): its zxid
   * and error, and whether the server then closes the connection.
   */
  async function unknownOpcodeReply(port: number): Promise<{ zxid: bigint; err: number; closed: boolean }> {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
    });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      encodeConnectRequest({
        lastZxidSeen: 0n,
        timeoutMs: 4000,
        sessionId: 0n,
        password: new Uint8Array(16),
      }),
    );
    const frame = (offset: number) =>
      received.length >= offset + 4 && received.length >= offset + 4 + received.readInt32BE(offset);
    for (let i = 0; i < 200 && !frame(0); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    const first = 4 + received.readInt32BE(0);
    // RequestHeader{xid 1, type 55}, no body.
    socket.write(Buffer.from('000000080000000100000037', 'hex'));
    for (let i = 0; i < 200 && !frame(first); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    const zxid = received.readBigInt64BE(first + 8);
    const err = received.readInt32BE(first + 16);
    const wasClosed = await Promise.race([
      closed.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 5000)),
    ]);
    socket.destroy();
    return { zxid, err, closed: wasClosed };
  }

  it('answers an unknown opcode with zxid -1 in its ReplyHeader, then closes, as ZooKeeper', async () => {
    const [zookeeper, zabkit] = await Promise.all(
      (['zookeeper', 'zabkit'] as const).map((kind) => unknownOpcodeReply(pair().servers[kind].port)),
    );
    expect(zookeeper).toEqual({ zxid: -1n, err: -6, closed: true });
    expect(zabkit).toEqual(zookeeper);
  });

  it('accepts addauth ip, as ZooKeeper does: the identity is the client address already held', async () => {
    const transcripts = await pair().run('kazoo', async (t) => {
      await connect(t);
      await t.do({ op: 'addAuth', scheme: 'ip', auth: 'anything' });
      await t.do({ op: 'raw', request: 'opcode', opcode: 107, bodyHex: '' });
      await t.do({ op: 'create', path: '/by-ip', acl: [{ perms: 31, scheme: 'ip', id: '127.0.0.1' }] });
      await t.do({ op: 'getData', path: '/by-ip' });
      await t.events('a', 1);
    });
    expect(differences(transcripts), pair().serverLog('zabkit')).toEqual([]);
    expect(transcripts.zookeeper[1]!.answer.ok).toBe(true);
  });
});
