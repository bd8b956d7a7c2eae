/** The session secret on the wire (NEWLEADER) and on disk: bounded both ways, checked when read. */
import { makeZxid } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import {
  decodePeerMessage,
  decodeSessionSecretRecord,
  encodePeerMessage,
  encodeSessionSecretRecord,
  PeerCodecError,
  StorageRecordError,
  sessionSecretMaxBytes,
} from '../src/index.js';

const newLeader = (sessionSecret: Uint8Array) =>
  ({ kind: 'newLeader', epoch: 3, attempt: 3, lastZxid: makeZxid(3, 7), sessionSecret }) as const;

describe('the session secret', () => {
  it('travels in NEWLEADER, 1 to 1024 bytes, and nothing else decodes', () => {
    for (const length of [1, 32, sessionSecretMaxBytes]) {
      const message = newLeader(new Uint8Array(length).fill(5));
      expect(decodePeerMessage(encodePeerMessage(message))).toEqual(message);
    }
    for (const length of [0, sessionSecretMaxBytes + 1])
      expect(() => encodePeerMessage(newLeader(new Uint8Array(length)))).toThrow(PeerCodecError);
    // Bytes claiming an empty secret are refused by the decoder too.
    const bytes = encodePeerMessage(newLeader(new Uint8Array([1])));
    const empty = bytes.slice(0, bytes.length - 2);
    expect(() => decodePeerMessage(Uint8Array.from([...empty, 0]))).toThrow(/session secret of 0 bytes/);
  });

  it('is kept in a checksummed record', () => {
    const secret = new Uint8Array(32).fill(7);
    expect(decodeSessionSecretRecord(encodeSessionSecretRecord(secret))).toEqual(secret);
    const damaged = encodeSessionSecretRecord(secret);
    damaged[10]! ^= 1;
    expect(() => decodeSessionSecretRecord(damaged)).toThrow(StorageRecordError);
    expect(() => encodeSessionSecretRecord(new Uint8Array(0))).toThrow(RangeError);
  });
});
