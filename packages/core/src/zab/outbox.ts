/**
 * What a peer asks its driver to do, gathered during one step: messages to send at once,
 * messages to send only once storage has caught up, storage actions, and the durability
 * marks that say what each persisted batch covers. It also keeps the peer's durable log
 * point: the highest zxid storage has confirmed, lowered at once by a truncation or a reset.
 */
import type { EnsembleConfig } from '../ensemble-config.js';
import { assert } from '../errors.js';
import type { StorageAction, StorageRead } from '../storage.js';
import type { Txn } from '../txn.js';
import { type Zxid, zeroZxid } from '../zxid.js';
import type { PeerEvent } from './events.js';
import type { Envelope, PeerMessage } from './messages.js';
import type { ServerId } from './quorum.js';
import type { TxnLog } from './txn-log.js';

/** The empty list every step shares for parts with nothing in them. */
const nothing: readonly never[] = Object.freeze([]);

/** One step's persisted batch: what becomes durable with it, and who waits for that. */
interface DurabilityMark {
  readonly seq: number;
  /** Once durable, the log holds everything up to here. */
  loggedThrough: Zxid | undefined;
  /** Allocated on the first callback: most batches have none. */
  callbacks: (() => void)[] | undefined;
}

/** What a step leaves for the driver, apart from the client outputs. */
export interface OutboxContents {
  readonly persist: readonly StorageAction[];
  /** The number to report back once `persist` is durable; 0 when nothing was persisted. */
  readonly persistSeq: number;
  readonly messages: readonly Envelope[];
  readonly messagesAfterPersist: readonly Envelope[];
  readonly reads: readonly StorageRead[];
  readonly events: readonly PeerEvent[];
  /** The membership that took effect in this step, if one did (the last, if several). */
  readonly activatedConfig: EnsembleConfig | undefined;
  readonly closeLinks: readonly LinkClosure[];
  /** The membership a reconfig logged in this step proposes, if one did (the last, if several). */
  readonly proposedConfig: EnsembleConfig | undefined;
}

/**
 * A link this peer ends: the driver breaks it (the transport's `disconnect`), so that the
 * other end learns at once that the relation is over instead of after its timeouts.
 */
export interface LinkClosure {
  readonly peer: ServerId;
  /** Why, for the log. */
  readonly reason: string;
}

/** A peer's outgoing messages, storage actions and durability bookkeeping. */
export class Outbox {
  private persistActions: StorageAction[] = [];
  private messages: Envelope[] = [];
  private messagesAfterPersist: Envelope[] = [];
  private reads: StorageRead[] = [];
  private events: PeerEvent[] = [];
  private activatedConfig: EnsembleConfig | undefined;
  private closeLinks: LinkClosure[] = [];
  private proposedConfig: EnsembleConfig | undefined;
  private persistSeq = 0;
  private currentMark: DurabilityMark | undefined;
  /** Marks handed to the driver and not yet reported durable, oldest first. */
  private readonly marks: DurabilityMark[] = [];
  private durableZxid: Zxid;

  constructor(
    private readonly selfId: ServerId,
    private readonly log: TxnLog,
  ) {
    // What was restored from storage is durable.
    this.durableZxid = log.lastZxid;
  }

  /** The highest zxid known to be durable in the log. */
  get lastPersistedZxid(): Zxid {
    return this.durableZxid;
  }

  /** Persisted batches the driver has not yet reported durable (this step's included). */
  get marksPending(): number {
    return this.marks.length;
  }

  /** Sends at once, without waiting for storage; messages to this peer itself are dropped. */
  send(to: ServerId, message: PeerMessage): void {
    if (to === this.selfId) return;
    this.messages.push({ from: this.selfId, to, message });
  }

  /** Sends once everything persisted so far (this step included) is durable. */
  sendAfterPersist(to: ServerId, message: PeerMessage): void {
    if (to === this.selfId) return;
    this.messagesAfterPersist.push({ from: this.selfId, to, message });
  }

  /** Asks the driver for a storage read; its answer comes back as an input. */
  read(read: StorageRead): void {
    this.reads.push(read);
  }

  /** Asks the driver to break the link to `peer` (once per step), saying why. */
  closeLink(peer: ServerId, reason: string): void {
    if (peer === this.selfId || this.closeLinks.some((closure) => closure.peer === peer)) return;
    this.closeLinks.push({ peer, reason });
  }

  /** Reports something for the driver to log. */
  event(event: PeerEvent): void {
    this.events.push(event);
  }

