/**
 * One connection's replies in request order: ZooKeeper's per-session FIFO. A write or a sync
 * waits here until the commit path answers it; a request the front serves itself (a read, a
 * watch request, whoAmI, ping) that arrives behind one waits too, and is served when it
 * reaches the head, so it sees every earlier write of its session. Nothing is answered
 * before what came earlier, and nothing twice.
 */
import { assert, assertNever, ErrorCode, type ErrorCodeValue } from '../errors.js';
import type {
  AuthRequest,
  ClientRequest,
  CloseSessionRequest,
  OpName,
  ReconfigRequest,
  Reply,
  SyncRequest,
  WriteRequest,
} from '../requests.js';
import type { TxnResult } from '../tree/data-tree.js';
import type { Zxid } from '../zxid.js';

/** What the front serves itself, from the local tree and its own state. */
export type LocalRequest = Exclude<
  ClientRequest,
  WriteRequest | SyncRequest | AuthRequest | CloseSessionRequest | ReconfigRequest
>;

/**
 * A request awaiting its turn. Writes and syncs are answered when the commit path says so
 * (`reply` is then set, once); local requests are served when they reach the head.
 */
type Entry =
  | {
      readonly kind: 'write';
      readonly xid: number;
      readonly op: OpName;
      reply: Reply | undefined;
      zxid: Zxid | undefined;
    }
  | { readonly kind: 'sync'; readonly xid: number; readonly path: string; reply: Reply | undefined }
  | { readonly kind: 'local'; readonly xid: number; readonly request: LocalRequest };

/** How a queue answers its head: it serves a local request now, and sends replies. */
export interface ReplySink {
  /** Serves a local request against the tree as it is now. */
  serveLocal(request: LocalRequest): Reply;
  /** Sends one reply; `zxid` is the write's, or undefined for the tree's last. */
  send(xid: number, reply: Reply, zxid: Zxid | undefined): void;
}

/** The replies of one connection, kept in request order. */
export class ReplyQueue {
  private readonly entries: Entry[] = [];
  /** Entries ever queued and ever sent: every queued entry is sent once, or is still here. */
  private queuedCount = 0;
  private sentCount = 0;

  constructor(
    /** The bound on `length` (the peer's `requestsPendingPerSessionMax`), checked by the caller before queueing. */
    private readonly lengthMax: number,
    private readonly sink: ReplySink,
  ) {
    assert(lengthMax > 0, 'a reply queue has room for one request');
  }

  /** Requests waiting for their answer. */
  get length(): number {
    return this.entries.length;
  }

  /** A write (or closeSession) was handed to the commit path; `answerWrite` completes it. */
  awaitWrite(xid: number, op: OpName): void {
    // Made with every field it will hold: answered in place, it keeps its shape.
    this.push({ kind: 'write', xid, op, reply: undefined, zxid: undefined });
  }

  /** A sync was handed to the commit path; `answerSync` completes it. */
  awaitSync(xid: number, path: string): void {
    this.push({ kind: 'sync', xid, path, reply: undefined });
  }

  /** A local request arrived behind unanswered ones: it is served when it reaches the head. */
  queueLocal(xid: number, request: LocalRequest): void {
    assert(this.entries.length > 0, 'a local request waits only behind another');
    this.push({ kind: 'local', xid, request });
  }

  /** The write `xid` was applied at `zxid` with `result`. */
  answerWrite(xid: number, result: TxnResult, zxid: Zxid): void {
    const entry = this.unanswered(xid, 'write');
    // Checked before asserting: a message closure would be allocated for every write.
    if (entry?.kind !== 'write') assert(false, `no write ${xid} awaiting its answer`);
    entry.reply = toWriteReply(result, entry.op);
    entry.zxid = zxid;
  }

  /** The sync `xid` is done; false when none is waiting (the answer has no one to go to). */
  answerSync(xid: number): boolean {
    const entry = this.unanswered(xid, 'sync');
    if (entry?.kind !== 'sync') return false;
    entry.reply = { ok: true, op: 'sync', result: { path: entry.path } };
    return true;
  }

  /** The commit path refused the write or sync `xid` it was just handed: it is answered `code` in its turn. */
  refuse(xid: number, code: ErrorCodeValue): void {
    const entry = this.entries.find(
      (candidate) => candidate.xid === xid && candidate.kind !== 'local' && candidate.reply === undefined,
    );
    assert(
      entry !== undefined && entry.kind !== 'local',
      () => `no write or sync ${xid} awaiting its answer`,
    );
    entry.reply = { ok: false, op: entry.kind === 'sync' ? 'sync' : entry.op, code };
  }

  /**
   * Sends, in request order, every entry at the head that can be answered: answered writes and
   * syncs as they are, local requests as the sink serves them now.
   */
  drain(): void {
    for (;;) {
      const head = this.entries[0];
      if (head === undefined) break;
      if (head.kind === 'local') {
        this.entries.shift();
        this.sentCount++;
        this.sink.send(head.xid, this.sink.serveLocal(head.request), undefined);
        continue;
      }
      if (head.reply === undefined) break;
      this.entries.shift();
      this.sentCount++;
      this.sink.send(head.xid, head.reply, head.kind === 'write' ? head.zxid : undefined);
    }
    assert(this.sentCount + this.entries.length === this.queuedCount, 'every queued reply is sent once');
  }

  private push(entry: Entry): void {
    assert(this.entries.length < this.lengthMax, 'requests pending per session within their bound');
    this.entries.push(entry);
    this.queuedCount++;
  }

  /** The first entry of `kind` numbered `xid` still without its answer. */
  private unanswered(xid: number, kind: 'write' | 'sync'): Entry | undefined {
    // A loop, not find(): no closure per answer, and the answer is nearly always at the head.
    for (const entry of this.entries) {
      if (entry.xid === xid && entry.kind === kind && entry.reply === undefined) return entry;
    }
    return undefined;
  }
}

/** Turns an applied transaction's result into the reply its client expects. */
function toWriteReply(result: TxnResult, op: OpName): Reply {
  if (result.kind === 'error') return { ok: false, op, code: result.code };
  if (op === 'closeSession') return { ok: true, op: 'closeSession', result: {} };
  switch (result.kind) {
    case 'create':
      return { ok: true, op: 'create', result: { path: result.path, stat: result.stat } };
    case 'setData':
      return { ok: true, op: 'setData', result: { stat: result.stat } };
    case 'setACL':
      return { ok: true, op: 'setACL', result: { stat: result.stat } };
    case 'delete':
      return { ok: true, op: 'delete', result: {} };
    case 'check':
      return { ok: true, op: 'check', result: {} };
    case 'multi':
      return { ok: true, op: 'multi', result: { results: result.results } };
    case 'reconfig':
      return { ok: true, op: 'reconfig', result: { data: result.data, stat: result.stat } };
    case 'createSession':
    case 'closeSession':
      return { ok: true, op: 'closeSession', result: {} };
    case 'restore':
      // A restore is the service's own transaction: no client write waits on it.
      assert(false, 'a restore answers no client');
      return { ok: false, op, code: ErrorCode.SystemError };
    default:
      return assertNever(result, 'transaction result');
  }
}
