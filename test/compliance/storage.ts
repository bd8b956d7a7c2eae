/**
 * The storage compliance suite: every PeerStorage adapter runs it, as the Level family runs
 * abstract-level's shared tests. An adapter's test file hands it a factory and nothing else.
 */

import {
  DataTree,
  Ids,
  makeZxid,
  type PeerStorage,
  type StorageAction,
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
    sessionId: 0x1234n,
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
    if (action.kind !== 'sessionSecret') throw new Error(`not needed here: ${action.kind}`);
    await store.writeSessionSecret(action.secret);
  }
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
          sessionId: -7n,
          cxid: -1,
          body: { kind: 'createSession', timeoutMs: 3000 },
        },
        {
          zxid: makeZxid(1, 2),
          timeMs: 6,
          sessionId: -7n,
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
          sessionId: -7n,
          cxid: 5,
          body: { kind: 'setData', path: '/ü', data: new Uint8Array(0), version: 1 },
        },
        {
          zxid: makeZxid(1, 4),
          timeMs: 8,
          sessionId: -7n,
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
          sessionId: -7n,
          cxid: -1,
          body: { kind: 'closeSession', ephemeralPaths: ['/ü'] },
        },
        {
          zxid: makeZxid(1, 6),
          timeMs: 9,
          sessionId: 0n,
          cxid: 7,
          body: { kind: 'setACL', path: '/', acl: Ids.readAclUnsafe, aversion: 1 },
        },
      ];
      await store.append(kinds);
      expect(await store.readLog(zeroZxid)).toEqual(kinds);
      await store.close();
    });

    if (factory.reopen !== undefined) {
      const reopen = factory.reopen;
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
