/**
 * A real ZooKeeper client, node-zookeeper-client from npm, drives a zabkit server through
 * every operation it supports. It was written against Apache ZooKeeper and has never heard
 * of zabkit: what passes here is wire compatibility, not agreement with ourselves.
 */
// @ts-expect-error: the package ships no types
import zookeeper from 'node-zookeeper-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerNode } from '../src/node.js';
import { FreezableProxy, startStandalone, until } from './helpers.js';

const { ACL, CreateMode, Event, Exception, Id, Permission } = zookeeper;

type Callback<T> = (error: unknown, ...results: T[]) => void;

/** The client's callback API as promises. */
class Zk {
  readonly events: string[] = [];
  constructor(readonly raw: any) {
    raw.on('state', (state: any) => this.events.push(String(state.name)));
  }

  static async connect(port: number, options: Record<string, unknown> = {}): Promise<Zk> {
    const raw = zookeeper.createClient(`127.0.0.1:${port}`, { sessionTimeout: 4000, retries: 0, ...options });
    const client = new Zk(raw);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no session')), 5000);
      raw.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
      raw.connect();
    });
    return client;
  }

  private call<T>(method: string, ...args: unknown[]): Promise<T[]> {
    return new Promise((resolve, reject) => {
      const callback: Callback<T> = (error, ...results) => (error ? reject(error) : resolve(results));
      this.raw[method](...args, callback);
    });
  }

  create(path: string, data?: Buffer, acls?: unknown[], mode?: number) {
    const args: unknown[] = [path];
    if (data !== undefined) args.push(data);
    if (acls !== undefined) args.push(acls);
    if (mode !== undefined) args.push(mode);
    return this.call<string>('create', ...args).then(([created]) => created!);
  }
  getData(path: string, watcher?: (event: any) => void) {
    return this.call<any>('getData', path, ...(watcher ? [watcher] : [])).then(([data, stat]) => ({
      data,
      stat,
    }));
  }
  setData(path: string, data: Buffer, version = -1) {
    return this.call<any>('setData', path, data, version).then(([stat]) => stat);
  }
  exists(path: string, watcher?: (event: any) => void) {
    return this.call<any>('exists', path, ...(watcher ? [watcher] : [])).then(([stat]) => stat ?? null);
  }
  getChildren(path: string, watcher?: (event: any) => void) {
    return this.call<any>('getChildren', path, ...(watcher ? [watcher] : [])).then(([children, stat]) => ({
      children,
      stat,
    }));
  }
  remove(path: string, version = -1) {
    return this.call<void>('remove', path, version);
  }
  getACL(path: string) {
    return this.call<any>('getACL', path).then(([acls, stat]) => ({ acls, stat }));
  }
  setACL(path: string, acls: unknown[], version = -1) {
    return this.call<any>('setACL', path, acls, version).then(([stat]) => stat);
  }
  commit(build: (transaction: any) => any) {
    return new Promise<any[]>((resolve, reject) => {
      build(this.raw.transaction()).commit((error: any, results: any[]) => {
        if (error) reject(Object.assign(error, { results }));
        else resolve(results);
      });
    });
  }
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.raw.once('disconnected', () => resolve());
      this.raw.close();
      setTimeout(resolve, 1000);
    });
  }
}

/** The ZooKeeper error code a failed call carried. */
async function codeOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (error: any) {
    return error.getCode();
  }
  throw new Error('expected the call to fail');
}

