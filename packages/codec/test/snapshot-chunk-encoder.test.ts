import { makeZxid, type SnapshotNode, snapshotNodeBytes } from '@zabkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSnapshotChunk, encodeSnapshotChunk, SnapshotChunkEncoder } from '../src/index.js';
import { snapshotNodeArb } from './arbitraries.js';

describe('SnapshotChunkEncoder', () => {
  it('makes, chunk after chunk from one reused buffer, the bytes encodeSnapshotChunk makes', () => {
    fc.assert(
      fc.property(fc.array(fc.array(snapshotNodeArb, { maxLength: 6 }), { maxLength: 5 }), (chunks) => {
        const encoder = new SnapshotChunkEncoder();
        // Every chunk is kept until the end: a later chunk must not overwrite an earlier one.
        const records: Uint8Array[] = [];
        for (const nodes of chunks) {
          for (const node of nodes) encoder.add(node);
          expect(encoder.nodes).toBe(nodes.length);
          records.push(encoder.finish());
          expect(encoder.nodes).toBe(0);
          expect(encoder.bytes).toBe(0);
        }
        chunks.forEach((nodes, i) => {
          expect(Buffer.from(records[i]!)).toEqual(Buffer.from(encodeSnapshotChunk(nodes)));
          expect(decodeSnapshotChunk(records[i]!)).toEqual(nodes);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('encodes a chunk into the buffer it is given when it fits, and into its own when not', () => {
    fc.assert(
      fc.property(fc.array(snapshotNodeArb, { maxLength: 6 }), fc.nat(4096), (nodes, spare) => {
        const plain = Buffer.from(encodeSnapshotChunk(nodes));
        // Room for the chunk as the encoder sizes it before encoding (snapshotNodeBytes errs large).
        const room = nodes.reduce((sum, node) => sum + snapshotNodeBytes(node), 16);
        const roomy = new Uint8Array(room + 16 + spare);
        const into = encodeSnapshotChunk(nodes, roomy);
        expect(into.buffer).toBe(roomy.buffer);
        expect(into.byteOffset).toBe(0);
        expect(Buffer.from(into)).toEqual(plain);
        const tight = new Uint8Array(4);
        const own = encodeSnapshotChunk(nodes, tight);
        expect(own.buffer).not.toBe(tight.buffer);
        expect(Buffer.from(own)).toEqual(plain);
        expect(decodeSnapshotChunk(into)).toEqual(nodes);
      }),
      { numRuns: 200 },
    );
  });

  it('writes a list count of more than one byte as the whole-list encoder does', () => {
    const node = (i: number): SnapshotNode => ({
      path: `/n${i}`,
      data: new Uint8Array([i & 0xff]),
      acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
      czxid: makeZxid(1, i + 1),
      mzxid: makeZxid(1, i + 1),
      pzxid: makeZxid(1, i + 1),
      ctime: i,
      mtime: i,
      version: 0,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: 0n,
    });
    const nodes = Array.from({ length: 300 }, (_, i) => node(i));
    const encoder = new SnapshotChunkEncoder();
    for (const n of nodes) encoder.add(n);
    expect(Buffer.from(encoder.finish())).toEqual(Buffer.from(encodeSnapshotChunk(nodes)));
  });

  it('leaves the chunk as it was when a node cannot be encoded, and names the node', () => {
    const good = fc.sample(snapshotNodeArb, { numRuns: 2, seed: 7 });
    const encoder = new SnapshotChunkEncoder();
    encoder.add(good[0]!);
    const bytes = encoder.bytes;
    const bad = { ...good[1]!, version: 2 ** 40 } as SnapshotNode;
    expect(() => encoder.add(bad)).toThrow(/nodes\[1\]/);
    expect(encoder.nodes).toBe(1);
    expect(encoder.bytes).toBe(bytes);
    encoder.add(good[1]!);
    expect(Buffer.from(encoder.finish())).toEqual(Buffer.from(encodeSnapshotChunk(good)));
  });
});
