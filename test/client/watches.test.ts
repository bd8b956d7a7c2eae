/**
 * Removing a watch while another is being set on the same path: the removal takes only the
 * listeners it was asked to take, as its reply arrives, and a watch the server dropped with it
 * is set again. (A LeaderLatch re-checking its predecessor did exactly this, and lost its watch.)
 */

import type { WatchedEvent } from '@zabkit/client';
import { describe, expect, it } from 'vitest';
import { ControlledLinks, settle, useLocalServers } from './support.js';

const { start, connect } = useLocalServers();

async function setUp() {
  const server = start();
  const links = new ControlledLinks(server);
  const zk = await connect(links);
  const other = await connect(server);
  await other.create('/n', 'v0');
  return { links, zk, other };
}

describe('removeWatches beside a new watch on the same path', () => {
  it('a watch set right after the removal was sent survives it', async () => {
    const { links, zk, other } = await setUp();
    const first = (_event: WatchedEvent) => undefined;
    await zk.getData('/n', { watch: first });
    links.holdReplies = true;
    const removal = zk.removeWatches('/n', 'data', first);
    const events: WatchedEvent[] = [];
    const read = zk.getData('/n', { watch: (event) => events.push(event) });
    await settle();
    links.release(); // both replies at once
    await removal;
    await read;
    expect(zk.hasWatch('data', '/n')).toBe(true);
    await other.setData('/n', 'v1');
    await settle();
    expect(events).toEqual([{ type: 'NodeDataChanged', path: '/n' }]);
  });

  it('a watch whose request went out just before the removal is set again on the server', async () => {
    const { links, zk, other } = await setUp();
    const first = (_event: WatchedEvent) => undefined;
    await zk.getData('/n', { watch: first });
    links.holdReplies = true;
    const events: WatchedEvent[] = [];
    const read = zk.getData('/n', { watch: (event) => events.push(event) });
    const removal = zk.removeWatches('/n', 'data', first);
    await settle();
    links.release();
    await read;
    await removal;
    expect(links.count('setWatches')).toBe(1);
    await zk.sync('/');
    await other.setData('/n', 'v1');
    await settle();
    expect(events).toEqual([{ type: 'NodeDataChanged', path: '/n' }]);
  });
});
