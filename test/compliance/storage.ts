/**
 * The storage compliance suite: every PeerStorage adapter runs it, as the Level family runs
 * abstract-level's shared tests. An adapter's test file hands it a factory and nothing else.
 */

import {
  DataTree,
  decodedSessionId,
  Ids,
  makeZxid,
  type PeerStorage,
  type SnapshotNode,
  type StorageAction,
  snapshotNodeBytes,
  type TreeSnapshot,
  type Txn,
  zeroZxid,
} from '@zabkit/core';
import { describe, expect, it } from 'vitest';

export interface StorageFactory {
  /** A new, empty store. */
  create(): Promise<PeerStorage>;
  /** The same store opened again after `close`, as after a restart; absent if not durable. */
  reopen?(store: PeerStorage): Promise<PeerStorage>;
}

function txn(epoch: number, counter: number, path = `/n${epoch}_${counter}`): Txn {
  return {
    zxid: makeZxid(epoch, counter),
    timeMs: 1000 + counter,
    sessionId: decodedSessionId(0x1234n),
    cxid: counter,
    body: {
      kind: 'create',
      path,
      data: new Uint8Array([counter]),
      acl: Ids.openAclUnsafe,
      ephemeralOwner: 0n,
      parentCversion: counter,
    },
  };
}

function snapshotAt(txns: readonly Txn[]): TreeSnapshot {
  const tree = new DataTree();
  for (const t of txns) tree.apply(t);
  return tree.snapshot();
}

/** Carries out actions as a driver would: through `apply` when the store has it. */
async function carryOutAll(store: PeerStorage, actions: readonly StorageAction[]): Promise<void> {
  if (store.apply !== undefined) {
    await store.apply(actions);
    return;
  }
  for (const action of actions) {
    switch (action.kind) {
      case 'sessionSecret':
        await store.writeSessionSecret(action.secret);
        break;
      case 'stageBegin':
        await store.stageSnapshot(action.zxid);
        break;
      case 'stageChunk':
        await store.stageChunk(action.zxid, action.index, action.nodes);
        break;
      case 'stageCommit':
        await store.commitStagedSnapshot(action.zxid, action.chunks, action.nodes, action.sessions);
        break;
      case 'stageDiscard':
        await store.discardStagedSnapshots();
        break;
      default:
        throw new Error(`not needed here: ${action.kind}`);
    }
  }
}

/** A snapshot of `count` nodes of `bytes` bytes each under /big, and two sessions, at epoch 5. */
function largeSnapshot(count: number, bytes: number): TreeSnapshot {
  const tree = new DataTree();
  let counter = 0;
  const at = () => makeZxid(5, ++counter);
  tree.apply({
    zxid: at(),
    timeMs: 1,
    sessionId: decodedSessionId(0x51n),
    cxid: 0,
    body: { kind: 'createSession', timeoutMs: 4000 },
  });
  tree.apply({
    zxid: at(),
    timeMs: 1,
    sessionId: decodedSessionId(0x52n),
    cxid: 0,
    body: { kind: 'createSession', timeoutMs: 6000 },
  });
  tree.apply({
    zxid: at(),
    timeMs: 2,
    sessionId: decodedSessionId(0n),
    cxid: 0,
    body: {
      kind: 'create',
      path: '/big',
      data: new Uint8Array(0),
      acl: Ids.openAclUnsafe,
      ephemeralOwner: 0n,
      parentCversion: 1,
    },
  });
  for (let i = 0; i < count; i++) {
    tree.apply({
      zxid: at(),
      timeMs: 3 + i,
      sessionId: decodedSessionId(0n),
      cxid: i,
      body: {
        kind: 'create',
        path: `/big/n${String(i).padStart(4, '0')}`,
        data: new Uint8Array(bytes).fill(i & 0xff),
        acl: Ids.openAclUnsafe,
        ephemeralOwner: i % 3 === 0 ? 0x51n : 0n,
        parentCversion: i + 1,
      },
    });
  }
  return tree.snapshot();
}

/** Splits nodes into chunks of `size` nodes, as a leader's stream would deliver them. */
function chunked(nodes: readonly SnapshotNode[], size: number): SnapshotNode[][] {
  const chunks: SnapshotNode[][] = [];
  for (let start = 0; start < nodes.length; start += size) chunks.push(nodes.slice(start, start + size));
  return chunks;
}

