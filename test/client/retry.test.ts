/**
 * Retry policies (Curator's), and the client applying them only where a repeat is safe: a
 * reply lost after the server applied the request must not turn into a second application.
 */
import { once } from 'node:events';
import {
  BoundedExponentialBackoffRetry,
  type ClientOptions,
  ExponentialBackoffRetry,
  exponentialRetriesMax,
  RetryForever,
  RetryNTimes,
  RetryOneTime,
  RetryUntilElapsed,
  TransactionError,
  type ZabClient,
  ZabError,
} from '@zabkit/client';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ControlledLinks, settle, text, useLocalServers } from './support.js';

const { start, connect } = useLocalServers();

function delays(policy: { nextRetryDelayMs(n: number, elapsed: number): number | undefined }, count: number) {
  return Array.from({ length: count }, (_v, n) => policy.nextRetryDelayMs(n, 0));
}

describe('retry policies', () => {
  it('ExponentialBackoffRetry sleeps base times a random number in [1, 2^(n+1)), capped', () => {
    const draws = [0.9, 0.1, 0.5, 0.99];
    const random = () => draws.shift()!;
    const policy = new ExponentialBackoffRetry(100, 4, 1000, { random });
    // floor(0.9*2)=1, max(1, floor(0.1*4)=0)=1, floor(0.5*8)=4, floor(0.99*16)=15 -> capped.
    expect(delays(policy, 5)).toEqual([100, 100, 400, 1000, undefined]);
    expect(new ExponentialBackoffRetry(1, 100).maxRetries).toBe(exponentialRetriesMax);
  });

  it('every exponential sleep stays within its window and the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 0, max: 28 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.double({ min: 0, max: 0.999_999, noNaN: true }),
        (base, retry, cap, draw) => {
          const delay = new BoundedExponentialBackoffRetry(base, cap, 29, {
            random: () => draw,
          }).nextRetryDelayMs(retry, 0)!;
          expect(delay).toBeLessThanOrEqual(cap);
          expect(delay).toBe(Math.min(cap, base * Math.max(1, Math.floor(draw * 2 ** (retry + 1)))));
        },
      ),
    );
  });

  it('the fixed policies: N times, one time, until elapsed, forever', () => {
    expect(delays(new RetryNTimes(2, 7), 3)).toEqual([7, 7, undefined]);
    expect(delays(new RetryOneTime(5), 2)).toEqual([5, undefined]);
    const untilElapsed = new RetryUntilElapsed(100, 10);
    expect(untilElapsed.nextRetryDelayMs(50, 99)).toBe(10);
    expect(untilElapsed.nextRetryDelayMs(0, 100)).toBeUndefined();
    expect(new RetryForever(3).nextRetryDelayMs(1_000_000, 1e9)).toBe(3);
  });

  it('refuses nonsense', () => {
    expect(() => new RetryForever(0)).toThrow(RangeError);
    expect(() => new RetryNTimes(-1, 5)).toThrow(RangeError);
    expect(() => new ExponentialBackoffRetry(-1, 3)).toThrow(RangeError);
    expect(() => new RetryUntilElapsed(Number.NaN, 1)).toThrow(RangeError);
  });
});

const fast: ClientOptions = { reconnect: { initialDelayMs: 1, maxDelayMs: 5 } };
const retry = new RetryNTimes(5, 2);

async function setUp(options: ClientOptions = {}) {
  const server = start();
  const links = new ControlledLinks(server);
  const zk = await connect(links, { ...fast, ...options });
  links.client = zk;
  const other = await connect(server);
  return { server, links, zk, other };
}

/** Sends `operation` with replies held, then breaks the connection: the server applied it, the client never heard. */
async function loseReply<T>(links: ControlledLinks, operation: () => Promise<T>): Promise<T> {
  if (!isConnected(links.client)) await once(links.client!, 'connected');
  links.holdReplies = true;
  const result = operation();
  result.catch(() => undefined);
  await settle();
  links.drop();
  return result;
}

function isConnected(zk: ZabClient | undefined): boolean {
  return zk?.state === 'connected';
}

async function rejection(promise: Promise<unknown>): Promise<ZabError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ZabError);
  return error as ZabError;
}

