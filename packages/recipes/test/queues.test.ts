import type { ZabClient } from '@zabkit/client';
import { startEnsemble } from '@zabkit/server';
import { describe, expect, it } from 'vitest';
import { DistributedPriorityQueue } from '../src/priority-queue.js';
import { DistributedQueue, OutcomeUnknownError } from '../src/queue.js';
import { sleep, text, useServers } from './support.js';

const { connect } = useServers();

describe('DistributedQueue', () => {
  it('keeps FIFO order for one producer; peek, size and poll', async () => {
    const [zk] = await connect(1);
    const queue = new DistributedQueue(zk!, '/app/queues/fifo');
    expect(await queue.poll()).toBeUndefined();
    expect(await queue.peek()).toBeUndefined();
    for (let i = 0; i < 10; i++) await queue.put(`item-${i}`);
    expect(await queue.size()).toBe(10);
    expect(text(await queue.peek())).toBe('item-0');
    const out: (string | undefined)[] = [];
    for (let i = 0; i < 10; i++) out.push(text(await queue.take({ timeoutMs: 1000 })));
    expect(out).toEqual(Array.from({ length: 10 }, (_v, i) => `item-${i}`));
    expect(await queue.size()).toBe(0);
    // No markers or claims left behind.
    expect(await zk!.getChildren('/app/queues/fifo')).toEqual([]);
  });

  it('take blocks until a put, and times out with undefined', async () => {
    const [producer, consumer] = await connect(2);
    const queue = new DistributedQueue(consumer!, '/q');
    expect(await queue.take({ timeoutMs: 60 })).toBeUndefined();
    let got: string | undefined;
    const taking = queue.take({ timeoutMs: 5000 }).then((data) => {
      got = text(data);
    });
    await sleep(50);
    expect(got).toBeUndefined();
    await new DistributedQueue(producer!, '/q').put('hello');
    await taking;
    expect(got).toBe('hello');
  });

  it('an aborted take rejects', async () => {
    const [zk] = await connect(1);
    const controller = new AbortController();
    const taking = new DistributedQueue(zk!, '/q').take({ signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(taking).rejects.toThrow();
  });

  it('many producers and consumers on separate sessions: every item consumed exactly once', async () => {
    const producers = await connect(3);
    const consumers = await connect(4);
    const perProducer = 30;
    const total = producers.length * perProducer;
    const consumed: string[] = [];
    const perConsumer: string[][] = consumers.map(() => []);
    let done = false;
    const consuming = consumers.map(async (zk, c) => {
      const queue = new DistributedQueue(zk, '/work');
      while (!done) {
        const data = await queue.take({ timeoutMs: 100 });
        if (data === undefined) continue;
        consumed.push(text(data)!);
        perConsumer[c]!.push(text(data)!);
        if (consumed.length === total) done = true;
      }
    });
    await Promise.all(
      producers.map(async (zk, p) => {
        const queue = new DistributedQueue(zk, '/work');
        for (let i = 0; i < perProducer; i++) await queue.put(`${p}:${i}`);
      }),
    );
    const deadline = Date.now() + 10_000;
    while (!done && Date.now() < deadline) await sleep(10);
    done = true;
    await Promise.all(consuming);
    expect(consumed.length).toBe(total);
    expect(new Set(consumed).size).toBe(total);
    // Each consumer sees each producer's items in the order they were put.
    for (const items of perConsumer) {
      for (let p = 0; p < producers.length; p++) {
        const seq = items
          .filter((item) => item.startsWith(`${p}:`))
          .map((item) => Number(item.split(':')[1]));
        expect(seq).toEqual([...seq].sort((a, b) => a - b));
      }
    }
  });
});

describe('DistributedPriorityQueue', () => {
  it('takes lowest priority number first, FIFO within a priority', async () => {
    const [zk, other] = await connect(2);
    const queue = new DistributedPriorityQueue(zk!, '/pq');
    await queue.put('p5-a', 5);
    await queue.put('p-3', -3);
    await queue.put('p5-b', 5);
    await queue.put('p0', 0);
    await queue.put('p5-c', 5);
    await queue.put('p100', 100);
    expect(() => queue.put('bad', 1.5)).toThrow(RangeError);
    expect(await queue.size()).toBe(6);
    const consumer = new DistributedPriorityQueue(other!, '/pq');
    const out: (string | undefined)[] = [];
    for (let i = 0; i < 6; i++) out.push(text(await consumer.take({ timeoutMs: 1000 })));
    expect(out).toEqual(['p-3', 'p0', 'p5-a', 'p5-b', 'p5-c', 'p100']);
  });
});

describe('DistributedQueue on a 3-server ensemble', () => {
  it('acknowledged puts are consumed exactly once while the leader is killed', async () => {
    const ensemble = await startEnsemble({
      servers: 3,
      tickTimeMs: 50,
      peer: { maxSessionTimeoutMs: 20_000 },
    });
    try {
      await ensemble.waitForLeader();
      const producer = await ensemble.client({ sessionTimeoutMs: 4000 });
      const consumerA = await ensemble.client({ sessionTimeoutMs: 4000 });
      const consumerB = await ensemble.client({ sessionTimeoutMs: 4000 });
      const acknowledged: string[] = [];
      const unknownPuts: string[] = [];
      const taken: string[] = [];
      const unknownTakes: string[] = [];
      let producing = true;
      let killed: number | undefined;
      const consume = async (zk: ZabClient) => {
        const queue = new DistributedQueue(zk, '/ens/q');
        for (;;) {
          try {
            const data = await queue.take({ timeoutMs: 200 });
            if (data !== undefined) taken.push(text(data)!);
            else if (!producing) return;
          } catch (error) {
            if (error instanceof OutcomeUnknownError) unknownTakes.push(text(error.value)!);
            else if (zk.state === 'expired' || zk.state === 'closed') return;
            else await new Promise((resolve) => setTimeout(resolve, 20));
          }
        }
      };
      const consumers = [consume(consumerA), consume(consumerB)];
      const queue = new DistributedQueue(producer, '/ens/q');
      for (let i = 0; i < 60; i++) {
        if (i === 20) {
          const leader = ensemble.leader();
          expect(leader).toBeDefined();
          killed = leader;
          await ensemble.kill(leader!);
        }
        try {
          await queue.put(`item-${i}`);
          acknowledged.push(`item-${i}`);
        } catch (error) {
          unknownPuts.push(`item-${i}`);
          if (!(error instanceof OutcomeUnknownError) && producer.state !== 'connected')
            await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      producing = false;
      await Promise.all(consumers);
      const newLeader = await ensemble.waitForLeader();
      expect(newLeader).not.toBe(killed);
      // Nothing taken twice, nothing invented, every acknowledged put taken (or reported unknown).
      expect(new Set(taken).size).toBe(taken.length);
      const all = new Set([...acknowledged, ...unknownPuts]);
      for (const item of taken) expect(all.has(item)).toBe(true);
      for (const item of acknowledged) expect(taken.includes(item) || unknownTakes.includes(item)).toBe(true);
      for (const item of unknownTakes) expect(taken.includes(item)).toBe(false);
      expect(acknowledged.length).toBeGreaterThan(40);
      for (const zk of [producer, consumerA, consumerB]) await zk.close();
    } finally {
      await ensemble.close();
    }
  });
});
