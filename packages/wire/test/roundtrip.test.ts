import {
  type ClientRequest,
  CreateMode,
  ErrorCode,
  emptyStat,
  KeeperState,
  type Reply,
  zxid,
} from '@zabkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeConnectRequest,
  decodeConnectResponse,
  decodeReply,
  decodeRequest,
  decodeWatcherEvent,
  encodeConnectRequest,
  encodeConnectResponse,
  encodeReply,
  encodeRequest,
  encodeWatcherEvent,
  FrameDecoder,
  JuteWriter,
  OpCode,
  opcodeOf,
  peekXid,
  writeReply,
  writeWatcherEvent,
  Xid,
} from '../src/index.js';
import {
  anyRequest,
  anyZxid,
  bytes,
  int32,
  long,
  markZxid,
  path,
  payloadOf,
  repliesByOp,
  requestsByOp,
  stat,
  watchEvent,
} from './arbitraries.js';

describe('requests round-trip (encodeRequest → decodeRequest)', () => {
  for (const [op, arb] of Object.entries(requestsByOp)) {
    it(`round-trips ${op}`, () => {
      fc.assert(
        fc.property(int32, arb, (xid, request) => {
          const decoded = decodeRequest(payloadOf(encodeRequest(xid, request)));
          expect(decoded.xid).toBe(xid);
          expect(decoded.opcode).toBe(opcodeOf(request));
          expect(decoded.request).toEqual(request);
        }),
        { numRuns: 200 },
      );
    });
  }

  it('round-trips with the old variants (create, getChildren) too', () => {
    const options = { create2: false, getChildren2: false };
    fc.assert(
      fc.property(int32, anyRequest, (xid, request) => {
        const decoded = decodeRequest(payloadOf(encodeRequest(xid, request, options)));
        expect(decoded.opcode).toBe(opcodeOf(request, options));
        expect(decoded.request).toEqual(request);
      }),
      { numRuns: 300 },
    );
  });

  it('picks the wire variants documented for each create mode', () => {
    const base = { op: 'create' as const, path: '/a', data: new Uint8Array(0), acl: [], ttlMs: -1n };
    expect(opcodeOf({ ...base, mode: CreateMode.Persistent })).toBe(OpCode.create2);
    expect(opcodeOf({ ...base, mode: CreateMode.Persistent }, { create2: false })).toBe(OpCode.create);
    expect(opcodeOf({ ...base, mode: CreateMode.Container })).toBe(OpCode.createContainer);
    expect(opcodeOf({ ...base, mode: CreateMode.PersistentWithTtl, ttlMs: 5000n })).toBe(OpCode.createTTL);
    expect(opcodeOf({ op: 'getChildren', path: '/', watch: false })).toBe(OpCode.getChildren2);
  });

  it('sends setWatches (101) unless there are persistent watches, then setWatches2 (105)', () => {
    const plain: ClientRequest = {
      op: 'setWatches',
      relativeZxid: zxid(7n),
      dataWatches: ['/a'],
      existWatches: [],
      childWatches: [],
      persistentWatches: [],
      persistentRecursiveWatches: [],
    };
    expect(opcodeOf(plain)).toBe(OpCode.setWatches);
    expect(opcodeOf({ ...plain, persistentRecursiveWatches: ['/b'] })).toBe(OpCode.setWatches2);
  });

  it('records each multi op opcode so the reply can match it', () => {
    const request: ClientRequest = {
      op: 'multi',
      ops: [
        {
          op: 'create',
          path: '/a',
          data: new Uint8Array(0),
          acl: [],
          mode: CreateMode.Persistent,
          ttlMs: -1n,
        },
        {
          op: 'create',
          path: '/c',
          data: new Uint8Array(0),
          acl: [],
          mode: CreateMode.Container,
          ttlMs: -1n,
        },
        { op: 'check', path: '/a', version: 0 },
        { op: 'delete', path: '/a', version: -1 },
      ],
    };
    expect(decodeRequest(payloadOf(encodeRequest(3, request, { create2: false }))).multiOpcodes).toEqual([
      OpCode.create,
      OpCode.createContainer,
      OpCode.check,
      OpCode.delete,
    ]);
  });
});

