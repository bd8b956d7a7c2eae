import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ZabClient } from '@zabkit/client';
import type { PeerStorage } from '@zabkit/core';
import { MemoryStorage } from '@zabkit/storage-memory';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config.js';
import type { PeerChange } from '../src/embed/events.js';
import { configFromOptions, type PeerMember } from '../src/embed/options.js';
import { type EmbeddedPeer, startPeer } from '../src/embed/peer.js';
import { PeerFatalError } from '../src/fatal.js';
import { attachMetrics } from '../src/metrics/registry.js';
import { PeerDriver } from '../src/peer-driver.js';
import { freePort } from './server-process.js';

const text = (data: Uint8Array | null) => (data === null ? null : new TextDecoder().decode(data));

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('startPeer options are zoo.cfg settings', () => {
  it('resolves to the configuration the equivalent zoo.cfg parses to', () => {
    const members: PeerMember[] = [
      { id: 1, host: '10.0.0.1', port: 2888 },
      { id: 2, host: '10.0.0.2', port: 2888 },
      { id: 3, host: '10.0.0.3', port: 2888, observer: true },
    ];
    const { config } = configFromOptions({
      id: 2,
      peers: members,
      dataDir: '/var/lib/app',
      tickTime: 500,
      initLimit: 7,
      syncLimit: 3,
      snapCount: 5000,
      maxSessionTimeout: 9000,
      clientPort: { port: 2181, host: '127.0.0.1' },
      fourLetterWords: new Set(['ruok']), // srvr is always on, as zoo.cfg's whitelist has it
      systemProperties: { forceSync: false },
    });
    const { config: fromFile } = parseConfig(
      [
        'tickTime=500',
        'initLimit=7',
        'syncLimit=3',
        'dataDir=/var/lib/app',
        'snapCount=5000',
        'maxSessionTimeout=9000',
        'clientPort=2181',
        'clientPortAddress=127.0.0.1',
        '4lw.commands.whitelist=ruok',
        'forceSync=no',
        // An embedded peer opens no admin server unless `adminServer` asks for one.
        'admin.enableServer=false',
        'server.1=10.0.0.1:2888:3888',
        'server.2=10.0.0.2:2888:3888',
        'server.3=10.0.0.3:2888:3888:observer',
      ].join('\n'),
      { myid: 2 },
    );
    // The one difference: zabkit elects over the peer port, so members name no election port.
    const withoutElectionPorts = (servers: typeof config.servers) =>
      [...servers.values()].map(({ electionPort: _unused, ...server }) => server);
    expect(withoutElectionPorts(config.servers)).toEqual(withoutElectionPorts(fromFile.servers));
    expect({ ...config, servers: undefined }).toEqual({ ...fromFile, servers: undefined });
    expect(config.minSessionTimeout).toBe(1000); // 2 ticks, the zoo.cfg default
  });

  it('defaults as zoo.cfg does, with initLimit and syncLimit filled in for an ensemble', () => {
    const { config } = configFromOptions({
      id: 1,
      peers: [1, 2, 3].map((id) => ({ id, host: '127.0.0.1', port: 3000 + id })),
      dataDir: '/d',
    });
    expect([config.tickTime, config.initLimit, config.syncLimit]).toEqual([3000, 10, 5]);
    expect(config.clientPort).toBeUndefined();
    expect(config.maxClientCnxns).toBe(60);
    const alone = configFromOptions({ id: 1, dataDir: '/d' }).config;
    expect(alone.servers.size).toBe(0);
  });

  it('refuses a bad option with a ConfigError naming it', () => {
    const bad = (options: Parameters<typeof configFromOptions>[0]) => {
      try {
        configFromOptions(options);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).key;
      }
      throw new Error('accepted');
    };
    expect(bad({ id: 1, dataDir: '/d', tickTime: 0 })).toBe('tickTime');
    expect(bad({ id: 1, dataDir: '/d', tickTime: 1.5 })).toBe('tickTime');
    expect(bad({ id: 1, dataDir: '/d', minSessionTimeout: 9000, maxSessionTimeout: 4000 })).toBe(
      'minSessionTimeout',
    );
    expect(bad({ id: 4, dataDir: '/d', peers: [1, 2, 3].map((id) => ({ id, host: 'h', port: 1 })) })).toBe(
      'myid',
    );
    expect(
      bad({
        id: 1,
        dataDir: '/d',
        peers: [
          { id: 1, host: 'h', port: 70000 },
          { id: 2, host: 'h', port: 1 },
        ],
      }),
    ).toBe('peers[id 1].port');
    expect(bad({ id: 1, dataDir: '' })).toBe('dataDir');
    expect(bad({ id: 1, dataDir: '/d', fourLetterWords: new Set(['rm -rf']) })).toBe(
      '4lw.commands.whitelist',
    );
  });
});

