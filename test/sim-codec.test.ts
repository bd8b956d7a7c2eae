/**
 * The simulator over the real encodings: every peer message through the peer codec and
 * every storage action through LevelStorage's records, both ways, on seeded faulty runs.
 * Whatever the core sends or stores must be in the codec's ranges (an encoder error fails
 * the run), must come back equal, and the run must be the very one it is without them
 * (the same trace hash, event for event).
 */
import {
  decodeEpochsRecord,
  decodeLogRecord,
  decodeManifest,
  decodePeerMessage,
  decodeSnapshotChunk,
  encodeEpochsRecord,
  encodeLogRecord,
  encodeManifest,
  encodePeerMessage,
  encodeSnapshotChunk,
} from '@zabkit/codec';
import type { PeerMessage, StorageAction, TreeSnapshot } from '@zabkit/core';
import { runSeed } from '@zabkit/sim';
import { describe, expect, it } from 'vitest';

let messages = 0;
let actions = 0;

function wire(message: PeerMessage): PeerMessage {
  messages++;
  // A copy without kept transaction encodings, so each message is encoded from its fields.
  return decodePeerMessage(encodePeerMessage(structuredClone(message)));
}

function snapshotThroughDisk(snapshot: TreeSnapshot): TreeSnapshot {
  const nodes = decodeSnapshotChunk(encodeSnapshotChunk(structuredClone(snapshot.nodes)));
  const manifest = decodeManifest(
    encodeManifest({ chunks: 1, nodes: nodes.length, sessions: snapshot.sessions }),
  );
  return { zxid: snapshot.zxid, nodes, sessions: manifest.sessions };
}

function diskWire(action: StorageAction): StorageAction {
  actions++;
  switch (action.kind) {
    case 'append':
      return action.txns.length === 0
        ? action
        : { kind: 'append', txns: decodeLogRecord(encodeLogRecord(structuredClone(action.txns))).txns };
    case 'epochs':
      return { kind: 'epochs', epochs: decodeEpochsRecord(encodeEpochsRecord(action.epochs)) };
    case 'snapshot':
    case 'reset':
      return { kind: action.kind, snapshot: snapshotThroughDisk(action.snapshot) };
    default:
      return action;
  }
}

describe('the simulator over the peer codec and the storage records', () => {
  for (const seed of [3, 11, 29]) {
    it(`seed ${seed}: no failures, and the same run as without them`, () => {
      const options = { faultyMs: 3000, healedMs: 5000 };
      const plain = runSeed(seed, options);
      const before = { messages, actions };
      const encoded = runSeed(seed, { ...options, wire, diskWire });
      expect(encoded.failures).toEqual([]);
      expect(encoded.traceHash).toBe(plain.traceHash);
      expect(messages - before.messages).toBeGreaterThan(100);
      expect(actions - before.actions).toBeGreaterThan(10);
    });
  }
});
