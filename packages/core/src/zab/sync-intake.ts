/**
 * One learner sync as the learner takes it. Chunks must come in order (1, 2, 3...): a gap
 * means the link lost something, and the learner starts over rather than hold a history
 * with a hole. Each chunk is acknowledged only once what it carried is durable here, and
 * those acknowledgements are the leader's credit to send more.
 *
 * A SNAP never touches the learner's state until it is whole: its chunks are staged in
 * storage (`stageChunk`) and rebuilt into a tree of their own; the last chunk switches both
 * in one step (`stageCommit` in storage, `installSnapshot` in memory). A crash or a failed
 * stream before that leaves the previous state intact, in memory and on disk; the staged
 * chunks are discarded at the next SNAP or restart.
 */
import { assert } from '../errors.js';
import { snapshotNodeBytes } from '../storage.js';
import { DataTree } from '../tree/data-tree.js';
import type { SessionId } from '../txn.js';
import type { Zxid } from '../zxid.js';
import type { SyncProgress } from './events.js';
import type { LeaderMessage, LearnerSyncMode } from './messages.js';
import type { ServerId } from './quorum.js';
import { syncSessionBytes } from './sync-stream.js';
import { txnBytes } from './txn-log.js';

type SnapshotChunkMessage = Extract<LeaderMessage, { kind: 'syncSnapshotChunk' }>;
type TxnsMessage = Extract<LeaderMessage, { kind: 'syncTxns' }>;

/** What the intake may use of the learner taking it. */
export interface SyncIntakeHost {
  readonly nowMs: number;
  /** Stages a SNAP's next chunk in storage; `onDurable` runs once it is. */
  stageChunk(zxid: Zxid, index: number, chunk: SnapshotChunkMessage, onDurable: () => void): void;
  /** Runs `callback` once everything persisted so far is durable. */
  whenDurable(callback: () => void): void;
  /** The SNAP is whole: switch to it, in storage atomically and in memory at once. */
  installSnapshot(
    tree: DataTree,
    zxid: Zxid,
    chunks: number,
    nodes: number,
    sessions: readonly (readonly [SessionId, number])[],
  ): void;
  /** Logs the transactions that extend the log (false if they leave a gap); `onDurable` once they are. */
  appendTxns(message: TxnsMessage, onDurable: () => void): boolean;
  /** Sends the leader credit: every chunk through `seq` is durable here; `arrivals` as `SyncIntake.arrivals`. */
  acknowledge(seq: number, arrivals: number): void;
  /** Gives up the sync (and the leader) with a reason. */
  fail(reason: string): void;
}

/** What a chunk did. */
type Taken = 'taken' | 'duplicate' | 'failed';

/** A learner's intake of one learner sync: ordered chunks, a SNAP staged apart, durable acks. */
export class SyncIntake {
  readonly startedMs: number;
  private expectedSeq = 1;
  /** Highest seq whose chunk is durable here: what the next syncAck says. */
  private durableSeq = 0;
  private lastChunkMs: number;
  /** When the leader was last heard from other than by a chunk. */
  private lastHeardMs: number;
  /** When bytes of a chunk still on its way last came in. */
  private lastArrivingMs: number;
  private arrivalCount = 0;
  private chunks = 0;
  private bytes = 0;
  /** For a SNAP: the tree being rebuilt, until the last chunk installs it. */
  private incoming: DataTree | undefined;
  private stagedChunks = 0;
  private stagedNodes = 0;
  private readonly sessions: (readonly [SessionId, number])[] = [];
  private snapshotInstalled = false;

  constructor(
    private readonly host: SyncIntakeHost,
    readonly leader: ServerId,
    readonly mode: LearnerSyncMode,
    readonly snapshotZxid: Zxid | undefined,
  ) {
    assert((mode === 'snap') === (snapshotZxid !== undefined), 'a SNAP, and only a SNAP, names its snapshot');
    this.startedMs = host.nowMs;
    this.lastChunkMs = host.nowMs;
    this.lastHeardMs = host.nowMs;
    this.lastArrivingMs = host.nowMs;
    if (mode === 'snap') this.incoming = new DataTree();
  }

  /**
   * Grows each time some of the stream arrives (a chunk taken, bytes of one on the way), for
   * the syncAck: the leader counts its stream as moving while it grows. A ping does not count:
   * the link could carry those and still not the stream, if its chunks were never sent.
   */
  get arrivals(): number {
    return this.arrivalCount;
  }

  /** The highest chunk durable here, for the syncAck; 0 before the first. */
  get acknowledgedSeq(): number {
    return this.durableSeq;
  }

  /** True once the stream may end: a SNAP's snapshot is whole and installed (DIFF and TRUNC always). */
  get historyComplete(): boolean {
    return this.mode !== 'snap' || this.snapshotInstalled;
  }