describe('retries through the client', () => {
  it('retries a read across a lost connection', async () => {
    const { links, zk } = await setUp();
    await zk.create('/r', 'data');
    const read = await loseReply(links, () => zk.getData('/r', { retry }));
    expect(text(read.data)).toBe('data');
    expect(links.count('getData')).toBe(2);
  });

  it('a versioned setData whose reply was lost is applied once: the retry sees its own write', async () => {
    const { links, zk, other } = await setUp();
    await zk.create('/v', 'v0');
    const stat = await loseReply(links, () => zk.setData('/v', 'v1', { version: 0, retry }));
    expect(stat.version).toBe(1);
    expect(links.count('setData')).toBe(2);
    const now = await other.getData('/v');
    expect(text(now.data)).toBe('v1');
    expect(now.stat.version).toBe(1);
  });

  it('when another writer came between, the outcome is reported unknown, not guessed', async () => {
    const { links, zk, other } = await setUp();
    await zk.create('/w', 'v0');
    links.holdReplies = true;
    const write = zk.setData('/w', 'mine', { version: 0, retry });
    await settle();
    links.reachable = false;
    links.drop();
    await other.setData('/w', 'theirs', 1);
    links.reachable = true;
    const error = await rejection(write);
    expect(error.codeName).toBe('ConnectionLoss');
    expect(error.message).toMatch(/may have been applied/);
    expect((error.cause as ZabError).codeName).toBe('BadVersion');
  });

  it('never retries an unconditional write: a repeat could undo another client', async () => {
    const { links, zk } = await setUp();
    await zk.create('/u', '');
    const error = await rejection(loseReply(links, () => zk.setData('/u', 'x', { retry })));
    expect(error.codeName).toBe('ConnectionLoss');
    expect(links.count('setData')).toBe(1);
    const deleteError = await rejection(loseReply(links, () => zk.delete('/u', { retry })));
    expect(deleteError.codeName).toBe('ConnectionLoss');
    expect(links.count('delete')).toBe(1);
  });

  it('a create whose reply was lost finds its own node (Curator idempotent create)', async () => {
    const { links, zk } = await setUp();
    const path = await loseReply(links, () => zk.create('/c', 'mine', { retry }));
    expect(path).toBe('/c');
    expect(links.count('create')).toBe(2);
    await expect(zk.create('/c', 'again', { retry })).rejects.toSatisfy(
      (error) => error instanceof ZabError && error.is('NodeExists'),
    );
  });

  it('a protected sequential create finds the node its lost attempt made, and makes no second one', async () => {
    const { links, zk, other } = await setUp();
    await zk.create('/q', '');
    const path = await loseReply(links, () =>
      zk.create('/q/job-', 'payload', { mode: 'persistentSequential', protected: true, retry }),
    );
    const children = await other.getChildren('/q');
    expect(children).toHaveLength(1);
    expect(path).toBe(`/q/${children[0]}`);
    expect(children[0]).toMatch(/^_c_[0-9a-f-]{36}-job-\d{10}$/);
    expect(links.count('create')).toBe(2); // the '/q' parent and the one attempt
  });

  it('an unprotected sequential create is not retried', async () => {
    const { links, zk, other } = await setUp();
    await zk.create('/s', '');
    const error = await rejection(
      loseReply(links, () => zk.create('/s/n-', '', { mode: 'persistentSequential', retry })),
    );
    expect(error.codeName).toBe('ConnectionLoss');
    expect(await other.getChildren('/s')).toHaveLength(1);
  });

  it('a versioned delete whose reply was lost succeeds: gone is what was asked', async () => {
    const { links, zk, other } = await setUp();
    await zk.create('/d', '');
    await loseReply(links, () => zk.delete('/d', { version: 0, retry }));
    expect(links.count('delete')).toBe(2);
    expect(await other.exists('/d')).toBeNull();
  });

  it('retries a guarded multi, and reports a failure after a lost reply as unknown', async () => {
    const { links, zk, other } = await setUp();
    await zk.create('/m', 'v0');
    const error = await rejection(
      loseReply(links, () =>
        zk.transaction().create('/m/child', '').setData('/m', 'v1', 0).commit({ retry }),
      ),
    );
    expect(error.codeName).toBe('ConnectionLoss');
    expect(error.cause).toBeInstanceOf(TransactionError);
    expect(links.count('multi')).toBe(2);
    expect((await other.getData('/m')).stat.version).toBe(1);
    // Without a guard (unversioned setData only) a multi is never repeated.
    await rejection(loseReply(links, () => zk.transaction().setData('/m', 'v2').commit({ retry })));
    expect(links.count('multi')).toBe(3);
  });

  it('uses the client default policy, and retry: false turns it off for one call', async () => {
    const { links, zk } = await setUp({ retryPolicy: retry });
    await zk.create('/dflt', 'x');
    expect(text((await loseReply(links, () => zk.getData('/dflt'))).data)).toBe('x');
    const error = await rejection(loseReply(links, () => zk.getData('/dflt', { retry: false })));
    expect(error.codeName).toBe('ConnectionLoss');
  });

  it('waits for the connection instead of spending retries while disconnected', async () => {
    const { links, zk } = await setUp();
    links.reachable = false;
    links.drop();
    expect(zk.state).toBe('disconnected');
    const read = zk.exists('/', { retry: new RetryOneTime(1) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    links.reachable = true;
    expect(await read).not.toBeNull();
    expect(links.count('exists')).toBe(1);
  });
});
