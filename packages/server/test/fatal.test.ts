import { connect as tcpConnect } from 'node:net';
import { ZabClient, ZabError } from '@zabkit/client';
import {
  AssertionError,
  type PeerMessage,
  type PeerStorage,
  type PeerTransport,
  type ServerId,
  type TransportHandlers,
  type Txn,
} from '@zabkit/core';
import { MemoryStorage } from '@zabkit/storage-memory';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  jsonLogger,
  LocalServer,
  PeerDriver,
  PeerFatalError,
  parseConfig,
  ServerNode,
  startEnsemble,
} from '../src/index.js';

/** A memory store whose appends fail once `failing` is set, as a full or broken disk would. */
class FailingStorage extends MemoryStorage {
  failing = false;
  closeCalls = 0;
  readonly failure = Object.assign(new Error('EIO: the disk said no'), { code: 'EIO' });
  override async append(txns: readonly Txn[]): Promise<void> {
    if (this.failing) throw this.failure;
    return super.append(txns);
  }
  override async close(): Promise<void> {
    this.closeCalls++;
    return super.close();
  }
}

class NoPeers implements PeerTransport {
  constructor(readonly serverId: ServerId) {}
  send(_to: ServerId, _message: PeerMessage): void {}
  listen(_handlers: TransportHandlers): void {}
  close(): void {}
}

const create = (zk: ZabClient, path: string) => zk.create(path, '');

/** Sends a four-letter word and reads the answer to the end ('' when the server says nothing). */
function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    let text = '';
    socket.on('connect', () => socket.write(word));
    socket.on('data', (chunk) => {
      text += chunk.toString();
    });
    socket.on('error', () => resolve(text));
    socket.on('close', () => resolve(text));
  });
}

