/**
 * The simulated world: ZAB peers, a network, disks and a virtual clock, all driven from one
 * seeded Rng and one event queue. Faults are injected only where zabkit claims to survive
 * them: messages delayed, lost, duplicated or reordered, links cut (both ways or one way), peers crashed with
 * their un-synced writes lost and the write in flight possibly torn between LevelDB's atomic
 * batches (a prefix of them durable, each whole: a crash never damages a record, so a damaged
 * record on a real disk is corruption, which LevelStorage refuses), then restarted from disk;
 * processes paused (timers stopped, inputs waiting) and disk writes refused (fail-stop, then a
 * supervisor's restart).
 */
import {
  type ClientOutput,
  type ClockReading,
  type Envelope,
  type PeerInput,
  type PeerMessage,
  type PeerReady,
  ReadyPipeline,
  type ServerId,
  type StorageAction,
  StorageImage,
  type StorageRead,
  type Txn,
  ZabPeer,
  type ZabPeerOptions,
  type Zxid,
} from '@zabkit/core';
import { checkHistoryPrefix, IntegrityChecker, LeadershipChecker } from './checkers/zab-invariants.js';
import { EventQueue } from './events.js';
import { Rng } from './rng.js';

/** Fault rates, drawn per seed ("swarm testing"): each run stresses a different mix. */
export interface FaultRates {
  readonly latencyMsMax: number;
  readonly lossProbability: number;
  /** A message delivered twice (as by a transport that retransmits across a reconnect). */
  readonly duplicateProbability: number;
  /** A message that ignores FIFO order on its link and may overtake earlier ones. */
  readonly reorderProbability: number;
  readonly storageDelayMsMax: number;
  readonly crashesPerSecond: number;
  readonly partitionsPerSecond: number;
  readonly tornWriteProbability: number;
  /** Every server crashing at once (a power loss), then coming back one by one. */
  readonly powerLossesPerSecond: number;
  /**
   * A process stopped (SIGSTOP, a long GC pause, a frozen VM): its timers stop while the
   * others' run, what reaches it waits in its socket buffers, and when it resumes its clock
   * has jumped by the pause.
   */
  readonly pausesPerSecond: number;
  /** A disk write that fails (EIO, ENOSPC): the peer stops (fail-stop) and a supervisor restarts it. */
  readonly storageFailureProbability: number;
  /** A machine's wall clock set forwards or backwards (NTP stepping it, an operator): one peer at a time. */
  readonly wallClockJumpsPerSecond: number;
  /** A machine's monotonic clock leaping forwards (a frozen VM resumed, stolen time): one peer at a time. */
  readonly monotonicJumpsPerSecond: number;
  /**
   * A leadership transfer asked of a random server (the embedding API's transferLeadership),
   * to a random server or to any: off unless a run asks for it (`--rate`), so every seed
   * replays as before.
   */
  readonly leadershipTransfersPerSecond: number;
  /**
   * An admin restore asked of a random server, of a snapshot of a random live replica's tree
   * as it stands: off unless a run asks for it (`--rate`). A restore legitimately discards
   * acknowledged writes and sessions, so a run with restores judges only what ZAB promises
   * across one (every replica applies the same history and converges), not the clients' view.
   */
  readonly restoresPerSecond: number;
}

/**
 * Duplication and reordering came later than the other faults. Their rates come from a
 * stream of their own, and a zero rate draws nothing, so seeds that draw zero for both
 * replay exactly as they did before (the regression seeds among them).
 */
export function drawMessageChaos(
  seed: number,
): Pick<FaultRates, 'duplicateProbability' | 'reorderProbability'> {
  const rng = new Rng(seed ^ 0x5eed_c4a0);
  return {
    duplicateProbability: rng.pick([0, 0, 0.001, 0.01, 0.05]),
    reorderProbability: rng.pick([0, 0, 0.001, 0.01, 0.05]),
  };
}

/**
 * Paused processes and failing disks came later still: drawn from a stream of their own and
 * injected with the world's `faultRng`, so a seed that draws zero for both replays exactly as
 * before.
 */
export function drawProcessFaults(
  seed: number,
): Pick<FaultRates, 'pausesPerSecond' | 'storageFailureProbability'> {
  const rng = new Rng(seed ^ 0x0fa1_57e9);
  return {
    pausesPerSecond: rng.pick([0, 0, 0.1, 0.3]),
    storageFailureProbability: rng.pick([0, 0, 0.002, 0.01]),
  };
}