describe('three embedded peers over TCP, each durable on its own LevelDB', () => {
  const peers = new Map<number, EmbeddedPeer>();
  const clients: ZabClient[] = [];
  let members: PeerMember[] = [];
  let root = '';

  const start = async (id: number) => {
    const peer = await startPeer({
      id,
      peers: members,
      dataDir: join(root, `peer-${id}`),
      tickTime: 100,
    });
    peers.set(id, peer);
    return peer;
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'zabkit-embed-'));
    const ports = await Promise.all(Array.from({ length: 6 }, () => freePort()));
    members = [1, 2, 3].map((id) => ({
      id,
      host: '127.0.0.1',
      port: ports[id - 1]!,
      clientPort: ports[id + 2]!,
    }));
    await Promise.all([1, 2, 3].map(start));
    await Promise.all([...peers.values()].map((peer) => peer.ready({ timeoutMs: 20_000 })));
  }, 30_000);

  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    for (const peer of peers.values()) await peer.close();
    await rm(root, { recursive: true, force: true });
  });

  const leaderOf = () => [...peers.values()].find((peer) => peer.status().role === 'leading');

  it('elects one leader; status says who, and the client port opens as its member entry lists', async () => {
    await until(() => leaderOf() !== undefined);
    const leader = leaderOf()!;
    for (const peer of peers.values()) {
      const status = peer.status();
      expect(status.serving).toBe(true);
      expect(status.sync).toBe('synced');
      expect(status.leaderId).toBe(leader.id);
      expect(status.role).toBe(peer === leader ? 'leading' : 'following');
      expect(status.fatal).toBeUndefined();
      expect(peer.address()?.port).toBe(members[peer.id - 1]!.clientPort);
    }
  });

  it('serves in-process clients: writes through any peer, reads from the local replica', async () => {
    const follower = [...peers.values()].find((peer) => peer.status().role === 'following')!;
    const other = [...peers.values()].find(
      (peer) => peer !== follower && peer.status().role === 'following',
    )!;
    const a = await follower.client({ sessionTimeoutMs: 4000 });
    const b = await other.client({ sessionTimeoutMs: 4000 });
    clients.push(a, b);
    await a.create('/config', 'v1');
    await b.sync('/config');
    expect(text((await b.getData('/config')).data)).toBe('v1');
    const before = follower.status();
    expect(before.sessions).toBeGreaterThanOrEqual(2);
    expect(before.connections).toBeGreaterThanOrEqual(1);
    expect(before.zxid).toBeGreaterThan(0n);
  });

  it('keeps answering when the leader goes; its own clients fall back to the others over TCP', async () => {
    const leader = leaderOf()!;
    const survivor = [...peers.values()].find((peer) => peer !== leader)!;
    const changes: PeerChange[] = [];
    survivor.on('change', (change) => changes.push(change));
    const viaLeader = await leader.client({ sessionTimeoutMs: 6000 });
    const viaSurvivor = await survivor.client({ sessionTimeoutMs: 6000 });
    clients.push(viaLeader, viaSurvivor);
    await viaLeader.create('/mine', 'x', { mode: 'ephemeral' });
    const sessionId = viaLeader.sessionId;

    const leaderChanges: PeerChange[] = [];
    leader.on('change', (change) => leaderChanges.push(change));
    // A write in flight when the leader closes commits: the leader hands over only after it.
    const inFlight = viaLeader.create('/in-flight', 'x');
    await new Promise((resolve) => setImmediate(resolve));
    await leader.close();
    await expect(inFlight).resolves.toBe('/in-flight');
    expect(leaderChanges.at(-1)).toEqual({ kind: 'closed', departure: 'handedOver' });
    expect(leader.status().role).toBe('stopped');
    expect(leader.status().serving).toBe(false);
    await until(() => {
      const next = leaderOf();
      return next !== undefined && next !== leader && next.status().serving;
    });
    await survivor.ready({ timeoutMs: 20_000 });
    // The in-process client of the closed peer resumes its session over TCP elsewhere.
    await until(() => viaLeader.state === 'connected' && viaSurvivor.state === 'connected');
    await viaLeader.setData('/mine', 'still mine');
    expect(viaLeader.sessionId).toBe(sessionId);
    await viaSurvivor.sync('/mine');
    expect(text((await viaSurvivor.getData('/mine')).data)).toBe('still mine');
    expect(changes.some((change) => change.kind === 'leader' && change.previous === leader.id)).toBe(true);
    expect(changes.some((change) => change.kind === 'role')).toBe(true);

    peers.delete(leader.id);
    const back = await start(leader.id);
    await back.ready({ timeoutMs: 20_000 });
    // Durable: it comes back from its own disk and catches up.
    await until(() => back.status().zxid >= survivor.status().zxid);
    const local = await back.client({ sessionTimeoutMs: 4000 });
    clients.push(local);
    expect(text((await local.getData('/mine')).data)).toBe('still mine');
  }, 60_000);
});

