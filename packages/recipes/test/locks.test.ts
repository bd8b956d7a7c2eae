import { ZabError } from '@zabkit/client';
import { startEnsemble } from '@zabkit/server';
import { describe, expect, it, vi } from 'vitest';
import { Mutex } from '../src/lock.js';
import { ReadWriteLock } from '../src/read-write-lock.js';
import { sleep, until, useServers } from './support.js';

const { clients, start, clientsOf } = useServers();

const bySeq = (names: string[]) => [...names].sort((a, b) => Number(a.slice(-10)) - Number(b.slice(-10)));

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

  it('is herd-free: each waiter watches only its predecessor, and a release wakes only the next', async () => {
    const [holder, ...waiters] = await clientsOf(start(), 4);
    const held = new Mutex(holder!, '/locks/herd');
    expect(await held.acquire()).toBe(true);
    const mutexes = waiters.map((zk) => new Mutex(zk, '/locks/herd'));
    const order: number[] = [];
    const pending: Promise<void>[] = [];
    // Queue the waiters one by one so their order is known.
    for (const [i, mutex] of mutexes.entries()) {
      pending.push(
        mutex.acquire().then((ok) => {
          expect(ok).toBe(true);
          order.push(i);
        }),
      );
      await until(async () => (await holder!.getChildren('/locks/herd')).length === i + 2);
    }
    const nodes = bySeq(await holder!.getChildren('/locks/herd'));
    expect(nodes[0]).toBe(held.nodePath!.split('/').pop());
    // A waiter sets its watch a moment after its node appears.
    await until(() => waiters.every((zk, i) => zk.hasWatch('data', `/locks/herd/${nodes[i]}`)));
    for (const [i, zk] of waiters.entries()) {
      for (const [j, node] of nodes.entries())
        expect(zk.hasWatch('data', `/locks/herd/${node}`), `waiter ${i} on node ${j}`).toBe(j === i);
      expect(zk.hasWatch('child', '/locks/herd')).toBe(false);
      expect(zk.hasWatch('exist', `/locks/herd/${nodes[i]}`)).toBe(false);
    }
    const listings = waiters.map((zk) => vi.spyOn(zk, 'getChildren'));
    await held.release();
    await until(() => order.length === 1);
    expect(order).toEqual([0]);
    // Only the next waiter was woken: the others neither looked again nor lost their watch.
    expect(listings[0]!).toHaveBeenCalled();
    for (const i of [1, 2]) {
      expect(listings[i]!).not.toHaveBeenCalled();
      expect(waiters[i]!.hasWatch('data', `/locks/herd/${nodes[i]}`)).toBe(true);
    }
    await mutexes[0]!.release();
    await until(() => order.length === 2);
    expect(listings[2]!).not.toHaveBeenCalled();
    await mutexes[1]!.release();
    await Promise.all(pending);
    await mutexes[2]!.release();
    expect(order).toEqual([0, 1, 2]);
    for (const zk of waiters) expect(zk.hasWatch('data', `/locks/herd/${nodes[3]}`)).toBe(false);
  });

  it('is re-entrant within one holder: the node goes at the last release', async () => {
    const [a, b] = await clientsOf(start(), 2);
    const mutex = new Mutex(a!, '/locks/re');
    expect(await mutex.acquire()).toBe(true);
    expect(await mutex.acquire()).toBe(true);
    expect(await a!.getChildren('/locks/re')).toHaveLength(1);
    await mutex.release();
    expect(mutex.isHeld).toBe(true);
    const other = new Mutex(b!, '/locks/re');
    expect(await other.acquire({ timeoutMs: 50 })).toBe(false);
    await mutex.release();
    expect(mutex.isHeld).toBe(false);
    expect(await a!.getChildren('/locks/re')).toEqual([]);
    await expect(mutex.release()).rejects.toThrow(/not holding/);
    expect(await other.acquire({ timeoutMs: 1000 })).toBe(true);
    await other.release();
  });

  it('times out with false and leaves neither a node nor a watch behind', async () => {
    const [a, b] = await clientsOf(start(), 2);
    const mutex = new Mutex(a!, '/locks/timeout');
    await mutex.acquire();
    const other = new Mutex(b!, '/locks/timeout');
    const started = Date.now();
    expect(await other.acquire({ timeoutMs: 150 })).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(await a!.getChildren('/locks/timeout')).toEqual([mutex.nodePath!.split('/').pop()]);
    expect(b!.hasWatch('data', mutex.nodePath!)).toBe(false);
    expect(other.isHeld).toBe(false);
    await mutex.release();
  });

  it('rejects on abort and leaves no node behind', async () => {
    const [a, b] = await clientsOf(start(), 2);
    const mutex = new Mutex(a!, '/locks/abort');
    await mutex.acquire();
    const other = new Mutex(b!, '/locks/abort');
    const controller = new AbortController();
    const aborted = other.acquire({ signal: controller.signal });
    await until(async () => (await a!.getChildren('/locks/abort')).length === 2);
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    expect(await a!.getChildren('/locks/abort')).toHaveLength(1);
    expect(b!.hasWatch('data', mutex.nodePath!)).toBe(false);
    // An already aborted signal makes no node at all.
    const done = new AbortController();
    done.abort();
    await expect(other.acquire({ signal: done.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(await a!.getChildren('/locks/abort')).toHaveLength(1);
    await mutex.release();
  });

  it('waits out a connection loss while queued, without a second node', async () => {
    const [a, b] = await clientsOf(start(), 2);
    const mutex = new Mutex(a!, '/locks/loss');
    await mutex.acquire();
    const other = new Mutex(b!, '/locks/loss');
    const waiting = other.acquire();
    await until(async () => (await a!.getChildren('/locks/loss')).length === 2);
    b!.simulateConnectionLoss();
    await until(() => b!.state === 'connected');
    expect(await a!.getChildren('/locks/loss')).toHaveLength(2);
    await mutex.release();
    expect(await waiting).toBe(true);
    expect(await a!.getChildren('/locks/loss')).toEqual([other.nodePath!.split('/').pop()]);
    // A holder is told of a dropped connection, and still holds once back in the same session.
    let suspended = 0;
    other.onSuspended(() => suspended++);
    b!.simulateConnectionLoss();
    expect(suspended).toBe(1);
    await until(() => b!.state === 'connected');
    expect(other.isHeld).toBe(true);
    await other.release();
    expect(await a!.getChildren('/locks/loss')).toEqual([]);
  });

  it('tells a holder whose session expired that it lost the lock, and lets another in', async () => {
    const server = start();
    const [silent] = await clientsOf(server, 1, { sessionTimeoutMs: 600, heartbeat: false });
    const [other] = await clientsOf(server, 1);
    const mutex = new Mutex(silent!, '/locks/expiry');
    expect(await mutex.acquire()).toBe(true);
    let lost = 0;
    mutex.onLost(() => lost++);
    // The silent session also waits for a lock the other holds: that wait must fail, not succeed.
    const blocker = new Mutex(other!, '/locks/expiry-2');
    await blocker.acquire();
    const doomed = new Mutex(silent!, '/locks/expiry-2').acquire();
    const next = new Mutex(other!, '/locks/expiry');
    expect(await next.acquire({ timeoutMs: 5000 })).toBe(true);
    await until(() => lost === 1);
    expect(mutex.isHeld).toBe(false);
    await expect(doomed).rejects.toSatisfy(
      (error: unknown) => error instanceof ZabError && error.is('SessionExpired'),
    );
    // Releasing a lost hold is harmless.
    await mutex.release();
    await expect(mutex.acquire()).rejects.toBeInstanceOf(ZabError);
    await next.release();
    await blocker.release();
  });

  it('keeps mutual exclusion while the ensemble loses its leader', async () => {
    const ensemble = await startEnsemble({
      servers: 3,
      tickTimeMs: 50,
      peer: { maxSessionTimeoutMs: 20_000 },
    });
    try {
      const zks = await Promise.all([0, 1, 2].map(() => ensemble.client({ sessionTimeoutMs: 5000 })));
      clients.push(...zks);
      let inside = 0;
      let maxInside = 0;
      let done = 0;
      let killed = false;
      const work = zks.map(async (zk) => {
        const mutex = new Mutex(zk, '/locks/ensemble');
        while (done < 30) {
          if (!(await mutex.acquire({ timeoutMs: 10_000 }))) continue;
          inside++;
          maxInside = Math.max(maxInside, inside);
          await sleep(2);
          inside--;
          done++;
          await mutex.release();
        }
      });
      await until(() => done >= 5);
      await ensemble.kill(await ensemble.waitForLeader());
      killed = true;
      await Promise.all(work);
      expect(killed).toBe(true);
      expect(maxInside).toBe(1);
      expect(done).toBeGreaterThanOrEqual(30);
      // Reads may lag on a follower: sync first.
      await zks[0]!.sync('/locks/ensemble');
      expect(await zks[0]!.getChildren('/locks/ensemble')).toEqual([]);
    } finally {
      for (const zk of clients.splice(0)) await zk.close().catch(() => undefined);
      await ensemble.close();
    }
  }, 30_000);
});

describe('ReadWriteLock', () => {
  it('lets readers hold together', async () => {
    const zks = await clientsOf(start(), 3);
    const locks = zks.map((zk) => new ReadWriteLock(zk, '/rw/readers').readLock());
    for (const lock of locks) expect(await lock.acquire({ timeoutMs: 1000 })).toBe(true);
    expect(locks.every((lock) => lock.isHeld)).toBe(true);
    for (const lock of locks) await lock.release();
    expect(await zks[0]!.getChildren('/rw/readers')).toEqual([]);
  });

  it('makes a writer exclusive and keeps arrival order (a reader does not overtake a writer)', async () => {
    const [r1, w, r2, w2] = await clientsOf(start(), 4);
    const read1 = new ReadWriteLock(r1!, '/rw/order').readLock();
    const write = new ReadWriteLock(w!, '/rw/order').writeLock();
    const read2 = new ReadWriteLock(r2!, '/rw/order').readLock();
    const events: string[] = [];
    await read1.acquire();
    const writing = write.acquire().then(() => events.push('write'));
    await until(async () => (await r1!.getChildren('/rw/order')).length === 2);
    const reading = read2.acquire().then(() => events.push('read2'));
    await until(async () => (await r1!.getChildren('/rw/order')).length === 3);
    const nodes = bySeq(await r1!.getChildren('/rw/order'));
    await until(() => r2!.hasWatch('data', `/rw/order/${nodes[1]}`));
    // Herd-free: the late reader watches the writer, the writer its predecessor.
    expect(r2!.hasWatch('data', `/rw/order/${nodes[1]}`)).toBe(true);
    expect(r2!.hasWatch('data', `/rw/order/${nodes[0]}`)).toBe(false);
    expect(w!.hasWatch('data', `/rw/order/${nodes[0]}`)).toBe(true);
    // A writer cannot get in while a reader holds; nor can another writer.
    expect(await new ReadWriteLock(w2!, '/rw/order').writeLock().acquire({ timeoutMs: 50 })).toBe(false);
    await sleep(30);
    expect(events).toEqual([]);
    await read1.release();
    await writing;
    await sleep(30);
    expect(events).toEqual(['write']);
    expect(read2.isHeld).toBe(false);
    await write.release();
    await reading;
    expect(events).toEqual(['write', 'read2']);
    await read2.release();
  });

  it('never lets a writer overlap anyone, under contention', async () => {
    const zks = await clientsOf(start(), 6);
    let readers = 0;
    let writers = 0;
    let maxReaders = 0;
    let overlap = false;
    await Promise.all(
      zks.map(async (zk, i) => {
        const rw = new ReadWriteLock(zk, '/rw/mix');
        for (let round = 0; round < 4; round++) {
          const writer = (i + round) % 3 === 0;
          const lock = writer ? rw.writeLock() : rw.readLock();
          expect(await lock.acquire()).toBe(true);
          if (writer) {
            writers++;
            if (readers > 0 || writers > 1) overlap = true;
          } else {
            readers++;
            maxReaders = Math.max(maxReaders, readers);
            if (writers > 0) overlap = true;
          }
          await sleep(3);
          if (writer) writers--;
          else readers--;
          await lock.release();
        }
      }),
    );
    expect(overlap).toBe(false);
    expect(maxReaders).toBeGreaterThanOrEqual(2);
  });

  it('lets the writer downgrade to a read lock', async () => {
    const [a, b] = await clientsOf(start(), 2);
    const rw = new ReadWriteLock(a!, '/rw/down');
    await rw.writeLock().acquire();
    expect(await rw.readLock().acquire({ timeoutMs: 1000 })).toBe(true);
    await rw.writeLock().release();
    expect(await new ReadWriteLock(b!, '/rw/down').readLock().acquire({ timeoutMs: 1000 })).toBe(true);
    expect(await new ReadWriteLock(b!, '/rw/down').writeLock().acquire({ timeoutMs: 50 })).toBe(false);
  });

  it('keeps writers exclusive while the ensemble loses its leader', async () => {
    const ensemble = await startEnsemble({
      servers: 3,
      tickTimeMs: 50,
      peer: { maxSessionTimeoutMs: 20_000 },
    });
    try {
      const zks = await Promise.all([0, 1, 2, 3].map(() => ensemble.client({ sessionTimeoutMs: 5000 })));
      clients.push(...zks);
      let readers = 0;
      let writers = 0;
      let overlap = false;
      let done = 0;
      const work = zks.map(async (zk, i) => {
        const rw = new ReadWriteLock(zk, '/rw/ensemble');
        while (done < 24) {
          const writer = i % 2 === 0;
          const lock = writer ? rw.writeLock() : rw.readLock();
          if (!(await lock.acquire({ timeoutMs: 10_000 }))) continue;
          if (writer) writers++;
          else readers++;
          if (writers > 1 || (writers > 0 && readers > 0)) overlap = true;
          await sleep(2);
          if (writer) writers--;
          else readers--;
          done++;
          await lock.release();
        }
      });
      await until(() => done >= 4);
      await ensemble.kill(await ensemble.waitForLeader());
      await Promise.all(work);
      expect(overlap).toBe(false);
    } finally {
      for (const zk of clients.splice(0)) await zk.close().catch(() => undefined);
      await ensemble.close();
    }
  }, 30_000);
});
