import { ZabError } from '@zabkit/client';
import { startEnsemble } from '@zabkit/server';
import { describe, expect, it } from 'vitest';
import { Semaphore } from '../src/semaphore.js';
import { sleep, until, useServers } from './support.js';

const { clients, start, clientsOf } = useServers();

describe('Semaphore', () => {
  it('never grants more leases than it has, and grants all it has', async () => {
    const zks = await clientsOf(start(), 5);
    let out = 0;
    let maxOut = 0;
    let granted = 0;
    await Promise.all(
      zks.map(async (zk) => {
        const semaphore = new Semaphore(zk, '/sem/max', 2);
        for (let i = 0; i < 4; i++) {
          const lease = await semaphore.acquire();
          expect(lease).toBeDefined();
          out++;
          granted++;
          maxOut = Math.max(maxOut, out);
          await sleep(5);
          out--;
          await lease!.close();
        }
      }),
    );
    expect(maxOut).toBe(2);
    expect(granted).toBe(20);
    expect(await zks[0]!.getChildren('/sem/max/leases')).toEqual([]);
    expect(await zks[0]!.getChildren('/sem/max/lock')).toEqual([]);
  });

  it('lets a waiter in when a lease is given back', async () => {
    const [a, b] = await clientsOf(start(), 2);
    const mine = new Semaphore(a!, '/sem/wait', 2);
    const first = await mine.acquire();
    const second = await mine.acquire();
    let got = false;
    const waiting = new Semaphore(b!, '/sem/wait', 2).acquire().then((lease) => {
      got = true;
      return lease;
    });
    await until(async () => (await a!.getChildren('/sem/wait/leases')).length === 3);
    // The one waiter watches the leases; the guard mutex keeps any other waiter off them.
    expect(b!.hasWatch('child', '/sem/wait/leases')).toBe(true);
    await sleep(30);
    expect(got).toBe(false);
    await first!.close();
    const lease = await waiting;
    expect(lease?.count).toBe(1);
    expect(b!.hasWatch('child', '/sem/wait/leases')).toBe(false);
    expect(await a!.getChildren('/sem/wait/lock')).toEqual([]);
    await second!.close();
    await lease!.close();
    await lease!.close();
    expect(await a!.getChildren('/sem/wait/leases')).toEqual([]);
  });

  it('takes several leases at once, all or none', async () => {
    const [a, b] = await clientsOf(start(), 2);
    const lease = await new Semaphore(a!, '/sem/many', 3).acquire({ count: 2 });
    expect(lease?.paths).toHaveLength(2);
    const other = new Semaphore(b!, '/sem/many', 3);
    expect(await other.acquire({ count: 2, timeoutMs: 100 })).toBeUndefined();
    // The one lease it could take was given back.
    expect(await a!.getChildren('/sem/many/leases')).toHaveLength(2);
    const single = await other.acquire({ timeoutMs: 1000 });
    expect(single?.count).toBe(1);
    await expect(other.acquire({ count: 4 })).rejects.toBeInstanceOf(RangeError);
    await lease!.close();
    await single!.close();
  });

  it('times out or aborts leaving no node and no watch behind', async () => {
    const [a, b] = await clientsOf(start(), 2);
    const lease = await new Semaphore(a!, '/sem/to', 1).acquire();
    const other = new Semaphore(b!, '/sem/to', 1);
    expect(await other.acquire({ timeoutMs: 100 })).toBeUndefined();
    expect(await a!.getChildren('/sem/to/leases')).toHaveLength(1);
    expect(await a!.getChildren('/sem/to/lock')).toEqual([]);
    expect(b!.hasWatch('child', '/sem/to/leases')).toBe(false);
    const controller = new AbortController();
    const aborted = other.acquire({ signal: controller.signal });
    await until(async () => (await a!.getChildren('/sem/to/leases')).length === 2);
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    expect(await a!.getChildren('/sem/to/leases')).toHaveLength(1);
    expect(await a!.getChildren('/sem/to/lock')).toEqual([]);
    await lease!.close();
    expect(await other.acquire({ timeoutMs: 1000 })).toBeDefined();
  });

  it('gets a lease back when its holder’s session expires', async () => {
    const server = start();
    const [silent] = await clientsOf(server, 1, { sessionTimeoutMs: 600, heartbeat: false });
    const [other] = await clientsOf(server, 1);
    const held = await new Semaphore(silent!, '/sem/exp', 1).acquire();
    expect(held).toBeDefined();
    const started = Date.now();
    const lease = await new Semaphore(other!, '/sem/exp', 1).acquire({ timeoutMs: 5000 });
    expect(lease).toBeDefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    await until(() => silent!.state === 'expired');
    await expect(new Semaphore(silent!, '/sem/exp', 1).acquire()).rejects.toBeInstanceOf(ZabError);
    await held!.close();
    await lease!.close();
  });

  it('never exceeds its leases while the ensemble loses its leader', async () => {
    const ensemble = await startEnsemble({
      servers: 3,
      tickTimeMs: 50,
      peer: { maxSessionTimeoutMs: 20_000 },
    });
    try {
      const zks = await Promise.all([0, 1, 2, 3].map(() => ensemble.client({ sessionTimeoutMs: 5000 })));
      clients.push(...zks);
      let out = 0;
      let maxOut = 0;
      let done = 0;
      const work = zks.map(async (zk) => {
        const semaphore = new Semaphore(zk, '/sem/ensemble', 2);
        while (done < 24) {
          const lease = await semaphore.acquire({ timeoutMs: 10_000 });
          if (lease === undefined) continue;
          out++;
          maxOut = Math.max(maxOut, out);
          await sleep(3);
          out--;
          done++;
          await lease.close();
        }
      });
      await until(() => done >= 4);
      await ensemble.kill(await ensemble.waitForLeader());
      await Promise.all(work);
      expect(maxOut).toBeLessThanOrEqual(2);
      await zks[0]!.sync('/sem/ensemble');
      expect(await zks[0]!.getChildren('/sem/ensemble/leases')).toEqual([]);
    } finally {
      for (const zk of clients.splice(0)) await zk.close().catch(() => undefined);
      await ensemble.close();
    }
  }, 30_000);
});
