import { LocalServer, type ZabClient } from '@zabkit/client';
import { startEnsemble } from '@zabkit/server';
import { afterEach, describe, expect, it } from 'vitest';
import { LeaderLatch, LeaderSelector, Mutex, ReadWriteLock, Semaphore } from '../src/index.js';

const servers: LocalServer[] = [];
const clients: ZabClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close().catch(() => undefined);
  for (const server of servers.splice(0)) server.close();
});

function start(): LocalServer {
  const server = LocalServer.start({ tickTimeMs: 50 });
  servers.push(server);
  return server;
}

async function clientsOf(server: LocalServer, count: number, options = {}): Promise<ZabClient[]> {
  const made = await Promise.all(
    Array.from({ length: count }, () => server.client({ sessionTimeoutMs: 5000, ...options })),
  );
  clients.push(...made);
  return made;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await sleep(5);
  }
}

describe('Mutex', () => {
  it('lets one holder in at a time across sessions', async () => {
    const zks = await clientsOf(start(), 5);
    let inside = 0;
    let maxInside = 0;
    let count = 0;
    await Promise.all(
      zks.map(async (zk) => {
        const mutex = new Mutex(zk, '/locks/counter');
        for (let i = 0; i < 8; i++) {
          expect(await mutex.acquire()).toBe(true);
          inside++;
          maxInside = Math.max(maxInside, inside);
          const seen = count;
          await sleep(1);
          count = seen + 1;
          inside--;
          await mutex.release();
        }
      }),
    );
    expect(maxInside).toBe(1);
    expect(count).toBe(40);
    expect(await zks[0]!.getChildren('/locks/counter')).toEqual([]);
  });

  it('is herd-free: a release wakes only the next waiter', async () => {
    const [holder, ...waiters] = await clientsOf(start(), 4);
    const held = new Mutex(holder!, '/locks/herd');
    await held.acquire();
    const order: number[] = [];
    const waiting = waiters.map((zk, i) => {
      const mutex = new Mutex(zk, '/locks/herd');
      return (async () => {
        await mutex.acquire();
        order.push(i);
        await sleep(20);
        await mutex.release();
      })();
    });
    await until(async () => (await holder!.getChildren('/locks/herd')).length === 4);
    // Each waiter watches exactly its predecessor's node, not the directory.
    const nodes = (await holder!.getChildren('/locks/herd')).sort(
      (a, b) => Number(a.slice(-10)) - Number(b.slice(-10)),
    );
    // (exists on a node that is there leaves a data watch, as in ZooKeeper)
    for (const [i, zk] of waiters.entries()) {
      expect(zk.hasWatch('data', `/locks/herd/${nodes[i]}`), `waiter ${i}`).toBe(true);
      for (const [j, node] of nodes.entries())
        if (j !== i) expect(zk.hasWatch('data', `/locks/herd/${node}`)).toBe(false);
      expect(zk.hasWatch('child', '/locks/herd')).toBe(false);
    }
    await held.release();
    await Promise.all(waiting);
    expect(order).toEqual([0, 1, 2]);
  });

  it('is re-entrant within a holder, times out cleanly and honours AbortSignal', async () => {
    const [a, b] = await clientsOf(start(), 2);
    const mutex = new Mutex(a!, '/locks/re');
    expect(await mutex.acquire()).toBe(true);
    expect(await mutex.acquire()).toBe(true);
    await mutex.release();
    expect(mutex.isHeld).toBe(true);
    const other = new Mutex(b!, '/locks/re');
    expect(await other.acquire({ timeoutMs: 50 })).toBe(false);
    expect(await a!.getChildren('/locks/re')).toHaveLength(1);
    const controller = new AbortController();
    const aborted = other.acquire({ signal: controller.signal });
    await until(async () => (await a!.getChildren('/locks/re')).length === 2);
    controller.abort();
    await expect(aborted).rejects.toThrow(/abort/i);
    await until(async () => (await a!.getChildren('/locks/re')).length === 1);
    await mutex.release();
    expect(mutex.isHeld).toBe(false);
    expect(await other.acquire({ timeoutMs: 1000 })).toBe(true);
  });

  it('tells a holder whose session expired that it lost the lock, and lets another in', async () => {
    const server = start();
    const [silent] = await clientsOf(server, 1, { sessionTimeoutMs: 200, heartbeat: false });
    const [other] = await clientsOf(server, 1);
    const mutex = new Mutex(silent!, '/locks/expiry');
    await mutex.acquire();
    let lost = false;
    mutex.onLost(() => {
      lost = true;
    });
    const next = new Mutex(other!, '/locks/expiry');
    expect(await next.acquire({ timeoutMs: 3000 })).toBe(true);
    // The other got in only because the session is gone; the holder is told on its next contact.
    await silent!.exists('/').catch(() => undefined);
    await until(() => lost);
    expect(mutex.isHeld).toBe(false);
  });

  it('keeps mutual exclusion while the ensemble loses its leader', async () => {
    const ensemble = await startEnsemble({ servers: 3, tickTimeMs: 50 });
    try {
      const zks = await Promise.all([0, 1, 2].map(() => ensemble.client({ sessionTimeoutMs: 5000 })));
      clients.push(...zks);
      let inside = 0;
      let maxInside = 0;
      let done = 0;
      const work = zks.map(async (zk) => {
        const mutex = new Mutex(zk, '/locks/ensemble');
        while (done < 30) {
          try {
            if (!(await mutex.acquire({ timeoutMs: 5000 }))) continue;
          } catch {
            continue;
          }
          inside++;
          maxInside = Math.max(maxInside, inside);
          await sleep(2);
          inside--;
          done++;
          await mutex.release().catch(() => undefined);
        }
      });
      await sleep(30);
      await ensemble.kill((await ensemble.waitForLeader())!);
      await Promise.all(work);
      expect(maxInside).toBe(1);
    } finally {
      await ensemble.close();
    }
  }, 30_000);
});

