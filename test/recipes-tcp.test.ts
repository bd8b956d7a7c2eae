/**
 * The recipes over TCP, against a zabkit server and against Apache ZooKeeper 3.8 (Debian's
 * package; skipped with a message where it is not installed, CI installs it): the same code
 * coordinates through either.
 */
import { connectTcp, type ZabClient } from '@zabkit/client';
import {
  Barrier,
  DistributedQueue,
  LeaderLatch,
  Mutex,
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
