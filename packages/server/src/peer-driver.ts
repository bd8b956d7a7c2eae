/**
 * Drives one ZabPeer in real time: a timer ticks it, every step carries the clocks' reading
 * (so writes are stamped to the millisecond), its transport feeds it messages, its
 * storage makes its Ready durable, and client links connect to it. Storage writes are
 * ordered by core's ReadyPipeline: one write at a time, and while one is in flight the next
 * Readies' actions wait and go together, so many proposals share one durable write (group
 * commit). A broken invariant in the core or a failed storage action stops the peer for good
 * and reaches the host as a `PeerFatalError` (`fatalError`, `onFatal`), never as an uncaught
 * throw.
 */
import { randomInt } from 'node:crypto';
import type {
  ClientLink,
  ClientOutput,
  ClientRequest,
  ConnectionId,
  ConnectRequest,
  Envelope,
  Id,
  LinkFactory,
  LinkHandlers,
  PeerEvent,
  PeerInput,
  PeerMessage,
  PeerReady,
  PeerStatus,
  PeerStorage,
  PeerTransport,
  ReadRequest,
  RestoreRequest,
  ServerId,
  StorageAction,
  StorageRead,
  Txn,
  Zxid,
} from '@zabkit/core';
import { deliverToLink, ReadyPipeline, ZabPeer, type ZabPeerOptions } from '@zabkit/core';
import { type FatalListener, FatalState, PeerFatalError, type PeerFatalReason } from './fatal.js';
import { type Logger, silentLogger } from './log.js';
import { PeerActivityLog } from './peer-activity.js';
import { RestoreRefusedError } from './restore-error.js';
import { StepScheduler } from './step-scheduler.js';

/** How a leadership transfer asked of a driver ended there (the core's event). */
export type LeadershipTransferEvent = Extract<PeerEvent, { readonly kind: 'leadershipTransfer' }>;
/** How a restore went (the core's event). */
export type RestoreEvent = Extract<PeerEvent, { readonly kind: 'restore' }>;

/** What a driver needs: the peer's options, its storage and its transport. */
export interface PeerDriverOptions {
  readonly peer: ZabPeerOptions;
  readonly storage: PeerStorage;
  readonly transport: PeerTransport;
  /**
   * Whether `stop` closes the storage. Default true; a host that starts another driver on the
   * same store (a restore) leaves it open and closes it itself.
   */
  readonly closesStorage?: boolean;
  /** How often the peer is ticked. Default: a quarter of the tick time. */
  readonly tickIntervalMs?: number;
  /** The wall clock each step reads (transaction times, TTLs). Default Date.now. */
  readonly clock?: () => number;
  /** The monotonic clock each step reads (timers). Default performance.now. */
  readonly monotonicClock?: () => number;
  /**
   * Where the peer's events go (learner syncs started, finished, failed) and its elections, role
   * changes and quorum losses. Default: nowhere.
   */
  readonly log?: Logger;
}

