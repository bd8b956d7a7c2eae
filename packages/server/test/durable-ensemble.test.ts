/**
 * An in-process ensemble on LevelDB: a follower that was down while the leader took
 * snapshots and purged its log comes back through a SNAP sync into its own store, and
 * everything survives a restart of every server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZabError } from '@zabkit/client';
import type { StorageAction } from '@zabkit/core';
import { LevelStorage } from '@zabkit/storage-level';
import { afterAll, describe, expect, it } from 'vitest';
import { startEnsemble } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'zabkit-durable-ensemble-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function retrying<T>(operation: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      return await operation();
    } catch (error) {
      if (Date.now() - started > timeoutMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe('an ensemble on LevelDB', () => {
  it('brings a lagging follower back with SNAP into its store, and survives a full restart', async () => {
    const seen = new Map<number, StorageAction['kind'][]>();
    const ensemble = await startEnsemble({
      servers: 3,
      tickTimeMs: 50,
      peer: { snapCount: 20, maxSessionTimeoutMs: 20_000 },
      storage: async (id) => {
        const store = await LevelStorage.open(join(dir, `server-${id}`), { retainSnapshots: 1 });
        const apply = store.apply.bind(store);
        store.apply = async (actions) => {
          const kinds = seen.get(id) ?? [];
          for (const action of actions) kinds.push(action.kind);
          seen.set(id, kinds);
          await apply(actions);
        };
        return store;
      },
    });
    try {
      const leader = await ensemble.waitForLeader();
      const lagging = [1, 2, 3].find((id) => id !== leader)!;
      const zk = await ensemble.client({ servers: [leader], sessionTimeoutMs: 5000 });
      await zk.create('/before', 'x');
      await ensemble.kill(lagging);
      // Many snapshots' worth of writes: the leader's log no longer reaches back to the lagging one.
      // A create retried after a lost reply may find its own node: that is the node made.
      const create = (path: string, data: string) =>
        zk.create(path, data).catch((error: unknown) => {
          if (!(error instanceof ZabError && error.is('NodeExists'))) throw error;
          return path;
        });
      for (let i = 0; i < 120; i++) await retrying(() => create(`/n${i}`, String(i)));
      seen.set(lagging, []);
      await ensemble.restart(lagging);
      // A restarted server serves only once synced, which a loaded machine may take longer than
      // one connect attempt to see: connect again until it does.
      const reader = await retrying(() => ensemble.client({ servers: [lagging] }));
      await retrying(async () => {
        await reader.sync('/');
        expect(new TextDecoder().decode((await reader.getData('/n119')).data)).toBe('119');
      });
      // The SNAP was staged beside the old state and committed in one step.
      expect(seen.get(lagging)).toEqual(expect.arrayContaining(['stageBegin', 'stageChunk', 'stageCommit']));
      expect(seen.get(lagging)).not.toContain('reset');
      await reader.close();
      await zk.close();

      // Every server down, then up again: all of it comes back from disk.
      for (const id of [1, 2, 3]) await ensemble.kill(id);
      for (const id of [1, 2, 3]) await ensemble.restart(id);
      await ensemble.waitForLeader();
      for (const id of [1, 2, 3]) {
        const client = await retrying(() => ensemble.client({ servers: [id] }));
        await retrying(async () => {
          await client.sync('/');
          expect((await client.getChildren('/')).filter((name) => name.startsWith('n'))).toHaveLength(120);
        });
        await client.close();
      }
    } finally {
      await ensemble.close();
    }
  }, 60_000);
});
