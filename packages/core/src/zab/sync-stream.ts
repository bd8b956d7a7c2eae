/**
 * One learner sync as the leader streams it. After SYNCBEGIN it sends bounded chunks: for a
 * SNAP first a snapshot read from storage a piece at a time, then the transactions after it
 * (or after the learner's own log end, for DIFF and TRUNC) read from the log mirror. Chunks
 * leave only while the bytes the learner has not yet acknowledged fit the window, so what a
 * sync holds in memory is bounded by the window and one chunk, whatever the state's size.
 *
 * Consistency: the snapshot streamed is one already durable in storage, taken at a zxid the
 * log mirror still reaches beyond. It is immutable, so the leader keeps applying writes while
 * it streams; every transaction after it follows from the log, the new ones included, until
 * the stream has sent the log to its end. Only then does the leader send NEWLEADER
 * (ZOOKEEPER-3104): the learner ends with exactly the leader's history. While a stream runs
 * it pins what it still needs: its snapshot against purges and its place in the log mirror
 * against compaction (`retainFrom`).
 */
import { assert } from '../errors.js';
import type { SnapshotChunk } from '../storage.js';
import { snapshotNodeBytes } from '../storage.js';
import type { Zxid } from '../zxid.js';
import type { SyncProgress } from './events.js';
import type { LeaderMessage, LearnerSyncMode } from './messages.js';
import type { ServerId } from './quorum.js';
import { type TxnLog, txnBytes } from './txn-log.js';

/** What a stream may use of the leader streaming it. */
export interface SyncStreamHost {
  readonly nowMs: number;
  readonly log: TxnLog;
  readonly chunkBytes: number;
  readonly windowBytes: number;
  /** Sends to the learner this stream syncs. */
  send(message: LeaderMessage): void;
  /** Reads part of the stored snapshot at `zxid`; exactly one of the callbacks runs, in a later step. */
  readSnapshot(
    zxid: Zxid,
    cursor: number,
    bytesMax: number,
    onChunk: (chunk: SnapshotChunk) => void,
    onFailure: (reason: string) => void,
  ): void;
}

/** How a stream starts: the plan with the snapshot chosen. */
export type StreamStart =
  | { readonly mode: 'diff' | 'trunc'; readonly afterZxid: Zxid }
  | {
      readonly mode: 'snap';
      readonly snapshotZxid: Zxid;
      /** False while the snapshot is still being made durable: `snapshotDurable` starts the reads. */
      readonly snapshotDurable: boolean;
    };

type StreamPhase =
  /** A SNAP waiting for its snapshot to be durable before reading it. */
  | 'awaitingSnapshot'
  | 'snapshot'
  | 'txns'
  /** Everything up to the log's end was sent: NEWLEADER has gone, the live flow took over. */
  | 'caughtUp';

interface SentChunk {
  readonly seq: number;
  readonly bytes: number;
}

/**
 * About how many bytes one session takes in a chunk (its 64-bit id and 32-bit timeout):
 * sessions are sized with it against the chunk size and the window, as nodes are.
 */
export const syncSessionBytes = 12;

/** A leader's stream of one learner sync: windowed chunks, then the point where NEWLEADER may go. */
export class SyncStream {
  readonly mode: LearnerSyncMode;
  readonly startedMs: number;
  readonly snapshotZxid: Zxid | undefined;
  private phase: StreamPhase;
  private cursor = 0;
  private reading = false;
  /**
   * The piece of the snapshot read and not yet wholly sent: its sessions (all of them come
   * with the first piece) leave a chunk's worth at a time ahead of its nodes, so that no
   * message grows with the number of sessions either.
   */
  private held: SnapshotChunk | undefined;
  private heldSessionsSent = 0;
  /** The zxid of the last transaction sent (or the point they follow). */
  private txnCursor: Zxid;
  private nextSeq = 1;
  private readonly unacked: SentChunk[] = [];
  private unackedBytes = 0;
  /** The learner's arrivals count in its last syncAck: more since means the stream moves. */
  private learnerArrivals = 0;
  private lastProgressMs: number;
  /** The fewest transactions the stream has been behind the log's end since it began them, and when. */
  private leastBehind = Number.POSITIVE_INFINITY;
  private leastBehindMs: number;
  /**
   * When the stream last had room in its window to send transactions: the moments it is
   * judged at. While the window is full it waits on the link, which `stallReason` bounds.
   */
  private lastRoomMs: number;
  private chunks = 0;
  private bytes = 0;
  /** Why the stream cannot go on (a snapshot that does not read back), once it cannot. */
  failure: string | undefined;