/**
 * Clock jumps, drawn from a stream of their own like the process faults. Monotonic jumps only
 * go forwards, as such a clock does; wall-clock jumps go either way. The core's timers follow
 * the monotonic clock, so a wall-clock jump moves only what transactions are stamped with.
 * The wall-clock rate is drawn after the monotonic one, so every seed keeps the monotonic
 * rate it drew before wall-clock jumps were on.
 */
export function drawClockJumps(
  seed: number,
): Pick<FaultRates, 'wallClockJumpsPerSecond' | 'monotonicJumpsPerSecond'> {
  const rng = new Rng(seed ^ 0x0c10_c4ed);
  const monotonicJumpsPerSecond = rng.pick([0, 0, 0.1, 0.3]);
  return { wallClockJumpsPerSecond: rng.pick([0, 0, 0.1, 0.3]), monotonicJumpsPerSecond };
}

/** How large a learner sync's chunks and window are in a run. */
export interface SyncSizes {
  readonly chunkBytes: number;
  readonly windowBytes: number;
}

/**
 * Chunk and window sizes per seed, from a stream of their own (so the fault rates drawn stay
 * as they were): often the defaults (a sync of the simulator's small trees then fits in one
 * chunk), often tiny, so that every sync streams in many chunks through a narrow window.
 */
export function drawSyncSizes(seed: number): SyncSizes {
  const rng = new Rng(seed ^ 0x51c_c4f7);
  const chunkBytes = rng.pick([1024 * 1024, 1024 * 1024, 1024, 300, 120]);
  // A window of a few chunks at least: with one chunk in flight and a slow disk, a stream of
  // 120-byte chunks moves slower than the clients write, and a learner could never catch up.
  return { chunkBytes, windowBytes: chunkBytes * rng.pick([4, 8, 32]) };
}

export function drawFaultRates(rng: Rng): FaultRates {
  return {
    latencyMsMax: rng.pick([1, 5, 20, 60]),
    lossProbability: rng.pick([0, 0, 0.001, 0.01, 0.05]),
    duplicateProbability: 0,
    reorderProbability: 0,
    storageDelayMsMax: rng.pick([0, 2, 10, 40]),
    crashesPerSecond: rng.pick([0, 0.05, 0.2, 0.5]),
    partitionsPerSecond: rng.pick([0, 0.1, 0.3, 0.8]),
    tornWriteProbability: rng.pick([0, 0.5]),
    powerLossesPerSecond: rng.pick([0, 0.05, 0.2]),
    pausesPerSecond: 0,
    storageFailureProbability: 0,
    wallClockJumpsPerSecond: 0,
    monotonicJumpsPerSecond: 0,
    leadershipTransfersPerSecond: 0,
    restoresPerSecond: 0,
  };
}

interface SimPeer {
  readonly id: ServerId;
  peer: ZabPeer | undefined;
  /** What survives a crash. */
  durable: StorageImage;
  /** Orders this incarnation's Readies into sends and disk writes (group commit included). */
  pipeline: ReadyPipeline;
  /** Incremented on each restart: events for an older incarnation are ignored. */
  incarnation: number;
  /** How far into the global committed sequence this peer's applied state reaches. */
  appliedIndex: number;
  appliedZxid: Zxid;
  /**
   * The peer's history as its storage actions describe it (appends, truncations, snapshots
   * that replace the log), durable or not: what ProcessConsistency compares. Entries at or
   * below `historyBase` are known only to a snapshot.
   */
  history: Map<Zxid, string>;
  historyBase: Zxid;
  /** While paused: until when, and what reached the process meanwhile, in order. */
  pausedUntil: number | undefined;
  held: (() => void)[];
  /** How far this machine's clocks read ahead of (or, the wall clock, behind) virtual time; kept across restarts. */
  wallOffsetMs: number;
  monotonicOffsetMs: number;
}

/** Something the checkers consider a bug. */
export interface Violation {
  readonly check: string;
  readonly message: string;
}

export interface WorldObserver {
  clientOutput(server: ServerId, output: ClientOutput): void;
}