/** Logs one of the peer's events at the level an operator would want it. */
export function logPeerEvent(log: Logger, serverId: number, event: PeerEvent): void {
  const hex = (zxid: bigint | undefined) => (zxid === undefined ? undefined : `0x${zxid.toString(16)}`);
  switch (event.kind) {
    case 'syncStarted':
      log.info(
        {
          serverId,
          side: event.side,
          peer: event.peer,
          mode: event.mode,
          snapshotZxid: hex(event.snapshotZxid),
        },
        event.side === 'leader'
          ? `learner sync to server ${event.peer} started (${event.mode.toUpperCase()})`
          : `learner sync from leader ${event.peer} started (${event.mode.toUpperCase()})`,
      );
      return;
    case 'syncFinished':
      log.info(
        {
          serverId,
          side: event.side,
          peer: event.peer,
          mode: event.mode,
          chunks: event.chunks,
          bytes: event.bytes,
          durationMs: Math.round(event.durationMs),
          lastZxid: hex(event.lastZxid),
        },
        `learner sync ${event.side === 'leader' ? 'to server' : 'from leader'} ${event.peer} finished (${event.mode.toUpperCase()}, ${event.bytes} bytes in ${Math.round(event.durationMs)} ms)`,
      );
      return;
    case 'syncFailed':
      log.warn(
        {
          serverId,
          side: event.side,
          peer: event.peer,
          mode: event.mode,
          chunks: event.chunks,
          bytes: event.bytes,
          durationMs: Math.round(event.durationMs),
          reason: event.reason,
        },
        `learner sync ${event.side === 'leader' ? 'to server' : 'from leader'} ${event.peer} failed: ${event.reason}`,
      );
      return;
    case 'peerMessageRefused':
      log.warn(
        { serverId, peer: event.peer, message: event.message, reason: event.reason },
        `refused a ${event.message} from server ${event.peer}, which no correct peer sends: ${event.reason}; closing its link`,
      );
      return;
    case 'incompleteSnapshotsDiscarded':
      log.warn(
        { serverId, zxids: event.zxids.map((zxid) => hex(zxid)) },
        'discarding snapshots staged by a learner sync that never finished',
      );
      return;
    case 'snapshotDeferred':
      log.warn(
        { serverId, zxid: hex(event.zxid) },
        'a snapshot fell due while the previous one is still being written: it waits for that one',
      );
      return;
    case 'leadershipTransfer': {
      const level = event.outcome === 'timedOut' || event.outcome === 'abandoned' ? 'warn' : 'info';
      log[level](
        { serverId, outcome: event.outcome, successor: event.successor, reason: event.reason },
        `leadership transfer${event.successor === undefined ? '' : ` to server ${event.successor}`}: ${event.outcome} (${event.reason})`,
      );
      return;
    }
    case 'learnerDropped':
      log.warn(
        {
          serverId,
          peer: event.peer,
          lagTxns: event.lagTxns,
          lagBytes: event.lagBytes,
          oldestUnacknowledgedAgeMs: Math.round(event.oldestUnacknowledgedAgeMs),
        },
        `dropping server ${event.peer}, which fell behind by ${event.lagTxns} proposals (${event.lagBytes} bytes), the oldest unacknowledged for ${Math.round(event.oldestUnacknowledgedAgeMs)} ms: ${event.reason}; it will sync again`,
      );
      return;
    case 'restore':
      log[event.outcome === 'refused' ? 'warn' : 'info'](
        { serverId, outcome: event.outcome, token: event.token, zxid: hex(event.zxid), via: event.via },
        `restore ${event.outcome}${event.zxid === undefined ? '' : ` at 0x${event.zxid.toString(16)}`}: ${event.reason}`,
      );
      return;
  }
}

/**
 * What a driver tells those who watch it run (metrics, the admin server): timings and traffic
 * the pure core cannot know. Each call is synchronous and must not throw or step the peer.
 */
export interface PeerDriverObserver {
  /**
   * After each step: the peer's inputs were handled and its Ready taken; `status` is the
   * peer's status after it, read once for every observer.
   */
  stepped?(ready: PeerReady, status: PeerStatus): void;
  /** A storage write completed: its actions and how long it took, in ms. */
  stored?(actions: readonly StorageAction[], elapsedMs: number): void;
  /** A message from another peer arrived. */
  received?(from: number, message: PeerMessage): void;
}

/** Carries out storage actions on a PeerStorage, in order. */
export async function carryOut(storage: PeerStorage, actions: readonly StorageAction[]): Promise<void> {
  if (storage.apply !== undefined) {
    await storage.apply(actions);
    return;
  }
  for (let i = 0; i < actions.length; i++) {
    const action = actions[i]!;
    switch (action.kind) {
      case 'append': {
        // A leader appends each proposal as its own action: the appends that follow one
        // another go to the store as one call (a promise and an await each cost about as
        // much as the append itself of a store in memory).
        let end = i + 1;
        while (end < actions.length && actions[end]!.kind === 'append') end++;
        if (end === i + 1) {
          await storage.append(action.txns);
          break;
        }
        const txns: Txn[] = [];
        for (let j = i; j < end; j++) {
          const append = actions[j] as Extract<StorageAction, { kind: 'append' }>;
          for (const txn of append.txns) txns.push(txn);
        }
        await storage.append(txns);
        i = end - 1;
        break;
      }
      case 'truncate':
        await storage.truncate(action.afterZxid);
        break;
      case 'snapshot':
        await storage.saveSnapshot(action.snapshot);
        break;
      case 'reset':
        await storage.reset(action.snapshot);
        break;
      case 'purge':
        await storage.purge(action.throughZxid);
        break;
      case 'epochs':
        await storage.writeEpochs(action.epochs);
        break;
      case 'sessionSecret':
        await storage.writeSessionSecret(action.secret);
        break;
      case 'stageBegin':
        await storage.stageSnapshot(action.zxid);
        break;
      case 'stageChunk':
        await storage.stageChunk(action.zxid, action.index, action.nodes);
        break;
      case 'stageCommit':
        await storage.commitStagedSnapshot(action.zxid, action.chunks, action.nodes, action.sessions);
        break;
      case 'stageDiscard':
        await storage.discardStagedSnapshots();
        break;
    }
  }
}

