/**
 * The recipes as Node code expects them: events through Node's EventEmitter (so events.once
 * and events.on work), `lock.run(fn)`, and `await using` for holds and locks.
 */
import { on, once } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  LeaderLatch,
  LockLostError,
  LockTimeoutError,
  Mutex,
  NodeCache,
  ReadWriteLock,
  Semaphore,
  TreeCache,
} from '../src/index.js';
import { sleep, until, useServers } from './support.js';

const { start, clientsOf } = useServers();

describe('recipe events follow EventEmitter semantics', () => {
  it('events.once waits for a cache to load and events.on iterates its changes', async () => {
    const [zk] = await clientsOf(start(), 1);
    await zk!.create('/watched', 'v0');
    const cache = new NodeCache(zk!, '/watched');
    const initialized = once(cache, 'initialized');
    await cache.start();
    await initialized;
    const changes: string[] = [];
    const iterate = (async () => {
      for await (const [node] of on(cache, 'changed')) {
        changes.push(new TextDecoder().decode((node as { data: Uint8Array }).data));
        if (changes.length === 2) break;
      }
    })();
    await zk!.setData('/watched', 'v1');
    await until(() => changes.length === 1);
    await zk!.setData('/watched', 'v2');
    await iterate;
    expect(changes).toEqual(['v1', 'v2']);
    expect(cache.listenerCount('changed')).toBe(0);
    await cache.close();
  });

  it('a leader latch is an emitter: once, off, and a listener that throws does not silence the others', async () => {
    const [a, b] = await clientsOf(start(), 2);
    const first = new LeaderLatch(a!, '/election', 'a');
    const second = new LeaderLatch(b!, '/election', 'b');
    const heard: string[] = [];
    first.on('isLeader', () => {
      throw new Error('a careless listener');
    });
    first.on('isLeader', () => heard.push('a leads'));
    const leading = once(first, 'isLeader');
    await first.start();
    await leading;
    expect(heard).toEqual(['a leads']);
    await second.start();
    const secondLeads = once(second, 'isLeader');
    await first.close();
    await secondLeads;
    expect(second.hasLeadership()).toBe(true);
    await second.close();
  });

  it('rejects events.once when the emitter emits error', async () => {
    const [zk] = await clientsOf(start(), 1);
    const latch = new LeaderLatch(zk!, '/errors');
    const waiting = once(latch, 'isLeader');
    (latch as unknown as { fire(event: string, error: unknown): void }).fire('error', new Error('boom'));
    await expect(waiting).rejects.toThrow('boom');
  });
});

describe('lock.run and await using', () => {
  it('run takes the lock, runs the work, and releases it however the work ends', async () => {
    const [a, b] = await clientsOf(start(), 2);
    const mutex = new Mutex(a!, '/locks/run');
    expect(await mutex.run(async () => (await a!.getChildren('/locks/run')).length)).toBe(1);
    expect(mutex.isHeld).toBe(false);
    await expect(
      mutex.run(() => {
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
    expect(mutex.isHeld).toBe(false);
    expect(await a!.getChildren('/locks/run')).toEqual([]);
    // Exclusion holds through run: the second runner waits for the first.
    const order: string[] = [];
    const other = new Mutex(b!, '/locks/run');
    await Promise.all([
      mutex.run(async () => {
        order.push('a in');
        await sleep(30);
        order.push('a out');
      }),
      (async () => {
        await sleep(5);
        await other.run(() => void order.push('b'));
      })(),
    ]);
    expect(order).toEqual(['a in', 'a out', 'b']);
  });

  it('run rejects with LockTimeoutError when the lock is not taken in time', async () => {
    const [a, b] = await clientsOf(start(), 2);
    const holder = new Mutex(a!, '/locks/busy');
    await holder.acquire();
    let ran = false;
    const error = await new Mutex(b!, '/locks/busy')
      .run(
        () => {
          ran = true;
        },
        { timeoutMs: 50 },
      )
      .catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect((error as LockTimeoutError).name).toBe('TimeoutError');
    expect(ran).toBe(false);
    await holder.release();
  });

  it("the work's signal aborts when the connection holding the lock drops", async () => {
    const [a] = await clientsOf(start(), 1);
    const mutex = new Mutex(a!, '/locks/signal');
    const reason = await mutex.run(async (signal) => {
      const aborted = once(signal, 'abort');
      a!.simulateConnectionLoss();
      await aborted;
      return signal.reason;
    });
    expect(reason).toBeInstanceOf(LockLostError);
    expect((reason as LockLostError).why).toBe('suspended');
    await until(() => a!.state === 'connected');
    expect(await a!.getChildren('/locks/signal')).toEqual([]);
  });

  it('await using releases a hold, and a lock object, at the end of the block', async () => {
    const [a, b] = await clientsOf(start(), 2);
    {
      await using held = await new Mutex(a!, '/locks/using').hold();
      expect(held.signal.aborted).toBe(false);
      expect(await a!.getChildren('/locks/using')).toHaveLength(1);
    }
    expect(await a!.getChildren('/locks/using')).toEqual([]);
    {
      await using lock = new ReadWriteLock(b!, '/locks/rw').writeLock();
      await lock.acquire();
      await lock.acquire(); // re-entrant: both holds go at the end of the block
      expect(await b!.getChildren('/locks/rw')).toHaveLength(1);
    }
    expect(await b!.getChildren('/locks/rw')).toEqual([]);
    {
      await using lease = await new Semaphore(a!, '/sem', 2).acquire();
      expect(lease?.isOpen).toBe(true);
      expect(await a!.getChildren('/sem/leases')).toHaveLength(1);
    }
    expect(await a!.getChildren('/sem/leases')).toEqual([]);
  });
});

describe('recipes on a managed client', () => {
  it('a tree cache stays on a client that renews its own session after expiry', async () => {
    const server = start();
    const [writer] = await clientsOf(server, 1);
    const [managed] = await clientsOf(server, 1, { renewSession: true });
    await writer!.create('/m', 'r');
    const cache = new TreeCache(managed!, '/m');
    await cache.start();
    const renewed = once(managed!, 'sessionRenewed');
    // Another connection takes the session over and closes it: the session is over.
    const thief = await server.client({ sessionId: managed!.sessionId, password: managed!.sessionPassword });
    await thief.close();
    await renewed;
    await writer!.create('/m/after', 'renewal');
    await until(() => cache.get('/m/after') !== undefined);
    expect(new TextDecoder().decode(cache.get('/m/after')!.data)).toBe('renewal');
    await cache.close();
  });
});
