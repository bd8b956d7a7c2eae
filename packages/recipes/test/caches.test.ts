import type { ZabClient } from '@zabkit/client';
import { startEnsemble } from '@zabkit/server';
import { describe, expect, it } from 'vitest';
import { ChildrenCache } from '../src/children-cache.js';
import { NodeCache } from '../src/node-cache.js';
import { TreeCache } from '../src/tree-cache.js';
import { sleep, text, until, useServers } from './support.js';

const { connect } = useServers(20);

/** The subtree at `root` read afresh: path -> data text. */
async function readTree(zk: ZabClient, root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (path: string) => {
    try {
      out.set(path, text((await zk.getData(path)).data)!);
      for (const child of await zk.getChildren(path))
        await walk(path === '/' ? `/${child}` : `${path}/${child}`);
    } catch {
      // deleted meanwhile
    }
  };
  await walk(root);
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

function cached(cache: TreeCache): Map<string, string> {
  return new Map([...cache.snapshot()].map(([path, node]) => [path, text(node.data)!]));
}

async function converged(cache: TreeCache, zk: ZabClient, root: string): Promise<void> {
  let expected = new Map<string, string>();
  await until(async () => {
    expected = await readTree(zk, root);
    return JSON.stringify([...cached(cache)]) === JSON.stringify([...expected]);
  });
  expect([...cached(cache)]).toEqual([...expected]);
}

for (const watchMode of ['persistentRecursive', 'oneShot'] as const) {
  describe(`caches with ${watchMode} watches`, () => {
    it('NodeCache sees create, update and delete in order', async () => {
      const [zk, writer] = await connect(2);
      const cache = new NodeCache(zk!, '/app/config', { watchMode });
      const events: string[] = [];
      cache.on('created', (node) => events.push(`created:${text(node.data)}`));
      cache.on('changed', (node, previous) =>
        events.push(`changed:${text(previous.data)}->${text(node.data)}`),
      );
      cache.on('deleted', (previous) => events.push(`deleted:${text(previous.data)}`));
      await cache.start();
      expect(cache.watchMode).toBe(watchMode);
      expect(cache.current()).toBeUndefined();
      await writer!.create('/app', '');
      await writer!.create('/app/config', 'v1');
      await until(() => events.length === 1);
      await writer!.setData('/app/config', 'v2');
      await until(() => events.length === 2);
      await writer!.delete('/app/config');
      await until(() => events.length === 3);
      await writer!.create('/app/config', 'v3');
      await until(() => events.length === 4);
      expect(events).toEqual(['created:v1', 'changed:v1->v2', 'deleted:v2', 'created:v3']);
      expect(text(cache.current()?.data)).toBe('v3');
      await cache.close();
      await writer!.setData('/app/config', 'v4');
      await sleep(30);
      expect(events.length).toBe(4);
    });

    it('ChildrenCache reports the initial load, then adds, updates and removes', async () => {
      const [zk, writer] = await connect(2);
      await writer!.create('/group', '');
      await writer!.create('/group/a', '1');
      const cache = new ChildrenCache(zk!, '/group', { watchMode });
      const events: string[] = [];
      cache.on('childAdded', (name, node) => events.push(`+${name}=${text(node.data)}`));
      cache.on('childUpdated', (name, node) => events.push(`~${name}=${text(node.data)}`));
      cache.on('childRemoved', (name) => events.push(`-${name}`));
      cache.on('initialized', () => events.push('init'));
      await cache.start();
      await writer!.create('/group/b', '2');
      await until(() => events.length === 3);
      await writer!.setData('/group/a', '1b');
      await until(() => events.length === 4);
      await writer!.create('/group/b/deep', 'ignored'); // below the children: not reported
      await writer!.delete('/group/b/deep');
      await writer!.delete('/group/b');
      await until(() => events.length === 5);
      expect(events).toEqual(['+a=1', 'init', '+b=2', '~a=1b', '-b']);
      expect([...cache.current().keys()]).toEqual(['a']);
      expect(text(cache.get('a')?.data)).toBe('1b');
      await cache.close();
    });

    it('TreeCache converges to the tree through a burst of changes and a connection loss', async () => {
      const [zk, writer] = await connect(2);
      await writer!.create('/t', 'root');
      await writer!.create('/t/x', 'x0');
      const cache = new TreeCache(zk!, '/t', { watchMode });
      const removed: string[] = [];
      cache.on('nodeRemoved', (node) => removed.push(node.path));
      await cache.start();
      expect(cache.children('/t')).toEqual(['x']);
      for (let i = 0; i < 5; i++) {
        await writer!.create(`/t/n${i}`, `n${i}`);
        await writer!.create(`/t/n${i}/c`, `c${i}`);
        await writer!.setData('/t/x', `x${i + 1}`);
      }
      await writer!.create('/t/n0/c/deeper', 'd');
      await converged(cache, writer!, '/t');
      await writer!.delete('/t/n0/c/deeper');
      await writer!.delete('/t/n0/c');
      await writer!.delete('/t/n0');
      await converged(cache, writer!, '/t');
      expect(removed).toEqual(['/t/n0/c/deeper', '/t/n0/c', '/t/n0']);

      // Changes made while the cache's client is cut off are caught up after the reconnect.
      zk!.simulateConnectionLoss();
      await writer!.delete('/t/n1/c');
      await writer!.setData('/t/n2', 'changed offline');
      await writer!.create('/t/n9', 'new offline');
      await until(() => zk!.state === 'connected');
      await converged(cache, writer!, '/t');
      await writer!.setData('/t/n9', 'after');
      await converged(cache, writer!, '/t');
      await cache.close();
    });

    it('TreeCache rebuilds on a new session after expiry (renewSession)', async () => {
      const [writer] = await connect(1);
      const [expiring] = await connect(1, { sessionTimeoutMs: 100, heartbeat: false });
      await writer!.create('/e', 'r');
      const cache = new TreeCache(expiring!, '/e', {
        watchMode,
        renewSession: async () => (await connect(1))[0]!,
      });
      await cache.start();
      await until(() => expiring!.state === 'expired');
      await writer!.create('/e/after', 'expiry');
      await converged(cache, writer!, '/e');
      await writer!.setData('/e', 'r2');
      await converged(cache, writer!, '/e');
      await cache.close();
    });
  });
}

describe('cache watch modes', () => {
  it("'auto' uses a persistent recursive watch on zabkit, and close removes it", async () => {
    const [zk] = await connect(1);
    const cache = new TreeCache(zk!, '/auto');
    await cache.start();
    expect(cache.watchMode).toBe('persistentRecursive');
    expect(zk!.hasWatch('persistentRecursive', '/auto')).toBe(true);
    await cache.close();
    expect(zk!.hasWatch('persistentRecursive', '/auto')).toBe(false);
  });

  it('oneShot close removes its data and child watches', async () => {
    const [zk, writer] = await connect(2);
    await writer!.create('/os', '');
    await writer!.create('/os/a', '');
    const cache = new TreeCache(zk!, '/os', { watchMode: 'oneShot' });
    await cache.start();
    expect(zk!.hasWatch('data', '/os/a')).toBe(true);
    expect(zk!.hasWatch('child', '/os')).toBe(true);
    await cache.close();
    for (const path of ['/os', '/os/a']) {
      expect(zk!.hasWatch('data', path)).toBe(false);
      expect(zk!.hasWatch('child', path)).toBe(false);
    }
  });
});

describe('a cache on a 3-server ensemble', () => {
  it('converges while the leader is killed', async () => {
    const ensemble = await startEnsemble({
      servers: 3,
      tickTimeMs: 50,
      peer: { maxSessionTimeoutMs: 20_000 },
    });
    try {
      await ensemble.waitForLeader();
      const zk = await ensemble.client({ sessionTimeoutMs: 4000 });
      const writer = await ensemble.client({ sessionTimeoutMs: 4000 });
      await writer.create('/ens', '');
      const cache = new ChildrenCache(zk, '/ens');
      await cache.start();
      for (let i = 0; i < 10; i++) await writer.create(`/ens/before-${i}`, `${i}`);
      const leader = await ensemble.waitForLeader();
      await ensemble.kill(leader);
      await ensemble.waitForLeader();
      for (let i = 0; i < 10; i++) {
        for (;;) {
          try {
            await writer.create(`/ens/after-${i}`, `${i}`);
            break;
          } catch (error) {
            if ((error as { code?: number }).code === -110) break; // NodeExists: a retried create that went in
            await sleep(20);
          }
        }
      }
      await writer.delete('/ens/before-0');
      await until(async () => {
        const actual = (await writer.getChildren('/ens')).sort();
        return JSON.stringify([...cache.current().keys()]) === JSON.stringify(actual);
      });
      expect([...cache.current().keys()].length).toBe(19);
      await cache.close();
      await zk.close();
      await writer.close();
    } finally {
      await ensemble.close();
    }
  });
});
