/**
 * A client's root, in process: a chroot (`ClientOptions.chroot`, which `connectTcp` takes from
 * the connect string) and namespace views. Paths go out with the root in front and come back
 * without it: created names, watch events, multi results, errors, ephemerals.
 */

import { type OpResult, TransactionError, type WatchedEvent, ZabError } from '@zabkit/client';
import { describe, expect, it } from 'vitest';
import { settle, text, useLocalServers } from './support.js';

const { start, connect } = useLocalServers();

async function withRoot() {
  const server = start();
  const root = await connect(server);
  await root.create('/app', '');
  const zk = await connect(server, { chroot: '/app' });
  return { server, root, zk };
}

const nextEvent = (register: (listener: (event: WatchedEvent) => void) => unknown) =>
  new Promise<WatchedEvent>((resolve) => {
    register(resolve);
  });

describe('chroot', () => {
  it('puts every path under the chroot, and takes it off what comes back', async () => {
    const { root, zk } = await withRoot();
    expect(zk.root).toBe('/app');
    expect(await zk.create('/a', 'one')).toBe('/a');
    expect(text((await root.getData('/app/a')).data)).toBe('one');
    expect(await zk.create('/a/s-', '', { mode: 'persistentSequential' })).toBe('/a/s-0000000000');
    const { path, stat } = await zk.create2('/b', 'two');
    expect(path).toBe('/b');
    expect(stat.dataLength).toBe(3);
    expect(await zk.getChildren('/')).toEqual(['a', 'b']);
    expect((await zk.setData('/a', 'uno', 0)).version).toBe(1);
    expect(await zk.exists('/b')).not.toBeNull();
    await zk.delete('/b');
    expect(await root.exists('/app/b')).toBeNull();
    await zk.sync('/');
    expect(await zk.getAllChildrenNumber('/')).toBe(2);
  });

  it('names the caller paths in errors, and refuses a relative path instead of gluing it on', async () => {
    const { zk } = await withRoot();
    await expect(zk.getData('/missing')).rejects.toSatisfy(
      (error) => error instanceof ZabError && error.is('NoNode') && error.path === '/missing',
    );
    await expect(zk.create('x', '')).rejects.toSatisfy(
      (error) => error instanceof ZabError && error.is('BadArguments'),
    );
    const failed = await zk
      .transaction()
      .create('/t', '')
      .delete('/nope')
      .commit()
      .catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(TransactionError);
    expect((failed as TransactionError).path).toBe('/nope');
  });

  it('translates multi results and ephemerals', async () => {
    const { root, zk } = await withRoot();
    const results = await zk
      .transaction()
      .create('/m', '')
      .create('/m/e-', '', { mode: 'ephemeralSequential' })
      .commit();
    const created = results.filter(
      (result): result is Extract<OpResult, { op: 'create' }> => result.op === 'create',
    );
    expect(created.map((result) => result.path)).toEqual(['/m', '/m/e-0000000000']);
    expect(await zk.getEphemerals('/')).toEqual(['/m/e-0000000000']);
    expect(await root.getChildren('/app/m')).toEqual(['e-0000000000']);
    const read = await zk.multiRead([{ op: 'getChildren', path: '/m', watch: false }]);
    expect(read[0]).toMatchObject({ op: 'getChildren', children: ['e-0000000000'] });
  });

  it('delivers watch events with the caller paths, also after a reconnect re-registers them', async () => {
    const { root, zk } = await withRoot();
    await zk.create('/w', 'v0');
    const dataEvent = nextEvent((watch) => zk.getData('/w', { watch }));
    await settle();
    await root.setData('/app/w', 'v1');
    expect(await dataEvent).toEqual({ type: 'NodeDataChanged', path: '/w' });

    const childEvent = nextEvent((watch) => zk.getChildren('/', { watch }));
    await settle();
    zk.simulateConnectionLoss();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(zk.state).toBe('connected');
    expect(zk.hasWatch('child', '/')).toBe(true);
    await root.create('/app/new', '');
    expect(await childEvent).toEqual({ type: 'NodeChildrenChanged', path: '/' });

    const seen: WatchedEvent[] = [];
    await zk.addWatch('/', (event) => seen.push(event), { recursive: true });
    await root.create('/app/new/deep', '');
    await root.delete('/app/new/deep');
    await settle();
    expect(seen).toEqual([
      { type: 'NodeCreated', path: '/new/deep' },
      { type: 'NodeDeleted', path: '/new/deep' },
    ]);
    await zk.removeWatches('/', 'persistentRecursive');
    expect(zk.hasWatch('persistentRecursive', '/')).toBe(false);
  });

  it('refuses an invalid chroot', async () => {
    const server = start();
    await expect(connect(server, { chroot: 'app' })).rejects.toThrow(RangeError);
    await expect(connect(server, { chroot: '/app/' })).rejects.toThrow(RangeError);
  });
});

describe('namespace views', () => {
  it('share the session, nest over a chroot, and translate like one', async () => {
    const { root, zk } = await withRoot();
    const tenant = zk.namespace('/tenant');
    expect(tenant.root).toBe('/app/tenant');
    expect(tenant.sessionId).toBe(zk.sessionId);
    expect(await tenant.create('/x', 'data', { createParents: true })).toBe('/x');
    expect(text((await root.getData('/app/tenant/x')).data)).toBe('data');
    expect(await zk.getChildren('/tenant')).toEqual(['x']);
    const stream = tenant.watch('/', { recursive: true });
    await stream.ready();
    await root.setData('/app/tenant/x', 'changed');
    const { value } = await stream.next();
    expect(value).toEqual({ type: 'NodeDataChanged', path: '/x' });
    await stream.return();
    expect(root.namespace('/').root).toBe('/');
    expect(() => zk.namespace('tenant')).toThrow(RangeError);
  });

  it('a view closes the session it shares', async () => {
    const { zk } = await withRoot();
    const view = zk.namespace('/v');
    await view.close();
    expect(zk.state).toBe('closed');
  });
});

describe('getConfig and reconfig', () => {
  it('reads /zookeeper/config whatever the root, and refuses what the server or the call rules out', async () => {
    const { root, zk } = await withRoot();
    const view = zk.namespace('/tenant');
    const expected = await root.getData('/zookeeper/config');
    for (const client of [root, zk, view]) {
      const reading = await client.getConfig();
      expect(reading.data).toEqual(expected.data ?? new Uint8Array(0));
      expect(reading.text).toBe(text(reading.data));
      expect(reading.stat).toEqual(expected.stat);
      expect(reading.version).toBe(/version=/.test(reading.text) ? 0n : undefined);
    }
    // Not under the chroot: /app/zookeeper/config does not exist.
    await expect(zk.getData('/zookeeper/config')).rejects.toMatchObject({ codeName: 'NoNode' });
    // (Its watch names /zookeeper/config itself: the reconfiguration tests see the event.)
    expect((await zk.getConfig({ watch: () => {} })).text).toBe(text(expected.data ?? new Uint8Array(0)));
    expect(zk.hasWatch('data', '/zookeeper/config')).toBe(false);
    await expect(zk.reconfig({ leaving: [2] })).rejects.toMatchObject({ codeName: 'ReconfigDisabled' });
    await expect(zk.reconfig({ newMembers: ['server.1=h:1:2'], joining: 'server.2=h:3:4' })).rejects.toThrow(
      RangeError,
    );
  });
});
