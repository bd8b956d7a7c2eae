/**
 * Deadlines and AbortSignals on every operation: a cancelled operation says whether its
 * request may still be applied (it was sent) or certainly was not (it never left the client).
 */

import { RequestCancelledError, ZabError } from '@zabkit/client';
import { describe, expect, it } from 'vitest';
import { ControlledLinks, ManualTimers, settle, text, useLocalServers } from './support.js';

const { start, connect } = useLocalServers();

async function cancelled(promise: Promise<unknown>): Promise<RequestCancelledError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(RequestCancelledError);
  return error as RequestCancelledError;
}

describe('cancellation', () => {
  it('an already aborted signal rejects at once: not sent, so certainly not applied', async () => {
    const server = start();
    const links = new ControlledLinks(server);
    const zk = await connect(links);
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    controller.abort(reason);
    const error = await cancelled(zk.create('/never', 'x', { signal: controller.signal }));
    expect(error.name).toBe('AbortError');
    expect(error.reason).toBe('aborted');
    expect(error.outcome).toBe('notSent');
    expect(error.mayHaveBeenApplied).toBe(false);
    expect(error.cause).toBe(reason);
    expect(error.op).toBe('create');
    expect(error.path).toBe('/never');
    expect(links.count('create')).toBe(0);
    expect(await zk.exists('/never')).toBeNull();
  });

  it('aborting a write in flight reports the outcome unknown, and the write may indeed land', async () => {
    const server = start();
    const links = new ControlledLinks(server);
    const zk = await connect(links);
    await zk.create('/n', 'v0');
    links.holdReplies = true;
    const controller = new AbortController();
    const write = zk.setData('/n', 'v1', { version: 0, signal: controller.signal });
    await settle();
    controller.abort();
    const error = await cancelled(write);
    expect(error.outcome).toBe('unknown');
    expect(error.mayHaveBeenApplied).toBe(true);
    // The late reply is dropped without harm; the server did apply the write.
    links.release();
    await settle();
    expect(text((await zk.getData('/n')).data)).toBe('v1');
  });

  it('times out on the client clock: TimeoutError, outcome unknown once sent', async () => {
    const timers = new ManualTimers();
    const server = start();
    const links = new ControlledLinks(server);
    const connecting = connect(links, { timers });
    await timers.advance(0);
    const zk = await connecting;
    links.holdReplies = true;
    const read = zk.getData('/', { timeoutMs: 500 });
    let settled = false;
    read
      .catch(() => undefined)
      .finally(() => {
        settled = true;
      });
    await timers.advance(499);
    expect(settled).toBe(false);
    await timers.advance(1);
    const error = await cancelled(read);
    expect(error.name).toBe('TimeoutError');
    expect(error.reason).toBe('timeout');
    expect(error.outcome).toBe('unknown');
    expect(error.message).toMatch(/timed out after 500 ms/);
    // The deadline held the process open: a caller awaiting only this must see it settle.
    expect(timers.requested.some((timer) => timer.delayMs === 500 && timer.keepAlive)).toBe(true);
  });

  it('a deadline passed while waiting to reconnect reports not sent', async () => {
    const timers = new ManualTimers();
    const server = start();
    const links = new ControlledLinks(server);
    const connecting = connect(links, { timers, retryPolicy: { nextRetryDelayMs: () => 10 } });
    await timers.advance(0);
    const zk = await connecting;
    links.reachable = false;
    links.drop();
    const failure = cancelled(zk.create('/later', '', { timeoutMs: 200 }));
    await timers.advance(200);
    const error = await failure;
    expect(error.outcome).toBe('notSent');
    expect(links.count('create')).toBe(0);
  });

  it('AbortSignal.timeout counts as a deadline', async () => {
    const server = start();
    const links = new ControlledLinks(server);
    const zk = await connect(links);
    links.holdReplies = true;
    const error = await cancelled(zk.getChildren('/', { signal: AbortSignal.timeout(20) }));
    expect(error.reason).toBe('timeout');
    expect(error.name).toBe('TimeoutError');
    links.release();
  });

  it('operations that finish in time are untouched by their bounds, and invalid bounds are refused', async () => {
    const zk = await connect(start());
    const controller = new AbortController();
    expect(await zk.create('/ok', 'x', { timeoutMs: 10_000, signal: controller.signal })).toBe('/ok');
    controller.abort();
    // Aborting after completion changes nothing.
    expect(text((await zk.getData('/ok', { timeoutMs: 10_000 })).data)).toBe('x');
    await expect(zk.getData('/ok', { timeoutMs: -1 })).rejects.toThrow(RangeError);
    await expect(zk.getData('/missing', { timeoutMs: 10_000 })).rejects.toSatisfy(
      (error) => error instanceof ZabError && error.is('NoNode') && error.path === '/missing',
    );
  });

  it('a client-wide requestTimeoutMs bounds every call that sets none', async () => {
    const server = start();
    const links = new ControlledLinks(server);
    const zk = await connect(links, { requestTimeoutMs: 30 });
    links.holdReplies = true;
    const error = await cancelled(zk.exists('/'));
    expect(error.reason).toBe('timeout');
    links.release();
    expect(await zk.exists('/')).not.toBeNull();
  });

  it('transactions take the same bounds', async () => {
    const server = start();
    const links = new ControlledLinks(server);
    const zk = await connect(links);
    const controller = new AbortController();
    controller.abort();
    const error = await cancelled(zk.transaction().create('/t1', '').commit({ signal: controller.signal }));
    expect(error.op).toBe('multi');
    expect(error.outcome).toBe('notSent');
    expect(await zk.exists('/t1')).toBeNull();
  });
});
