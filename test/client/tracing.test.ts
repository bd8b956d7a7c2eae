/**
 * Tracing through node:diagnostics_channel: the `zabkit:client` tracing channel around every
 * operation, and one plain channel per operation, each with path, duration and outcome.
 */
import { channel, tracingChannel } from 'node:diagnostics_channel';
import {
  type OperationTrace,
  operationChannelName,
  operationTracingChannelName,
  RetryNTimes,
} from '@zabkit/client';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlledLinks, ManualTimers, settle, useLocalServers } from './support.js';

const { start, connect } = useLocalServers();
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function listen(op: string): OperationTrace[] {
  const seen: OperationTrace[] = [];
  const onMessage = (message: unknown) => seen.push(message as OperationTrace);
  channel(operationChannelName(op)).subscribe(onMessage);
  cleanups.push(() => channel(operationChannelName(op)).unsubscribe(onMessage));
  return seen;
}

describe('tracing', () => {
  it('publishes each finished operation on its own channel, timed on the client clock', async () => {
    const timers = new ManualTimers();
    const server = start();
    const links = new ControlledLinks(server);
    const connecting = connect(links, { timers, chroot: '/' });
    await timers.advance(0);
    const zk = await connecting;
    const reads = listen('getData');
    const creates = listen('create');
    await zk.create('/traced', 'x');
    links.holdReplies = true;
    const read = zk.getData('/traced');
    await timers.advance(25);
    links.release();
    await read;
    await zk.getData('/absent').catch(() => undefined);
    expect(creates).toHaveLength(1);
    expect(creates[0]).toMatchObject({ op: 'create', path: '/traced', outcome: 'ok', attempts: 1 });
    expect(reads.map((trace) => [trace.path, trace.outcome, trace.durationMs, trace.code])).toEqual([
      ['/traced', 'ok', 25, undefined],
      ['/absent', 'error', 0, 'NoNode'],
    ]);
    expect(reads[0]!.sessionId).toBe(zk.sessionId);
  });

  it('wraps operations in the zabkit:client tracing channel, complete by asyncEnd', async () => {
    const server = start();
    const links = new ControlledLinks(server);
    const zk = await connect(links, { reconnect: { initialDelayMs: 1 } });
    const events: string[] = [];
    const ends: OperationTrace[] = [];
    const handlers = {
      start: (context: OperationTrace) => events.push(`start ${context.op}`),
      end: () => undefined,
      asyncStart: () => undefined,
      asyncEnd: (context: OperationTrace) => {
        events.push(`end ${context.op}`);
        ends.push({ ...context });
      },
      error: (context: OperationTrace) => events.push(`error ${context.op}`),
    };
    const traces = tracingChannel<OperationTrace, OperationTrace>(operationTracingChannelName);
    traces.subscribe(handlers);
    cleanups.push(() => traces.unsubscribe(handlers));
    await zk.create('/t', '');
    links.holdReplies = true;
    const read = zk.exists('/t', { retry: new RetryNTimes(3, 1) });
    await settle();
    links.drop();
    await read;
    const aborted = new AbortController();
    aborted.abort();
    await zk.exists('/t', { signal: aborted.signal }).catch(() => undefined);
    expect(events).toEqual([
      'start create',
      'end create',
      'start exists',
      'end exists',
      'start exists',
      'error exists',
      'end exists',
    ]);
    expect(ends[1]).toMatchObject({ op: 'exists', path: '/t', outcome: 'ok', attempts: 2 });
    expect(ends[1]!.result).not.toBeNull();
    expect(ends[2]).toMatchObject({ outcome: 'aborted', attempts: 0 });
  });
});
