import { decodedSessionId, makeZxid, type PeerMessage, type Txn, zeroZxid } from '@zabkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keptPartMinBytes } from '../src/bytes.js';
import {
  decodePeerMessage,
  decodeTxn,
  defaultPeerCodecLimits,
  distinctTags,
  encodePeerMessage,
  encodeTxn,
  framePeerMessage,
  PeerCodecError,
  type PeerFrame,
  peerFramePrefixBytes,
  peerMessageTags,
  resolveLimits,
} from '../src/index.js';
import { txnEncoding } from '../src/values.js';
import {
  messageArbs,
  peerMessageArb,
  snapshotArb,
  snapshotNodeArb,
  txnArb,
  uint32Arb,
  uint53Arb,
} from './arbitraries.js';

const roundTrip = (message: PeerMessage) => decodePeerMessage(encodePeerMessage(message));

/** The codec's encodings of numbers, for hand-made frames: int32 as zigzag varint + 1, else 0 and a float64. */
function varuint(value: number): number[] {
  const out: number[] = [];
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
  return out;
}
const int = (v: number) => varuint((v >= 0 ? v * 2 : -v * 2 - 1) + 1);
function float(v: number): number[] {
  const bytes = Buffer.alloc(9);
  bytes.writeDoubleBE(v, 1);
  return [...bytes];
}
type Part = number | Part[];
const frame = (...parts: Part[]) =>
  Uint8Array.from((parts as unknown[]).flat(Number.POSITIVE_INFINITY) as number[]);
const tag = peerMessageTags;

/** The PeerCodecError decoding `bytes` throws; fails the test if it throws anything else or nothing. */
function decodeError(bytes: Uint8Array, limits = defaultPeerCodecLimits): PeerCodecError {
  try {
    decodePeerMessage(bytes, limits);
  } catch (error) {
    expect(error).toBeInstanceOf(PeerCodecError);
    return error as PeerCodecError;
  }
  throw new Error(`decoded ${Buffer.from(bytes).toString('hex')} without an error`);
}

function encodeError(message: unknown): PeerCodecError {
  try {
    encodePeerMessage(message as PeerMessage);
  } catch (error) {
    expect(error).toBeInstanceOf(PeerCodecError);
    return error as PeerCodecError;
  }
  throw new Error('encoded without an error');
}

