/**
 * Real ZabClients inside the simulation: their links go through the simulated ensemble and
 * their clock and timers are the world's virtual ones, so code written on the public client
 * API (the recipes above all) runs under the same seeded faults as the core, and replays
 * exactly. The driver steps the world one event at a time and lets promise chains settle
 * between events, so `await` in client code interleaves deterministically with the world.
 */
import {
  type ClientLink,
  type ClientTimers,
  type LinkFactory,
  type LinkHandlers,
  ZabClient,
} from '@zabkit/client';
import {
  type ClientOutput,
  type ClientRequest,
  type ConnectRequest,
  deliverToLink,
  type ServerId,
  type ZabPeerOptions,
} from '@zabkit/core';
import { Rng } from './rng.js';
import { injectFaults } from './run.js';
import { drawFaultRates, type FaultRates, World } from './world.js';

/** Lets every pending promise reaction run: a macrotask turn comes after all microtasks. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

interface OpenLink {
  readonly handlers: LinkHandlers;
  lastHeardMs: number;
  closed: boolean;
}

export interface ClientWorldOptions {
  readonly servers?: number;
  /** Overrides for the fault rates drawn from the seed. */
  readonly rates?: Partial<FaultRates>;
}

/** A simulated ensemble that hands out real clients. */
export class ClientWorld {
  readonly world: World;
  readonly rng: Rng;
  readonly timers: ClientTimers;
  /** The clients' own chance (reconnect jitter), apart from the world's so faults draw the same. */
  private readonly clientRng: Rng;
  private readonly links = new Map<string, OpenLink>();
  private nextConnectionId = 1_000_000;
  private nextClient = 0;

  constructor(
    readonly seed: number,
    options: ClientWorldOptions = {},
  ) {
    this.rng = new Rng(seed);
    this.clientRng = new Rng(seed ^ 0x5eed);
    const rates = {
      ...drawFaultRates(this.rng),
      duplicateProbability: 0,
      reorderProbability: 0,
      ...options.rates,
    };
    const servers = options.servers ?? 3;
    const voters = Array.from({ length: servers }, (_v, i) => i + 1);
    const peerOptions = (id: ServerId): ZabPeerOptions => ({
      serverId: id,
      voters,
      tickTimeMs: 100,
      initLimitTicks: 10,
      syncLimitTicks: 5,
      electionFinalizeWaitMs: 50,
      electionResendIntervalMs: 100,
      snapCount: 40,
      // Where each replica snapshots, between 20 and 40: from the seed, as a driver's randomness.
      snapshotRandomSeed: Math.imul(seed, 31) + id,
      sessionSecret: new Uint8Array([seed & 0xff, 9]),
      startTimeMs: 0,
    });
    this.world = new World(this.rng, rates, voters, peerOptions);
    this.world.observer = { clientOutput: (server, output) => this.route(server, output) };
    const world = this.world;
    this.timers = {
      now: () => world.now,
      setTimeout: (callback, delayMs) => {
        const handle = { cancelled: false };
        world.schedule(Math.max(0, Math.floor(delayMs)), 'client timer', () => {
          if (!handle.cancelled) callback();
        });
        return handle;
      },
      clearTimeout: (handle) => {
        if (handle !== undefined) (handle as { cancelled: boolean }).cancelled = true;
      },
    };
  }

  /**
   * Faults (crashes, partitions, clogging, power loss, lost messages) until `untilMs`, at
   * the seed's rates; then everything heals, as in runSeed's healed phase, and the code
   * under test must make progress again.
   */
  injectFaults(untilMs: number): void {
    injectFaults(this.world, this.rng, untilMs);
    this.world.schedule(Math.max(0, untilMs - this.world.now), 'heal', () => this.heal());
  }

  /** Ends every fault: links restored, every server running. */
  heal(): void {
    this.world.faultsEnabled = false;
    this.world.heal();
    for (const id of this.world.peers.keys()) this.world.restart(id);
  }

  /** A client whose session moves between the simulated servers. */
  client(sessionTimeoutMs = 1500): Promise<ZabClient> {
    const start = this.nextClient++;
    const factory: LinkFactory = {
      open: (handlers, attempt) =>
        this.open(handlers, this.world.voters[(start + attempt) % this.world.voters.length]!),
    };
    return ZabClient.connect(factory, {
      sessionTimeoutMs,
      connectTimeoutMs: 60_000,
      timers: this.timers,
      random: () => this.clientRng.int(0, 0xffff_ffff) / 0x1_0000_0000,
      onListenerError: () => undefined,
    });
  }

  /** Waits `ms` of virtual time. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.world.schedule(Math.max(0, Math.floor(ms)), 'sleep', resolve));
  }

  /**
   * Runs the world until `done` settles or virtual time reaches `untilMs`; resolves with
   * whether `done` finished in time.
   */
  async run(done: Promise<unknown>, untilMs: number): Promise<boolean> {
    let finished = false;
    done.then(
      () => {
        finished = true;
      },
      () => {
        finished = true;
      },
    );
    await settle();
    while (!finished && this.world.runOne(untilMs)) await settle();
    return finished;
  }

  private open(handlers: LinkHandlers, server: ServerId): ClientLink {
    const connectionId = this.nextConnectionId++;
    const key = `${server}:${connectionId}`;
    const link: OpenLink = { handlers, lastHeardMs: this.world.now, closed: false };
    const world = this.world;
    const close = (reason: 'lost') => {
      if (link.closed) return;
      link.closed = true;
      this.links.delete(key);
      handlers.closed(reason);
    };
    if (!world.alive(server)) {
      world.schedule(1, 'link refused', () => close('lost'));
      return { connect() {}, send() {}, close() {} };
    }
    this.links.set(key, link);
    let readTimeoutMs = 1000;
    // Like a TCP client: a server silent for two thirds of the timeout is given up on.
    const watchdog = () => {
      if (link.closed) return;
      if (!world.alive(server) || world.now - link.lastHeardMs > readTimeoutMs) {
        close('lost');
        return;
      }
      world.schedule(Math.max(10, Math.floor(readTimeoutMs / 4)), 'link watchdog', watchdog);
    };
    world.schedule(50, 'link watchdog', watchdog);
    const input = (make: () => Parameters<World['step']>[1]) =>
      world.schedule(1, `link ${key}`, () => {
        if (!link.closed && world.alive(server)) world.step(server, make());
      });
    return {
      connect: (request: ConnectRequest) => {
        readTimeoutMs = Math.max(100, Math.floor((request.timeoutMs * 2) / 3));
        input(() => ({ kind: 'connect', connectionId, request }));
      },
      send: (xid: number, request: ClientRequest) =>
        input(() => ({ kind: 'request', connectionId, xid, request })),
      close: () => {
        if (link.closed) return;
        link.closed = true;
        this.links.delete(key);
        input(() => ({ kind: 'disconnect', connectionId }));
      },
    };
  }

  /** A server's output for a connection reaches the client a millisecond later. */
  private route(server: ServerId, output: ClientOutput): void {
    const key = `${server}:${output.connectionId}`;
    const link = this.links.get(key);
    if (link === undefined) return;
    this.world.schedule(1, `deliver ${key}`, () => {
      if (link.closed) return;
      link.lastHeardMs = this.world.now;
      if (deliverToLink(link.handlers, output)) {
        link.closed = true;
        this.links.delete(key);
      }
    });
  }
}
