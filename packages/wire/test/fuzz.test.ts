/**
 * Hostile input: random bytes, truncations and bit flips of valid frames. The decoders may
 * only fail with the codec's typed errors; a RangeError or TypeError would mean a read past
 * a bound the codec forgot to check.
 */
import { type ClientRequest, ErrorCode } from '@zabkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeConnectRequest,
  decodeConnectResponse,
  decodeReply,
  decodeRequest,
  decodeWatcherEvent,
  encodeConnectRequest,
  encodeReply,
  encodeRequest,
  encodeWatcherEvent,
  FrameDecoder,
  isWireError,
  OpCode,
  opcodeOf,
  RequestRejectedError,
  WireDecodeError,
} from '../src/index.js';
import { anyRequest, markZxid, payloadOf, repliesByOp, watchEvent } from './arbitraries.js';

const opcodes = [...Object.values(OpCode), 42, 1000, -7];

/** Runs `decode`, allowing success or a typed codec error and nothing else. */
function tolerates(decode: () => unknown): void {
  try {
    decode();
  } catch (error) {
    if (!isWireError(error)) throw error;
  }
}

function allDecoders(payload: Uint8Array, opcode: number): void {
  tolerates(() => decodeRequest(payload));
  tolerates(() => decodeConnectRequest(payload));
  tolerates(() => decodeConnectResponse(payload));
  tolerates(() => decodeReply(opcode, payload));
  tolerates(() => decodeWatcherEvent(payload));
  tolerates(() => new FrameDecoder(1 << 16).push(payload));
}

const anyReply = fc.oneof(...Object.values(repliesByOp));

/** Valid payloads of every kind the codec reads. */
const validPayload: fc.Arbitrary<{ payload: Uint8Array; opcode: number }> = fc.oneof(
  fc.tuple(fc.integer(), anyRequest).map(([xid, request]: [number, ClientRequest]) => ({
    payload: payloadOf(encodeRequest(xid | 0, request)),
    opcode: opcodeOf(request),
  })),
  fc.tuple(markZxid, anyReply).map(([z, { opcode, reply }]) => ({
    payload: payloadOf(encodeReply(opcode, 7, z, reply)),
    opcode,
  })),
  fc.tuple(markZxid, watchEvent).map(([z, event]) => ({
    payload: payloadOf(encodeWatcherEvent(z, event, 3)),
    opcode: OpCode.notification,
  })),
  fc.tuple(markZxid, fc.boolean()).map(([z, readOnly]) => ({
    payload: payloadOf(
      encodeConnectRequest({
        lastZxidSeen: z,
        timeoutMs: 4000,
        sessionId: 5n,
        password: new Uint8Array(16),
        readOnly,
      }),
    ),
    opcode: OpCode.createSession,
  })),
);

describe('fuzz: decoders fail only with typed errors', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(...opcodes), (bytes, opcode) => {
        allDecoders(bytes, opcode);
      }),
      { numRuns: 3000 },
    );
  });

  it('random bytes behind a plausible RequestHeader', () => {
    fc.assert(
      fc.property(fc.constantFrom(...opcodes), fc.uint8Array({ maxLength: 120 }), (opcode, body) => {
        const payload = new Uint8Array(8 + body.length);
        new DataView(payload.buffer).setInt32(4, opcode);
        payload.set(body, 8);
        allDecoders(payload, opcode);
      }),
      { numRuns: 3000 },
    );
  });

  it('every truncation of valid frames', () => {
    fc.assert(
      fc.property(validPayload, ({ payload, opcode }) => {
        for (let cut = 0; cut < payload.length; cut++) allDecoders(payload.subarray(0, cut), opcode);
      }),
      { numRuns: 400 },
    );
  });

  it('truncated requests and replies are refused, never half-decoded', () => {
    fc.assert(
      fc.property(fc.integer(), anyRequest, (xid, request) => {
        const payload = payloadOf(encodeRequest(xid | 0, request));
        for (let cut = 0; cut < payload.length; cut++) {
          expect(() => decodeRequest(payload.subarray(0, cut))).toThrow();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a cut inside the RequestHeader closes the connection; a cut body is MarshallingError, as in ZooKeeper', () => {
    fc.assert(
      fc.property(fc.integer(), anyRequest, (xid, request) => {
        const payload = payloadOf(encodeRequest(xid | 0, request));
        for (let cut = 0; cut < payload.length; cut++) {
          let error: unknown;
          try {
            decodeRequest(payload.subarray(0, cut));
          } catch (caught) {
            error = caught;
          }
          // ZooKeeper reads an auth packet whole before anything else, and closes on failure.
          if (cut < 8 || request.op === 'auth') expect(error).toBeInstanceOf(WireDecodeError);
          else {
            expect(error).toBeInstanceOf(RequestRejectedError);
            expect(error).toMatchObject({
              xid: xid | 0,
              code: ErrorCode.MarshallingError,
              closesConnection: false,
            });
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('bit flips and overwritten words in valid frames', () => {
    fc.assert(
      fc.property(
        validPayload,
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 7 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        fc.constantFrom(-1, -2, 0x7fffffff, 0x80000000, 0xffff),
        ({ payload, opcode }, flips, at, word) => {
          if (payload.length === 0) return;
          const flipped = payload.slice();
          for (const [index, bit] of flips) flipped[index % flipped.length]! ^= 1 << bit;
          allDecoders(flipped, opcode);
          if (payload.length >= 4) {
            const overwritten = payload.slice();
            new DataView(overwritten.buffer).setUint32(at % (payload.length - 3), word >>> 0);
            allDecoders(overwritten, opcode);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('FrameDecoder over random streams, chunked at random', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.nat({ max: 40 }), { maxLength: 20 }),
        (stream, cuts) => {
          const decoder = new FrameDecoder(64);
          let offset = 0;
          try {
            for (const size of [...cuts, stream.length]) {
              decoder.push(stream.subarray(offset, offset + size));
              offset += size;
              if (offset >= stream.length) break;
            }
          } catch (error) {
            expect(isWireError(error)).toBe(true);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