describe('peer codec round trips', () => {
  for (const [kind, arb] of Object.entries(messageArbs)) {
    it(`round-trips ${kind}`, () => {
      fc.assert(
        fc.property(arb as fc.Arbitrary<PeerMessage>, (message) => {
          expect(roundTrip(message)).toEqual(message);
        }),
        { numRuns: 150 },
      );
    });
  }

  it('round-trips proposals carrying every txn body kind', () => {
    fc.assert(
      fc.property(fc.array(txnArb, { minLength: 1, maxLength: 10 }), (txns) => {
        const message: PeerMessage = { kind: 'proposal', epoch: 4, txns };
        expect(roundTrip(message)).toEqual(message);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips the chunks of a SNAP: snapshot nodes and sessions, then transactions', () => {
    fc.assert(
      fc.property(snapshotArb, fc.array(txnArb, { maxLength: 3 }), (snapshot, txns) => {
        const chunk: PeerMessage = {
          kind: 'syncSnapshotChunk',
          epoch: 2,
          attempt: 3,
          seq: 1,
          nodes: snapshot.nodes,
          sessions: snapshot.sessions,
          last: true,
        };
        expect(roundTrip(chunk)).toEqual(chunk);
        const rest: PeerMessage = { kind: 'syncTxns', epoch: 2, attempt: 3, seq: 2, txns };
        expect(roundTrip(rest)).toEqual(rest);
      }),
      { numRuns: 200 },
    );
  });

  it('has one encoding per message: bytes that decode re-encode to themselves', () => {
    fc.assert(
      fc.property(peerMessageArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (message, at, value) => {
        const bytes = encodePeerMessage(message).slice();
        bytes[at % bytes.length] = value;
        let decoded: PeerMessage;
        try {
          decoded = decodePeerMessage(bytes);
        } catch {
          return;
        }
        // A fresh copy, so no transaction's kept encoding answers for it.
        const copy = structuredClone(decoded);
        expect(Buffer.from(encodePeerMessage(copy)).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('decodes byte arrays as copies, not views of the frame', () => {
    const data = new Uint8Array([1, 2, 3]);
    const message: PeerMessage = {
      kind: 'proposal',
      epoch: 1,
      txns: [
        {
          zxid: makeZxid(1, 1),
          timeMs: 0,
          sessionId: decodedSessionId(5n),
          cxid: 1,
          body: { kind: 'setData', path: '/a', data, version: 1 },
        },
      ],
    };
    const bytes = encodePeerMessage(message);
    const decoded = decodePeerMessage(bytes);
    bytes.fill(0);
    expect(decoded).toEqual(message);
  });

  it('keeps small messages small', () => {
    expect(encodePeerMessage({ kind: 'ack', epoch: 3, zxid: makeZxid(3, 7) }).length).toBe(10);
    expect(encodePeerMessage({ kind: 'ackNewLeader', epoch: 3, attempt: 1 }).length).toBe(3);
    expect(
      encodePeerMessage({ kind: 'ping', epoch: 3, sentThroughZxid: zeroZxid, commitZxid: zeroZxid }).length,
    ).toBe(18);
  });

  it('encodes a transaction once and reuses the bytes, also for one it decoded', () => {
    const txn: Txn = {
      zxid: makeZxid(1, 1),
      timeMs: 10,
      sessionId: decodedSessionId(1n),
      cxid: 1,
      body: { kind: 'delete', path: '/a' },
    };
    const first = encodeTxn(txn);
    expect(encodeTxn(txn)).toEqual(first);
    const decoded = decodeTxn(first);
    expect(encodeTxn(decoded)).toEqual(first);
  });

  it('frames a message sent to every learner once: the same object, the same frame', () => {
    const proposal: PeerMessage = { kind: 'proposal', epoch: 1, txns: [] };
    const first = framePeerMessage(proposal, peerFramePrefixBytes);
    expect(joined(first).subarray(peerFramePrefixBytes)).toEqual(Buffer.from(encodePeerMessage(proposal)));
    expect(framePeerMessage(proposal, peerFramePrefixBytes)).toBe(first);
    // An equal message that is another object, or other room, is framed anew.
    const again = framePeerMessage({ ...proposal }, peerFramePrefixBytes);
    expect(again).not.toBe(first);
    // The reserved prefix is the transport's to fill: only what follows it is compared.
    expect(joined(again).subarray(peerFramePrefixBytes)).toEqual(
      joined(first).subarray(peerFramePrefixBytes),
    );
    expect(joined(framePeerMessage(proposal, 0))).toEqual(Buffer.from(encodePeerMessage(proposal)));
    expect(framePeerMessage(proposal, peerFramePrefixBytes)).not.toBe(first);
  });
});

/** A frame's parts, concatenated. */
function joined(frame: PeerFrame): Buffer {
  return Buffer.concat([frame.head, ...frame.rest]);
}

/** A setData transaction whose encoding is larger than keptPartMinBytes, or near it. */
const largeTxnArb: fc.Arbitrary<Txn> = fc
  .tuple(
    txnArb,
    fc.integer({ min: keptPartMinBytes - 64, max: 3 * keptPartMinBytes }),
    fc.integer({ min: 0, max: 255 }),
  )
  .map(([t, bytes, fill]) => ({
    ...t,
    body: { kind: 'setData', path: '/large', data: new Uint8Array(bytes).fill(fill), version: 1 },
  }));
const mixedTxnsArb = fc.array(fc.oneof(txnArb, largeTxnArb), { maxLength: 6 });
const txnCarrierArb: fc.Arbitrary<PeerMessage> = fc.oneof(
  fc
    .record({ epoch: uint32Arb, attempt: uint53Arb, seq: uint53Arb, txns: mixedTxnsArb })
    .map((m) => ({ kind: 'syncTxns' as const, ...m })),
  fc.record({ epoch: uint32Arb, txns: mixedTxnsArb }).map((m) => ({ kind: 'proposal' as const, ...m })),
  fc.record({ epoch: uint32Arb, txns: mixedTxnsArb }).map((m) => ({ kind: 'inform' as const, ...m })),
);

describe('peer frames in parts', () => {
  it('concatenated, the parts are the one-buffer encoding, and large kept encodings are not copied', () => {
    fc.assert(
      fc.property(fc.oneof(peerMessageArb, txnCarrierArb), fc.boolean(), (message, keptBefore) => {
        // Encoding a message keeps its transactions' encodings: a frame made after references them.
        const expected = Buffer.from(encodePeerMessage(message));
        const kept = new Set<Uint8Array>();
        if (keptBefore && 'txns' in message) {
          for (const t of message.txns) if (encodeTxn(t).length >= keptPartMinBytes) kept.add(txnEncoding(t));
        }
        const frame = framePeerMessage(keptBefore ? message : structuredClone(message), peerFramePrefixBytes);
        const bytes = joined(frame);
        expect(frame.bytes).toBe(bytes.length);
        expect(bytes.subarray(peerFramePrefixBytes)).toEqual(expected);
        expect(frame.head.length).toBeGreaterThanOrEqual(peerFramePrefixBytes);
        // Each large kept encoding (or snapshot chunk's znode data) is one of the parts itself;
        // nothing else is a part.
        if (message.kind === 'syncSnapshotChunk')
          for (const node of message.nodes)
            if (node.data !== null && node.data.length >= keptPartMinBytes) kept.add(node.data);
        expect(frame.rest.filter((part) => kept.has(part)).length).toBe(kept.size);
        if (kept.size === 0) expect(frame.rest).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it("references a snapshot chunk's large znode data, not copied, and copies the small", () => {
    const nodeArb = fc
      .tuple(
        snapshotNodeArb,
        fc.integer({ min: keptPartMinBytes - 64, max: 3 * keptPartMinBytes }),
        fc.boolean(),
      )
      .map(([node, bytes, large]) =>
        large ? { ...node, data: new Uint8Array(bytes).fill(bytes & 0xff) } : node,
      );
    fc.assert(
      fc.property(fc.array(nodeArb, { maxLength: 5 }), fc.boolean(), uint53Arb, (nodes, last, seq) => {
        const chunk: PeerMessage = {
          kind: 'syncSnapshotChunk',
          epoch: 3,
          attempt: 1,
          seq,
          nodes,
          sessions: [],
          last,
        };
        const frame = framePeerMessage(chunk, peerFramePrefixBytes);
        const bytes = joined(frame);
        expect(frame.bytes).toBe(bytes.length);
        expect(bytes.subarray(peerFramePrefixBytes)).toEqual(Buffer.from(encodePeerMessage(chunk)));
        expect(decodePeerMessage(bytes.subarray(peerFramePrefixBytes))).toEqual(chunk);
        const large = nodes.flatMap((node) =>
          node.data !== null && node.data.length >= keptPartMinBytes ? [node.data] : [],
        );
        // The large data are parts themselves, in order; the parts between are the frame's own.
        expect(frame.rest.filter((part) => large.includes(part))).toEqual(large);
        if (large.length === 0) expect(frame.rest).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('references no part for a message that carries no transactions', () => {
    // Large enough to be a part whatever the sample: the arbitrary also makes some just below.
    const sampled = fc.sample(largeTxnArb, 1)[0]!;
    const txn: Txn = {
      ...sampled,
      body: {
        kind: 'setData',
        path: '/large',
        data: new Uint8Array(2 * keptPartMinBytes).fill(7),
        version: 1,
      },
    };
    encodeTxn(txn);
    const chunk: PeerMessage = { kind: 'upToDate', epoch: 1, commitZxid: txn.zxid };
    expect(framePeerMessage(chunk, peerFramePrefixBytes).rest).toEqual([]);
    const proposal: PeerMessage = { kind: 'proposal', epoch: 1, txns: [txn, txn] };
    const frame = framePeerMessage(proposal, peerFramePrefixBytes);
    expect(frame.rest.length).toBe(3);
    expect(frame.rest[0]).toBe(txnEncoding(txn));
    expect(frame.rest[1]).toBe(txnEncoding(txn));
  });
});

describe('peer codec validation', () => {
  it('refuses an epoch of 2^40 in followerInfo, naming the field', () => {
    const error = decodeError(frame(tag.followerInfo, float(2 ** 40), 0, int(1)));
    expect(error.field).toBe('followerInfo.acceptedEpoch');
    expect(error.message).toMatch(/1099511627776 is not in 0\.\.4294967295/);
  });

  it('refuses a fractional epoch, NaN and infinities', () => {
    for (const bad of [1000.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const error = decodeError(frame(tag.followerInfo, float(bad), 0, int(1)));
      expect(error.field).toBe('followerInfo.acceptedEpoch');
      expect(error.problem).toMatch(/not an integer/);
    }
  });

  it('refuses a negative epoch, and one written as a float64 although it fits a varint', () => {
    expect(decodeError(frame(tag.ping, int(-1))).problem).toMatch(/-1 is not in 0\.\./);
    expect(decodeError(frame(tag.ping, float(7))).problem).toMatch(/written as a float64/);
    expect(decodeError(frame(tag.ping, float(-0))).problem).toMatch(/-0 written as a float64/);
  });

  it('refuses an attempt beyond 2^53 and a server id beyond 254', () => {
    expect(decodeError(frame(tag.followerInfo, int(1), 0, float(2 ** 60))).field).toBe(
      'followerInfo.attempt',
    );
    const vote = frame(tag.notification, int(255), new Array(8).fill(0), int(1), int(1), 0);
    expect(decodeError(vote).field).toBe('notification.vote.leader');
  });

  it('refuses unknown tags, roles and booleans other than 0 and 1', () => {
    expect(decodeError(frame(200)).problem).toMatch(/unknown peer message tag 200/);
    const notification = (state: number) =>
      frame(tag.notification, int(1), new Array(8).fill(0), int(1), int(1), state);
    expect(decodeError(notification(9)).field).toBe('notification.state');
    expect(decodeError(frame(tag.followerInfo, int(1), 2, int(1))).field).toBe('followerInfo.observer');
  });

  it('refuses bigints other than signed 64-bit (the tags for unsigned and decimal)', () => {
    for (const bigintTag of [1, 2, 3]) {
      const error = decodeError(frame(tag.revalidate, int(1), bigintTag, new Array(8).fill(0), int(1)));
      expect(error.field).toBe('revalidate.sessionId');
    }
  });

  it('refuses a length that does not fit (a "negative" one is a varint too long) and redundant varint bytes', () => {
    const tooLong = decodeError(
      frame(tag.pingReply, int(1), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
    );
    expect(tooLong.problem).toMatch(/varint too long/);
    expect(decodeError(frame(tag.ping, [0x82, 0x00])).problem).toMatch(/redundant zero/);
    const huge = decodeError(frame(tag.pingReply, int(1), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f]));
    expect(huge.field).toBe('pingReply.touches');
  });

  it('refuses strings, data and lists over their limits, naming the field', () => {
    const path = '/a'.repeat(40);
    const message: PeerMessage = {
      kind: 'proposal',
      epoch: 1,
      txns: [
        {
          zxid: makeZxid(1, 1),
          timeMs: 0,
          sessionId: decodedSessionId(1n),
          cxid: 1,
          body: { kind: 'delete', path: '/x' },
        },
        {
          zxid: makeZxid(1, 2),
          timeMs: 0,
          sessionId: decodedSessionId(1n),
          cxid: 2,
          body: { kind: 'setData', path, data: new Uint8Array(100), version: 1 },
        },
      ],
    };
    const bytes = encodePeerMessage(message);
    expect(decodePeerMessage(bytes)).toEqual(message);
    const strings = decodeError(bytes, resolveLimits({ stringBytesMax: 79 }));
    expect(strings.field).toBe('proposal.txns[1].body.path');
    expect(strings.problem).toMatch(/stringBytesMax \(79\)/);
    const data = decodeError(bytes, resolveLimits({ dataBytesMax: 99 }));
    expect(data.field).toBe('proposal.txns[1].body.data');
    expect(decodeError(bytes, resolveLimits({ listLengthMax: 1 })).field).toBe('proposal.txns');
  });

  it('refuses strings that are not UTF-8', () => {
    const request = (path: number[]) =>
      frame(tag.request, int(1), int(1), 0, new Array(8).fill(0), int(1), 0, 8, varuint(path.length), path);
    expect(decodePeerMessage(request([0x2f, 0xc3, 0xa9]))).toMatchObject({ request: { path: '/é' } });
    const error = decodeError(request([0x2f, 0xc3, 0x28]));
    expect(error.field).toBe('request.request.deleteContainer.path');
    expect(error.problem).toMatch(/not UTF-8/);
  });

  it('refuses a multi inside a multi, and session changes among its parts', () => {
    const txnHeader = [new Array(8).fill(0), int(0), 0, new Array(8).fill(0), int(0)];
    const nested = frame(tag.proposal, int(1), 1, txnHeader, 7, 1, 7, 0);
    expect(decodeError(nested).field).toBe('proposal.txns[0].body.parts[0]');
    const session = frame(tag.proposal, int(1), 1, txnHeader, 7, 1, 0, int(10));
    expect(decodeError(session).problem).toMatch(/unknown multi part tag 0/);
  });

  it('refuses an error txn with a code ZooKeeper does not have', () => {
    const txnHeader = [new Array(8).fill(0), int(0), 0, new Array(8).fill(0), int(0)];
    const error = decodeError(frame(tag.inform, int(1), 1, txnHeader, 8, int(-9999)));
    expect(error.field).toBe('inform.txns[0].body.code');
  });

  it('throws PeerCodecError for every truncation of a valid message', () => {
    fc.assert(
      fc.property(peerMessageArb, (message) => {
        const bytes = encodePeerMessage(message);
        for (let cut = 0; cut < bytes.length; cut++) {
          expect(() => decodePeerMessage(bytes.subarray(0, cut))).toThrow(PeerCodecError);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('throws PeerCodecError for trailing bytes', () => {
    const bytes = encodePeerMessage({ kind: 'ackNewLeader', epoch: 1, attempt: 1 });
    expect(decodeError(new Uint8Array([...bytes, 0])).problem).toBe('1 trailing bytes');
  });

  it('decodes random garbage to a message or a PeerCodecError, quickly', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodePeerMessage(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(PeerCodecError);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('decodes random garbage after every valid tag to a message or a PeerCodecError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.values(tag)),
        fc.uint8Array({ maxLength: 120 }),
        (first, rest) => {
          try {
            decodePeerMessage(frame(first, [...rest]));
          } catch (error) {
            expect(error).toBeInstanceOf(PeerCodecError);
          }
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('decodes mutated valid messages to a message or a PeerCodecError', () => {
    fc.assert(
      fc.property(peerMessageArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (message, at, value) => {
        const bytes = encodePeerMessage(message).slice();
        bytes[at % bytes.length] = value;
        try {
          decodePeerMessage(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(PeerCodecError);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses a huge declared array length without allocating it', () => {
    // pingReply, epoch 1, then a varint count of about 2^48 touches in three bytes of input.
    const bytes = new Uint8Array([tag.pingReply, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f]);
    expect(() => decodePeerMessage(bytes)).toThrow(PeerCodecError);
  });
});

describe('peer codec refuses to encode values outside the message types', () => {
  it('refuses unknown kinds and non-objects', () => {
    expect(encodeError({ kind: 'nonsense' }).problem).toMatch(/not a peer message: nonsense/);
    expect(encodeError(null).problem).toMatch(/not an object/);
  });

  it('refuses out-of-range numbers, naming the field', () => {
    expect(encodeError({ kind: 'ack', epoch: 1, zxid: -1n }).field).toBe('ack.zxid');
    expect(encodeError({ kind: 'ack', epoch: 1, zxid: 1n << 64n }).field).toBe('ack.zxid');
    expect(encodeError({ kind: 'ack', epoch: 2 ** 32, zxid: 1n }).field).toBe('ack.epoch');
    expect(
      encodeError({ kind: 'followerInfo', acceptedEpoch: 1000.5, observer: false, attempt: 1 }).field,
    ).toBe('followerInfo.acceptedEpoch');
    expect(encodeError({ kind: 'followerInfo', acceptedEpoch: 1, observer: 1, attempt: 1 }).field).toBe(
      'followerInfo.observer',
    );
    expect(encodeError({ kind: 'revalidate', epoch: 1, sessionId: 1n << 63n, connectionId: 1 }).field).toBe(
      'revalidate.sessionId',
    );
    expect(encodeError({ kind: 'ackNewLeader', epoch: Number.NaN, attempt: 1 }).field).toBe(
      'ackNewLeader.epoch',
    );
  });

  it('names the element of a list at fault', () => {
    const txn = (cxid: number): Txn => ({
      zxid: makeZxid(1, 1),
      timeMs: 0,
      sessionId: decodedSessionId(1n),
      cxid,
      body: { kind: 'delete', path: '/a' },
    });
    expect(encodeError({ kind: 'proposal', epoch: 1, txns: [txn(1), txn(2 ** 31)] }).field).toBe(
      'proposal.txns[1].cxid',
    );
    const body = {
      kind: 'multi',
      parts: [
        { kind: 'check', path: '/a', version: 1 },
        { kind: 'multi', parts: [] },
      ],
    };
    expect(encodeError({ kind: 'inform', epoch: 1, txns: [{ ...txn(1), body }] }).field).toBe(
      'inform.txns[0].body.parts[1]',
    );
  });

  it('writes -0 as 0', () => {
    expect(decodePeerMessage(encodePeerMessage({ kind: 'ackNewLeader', epoch: -0, attempt: -0 }))).toEqual({
      kind: 'ackNewLeader',
      epoch: 0,
      attempt: 0,
    });
  });
});

describe('tag tables', () => {
  it('refuses, at load, a table that gives one tag to two kinds or a tag that is not a byte', () => {
    expect(() => distinctTags('test kind', { a: 0, b: 1, c: 1 } as never)).toThrow(/c and b share tag 1/);
    expect(() => distinctTags('test kind', { a: 256 })).toThrow(/not a byte/);
  });
});

describe('large values are views of the frame they came in, small ones copies', () => {
  const big = new Uint8Array(600_000).map((_v, i) => i & 0xff);
  const txn = (data: Uint8Array): Txn => ({
    zxid: makeZxid(3, 7),
    timeMs: 1_764_000_000_000,
    sessionId: decodedSessionId(0x100n),
    cxid: 9,
    body: { kind: 'setData', path: '/big', data, version: 1 },
  });
  /** `message` encoded into an ArrayBuffer of its own, `spareBytes` larger than the frame. */
  function frameOf(message: PeerMessage, spareBytes = 0): Uint8Array {
    const encoded = encodePeerMessage(message);
    const own = new Uint8Array(new ArrayBuffer(encoded.length + spareBytes), 0, encoded.length);
    own.set(encoded);
    return own;
  }
  const dataOf = (message: PeerMessage) => {
    if (message.kind !== 'syncTxns' || message.txns[0]!.body.kind !== 'setData') throw new Error('not it');
    return message.txns[0]!.body.data!;
  };

  it('a large znode in a frame of little else: its data are a view of the frame, equal to a copy', () => {
    const message: PeerMessage = { kind: 'syncTxns', epoch: 3, attempt: 3, seq: 1, txns: [txn(big)] };
    const frame = frameOf(message);
    const decoded = decodePeerMessage(frame);
    expect(decoded).toEqual(message);
    expect(dataOf(decoded).buffer).toBe(frame.buffer);
    // Its encoding, kept for the log record, is the frame's too, and reads back as the txn.
    const kept = encodeTxn((decoded as Extract<PeerMessage, { kind: 'syncTxns' }>).txns[0]!);
    expect(decodeTxn(kept)).toEqual(txn(big));
  });

  it('copies where the view would keep far more alive: a frame in a larger buffer, or small data', () => {
    const message: PeerMessage = { kind: 'syncTxns', epoch: 3, attempt: 3, seq: 1, txns: [txn(big)] };
    const roomy = frameOf(message, 400_000);
    const decoded = decodePeerMessage(roomy);
    expect(decoded).toEqual(message);
    expect(dataOf(decoded).buffer).not.toBe(roomy.buffer);
    const small: PeerMessage = {
      kind: 'syncTxns',
      epoch: 3,
      attempt: 3,
      seq: 1,
      txns: [txn(big.subarray(0, 40)), txn(big.subarray(0, 40))].map((t, i) => ({
        ...t,
        zxid: makeZxid(3, 7 + i),
      })),
    };
    const smallFrame = frameOf(small);
    expect(dataOf(decodePeerMessage(smallFrame)).buffer).not.toBe(smallFrame.buffer);
  });
});