const until = async (condition: () => boolean, timeoutMs = 10_000) => {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startDriver(storage: PeerStorage): Promise<PeerDriver> {
  const driver = await PeerDriver.start({
    peer: { serverId: 1, voters: [1], tickTimeMs: 50, sessionSecret: new Uint8Array([7]), startTimeMs: 0 },
    storage,
    transport: new NoPeers(1),
  });
  cleanups.push(() => driver.stop());
  return driver;
}

async function client(links: PeerDriver | LocalServer): Promise<ZabClient> {
  const zk = await ZabClient.connect(links, { sessionTimeoutMs: 2000 });
  cleanups.push(() => zk.close().catch(() => undefined));
  return zk;
}

describe('a peer that cannot go on stops with a typed fatal error', () => {
  it('a failed storage write: the driver stops, records and reports it once, and clients lose the link', async () => {
    const storage = new FailingStorage();
    const driver = await startDriver(storage);
    const heard: PeerFatalError[] = [];
    driver.onFatal((error) => heard.push(error));
    await until(() => driver.peer.status().serving);
    const zk = await client(driver);
    await create(zk, '/before');
    storage.failing = true;
    const failed = create(zk, '/after').then(
      () => undefined,
      (error: unknown) => error,
    );
    await until(() => driver.fatalError !== undefined);
    const error = driver.fatalError!;
    expect(error).toBeInstanceOf(PeerFatalError);
    expect(error.reason).toBe('storage');
    expect(error.serverId).toBe(1);
    expect(error.cause).toBe(storage.failure);
    expect(error.message).toMatch(/server 1 stopped: its storage failed: EIO/);
    expect(heard).toEqual([error]);
    // The write was never acknowledged: the client hears the connection is gone.
    const outcome = await failed;
    expect(outcome).toBeInstanceOf(ZabError);
    expect((outcome as ZabError).is('ConnectionLoss')).toBe(true);
    // Stopped for good: storage closed, no link accepted any more.
    await until(() => storage.closeCalls === 1);
    const closed = await new Promise<string>((resolve) => {
      driver.open({ message: () => undefined, closed: resolve }).connect({
        sessionId: 0n,
        password: new Uint8Array(16),
        timeoutMs: 2000,
        lastZxidSeen: 0n as never,
        readOnly: false,
        clientAddress: '127.0.0.1',
      });
    });
    expect(closed).toBe('lost');
    expect(heard).toHaveLength(1);
  });

  it('a broken invariant in the core: no uncaught throw, the error reaches the host', async () => {
    const driver = await startDriver(new MemoryStorage());
    await until(() => driver.peer.status().serving);
    const zk = await client(driver);
    const heard: PeerFatalError[] = [];
    driver.onFatal((error) => heard.push(error));
    const broken = new AssertionError('a test breaks the core on purpose');
    vi.spyOn(driver.peer, 'stepAll').mockImplementation(() => {
      throw broken;
    });
    const outcome = await create(zk, '/x').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((outcome as ZabError).is('ConnectionLoss')).toBe(true);
    expect(driver.fatalError?.reason).toBe('invariant');
    expect(driver.fatalError?.cause).toBe(broken);
    expect(heard).toEqual([driver.fatalError]);
  });

  it('a store whose state breaks an invariant: start rejects with the typed error', async () => {
    const storage = new MemoryStorage();
    await storage.writeEpochs({ acceptedEpoch: 1, currentEpoch: 2 });
    const started = PeerDriver.start({
      peer: { serverId: 3, voters: [3], sessionSecret: new Uint8Array([7]), startTimeMs: 0 },
      storage,
      transport: new NoPeers(3),
    });
    await expect(started).rejects.toMatchObject({ name: 'PeerFatalError', reason: 'invariant', serverId: 3 });
    await expect(started).rejects.toBeInstanceOf(PeerFatalError);
  });

  it('an in-process ensemble reports the failed server as down, with its error', async () => {
    const stores = new Map<ServerId, FailingStorage>();
    const ensemble = await startEnsemble({
      servers: 1,
      tickTimeMs: 50,
      storage: async (id) => {
        const store = new FailingStorage();
        stores.set(id, store);
        return store;
      },
    });
    cleanups.push(() => ensemble.close());
    await ensemble.waitForLeader();
    const zk = await ensemble.client({ sessionTimeoutMs: 2000 });
    cleanups.push(() => zk.close().catch(() => undefined));
    stores.get(1)!.failing = true;
    await create(zk, '/x').catch(() => undefined);
    await until(() => ensemble.servers()[0]!.fatal !== undefined);
    expect(ensemble.servers()[0]).toMatchObject({ id: 1, up: false, role: 'down' });
    expect(ensemble.servers()[0]!.fatal?.reason).toBe('storage');
    expect(ensemble.leader()).toBeUndefined();
  });

  it('LocalServer: a broken invariant closes the server and reaches the host, not the client call', async () => {
    const server = LocalServer.start({ tickTimeMs: 50 });
    cleanups.push(() => server.close());
    const zk = await client(server);
    const heard: PeerFatalError[] = [];
    server.onFatal((error) => heard.push(error));
    const broken = new AssertionError('a test breaks the core on purpose');
    vi.spyOn(server.peer, 'step').mockImplementation(() => {
      throw broken;
    });
    const outcome = await create(zk, '/x').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((outcome as ZabError).is('ConnectionLoss')).toBe(true);
    expect(server.fatalError).toMatchObject({ reason: 'invariant', serverId: 1 });
    expect(server.fatalError?.cause).toBe(broken);
    expect(heard).toEqual([server.fatalError]);
  });

  it('zabkit server logs why its peer stopped, and stops answering as healthy', async () => {
    const lines: string[] = [];
    const storage = new FailingStorage();
    const { config } = parseConfig(
      'tickTime=50\ndataDir=/tmp/zabkit-test\nclientPort=0\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n',
    );
    const node = await ServerNode.start({
      config,
      storage,
      log: jsonLogger('info', (line) => lines.push(line)),
    });
    cleanups.push(() => node.close());
    await until(() => node.driver.peer.status().serving);
    const zk = await client(node.driver);
    storage.failing = true;
    await create(zk, '/x').catch(() => undefined);
    await until(() => lines.some((line) => line.includes('peer stopped for good')));
    const record = JSON.parse(lines.find((line) => line.includes('peer stopped for good'))!) as Record<
      string,
      unknown
    >;
    expect(record).toMatchObject({ level: 'error', serverId: 1, reason: 'storage', code: 'EIO' });
    expect(JSON.stringify(record.err)).toMatch(/EIO/);
    expect(node.fatalError?.reason).toBe('storage');
    // Healthy no more: ruok answers nothing, as a ZooKeeper that is not running; the words
    // that report on a running server say it is not one, and why.
    const { port } = node.address();
    expect(await fourLetterWord(port, 'ruok')).toBe('');
    for (const word of ['srvr', 'stat', 'mntr']) {
      const answer = await fourLetterWord(port, word);
      expect(answer, word).toMatch(/^This ZooKeeper instance is not currently serving requests\n/);
      expect(answer, word).toMatch(/zabkit: stopped for good: server 1 stopped: its storage failed: EIO/);
      expect(answer, word).not.toMatch(/Mode: /);
    }
    expect(await fourLetterWord(port, 'isro')).toBe('null');
  });
});