describe('a transport that refuses a message', () => {
  it('stops the peer as a broken invariant instead of throwing out of the driver', async () => {
    const driver = await PeerDriver.start({
      peer: { serverId: 1, voters: [1, 2, 3], sessionSecret: new Uint8Array(32), startTimeMs: Date.now() },
      storage: new MemoryStorage(),
      transport: {
        serverId: 1,
        send: () => {
          throw new RangeError('notification.vote.leader: out of range');
        },
        listen: () => undefined,
        close: () => undefined,
      },
    });
    const fatal = await new Promise<PeerFatalError>((resolve) => {
      if (driver.fatalError !== undefined) resolve(driver.fatalError);
      driver.onFatal(resolve);
    });
    expect(fatal.reason).toBe('invariant');
    expect(fatal.message).toMatch(/out of range/);
    expect(driver.isStopped).toBe(true);
  });
});

describe('an observer among embedded peers', () => {
  it('observes, serves its in-process clients and forwards their writes; a follower leaving hands nothing over', async () => {
    const ports = await Promise.all(Array.from({ length: 3 }, () => freePort()));
    const members: PeerMember[] = [
      { id: 1, host: '127.0.0.1', port: ports[0]! },
      { id: 2, host: '127.0.0.1', port: ports[1]! },
      { id: 3, host: '127.0.0.1', port: ports[2]!, observer: true },
    ];
    const started = await Promise.all(
      members.map((member) =>
        startPeer({ id: member.id, peers: members, dataDir: '/unused', storage: 'memory', tickTime: 100 }),
      ),
    );
    try {
      await Promise.all(started.map((peer) => peer.ready({ timeoutMs: 20_000 })));
      const observer = started[2]!;
      expect(observer.status().role).toBe('observing');
      const zk = await observer.client({ sessionTimeoutMs: 4000 });
      await zk.create('/seen-by-all', 'x');
      await zk.sync('/seen-by-all');
      expect(text((await zk.getData('/seen-by-all')).data!)).toBe('x');
      await zk.close();
      const follower = started.find((peer) => peer.status().role === 'following')!;
      const closed = new Promise<PeerChange>((resolve) =>
        follower.on('change', (change) => change.kind === 'closed' && resolve(change)),
      );
      await follower.close();
      expect(await closed).toEqual({ kind: 'closed', departure: 'left' });
    } finally {
      for (const peer of started) await peer.close();
    }
  }, 30_000);
});

