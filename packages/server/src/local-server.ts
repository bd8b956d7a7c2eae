/**
 * An in-process zabkit server: a one-voter ZabPeer (the same state machine as every server of
 * an ensemble, and as `zabkit server` runs standalone) driven by real timers, with writes made
 * "durable" in memory. Its Readies go through core's ReadyPipeline, so writes that arrive
 * together share one write and are acknowledged together (group commit), as a disk-backed
 * driver batches fsyncs.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { type ClientOptions, ZabClient } from '@zabkit/client';
import {
  assert,
  type ClientLink,
  type ClientOutput,
  type ClientRequest,
  type ConnectionId,
  type ConnectRequest,
  deliverToLink,
  type Id,
  type LinkFactory,
  type LinkHandlers,
  type PeerInput,
  type PeerReady,
  type ReadRequest,
  ReadyPipeline,
  type ServerOptions,
  ZabPeer,
} from '@zabkit/core';
import { type FatalListener, FatalState, PeerFatalError } from './fatal.js';
import { StepScheduler } from './step-scheduler.js';

/** How an in-process standalone server is set up: the server options, and the clock to run on. */
export interface LocalServerOptions extends Partial<Omit<ServerOptions, 'sessionSecret' | 'startTimeMs'>> {
  /** The wall clock, in milliseconds, read at every step. Default Date.now. */
  readonly clock?: () => number;
  /** The monotonic clock, read at every step. Default performance.now, or `clock` when that is given. */
  readonly monotonicClock?: () => number;
  /** Tick the server from a timer (default true). Tests turn it off and call `tick()`. */
  readonly autoTick?: boolean;
  /** Secret bytes for session passwords; random by default. */
  readonly sessionSecret?: Uint8Array;
  /**
   * Take a snapshot of the in-memory tree after between snapCount/2 and this many writes
   * (ZooKeeper's snapCount). Default: never, since memory is this server's only storage and a
   * snapshot would be copied from the tree only to be dropped.
   */
  readonly snapCount?: number;
  /** Where the snapshot points fall (see the core's `snapshotRandomSeed`). Default: drawn at random. */
  readonly snapshotRandomSeed?: number;
}

/** A snapCount no run reaches: the default, as a memory-only server has nowhere to keep a snapshot. */
const noSnapshots = Number.MAX_SAFE_INTEGER;

/** The server id of a standalone server: a one-voter ensemble of server 1, as `zabkit server` runs. */
const standaloneServerId = 1;

/**
 * An in-process standalone server that clients connect to directly (it is their `LinkFactory`):
 * for tests, examples and embedding. Start it with `LocalServer.start`, stop it with `close`.
 */
export class LocalServer implements LinkFactory {
  /** The pure peer being driven; read it for state, never step it from outside. */
  readonly peer: ZabPeer;
  private readonly pipeline = new ReadyPipeline();
  private readonly clock: () => number;
  private readonly monotonicClock: () => number;
  private readonly links = new Map<ConnectionId, LinkHandlers>();
  private nextConnectionId = 1;
  private readonly inputs: PeerInput[] = [];
  private pumping = false;
  /** A pump is scheduled: inputs that arrive meanwhile wait for it. */
  private scheduled = false;
  /** Steps in a microtask, with a turn of the event loop now and then (timers, I/O). */
  private readonly steps = new StepScheduler();
  private readonly pumpScheduled = () => {
    this.scheduled = false;
    this.pump();
  };
  private timer: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private readonly fatal = new FatalState();

  private constructor(options: LocalServerOptions) {
    this.clock = options.clock ?? Date.now;
    // A test's virtual clock stands for both clocks unless it gives a monotonic one too.
    this.monotonicClock = options.monotonicClock ?? options.clock ?? (() => performance.now());
    const nowMs = this.clock();
    const { clock: _clock, monotonicClock: _monotonicClock, autoTick: _autoTick, ...serverOptions } = options;
    this.peer = new ZabPeer(
      {
        ...serverOptions,
        snapCount: options.snapCount ?? noSnapshots,
        serverId: standaloneServerId,
        voters: [standaloneServerId],
        sessionSecret: options.sessionSecret ?? new Uint8Array(randomBytes(32)),
        snapshotRandomSeed: options.snapshotRandomSeed ?? randomInt(2 ** 31),
        startTimeMs: nowMs,
      },
      undefined,
      { wallMs: nowMs, monotonicMs: this.monotonicClock() },
    );
    // A lone voter elects itself and establishes its epoch in its first tick and write: the
    // server serves from the moment `start` returns.
    this.tick();
    if (this.fatal.error !== undefined) throw this.fatal.error;
    assert(this.peer.status().serving, 'a one-voter peer serves once its first write is durable');
    if (options.autoTick ?? true) {
      const intervalMs = Math.max(1, Math.floor(this.peer.server.tickTimeMs / 2));
      // Like a listening socket, a running server keeps the process alive until it is closed.
      this.timer = setInterval(() => this.tick(), intervalMs);
    }
  }