/** How long a peer that has left waits for its transport to write the messages it queued last. */
const leaveFlushMs = 50;

/** Drives one ZabPeer in real time and opens client links to it. */
export class PeerDriver implements LinkFactory {
  /** The pure peer being driven; read it for state, never step it from outside. */
  readonly peer: ZabPeer;
  private readonly storage: PeerStorage;
  private readonly transport: PeerTransport;
  private readonly closesStorage: boolean;
  private readonly clock: () => number;
  private readonly monotonicClock: () => number;
  private readonly links = new Map<ConnectionId, LinkHandlers>();
  private nextConnectionId = 1;
  /** Inputs queued for the next step; the pump takes the whole array and leaves a new one. */
  private inputs: PeerInput[] = [];
  private pumping = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private stopped = false;
  /** The local `transferLeadership` call waiting for its outcome, if any. */
  private transferWaiter: ((event: LeadershipTransferEvent) => void) | undefined;
  /** Restores asked here, by token, until applied here or refused. */
  private readonly restoreWaiters = new Map<string, (event: RestoreEvent) => void>();
  /** Told after every step: see `onStep`. */
  private readonly stepListeners = new Set<() => void>();
  /** Keeps the Ready contract: what to send now, what to write next, what waits for durability. */
  private readonly pipeline = new ReadyPipeline();
  /** Settles when the storage write under way does, whether it succeeded or failed. */
  private writeSettled: Promise<void> = Promise.resolve();
  private readonly fatal = new FatalState();
  /**
   * The observers, as an array replaced on every change: every step, write and peer message
   * walks it, and an array's loop costs less than a Set's iterator.
   */
  private observers: readonly PeerDriverObserver[] = [];
  /** How long loading the store took at start, in ms (ZooKeeper's dbinittime). */
  loadTimeMs = 0;
  /** The logged transactions past the snapshot that the load read (applied once committed). */
  loadedLogTxns = 0;
  private readonly log: Logger;
  private readonly activity: PeerActivityLog | undefined;
  private readonly tickIntervalMs: number;
  /** A one-shot tick for a timer due before the next regular tick, and when it is due. */
  private wakeTimer: ReturnType<typeof setTimeout> | undefined;
  private wakeDueMs: number | undefined;
  /**
   * When the regular tick timer last fired (on the monotonic clock): the next regular tick is
   * due a tick interval after it. Read once per regular tick, so that most steps can tell
   * without reading the clock that the peer's next timer waits for a regular tick.
   */
  private regularTickMs: number;
  /** Steps in a microtask, with a turn of the event loop now and then (timers, peer messages). */
  private readonly steps = new StepScheduler();
  private readonly pumpNow = () => this.pump();
  /** When a peer's `linkProgress` was last passed to the core: one entry per peer the transport links. */
  private readonly linkProgressPassedMs = new Map<ServerId, number>();

