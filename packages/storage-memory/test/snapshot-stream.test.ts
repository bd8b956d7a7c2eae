import { DataTree, Ids, makeZxid, type SessionId, type Txn } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../src/index.js';

function create(counter: number): Txn {
  return {
    zxid: makeZxid(1, counter),
    timeMs: counter,
    sessionId: 1n as SessionId,
    cxid: counter,
    body: {
      kind: 'create',
      path: `/n${counter}`,
      data: new Uint8Array([counter & 0xff]),
      acl: Ids.openAclUnsafe,
      ephemeralOwner: 0n,
      parentCversion: counter,
    },
  };
}

function setData(counter: number, of: number): Txn {
  return {
    zxid: makeZxid(1, counter),
    timeMs: counter,
    sessionId: 1n as SessionId,
    cxid: counter,
    body: { kind: 'setData', path: `/n${of}`, data: new Uint8Array([7, counter & 0xff]), version: 0 },
  };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** A tree of `nodes` creates, the store holding their log. */
async function treeAndStore(nodes: number) {
  const history = Array.from({ length: nodes }, (_v, i) => create(i + 1));
  const tree = new DataTree();
  for (const t of history) tree.apply(t);
  const store = new MemoryStorage();
  await store.append(history);
  return { tree, store, history };
}

describe('MemoryStorage and a snapshot streamed out of a live tree', () => {
  it('reads it in slices, letting the event loop turn, and keeps the tree at its zxid though it changed meanwhile', async () => {
    const nodes = 5000;
    const { tree, store } = await treeAndStore(nodes);
    const atZxid = tree.digest();
    const stream = tree.beginSnapshot();
    await store.saveSnapshot(stream);
    // Resolved before the stream is read: the writes after it need not wait.
    expect(tree.snapshotInProgress).toBe(true);
    const seen: number[] = [];
    let counter = nodes;
    while (tree.snapshotInProgress) {
      seen.push(stream.nodesFound);
      counter++;
      const next = setData(counter, 1 + ((counter * 7) % nodes));
      tree.apply(next);
      await store.append([next]);
      await turn();
    }
    const steps = seen.slice(1).map((found, i) => found - seen[i]!);
    expect(Math.max(...steps)).toBeLessThanOrEqual(1024 + 8);
    expect(seen.length).toBeGreaterThan(nodes / 1024);
    const loaded = await store.reopen().load();
    expect(loaded.snapshot?.zxid).toBe(makeZxid(1, nodes));
    expect(DataTree.fromSnapshot(loaded.snapshot!).digest()).toBe(atZxid);
    // The log after the snapshot is the changes made while it was read.
    expect(loaded.log.map((t) => t.zxid)).toEqual(
      Array.from({ length: counter - nodes }, (_v, i) => makeZxid(1, nodes + 1 + i)),
    );
  });

  it('holds a purge asked while it is read until it is stored, and readers wait for it', async () => {
    const { tree, store } = await treeAndStore(3000);
    await store.saveSnapshot(tree.beginSnapshot());
    await store.purge(makeZxid(1, 3000));
    // Purging now would leave neither a snapshot nor the log it covers.
    expect(store.image.log.length).toBe(3000);
    expect(store.image.snapshots.length).toBe(0);
    const latest = await store.latestSnapshot();
    expect(latest?.zxid).toBe(makeZxid(1, 3000));
    expect(tree.snapshotInProgress).toBe(false);
    expect(store.image.log.length).toBe(0);
    const first = await store.readSnapshotChunk(makeZxid(1, 3000), 0, 1000);
    expect(first.nodes[0]?.path).toBe('/');
    expect(first.next).toBe(first.nodes.length);
    expect(DataTree.fromSnapshot(latest!).digest()).toBe(tree.digest());
  });

  it('finishes a snapshot still being read when reopened, as the stopped peer left its tree', async () => {
    const { tree, store } = await treeAndStore(4000);
    const atZxid = tree.digest();
    await store.saveSnapshot(tree.beginSnapshot());
    expect(tree.snapshotInProgress).toBe(true);
    const again = store.reopen();
    expect(tree.snapshotInProgress).toBe(false);
    const loaded = await again.load();
    expect(loaded.snapshot?.zxid).toBe(makeZxid(1, 4000));
    expect(DataTree.fromSnapshot(loaded.snapshot!).digest()).toBe(atZxid);
  });

  it('gives a snapshot still being read up when reset replaces everything', async () => {
    const { tree, store } = await treeAndStore(3000);
    await store.saveSnapshot(tree.beginSnapshot());
    const other = new DataTree();
    other.apply(create(1));
    await store.reset(other.snapshot());
    expect(tree.snapshotInProgress).toBe(false);
    const loaded = await store.load();
    expect(loaded.snapshot?.zxid).toBe(makeZxid(1, 1));
    expect(loaded.log).toEqual([]);
    await turn();
    expect((await store.load()).snapshot?.zxid).toBe(makeZxid(1, 1));
  });

  it('fails every call after a snapshot it could not read, rather than throwing where no caller is', async () => {
    const { tree, store } = await treeAndStore(3000);
    const stream = tree.beginSnapshot();
    await store.saveSnapshot(stream);
    // A stream given up under the store (as a broken invariant would leave it) cannot be read.
    stream.abandon();
    await turn();
    await turn();
    await expect(store.append([create(3001)])).rejects.toThrow(/abandoned/);
    await expect(store.latestSnapshot()).rejects.toThrow(/abandoned/);
    expect(store.image.snapshots).toEqual([]);
  });
});
