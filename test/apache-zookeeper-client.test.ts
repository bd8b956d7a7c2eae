/**
 * zabkit's TCP client against Apache ZooKeeper 3.8 (Debian's package): the same API works
 * against the original, so recipes and applications can move between the two.
 */
import { connectTcp, Ids, type WatchedEvent, type ZabClient, ZabError } from '@zabkit/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApacheZooKeeper,
  startApacheZooKeeper,
  zookeeperInstalled,
} from './support/apache-zookeeper.js';
import { until } from './support/process-ensemble.js';

if (!zookeeperInstalled)
  console.warn('Apache ZooKeeper is not installed (apt-get install zookeeper): skipping');

describe.skipIf(!zookeeperInstalled)('the zabkit client against Apache ZooKeeper 3.8', () => {
  let zookeeper: ApacheZooKeeper;
  let zk: ZabClient;

  beforeAll(async () => {
    zookeeper = await startApacheZooKeeper();
    zk = await connectTcp(zookeeper.connectString, { sessionTimeoutMs: 4000 });
  }, 90_000);

  afterAll(async () => {
    await zk?.close().catch(() => undefined);
    await zookeeper?.stop();
  });

  it('creates every kind of node and reads it back with its Stat', async () => {
    await zk.create('/p', 'data');
    expect(new TextDecoder().decode((await zk.getData('/p')).data)).toBe('data');
    expect(await zk.create('/p/s-', '', { mode: 'persistentSequential' })).toMatch(/^\/p\/s-\d{10}$/);
    await zk.create('/p/e', '', { mode: 'ephemeral' });
    expect((await zk.exists('/p/e'))?.ephemeralOwner).toBe(zk.sessionId);
    await zk.create('/c', '', { mode: 'container' });
    // Clients see owner 0 for containers and TTL nodes (ZooKeeper's copyStat).
    expect((await zk.exists('/c'))?.ephemeralOwner).toBe(0n);
    await zk.create('/t', '', { mode: 'persistentWithTtl', ttlMs: 60_000 });
    expect((await zk.exists('/t'))?.ephemeralOwner).toBe(0n);
    // cversion as clients see it counts deletions too.
    await zk.create('/t/gone', '');
    await zk.delete('/t/gone');
    expect((await zk.exists('/t'))?.cversion).toBe(2);
    expect((await zk.getChildrenWithStat('/p')).stat.numChildren).toBe(2);
    expect(await zk.getAllChildrenNumber('/p')).toBe(2);
    expect(await zk.getEphemerals('/p')).toEqual(['/p/e']);
  });

  it('does versioned writes, multi, multiRead and sync with ZooKeeper error codes', async () => {
    await zk.create('/v', 'a');
    await zk.setData('/v', 'b', 0);
    await expect(zk.setData('/v', 'c', 0)).rejects.toSatisfy(
      (error) => error instanceof ZabError && error.is('BadVersion'),
    );
    await zk.transaction().check('/v', 1).create('/v/x', 'x').setData('/v', 'c').commit();
    await expect(zk.transaction().create('/v/y', '').check('/v', 0).commit()).rejects.toThrow();
    expect(await zk.exists('/v/y')).toBeNull();
    const read = await zk.multiRead([
      { op: 'getData', path: '/v', watch: false },
      { op: 'getChildren', path: '/v', watch: false },
    ]);
    expect(read.map((result) => result.op)).toEqual(['getData', 'getChildren']);
    await zk.sync('/v');
  });

  it('authenticates with digest and enforces ACLs', async () => {
    const other = await connectTcp(zookeeper.connectString);
    try {
      await other.addAuth('digest', 'bob:pw');
      await other.create('/bob', 'secret', { acl: Ids.creatorAllAcl });
      await expect(zk.getData('/bob')).rejects.toSatisfy(
        (error) => error instanceof ZabError && error.is('NoAuth'),
      );
      expect((await other.whoAmI()).some((info) => info.authScheme === 'digest')).toBe(true);
    } finally {
      await other.close();
    }
  });

  it('delivers one-shot and persistent recursive watches', async () => {
    const events: WatchedEvent[] = [];
    await zk.create('/w', '');
    await zk.getData('/w', { watch: (event) => events.push(event) });
    await zk.addWatch('/w', (event) => events.push(event), { recursive: true });
    await zk.create('/w/child', '');
    await zk.setData('/w', 'changed');
    await until(async () => (events.length >= 3 ? true : undefined));
    expect(events.map((event) => `${event.type}:${event.path}`)).toEqual(
      expect.arrayContaining(['NodeCreated:/w/child', 'NodeDataChanged:/w']),
    );
  });

  it('ephemerals go when the session closes', async () => {
    const other = await connectTcp(zookeeper.connectString);
    await other.create('/gone', '', { mode: 'ephemeral' });
    await other.close();
    expect(await zk.exists('/gone')).toBeNull();
  });
});