  private constructor(peer: ZabPeer, options: PeerDriverOptions) {
    this.peer = peer;
    this.storage = options.storage;
    this.transport = options.transport;
    this.closesStorage = options.closesStorage ?? true;
    this.clock = options.clock ?? Date.now;
    this.monotonicClock = options.monotonicClock ?? (() => performance.now());
    this.log = options.log ?? silentLogger;
    if (options.log !== undefined) this.activity = new PeerActivityLog(options.log, this.monotonicClock);
    this.transport.listen({
      message: (from, message) => {
        const observers = this.observers;
        for (let i = 0; i < observers.length; i++) observers[i]!.received?.(from, message);
        this.enqueue({ kind: 'message', from, message });
      },
      linkDown: (peerId) => this.enqueue({ kind: 'linkDown', peer: peerId }),
      progress: (from) => this.linkProgress(from),
    });
    const intervalMs =
      options.tickIntervalMs ?? Math.max(1, Math.floor((options.peer.tickTimeMs ?? 2000) / 4));
    this.tickIntervalMs = intervalMs;
    this.regularTickMs = this.monotonicClock();
    this.timer = setInterval(() => {
      this.regularTickMs = this.monotonicClock();
      this.enqueue({ kind: 'tick' });
    }, intervalMs);
  }

  /**
   * Loads the peer's state from storage and starts it. Rejects with a `PeerFatalError` when
   * the store cannot be read or what it holds breaks an invariant of the core, and with a
   * RangeError for invalid options.
   */
  static async start(options: PeerDriverOptions): Promise<PeerDriver> {
    const clock = options.clock ?? Date.now;
    const serverId = options.peer.serverId;
    let state: Awaited<ReturnType<PeerStorage['load']>>;
    const loadStartMs = performance.now();
    try {
      // The snapshot comes restored into a tree where the store can: no array of every node.
      state = await options.storage.load({ restoreTree: true });
    } catch (error) {
      throw new PeerFatalError(serverId, 'storage', error);
    }
    let peer: ZabPeer;
    try {
      // Where this peer's snapshots fall is drawn at random (the core has no randomness), so
      // the replicas of an ensemble do not snapshot together.
      const snapshotRandomSeed = options.peer.snapshotRandomSeed ?? randomInt(2 ** 31);
      const wallMs = clock();
      const monotonicMs = (options.monotonicClock ?? (() => performance.now()))();
      peer = new ZabPeer({ ...options.peer, snapshotRandomSeed, startTimeMs: wallMs }, state, {
        wallMs,
        monotonicMs,
      });
    } catch (error) {
      if (error instanceof RangeError) throw error;
      throw new PeerFatalError(serverId, 'invariant', error);
    }
    const driver = new PeerDriver(peer, options);
    driver.loadTimeMs = performance.now() - loadStartMs;
    const snapshotZxid = peer.status().lastAppliedZxid;
    driver.loadedLogTxns = state.log.reduce((count, txn) => (txn.zxid > snapshotZxid ? count + 1 : count), 0);
    driver.enqueue({ kind: 'tick' });
    return driver;
  }

  /**
   * The error the peer stopped with, once it has: a broken invariant in the core or a failed
   * storage action. The driver is then stopped (links lost, storage closed) and stays so.
   */
  get fatalError(): PeerFatalError | undefined {
    return this.fatal.error;
  }

  /** Calls `listener` once if the peer stops for good; returns a function that unsubscribes. */
  onFatal(listener: FatalListener): () => void {
    return this.fatal.listen(listener);
  }

  /**
   * Adds an observer of the running peer (see {@link PeerDriverObserver}); returns a function
   * that removes it.
   */
  observe(observer: PeerDriverObserver): () => void {
    // As a Set: one observer added twice is told once, and removed by either function.
    if (!this.observers.includes(observer)) this.observers = [...this.observers, observer];
    return () => {
      this.observers = this.observers.filter((each) => each !== observer);
    };
  }

  /** The driven peer's server id (its myid). */
  get serverId(): number {
    return this.peer.serverId;
  }

