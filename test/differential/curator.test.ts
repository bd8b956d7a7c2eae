/**
 * Curator 5 (Debian's libcurator-*-java) against Apache ZooKeeper 3.8 and against zabkit side
 * by side: CuratorCache and curator-x-discovery's ServiceCache, which Curator builds on
 * persistent recursive watches (addWatch), start and report the same changes on both. Before
 * the addWatch reply carried its ErrorResponse, both looped between SUSPENDED and
 * RECONNECTED against zabkit and never initialized.
 */
import { describe, expect, it } from 'vitest';
import { curatorInstalled } from './drivers.js';
import { differences, pairForSuite } from './harness.js';
import { zookeeperInstalled } from './servers.js';

const installed = zookeeperInstalled && curatorInstalled;
if (!installed) {
  console.warn('Apache ZooKeeper or Curator 5 (libcurator-*-java, curator-x-discovery) missing: skipping');
}

describe.skipIf(!installed)('Curator 5 caches, zabkit against ZooKeeper', () => {
  const pair = pairForSuite({ clients: ['java'] });

  it('CuratorCache initializes and reports every change of its tree', async () => {
    const transcripts = await pair().run('java', async (t) => {
      await t.connect('writer', { timeoutMs: 10_000 });
      await t.do({ op: 'create', session: 'writer', path: '/cache', data: 'root' });
      await t.do({ op: 'curatorStart', session: 'c', connectString: t.connectString });
      await t.do({ op: 'curatorCache', session: 'c', path: '/cache' });
      await t.events('c', 2);
      await t.do({ op: 'create', session: 'writer', path: '/cache/a', data: '1' });
      await t.events('c', 1);
      await t.do({ op: 'setData', session: 'writer', path: '/cache/a', data: '2' });
      await t.events('c', 1);
      await t.do({ op: 'create', session: 'writer', path: '/cache/a/b', data: 'deep' });
      await t.events('c', 1);
      await t.do({ op: 'delete', session: 'writer', path: '/cache/a/b' });
      await t.events('c', 1);
      await t.do({ op: 'setData', session: 'writer', path: '/cache', data: 'changed' });
      // Long enough for a reconnect loop to show: nothing more may happen.
      await t.events('c', 1, { settleMs: 3000 });
    });
    expect(differences(transcripts), pair().serverLog('zabkit')).toEqual([]);
    // What ZooKeeper itself reported, so agreement is not agreement on nothing.
    const reported = transcripts.zookeeper
      .filter((step) => step.command.op === 'events')
      .flatMap((step) => step.answer.result as { type: string; path: string }[])
      .map((event) => `${event.type} ${event.path}`);
    expect(reported).toEqual([
      'connectionState null',
      'NODE_CREATED /cache',
      'NODE_CREATED /cache/a',
      'NODE_CHANGED /cache/a',
      'NODE_CREATED /cache/a/b',
      'NODE_DELETED /cache/a/b',
      'NODE_CHANGED /cache',
    ]);
  }, 90_000);

  it('ServiceCache sees instances register and go', async () => {
    const transcripts = await pair().run('java', async (t) => {
      await t.do({ op: 'curatorStart', session: 'watcher', connectString: t.connectString });
      await t.do({ op: 'serviceCache', session: 'watcher', path: '/services', name: 'pricing' });
      await t.events('watcher', 1);
      await t.do({ op: 'curatorStart', session: 'p1', connectString: t.connectString });
      await t.do({
        op: 'registerService',
        session: 'p1',
        path: '/services',
        name: 'pricing',
        instanceId: 'p1',
      });
      await t.events('watcher', 1);
      await t.do({ op: 'curatorStart', session: 'p2', connectString: t.connectString });
      await t.do({
        op: 'registerService',
        session: 'p2',
        path: '/services',
        name: 'pricing',
        instanceId: 'p2',
      });
      await t.events('watcher', 1);
      // p1's connection states so far (CONNECTED only, unless its connection was lost).
      await t.events('p1', 1, { settleMs: 0 });
      // Closing p1's framework ends its session: its ephemeral registration goes.
      await t.do({ op: 'close', session: 'p1' });
      await t.events('watcher', 1, { settleMs: 3000 });
      await t.events('p2', 1, { settleMs: 0 });
    });
    expect(differences(transcripts), pair().serverLog('zabkit')).toEqual([]);
    const instances = transcripts.zookeeper
      .filter((step) => step.command.op === 'events')
      .flatMap((step) => step.answer.result as { type: string; data?: string }[])
      .filter((event) => event.type === 'cacheChanged')
      .map((event) => event.data);
    expect(instances).toEqual(['p1', 'p1,p2', 'p2']);
  }, 90_000);
});