  constructor(
    private readonly host: SyncStreamHost,
    readonly learner: ServerId,
    private readonly epoch: number,
    /** The learner's attempt to follow that this stream answers: every message names it. */
    private readonly attempt: number,
    start: StreamStart,
  ) {
    this.mode = start.mode;
    this.startedMs = host.nowMs;
    this.lastProgressMs = host.nowMs;
    this.leastBehindMs = host.nowMs;
    this.lastRoomMs = host.nowMs;
    if (start.mode === 'snap') {
      assert(start.snapshotZxid >= host.log.baseZxid, 'the log mirror reaches beyond the snapshot streamed');
      this.snapshotZxid = start.snapshotZxid;
      this.txnCursor = start.snapshotZxid;
      this.phase = start.snapshotDurable ? 'snapshot' : 'awaitingSnapshot';
    } else {
      this.snapshotZxid = undefined;
      this.txnCursor = start.afterZxid;
      this.phase = 'txns';
    }
    host.send({
      kind: 'syncBegin',
      epoch,
      attempt,
      mode: start.mode,
      truncateTo: start.mode === 'trunc' ? start.afterZxid : undefined,
      snapshotZxid: this.snapshotZxid,
    });
  }

  /** True once the stream has sent the log to its end and NEWLEADER may (and did) go. */
  get caughtUp(): boolean {
    return this.phase === 'caughtUp';
  }

  /**
   * The oldest zxid the stream still needs kept: its snapshot (against purges) and the log
   * mirror after its cursor (against compaction); undefined once caught up.
   */
  retainFrom(): Zxid | undefined {
    if (this.phase === 'caughtUp') return undefined;
    return this.snapshotZxid !== undefined && this.phase !== 'txns' ? this.snapshotZxid : this.txnCursor;
  }

  /** The snapshot this SNAP streams is durable: reading it may start. */
  snapshotDurable(): void {
    if (this.phase !== 'awaitingSnapshot') return;
    this.phase = 'snapshot';
    this.lastProgressMs = this.host.nowMs;
  }

  /**
   * The learner acknowledged every chunk through `seq` as durable (room in the window again),
   * and counted `arrivals` pieces of the stream reaching it. Either moving is progress: over a
   * slow link a chunk may take longer than the stall limit to arrive whole, and the sync is
   * given up only when nothing at all arrives for that long.
   */
  acked(seq: number, arrivals: number): void {
    let progressed = arrivals > this.learnerArrivals;
    if (progressed) this.learnerArrivals = arrivals;
    while (this.unacked.length > 0 && this.unacked[0]!.seq <= seq) {
      this.unackedBytes -= this.unacked.shift()!.bytes;
      progressed = true;
    }
    assert(this.unackedBytes >= 0, 'no more bytes acknowledged than sent');
    if (progressed) this.lastProgressMs = this.host.nowMs;
  }

  private get roomInWindow(): boolean {
    return this.unackedBytes < this.host.windowBytes;
  }

  private sent(bytes: number): number {
    const seq = this.nextSeq++;
    this.unacked.push({ seq, bytes });
    this.unackedBytes += bytes;
    this.chunks++;
    this.bytes += bytes;
    return seq;
  }

  /**
   * Sends what the window allows; the leader calls it at the end of every step (so the
   * events above only change state). Returns true in the call that catches the stream up
   * with the log's end: the caller sends NEWLEADER right behind the last chunk.
   */
  pump(): boolean {
    if (this.failure !== undefined) return false;
    if (this.phase === 'snapshot') {
      this.sendHeld();
      if (this.held === undefined && this.phase === 'snapshot' && !this.reading && this.roomInWindow)
        this.readNext();
    }
    if (this.phase !== 'txns') return false;
    const log = this.host.log;
    const hadRoom = this.roomInWindow;
    while (this.roomInWindow && this.txnCursor < log.lastZxid) {
      const txns = log.chunkAfter(this.txnCursor, this.host.chunkBytes);
      assert(txns.length > 0, 'the log holds what follows the cursor');
      let bytes = 0;
      for (const txn of txns) bytes += txnBytes(txn);
      this.host.send({
        kind: 'syncTxns',
        epoch: this.epoch,
        attempt: this.attempt,
        seq: this.sent(bytes),
        txns,
      });
      this.txnCursor = txns[txns.length - 1]!.zxid;
    }
    if (this.txnCursor < log.lastZxid) {
      const behind = this.behindTxns();
      if (behind < this.leastBehind) {
        this.leastBehind = behind;
        this.leastBehindMs = this.host.nowMs;
      }
      if (hadRoom) this.lastRoomMs = this.host.nowMs;
      return false;
    }
    assert(this.txnCursor === log.lastZxid, 'the stream never runs past the log');
    this.phase = 'caughtUp';
    return true;
  }

  private readNext(): void {
    assert(this.snapshotZxid !== undefined, 'only a SNAP reads a snapshot');
    this.reading = true;
    this.host.readSnapshot(
      this.snapshotZxid,
      this.cursor,
      this.host.chunkBytes,
      (chunk) => this.onChunk(chunk),
      (reason) => {
        this.reading = false;
        this.failure = `the snapshot at ${this.snapshotZxid!.toString(16)} did not read back: ${reason}`;
      },
    );
  }

