/**
 * The Ready contract, kept in one place. A peer's Ready asks for work with an order between
 * its parts: messages that go at once, storage actions to make durable after every earlier
 * one, and messages that may leave only once everything persisted so far is durable. Every
 * driver (the runtime, the simulator, the scripted tests, the in-process server) hands its
 * Readies to a `ReadyPipeline` and does what it answers; the pipeline does no I/O and never
 * waits, so the driver alone decides when a write starts and when it has become durable.
 *
 * One write is in flight at a time. Readies that arrive meanwhile queue, and the next write
 * takes as many of them as `writeReadiesMax` allows as one batch (group commit: many
 * proposals share one fsync). A message that must wait for durability rides with the write
 * that holds its Ready's actions, or, when its Ready persisted nothing, with the last write
 * still outstanding; it is released when that write completes, and since writes complete in
 * order, every earlier persist is then durable too.
 */
import { assert } from '../errors.js';
import type { StorageAction } from '../storage.js';
import type { Envelope } from '../zab/messages.js';
import type { PeerInput, PeerReady } from '../zab/peer.js';

/** How a pipeline batches writes. */
export interface ReadyPipelineOptions {
  /**
   * Most Readies one storage write takes (group commit). Default 1024; 1 writes every Ready
   * on its own, as a golden transcript that completes persists one by one wants.
   */
  readonly writeReadiesMax?: number;
}

/** One storage write for the driver to carry out: its actions in order, durable as a whole. */
export interface StorageWrite {
  /** The actions of the Readies this write takes, in the order they were accepted. */
  readonly actions: readonly StorageAction[];
  /** The `persistSeq` of the first Ready this write takes. */
  readonly firstSeq: number;
  /** The `persistSeq` of the last Ready this write takes: what `persistedThrough` reports. */
  readonly throughSeq: number;
  /** How many Readies were merged into this write. */
  readonly readies: number;
}

/** What follows once a write is durable: messages that may now go, and the input to step. */
export interface WriteCompletion {
  /** Messages that waited for this write, in the order the peer asked for them. */
  readonly send: readonly Envelope[];
  /** Step the peer with this once `send` has been handed to the transport. */
  readonly persisted: Extract<PeerInput, { kind: 'persistedThrough' }>;
}

/** What a crash takes away: the write in flight (perhaps torn), the queue, and what waited on them. */
export interface CrashLoss {
  /** The write started and not completed: the driver's storage decides how much of it survived. */
  readonly inFlight: StorageWrite | undefined;
  /** The actions of every queued Ready, in order: never started, so lost whole. */
  readonly unwritten: readonly StorageAction[];
  /** Messages that waited for durability and will never be sent. */
  readonly withheld: readonly Envelope[];
}

interface Entry {
  readonly seq: number;
  readonly actions: readonly StorageAction[];
  /** Messages released when this entry's write completes; grows while the entry waits. */
  after: Envelope[] | undefined;
}

/** What waits on the write in flight. */
interface InFlight {
  readonly write: StorageWrite;
  after: Envelope[] | undefined;
}

/** Shared by every pipeline of the process: frozen, so nothing can leak through it. */
const noEnvelopes: readonly Envelope[] = Object.freeze([]);

/** Orders a peer's Readies into sends, storage writes and `persistedThrough` inputs. */
export class ReadyPipeline {
  private readonly writeReadiesMax: number;
  private queued: Entry[] = [];
  private inFlight: InFlight | undefined;
  private lastAcceptedSeq = 0;
  private durableSeq = 0;

  constructor(options: ReadyPipelineOptions = {}) {
    this.writeReadiesMax = options.writeReadiesMax ?? 1024;
    if (!(Number.isInteger(this.writeReadiesMax) && this.writeReadiesMax >= 1))
      throw new RangeError('writeReadiesMax must be a positive integer');
  }

