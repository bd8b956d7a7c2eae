import { LocalServer, type ZabClient } from '@zabkit/client';
import { startEnsemble } from '@zabkit/server';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Barrier,
  ChildrenCache,
  DistributedPriorityQueue,
  DistributedQueue,
  DoubleBarrier,
  GroupMember,
  NodeCache,
  OutcomeUnknownError,
  ServiceDiscovery,
  SharedCounter,
  TreeCache,
} from '../src/index.js';

const servers: LocalServer[] = [];
const clients: ZabClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close().catch(() => undefined);
  for (const server of servers.splice(0)) server.close();
});

async function clientsOf(count: number, options = {}): Promise<ZabClient[]> {
  if (servers.length === 0) servers.push(LocalServer.start({ tickTimeMs: 50 }));
  const made = await Promise.all(
    Array.from({ length: count }, () => servers[0]!.client({ sessionTimeoutMs: 5000, ...options })),
  );
  clients.push(...made);
  return made;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? undefined : new TextDecoder().decode(bytes);

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await sleep(5);
  }
}

describe('barriers', () => {
  it('a barrier holds waiters until it is removed', async () => {
    const [a, b] = await clientsOf(2);
    const barrier = new Barrier(a!, '/barriers/b');
    await barrier.setBarrier();
    expect(await new Barrier(b!, '/barriers/b').waitOnBarrier({ timeoutMs: 50 })).toBe(false);
    let passed = false;
    const waiting = new Barrier(b!, '/barriers/b').waitOnBarrier().then((result) => {
      passed = result;
    });
    await sleep(30);
    expect(passed).toBe(false);
    await barrier.removeBarrier();
    await waiting;
    expect(passed).toBe(true);
  });

  it('a double barrier lets nobody in before all entered, nor out before all left', async () => {
    const zks = await clientsOf(3);
    const log: string[] = [];
    await Promise.all(
      zks.map(async (zk, i) => {
        const barrier = new DoubleBarrier(zk, '/barriers/double', 3);
        await sleep(i * 20);
        log.push(`arrive ${i}`);
        expect(await barrier.enter({ timeoutMs: 5000 })).toBe(true);
        log.push(`in ${i}`);
        await sleep((2 - i) * 20);
        log.push(`leaving ${i}`);
        expect(await barrier.leave({ timeoutMs: 5000 })).toBe(true);
        log.push(`out ${i}`);
      }),
    );
    const lastArrival = Math.max(...[0, 1, 2].map((i) => log.indexOf(`arrive ${i}`)));
    const firstIn = Math.min(...[0, 1, 2].map((i) => log.indexOf(`in ${i}`)));
    expect(firstIn).toBeGreaterThan(lastArrival);
    const lastLeaving = Math.max(...[0, 1, 2].map((i) => log.indexOf(`leaving ${i}`)));
    const firstOut = Math.min(...[0, 1, 2].map((i) => log.indexOf(`out ${i}`)));
    expect(firstOut).toBeGreaterThan(lastLeaving);
  });

  it('a double barrier entry times out when too few come, leaving nothing behind', async () => {
    const [a] = await clientsOf(1);
    expect(await new DoubleBarrier(a!, '/barriers/lonely', 2).enter({ timeoutMs: 50 })).toBe(false);
    expect(await a!.getChildren('/barriers/lonely')).toEqual([]);
  });
});