  private onChunk(chunk: SnapshotChunk): void {
    assert(this.phase === 'snapshot' && this.reading, 'a snapshot read answers the read asked for');
    assert(this.held === undefined, 'one piece of the snapshot is read at a time');
    this.reading = false;
    this.lastProgressMs = this.host.nowMs;
    this.held = chunk;
    this.heldSessionsSent = 0;
    // The leader pumps at the end of the step: the piece leaves then, as the window allows.
  }

  /**
   * Sends the piece read, as the window allows: sessions a chunk's worth at a time while
   * they would not fit beside its nodes, then its nodes with the sessions that remain.
   */
  private sendHeld(): void {
    const chunk = this.held;
    if (chunk === undefined) return;
    const chunkBytes = this.host.chunkBytes;
    const sessionsPerChunk = Math.max(1, Math.floor(chunkBytes / syncSessionBytes));
    let nodeBytes = 0;
    for (const node of chunk.nodes) nodeBytes += snapshotNodeBytes(node);
    const left = () => chunk.sessions.length - this.heldSessionsSent;
    while (this.roomInWindow && left() > 0 && nodeBytes + left() * syncSessionBytes > chunkBytes) {
      const sessions = chunk.sessions.slice(this.heldSessionsSent, this.heldSessionsSent + sessionsPerChunk);
      this.heldSessionsSent += sessions.length;
      this.host.send({
        kind: 'syncSnapshotChunk',
        epoch: this.epoch,
        attempt: this.attempt,
        seq: this.sent(sessions.length * syncSessionBytes),
        nodes: [],
        sessions,
        last: false,
      });
    }
    if (!this.roomInWindow) return;
    const sessions =
      this.heldSessionsSent === 0 ? chunk.sessions : chunk.sessions.slice(this.heldSessionsSent);
    const bytes = nodeBytes + sessions.length * syncSessionBytes;
    const last = chunk.next === undefined;
    this.host.send({
      kind: 'syncSnapshotChunk',
      epoch: this.epoch,
      attempt: this.attempt,
      seq: this.sent(bytes),
      nodes: chunk.nodes,
      sessions,
      last,
    });
    this.held = undefined;
    if (last) this.phase = 'txns';
    else this.cursor = chunk.next!;
  }

  /**
   * Why the stream is stuck, if it has been for `limitMs`: chunks sent and no credit back.
   * Undefined while it moves, and while it waits on this leader's own storage.
   */
  stallReason(nowMs: number, limitMs: number): string | undefined {
    // Waiting on our own storage (a snapshot being made durable, a read) is not the link
    // stalling: a large snapshot takes its time, and storage that fails says so itself.
    if (this.phase === 'caughtUp' || this.phase === 'awaitingSnapshot' || this.reading) return undefined;
    const waited = nowMs - this.lastProgressMs;
    if (waited <= limitMs || this.unacked.length === 0) return undefined;
    return `no credit from the learner for ${Math.round(waited)} ms, nor any of the stream arriving there (${this.unacked.length} chunks, ${this.unackedBytes} bytes unacknowledged)`;
  }

  /** Transactions in the log that the stream has yet to send: how far behind the leader it is. */
  behindTxns(): number {
    return this.phase === 'caughtUp' ? 0 : this.host.log.countAfter(this.txnCursor);
  }

  /**
   * Why the stream will not catch up, if it came no nearer the log's end in `limitMs` while
   * it could send: the learner takes it slower than the clients write, and the log the stream
   * pins would grow without end. Judged when the window has room (after a credit), not while
   * it waits for one: over a slow link a credit may take longer than `limitMs` to come, and
   * a stream that gains a chunk at each is catching up. Undefined while it gains.
   */
  fallingBehindReason(limitMs: number): string | undefined {
    if (this.phase !== 'txns' || this.leastBehind === Number.POSITIVE_INFINITY) return undefined;
    const waited = this.lastRoomMs - this.leastBehindMs;
    if (waited <= limitMs) return undefined;
    return `the learner takes the stream slower than the writes come: ${this.behindTxns()} transactions behind the log's end, no nearer than ${this.leastBehind} for ${Math.round(waited)} ms`;
  }

  /** The stream's size and state so far, for status and events. */
  progress(): SyncProgress {
    return {
      side: 'leader',
      peer: this.learner,
      mode: this.mode,
      snapshotZxid: this.snapshotZxid,
      chunks: this.chunks,
      bytes: this.bytes,
      unacknowledgedBytes: this.unackedBytes,
      behindTxns: this.behindTxns(),
      startedMs: this.startedMs,
    };
  }
}