  /** Starts a standalone in-process server. */
  static start(options: LocalServerOptions = {}): LocalServer {
    return new LocalServer(options);
  }

  /** Connects a new client session to this server. */
  client(options: ClientOptions = {}): Promise<ZabClient> {
    return ZabClient.connect(this, options);
  }

  /**
   * Lets the server's timers fire at the clock's present reading, at once: the inputs queued
   * before it are stepped first, in the same step.
   */
  tick(): void {
    if (this.closed) return;
    this.inputs.push({ kind: 'tick' });
    this.pump();
  }

  open(handlers: LinkHandlers): ClientLink {
    const connectionId = this.nextConnectionId++;
    const server = this;
    return {
      connect(request: ConnectRequest) {
        if (server.closed) {
          queueMicrotask(() => handlers.closed('lost'));
          return;
        }
        server.links.set(connectionId, handlers);
        server.enqueue({ kind: 'connect', connectionId, request });
      },
      send(xid: number, request: ClientRequest) {
        server.enqueue({ kind: 'request', connectionId, xid, request });
      },
      authenticated(identities: readonly Id[]) {
        server.enqueue({ kind: 'authenticated', connectionId, identities });
      },
      readNow(request: ReadRequest) {
        // Between steps: inputs queued for the next step are not in the replica yet.
        if (server.closed || !server.links.has(connectionId)) return undefined;
        return server.peer.readNow(connectionId, request);
      },
      close() {
        if (!server.links.delete(connectionId)) return;
        server.enqueue({ kind: 'disconnect', connectionId });
      },
    };
  }

  /**
   * The error the server stopped with, if the core broke an invariant: it is then closed
   * (every link lost) and stays so. A bug in zabkit, never an outcome of a client's request.
   */
  get fatalError(): PeerFatalError | undefined {
    return this.fatal.error;
  }

  /** Calls `listener` once if the server stops for good; returns a function that unsubscribes. */
  onFatal(listener: FatalListener): () => void {
    return this.fatal.listen(listener);
  }

  /** Stops the server: every link is lost, and no new one is accepted. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    const handlers = [...this.links.values()];
    this.links.clear();
    for (const handler of handlers) handler.closed('lost');
  }

  private enqueue(input: PeerInput): void {
    if (this.closed) return;
    this.inputs.push(input);
    if (this.pumping || this.scheduled) return;
    this.scheduled = true;
    this.steps.schedule(this.pumpScheduled);
  }

  /**
   * Steps the peer with every queued input at once (one Ready for the lot, as the peer driver
   * does); once none is left, everything persisted meanwhile becomes durable as one write and
   * the peer is told so. Requests sent in the same turn of the event loop thus share one step
   * and one write (group commit), and are answered in a microtask after `send`. Re-entrant
   * calls (a handler that sends a request while being told of a reply) only queue; the loop
   * picks them up.
   */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.closed) {
        let ready: PeerReady;
        try {
          // Read at every step, so a write is stamped with the time it is prepared.
          const clock = { wallMs: this.clock(), monotonicMs: this.monotonicClock() };
          if (this.inputs.length > 0) {
            ready = this.peer.stepAll(this.inputs.splice(0, this.inputs.length), clock);
          } else {
            // Memory is the storage: a write is durable as soon as it starts.
            const write = this.pipeline.startWrite();
            if (write === undefined) break;
            ready = this.peer.step(this.pipeline.completeWrite(write).persisted, clock);
          }
          // A lone voter has no one to send to; the pipeline still orders its writes.
          this.pipeline.accept(ready);
        } catch (error) {
          this.fail(error);
          return;
        }
        for (const output of ready.toClients) this.deliver(output);
      }
    } finally {
      this.pumping = false;
    }
  }

  /** The core broke an invariant: the server stops for good, its clients lose their links. */
  private fail(cause: unknown): void {
    const error = new PeerFatalError(this.peer.serverId, 'invariant', cause);
    this.close();
    this.fatal.raise(error);
  }

  private deliver(output: ClientOutput): void {
    const handlers = this.links.get(output.connectionId);
    if (handlers === undefined) return;
    if (deliverToLink(handlers, output)) this.links.delete(output.connectionId);
  }
}