describe('queues', () => {
  it('each item goes to exactly one consumer, in order for one producer', async () => {
    const [producer, ...consumers] = await clientsOf(4);
    const queue = new DistributedQueue(producer!, '/queue');
    for (let i = 0; i < 30; i++) await queue.put(`item ${i}`);
    expect(await queue.size()).toBe(30);
    const taken: string[][] = consumers.map(() => []);
    await Promise.all(
      consumers.map(async (zk, c) => {
        const mine = new DistributedQueue(zk, '/queue');
        for (;;) {
          const item = await mine.take({ timeoutMs: 50 });
          if (item === undefined) return;
          taken[c]!.push(text(item)!);
        }
      }),
    );
    const all = taken.flat();
    expect(all.sort()).toEqual(Array.from({ length: 30 }, (_v, i) => `item ${i}`).sort());
    for (const mine of taken) {
      const numbers = mine.map((item) => Number(item.split(' ')[1]));
      expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    }
  });

  it('take waits for a put', async () => {
    const [a, b] = await clientsOf(2);
    const taking = new DistributedQueue(a!, '/queue2').take();
    await sleep(20);
    await new DistributedQueue(b!, '/queue2').put('late');
    expect(text(await taking)).toBe('late');
  });

  it('a priority queue hands out lower priorities first, then by arrival', async () => {
    const [a] = await clientsOf(1);
    const queue = new DistributedPriorityQueue(a!, '/pq');
    await queue.putWithPriority('low-1', 5);
    await queue.putWithPriority('high', -3);
    await queue.putWithPriority('low-2', 5);
    await queue.putWithPriority('mid', 0);
    const order: (string | undefined)[] = [];
    for (let i = 0; i < 4; i++) order.push(text(await queue.take()));
    expect(order).toEqual(['high', 'mid', 'low-1', 'low-2']);
  });

  it('consumes every acknowledged put exactly once while the ensemble loses its leader', async () => {
    const ensemble = await startEnsemble({ servers: 3, tickTimeMs: 50 });
    try {
      const [producer, consumer] = await Promise.all([ensemble.client(), ensemble.client()]);
      clients.push(producer!, consumer!);
      const acknowledged: string[] = [];
      const taken: string[] = [];
      /** Takes whose delete lost its reply: the queue says so instead of guessing. */
      const uncertain: string[] = [];
      let producing = true;
      const produce = (async () => {
        for (let i = 0; i < 60; i++) {
          try {
            await new DistributedQueue(producer!, '/eq').put(`e${i}`);
            acknowledged.push(`e${i}`);
          } catch {
            await sleep(10);
          }
        }
        producing = false;
      })();
      const consume = (async () => {
        const queue = new DistributedQueue(consumer!, '/eq');
        while (producing || (await queue.size().catch(() => 1)) > 0) {
          try {
            const item = await queue.take({ timeoutMs: 100 });
            if (item !== undefined) taken.push(text(item)!);
          } catch (error) {
            if (error instanceof OutcomeUnknownError) uncertain.push(text(error.data)!);
            await sleep(10);
          }
        }
      })();
      await sleep(20);
      await ensemble.kill((await ensemble.waitForLeader())!);
      await Promise.all([produce, consume]);
      expect(new Set(taken).size).toBe(taken.length);
      for (const item of acknowledged) expect([...taken, ...uncertain]).toContain(item);
    } finally {
      await ensemble.close();
    }
  }, 30_000);
});

describe('SharedCounter', () => {
  it('concurrent increments are never lost', async () => {
    const zks = await clientsOf(4);
    await Promise.all(
      zks.map(async (zk) => {
        const counter = new SharedCounter(zk, '/counters/c');
        for (let i = 0; i < 10; i++) await counter.increment();
      }),
    );
    expect((await new SharedCounter(zks[0]!, '/counters/c').get()).value).toBe(40n);
  });

  it('trySet fails when someone changed the value since it was read', async () => {
    const [a, b] = await clientsOf(2);
    const counter = new SharedCounter(a!, '/counters/d', 10n);
    const read = await counter.get();
    await new SharedCounter(b!, '/counters/d').set(11n);
    expect(await counter.trySet(read, 12n)).toBe(false);
    expect(await counter.trySet(await counter.get(), 12n)).toBe(true);
    expect((await counter.get()).value).toBe(12n);
  });
});

