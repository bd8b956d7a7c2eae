/**
 * The client's root and its own sense of expiry over TCP, against a zabkit server and against
 * Apache ZooKeeper 3.8 (Debian's package; skipped with a message where it is not installed, CI
 * installs it): a chroot in the connect string and namespace views translate paths the same way
 * against both, a partitioned client reports its session lost by itself, and a wall-clock jump
 * stops none of its heartbeats.
 */
import { once } from 'node:events';
import {
  connectTcp,
  type OpResult,
  type SessionExpiredEvent,
  type SessionRenewedEvent,
  type WatchedEvent,
  type ZabClient,
} from '@zabkit/client';
import { parseConfig, ServerNode } from '@zabkit/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApacheZooKeeper, zookeeperInstalled } from './support/apache-zookeeper.js';
import { PartitionProxy } from './support/partition-proxy.js';

const text = (data: Uint8Array | null) => (data === null ? null : new TextDecoder().decode(data));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await sleep(20);
  }
}

function clientSuite(name: string, start: () => Promise<{ connectString: string; stop(): Promise<void> }>) {
  describe(`the client over TCP against ${name}`, () => {
    let server: { connectString: string; stop(): Promise<void> };
    let root: ZabClient;
    const clients: ZabClient[] = [];
    const proxies: PartitionProxy[] = [];
    const client = async (connectString: string, options: Parameters<typeof connectTcp>[1] = {}) => {
      const zk = await connectTcp(connectString, { sessionTimeoutMs: 4000, ...options });
      clients.push(zk);
      return zk;
    };

    beforeAll(async () => {
      server = await start();
      root = await client(server.connectString);
    }, 90_000);

    afterAll(async () => {
      for (const zk of clients) await zk.close().catch(() => undefined);
      for (const proxy of proxies) await proxy.close();
      await server?.stop();
    });

    it('applies a chroot from the connect string to requests, replies, events and multi results', async () => {
      await root.create('/chrooted', '');
      const zk = await client(`${server.connectString}/chrooted`);
      expect(zk.root).toBe('/chrooted');
      expect(await zk.create('/a', 'one')).toBe('/a');
      expect(text((await root.getData('/chrooted/a')).data)).toBe('one');
      expect(await zk.create('/a/s-', '', { mode: 'persistentSequential' })).toBe('/a/s-0000000000');
      expect(await zk.getChildren('/')).toEqual(['a']);

      const changed = new Promise<WatchedEvent>((resolve) => {
        void zk.getData('/a', { watch: resolve });
      });
      await zk.sync('/');
      await root.setData('/chrooted/a', 'two');
      expect(await changed).toEqual({ type: 'NodeDataChanged', path: '/a' });

      const seen: WatchedEvent[] = [];
      await zk.addWatch('/', (event) => seen.push(event), { recursive: true });
      const results = await zk
        .transaction()
        .create('/m', '')
        .create('/m/e-', '', { mode: 'ephemeralSequential' })
        .commit();
      expect(
        results
          .filter((result): result is Extract<OpResult, { op: 'create' }> => result.op === 'create')
          .map((result) => result.path),
      ).toEqual(['/m', '/m/e-0000000000']);
      await until(() => seen.length >= 2);
      expect(seen.slice(0, 2)).toEqual([
        { type: 'NodeCreated', path: '/m' },
        { type: 'NodeCreated', path: '/m/e-0000000000' },
      ]);
      expect(await zk.getEphemerals('/m')).toEqual(['/m/e-0000000000']);
      expect((await root.exists('/chrooted/m/e-0000000000'))?.ephemeralOwner).toBe(zk.sessionId);
      await expect(zk.getData('/gone')).rejects.toMatchObject({ codeName: 'NoNode', path: '/gone' });
    });

    it('offers namespace views over the same session, on top of a chroot', async () => {
      await root.create('/ns', '');
      const zk = await client(`${server.connectString}/ns`);
      const tenant = zk.namespace('/tenant');
      expect(await tenant.create('/config', 'x', { createParents: true })).toBe('/config');
      expect(await root.getChildren('/ns/tenant')).toEqual(['config']);
      expect(await tenant.create('/lock-', '', { mode: 'ephemeralSequential', protected: true })).toMatch(
        /^\/_c_[0-9a-f-]{36}-lock-\d{10}$/,
      );
      await tenant.deleteRecursive('/');
      expect(await root.exists('/ns/tenant')).toBeNull();
    });

    it('reports the session expired by itself when partitioned from the server', async () => {
      const proxy = await PartitionProxy.start(parsed(server.connectString));
      proxies.push(proxy);
      const zk = await client(proxy.connectString, { sessionTimeoutMs: 2000 });
      await zk.create('/partitioned', '', { mode: 'ephemeral' });
      const expired = once(zk, 'expired');
      const partitionedAt = Date.now();
      proxy.partition();
      const [event] = (await expired) as [SessionExpiredEvent];
      const afterMs = Date.now() - partitionedAt;
      expect(event).toEqual({ sessionId: expect.any(BigInt), detectedBy: 'client' });
      // 4/3 of the 2000 ms negotiated, from the last reply heard (a ping at most 2/3 s earlier).
      expect(afterMs).toBeGreaterThanOrEqual(2000);
      expect(afterMs).toBeLessThan(15_000);
      expect(zk.state).toBe('expired');
      // The ensemble expired it too: its ephemeral is gone.
      await until(async () => (await root.exists('/partitioned')) === null);
    }, 30_000);

    it('keeps its session through a wall-clock jump backwards on its own machine', async () => {
      // The clients (and, for zabkit, the server) in this process see the wall clock go back an
      // hour. Heartbeats measure intervals: on the wall clock none would be due for an hour,
      // and the ensemble would expire the session after its 2 s.
      const zk = await client(server.connectString, { sessionTimeoutMs: 2000 });
      await zk.create('/jumped', '', { mode: 'ephemeral' });
      let expired = false;
      let disconnects = 0;
      zk.on('expired', () => {
        expired = true;
      });
      // Its pings are answered (ZooKeeper answers each with the ping xid, -2): the link holds.
      zk.on('disconnected', () => {
        disconnects++;
      });
      const wallClock = Date.now;
      Date.now = () => wallClock() - 3_600_000;
      try {
        await sleep(5000);
      } finally {
        Date.now = wallClock;
      }
      expect(expired).toBe(false);
      expect(disconnects).toBe(0);
      expect(zk.state).toBe('connected');
      expect((await root.exists('/jumped'))?.ephemeralOwner).toBe(zk.sessionId);
      await zk.delete('/jumped');
    }, 30_000);

    it('a managed client opens a new session once the partition heals, and says so', async () => {
      const proxy = await PartitionProxy.start(parsed(server.connectString));
      proxies.push(proxy);
      const zk = await client(proxy.connectString, { sessionTimeoutMs: 2000, renewSession: true });
      const first = zk.sessionId;
      await zk.create('/managed', '', { mode: 'ephemeral' });
      const expired = once(zk, 'expired');
      proxy.partition();
      await expired;
      proxy.heal();
      const [renewed] = (await once(zk, 'sessionRenewed')) as [SessionRenewedEvent];
      expect(renewed.previousSessionId).toBe(first);
      expect(renewed.sessionId).toBe(zk.sessionId);
      expect(zk.state).toBe('connected');
      await until(async () => (await root.exists('/managed')) === null);
      await zk.create('/managed', '', { mode: 'ephemeral' });
      expect((await root.exists('/managed'))?.ephemeralOwner).toBe(zk.sessionId);
    }, 30_000);
  });
}

function parsed(connectString: string): { host: string; port: number } {
  const [host, port] = connectString.split(':') as [string, string];
  return { host, port: Number(port) };
}

clientSuite('zabkit', async () => {
  const { config } = parseConfig(
    'tickTime=200\ndataDir=/tmp/zabkit-client-tcp\nclientPort=0\nclientPortAddress=127.0.0.1\n',
  );
  const node = await ServerNode.start({ config });
  return { connectString: `127.0.0.1:${node.address().port}`, stop: () => node.close() };
});

if (!zookeeperInstalled)
  console.warn('Apache ZooKeeper is not installed (apt-get install zookeeper): skipping its client suite');
if (zookeeperInstalled) clientSuite('Apache ZooKeeper 3.8', () => startApacheZooKeeper());