describe('node-zookeeper-client against a zabkit server', () => {
  let server: ServerNode;
  let port: number;
  let zk: Zk;

  beforeAll(async () => {
    server = await startStandalone();
    port = server.address().port;
    zk = await Zk.connect(port);
  });

  afterAll(async () => {
    await zk?.close();
    await server?.close();
  });

  it('negotiates a session', () => {
    expect(zk.raw.getSessionTimeout()).toBe(4000);
    expect(zk.raw.getSessionId().length).toBe(8);
    expect(zk.raw.getSessionPassword().length).toBe(16);
  });

  it('creates, reads and versions data with a full Stat', async () => {
    expect(await zk.create('/a', Buffer.from('one'))).toBe('/a');
    const { data, stat } = await zk.getData('/a');
    expect(data.toString()).toBe('one');
    expect(stat.version).toBe(0);
    expect(stat.dataLength).toBe(3);
    expect(stat.numChildren).toBe(0);
    expect(stat.ephemeralOwner.readBigInt64BE()).toBe(0n);
    const czxid = stat.czxid.readBigInt64BE();
    expect(czxid).toBeGreaterThan(0n);
    expect(stat.mzxid.readBigInt64BE()).toBe(czxid);
    expect(stat.ctime.readBigInt64BE()).toBeGreaterThan(BigInt(Date.now() - 60_000));

    const updated = await zk.setData('/a', Buffer.from('two'), 0);
    expect(updated.version).toBe(1);
    expect(updated.mzxid.readBigInt64BE()).toBeGreaterThan(czxid);
    expect(await codeOf(zk.setData('/a', Buffer.from('three'), 0))).toBe(Exception.BAD_VERSION);
    expect((await zk.getData('/a')).data.toString()).toBe('two');
    expect(await codeOf(zk.create('/a'))).toBe(Exception.NODE_EXISTS);
    expect(await codeOf(zk.getData('/missing'))).toBe(Exception.NO_NODE);
    expect(await codeOf(zk.create('/missing/child'))).toBe(Exception.NO_NODE);
  });

  it('supports every create mode it knows: sequential and ephemeral', async () => {
    await zk.create('/seq');
    const first = await zk.create('/seq/n-', undefined, undefined, CreateMode.PERSISTENT_SEQUENTIAL);
    const second = await zk.create('/seq/n-', undefined, undefined, CreateMode.PERSISTENT_SEQUENTIAL);
    expect(first).toMatch(/^\/seq\/n-\d{10}$/);
    expect(Number(second.slice(-10))).toBe(Number(first.slice(-10)) + 1);
    const ephemeral = await zk.create('/seq/e-', undefined, undefined, CreateMode.EPHEMERAL_SEQUENTIAL);
    const stat = await zk.exists(ephemeral);
    expect(stat.ephemeralOwner.equals(zk.raw.getSessionId())).toBe(true);
    expect(await codeOf(zk.create(`${ephemeral}/child`))).toBe(Exception.NO_CHILDREN_FOR_EPHEMERALS);
    const { children, stat: parent } = await zk.getChildren('/seq');
    expect(children).toHaveLength(3);
    expect(parent.numChildren).toBe(3);
    expect(parent.cversion).toBe(3);
  });

  it('deletes with versions and refuses to delete a parent', async () => {
    await zk.create('/d');
    await zk.create('/d/c');
    expect(await codeOf(zk.remove('/d'))).toBe(Exception.NOT_EMPTY);
    expect(await codeOf(zk.remove('/d/c', 5))).toBe(Exception.BAD_VERSION);
    await zk.remove('/d/c', 0);
    await zk.remove('/d');
    expect(await zk.exists('/d')).toBeNull();
  });

  it('enforces ACLs and digest authentication', async () => {
    const owner = await Zk.connect(port);
    const stranger = await Zk.connect(port);
    try {
      owner.raw.addAuthInfo('digest', Buffer.from('alice:secret'));
      const acl = [new ACL(Permission.ALL, new Id('auth', ''))];
      await owner.create('/private', Buffer.from('x'), acl);
      expect((await owner.getData('/private')).data.toString()).toBe('x');
      expect(await codeOf(stranger.getData('/private'))).toBe(Exception.NO_AUTH);
      const { acls, stat } = await owner.getACL('/private');
      expect(acls).toHaveLength(1);
      expect(acls[0].id.scheme).toBe('digest');
      expect(acls[0].id.id).toMatch(/^alice:/);
      expect(stat.aversion).toBe(0);
      const readable = [new ACL(Permission.READ, new Id('world', 'anyone')), ...acls];
      const after = await owner.setACL('/private', readable, 0);
      expect(after.aversion).toBe(1);
      expect((await stranger.getData('/private')).data.toString()).toBe('x');
      expect(await codeOf(stranger.setData('/private', Buffer.from('y')))).toBe(Exception.NO_AUTH);
    } finally {
      await owner.close();
      await stranger.close();
    }
  });

  it('commits a multi atomically and reports a failed one', async () => {
    const results = await zk.commit((t) =>
      t.create('/m').create('/m/child', Buffer.from('c')).setData('/m', Buffer.from('v')).check('/m', 1),
    );
    expect(results).toHaveLength(4);
    expect((await zk.getData('/m')).data.toString()).toBe('v');
    let failed: any;
    try {
      await zk.commit((t) => t.create('/m/other').check('/m', 99).remove('/m/child'));
    } catch (error) {
      failed = error;
    }
    expect(failed).toBeDefined();
    expect(await zk.exists('/m/other')).toBeNull();
    expect(await zk.exists('/m/child')).not.toBeNull();
  });

  it('fires data, exists and child watches once each', async () => {
    const seen: { type: number; path: string }[] = [];
    const watcher = (event: any) => seen.push({ type: event.getType(), path: event.getPath() });
    await zk.create('/w', Buffer.from('0'));
    await zk.getData('/w', watcher);
    await zk.exists('/w/new', watcher);
    await zk.getChildren('/w', watcher);
    await zk.create('/w/new');
    await zk.setData('/w', Buffer.from('1'));
    await zk.setData('/w', Buffer.from('2'));
    await until(() => seen.length >= 3);
    expect(seen).toEqual(
      expect.arrayContaining([
        { type: Event.NODE_CREATED, path: '/w/new' },
        { type: Event.NODE_CHILDREN_CHANGED, path: '/w' },
        { type: Event.NODE_DATA_CHANGED, path: '/w' },
      ]),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).toHaveLength(3);

    await zk.exists('/w/new', watcher);
    await zk.remove('/w/new');
    await until(() => seen.length === 4);
    expect(seen[3]).toEqual({ type: Event.NODE_DELETED, path: '/w/new' });
  });

  it('removes ephemerals when their client closes', async () => {
    const other = await Zk.connect(port);
    await other.create('/gone-on-close', undefined, undefined, CreateMode.EPHEMERAL);
    expect(await zk.exists('/gone-on-close')).not.toBeNull();
    await other.close();
    await until(async () => (await zk.exists('/gone-on-close')) === null);
  });

  it('expires a silent session, removes its ephemerals and tells the client', async () => {
    const proxy = await FreezableProxy.start(server.address());
    // tickTime is 200 ms, so a 1 s timeout is granted as asked.
    const other = await Zk.connect(proxy.port, { sessionTimeout: 1000 });
    try {
      expect(other.raw.getSessionTimeout()).toBe(1000);
      await other.create('/gone-on-expiry', undefined, undefined, CreateMode.EPHEMERAL);
      proxy.freeze();
      await until(async () => (await zk.exists('/gone-on-expiry')) === null, 5000);
      // The client hears of it when it reconnects straight to the server.
      await proxy.close();
      other.raw.connectionManager.servers = [{ host: '127.0.0.1', port }];
      await until(() => other.events.includes('EXPIRED'), 10_000);
    } finally {
      other.raw.close();
    }
  });

  it('answers four-letter words beside the protocol', async () => {
    const { rawExchange } = await import('./helpers.js');
    expect((await rawExchange(port, Buffer.from('ruok'))).toString()).toBe('imok');
    const srvr = (await rawExchange(port, Buffer.from('srvr'))).toString();
    expect(srvr).toMatch(/^Zookeeper version: /);
    expect(srvr).toMatch(/Mode: standalone/);
    expect(srvr).toMatch(/Node count: \d+/);
  });
});