describe('an embedded peer alone', () => {
  let peer: EmbeddedPeer | undefined;
  afterEach(async () => {
    await peer?.close();
    peer = undefined;
  });

  it('runs standalone in memory with no client port, and iterates its changes until closed', async () => {
    peer = await startPeer({ id: 7, dataDir: '/unused', storage: 'memory', tickTime: 100 });
    expect(peer.address()).toBeUndefined();
    const changes = peer.changes();
    await peer.ready({ timeoutMs: 5000 });
    const status = peer.status();
    expect([status.role, status.leaderId, status.serving]).toEqual(['leading', 7, true]);
    const zk = await peer.client();
    await zk.create('/a', 'b');
    expect(text((await zk.getData('/a')).data)).toBe('b');
    await zk.close();
    await peer.close();
    const seen: PeerChange[] = [];
    for await (const change of changes) seen.push(change);
    expect(seen.at(-1)).toEqual({ kind: 'closed', departure: 'handedOver' });
    expect(seen).toContainEqual({ kind: 'role', role: 'stopped', previous: 'leading' });
    await expect(peer.ready()).rejects.toThrow(/closed/);
  });

  it('fails an iterator whose consumer falls behind its bound rather than drop a change', async () => {
    peer = await startPeer({ id: 1, dataDir: '/unused', storage: 'memory', tickTime: 100 });
    const changes = peer.changes({ bufferMax: 1 });
    await peer.close();
    await expect(changes.next()).resolves.toMatchObject({ value: { kind: 'role' } });
    await expect(changes.next()).rejects.toThrow(/fell more than 1/);
  });

  it('reports a failed store as fatal: the event, ready() and status()', async () => {
    const memory = new MemoryStorage();
    let failing = false;
    const storage = new Proxy(memory, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (failing && (key === 'append' || key === 'apply'))
            return Promise.reject(Object.assign(new Error('disk full'), { code: 'ENOSPC' }));
          return value.apply(target, args);
        };
      },
    }) as PeerStorage;
    peer = await startPeer({ id: 1, dataDir: '/unused', storage, tickTime: 100 });
    await peer.ready();
    const fatal = new Promise<PeerFatalError>((resolve) => peer!.once('fatal', resolve));
    const zk = await peer.client();
    failing = true;
    void zk.create('/x', '').catch(() => undefined);
    const error = await fatal;
    expect(error).toBeInstanceOf(PeerFatalError);
    expect(error.reason).toBe('storage');
    const status = peer.status();
    expect(status.role).toBe('stopped');
    expect(status.lastError).toMatch(/disk full/);
    await expect(peer.ready()).rejects.toBe(error);
    await zk.close().catch(() => undefined);
  });

  it('attaches a metrics provider that reads the running peer and is closed with it', async () => {
    let closedWith: number | undefined;
    peer = await startPeer({
      id: 3,
      dataDir: '/unused',
      storage: 'memory',
      tickTime: 100,
      metrics: (source) => ({
        read: () => source.status().zxid,
        close: () => {
          closedWith = source.id;
        },
      }),
    });
    await peer.ready();
    let detached = false;
    const gauge = peer.attachMetrics((source) => ({
      role: () => source.status().role,
      detach: () => {
        detached = true;
      },
    }));
    expect(gauge.role()).toBe('leading');
    await peer.close();
    expect(closedWith).toBe(3);
    expect(detached).toBe(true);
    expect(() => peer!.attachMetrics(() => ({}))).toThrow(/closed/);
  });

  it("plugs the Prometheus registry in: ZooKeeper's metric names, read off the embedded peer", async () => {
    peer = await startPeer({ id: 1, dataDir: '/unused', storage: 'memory', tickTime: 100 });
    await peer.ready();
    const metrics = peer.attachMetrics((source) => attachMetrics(source.node));
    const zk = await peer.client();
    await zk.create('/counted', '');
    await zk.close();
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^znode_count \d+$/m);
    expect(text).toMatch(/^# TYPE/m);
  });
});