  /** Stops the peer as a crash would: timers, links and transport go; storage is closed. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.transferWaiter?.({
      kind: 'leadershipTransfer',
      outcome: 'abandoned',
      successor: undefined,
      reason: 'the peer stopped',
    });
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    this.transport.close();
    const handlers = [...this.links.values()];
    this.links.clear();
    for (const handler of handlers) handler.closed('lost');
    // The store is closed only once the write under way has settled.
    await this.writeSettled;
    if (this.closesStorage) await this.storage.close();
  }

  /**
   * Calls `listener` after every step the peer takes (its Ready carried out as far as it goes
   * at once), to watch its status change: role, leader, zxids. Returns a function that
   * unsubscribes. A listener that throws is reported as the peer's own failure would not be:
   * it is dropped and the peer runs on.
   */
  onStep(listener: () => void): () => void {
    this.stepListeners.add(listener);
    return () => this.stepListeners.delete(listener);
  }

  /** Whether the driver has stopped (by `stop`, or for good after a fatal error). */
  get isStopped(): boolean {
    return this.stopped;
  }

  /**
   * Leaves the ensemble gracefully, then stops (`stop`). A leader proposes nothing new, lets
   * its proposals in flight commit (their clients hear their replies) and tells its learners
   * to elect at once; any other peer leaves at once. Resolves with how it went: `handedOver`
   * (it led), `left` (it did not), or `timedOut` (a leader whose proposals did not commit
   * within `timeoutMs`, say without a quorum: it stopped as a crash would, which ZAB survives
   * as it survives any crash).
   */
  async leave(timeoutMs: number): Promise<'handedOver' | 'left' | 'timedOut'> {
    if (!(timeoutMs >= 0)) throw new RangeError('timeoutMs must be a non-negative number');
    if (this.stopped) return 'left';
    const leading = this.peer.status().role === 'leading';
    this.enqueue({ kind: 'leave' });
    const departed = await new Promise<boolean>((resolve) => {
      let unsubscribe: () => void = () => undefined;
      const finish = (left: boolean) => {
        clearTimeout(timer);
        unsubscribe();
        resolve(left);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      unsubscribe = this.onStep(() => {
        if (this.stopped || this.peer.status().departure === 'left') finish(true);
      });
    });
    // The last COMMITs and leaderLeaving are queued on the links: let the transport write
    // them before its sockets close (were they lost, the closed links tell the learners too).
    if (departed) await new Promise((resolve) => setTimeout(resolve, leaveFlushMs));
    await this.stop();
    if (!departed) return 'timedOut';
    return leading ? 'handedOver' : 'left';
  }

  /**
   * Asks the peer to hand leadership over (see the core's `transferLeadership` input) and
   * resolves with how it ended here: `handedOver` (this leader stepped down for the
   * successor), `forwarded` (a learner asked its leader), `refused`, `timedOut` or
   * `abandoned`, with the core's reason. One call at a time.
   */
  transferLeadership(to: number | undefined, timeoutMs: number): Promise<LeadershipTransferEvent> {
    if (this.stopped) return Promise.reject(new Error('the peer driver is stopped'));
    if (this.transferWaiter !== undefined)
      return Promise.reject(new Error('a leadership transfer asked here is in progress'));
    return new Promise((resolve) => {
      this.transferWaiter = (event) => {
        if (event.outcome === 'started') return;
        this.transferWaiter = undefined;
        resolve(event);
      };
      this.enqueue({ kind: 'transferLeadership', ...(to === undefined ? {} : { to }), timeoutMs });
    });
  }

  /**
   * Asks the peer to restore the replicated state from a snapshot's nodes and sessions (the
   * core's `restore` input) and resolves with the zxid it was applied at here, once it is;
   * rejects when refused here, or when nothing is heard of it within `timeoutMs` (the leader
   * refused one this learner forwarded, or lost its quorum before committing it).
   */
  restore(request: RestoreRequest, timeoutMs: number): Promise<Zxid> {
    if (this.stopped) return Promise.reject(new Error('the peer driver is stopped'));
    const { token } = request;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.restoreWaiters.delete(token);
        reject(new Error(`the restore was not applied here within ${timeoutMs} ms`));
      }, timeoutMs);
      this.restoreWaiters.set(token, (event) => {
        if (event.outcome !== 'applied' && event.outcome !== 'refused') return;
        clearTimeout(timer);
        this.restoreWaiters.delete(token);
        if (event.outcome === 'applied' && event.zxid !== undefined) resolve(event.zxid);
        else reject(new RestoreRefusedError(`the restore was refused: ${event.reason}`));
      });
      this.enqueue({ kind: 'restore', request });
    });
  }

  /**
   * Part of a message from `from` arrived: passed on at most once per tick interval, which is
   * as finely as the core's limits are counted, so a fast stream of reads costs no steps.
   */
  private linkProgress(from: ServerId): void {
    const nowMs = this.monotonicClock();
    const lastMs = this.linkProgressPassedMs.get(from);
    if (lastMs !== undefined && nowMs - lastMs < this.tickIntervalMs) return;
    this.linkProgressPassedMs.set(from, nowMs);
    this.enqueue({ kind: 'linkProgress', from });
  }

  private enqueue(input: PeerInput): void {
    if (this.stopped) return;
    this.inputs.push(input);
    if (this.pumping) return;
    // Inputs that arrive together (a burst of client requests, a batch of messages) are
    // stepped together, so that their proposals, acks and writes are batched.
    this.pumping = true;
    this.steps.schedule(this.pumpNow);
  }

  private pump(): void {
    try {
      while (this.inputs.length > 0 && !this.stopped) {
        const batch = this.inputs;
        this.inputs = [];
        let ready: PeerReady;
        let sendNow: readonly Envelope[];
        try {
          // Read when stepped, not when queued: ZooKeeper stamps a write when it prepares it.
          ready = this.peer.stepAll(batch, { wallMs: this.clock(), monotonicMs: this.monotonicClock() });
          sendNow = this.pipeline.accept(ready);
        } catch (error) {
          this.fail('invariant', error);
          return;
        }
        // One status for the observers and the activity log: building it is a step's cost too.
        const status = this.peer.status();
        this.handle(ready, sendNow, status);
        this.activity?.observe(status);
      }
      this.scheduleWake();
    } finally {
      this.pumping = false;
    }
    if (this.stepListeners.size === 0) return;
    for (const listener of [...this.stepListeners]) {
      try {
        listener();
      } catch {
        this.stepListeners.delete(listener);
      }
    }
  }

  /**
   * Ticks once more when the peer's next protocol timer falls due before the regular tick:
   * an election decides after its finalize wait and a learner notices a silent leader on
   * time, not up to a quarter of a tickTime late.
   */
  private scheduleWake(): void {
    if (this.stopped) return;
    const due = this.peer.nextTimerDueMs();
    if (due === undefined || due === this.wakeDueMs) return;
    // Due at or after the next regular tick: that tick serves it (the clock is not read).
    if (due >= this.regularTickMs + this.tickIntervalMs) return;
    const delayMs = Math.ceil(due - this.monotonicClock());
    if (delayMs >= this.tickIntervalMs) return;
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    this.wakeDueMs = due;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.wakeDueMs = undefined;
        this.enqueue({ kind: 'tick' });
      },
      Math.max(1, delayMs),
    );
    this.wakeTimer.unref();
  }

  private handle(ready: PeerReady, sendNow: readonly Envelope[], status: PeerStatus): void {
    if (!this.send(sendNow)) return;
    this.write();
    // Indexed loops: most of these arrays are empty or short, and a step walks each of them.
    const { reads, toClients, events, closeLinks } = ready;
    for (let i = 0; i < reads.length; i++) this.read(reads[i]!);
    for (let i = 0; i < toClients.length; i++) this.deliver(toClients[i]!);
    const observers = this.observers;
    for (let i = 0; i < observers.length; i++) observers[i]!.stepped?.(ready, status);
    if (events.length > 0) this.tell(events);
    // After this Ready's messages went: the other end sees the link down at once (a dropped
    // follower looks for a leader and syncs again), and it is made again as usual.
    if (closeLinks.length > 0) this.closeLinks(closeLinks);
  }

  /** The step's events: logged, and to whoever waits for them here. */
  private tell(events: PeerReady['events']): void {
    for (const event of events) {
      logPeerEvent(this.log, this.peer.serverId, event);
      if (event.kind === 'leadershipTransfer') this.transferWaiter?.(event);
      else if (event.kind === 'restore') this.restoreWaiters.get(event.token)?.(event);
    }
  }

  private closeLinks(closures: PeerReady['closeLinks']): void {
    for (const closure of closures) {
      this.log.info(
        { serverId: this.peer.serverId, peer: closure.peer, reason: closure.reason },
        `closing the link to server ${closure.peer}: ${closure.reason}`,
      );
      this.transport.disconnect?.(closure.peer);
    }
  }

  /** Reads beside the writes: the peer asks only for what is durable and kept from purges. */
  private read(read: StorageRead): void {
    this.storage.readSnapshotChunk(read.zxid, read.cursor, read.bytesMax).then(
      (chunk) => this.enqueue({ kind: 'snapshotRead', readId: read.readId, chunk }),
      (error: unknown) =>
        this.enqueue({
          kind: 'snapshotReadFailed',
          readId: read.readId,
          reason: error instanceof Error ? error.message : String(error),
        }),
    );
  }

  /**
   * Hands messages to the transport. One it refuses to encode (a field out of the codec's
   * range) is a message the core should never have made: a broken invariant, which stops the
   * peer rather than escape as an uncaught throw. False when that happened.
   */
  private send(envelopes: readonly Envelope[]): boolean {
    try {
      const transport = this.transport;
      for (let i = 0; i < envelopes.length; i++) {
        const envelope = envelopes[i]!;
        transport.send(envelope.to, envelope.message);
      }
      return true;
    } catch (error) {
      this.fail('invariant', error);
      return false;
    }
  }

  /** The peer stops for good: recorded once, links and storage closed, listeners told. */
  private fail(reason: PeerFatalReason, cause: unknown): void {
    const error = new PeerFatalError(this.peer.serverId, reason, cause);
    if (this.fatal.error !== undefined) return;
    // Closing a store that has just failed may fail too: the first error is the one that counts.
    this.stop().catch(() => undefined);
    this.fatal.raise(error);
  }

  /** Starts the next storage write unless one is in flight; queued Readies go together. */
  private write(): void {
    if (this.stopped) return;
    const write = this.pipeline.startWrite();
    if (write === undefined) return;
    const startMs = performance.now();
    this.writeSettled = carryOut(this.storage, write.actions).then(
      () => {
        if (this.stopped) return;
        const elapsedMs = performance.now() - startMs;
        let done: ReturnType<ReadyPipeline['completeWrite']>;
        try {
          done = this.pipeline.completeWrite(write);
        } catch (error) {
          this.fail('invariant', error);
          return;
        }
        // The acks the write released go first: the observers' bookkeeping (the metrics')
        // is not on the path of a replicated write.
        if (!this.send(done.send)) return;
        const observers = this.observers;
        for (let i = 0; i < observers.length; i++) observers[i]!.stored?.(write.actions, elapsedMs);
        this.enqueue(done.persisted);
        this.write();
      },
      (error: unknown) => {
        // The peer must not serve from a store it can no longer trust.
        if (!this.stopped) this.fail('storage', error);
      },
    );
  }

  private deliver(output: ClientOutput): void {
    const handlers = this.links.get(output.connectionId);
    if (handlers === undefined) return;
    if (deliverToLink(handlers, output)) this.links.delete(output.connectionId);
  }

  open(handlers: LinkHandlers): ClientLink {
    const connectionId = this.nextConnectionId++;
    const driver = this;
    return {
      connect(request: ConnectRequest) {
        if (driver.stopped) {
          setImmediate(() => handlers.closed('lost'));
          return;
        }
        driver.links.set(connectionId, handlers);
        driver.enqueue({ kind: 'connect', connectionId, request });
      },
      send(xid: number, request: ClientRequest) {
        driver.enqueue({ kind: 'request', connectionId, xid, request });
      },
      authenticated(identities: readonly Id[]) {
        driver.enqueue({ kind: 'authenticated', connectionId, identities });
      },
      readNow(request: ReadRequest) {
        // Between steps: inputs queued for the next step are not in the replica yet.
        if (driver.stopped || !driver.links.has(connectionId)) return undefined;
        return driver.peer.readNow(connectionId, request);
      },
      close() {
        if (!driver.links.delete(connectionId)) return;
        driver.enqueue({ kind: 'disconnect', connectionId });
      },
    };
  }
}