  /** True while a SNAP is staged and not installed: abandoning it leaves staged chunks behind. */
  get staging(): boolean {
    return this.mode === 'snap' && !this.snapshotInstalled;
  }

  private inOrder(seq: number): Taken | undefined {
    if (seq < this.expectedSeq) return 'duplicate';
    if (seq > this.expectedSeq) {
      this.host.fail(`sync chunk ${this.expectedSeq} from leader ${this.leader} never came (got ${seq})`);
      return 'failed';
    }
    this.expectedSeq++;
    this.lastChunkMs = this.host.nowMs;
    this.arrivalCount++;
    this.chunks++;
    return undefined;
  }

  private durable(seq: number): void {
    if (seq <= this.durableSeq) return;
    this.durableSeq = seq;
    this.host.acknowledge(seq, this.arrivalCount);
  }

  /** Takes a piece of the snapshot: staged in storage, rebuilt into the incoming tree. */
  snapshotChunk(message: SnapshotChunkMessage): Taken {
    const order = this.inOrder(message.seq);
    if (order !== undefined) return order;
    const incoming = this.incoming;
    if (incoming === undefined || this.snapshotInstalled) {
      this.host.fail(`leader ${this.leader} sent a snapshot chunk in a ${this.mode.toUpperCase()} sync`);
      return 'failed';
    }
    for (const node of message.nodes) this.bytes += snapshotNodeBytes(node);
    incoming.restoreNodes(message.nodes);
    for (const session of message.sessions) {
      this.sessions.push(session);
      this.bytes += syncSessionBytes;
    }
    const zxid = this.snapshotZxid!;
    if (message.nodes.length === 0 && !message.last) {
      // Sessions only (a large snapshot's come a chunk's worth at a time): nothing to stage,
      // they go into the manifest with the switch. Acknowledged in order behind the chunks.
      this.host.whenDurable(() => this.durable(message.seq));
    } else {
      this.host.stageChunk(zxid, this.stagedChunks++, message, () => this.durable(message.seq));
      this.stagedNodes += message.nodes.length;
    }
    if (message.last) {
      incoming.finishRestore(zxid, this.sessions);
      this.incoming = undefined;
      this.snapshotInstalled = true;
      this.host.installSnapshot(incoming, zxid, this.stagedChunks, this.stagedNodes, this.sessions);
    }
    return 'taken';
  }

  /** Takes transactions: after the truncation, or after the snapshot once it is whole. */
  txns(message: TxnsMessage): Taken {
    const order = this.inOrder(message.seq);
    if (order !== undefined) return order;
    if (!this.historyComplete) {
      this.host.fail(`leader ${this.leader} sent transactions before the snapshot was whole`);
      return 'failed';
    }
    for (const txn of message.txns) this.bytes += txnBytes(txn);
    if (!this.host.appendTxns(message, () => this.durable(message.seq))) return 'failed';
    return 'taken';
  }

  /**
   * The leader was heard from (a ping, say) though no chunk came: it is alive, and perhaps
   * waiting on its own storage for the next chunk (a large snapshot being written). It says
   * itself when its stream is stuck, by dropping us, and then its pings stop too.
   */
  heard(): void {
    this.lastHeardMs = this.host.nowMs;
  }

  /**
   * Bytes of a message from the leader came in, not yet all of it: a chunk on its way, over a
   * link too slow to bring it whole within the stall limit. The stream moves.
   */
  arriving(): void {
    this.lastArrivingMs = this.host.nowMs;
    this.arrivalCount++;
  }

  private get lastSignMs(): number {
    return Math.max(this.lastChunkMs, this.lastHeardMs, this.lastArrivingMs);
  }

  /** Why the stream is stuck, if nothing came from the leader for `limitMs`; undefined while things come. */
  stallReason(nowMs: number, limitMs: number): string | undefined {
    const waited = nowMs - this.lastSignMs;
    if (waited <= limitMs) return undefined;
    return `nothing from leader ${this.leader} for ${Math.round(waited)} ms (after sync chunk ${this.expectedSeq - 1}, ${this.bytes} bytes)`;
  }

  /** When `stallReason` with `limitMs` would first report a stall, if nothing comes before. */
  stallDueMs(limitMs: number): number {
    return this.lastSignMs + limitMs + 1;
  }

  /** The intake's size so far, for status and events. */
  progress(): SyncProgress {
    return {
      side: 'learner',
      peer: this.leader,
      mode: this.mode,
      snapshotZxid: this.snapshotZxid,
      chunks: this.chunks,
      bytes: this.bytes,
      unacknowledgedBytes: 0,
      behindTxns: 0,
      startedMs: this.startedMs,
    };
  }
}
