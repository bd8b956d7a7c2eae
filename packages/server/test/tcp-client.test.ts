/**
 * zabkit's own client over TCP: the same API as in process, through every operation the
 * wire carries, and a session that survives its server going away in a TCP ensemble.
 */
import { createServer } from 'node:net';
import { connectTcp, Ids, type WatchedEvent, type ZabClient, ZabError } from '@zabkit/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { ServerNode } from '../src/node.js';
import { startStandalone, until } from './helpers.js';

const text = (bytes: Uint8Array | null) => (bytes === null ? null : new TextDecoder().decode(bytes));

describe('the TCP client against a standalone server', () => {
  let server: ServerNode;
  let zk: ZabClient;

  beforeAll(async () => {
    server = await startStandalone();
    zk = await connectTcp(`127.0.0.1:${server.address().port}`, { sessionTimeoutMs: 4000 });
  });

  afterAll(async () => {
    await zk?.close();
    await server?.close();
  });

  it('negotiates the timeout and keeps the session alive with pings', async () => {
    expect(zk.sessionTimeoutMs).toBe(4000);
    const other = await connectTcp(`127.0.0.1:${server.address().port}`, { sessionTimeoutMs: 100_000 });
    // maxSessionTimeout is 20 ticks of 200 ms.
    expect(other.sessionTimeoutMs).toBe(4000);
    await other.create('/alive', '', { mode: 'ephemeral' });
    await new Promise((resolve) => setTimeout(resolve, 5000));
    expect(await zk.exists('/alive')).not.toBeNull();
    await other.close();
  }, 15_000);

  it('creates every kind of node with its Stat', async () => {
    expect(await zk.create('/p', 'data')).toBe('/p');
    const seq = await zk.create('/p/s-', '', { mode: 'persistentSequential' });
    expect(seq).toMatch(/^\/p\/s-\d{10}$/);
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
    const { data, stat } = await zk.getData('/p');
    expect(text(data)).toBe('data');
    expect(stat.numChildren).toBe(2);
    expect(await zk.getChildren('/p')).toEqual(['e', seq.slice(3)].sort());
    const withStat = await zk.getChildrenWithStat('/p');
    expect(withStat.stat.cversion).toBe(2);
    expect(await zk.getAllChildrenNumber('/p')).toBe(2);
    expect(await zk.getEphemerals('/p')).toEqual(['/p/e']);
  });

  it('does compare-and-set, multi, multiRead, sync and errors with ZooKeeper codes', async () => {
    await zk.create('/v', 'a');
    await zk.setData('/v', 'b', 0);
    await expect(zk.setData('/v', 'c', 0)).rejects.toSatisfy(
      (error) => error instanceof ZabError && error.is('BadVersion'),
    );
    await expect(zk.delete('/nope')).rejects.toSatisfy(
      (error) => error instanceof ZabError && error.is('NoNode'),
    );
    const results = await zk.transaction().check('/v', 1).create('/v/x', 'x').setData('/v', 'c').commit();
    expect(results).toHaveLength(3);
    await expect(zk.transaction().create('/v/y', '').check('/v', 0).commit()).rejects.toThrow();
    expect(await zk.exists('/v/y')).toBeNull();
    const read = await zk.multiRead([
      { op: 'getData', path: '/v', watch: false },
      { op: 'getChildren', path: '/v', watch: false },
      { op: 'getData', path: '/missing', watch: false },
    ]);
    expect(read.map((result) => result.op)).toEqual(['getData', 'getChildren', 'error']);
    await zk.sync('/v');
  });

  it('authenticates with digest and answers whoAmI', async () => {
    const other = await connectTcp(`127.0.0.1:${server.address().port}`);
    try {
      await other.addAuth('digest', 'bob:pw');
      expect(await other.whoAmI()).toEqual(expect.arrayContaining([{ authScheme: 'digest', user: 'bob' }]));
      await other.create('/bob', 'secret', { acl: Ids.creatorAllAcl });
      await expect(zk.getData('/bob')).rejects.toSatisfy(
        (error) => error instanceof ZabError && error.is('NoAuth'),
      );
      expect((await other.getACL('/bob')).acl[0]!.id.scheme).toBe('digest');
      // Reading the ACL takes READ or ADMIN, as in ZooKeeper 3.5 and later.
      await expect(zk.getACL('/bob')).rejects.toSatisfy(
        (error) => error instanceof ZabError && error.is('NoAuth'),
      );
    } finally {
      await other.close();
    }
  });

  it('delivers one-shot, persistent and recursive watches, and removes them', async () => {
    const events: WatchedEvent[] = [];
    await zk.create('/w', '');
    await zk.getData('/w', { watch: (event) => events.push(event) });
    await zk.addWatch('/w', (event) => events.push(event), { recursive: true });
    await zk.create('/w/child', '');
    await zk.setData('/w', 'changed');
    await zk.setData('/w/child', 'changed');
    await until(() => events.length >= 4);
    expect(events.map((event) => `${event.type}:${event.path}`)).toEqual(
      expect.arrayContaining(['NodeCreated:/w/child', 'NodeDataChanged:/w', 'NodeDataChanged:/w/child']),
    );
    await zk.checkWatches('/w', 'any');
    await zk.removeWatches('/w', 'any');
    await expect(zk.checkWatches('/w', 'any')).rejects.toSatisfy(
      (error) => error instanceof ZabError && error.is('NoWatcher'),
    );
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('the TCP client against a TCP ensemble in one process', () => {
  const nodes = new Map<number, ServerNode>();
  let configText = '';

  const start = async (id: number) => {
    const { config } = parseConfig(configText, { myid: id });
    nodes.set(id, await ServerNode.start({ config }));
  };

  beforeAll(async () => {
    const ports = await Promise.all(Array.from({ length: 6 }, () => freePort()));
    configText = [
      // Ticks of 500 ms: with 100 ms ones, syncLimit and the 2 s session cap left a loaded
      // machine too little room to elect and move a session before it expired.
      'tickTime=500',
      'initLimit=10',
      'syncLimit=5',
      'dataDir=/tmp/zabkit-tcp-ensemble',
      'clientPort=0',
      'clientPortAddress=127.0.0.1',
      ...[1, 2, 3].map((id) => `server.${id}=127.0.0.1:${ports[id * 2 - 2]}:${ports[id * 2 - 1]}`),
      '',
    ].join('\n');
    await Promise.all([1, 2, 3].map(start));
    await until(() =>
      [...nodes.values()].every((node) => ['leader', 'follower'].includes(node.introspect().mode)),
    );
  }, 30_000);

  afterAll(async () => {
    for (const node of nodes.values()) await node.close();
  });

  it('moves to another server with its session, ephemerals and watches when its server stops', async () => {
    const connectString = [...nodes.values()].map((node) => `127.0.0.1:${node.address().port}`).join(',');
    const client = await connectTcp(connectString, { sessionTimeoutMs: 10_000, shuffle: false });
    try {
      const sessionId = client.sessionId;
      await client.create('/mine', '', { mode: 'ephemeral' });
      const events: WatchedEvent[] = [];
      await client.create('/watched', '');
      await client.getData('/watched', { watch: (event) => events.push(event) });
      const states: string[] = [];
      client.onStateChange((state) => states.push(state));

      // The server holding the session (the first one, unless it was still syncing).
      const [holderId, holder] = [...nodes.entries()].find(([, node]) =>
        node.clientPort.connectionInfo().some((connection) => connection.sessionId === sessionId),
      )!;
      await holder.close();
      nodes.delete(holderId);
      await until(() => client.state === 'connected' && states.includes('disconnected'), 15_000).catch(
        (error) => {
          throw new Error(
            `${error.message}: states ${states.join(',')}; modes ${[...nodes.values()].map((n) => n.introspect().mode)}`,
          );
        },
      );
      expect(client.sessionId).toBe(sessionId);
      await until(async () => {
        try {
          await client.setData('/watched', 'x');
          return true;
        } catch {
          return false;
        }
      }, 15_000);
      // The watch was re-registered on the new server and fired there.
      await until(() => events.length === 1);
      expect(events[0]!.type).toBe('NodeDataChanged');
      expect((await client.exists('/mine'))?.ephemeralOwner).toBe(sessionId);
    } finally {
      await client.close();
    }
  }, 40_000);
});