  /**
   * Runs `callback` once everything persisted so far (this step included) is durable: in the
   * step that reports it, or at once when nothing is pending.
   */
  whenDurable(callback: () => void): void {
    const last = this.marks[this.marks.length - 1];
    if (last === undefined) {
      callback();
      return;
    }
    (last.callbacks ??= []).push(callback);
  }

  private mark(): DurabilityMark {
    if (this.currentMark === undefined) {
      this.currentMark = { seq: ++this.persistSeq, loggedThrough: undefined, callbacks: undefined };
      this.marks.push(this.currentMark);
    }
    return this.currentMark;
  }

  /** Schedules a storage action; `onDurable` runs in the step that reports it durable. */
  persist(action: StorageAction, onDurable?: () => void): void {
    assert(action.kind !== 'append', 'appends go through logged(), which marks what they cover');
    this.persistActions.push(action);
    const mark = this.mark();
    if (onDurable !== undefined) (mark.callbacks ??= []).push(onDurable);
    if (action.kind === 'truncate' && this.durableZxid > action.afterZxid)
      this.durableZxid = action.afterZxid;
    if (action.kind === 'reset' || action.kind === 'stageCommit') {
      // Nothing is durable until the new state is; then everything up to the snapshot is.
      this.durableZxid = zeroZxid;
      mark.loggedThrough = action.kind === 'reset' ? action.snapshot.zxid : action.zxid;
    }
  }

  /** Schedules the durable append of `txns`, which the log mirror already holds. */
  logged(txns: readonly Txn[]): void {
    assert(txns.length > 0, 'an append carries transactions');
    assert(txns[txns.length - 1]!.zxid === this.log.lastZxid, 'the log mirror holds what is appended');
    this.persistActions.push({ kind: 'append', txns });
    this.mark().loggedThrough = this.log.lastZxid;
  }

  /**
   * The driver reports every batch up to `seq` durable: raises the durable log point and runs
   * the batches' callbacks, oldest first. True when the durable log point rose.
   */
  persisted(seq: number): boolean {
    assert(seq <= this.persistSeq, `persistedThrough ${seq} beyond the last batch handed out`);
    let loggedMore = false;
    while (this.marks.length > 0 && this.marks[0]!.seq <= seq) {
      const mark = this.marks.shift()!;
      if (mark.loggedThrough !== undefined && mark.loggedThrough > this.durableZxid) {
        // A later truncation may have cut the log below what this mark covered.
        const logEnd = this.log.lastZxid;
        this.durableZxid = mark.loggedThrough <= logEnd ? mark.loggedThrough : logEnd;
        loggedMore = true;
      }
      if (mark.callbacks !== undefined) for (const callback of mark.callbacks) callback();
    }
    assert(this.durableZxid <= this.log.lastZxid, 'nothing beyond the log is durable');
    return loggedMore;
  }

  /**
   * Hands over what this step gathered and starts the next step empty. Only the lists handed
   * out are replaced (empty parts share one frozen list): a step is on every request's path.
   */
  /** A new membership took effect: the driver is told in this step's Ready. */
  configActivated(config: EnsembleConfig): void {
    this.activatedConfig = config;
  }

  /** A reconfig was logged here: the driver is told what it proposes in this step's Ready. */
  configProposed(config: EnsembleConfig): void {
    this.proposedConfig = config;
  }

  take(): OutboxContents {
    const contents: OutboxContents = {
      persist: this.persistActions.length === 0 ? nothing : this.persistActions,
      persistSeq: this.currentMark === undefined ? 0 : this.currentMark.seq,
      messages: this.messages.length === 0 ? nothing : this.messages,
      messagesAfterPersist: this.messagesAfterPersist.length === 0 ? nothing : this.messagesAfterPersist,
      reads: this.reads.length === 0 ? nothing : this.reads,
      events: this.events.length === 0 ? nothing : this.events,
      activatedConfig: this.activatedConfig,
      closeLinks: this.closeLinks.length === 0 ? nothing : this.closeLinks,
      proposedConfig: this.proposedConfig,
    };
    this.activatedConfig = undefined;
    this.proposedConfig = undefined;
    if (this.closeLinks.length > 0) this.closeLinks = [];
    if (this.reads.length > 0) this.reads = [];
    if (this.events.length > 0) this.events = [];
    if (this.persistActions.length > 0) this.persistActions = [];
    if (this.messages.length > 0) this.messages = [];
    if (this.messagesAfterPersist.length > 0) this.messagesAfterPersist = [];
    this.currentMark = undefined;
    return contents;
  }
}