export class World {
  readonly queue = new EventQueue();
  now = 0;
  readonly peers = new Map<ServerId, SimPeer>();
  readonly violations: Violation[] = [];
  /** The committed sequence as the replicas applied it: every replica's applied log is a prefix. */
  readonly committed: Txn[] = [];
  private readonly committedIndex = new Map<Zxid, number>();
  private readonly digestAt = new Map<Zxid, string>();
  private readonly digestedAt = new Map<ServerId, Zxid>();
  /** Who led each epoch, from its NEWLEADER on (in sync or serving): at most one per epoch. */
  private readonly leadership = new LeadershipChecker();
  /** Every transaction a leader proposed, by zxid: what deliveries are checked against. */
  private readonly integrity = new IntegrityChecker();
  /** Links that drop messages: "from->to". */
  readonly blocked = new Set<string>();
  private readonly lastDelivery = new Map<string, number>();
  /** Per link, how often a peer closed it: what was in flight before a close is lost. */
  private readonly linkCloses = new Map<string, number>();
  faultsEnabled = true;
  /**
   * A deliberately broken driver for testing the checkers: messages that must wait for
   * durability (ACKs among them) leave at once, before the disk has the data.
   */
  ackBeforeDurable = false;
  /**
   * What every delivered message goes through on its way: the identity, or a round trip
   * through a real encoding (a test runs the simulator over the peer codec this way).
   */
  wire: (message: PeerMessage) => PeerMessage = (message) => message;
  /** What every storage action goes through before it reaches the disk image: as `wire`, for storage records. */
  diskWire: (action: StorageAction) => StorageAction = (action) => action;
  /** How many faults of each kind this run injected. */
  readonly faultCounts: Record<string, number> = {
    crash: 0,
    tornWrite: 0,
    lostMessage: 0,
    duplicatedMessage: 0,
    reorderedMessage: 0,
    partition: 0,
    isolateLeader: 0,
    oneWay: 0,
    clog: 0,
    pause: 0,
    storageFailure: 0,
    wallClockJump: 0,
    monotonicJump: 0,
  };
  /** The source of chance for pauses and disk failures (see drawProcessFaults). */
  readonly faultRng: Rng;
  /** Learner sync events by kind and side ("syncFinished/learner"...), for scenarios and stats. */
  readonly syncEvents: Record<string, number> = {};
  /** Why each learner sync that failed did ("learner 2: ..."), in order: scenarios assert on them. */
  readonly syncFailures: string[] = [];
  private traceHash = 0x811c9dc5;
  /** Events processed so far. */
  eventCount = 0;
  observer: WorldObserver | undefined;
  /** Told of each transaction when it is first applied anywhere (committed): membership's check. */
  onCommitted: ((txn: Txn) => void) | undefined;
  readonly tickIntervalMs = 25;

  constructor(
    readonly rng: Rng,
    readonly rates: FaultRates,
    readonly voters: readonly ServerId[],
    readonly peerOptions: (id: ServerId) => ZabPeerOptions,
    faultSeed = 0,
  ) {
    this.faultRng = new Rng(faultSeed ^ 0x57a1_1ed0);
    for (const id of voters) {
      this.peers.set(id, {
        id,
        peer: undefined,
        durable: new StorageImage(),
        pipeline: new ReadyPipeline(),
        incarnation: 0,
        appliedIndex: 0,
        appliedZxid: 0n as Zxid,
        history: new Map(),
        historyBase: 0n as Zxid,
        pausedUntil: undefined,
        held: [],
        wallOffsetMs: 0,
        monotonicOffsetMs: 0,
      });
      this.start(id);
    }
  }

  /** A running hash of every event processed: equal for equal seeds, byte for byte. */
  get trace(): string {
    return this.traceHash.toString(16).padStart(8, '0');
  }

  private record(label: string): void {
    for (let i = 0; i < label.length; i++) {
      this.traceHash ^= label.charCodeAt(i);
      this.traceHash = Math.imul(this.traceHash, 0x01000193) >>> 0;
    }
  }

  schedule(delayMs: number, label: string, run: () => void): void {
    this.queue.schedule(this.now + delayMs, label, run);
  }

  /** Runs the next event if it is due by `untilMs`; false when there is none. */
  runOne(untilMs: number): boolean {
    const next = this.queue.peekTime();
    if (next === undefined || next > untilMs) return false;
    const event = this.queue.pop()!;
    this.now = event.time;
    this.eventCount++;
    this.record(`${event.time}:${event.label};`);
    event.run();
    return true;
  }

