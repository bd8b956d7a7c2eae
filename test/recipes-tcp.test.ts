/**
 * The recipes over TCP, against a zabkit server and against Apache ZooKeeper 3.8 (Debian's
 * package; skipped with a message where it is not installed, CI installs it): the same code
 * coordinates through either.
 */
import { connectTcp, type ZabClient } from '@zabkit/client';
import {
  Barrier,
  ChildrenCache,
  DistributedPriorityQueue,
  DistributedQueue,
  DoubleBarrier,
  GroupMember,
  LeaderLatch,
  LeaderSelector,
  Mutex,
  NodeCache,
  ReadWriteLock,
  Semaphore,
  ServiceDiscovery,
  SharedCounter,
  TreeCache,
} from '@zabkit/recipes';
import { parseConfig, ServerNode } from '@zabkit/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApacheZooKeeper,
  startApacheZooKeeper,
  zookeeperInstalled,
} from './support/apache-zookeeper.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await sleep(5);
  }
}

function recipeSuite(name: string, start: () => Promise<{ connectString: string; stop(): Promise<void> }>) {
  describe(`recipes over TCP against ${name}`, () => {
    let server: { connectString: string; stop(): Promise<void> };
    const clients: ZabClient[] = [];
    const client = async () => {
      const zk = await connectTcp(server.connectString, { sessionTimeoutMs: 4000 });
      clients.push(zk);
      return zk;
    };

    beforeAll(async () => {
      server = await start();
    }, 90_000);

    afterAll(async () => {
      for (const zk of clients) await zk.close().catch(() => undefined);
      await server?.stop();
    });

    it('mutex: one holder at a time', async () => {
      const zks = await Promise.all([client(), client(), client()]);
      let inside = 0;
      let maxInside = 0;
      await Promise.all(
        zks.map(async (zk) => {
          const mutex = new Mutex(zk, '/tcp/lock');
          for (let i = 0; i < 5; i++) {
            await mutex.acquire();
            inside++;
            maxInside = Math.max(maxInside, inside);
            await sleep(2);
            inside--;
            await mutex.release();
          }
        }),
      );
      expect(maxInside).toBe(1);
    });

    it('leader latch: one leader, handed over on close', async () => {
      const latches = await Promise.all(
        [client(), client()].map(async (zk, i) => new LeaderLatch(await zk, '/tcp/leader', `p${i}`)),
      );
      for (const latch of latches) await latch.start();
      await until(() => latches.filter((latch) => latch.hasLeadership()).length === 1);
      const leader = latches.find((latch) => latch.hasLeadership())!;
      await leader.close();
      await until(() => latches.some((latch) => latch !== leader && latch.hasLeadership()));
      for (const latch of latches) await latch.close();
    });

    it('queue, barrier and counter', async () => {
      const [a, b] = await Promise.all([client(), client()]);
      const queue = new DistributedQueue(a, '/tcp/queue');
      await queue.put('one');
      await queue.put('two');
      const other = new DistributedQueue(b, '/tcp/queue');
      expect(new TextDecoder().decode(await other.take())).toBe('one');
      expect(new TextDecoder().decode(await other.take())).toBe('two');
      const barrier = new Barrier(a, '/tcp/barrier');
      await barrier.setBarrier();
      const waiting = new Barrier(b, '/tcp/barrier').waitOnBarrier({ timeoutMs: 5000 });
      await barrier.removeBarrier();
      expect(await waiting).toBe(true);
      await Promise.all(
        [a, b].map(async (zk) => {
          const counter = new SharedCounter(zk, '/tcp/counter');
          for (let i = 0; i < 5; i++) await counter.increment();
        }),
      );
      expect(await new SharedCounter(a, '/tcp/counter').get()).toBe(10);
    });

    it('read/write lock and semaphore', async () => {
      const [a, b, c] = await Promise.all([client(), client(), client()]);
      const read1 = new ReadWriteLock(a, '/tcp/rw').readLock();
      const read2 = new ReadWriteLock(b, '/tcp/rw').readLock();
      expect(await read1.acquire()).toBe(true);
      expect(await read2.acquire({ timeoutMs: 2000 })).toBe(true);
      const write = new ReadWriteLock(c, '/tcp/rw').writeLock();
      expect(await write.acquire({ timeoutMs: 100 })).toBe(false);
      await read1.release();
      await read2.release();
      expect(await write.acquire({ timeoutMs: 2000 })).toBe(true);
      await write.release();
      const lease = await new Semaphore(a, '/tcp/sem', 1).acquire();
      expect(await new Semaphore(b, '/tcp/sem', 1).acquire({ timeoutMs: 100 })).toBeUndefined();
      await lease!.close();
      expect(await new Semaphore(b, '/tcp/sem', 1).acquire({ timeoutMs: 2000 })).toBeDefined();
    });

    it('leader selector and double barrier', async () => {
      const [a, b, c] = await Promise.all([client(), client(), client()]);
      let leading = 0;
      let maxLeading = 0;
      let terms = 0;
      const selectors = [a, b].map(
        (zk) =>
          new LeaderSelector(zk, '/tcp/selector', {
            async takeLeadership() {
              leading++;
              maxLeading = Math.max(maxLeading, leading);
              terms++;
              await sleep(5);
              leading--;
            },
          }),
      );
      for (const selector of selectors) selector.autoRequeue().start();
      await until(() => terms >= 4);
      for (const selector of selectors) await selector.close();
      expect(maxLeading).toBe(1);
      const entered = await Promise.all(
        [a, b, c].map((zk) => new DoubleBarrier(zk, '/tcp/double', 3).enter({ timeoutMs: 5000 })),
      );
      expect(entered).toEqual([true, true, true]);
    });

    it('priority queue, group membership, node and children caches', async () => {
      const [a, b] = await Promise.all([client(), client()]);
      const queue = new DistributedPriorityQueue(a, '/tcp/pq');
      await queue.put('low', 9);
      await queue.put('high', 1);
      expect(new TextDecoder().decode(await queue.take())).toBe('high');
      const member = new GroupMember(a, '/tcp/group', 'm1', 'payload');
      await member.start();
      expect([...(await new GroupMember(b, '/tcp/group', 'm2').members()).keys()]).toContain('m1');
      await member.close();
      const node = new NodeCache(b, '/tcp/watched');
      await node.start();
      await a.create('/tcp/watched', 'v1');
      await until(() => node.current() !== undefined);
      const children = new ChildrenCache(b, '/tcp/watched');
      await children.start();
      await a.create('/tcp/watched/kid', 'k');
      await until(() => children.get('kid') !== undefined);
      await node.close();
      await children.close();
    });

    it('tree cache and service discovery', async () => {
      const [a, b] = await Promise.all([client(), client()]);
      const cache = new TreeCache(b, '/tcp/tree');
      await cache.start();
      await a.create('/tcp/tree', 'root').catch(() => undefined);
      await a.create('/tcp/tree/x', 'x');
      await until(() => cache.get('/tcp/tree/x') !== undefined);
      await a.delete('/tcp/tree/x');
      await until(() => cache.get('/tcp/tree/x') === undefined);
      await cache.close();
      await new ServiceDiscovery(a, '/tcp/services').registerService({
        name: 'web',
        id: 'w1',
        address: 'h',
        port: 1,
      });
      const provider = await new ServiceDiscovery(b, '/tcp/services').serviceProvider('web');
      expect(provider.getInstance()?.id).toBe('w1');
      await provider.close();
    });
  });
}

recipeSuite('zabkit', async () => {
  const { config } = parseConfig(
    'tickTime=200\ndataDir=/tmp/zabkit-recipes-tcp\nclientPort=0\nclientPortAddress=127.0.0.1\n',
  );
  const node = await ServerNode.start({ config });
  return { connectString: `127.0.0.1:${node.address().port}`, stop: () => node.close() };
});

if (!zookeeperInstalled)
  console.warn('Apache ZooKeeper is not installed (apt-get install zookeeper): skipping its recipe suite');
if (zookeeperInstalled)
  recipeSuite('Apache ZooKeeper 3.8', async (): Promise<ApacheZooKeeper> => startApacheZooKeeper());
