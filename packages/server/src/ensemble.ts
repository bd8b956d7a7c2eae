/**
 * An ensemble inside one process: N ZAB peers on the memory transport and memory storage,
 * each driven by real timers. A Node service embeds it in a few lines, hands out clients
 * that fail over between servers, and can kill and restart servers to see ZAB at work.
 */
import { randomBytes } from 'node:crypto';
import {
  type ClientLink,
  type ClientOptions,
  type LinkFactory,
  type LinkHandlers,
  ZabClient,
} from '@zabkit/client';
import type { PeerStorage, ServerId, ZabPeerOptions } from '@zabkit/core';
import { MemoryStorage } from '@zabkit/storage-memory';
import { MemoryNetwork } from '@zabkit/transport-memory';
import type { PeerFatalError } from './fatal.js';
import type { Logger } from './log.js';
import { PeerDriver } from './peer-driver.js';

/** The shape of an in-process ensemble: voters, observers, tick time, peer options, storage. */
export interface EnsembleOptions {
  /** Voting servers, ids 1..servers. */
  readonly servers: number;
  /** Observers, ids servers+1..servers+observers. */
  readonly observers?: number;
  /** Default 100 ms: quick failover for an in-process ensemble. */
  readonly tickTimeMs?: number;
  /**
   * Opens server `id`'s storage, at start and again at each restart (after the previous one
   * was closed): LevelDB directories for a durable ensemble. Default: memory, kept across restarts.
   */
  readonly storage?: (id: ServerId) => Promise<PeerStorage>;
  /** Anything else a peer takes (limits, snapCount, session bounds...). */
  readonly peer?: Partial<
    Omit<ZabPeerOptions, 'serverId' | 'voters' | 'observers' | 'sessionSecret' | 'startTimeMs'>
  >;
  /** Where each server logs its elections, role changes and quorum losses. Default: nowhere. */
  readonly log?: (id: ServerId) => Logger;
}

/** An in-process ensemble: clients, the leader, and servers to kill and restart. */
export interface Ensemble {
  /** A client whose session fails over between the servers that are up. */
  client(options?: ClientOptions & { servers?: readonly ServerId[] }): Promise<ZabClient>;
  /** The id of the current established leader, if there is one. */
  leader(): ServerId | undefined;
  /** Resolves with the leader's id once one is established. */
  waitForLeader(timeoutMs?: number): Promise<ServerId>;
  /** Stops a server as a crash would; its storage is kept for `restart`. */
  kill(id: ServerId): Promise<void>;
  /** Starts a killed server again from its storage. */
  restart(id: ServerId): Promise<void>;
  /**
   * Every server id with whether it is up, its role and the zxid it has applied; a server
   * whose peer stopped for good is down and carries the `fatal` error it stopped with.
   */
  servers(): { id: ServerId; up: boolean; role: string; appliedZxid: bigint; fatal?: PeerFatalError }[];
  /** The driver of a running server, for tests and tools. */
  driver(id: ServerId): PeerDriver | undefined;
  /** The memory network, to cut links in tests. */
  readonly network: MemoryNetwork;
  /** Stops every server and closes their storage. */
  close(): Promise<void>;
}