  /** Runs events until virtual time `untilMs`. */
  runUntil(untilMs: number): void {
    for (;;) {
      const next = this.queue.peekTime();
      if (next === undefined || next > untilMs) break;
      const event = this.queue.pop()!;
      this.now = event.time;
      this.eventCount++;
      this.record(`${event.time}:${event.label};`);
      event.run();
    }
    this.now = untilMs;
  }

  // ---- peers ------------------------------------------------------------------------------

  alive(id: ServerId): boolean {
    return this.peers.get(id)?.peer !== undefined;
  }

  /** Whether server `id`'s disk holds `zxid`: in its log, or in a snapshot at or beyond it. */
  holdsDurably(id: ServerId, zxid: Zxid): boolean {
    const durable = this.peers.get(id)!.durable;
    const snapshot = durable.latestSnapshot();
    if (snapshot !== undefined && snapshot.zxid >= zxid) return true;
    const log = durable.log;
    let low = 0;
    let high = log.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const at = log[middle]!.zxid;
      if (at === zxid) return true;
      if (at < zxid) low = middle + 1;
      else high = middle - 1;
    }
    return false;
  }

  private start(id: ServerId): void {
    const node = this.peers.get(id)!;
    node.incarnation++;
    node.pipeline = new ReadyPipeline();
    const incarnation = node.incarnation;
    // Every applied transaction is checked against the committed sequence as it happens.
    const onApplied = (txn: Txn) => {
      if (node.incarnation !== incarnation) return;
      this.checkApplied(node, txn);
      node.appliedZxid = txn.zxid;
    };
    node.peer = new ZabPeer(
      { ...this.peerOptions(id), startTimeMs: this.now, onApplied },
      node.durable.clone().load(),
      this.now,
    );
    node.historyBase = node.durable.latestSnapshot()?.zxid ?? (0n as Zxid);
    node.history = new Map(node.durable.log.map((txn) => [txn.zxid, identity(txn)]));
    this.locateApplied(node);
    const tick = () => {
      if (node.incarnation !== incarnation || node.peer === undefined) return;
      this.step(id, { kind: 'tick' });
      this.schedule(this.tickIntervalMs, `tick ${id}`, tick);
    };
    this.schedule(this.rng.int(0, this.tickIntervalMs), `tick ${id}`, tick);
  }

  /** A restarted peer's state comes from a snapshot: find where it sits in the committed sequence. */
  private locateApplied(node: SimPeer): void {
    const zxid = node.peer!.status().lastAppliedZxid;
    node.appliedZxid = zxid;
    node.appliedIndex = zxid === 0n ? 0 : (this.committedIndex.get(zxid) ?? -1) + 1;
    if (zxid !== 0n && !this.committedIndex.has(zxid)) {
      this.violate(
        'prefix',
        `server ${node.id} restarted at zxid ${zxid.toString(16)} that was never committed`,
      );
    }
  }

  crash(id: ServerId): void {
    const node = this.peers.get(id)!;
    if (node.peer === undefined) return;
    // Queued writes are lost, and so is the one in flight, except possibly part of it (a torn
    // write): some of its atomic batches, as LevelStorage writes them, and perhaps not its snapshot.
    const { inFlight } = node.pipeline.crash();
    if (inFlight !== undefined && this.rng.chance(this.rates.tornWriteProbability)) {
      const batches = atomicBatches(inFlight.actions);
      const keep = this.rng.int(0, batches.length);
      for (const batch of batches.slice(0, keep)) {
        for (const action of batch) {
          // A snapshot is written in the background: the crash may come before its manifest.
          if (action.kind === 'snapshot' && this.rng.chance(0.5)) continue;
          node.durable.apply(this.diskWire(action));
        }
      }
      this.faultCounts.tornWrite!++;
    }
    this.faultCounts.crash!++;
    this.halt(node);
  }

  /** The process is gone: nothing it held runs, and its peers see their links to it drop. */
  private halt(node: SimPeer): void {
    // What a sync staged stays on disk, but the process that could commit it is gone.
    node.durable.interruptStaging();
    node.peer = undefined;
    node.incarnation++;
    node.pausedUntil = undefined;
    node.held = [];
    for (const other of this.peers.keys())
      if (other !== node.id) this.stepLater(other, { kind: 'linkDown', peer: node.id });
  }

  /**
   * The disk refuses a write (EIO, ENOSPC): some of its atomic batches may have landed, the
   * driver stops the peer for good (fail-stop: nothing more is sent, nothing acknowledged), and
   * a supervisor restarts the process later from what its disk kept.
   */
  private failWrite(node: SimPeer, actions: readonly StorageAction[]): void {
    node.pipeline.crash();
    const batches = atomicBatches(actions);
    for (const batch of batches.slice(0, this.faultRng.int(0, batches.length - 1)))
      for (const action of batch) node.durable.apply(this.diskWire(action));
    this.faultCounts.storageFailure!++;
    this.halt(node);
    this.schedule(this.faultRng.int(200, 2000), `supervisor restarts ${node.id}`, () =>
      this.restart(node.id),
    );
  }

  /**
   * Stops a process for `ms` (SIGSTOP): its timers stop, what reaches it (messages, disk
   * completions, client requests) waits, and on resuming it first sees its clock jumped.
   */
  pause(id: ServerId, ms: number): void {
    const node = this.peers.get(id)!;
    if (node.peer === undefined || node.pausedUntil !== undefined) return;
    node.pausedUntil = this.now + ms;
    this.faultCounts.pause!++;
    const incarnation = node.incarnation;
    this.schedule(ms, `resume ${id}`, () => {
      if (node.incarnation === incarnation) this.resume(id);
    });
  }

  /** Continues a paused process: timers first (they have all expired meanwhile), then what waited. */
  resume(id: ServerId): void {
    const node = this.peers.get(id)!;
    if (node.pausedUntil === undefined) return;
    node.pausedUntil = undefined;
    const held = node.held;
    node.held = [];
    this.step(id, { kind: 'tick' });
    for (const run of held) run();
  }

  /** What a peer's clocks read now: virtual time, shifted by its machine's jumps. */
  private clockOf(node: SimPeer): ClockReading {
    return { wallMs: this.now + node.wallOffsetMs, monotonicMs: this.now + node.monotonicOffsetMs };
  }

  /**
   * Jumps one machine's clocks: the wall clock by `wallMs` either way, the monotonic clock
   * forwards by `monotonicMs`. The peer reads them at its next step.
   */
  jumpClock(id: ServerId, jump: { readonly wallMs?: number; readonly monotonicMs?: number }): void {
    const node = this.peers.get(id)!;
    const monotonicMs = jump.monotonicMs ?? 0;
    if (monotonicMs < 0) throw new RangeError('a monotonic clock never goes back');
    if (jump.wallMs !== undefined && jump.wallMs !== 0) {
      node.wallOffsetMs += jump.wallMs;
      this.faultCounts.wallClockJump!++;
    }
    if (monotonicMs > 0) {
      node.monotonicOffsetMs += monotonicMs;
      this.faultCounts.monotonicJump!++;
    }
  }

  /** Resumes every paused process: the healed phase. */
  resumeAll(): void {
    for (const id of this.peers.keys()) this.resume(id);
  }

  /** Runs `run` now, or when the process resumes if it is paused (and only if it is still the same incarnation). */
  private whenRunning(node: SimPeer, run: () => void): void {
    if (node.pausedUntil === undefined) {
      run();
      return;
    }
    const incarnation = node.incarnation;
    node.held.push(() => {
      if (node.incarnation === incarnation) run();
    });
  }

  restart(id: ServerId): void {
    if (this.alive(id)) return;
    this.start(id);
  }

  step(id: ServerId, input: PeerInput): void {
    const node = this.peers.get(id)!;
    if (node.peer === undefined) return;
    if (node.pausedUntil !== undefined) {
      // A stopped process's timers do not fire; everything else waits for it.
      if (input.kind !== 'tick') this.whenRunning(node, () => this.step(id, input));
      return;
    }
    const ready = node.peer.step(input, this.clockOf(node));
    this.observe(node);
    this.carryOut(node, ready);
  }

  private stepLater(id: ServerId, input: PeerInput): void {
    const incarnation = this.peers.get(id)!.incarnation;
    this.schedule(0, `${input.kind} ${id}`, () => {
      if (this.peers.get(id)!.incarnation === incarnation) this.step(id, input);
    });
  }

  private carryOut(node: SimPeer, ready: PeerReady): void {
    this.trackHistory(node, ready);
    if (this.ackBeforeDurable && ready.messagesAfterPersist.length > 0) {
      for (const envelope of ready.messagesAfterPersist) this.send(envelope);
      ready = { ...ready, messagesAfterPersist: [] };
    }
    for (const envelope of node.pipeline.accept(ready)) this.send(envelope);
    for (const output of ready.toClients) this.observer?.clientOutput(node.id, output);
    for (const read of ready.reads) this.read(node, read);
    for (const closure of ready.closeLinks) this.closeLink(node.id, closure.peer);
    for (const event of ready.events) {
      const key =
        'side' in event
          ? `${event.kind}/${event.side}`
          : event.kind === 'leadershipTransfer'
            ? `${event.kind}/${event.outcome}`
            : event.kind;
      this.syncEvents[key] = (this.syncEvents[key] ?? 0) + 1;
      if (event.kind === 'syncFailed') this.syncFailures.push(`${event.side} ${node.id}: ${event.reason}`);
    }
    this.writeNext(node);
  }

  /** The disk answers a read after a random delay, from what is durable; writes go on meanwhile. */
  private read(node: SimPeer, read: StorageRead): void {
    const incarnation = node.incarnation;
    this.schedule(this.rng.int(0, this.rates.storageDelayMsMax), `read ${node.id}`, () => {
      if (node.incarnation !== incarnation) return;
      let input: PeerInput;
      try {
        const chunk = node.durable.readSnapshotChunk(read.zxid, read.cursor, read.bytesMax);
        input = { kind: 'snapshotRead', readId: read.readId, chunk };
      } catch (error) {
        input = { kind: 'snapshotReadFailed', readId: read.readId, reason: (error as Error).message };
      }
      this.step(node.id, input);
    });
  }

  /** The disk completes writes one at a time, each after a random delay; queued ones merge. */
  private writeNext(node: SimPeer): void {
    const write = node.pipeline.startWrite();
    if (write === undefined) return;
    const incarnation = node.incarnation;
    this.schedule(this.rng.int(0, this.rates.storageDelayMsMax), `disk ${node.id}`, () => {
      if (node.incarnation !== incarnation) return;
      // The driver learns of the write, and sends what waited for it, only once it runs.
      this.whenRunning(node, () => {
        if (this.faultsEnabled && this.faultRng.chance(this.rates.storageFailureProbability)) {
          this.failWrite(node, write.actions);
          return;
        }
        for (const action of write.actions) node.durable.apply(this.diskWire(action));
        const done = node.pipeline.completeWrite(write);
        for (const envelope of done.send) this.send(envelope);
        this.step(node.id, done.persisted);
        this.writeNext(node);
      });
    });
  }

  // ---- network ------------------------------------------------------------------------------

  private send(envelope: Envelope): void {
    const message = envelope.message;
    // A leader that sends NEWLEADER is in sync for that epoch: Leadership counts it already.
    if (message.kind === 'newLeader') this.noteLeader(message.epoch, envelope.from, 'in sync');
    if (message.kind === 'ackNewLeader')
      this.checkProcessConsistency(envelope.from, envelope.to, message.epoch);
    const link = `${envelope.from}->${envelope.to}`;
    if (this.blocked.has(link)) return;
    if (this.faultsEnabled && this.rng.chance(this.rates.lossProbability)) {
      this.faultCounts.lostMessage!++;
      return;
    }
    const target = this.peers.get(envelope.to);
    if (target === undefined) return;
    if (this.faultsEnabled && this.rng.chance(this.rates.reorderProbability)) {
      // Overtakes whatever is in flight on the link and leaves FIFO order alone for the rest.
      this.faultCounts.reorderedMessage!++;
      this.deliverAt(this.now + this.rng.int(0, this.rates.latencyMsMax), link, envelope, target);
    } else {
      // Otherwise FIFO per link, as over a TCP connection: never before the previous message.
      const at = Math.max(
        this.now + this.rng.int(0, this.rates.latencyMsMax),
        this.lastDelivery.get(link) ?? 0,
      );
      this.lastDelivery.set(link, at);
      this.deliverAt(at, link, envelope, target);
    }
    if (this.faultsEnabled && this.rng.chance(this.rates.duplicateProbability)) {
      this.faultCounts.duplicatedMessage!++;
      this.deliverAt(this.now + this.rng.int(0, 4 * this.rates.latencyMsMax), link, envelope, target);
    }
  }

  private deliverAt(at: number, link: string, envelope: Envelope, target: SimPeer): void {
    const incarnation = target.incarnation;
    const closes = this.linkCloses.get(link) ?? 0;
    this.queue.schedule(at, `msg ${link} ${envelope.message.kind}`, () => {
      if (target.incarnation !== incarnation || this.blocked.has(link) || !this.alive(envelope.from)) return;
      if ((this.linkCloses.get(link) ?? 0) !== closes) return;
      this.step(envelope.to, { kind: 'message', from: envelope.from, message: this.wire(envelope.message) });
    });
  }

  /**
   * A peer closes its link to another (its driver's `disconnect`), as a TCP connection closed:
   * what is in flight either way is lost, both ends notice, and later messages go again.
   */
  private closeLink(a: ServerId, b: ServerId): void {
    if (!this.peers.has(b)) return;
    for (const link of [`${a}->${b}`, `${b}->${a}`])
      this.linkCloses.set(link, (this.linkCloses.get(link) ?? 0) + 1);
    this.stepLater(a, { kind: 'linkDown', peer: b });
    this.stepLater(b, { kind: 'linkDown', peer: a });
  }

  /** Cuts the links between two groups both ways; both ends notice, as a reset connection. */
  partition(side: readonly ServerId[]): void {
    const other = [...this.peers.keys()].filter((id) => !side.includes(id));
    for (const a of side) {
      for (const b of other) {
        this.blocked.add(`${a}->${b}`);
        this.blocked.add(`${b}->${a}`);
        this.stepLater(a, { kind: 'linkDown', peer: b });
        this.stepLater(b, { kind: 'linkDown', peer: a });
      }
    }
  }

  /** Drops everything `from` sends to `to`, silently: the pattern that hides livelocks. */
  cutOneWay(from: ServerId, to: ServerId): void {
    this.blocked.add(`${from}->${to}`);
  }

  heal(): void {
    this.blocked.clear();
  }

  /** Restores every link to and from `id`. */
  unblock(id: ServerId): void {
    for (const link of [...this.blocked]) {
      const [from, to] = link.split('->').map(Number);
      if (from === id || to === id) this.blocked.delete(link);
    }
  }

  // ---- invariants observed at every step ---------------------------------------------------------

  violate(check: string, message: string): void {
    this.violations.push({ check, message });
  }

  private observe(node: SimPeer): void {
    const peer = node.peer!;
    const status = peer.status();
    if (status.role === 'leading' && status.serving) this.noteLeader(status.currentEpoch, node.id, 'serving');
    const applied = status.lastAppliedZxid;
    if (applied === node.appliedZxid) {
      // Digests cost a walk of the tree: once per applied zxid per replica is enough.
      if (this.digestedAt.get(node.id) !== applied) {
        this.digestedAt.set(node.id, applied);
        this.checkDigest(node.id, applied, peer);
      }
      return;
    }
    // Applied transactions were reported one by one; a jump is a snapshot loaded (SNAP), which
    // must land on a committed zxid.
    if (applied < node.appliedZxid) {
      this.violate(
        'prefix',
        `server ${node.id} went back from ${node.appliedZxid.toString(16)} to ${applied.toString(16)}`,
      );
    }
    const index = this.committedIndex.get(applied);
    if (index === undefined)
      this.violate('prefix', `server ${node.id} loaded a snapshot at uncommitted ${applied.toString(16)}`);
    node.appliedIndex = (index ?? -1) + 1;
    node.appliedZxid = applied;
    this.digestedAt.set(node.id, applied);
    this.checkDigest(node.id, applied, peer);
  }

  /** Leadership: at most one leader per epoch, whether it still syncs its followers or serves. */
  private noteLeader(epoch: number, id: ServerId, phase: 'in sync' | 'serving'): void {
    const wrong = this.leadership.note(epoch, id, phase);
    if (wrong !== undefined) this.violate('leadership', wrong);
  }

  /**
   * Follows a peer's history through what it asks storage to do, and records what a leader
   * proposes: the appends a leading peer makes are its proposals (Integrity's reference).
   */
  private trackHistory(node: SimPeer, ready: PeerReady): void {
    if (ready.persist.length === 0) return;
    const leading = node.peer?.status().role === 'leading';
    for (const action of ready.persist) {
      switch (action.kind) {
        case 'append':
          for (const txn of action.txns) {
            node.history.set(txn.zxid, identity(txn));
            const wrong = leading ? this.integrity.propose(txn.zxid, identity(txn)) : undefined;
            if (wrong !== undefined) this.violate('integrity', wrong);
          }
          break;
        case 'truncate':
          for (const zxid of [...node.history.keys()]) if (zxid > action.afterZxid) node.history.delete(zxid);
          break;
        case 'reset':
          node.history = new Map();
          node.historyBase = action.snapshot.zxid;
          break;
        case 'stageCommit':
          node.history = new Map();
          node.historyBase = action.zxid;
          break;
        default:
          break;
      }
    }
  }

  /** ProcessConsistency, judged when a follower's ACKNEWLEADER leaves it. */
  private checkProcessConsistency(followerId: ServerId, leaderId: ServerId, epoch: number): void {
    const follower = this.peers.get(followerId)!;
    const leader = this.peers.get(leaderId);
    const status = leader?.peer?.status();
    // Only against the leader of that epoch while it leads it: its history only grows then.
    if (leader === undefined || status?.role !== 'leading' || status.acceptedEpoch !== epoch) return;
    const wrong = checkHistoryPrefix(
      { entries: follower.history, base: follower.historyBase },
      { entries: leader.history, base: leader.historyBase },
    );
    if (wrong !== undefined)
      this.violate(
        'process-consistency',
        `server ${followerId} acknowledged NEWLEADER of epoch ${epoch} from ${leaderId}, but ${wrong}`,
      );
  }

  /** Total order and agreement: the k-th transaction a replica applies is everyone's k-th. */
  private checkApplied(node: SimPeer, txn: Txn): void {
    // Integrity: only what some leader proposed is ever delivered.
    const unproposed = this.integrity.delivered(node.id, txn.zxid, identity(txn));
    if (unproposed !== undefined) this.violate('integrity', unproposed);
    const expected = this.committed[node.appliedIndex];
    if (expected === undefined) {
      // Primary order and primary integrity: delivery follows zxid order, so every earlier
      // epoch's transactions come before a new leader's own.
      const last = this.committed[this.committed.length - 1];
      if (last !== undefined && txn.zxid <= last.zxid) {
        this.violate('order', `${txn.zxid.toString(16)} delivered after ${last.zxid.toString(16)}`);
      }
      this.committed.push(txn);
      this.committedIndex.set(txn.zxid, this.committed.length - 1);
      this.onCommitted?.(txn);
    } else if (expected.zxid !== txn.zxid || identity(expected) !== identity(txn)) {
      this.violate(
        'agreement',
        `server ${node.id} applied ${txn.zxid.toString(16)} (${identity(txn)}) where others applied ${expected.zxid.toString(16)} (${identity(expected)})`,
      );
    }
    node.appliedIndex++;
  }

  private checkDigest(id: ServerId, zxid: Zxid, peer: ZabPeer): void {
    const digest = peer.digest();
    const known = this.digestAt.get(zxid);
    if (known === undefined) this.digestAt.set(zxid, digest);
    else if (known !== digest)
      this.violate('digest', `server ${id} has digest ${digest} at ${zxid.toString(16)}, others ${known}`);
  }
}

function identity(txn: Txn): string {
  const path = 'path' in txn.body ? txn.body.path : '';
  return `${txn.sessionId}:${txn.cxid}:${txn.body.kind}:${path}`;
}

/**
 * How LevelStorage puts a run of actions on disk: appends, epochs, the session secret and
 * staged snapshot chunks gather into one atomic, synced batch; a truncate, purge, stageBegin
 * or stageDiscard starts a new one; a snapshot, reset or stageCommit is written on its own. A crash
 * keeps a prefix of these batches, each whole or not at all (LevelDB's write-ahead log).
 */
export function atomicBatches(actions: readonly StorageAction[]): StorageAction[][] {
  const batches: StorageAction[][] = [];
  let current: StorageAction[] = [];
  for (const action of actions) {
    const joins =
      action.kind === 'append' ||
      action.kind === 'epochs' ||
      action.kind === 'sessionSecret' ||
      action.kind === 'stageChunk';
    if (!joins && current.length > 0) {
      batches.push(current);
      current = [];
    }
    // A staged snapshot's commit is one batch of its own: the switch is all or nothing.
    if (action.kind === 'snapshot' || action.kind === 'reset' || action.kind === 'stageCommit')
      batches.push([action]);
    else current.push(action);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