/** Stages `snapshot` in chunks of `size` nodes; commits it unless told not to. */
async function stage(
  store: PeerStorage,
  snapshot: TreeSnapshot,
  size: number,
  commit = true,
): Promise<number> {
  const chunks = chunked(snapshot.nodes, size);
  await store.stageSnapshot(snapshot.zxid);
  for (const [index, nodes] of chunks.entries()) await store.stageChunk(snapshot.zxid, index, nodes);
  if (commit)
    await store.commitStagedSnapshot(snapshot.zxid, chunks.length, snapshot.nodes.length, snapshot.sessions);
  return chunks.length;
}

/** Reads the stored snapshot at `zxid` back, `bytesMax` at a time; returns the pieces. */
async function readAll(store: PeerStorage, zxid: TreeSnapshot['zxid'], bytesMax: number) {
  const pieces: { nodes: readonly SnapshotNode[]; sessions: TreeSnapshot['sessions'] }[] = [];
  let cursor: number | undefined = 0;
  while (cursor !== undefined) {
    const piece = await store.readSnapshotChunk(zxid, cursor, bytesMax);
    pieces.push(piece);
    cursor = piece.next;
    if (pieces.length > 100_000) throw new Error('a snapshot read that never ends');
  }
  return pieces;
}

export function storageComplianceSuite(name: string, factory: StorageFactory): void {
  describe(`PeerStorage compliance: ${name}`, () => {
    it('a new store is empty at epochs 0/0', async () => {
      const store = await factory.create();
      const state = await store.load();
      expect(state.epochs).toEqual({ acceptedEpoch: 0, currentEpoch: 0 });
      expect(state.snapshot).toBeUndefined();
      expect(state.log).toEqual([]);
      expect(state.sessionSecret).toBeUndefined();
      await store.close();
    });

    it('appends and reads back in zxid order, from any point', async () => {
      const store = await factory.create();
      await store.append([txn(1, 1), txn(1, 2)]);
      await store.append([txn(1, 3), txn(2, 1)]);
      expect((await store.readLog(zeroZxid)).map((t) => t.zxid)).toEqual([
        makeZxid(1, 1),
        makeZxid(1, 2),
        makeZxid(1, 3),
        makeZxid(2, 1),
      ]);
      expect((await store.readLog(makeZxid(1, 2))).map((t) => t.zxid)).toEqual([
        makeZxid(1, 3),
        makeZxid(2, 1),
      ]);
      const loaded = await store.load();
      expect(loaded.log).toEqual([txn(1, 1), txn(1, 2), txn(1, 3), txn(2, 1)]);
      await store.close();
    });

    it('refuses an append that does not move the zxid forward', async () => {
      const store = await factory.create();
      await store.append([txn(1, 2)]);
      await expect(store.append([txn(1, 1)])).rejects.toThrow();
      await store.close();
    });

    it('truncates everything after a zxid', async () => {
      const store = await factory.create();
      await store.append([txn(1, 1), txn(1, 2), txn(1, 3)]);
      await store.truncate(makeZxid(1, 1));
      expect((await store.readLog(zeroZxid)).map((t) => t.zxid)).toEqual([makeZxid(1, 1)]);
      await store.append([txn(2, 1)]);
      expect((await store.load()).log.map((t) => t.zxid)).toEqual([makeZxid(1, 1), makeZxid(2, 1)]);
      await store.close();
    });

    it('loads the newest snapshot and only the log after it', async () => {
      const store = await factory.create();
      const txns = [txn(1, 1), txn(1, 2), txn(1, 3)];
      await store.append(txns);
      await store.saveSnapshot(snapshotAt(txns.slice(0, 1)));
      await store.saveSnapshot(snapshotAt(txns.slice(0, 2)));
      const state = await store.load();
      expect(state.snapshot?.zxid).toBe(makeZxid(1, 2));
      expect(state.log.map((t) => t.zxid)).toEqual([makeZxid(1, 3)]);
      expect((await store.latestSnapshot())?.zxid).toBe(makeZxid(1, 2));
      const rebuilt = DataTree.fromSnapshot(state.snapshot!);
      expect(rebuilt.digest()).toBe(DataTree.fromSnapshot(snapshotAt(txns.slice(0, 2))).digest());
      await store.close();
    });

    it('reset replaces log and snapshots with one snapshot', async () => {
      const store = await factory.create();
      await store.append([txn(1, 1), txn(1, 2)]);
      const snapshot = snapshotAt([txn(3, 1), txn(3, 2)]);
      await store.reset(snapshot);
      const state = await store.load();
      expect(state.snapshot?.zxid).toBe(makeZxid(3, 2));
      expect(state.log).toEqual([]);
      await store.append([txn(3, 3)]);
      expect((await store.load()).log.map((t) => t.zxid)).toEqual([makeZxid(3, 3)]);
      await store.close();
    });

    it('purge drops old log entries and older snapshots but keeps what load needs', async () => {
      const store = await factory.create();
      const txns = [txn(1, 1), txn(1, 2), txn(1, 3), txn(1, 4)];
      await store.append(txns);
      await store.saveSnapshot(snapshotAt(txns.slice(0, 1)));
      await store.saveSnapshot(snapshotAt(txns.slice(0, 3)));
      await store.purge(makeZxid(1, 2));
      // A store may keep more than asked (snapshot retention), never less than load needs.
      expect((await store.readLog(zeroZxid)).map((t) => t.zxid).slice(-2)).toEqual([
        makeZxid(1, 3),
        makeZxid(1, 4),
      ]);
      const state = await store.load();
      expect(state.snapshot?.zxid).toBe(makeZxid(1, 3));
      expect(state.log.map((t) => t.zxid)).toEqual([makeZxid(1, 4)]);
      await store.close();
    });

    it('keeps epochs', async () => {
      const store = await factory.create();
      await store.writeEpochs({ acceptedEpoch: 4, currentEpoch: 3 });
      expect(await store.readEpochs()).toEqual({ acceptedEpoch: 4, currentEpoch: 3 });
      expect((await store.load()).epochs).toEqual({ acceptedEpoch: 4, currentEpoch: 3 });
      await store.close();
    });

    it('keeps the session secret, the last one written, by method and by action', async () => {
      const store = await factory.create();
      await store.writeSessionSecret(new Uint8Array([1, 2, 3]));
      expect((await store.load()).sessionSecret).toEqual(new Uint8Array([1, 2, 3]));
      await carryOutAll(store, [{ kind: 'sessionSecret', secret: new Uint8Array(32).fill(9) }]);
      expect((await store.load()).sessionSecret).toEqual(new Uint8Array(32).fill(9));
      await store.close();
    });

    it('keeps transaction bodies intact: data, ACLs, owners, every kind', async () => {
      const store = await factory.create();
      const kinds: Txn[] = [
        {
          zxid: makeZxid(1, 1),
          timeMs: 5,
          sessionId: decodedSessionId(-7n),
          cxid: -1,
          body: { kind: 'createSession', timeoutMs: 3000 },
        },
        {
          zxid: makeZxid(1, 2),
          timeMs: 6,
          sessionId: decodedSessionId(-7n),
          cxid: 4,
          body: {
            kind: 'create',
            path: '/ü',
            data: new Uint8Array([0, 255, 7]),
            acl: [{ perms: 1, id: { scheme: 'digest', id: 'a:b' } }],
            ephemeralOwner: -7n,
            parentCversion: 1,
          },
        },
        {
          zxid: makeZxid(1, 3),
          timeMs: 7,
          sessionId: decodedSessionId(-7n),
          cxid: 5,
          body: { kind: 'setData', path: '/ü', data: new Uint8Array(0), version: 1 },
        },
        {
          zxid: makeZxid(1, 4),
          timeMs: 8,
          sessionId: decodedSessionId(-7n),
          cxid: 6,
          body: {
            kind: 'multi',
            parts: [
              { kind: 'error', code: 0 },
              { kind: 'error', code: -101 },
            ],
          },
        },
        {
          zxid: makeZxid(1, 5),
          timeMs: 9,
          sessionId: decodedSessionId(-7n),
          cxid: -1,
          body: { kind: 'closeSession', ephemeralPaths: ['/ü'] },
        },
        {
          zxid: makeZxid(1, 6),
          timeMs: 9,
          sessionId: decodedSessionId(0n),
          cxid: 7,
          body: { kind: 'setACL', path: '/', acl: Ids.readAclUnsafe, aversion: 1 },
        },
      ];
      await store.append(kinds);
      expect(await store.readLog(zeroZxid)).toEqual(kinds);
      await store.close();
    });

    it('a staged snapshot is no part of the state until committed; the commit replaces everything', async () => {
      const store = await factory.create();
      const old = [txn(1, 1), txn(1, 2), txn(1, 3)];
      await store.append(old);
      await store.saveSnapshot(snapshotAt(old.slice(0, 2)));
      await store.writeEpochs({ acceptedEpoch: 2, currentEpoch: 1 });
      const incoming = largeSnapshot(30, 500);
      const chunks = await stage(store, incoming, 7, false);
      expect(chunks).toBe(Math.ceil(incoming.nodes.length / 7));
      // Staged: the previous state is what loads, whole.
      const before = await store.load();
      expect(before.snapshot?.zxid).toBe(makeZxid(1, 2));
      expect(before.log).toEqual([txn(1, 3)]);
      expect(before.incompleteSnapshots).toEqual([incoming.zxid]);
      await store.commitStagedSnapshot(incoming.zxid, chunks, incoming.nodes.length, incoming.sessions);
      const after = await store.load();
      expect(after.snapshot?.zxid).toBe(incoming.zxid);
      expect(after.log).toEqual([]);
      expect(after.epochs).toEqual({ acceptedEpoch: 2, currentEpoch: 1 });
      expect(after.incompleteSnapshots ?? []).toEqual([]);
      expect(DataTree.fromSnapshot(after.snapshot!).digest()).toBe(DataTree.fromSnapshot(incoming).digest());
      expect(after.snapshot!.sessions).toEqual(incoming.sessions);
      // The log goes on from the new snapshot.
      const next = txn(5, Number(incoming.zxid & 0xffff_ffffn) + 1);
      await store.append([next]);
      expect((await store.load()).log).toEqual([next]);
      await store.close();
    });

    it('a commit that does not match what was staged is refused and changes nothing', async () => {
      const store = await factory.create();
      await store.append([txn(1, 1)]);
      const incoming = largeSnapshot(10, 100);
      const chunks = await stage(store, incoming, 4, false);
      await expect(
        store.commitStagedSnapshot(incoming.zxid, chunks + 1, incoming.nodes.length, incoming.sessions),
      ).rejects.toThrow();
      await expect(
        store.commitStagedSnapshot(incoming.zxid, chunks, incoming.nodes.length - 1, incoming.sessions),
      ).rejects.toThrow();
      await expect(
        store.commitStagedSnapshot(makeZxid(9, 9), chunks, incoming.nodes.length, incoming.sessions),
      ).rejects.toThrow();
      const state = await store.load();
      expect(state.snapshot).toBeUndefined();
      expect(state.log).toEqual([txn(1, 1)]);
      await store.close();
    });

    it('staged chunks go in index order, for the snapshot being staged only', async () => {
      const store = await factory.create();
      const incoming = largeSnapshot(6, 10);
      const parts = chunked(incoming.nodes, 5);
      expect(parts.length).toBeGreaterThan(1);
      await expect(store.stageChunk(incoming.zxid, 0, parts[0]!)).rejects.toThrow();
      await store.stageSnapshot(incoming.zxid);
      await expect(store.stageChunk(incoming.zxid, 1, parts[1]!)).rejects.toThrow();
      await expect(store.stageChunk(makeZxid(8, 1), 0, parts[0]!)).rejects.toThrow();
      for (const [index, nodes] of parts.entries()) await store.stageChunk(incoming.zxid, index, nodes);
      await store.commitStagedSnapshot(incoming.zxid, parts.length, incoming.nodes.length, incoming.sessions);
      expect((await store.load()).snapshot?.zxid).toBe(incoming.zxid);
      await store.close();
    });

    it('a new staging drops the one before; a discard drops what is staged; committed state stays', async () => {
      const store = await factory.create();
      const kept = snapshotAt([txn(1, 1), txn(1, 2)]);
      await store.saveSnapshot(kept);
      const abandoned = largeSnapshot(8, 50);
      await stage(store, abandoned, 3, false);
      const later = largeSnapshot(12, 50);
      const laterZxid = makeZxid(6, 1);
      const relabelled = { ...later, zxid: laterZxid };
      const chunks = await stage(store, relabelled, 5, false);
      expect((await store.load()).incompleteSnapshots).toEqual([laterZxid]);
      await expect(
        store.commitStagedSnapshot(abandoned.zxid, 3, abandoned.nodes.length, abandoned.sessions),
      ).rejects.toThrow();
      await store.discardStagedSnapshots();
      let state = await store.load();
      expect(state.incompleteSnapshots ?? []).toEqual([]);
      expect(state.snapshot?.zxid).toBe(kept.zxid);
      await expect(
        store.commitStagedSnapshot(laterZxid, chunks, relabelled.nodes.length, relabelled.sessions),
      ).rejects.toThrow();
      // By actions, as a driver carries them out, too.
      const parts = chunked(relabelled.nodes, 5);
      await carryOutAll(store, [
        { kind: 'stageBegin', zxid: laterZxid },
        ...parts.map((nodes, index) => ({ kind: 'stageChunk' as const, zxid: laterZxid, index, nodes })),
        {
          kind: 'stageCommit',
          zxid: laterZxid,
          chunks: parts.length,
          nodes: relabelled.nodes.length,
          sessions: relabelled.sessions,
        },
      ]);
      state = await store.load();
      expect(state.snapshot?.zxid).toBe(laterZxid);
      expect(DataTree.fromSnapshot(state.snapshot!).digest()).toBe(
        DataTree.fromSnapshot(relabelled).digest(),
      );
      await carryOutAll(store, [{ kind: 'stageBegin', zxid: makeZxid(7, 1) }, { kind: 'stageDiscard' }]);
      expect((await store.load()).incompleteSnapshots ?? []).toEqual([]);
      await store.close();
    });

    it('staging a snapshot at a zxid already stored is refused', async () => {
      const store = await factory.create();
      const kept = snapshotAt([txn(1, 1)]);
      await store.saveSnapshot(kept);
      await expect(store.stageSnapshot(kept.zxid)).rejects.toThrow();
      expect((await store.load()).snapshot?.zxid).toBe(kept.zxid);
      await store.close();
    });

    it('reads a stored snapshot back in bounded pieces: at least one node each, sessions with the first', async () => {
      const store = await factory.create();
      const snapshot = largeSnapshot(40, 3000);
      await store.saveSnapshot(snapshot);
      const bytesMax = 10_000;
      const pieces = await readAll(store, snapshot.zxid, bytesMax);
      expect(pieces.flatMap((piece) => piece.nodes)).toEqual(snapshot.nodes);
      expect(pieces[0]!.sessions).toEqual(snapshot.sessions);
      for (const piece of pieces.slice(1)) expect(piece.sessions).toEqual([]);
      for (const piece of pieces) {
        expect(piece.nodes.length).toBeGreaterThan(0);
        const bytes = piece.nodes.reduce((sum, node) => sum + snapshotNodeBytes(node), 0);
        if (piece.nodes.length > 1) expect(bytes).toBeLessThanOrEqual(bytesMax);
      }
      expect(pieces.length).toBeGreaterThan(10);
      // A node larger than bytesMax comes alone.
      const single = await readAll(store, snapshot.zxid, 1);
      expect(single.every((piece) => piece.nodes.length === 1)).toBe(true);
      expect(single.flatMap((piece) => piece.nodes)).toEqual(snapshot.nodes);
      await expect(store.readSnapshotChunk(makeZxid(9, 9), 0, bytesMax)).rejects.toThrow();
      // A committed staged snapshot reads back the same way.
      const staged = { ...largeSnapshot(20, 2000), zxid: makeZxid(7, 7) };
      await stage(store, staged, 6);
      const again = await readAll(store, staged.zxid, 5000);
      expect(again.flatMap((piece) => piece.nodes)).toEqual(staged.nodes);
      expect(again[0]!.sessions).toEqual(staged.sessions);
      await store.close();
    });

    if (factory.reopen !== undefined) {
      const reopen = factory.reopen;
      it('a staging interrupted by a restart is reported, never loaded, and cannot be committed', async () => {
        const store = await factory.create();
        await store.append([txn(1, 1), txn(1, 2)]);
        const incoming = largeSnapshot(9, 200);
        const chunks = await stage(store, incoming, 4, false);
        await store.close();
        const again = await reopen(store);
        const state = await again.load();
        expect(state.snapshot).toBeUndefined();
        expect(state.log).toEqual([txn(1, 1), txn(1, 2)]);
        expect(state.incompleteSnapshots).toEqual([incoming.zxid]);
        await expect(
          again.commitStagedSnapshot(incoming.zxid, chunks, incoming.nodes.length, incoming.sessions),
        ).rejects.toThrow();
        await again.discardStagedSnapshots();
        expect((await again.load()).incompleteSnapshots ?? []).toEqual([]);
        await again.close();
      });

      it('everything written survives closing and reopening', async () => {
        const store = await factory.create();
        const txns = [txn(1, 1), txn(1, 2), txn(1, 3)];
        await store.append(txns);
        await store.saveSnapshot(snapshotAt(txns.slice(0, 2)));
        await store.writeEpochs({ acceptedEpoch: 2, currentEpoch: 1 });
        await store.writeSessionSecret(new Uint8Array([7, 7, 7]));
        await store.close();
        const again = await reopen(store);
        const state = await again.load();
        expect(state.epochs).toEqual({ acceptedEpoch: 2, currentEpoch: 1 });
        expect(state.sessionSecret).toEqual(new Uint8Array([7, 7, 7]));
        expect(state.snapshot?.zxid).toBe(makeZxid(1, 2));
        expect(state.log).toEqual([txn(1, 3)]);
        await again.close();
      });
    }
  });
}
