/** Golden bytes for every peer message kind: the encoding is pinned, not just self-consistent. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  decodePeerMessage,
  encodePeerMessage,
  learnerSyncModeTags,
  peerMessageTags,
  peerRoleTags,
  requestOpTags,
  txnKindTags,
} from '../src/index.js';
import { fromHex, readGolden, toHex, updatingGolden, writeGolden } from './golden.js';
import { reconfigTxns, restoreTxns, sampleMessages, sampleTxns } from './samples.js';

const file = fileURLToPath(new URL('./golden/peer-messages.txt', import.meta.url));
const header = `
Golden bytes of peer messages: one sample (test/samples.ts) per line, its name, then its
encoding in hex. Rewrite only on purpose: ZABKIT_UPDATE_GOLDEN=1 npx vitest run packages/codec
`;

describe('golden bytes of peer messages', () => {
  if (updatingGolden) {
    it('rewrites the golden file', () => {
      const entries = new Map(
        Object.entries(sampleMessages).map(([name, m]) => [name, encodePeerMessage(m)]),
      );
      writeGolden(file, header, entries);
    });
    return;
  }
  const golden = readGolden(file);

  it('has a sample of every message kind, role, learner sync mode, txn kind and request op', () => {
    const messages = Object.values(sampleMessages);
    const seen = (values: string[]) => [...new Set(values)].sort();
    expect(seen(messages.map((m) => m.kind))).toEqual(Object.keys(peerMessageTags).sort());
    expect(seen(messages.flatMap((m) => (m.kind === 'notification' ? [m.state] : [])))).toEqual(
      Object.keys(peerRoleTags).sort(),
    );
    expect(seen(messages.flatMap((m) => (m.kind === 'syncBegin' ? [m.mode] : [])))).toEqual(
      Object.keys(learnerSyncModeTags).sort(),
    );
    const txns = [
      ...Object.values(sampleTxns),
      ...Object.values(reconfigTxns),
      ...Object.values(restoreTxns),
    ];
    expect(seen(txns.map((t) => t.body.kind))).toEqual(Object.keys(txnKindTags).sort());
    expect(seen(messages.flatMap((m) => (m.kind === 'request' ? [m.request.op] : [])))).toEqual(
      Object.keys(requestOpTags).sort(),
    );
  });

  it('has one entry per sample and no other', () => {
    expect([...golden.keys()].sort()).toEqual(Object.keys(sampleMessages).sort());
  });

  for (const [name, message] of Object.entries(sampleMessages)) {
    it(`encodes ${name} as checked in`, () => {
      expect(toHex(encodePeerMessage(message))).toBe(golden.get(name));
    });
    it(`decodes ${name} from its checked-in bytes`, () => {
      expect(decodePeerMessage(fromHex(golden.get(name) ?? ''))).toEqual(message);
    });
  }
});
