/** The client against an in-process server: the promise API, sessions, watches, errors. */
import {
  digestOf,
  ErrorCode,
  Perms,
  TransactionError,
  type WatchedEvent,
  type ZabClient,
  ZabError,
} from '@zabkit/client';
import { LocalServer } from '@zabkit/server';
import { afterEach, describe, expect, it } from 'vitest';

const text = (data: Uint8Array | null) => (data === null ? null : new TextDecoder().decode(data));
const servers: LocalServer[] = [];
function start(options: Parameters<typeof LocalServer.start>[0] = {}): LocalServer {
  const server = LocalServer.start({ tickTimeMs: 50, ...options });
  servers.push(server);
  return server;
}
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function rejection(promise: Promise<unknown>): Promise<ZabError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ZabError);
    return error as ZabError;
  }
  throw new Error('expected a rejection');
}

function nextEvent(register: (listener: (event: WatchedEvent) => void) => unknown): Promise<WatchedEvent> {
  return new Promise((resolve) => {
    register(resolve);
  });
}

const until = async (condition: () => boolean, timeoutMs = 5000) => {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe('the promise API', () => {
  it('creates, reads, updates and deletes with ZooKeeper results', async () => {
    const zk = await start().client();
    expect(await zk.create('/a', 'one')).toBe('/a');
    const { data, stat } = await zk.getData('/a');
    expect(text(data)).toBe('one');
    expect(stat.version).toBe(0);
    expect((await zk.setData('/a', 'two', 0)).version).toBe(1);
    expect((await zk.exists('/a'))?.dataLength).toBe(3);
    expect(await zk.exists('/missing')).toBeNull();
    await zk.create('/a/c2');
    await zk.create('/a/c1');
    expect(await zk.getChildren('/a')).toEqual(['c1', 'c2']);
    expect(await zk.getAllChildrenNumber('/a')).toBe(2);
    const seq = await zk.create('/a/s-', undefined, { mode: 'persistentSequential' });
    expect(seq).toBe('/a/s-0000000002');
    const created = await zk.create2('/b', new Uint8Array([1, 2, 3]));
    expect(created.stat.dataLength).toBe(3);
    await zk.sync('/a');
    await zk.delete('/b', 0);
    expect(await zk.exists('/b')).toBeNull();
  });

  it('rejects with a typed ZabError carrying ZooKeeper code and name', async () => {
    const zk = await start().client();
    await zk.create('/a');
    await zk.create('/a/b');
    const notEmpty = await rejection(zk.delete('/a'));
    expect(notEmpty.code).toBe(ErrorCode.NotEmpty);
    expect(notEmpty.is('NotEmpty')).toBe(true);
    expect(notEmpty.path).toBe('/a');
    expect((await rejection(zk.create('/a'))).codeName).toBe('NodeExists');
    expect((await rejection(zk.setData('/a', 'x', 9))).codeName).toBe('BadVersion');
    expect((await rejection(zk.getData('/nope'))).codeName).toBe('NoNode');
    expect((await rejection(zk.create('bad'))).codeName).toBe('BadArguments');
    expect((await rejection(zk.create('/x', '', { mode: 'persistentWithTtl' }))).codeName).toBe(
      'BadArguments',
    );
  });

  it('creates TTL and container nodes', async () => {
    const zk = await start().client();
    await zk.create('/ttl', 'x', { mode: 'persistentWithTtl', ttlMs: 60_000 });
    await zk.create('/box', '', { mode: 'container' });
    // Both exist; clients see owner 0 for them, as ZooKeeper's copyStat shows it.
    expect((await zk.exists('/ttl'))?.ephemeralOwner).toBe(0n);
    expect((await zk.exists('/box'))?.ephemeralOwner).toBe(0n);
  });

  it('runs a transaction atomically and reports the failing op', async () => {
    const zk = await start().client();
    await zk.create('/a', 'v');
    const results = await zk.transaction().create('/a/b').setData('/a', 'w', 0).check('/a', 1).commit();
    expect(results.map((r) => r.op)).toEqual(['create', 'setData', 'check']);
    const error = await rejection(zk.transaction().create('/a/c').delete('/a/b', 5).create('/a/d').commit());
    expect(error).toBeInstanceOf(TransactionError);
    const failed = error as TransactionError;
    expect(failed.codeName).toBe('BadVersion');
    expect(failed.failedIndex).toBe(1);
    expect(failed.path).toBe('/a/b');
    expect(failed.results.map((r) => (r.op === 'error' ? r.code : r.op))).toEqual([0, -103, -2]);
    expect(await zk.exists('/a/c')).toBeNull();
  });

  it('multiRead answers each read on its own', async () => {
    const zk = await start().client();
    await zk.create('/a', 'A');
    const results = await zk.multiRead([
      { op: 'getData', path: '/a', watch: false },
      { op: 'getChildren', path: '/nope', watch: false },
    ]);
    expect(results[0]?.op).toBe('getData');
    expect(results[1]).toEqual({ op: 'error', code: ErrorCode.NoNode });
  });
});

describe('watches', () => {
  it('a one-shot data watch fires once for the change another session makes', async () => {
    const server = start();
    const watcher = await server.client();
    const writer = await server.client();
    await writer.create('/a');
    const events: WatchedEvent[] = [];
    await watcher.getData('/a', { watch: (event) => events.push(event) });
    await writer.setData('/a', '1');
    await writer.setData('/a', '2');
    await watcher.sync();
    expect(events).toEqual([{ type: 'NodeDataChanged', path: '/a' }]);
  });

  it('exists on a missing node watches for its creation; getChildren for its children', async () => {
    const server = start();
    const zk = await server.client();
    const created = nextEvent((listener) => zk.exists('/later', { watch: listener }));
    await zk.create('/later');
    expect(await created).toEqual({ type: 'NodeCreated', path: '/later' });
    const child = nextEvent((listener) => zk.getChildren('/later', { watch: listener }));
    await zk.create('/later/kid');
    expect(await child).toEqual({ type: 'NodeChildrenChanged', path: '/later' });
  });

  it('delivers an event before the reply to a read that shows the change', async () => {
    const server = start();
    const zk = await server.client();
    const other = await server.client();
    await zk.create('/a', 'old');
    const seen: string[] = [];
    await zk.getData('/a', { watch: () => seen.push('event') });
    await other.setData('/a', 'new');
    const { data } = await zk.getData('/a');
    seen.push(`read ${text(data)}`);
    expect(seen).toEqual(['event', 'read new']);
  });

  it('a persistent recursive watch as an async iterator, removed when the loop ends', async () => {
    const server = start();
    const zk = await server.client();
    await zk.create('/tree');
    const stream = zk.watch('/tree', { recursive: true });
    await stream.ready();
    await zk.create('/tree/a');
    await zk.setData('/tree/a', 'x');
    await zk.delete('/tree/a');
    const seen: WatchedEvent[] = [];
    for await (const event of stream) {
      seen.push(event);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual([
      { type: 'NodeCreated', path: '/tree/a' },
      { type: 'NodeDataChanged', path: '/tree/a' },
      { type: 'NodeDeleted', path: '/tree/a' },
    ]);
    expect((await rejection(zk.checkWatches('/tree', 'persistentRecursive'))).codeName).toBe('NoWatcher');
  });

  it('removeWatches by listener keeps the server watch while other listeners remain', async () => {
    const zk = await start().client();
    await zk.create('/a');
    const first: WatchedEvent[] = [];
    const second: WatchedEvent[] = [];
    const one = (event: WatchedEvent) => first.push(event);
    const two = (event: WatchedEvent) => second.push(event);
    await zk.addWatch('/a', one);
    await zk.addWatch('/a', two);
    await zk.removeWatches('/a', 'persistent', one);
    await zk.checkWatches('/a', 'persistent');
    await zk.setData('/a', 'x');
    await zk.sync();
    expect(first).toEqual([]);
    expect(second).toEqual([{ type: 'NodeDataChanged', path: '/a' }]);
    await zk.removeWatches('/a', 'persistent', two);
    expect((await rejection(zk.checkWatches('/a', 'persistent'))).codeName).toBe('NoWatcher');
  });

  it('a throwing listener does not stop the others', async () => {
    const errors: unknown[] = [];
    const server = start();
    const zk = await server.client({ onListenerError: (error) => errors.push(error) });
    await zk.create('/a');
    const delivered: string[] = [];
    await zk.addWatch('/a', () => {
      throw new Error('boom');
    });
    await zk.addWatch('/a', () => delivered.push('second'));
    await zk.setData('/a', 'x');
    await zk.sync();
    expect(delivered).toEqual(['second']);
    expect(errors).toHaveLength(1);
  });
});

describe('sessions', () => {
  it('an ephemeral vanishes when its session closes; the client is then closed', async () => {
    const server = start();
    const owner = await server.client();
    const observer = await server.client();
    await owner.create('/e', '', { mode: 'ephemeral' });
    expect(await owner.getEphemerals()).toEqual(['/e']);
    const gone = nextEvent((listener) => observer.exists('/e', { watch: listener }));
    await owner.close();
    expect(await gone).toEqual({ type: 'NodeDeleted', path: '/e' });
    expect(owner.state).toBe('closed');
    expect((await rejection(owner.getData('/'))).codeName).toBe('ConnectionLoss');
  });

  it('a silent session expires: state expired, ephemerals gone, streams fail', async () => {
    const server = start({ tickTimeMs: 20 });
    const silent = await server.client({ sessionTimeoutMs: 100, heartbeat: false });
    const observer = await server.client({ sessionTimeoutMs: 5000 });
    expect(silent.sessionTimeoutMs).toBe(100);
    await silent.create('/e', '', { mode: 'ephemeral' });
    const stream = silent.watch('/', { recursive: true });
    await stream.ready();
    const states: string[] = [];
    silent.onStateChange((state) => states.push(state));
    const gone = nextEvent((listener) => observer.exists('/e', { watch: listener }));
    expect(await gone).toEqual({ type: 'NodeDeleted', path: '/e' });
    await until(() => silent.state === 'expired');
    expect(states).toEqual(['expired']);
    expect((await rejection(silent.getData('/'))).codeName).toBe('SessionExpired');
    // Events that arrived before the expiry are still handed out, then the stream fails.
    expect(await stream.next()).toEqual({ value: { type: 'NodeDeleted', path: '/e' }, done: false });
    expect((await rejection(stream.next())).codeName).toBe('SessionExpired');
  });

  it('heartbeats keep an idle session alive well past its timeout', async () => {
    const server = start({ tickTimeMs: 20 });
    const zk = await server.client({ sessionTimeoutMs: 120 });
    await zk.create('/e', '', { mode: 'ephemeral' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(zk.state).toBe('connected');
    expect(await zk.exists('/e')).not.toBeNull();
  });

  it('reconnects after a lost link with the same session, re-registering watches and auth', async () => {
    const server = start();
    const zk = await server.client();
    const writer = await server.client();
    await zk.addAuth('digest', 'alice:secret');
    await zk.create('/private', 'x', {
      acl: [{ perms: Perms.All, id: { scheme: 'digest', id: digestOf('alice', 'secret') } }],
    });
    await zk.create('/e', '', { mode: 'ephemeral' });
    const events: WatchedEvent[] = [];
    await zk.addWatch('/w', (event) => events.push(event));
    const sessionId = zk.sessionId;
    const states: string[] = [];
    zk.onStateChange((state) => states.push(state));
    zk.simulateConnectionLoss();
    expect(zk.state).toBe('disconnected');
    expect((await rejection(zk.getData('/'))).codeName).toBe('ConnectionLoss');
    await until(() => zk.state === 'connected');
    expect(states).toEqual(['disconnected', 'connected']);
    expect(zk.sessionId).toBe(sessionId);
    expect(await zk.exists('/e')).not.toBeNull();
    expect(text((await zk.getData('/private')).data)).toBe('x');
    await writer.create('/w');
    await zk.sync();
    expect(events).toEqual([{ type: 'NodeCreated', path: '/w' }]);
  });

  it('resumes a session by id and password from another client object', async () => {
    const server = start();
    const first = await server.client();
    await first.create('/e', '', { mode: 'ephemeral' });
    const second = await server.client({ sessionId: first.sessionId, password: first.sessionPassword });
    expect(second.sessionId).toBe(first.sessionId);
    expect((await second.exists('/e'))?.ephemeralOwner).toBe(first.sessionId);
    const wrong = server.client({ sessionId: first.sessionId, password: new Uint8Array(16) });
    expect((await rejection(wrong)).codeName).toBe('SessionExpired');
  });

  it('whoAmI shows the session identities', async () => {
    const zk = await start().client({ clientAddress: '10.0.0.7' });
    await zk.addAuth('digest', 'bob:pw');
    expect(await zk.whoAmI()).toEqual([
      { authScheme: 'ip', user: '10.0.0.7' },
      { authScheme: 'digest', user: 'bob' },
    ]);
    expect((await rejection(zk.addAuth('digest', 'nocolon'))).codeName).toBe('AuthFailed');
  });

  it('a closed server fails pending and new requests with ConnectionLoss', async () => {
    const server = start();
    const zk = await server.client({ sessionTimeoutMs: 1000 });
    server.close();
    expect(zk.state).toBe('disconnected');
    expect((await rejection(zk.getData('/'))).codeName).toBe('ConnectionLoss');
    await zk.close();
    expect(zk.state).toBe('closed');
  });
});

describe('pipelining', () => {
  it('many concurrent writes from one client all land, in order', async () => {
    const zk: ZabClient = await start().client();
    await zk.create('/q');
    const paths = await Promise.all(
      Array.from({ length: 200 }, () => zk.create('/q/n-', undefined, { mode: 'persistentSequential' })),
    );
    expect(paths).toEqual(Array.from({ length: 200 }, (_v, i) => `/q/n-${String(i).padStart(10, '0')}`));
  });
});