describe('frames gathered in one writer (what the client port sends in one write)', () => {
  const anyReply = fc.oneof(...Object.values(repliesByOp));
  const outgoing = fc.oneof(
    fc.record({ kind: fc.constant('reply' as const), xid: int32, zxid: markZxid, shaped: anyReply }),
    fc.record({ kind: fc.constant('event' as const), zxid: markZxid, event: watchEvent }),
  );

  it('are byte for byte the separate frames, and split back into them', () => {
    fc.assert(
      fc.property(
        fc.array(outgoing, { maxLength: 12 }),
        fc.integer({ min: 16, max: 64 }),
        (items, capacity) => {
          // A small writer grows while gathering; take() hands the bytes over and starts afresh.
          const writer = new JuteWriter({ initialCapacity: capacity });
          const separate: Uint8Array[] = [];
          for (const item of items) {
            if (item.kind === 'reply') {
              writeReply(writer, item.shaped.opcode, item.xid, item.zxid, item.shaped.reply);
              separate.push(encodeReply(item.shaped.opcode, item.xid, item.zxid, item.shaped.reply));
            } else {
              writeWatcherEvent(writer, item.zxid, item.event, KeeperState.SyncConnected);
              separate.push(encodeWatcherEvent(item.zxid, item.event, KeeperState.SyncConnected));
            }
          }
          const gathered = writer.take(capacity);
          expect(Buffer.from(gathered)).toEqual(Buffer.concat(separate));
          expect(new FrameDecoder().push(gathered)).toEqual(separate.map((frame) => payloadOf(frame)));
          expect(writer.length).toBe(0);
          writeWatcherEvent(writer, 1n, { type: 1, path: '/after' } as never, KeeperState.SyncConnected);
          expect(decodeWatcherEvent(payloadOf(writer.take())).event.path).toBe('/after');
          // What was taken before is not touched by later writes.
          expect(Buffer.from(gathered)).toEqual(Buffer.concat(separate));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('replies round-trip (encodeReply → decodeReply)', () => {
  for (const [op, arb] of Object.entries(repliesByOp)) {
    it(`round-trips ${op} replies, successes and failures`, () => {
      fc.assert(
        fc.property(int32, markZxid, arb, (xid, z, { opcode, reply }) => {
          const frame = encodeReply(opcode, xid, z, reply);
          // A ping's answer carries the ping xid, as ZooKeeper's; every other reply its request's.
          const replyXid = opcode === OpCode.ping ? Xid.ping : xid;
          expect(peekXid(payloadOf(frame))).toBe(replyXid);
          const decoded = decodeReply(opcode, payloadOf(frame));
          expect(decoded.xid).toBe(replyXid);
          expect(decoded.zxid).toBe(z);
          expect(decoded.err).toBe(reply.ok ? 0 : reply.code);
          expect(decoded.reply).toEqual(reply);
        }),
        { numRuns: 200 },
      );
    });
  }

  it('answers plain create (1) and getChildren (8) without a Stat, which decodes as emptyStat', () => {
    fc.assert(
      fc.property(path, stat, fc.array(path, { maxLength: 3 }), (p, s, children) => {
        const create: Reply = { ok: true, op: 'create', result: { path: p, stat: s } };
        const plain = encodeReply(OpCode.create, 1, 0n, create);
        expect(plain.length).toBe(encodeReply(OpCode.create2, 1, 0n, create).length - 68);
        expect(decodeReply(OpCode.create, payloadOf(plain)).reply).toEqual({
          ok: true,
          op: 'create',
          result: { path: p, stat: emptyStat },
        });
        const list: Reply = { ok: true, op: 'getChildren', result: { children, stat: s } };
        expect(
          decodeReply(OpCode.getChildren, payloadOf(encodeReply(OpCode.getChildren, 2, 0n, list))).reply,
        ).toEqual({ ok: true, op: 'getChildren', result: { children, stat: emptyStat } });
      }),
      { numRuns: 100 },
    );
  });

  it('answers every request kind end to end: client encodes, server decodes and answers, client decodes', () => {
    fc.assert(
      fc.property(int32, repliesByOp.multi, (xid, { reply }) => {
        // A multi whose creates were sent as plain creates answers them without a Stat.
        const results =
          reply.ok && reply.op === 'multi' ? (reply.result as { results: never[] }).results : [];
        const ops = results.map(() => ({
          op: 'create' as const,
          path: '/x',
          data: new Uint8Array(0),
          acl: [],
          mode: CreateMode.Persistent,
          ttlMs: -1n,
        }));
        const request: ClientRequest = { op: 'multi', ops };
        const decoded = decodeRequest(payloadOf(encodeRequest(xid, request, { create2: false })));
        const answer = decodeReply(OpCode.multi, payloadOf(encodeReply(decoded, xid, 9n, reply)));
        if (!reply.ok) {
          expect(answer.reply).toEqual(reply);
          return;
        }
        const expected = results.map((r: { op: string }) =>
          r.op === 'create' ? { ...(r as object), stat: emptyStat } : r,
        );
        expect(answer.reply).toEqual({ ok: true, op: 'multi', result: { results: expected } });
      }),
      { numRuns: 200 },
    );
  });

  it('keeps a failed multi at header err 0 with per-op error results', () => {
    const reply: Reply = {
      ok: true,
      op: 'multi',
      result: {
        results: [
          { op: 'error', code: ErrorCode.Ok },
          { op: 'error', code: ErrorCode.NoNode },
          { op: 'error', code: ErrorCode.RuntimeInconsistency },
        ],
      },
    };
    const decoded = decodeReply(OpCode.multi, payloadOf(encodeReply(OpCode.multi, 4, 10n, reply)));
    expect(decoded.err).toBe(0);
    expect(decoded.reply).toEqual(reply);
  });

  it('maps an error code zabkit does not know to SystemError, keeping the raw err', () => {
    const frame = encodeReply(OpCode.getData, 5, 1n, { ok: false, op: 'getData', code: ErrorCode.NoNode });
    new DataView(frame.buffer).setInt32(16, -999);
    const decoded = decodeReply(OpCode.getData, payloadOf(frame));
    expect(decoded.err).toBe(-999);
    expect(decoded.reply).toEqual({ ok: false, op: 'getData', code: ErrorCode.SystemError });
  });
});

describe('handshake round-trip', () => {
  it('round-trips ConnectRequest with and without the readOnly byte', () => {
    fc.assert(
      fc.property(
        markZxid,
        int32,
        long,
        bytes,
        fc.option(fc.boolean(), { nil: undefined }),
        (lastZxidSeen, timeoutMs, sessionId, password, readOnly) => {
          const frame = encodeConnectRequest({ lastZxidSeen, timeoutMs, sessionId, password, readOnly });
          expect(decodeConnectRequest(payloadOf(frame))).toEqual({
            protocolVersion: 0,
            lastZxidSeen,
            timeoutMs,
            sessionId,
            password,
            readOnly: readOnly ?? false,
            readOnlyFlagSent: readOnly !== undefined,
          });
        },
      ),
    );
  });

  it('round-trips ConnectResponse, echoing readOnly only when given', () => {
    fc.assert(
      fc.property(
        int32,
        long,
        bytes,
        fc.option(fc.boolean(), { nil: undefined }),
        (timeoutMs, sessionId, password, readOnly) => {
          const frame = encodeConnectResponse({ timeoutMs, sessionId, password, readOnly });
          expect(frame.length).toBe(4 + 4 + 4 + 8 + 4 + password.length + (readOnly === undefined ? 0 : 1));
          expect(decodeConnectResponse(payloadOf(frame))).toEqual({
            protocolVersion: 0,
            timeoutMs,
            sessionId,
            password,
            readOnly,
          });
        },
      ),
    );
  });

  it('reads a negative lastZxidSeen as zero, since ZooKeeper compares it signed', () => {
    const frame = encodeConnectRequest({
      lastZxidSeen: -1n,
      timeoutMs: 1,
      sessionId: 0n,
      password: new Uint8Array(16),
    });
    expect(decodeConnectRequest(payloadOf(frame)).lastZxidSeen).toBe(0n);
  });
});

describe('watch notifications round-trip', () => {
  it('round-trips WatcherEvent with any zxid, signed as ZooKeeper sends it', () => {
    fc.assert(
      fc.property(long, watchEvent, fc.constantFrom(...Object.values(KeeperState)), (z, event, state) => {
        const payload = payloadOf(encodeWatcherEvent(z, event, state));
        expect(peekXid(payload)).toBe(-1);
        expect(decodeWatcherEvent(payload)).toEqual({ xid: -1, zxid: z, event, state });
      }),
    );
  });

  it('writes unsigned zxids with their 64 bits', () => {
    fc.assert(
      fc.property(anyZxid, (z) => {
        const payload = payloadOf(encodeWatcherEvent(z, { type: 1, path: '/' }, 3));
        expect(BigInt.asUintN(64, decodeWatcherEvent(payload).zxid)).toBe(z);
      }),
    );
  });
});