/** Starts an ensemble of ZAB peers in this process on the memory transport. */
export async function startEnsemble(options: EnsembleOptions): Promise<Ensemble> {
  if (!Number.isInteger(options.servers) || options.servers < 1)
    throw new RangeError('servers must be a positive integer');
  const observers = options.observers ?? 0;
  if (!Number.isInteger(observers) || observers < 0)
    throw new RangeError('observers must be a non-negative integer');
  const voters = Array.from({ length: options.servers }, (_v, i) => i + 1);
  const observerIds = Array.from({ length: observers }, (_v, i) => options.servers + i + 1);
  const tickTimeMs = options.tickTimeMs ?? 100;
  const network = new MemoryNetwork();
  const secret = new Uint8Array(randomBytes(32));
  const storages = new Map<ServerId, MemoryStorage>();
  const opened = new Set<ServerId>();
  const drivers = new Map<ServerId, PeerDriver>();
  let closed = false;

  const peerOptions = (id: ServerId): ZabPeerOptions => ({
    tickTimeMs,
    electionFinalizeWaitMs: Math.max(10, Math.floor(tickTimeMs / 2)),
    electionResendIntervalMs: tickTimeMs,
    ...options.peer,
    serverId: id,
    voters,
    observers: observerIds,
    sessionSecret: secret,
    startTimeMs: Date.now(),
  });

  const startServer = async (id: ServerId) => {
    let storage: PeerStorage;
    if (options.storage !== undefined) {
      storage = await options.storage(id);
      opened.add(id);
    } else {
      const previous = storages.get(id);
      const memory = previous === undefined ? new MemoryStorage() : previous.reopen();
      storages.set(id, memory);
      storage = memory;
    }
    drivers.set(
      id,
      await PeerDriver.start({
        peer: peerOptions(id),
        storage,
        transport: network.endpoint(id),
        ...(options.log === undefined ? {} : { log: options.log(id) }),
      }),
    );
  };

  for (const id of [...voters, ...observerIds]) await startServer(id);

  const leader = () => {
    for (const [id, driver] of drivers) {
      if (driver.fatalError !== undefined) continue;
      const status = driver.peer.status();
      if (status.role === 'leading' && status.serving) return id;
    }
    return undefined;
  };

  const ensemble: Ensemble = {
    network,
    async client(clientOptions = {}) {
      const candidates = clientOptions.servers ?? [...voters, ...observerIds];
      const links: LinkFactory = {
        open(handlers: LinkHandlers, attempt: number): ClientLink {
          // Spread clients over servers and move on to the next server on every retry.
          const offset = (attempt + startOffset) % candidates.length;
          for (let i = 0; i < candidates.length; i++) {
            const driver = drivers.get(candidates[(offset + i) % candidates.length]!);
            if (driver !== undefined) return driver.open(handlers);
          }
          return deadLink(handlers);
        },
      };
      const startOffset = nextClientOffset++;
      return ZabClient.connect(links, { sessionTimeoutMs: 10 * tickTimeMs * 2, ...clientOptions });
    },
    leader,
    async waitForLeader(timeoutMs = 10_000) {
      const started = Date.now();
      for (;;) {
        const id = leader();
        if (id !== undefined) return id;
        if (Date.now() - started > timeoutMs) throw new Error(`no leader within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, Math.max(1, tickTimeMs / 4)));
      }
    },
    async kill(id) {
      const driver = drivers.get(id);
      if (driver === undefined) return;
      drivers.delete(id);
      await driver.stop();
    },
    async restart(id) {
      if (closed) throw new Error('the ensemble is closed');
      if (drivers.has(id)) return;
      if (!storages.has(id) && !opened.has(id)) throw new RangeError(`no server ${id}`);
      await startServer(id);
    },
    servers() {
      return [...voters, ...observerIds].map((id) => {
        const driver = drivers.get(id);
        const fatal = driver?.fatalError;
        return {
          id,
          up: driver !== undefined && fatal === undefined,
          role: driver === undefined || fatal !== undefined ? 'down' : driver.peer.status().role,
          appliedZxid: driver?.peer.status().lastAppliedZxid ?? 0n,
          ...(fatal === undefined ? {} : { fatal }),
        };
      });
    },
    driver(id) {
      return drivers.get(id);
    },
    async close() {
      closed = true;
      await Promise.all([...drivers.values()].map((driver) => driver.stop()));
      drivers.clear();
    },
  };
  return ensemble;
}

let nextClientOffset = 0;

/** A link to no server at all: it fails at once, and the client tries again later. */
function deadLink(handlers: LinkHandlers): ClientLink {
  return {
    connect: () => setImmediate(() => handlers.closed('lost')),
    send: () => undefined,
    close: () => undefined,
  };
}
