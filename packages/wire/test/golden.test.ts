/**
 * Frames built by hand from the jute layout, byte for byte, so the layout is pinned
 * independently of the encoder/decoder pair agreeing with itself.
 */

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { containerEphemeralOwner, ErrorCode, zxid } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import {
  decodeConnectRequest,
  decodeConnectResponse,
  decodeReply,
  decodeRequest,
  decodeWatcherEvent,
  encodeConnectRequest,
  encodeConnectResponse,
  encodeError,
  encodeReply,
  encodeRequest,
  encodeWatcherEvent,
  OpCode,
  WireDecodeError,
} from '../src/index.js';

const hex = (text: string): Uint8Array =>
  Uint8Array.from(
    text
      .replace(/\s+/g, '')
      .match(/../g)!
      .map((pair) => Number.parseInt(pair, 16)),
  );
const ascii = (text: string): string => Buffer.from(text, 'utf8').toString('hex');

const zeros16 = '00'.repeat(16);
/** kazoo under Debian's python3 (CI installs python3-kazoo). */
const kazooInstalled = existsSync('/usr/lib/python3/dist-packages/kazoo/protocol/serialization.py');

describe('golden frames', () => {
  it('ConnectRequest as node-zookeeper-client sends it: 44-byte payload, no readOnly byte', () => {
    const frame = hex(`0000002c 00000000 0000000000000000 00007530 0000000000000000 00000010 ${zeros16}`);
    expect(frame.length).toBe(48);
    const decoded = decodeConnectRequest(frame.subarray(4));
    expect(decoded).toEqual({
      protocolVersion: 0,
      lastZxidSeen: 0n,
      timeoutMs: 30000,
      sessionId: 0n,
      password: new Uint8Array(16),
      readOnly: false,
      readOnlyFlagSent: false,
    });
    expect(
      encodeConnectRequest({
        lastZxidSeen: zxid(0n),
        timeoutMs: 30000,
        sessionId: 0n,
        password: new Uint8Array(16),
      }),
    ).toEqual(frame);
  });

  it('ConnectRequest as kazoo sends it: resuming a session, readOnly byte present', () => {
    const frame = hex(
      `0000002d 00000000 0000000100000007 00002710 81020304050607ff 00000010 ${'ab'.repeat(16)} 01`,
    );
    const decoded = decodeConnectRequest(frame.subarray(4));
    expect(decoded.lastZxidSeen).toBe(0x1_0000_0007n);
    expect(decoded.timeoutMs).toBe(10000);
    expect(decoded.sessionId).toBe(BigInt.asIntN(64, 0x8102030405060_7ffn));
    expect(decoded.readOnly).toBe(true);
    expect(decoded.readOnlyFlagSent).toBe(true);
    expect(
      encodeConnectRequest({
        lastZxidSeen: decoded.lastZxidSeen,
        timeoutMs: 10000,
        sessionId: decoded.sessionId,
        password: new Uint8Array(16).fill(0xab),
        readOnly: true,
      }),
    ).toEqual(frame);
  });

  it('ConnectResponse for an expired session, with and without the echoed readOnly byte', () => {
    const bare = hex(`00000024 00000000 00000000 0000000000000000 00000010 ${zeros16}`);
    expect(encodeConnectResponse({ timeoutMs: 0, sessionId: 0n, password: new Uint8Array(16) })).toEqual(
      bare,
    );
    const echoed = hex(`00000025 00000000 00000fa0 0000000000000042 00000010 ${zeros16} 00`);
    expect(
      encodeConnectResponse({
        timeoutMs: 4000,
        sessionId: 0x42n,
        password: new Uint8Array(16),
        readOnly: false,
      }),
    ).toEqual(echoed);
    expect(decodeConnectResponse(echoed.subarray(4))).toEqual({
      protocolVersion: 0,
      timeoutMs: 4000,
      sessionId: 0x42n,
      password: new Uint8Array(16),
      readOnly: false,
    });
  });

  it('exists request: RequestHeader{1, 3} + {"/a", watch}', () => {
    const frame = hex('0000000f 00000001 00000003 00000002 2f61 01');
    expect(encodeRequest(1, { op: 'exists', path: '/a', watch: true })).toEqual(frame);
    expect(decodeRequest(frame.subarray(4))).toEqual({
      xid: 1,
      opcode: OpCode.exists,
      request: { op: 'exists', path: '/a', watch: true },
    });
  });

  it('create2 request with an ACL, as node-zookeeper-client lays it out', () => {
    const frame = hex(
      `00000033 00000002 0000000f 00000002 2f6e 00000002 6869
       00000001 0000001f 00000005 ${ascii('world')} 00000006 ${ascii('anyone')}
       00000001`,
    );
    const request = {
      op: 'create' as const,
      path: '/n',
      data: new TextEncoder().encode('hi'),
      acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
      mode: 1 as const,
      ttlMs: -1n,
    };
    expect(encodeRequest(2, request)).toEqual(frame);
    expect(decodeRequest(frame.subarray(4)).request).toEqual(request);
  });

  it('a plain create (1) with a null ACL vector reads as empty, null data stays null', () => {
    const frame = hex('00000000 00000001 00000002 2f61 ffffffff ffffffff 00000000');
    expect(decodeRequest(frame)).toEqual({
      xid: 0,
      opcode: OpCode.create,
      request: { op: 'create', path: '/a', data: null, acl: [], mode: 0, ttlMs: -1n },
    });
    const empty = hex('00000000 00000001 00000002 2f61 00000000 ffffffff 00000000');
    expect(decodeRequest(empty).request).toMatchObject({ op: 'create', data: new Uint8Array(0) });
  });

  it('setData (5) with null data, and getData replies: null is length -1, empty is length 0', () => {
    const setNull = hex('00000003 00000005 00000002 2f61 ffffffff ffffffff');
    expect(decodeRequest(setNull).request).toEqual({ op: 'setData', path: '/a', data: null, version: -1 });
    const stat = {
      czxid: zxid(1n),
      mzxid: zxid(1n),
      ctime: 0,
      mtime: 0,
      version: 0,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: 0n,
      dataLength: 0,
      numChildren: 0,
      pzxid: zxid(1n),
    };
    const nullReply = { ok: true, op: 'getData', result: { data: null, stat } } as const;
    const emptyReply = { ok: true, op: 'getData', result: { data: new Uint8Array(0), stat } } as const;
    const nullFrame = encodeReply(OpCode.getData, 4, 1n, nullReply);
    const emptyFrame = encodeReply(OpCode.getData, 4, 1n, emptyReply);
    expect(Buffer.from(nullFrame.subarray(20, 24)).toString('hex')).toBe('ffffffff');
    expect(Buffer.from(emptyFrame.subarray(20, 24)).toString('hex')).toBe('00000000');
    expect(decodeReply(OpCode.getData, nullFrame.subarray(4)).reply).toEqual(nullReply);
    expect(decodeReply(OpCode.getData, emptyFrame.subarray(4)).reply).toEqual(emptyReply);
  });

  it('ping reply: ReplyHeader{-2, zxid, 0} and nothing else', () => {
    const frame = hex('00000010 fffffffe 0000000100000005 00000000');
    expect(encodeReply(OpCode.ping, -2, 0x1_0000_0005n, { ok: true, op: 'ping', result: {} })).toEqual(frame);
    expect(decodeReply(OpCode.ping, frame.subarray(4))).toEqual({
      xid: -2,
      zxid: 0x1_0000_0005n,
      err: 0,
      reply: { ok: true, op: 'ping', result: {} },
    });
  });

  it('ping reply carries xid -2 whatever xid the ping came with, as ZooKeeper writes it', () => {
    const frame = hex('00000010 fffffffe 0000000100000005 00000000');
    expect(encodeReply(OpCode.ping, 7, 0x1_0000_0005n, { ok: true, op: 'ping', result: {} })).toEqual(frame);
    // Only a ping: every other reply echoes its request's xid.
    const synced = encodeReply(OpCode.sync, 7, 0x1_0000_0005n, {
      ok: true,
      op: 'sync',
      result: { path: '/' },
    });
    expect(synced.subarray(4, 8)).toEqual(hex('00000007'));
  });

  it('addWatch reply: ReplyHeader + ErrorResponse{0}, 20 bytes as ZooKeeper sends them', () => {
    const frame = hex('00000014 00000007 0000000000000010 00000000 00000000');
    const reply = { ok: true, op: 'addWatch', result: {} } as const;
    expect(encodeReply(OpCode.addWatch, 7, 0x10n, reply)).toEqual(frame);
    expect(decodeReply(OpCode.addWatch, frame.subarray(4)).reply).toEqual(reply);
    // A failed addWatch is header-only, like every error reply.
    const failed = { ok: false, op: 'addWatch', code: ErrorCode.BadArguments } as const;
    expect(encodeReply(OpCode.addWatch, 7, 0x10n, failed)).toEqual(
      hex('00000010 00000007 0000000000000010 fffffff8'),
    );
  });

  it('answers what ZooKeeper answers MarshallingError for, and closes only where it closes', () => {
    const rejected = (frame: string) => {
      try {
        decodeRequest(hex(frame));
      } catch (error) {
        return error;
      }
      throw new Error('decoded');
    };
    const world = `00000001 0000001f 00000005 ${ascii('world')} 00000006 ${ascii('anyone')}`;
    const marshalling = { code: ErrorCode.MarshallingError, closesConnection: false };
    // A multi holding a setACL, and one holding a getData.
    expect(
      rejected(`00000003 0000000e 00000007 00 ffffffff 00000001 2f ${world} ffffffff ffffffff 01 ffffffff`),
    ).toMatchObject({ xid: 3, ...marshalling });
    expect(
      rejected(`00000003 0000000e 00000004 00 ffffffff 00000001 2f 00 ffffffff 01 ffffffff`),
    ).toMatchObject(marshalling);
    // multiRead holding a delete; a null path; addWatch mode 7; removeWatches type 9.
    expect(
      rejected(`00000003 00000016 00000002 00 ffffffff 00000001 2f ffffffff ffffffff 01 ffffffff`),
    ).toMatchObject(marshalling);
    expect(rejected('00000003 00000004 ffffffff 00')).toMatchObject(marshalling);
    expect(rejected('00000003 0000006a 00000001 2f 00000007')).toMatchObject(marshalling);
    expect(rejected('00000003 00000012 00000001 2f 00000009')).toMatchObject(marshalling);
    // Invalid create flags decode as they are: the core answers BadArguments in preparation,
    // as ZooKeeper's CreateMode.fromFlag does (in a multi, as that op's result).
    expect(
      decodeRequest(hex(`00000003 00000001 00000001 2f ffffffff ${world} 00000063`)).request,
    ).toMatchObject({
      op: 'create',
      mode: 0x63,
    });
    // An opcode ZooKeeper's server does not know: Unimplemented, then the connection closes;
    // sasl, which it knows, keeps it.
    expect(rejected('00000003 00000037')).toMatchObject({
      code: ErrorCode.Unimplemented,
      closesConnection: true,
    });
    expect(rejected('00000003 00000066 ffffffff')).toMatchObject({
      code: ErrorCode.Unimplemented,
      closesConnection: false,
    });
    // A cut RequestHeader, or a cut auth packet: the connection closes.
    expect(rejected('000000')).toBeInstanceOf(WireDecodeError);
    expect(rejected('fffffffc 00000064 00000000 00000006')).toBeInstanceOf(WireDecodeError);
  });

  it('reconfig (16): ReconfigRequest{joiningServers, leavingServers, newMembers, curConfigId}, null lists as -1', () => {
    const joining = 'server.4=127.0.0.1:2891:3891:participant;127.0.0.1:2184';
    // The body as kazoo's Reconfig.serialize writes it (see the kazoo test below).
    const incremental = hex(
      `00000053 00000007 00000010 00000037 ${ascii(joining)} ffffffff ffffffff 0000000100000000`,
    );
    const request = {
      op: 'reconfig',
      joiningServers: joining,
      leavingServers: null,
      newMembers: null,
      fromConfig: 0x1_0000_0000n,
    } as const;
    expect(decodeRequest(incremental.subarray(4))).toEqual({ xid: 7, opcode: OpCode.reconfig, request });
    expect(encodeRequest(7, request)).toEqual(incremental);
    const leaving = hex(
      `0000001f 00000008 00000010 ffffffff 00000003 ${ascii('4,5')} ffffffff ffffffffffffffff`,
    );
    const leavingRequest = {
      op: 'reconfig',
      joiningServers: null,
      leavingServers: '4,5',
      newMembers: null,
      fromConfig: -1n,
    } as const;
    expect(decodeRequest(leaving.subarray(4)).request).toEqual(leavingRequest);
    expect(encodeRequest(8, leavingRequest)).toEqual(leaving);
    // A body cut short is MarshallingError with the connection kept, as for any other request.
    expect(() => decodeRequest(incremental.subarray(4, 40))).toThrow(
      expect.objectContaining({ xid: 7, opcode: OpCode.reconfig, code: ErrorCode.MarshallingError }),
    );
  });

  it.skipIf(!kazooInstalled)(
    "reconfig bodies match kazoo's Reconfig.serialize, written by no one here",
    () => {
      const cases = [
        ['server.4=127.0.0.1:2891:3891:participant;127.0.0.1:2184', null, null, 0x1_0000_0000n],
        [null, '4,5', null, -1n],
        [null, null, 'server.1=a:1:2,server.2=b:3:4:observer;5', 0x7fff_ffff_ffff_ffffn],
        [null, 'é', null, -2n],
      ] as const;
      // Not '': kazoo writes an empty string as null (-1); ZooKeeper's Java client writes length 0, as zabkit does.
      const script = [
        'import sys, json',
        'from kazoo.protocol.serialization import Reconfig',
        'for j, l, n, c in json.loads(sys.stdin.read()):',
        '    print(bytes(Reconfig(j, l, n, int(c)).serialize()).hex())',
      ].join('\n');
      const input = JSON.stringify(cases.map(([j, l, n, c]) => [j, l, n, String(c)]));
      const printed = execFileSync('/usr/bin/python3', ['-c', script], { input, env: { PYTHONPATH: '' } })
        .toString()
        .trim()
        .split('\n');
      cases.forEach(([joiningServers, leavingServers, newMembers, fromConfig], index) => {
        const frame = encodeRequest(3, {
          op: 'reconfig',
          joiningServers,
          leavingServers,
          newMembers,
          fromConfig,
        });
        // Past the length prefix and RequestHeader{xid, type}: the record alone.
        expect(Buffer.from(frame.subarray(12)).toString('hex')).toBe(printed[index]);
      });
    },
  );

  it('reconfig reply: ReplyHeader + GetDataResponse{data, stat}; errors as a bare header', () => {
    const text = 'server.1=127.0.0.1:2888:3888:participant\nversion=100000003';
    const stat = {
      czxid: zxid(0n),
      mzxid: zxid(0x1_0000_0003n),
      ctime: 0,
      mtime: 1_700_000_000_000,
      version: -1,
      cversion: 0,
      aversion: -1,
      ephemeralOwner: 0n,
      dataLength: text.length,
      numChildren: 0,
      pzxid: zxid(0n),
    };
    const reply = {
      ok: true,
      op: 'reconfig',
      result: { data: new TextEncoder().encode(text), stat },
    } as const;
    const frame = encodeReply(OpCode.reconfig, 9, 0x1_0000_0003n, reply);
    const statHex = `0000000000000000 0000000100000003 0000000000000000 0000018bcfe56800 ffffffff 00000000 ffffffff 0000000000000000 ${text.length.toString(16).padStart(8, '0')} 00000000 0000000000000000`;
    expect(frame).toEqual(
      hex(
        `${(16 + 4 + text.length + 68).toString(16).padStart(8, '0')} 00000009 0000000100000003 00000000 ${text.length.toString(16).padStart(8, '0')} ${ascii(text)} ${statHex}`,
      ),
    );
    expect(decodeReply(OpCode.reconfig, frame.subarray(4)).reply).toEqual(reply);
    for (const code of [
      ErrorCode.ReconfigDisabled,
      ErrorCode.BadVersion,
      ErrorCode.NewConfigNoQuorum,
      ErrorCode.ReconfigInProgress,
      ErrorCode.BadArguments,
      ErrorCode.NoAuth,
    ]) {
      const error = encodeError(9, 5n, code);
      expect(error).toEqual(
        hex(`00000010 00000009 0000000000000005 ${(code >>> 0).toString(16).padStart(8, '0')}`),
      );
      expect(decodeReply(OpCode.reconfig, error.subarray(4)).reply).toMatchObject({ ok: false, code });
    }
  });

  it('watcher event: ReplyHeader{-1, -1, 0} + WatcherEvent{type, state, path}', () => {
    const frame = hex('0000001e ffffffff ffffffffffffffff 00000000 00000003 00000003 00000002 2f78');
    expect(encodeWatcherEvent(-1n, { type: 3, path: '/x' }, 3)).toEqual(frame);
    expect(decodeWatcherEvent(frame.subarray(4))).toEqual({
      xid: -1,
      zxid: -1n,
      event: { type: 3, path: '/x' },
      state: 3,
    });
  });

  it('exists reply: a Stat in field order, container owner as Long.MIN_VALUE', () => {
    const frame = hex(`00000054 00000007 0000000000000010 00000000
      0000000000000001 0000000000000002 0000000000000003 0000000000000004
      00000005 00000006 00000007 8000000000000000 00000008 00000009 000000000000000a`);
    const stat = {
      czxid: zxid(1n),
      mzxid: zxid(2n),
      ctime: 3,
      mtime: 4,
      version: 5,
      cversion: 6,
      aversion: 7,
      ephemeralOwner: containerEphemeralOwner,
      dataLength: 8,
      numChildren: 9,
      pzxid: zxid(10n),
    };
    expect(encodeReply(OpCode.exists, 7, 0x10n, { ok: true, op: 'exists', result: { stat } })).toEqual(frame);
    expect(decodeReply(OpCode.exists, frame.subarray(4)).reply).toEqual({
      ok: true,
      op: 'exists',
      result: { stat },
    });
  });

  it('error reply: header only, err = code', () => {
    const frame = hex('00000010 00000009 0000000000000020 ffffff9b');
    expect(
      encodeReply(OpCode.getData, 9, 0x20n, { ok: false, op: 'getData', code: ErrorCode.NoNode }),
    ).toEqual(frame);
    expect(encodeError(9, 0x20n, ErrorCode.NoNode)).toEqual(frame);
    expect(encodeError(3, 0n, ErrorCode.Unimplemented)).toEqual(
      hex('00000010 00000003 0000000000000000 fffffffa'),
    );
  });

  it('failed multi reply: every result ErrorResponse, outer err 0, end marker {-1, true, -1}', () => {
    const frame = hex(`00000033 00000005 0000000000000010 00000000
      ffffffff 00 00000000 00000000
      ffffffff 00 ffffff9b ffffff9b
      ffffffff 01 ffffffff`);
    const reply = {
      ok: true as const,
      op: 'multi' as const,
      result: {
        results: [
          { op: 'error' as const, code: ErrorCode.Ok },
          { op: 'error' as const, code: ErrorCode.NoNode },
        ],
      },
    };
    expect(encodeReply(OpCode.multi, 5, 0x10n, reply)).toEqual(frame);
    expect(decodeReply(OpCode.multi, frame.subarray(4)).reply).toEqual(reply);
  });

  it('multi request: MultiHeader{type, false, -1} + op per op, ended by {-1, true, -1}', () => {
    const frame = hex(`00000000 0000000e
      0000000d 00 ffffffff 00000002 2f61 00000003
      00000002 00 ffffffff 00000002 2f61 ffffffff
      ffffffff 01 ffffffff`);
    const decoded = decodeRequest(frame);
    expect(decoded.request).toEqual({
      op: 'multi',
      ops: [
        { op: 'check', path: '/a', version: 3 },
        { op: 'delete', path: '/a', version: -1 },
      ],
    });
    expect(decoded.multiOpcodes).toEqual([OpCode.check, OpCode.delete]);
    expect(encodeRequest(0, decoded.request)).toEqual(hex(`00000037 ${Buffer.from(frame).toString('hex')}`));
  });
});