describe('caches', () => {
  for (const watchMode of ['auto', 'oneShot'] as const) {
    it(`a tree cache follows creates, updates and deletes (${watchMode} watches) and matches the tree`, async () => {
      const [writer, reader] = await clientsOf(2);
      await writer!.create('/tree', 'root');
      const cache = new TreeCache(reader!, '/tree', { watchMode });
      const events: string[] = [];
      cache.on('nodeAdded', (path) => events.push(`+${path}`));
      cache.on('nodeUpdated', (path) => events.push(`~${path}`));
      cache.on('nodeRemoved', (path) => events.push(`-${path}`));
      await cache.start();
      await writer!.create('/tree/a', '1');
      await writer!.create('/tree/a/b', '2');
      await writer!.setData('/tree/a', '3');
      await writer!.create('/tree/c', '4');
      await until(() => cache.get('/tree/a/b') !== undefined);
      await writer!.delete('/tree/a/b');
      await until(() => cache.get('/tree/a/b') === undefined && cache.get('/tree/c') !== undefined);
      await until(() => text(cache.get('/tree/a')?.data) === '3');
      expect([...cache.entries().keys()].sort()).toEqual(['/tree', '/tree/a', '/tree/c']);
      expect(events).toContain('+/tree/a/b');
      expect(events).toContain('-/tree/a/b');
      // After a lost connection and changes made meanwhile, it catches up.
      reader!.simulateConnectionLoss();
      await writer!.delete('/tree/c');
      await writer!.create('/tree/d', '5');
      await until(() => reader!.state === 'connected');
      await until(() => cache.get('/tree/c') === undefined && cache.get('/tree/d') !== undefined);
      await cache.close();
    });
  }

  it('a node cache and a children cache see their own scope', async () => {
    const [writer, reader] = await clientsOf(2);
    const node = new NodeCache(reader!, '/watched');
    await node.start();
    expect(node.current()).toBeUndefined();
    await writer!.create('/watched', 'v1');
    await until(() => text(node.current()?.data) === 'v1');
    await writer!.setData('/watched', 'v2');
    await until(() => text(node.current()?.data) === 'v2');
    const children = new ChildrenCache(reader!, '/watched');
    await children.start();
    await writer!.create('/watched/x', 'x');
    await writer!.create('/watched/x/deep', 'ignored');
    await until(() => children.currentChildren().has('x'));
    expect([...children.currentChildren().keys()]).toEqual(['x']);
    await writer!.delete('/watched/x/deep');
    await writer!.delete('/watched/x');
    await until(() => children.currentChildren().size === 0);
    await node.close();
    await children.close();
  });
});

describe('membership and discovery', () => {
  it('members come and go with their sessions', async () => {
    const [a, b] = await clientsOf(2);
    const first = new GroupMember(a!, '/group', 'a', 'payload-a');
    await first.start();
    const second = new GroupMember(b!, '/group', 'b', 'payload-b');
    await second.start();
    await until(() => first.currentMembers().size === 2);
    expect(text(first.currentMembers().get('b'))).toBe('payload-b');
    await b!.close();
    await until(() => first.currentMembers().size === 1);
    await first.close();
  });

  it('discovery finds registered instances and a provider balances over the live ones', async () => {
    const [registry, one, two] = await clientsOf(3);
    await new ServiceDiscovery(one!, '/services').registerService({
      name: 'api',
      id: 'one',
      address: '10.0.0.1',
      port: 80,
    });
    await new ServiceDiscovery(two!, '/services').registerService({
      name: 'api',
      id: 'two',
      address: '10.0.0.2',
      port: 80,
    });
    const discovery = new ServiceDiscovery(registry!, '/services');
    expect(await discovery.queryForNames()).toEqual(['api']);
    expect((await discovery.queryForInstances('api')).map((instance) => instance.id).sort()).toEqual([
      'one',
      'two',
    ]);
    const provider = discovery.provider('api');
    await provider.start();
    const picks = Array.from({ length: 4 }, () => provider.getInstance()!.id);
    expect(picks).toEqual(['one', 'two', 'one', 'two']);
    await two!.close();
    await until(() => provider.getAllInstances().length === 1);
    expect(provider.getInstance()!.id).toBe('one');
    await provider.close();
  });
});
