import { makeZxid, type PeerMessage } from '@zabkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePeerMessage, encodePeerMessage, PeerCodecError } from '../src/index.js';
import { messageArbs, peerMessageArb, snapshotArb, txnArb } from './arbitraries.js';

const roundTrip = (message: PeerMessage) => decodePeerMessage(encodePeerMessage(message));

describe('peer codec', () => {
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

  it('round-trips SNAP learner syncs with whole snapshots', () => {
    fc.assert(
      fc.property(snapshotArb, fc.array(txnArb, { maxLength: 3 }), (snapshot, txns) => {
        const message: PeerMessage = {
          kind: 'learnerSync',
          epoch: 2,
          mode: 'snap',
          truncateTo: undefined,
          snapshot,
          txns,
        };
        expect(roundTrip(message)).toEqual(message);
      }),
      { numRuns: 200 },
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
          sessionId: 5n,
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
    expect(encodePeerMessage({ kind: 'ping', epoch: 3 }).length).toBe(2);
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
    const bytes = encodePeerMessage({ kind: 'ping', epoch: 1 });
    expect(() => decodePeerMessage(new Uint8Array([...bytes, 0]))).toThrow(PeerCodecError);
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
      { numRuns: 2000 },
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
    const bytes = new Uint8Array([5, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f]);
    expect(() => decodePeerMessage(bytes)).toThrow(PeerCodecError);
  });

  it('throws PeerCodecError when asked to encode something that is not a message', () => {
    expect(() => encodePeerMessage({ kind: 'nonsense' } as unknown as PeerMessage)).toThrow(PeerCodecError);
    expect(() => encodePeerMessage({ kind: 'ack', epoch: 1, zxid: -1n } as unknown as PeerMessage)).toThrow(
      PeerCodecError,
    );
  });
});