  /**
   * Takes the peer's next Ready and returns the messages to send now. Its storage actions
   * queue for `startWrite`; its after-persist messages wait for their write. Client outputs
   * are not the pipeline's business: the driver delivers `ready.toClients` at once, in order.
   */
  accept(ready: PeerReady): readonly Envelope[] {
    if (ready.persistSeq === 0) {
      assert(ready.persist.length === 0, 'a Ready with storage actions carries a persistSeq');
      if (ready.messagesAfterPersist.length === 0) return ready.messages;
      const waiting = this.queued.at(-1) ?? this.inFlight;
      // Nothing outstanding: everything persisted so far is durable already.
      if (waiting === undefined) return [...ready.messages, ...ready.messagesAfterPersist];
      if (waiting.after === undefined) waiting.after = [...ready.messagesAfterPersist];
      else waiting.after.push(...ready.messagesAfterPersist);
      return ready.messages;
    }
    assert(ready.persistSeq > this.lastAcceptedSeq, 'persistSeq increases from one Ready to the next');
    this.lastAcceptedSeq = ready.persistSeq;
    this.queued.push({
      seq: ready.persistSeq,
      actions: ready.persist,
      after: ready.messagesAfterPersist.length === 0 ? undefined : [...ready.messagesAfterPersist],
    });
    return ready.messages;
  }

  /**
   * Starts the next write: undefined while one is in flight or nothing is queued. Otherwise
   * the oldest queued Readies (up to `writeReadiesMax`) become one write the driver must
   * carry out and then report with `completeWrite`.
   */
  startWrite(): StorageWrite | undefined {
    if (this.inFlight !== undefined || this.queued.length === 0) return undefined;
    const taken =
      this.queued.length <= this.writeReadiesMax ? this.queued : this.queued.slice(0, this.writeReadiesMax);
    this.queued = taken === this.queued ? [] : this.queued.slice(taken.length);
    const first = taken[0]!;
    const last = taken[taken.length - 1]!;
    let actions = first.actions;
    let after = first.after;
    if (taken.length > 1) {
      const merged: StorageAction[] = [];
      let waiting: Envelope[] | undefined;
      for (const entry of taken) {
        for (const action of entry.actions) merged.push(action);
        if (entry.after === undefined) continue;
        waiting ??= [];
        for (const envelope of entry.after) waiting.push(envelope);
      }
      actions = merged;
      after = waiting;
    }
    const write: StorageWrite = { actions, firstSeq: first.seq, throughSeq: last.seq, readies: taken.length };
    this.inFlight = { write, after };
    return write;
  }

  /** The write in flight is durable: returns what may now be sent and the input to step. */
  completeWrite(write: StorageWrite): WriteCompletion {
    const inFlight = this.inFlight;
    assert(inFlight !== undefined && inFlight.write === write, 'only the write in flight completes');
    assert(write.throughSeq > this.durableSeq, 'persistedThrough increases');
    this.inFlight = undefined;
    this.durableSeq = write.throughSeq;
    return {
      send: inFlight.after ?? noEnvelopes,
      persisted: { kind: 'persistedThrough', seq: write.throughSeq },
    };
  }

  /**
   * The process dies: returns what is lost and starts afresh, for the peer that restarts
   * from storage (its Readies count from 1 again).
   */
  crash(): CrashLoss {
    const unwritten: StorageAction[] = [];
    const withheld: Envelope[] = [...(this.inFlight?.after ?? [])];
    for (const entry of this.queued) {
      unwritten.push(...entry.actions);
      if (entry.after !== undefined) withheld.push(...entry.after);
    }
    const loss: CrashLoss = { inFlight: this.inFlight?.write, unwritten, withheld };
    this.queued = [];
    this.inFlight = undefined;
    this.lastAcceptedSeq = 0;
    this.durableSeq = 0;
    return loss;
  }

  /** The write started and not yet completed, if any. */
  get writing(): StorageWrite | undefined {
    return this.inFlight?.write;
  }

  /** How many Readies wait for a write to start. */
  get queuedReadies(): number {
    return this.queued.length;
  }

  /** True when nothing is queued or in flight: every persist so far is durable. */
  get idle(): boolean {
    return this.inFlight === undefined && this.queued.length === 0;
  }

  /** The highest `persistSeq` accepted so far (0 before the first Ready that persists). */
  get acceptedThroughSeq(): number {
    return this.lastAcceptedSeq;
  }

  /** The highest `persistSeq` made durable so far (0 before the first write completes). */
  get durableThroughSeq(): number {
    return this.durableSeq;
  }
}