describe('ReadWriteLock', () => {
  it('shares among readers and excludes a writer', async () => {
    const zks = await clientsOf(start(), 4);
    let readers = 0;
    let writers = 0;
    let maxReaders = 0;
    let overlap = false;
    const read = async (zk: ZabClient) => {
      const lock = new ReadWriteLock(zk, '/locks/rw').readLock;
      await lock.acquire();
      readers++;
      maxReaders = Math.max(maxReaders, readers);
      if (writers > 0) overlap = true;
      await sleep(20);
      readers--;
      await lock.release();
    };
    const write = async (zk: ZabClient) => {
      const lock = new ReadWriteLock(zk, '/locks/rw').writeLock;
      await lock.acquire();
      writers++;
      if (readers > 0 || writers > 1) overlap = true;
      await sleep(20);
      writers--;
      await lock.release();
    };
    await Promise.all([read(zks[0]!), read(zks[1]!), write(zks[2]!), read(zks[3]!)]);
    expect(overlap).toBe(false);
    expect(maxReaders).toBeGreaterThanOrEqual(2);
  });
});

describe('Semaphore', () => {
  it('never grants more leases than it has', async () => {
    const zks = await clientsOf(start(), 5);
    let out = 0;
    let maxOut = 0;
    await Promise.all(
      zks.map(async (zk) => {
        const semaphore = new Semaphore(zk, '/sem', 2);
        for (let i = 0; i < 3; i++) {
          const lease = await semaphore.acquire();
          expect(lease).toBeDefined();
          out++;
          maxOut = Math.max(maxOut, out);
          await sleep(5);
          out--;
          await lease!.close();
        }
      }),
    );
    expect(maxOut).toBe(2);
  });

  it('times out when every lease is out', async () => {
    const [a, b] = await clientsOf(start(), 2);
    const lease = await new Semaphore(a!, '/sem1', 1).acquire();
    expect(await new Semaphore(b!, '/sem1', 1).acquire({ timeoutMs: 100 })).toBeUndefined();
    await lease!.close();
    expect(await new Semaphore(b!, '/sem1', 1).acquire({ timeoutMs: 1000 })).toBeDefined();
  });
});

describe('leader election', () => {
  it('a latch elects exactly one leader and hands over when it closes', async () => {
    const zks = await clientsOf(start(), 3);
    const latches = zks.map((zk, i) => new LeaderLatch(zk, '/election', `p${i}`));
    for (const latch of latches) await latch.start();
    await until(() => latches.filter((latch) => latch.hasLeadership()).length === 1);
    const first = latches.findIndex((latch) => latch.hasLeadership());
    await latches[first]!.close();
    await until(() => latches.filter((latch) => latch.hasLeadership()).length === 1);
    expect(latches[first]!.hasLeadership()).toBe(false);
    for (const latch of latches) await latch.close();
  });

  it('a latch gives leadership up when its session expires', async () => {
    const server = start();
    const [silent] = await clientsOf(server, 1, { sessionTimeoutMs: 200, heartbeat: false });
    const [other] = await clientsOf(server, 1);
    const leader = new LeaderLatch(silent!, '/election2');
    await leader.start();
    expect(leader.hasLeadership()).toBe(true);
    const follower = new LeaderLatch(other!, '/election2');
    await follower.start();
    await follower.awaitLeadership({ timeoutMs: 3000 });
    await silent!.exists('/').catch(() => undefined);
    await until(() => !leader.hasLeadership());
    await follower.close();
  });

  it('a selector runs one leader at a time and requeues', async () => {
    const zks = await clientsOf(start(), 3);
    let leading = 0;
    let maxLeading = 0;
    const terms: number[] = [];
    const selectors = zks.map((zk, i) =>
      new LeaderSelector(zk, '/selector', {
        async takeLeadership() {
          leading++;
          maxLeading = Math.max(maxLeading, leading);
          terms.push(i);
          await sleep(10);
          leading--;
        },
      }).autoRequeue(),
    );
    for (const selector of selectors) selector.start();
    await until(() => terms.length >= 9);
    for (const selector of selectors) await selector.close();
    expect(maxLeading).toBe(1);
    expect(new Set(terms).size).toBe(3);
  });
});
