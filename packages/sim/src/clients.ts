/**
 * Simulated clients: each holds a session, sends one operation at a time to the server it
 * is connected to, keeps its session alive with pings, and moves to another server when its
 * connection breaks, exactly as a ZooKeeper client would. Every operation and its outcome is
 * recorded for the checkers; an operation whose connection broke has an unknown outcome.
 */
import {
  type ClientOutput,
  type ClientRequest,
  CreateMode,
  ErrorCode,
  Ids,
  type Reply,
  type ResultByOp,
  type ServerId,
  type Zxid,
  zeroZxid,
} from '@zabkit/core';
import type { Rng } from './rng.js';
import type { World } from './world.js';

export type SingleWrite =
  | { readonly op: 'create'; readonly path: string; readonly data: string; readonly ephemeral: boolean }
  | { readonly op: 'setData'; readonly path: string; readonly data: string; readonly version: number }
  | { readonly op: 'delete'; readonly path: string; readonly version: number }
  | { readonly op: 'check'; readonly path: string; readonly version: number };

export type WriteInput = SingleWrite | { readonly op: 'multi'; readonly ops: readonly SingleWrite[] };

/** The paths a write touches. */
export function pathsOf(input: WriteInput): string[] {
  return input.op === 'multi' ? input.ops.map((op) => op.path) : [input.path];
}

export function describeWrite(input: WriteInput): string {
  return input.op === 'multi'
    ? `multi(${input.ops.map((op) => `${op.op} ${op.path}`).join(', ')})`
    : `${input.op} ${input.path}`;
}

/** A multi that failed reports the failing op's code and index. */
export type WriteOutput = { readonly code: number; readonly version?: number; readonly failedIndex?: number };

export interface WriteRecord {
  readonly clientId: number;
  readonly sessionId: bigint;
  readonly xid: number;
  readonly input: WriteInput;
  readonly callTime: number;
  returnTime: number | undefined;
  output: WriteOutput | undefined;
  /** For an acknowledged success: the zxid the reply carried (the transaction's). */
  zxid: Zxid | undefined;
}

export interface ReadRecord {
  readonly clientId: number;
  readonly sessionId: bigint;
  readonly path: string;
  /** The session's highest zxid seen when the read was sent. */
  readonly lastSeenBefore: Zxid;
  readonly replyZxid: Zxid;
  readonly found: boolean;
  readonly data: string;
  readonly version: number;
}

/** What one connection saw, in order: the watch checker replays it. */
export type ConnectionEntry =
  | { readonly kind: 'register'; readonly path: string; readonly zxid: Zxid }
  /** A persistent recursive watch on '/' took effect at this zxid. */
  | { readonly kind: 'persistent'; readonly zxid: Zxid }
  | { readonly kind: 'event'; readonly path: string; readonly type: number; readonly zxid: bigint }
  | { readonly kind: 'reply'; readonly zxid: Zxid };

export interface History {
  readonly writes: WriteRecord[];
  readonly reads: ReadRecord[];
  /** Per connection (keyed by a run-unique number), everything relevant to watches. */
  readonly connections: Map<number, ConnectionEntry[]>;
  /** Sessions the clients saw expire or closed themselves. */
  readonly endedSessions: Set<bigint>;
  /** Expiries a client saw while its connection had been up, and pinging, for this long. */
  readonly expiries: { clientId: number; time: number; connectedForMs: number; timeoutMs: number }[];
}

export const keyPaths = ['/k0', '/k1', '/k2', '/k3'];
const text = new TextDecoder();
const bytes = new TextEncoder();

type Pending =
  | { xid: number; kind: 'write'; record: WriteRecord }
  | { xid: number; kind: 'read'; path: string; lastSeen: Zxid; watch: boolean }
  | { xid: number; kind: 'ping' }
  | { xid: number; kind: 'addWatch' };
type Unsent = Pending extends infer P ? (P extends Pending ? Omit<P, 'xid'> : never) : never;

export class SimClient {
  private server: ServerId | undefined;
  private connectionId = 0;
  private sessionId = 0n;
  private password: Uint8Array = new Uint8Array(16);
  private timeoutMs = 0;
  private connected = false;
  private lastSeen: Zxid = zeroZxid;
  private pending: Pending | undefined;
  private nextXid = 1;
  private lastSentMs = 0;
  private stopped = false;
  private connectedSinceMs = 0;
  private paused = false;
  /** Operations completed in the healed phase: liveness wants some. */
  completedAfter = new Map<number, number>();

  constructor(
    readonly id: number,
    private readonly world: World,
    private readonly rng: Rng,
    private readonly history: History,
    private readonly connections: Map<string, SimClient>,
    private readonly connectionIds: { next: number },
    /** Watches everything with one persistent recursive watch instead of one-shot watches. */
    private readonly persistentWatcher = false,
  ) {
    this.world.schedule(this.rng.int(0, 50), `client ${id} start`, () => this.connect());
  }

  get hasSession(): boolean {
    return this.connected;
  }

  stop(): void {
    this.stopped = true;
  }

  /** Stops issuing operations but keeps the session alive with pings. */
  pause(): void {
    this.paused = true;
  }

  private connect(): void {
    if (this.stopped) return;
    const candidates = [...this.world.peers.keys()].filter((id) => this.world.alive(id));
    if (candidates.length === 0) {
      this.world.schedule(100, `client ${this.id} retry`, () => this.connect());
      return;
    }
    this.server = this.rng.pick(candidates);
    this.connectionId = this.connectionIds.next++;
    this.connections.set(`${this.server}:${this.connectionId}`, this);
    this.connected = false;
    const connectionId = this.connectionId;
    this.world.step(this.server, {
      kind: 'connect',
      connectionId,
      request: {
        sessionId: this.sessionId,
        password: this.password,
        timeoutMs: 1500,
        lastZxidSeen: this.lastSeen,
        readOnly: false,
        clientAddress: '10.0.0.1',
      },
    });
    // Give up on a server that does not answer in time and try another.
    this.world.schedule(1000, `client ${this.id} connect timeout`, () => {
      if (this.connectionId === connectionId && !this.connected) this.dropConnection();
    });
  }

  /** The connection is unusable: the outstanding operation has an unknown outcome. */
  private dropConnection(): void {
    if (this.server !== undefined) {
      this.connections.delete(`${this.server}:${this.connectionId}`);
      this.world.step(this.server, { kind: 'disconnect', connectionId: this.connectionId });
    }
    this.connected = false;
    this.pending = undefined;
    this.connectionId = -1;
    this.world.schedule(this.rng.int(10, 200), `client ${this.id} reconnect`, () => this.connect());
  }

  handle(output: ClientOutput): void {
    switch (output.kind) {
      case 'connected':
        if (output.timeoutMs <= 0) {
          this.history.endedSessions.add(this.sessionId);
          this.sessionId = 0n;
          this.lastSeen = zeroZxid;
          return;
        }
        this.sessionId = output.sessionId;
        this.password = output.password;
        this.timeoutMs = output.timeoutMs;
        this.connected = true;
        this.connectedSinceMs = this.world.now;
        this.heartbeat(this.connectionId);
        // Watches belong to a connection: a persistent watcher sets its watch on each one.
        if (this.persistentWatcher) this.send({ op: 'addWatch', path: '/', mode: 1 }, { kind: 'addWatch' });
        else this.scheduleNext();
        return;
      case 'close':
        if (output.reason === 'sessionExpired' && this.connected) {
          this.history.expiries.push({
            clientId: this.id,
            time: this.world.now,
            connectedForMs: this.world.now - this.connectedSinceMs,
            timeoutMs: this.timeoutMs,
          });
        }
        if (output.reason === 'sessionExpired' || output.reason === 'sessionClosed') {
          this.history.endedSessions.add(this.sessionId);
          this.sessionId = 0n;
          this.lastSeen = zeroZxid;
        }
        this.connections.delete(`${this.server}:${this.connectionId}`);
        this.connected = false;
        this.pending = undefined;
        this.connectionId = -1;
        this.world.schedule(this.rng.int(10, 200), `client ${this.id} reconnect`, () => this.connect());
        return;
      case 'watch':
        this.log({ kind: 'event', path: output.event.path, type: output.event.type, zxid: output.zxid });
        return;
      case 'reply':
        this.log({ kind: 'reply', zxid: output.zxid });
        this.onReply(output.xid, output.zxid, output.reply);
        return;
    }
  }

  private log(entry: ConnectionEntry): void {
    let entries = this.history.connections.get(this.connectionId);
    if (entries === undefined) this.history.connections.set(this.connectionId, (entries = []));
    entries.push(entry);
  }

  private heartbeat(connectionId: number): void {
    const intervalMs = Math.max(10, Math.floor(this.timeoutMs / 3));
    this.world.schedule(intervalMs, `client ${this.id} heartbeat`, () => {
      if (this.stopped || this.connectionId !== connectionId || !this.connected) return;
      if (this.pending === undefined && this.world.now - this.lastSentMs >= intervalMs)
        this.send({ op: 'ping' }, { kind: 'ping' });
      this.heartbeat(connectionId);
    });
  }

  private send(request: ClientRequest, pending: Unsent): void {
    const xid = this.nextXid++;
    this.pending = { ...pending, xid } as Pending;
    this.lastSentMs = this.world.now;
    const connectionId = this.connectionId;
    this.world.step(this.server!, { kind: 'request', connectionId, xid, request });
    // A client that hears nothing for a while drops the connection (ZooKeeper's read timeout).
    this.world.schedule(
      Math.max(100, Math.floor((this.timeoutMs * 2) / 3)),
      `client ${this.id} op timeout`,
      () => {
        if (this.pending?.xid === xid && this.connectionId === connectionId) this.dropConnection();
      },
    );
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    const connectionId = this.connectionId;
    this.world.schedule(this.rng.int(0, 30), `client ${this.id} op`, () => {
      if (this.connectionId !== connectionId || !this.connected || this.pending !== undefined || this.paused)
        return;
      this.issue();
    });
  }

  private issue(): void {
    const roll = this.rng.int(0, 9);
    const path = this.rng.pick(keyPaths);
    if (roll < 4) {
      const watch = !this.persistentWatcher && this.rng.chance(0.5);
      this.send({ op: 'getData', path, watch }, { kind: 'read', path, lastSeen: this.lastSeen, watch });
      return;
    }
    let input: WriteInput;
    const data = `c${this.id}-${this.nextXid}`;
    if (roll < 6)
      input = { op: 'create', path: roll === 5 ? `/e${this.id}` : path, data, ephemeral: roll === 5 };
    else if (roll < 8)
      input = { op: 'setData', path, data, version: this.rng.chance(0.5) ? -1 : this.rng.int(0, 3) };
    else if (roll < 9)
      input = { op: 'delete', path, version: this.rng.chance(0.5) ? -1 : this.rng.int(0, 3) };
    else
      input = {
        op: 'multi',
        ops: [this.randomSingle(path, data), this.randomSingle(this.rng.pick(keyPaths), data)],
      };
    const record: WriteRecord = {
      clientId: this.id,
      sessionId: this.sessionId,
      xid: this.nextXid,
      input,
      callTime: this.world.now,
      returnTime: undefined,
      output: undefined,
      zxid: undefined,
    };
    this.history.writes.push(record);
    this.send(toRequest(input), { kind: 'write', record });
  }

  private randomSingle(path: string, data: string): SingleWrite {
    const version = this.rng.chance(0.5) ? -1 : this.rng.int(0, 3);
    switch (this.rng.int(0, 3)) {
      case 0:
        return { op: 'create', path, data, ephemeral: false };
      case 1:
        return { op: 'setData', path, data, version };
      case 2:
        return { op: 'delete', path, version };
      default:
        return { op: 'check', path, version };
    }
  }

  private onReply(xid: number, zxid: Zxid, reply: Reply): void {
    const pending = this.pending;
    if (pending === undefined || pending.xid !== xid) return;
    this.pending = undefined;
    if (zxid > this.lastSeen) this.lastSeen = zxid;
    this.completedAfter.set(this.world.now, (this.completedAfter.get(this.world.now) ?? 0) + 1);
    if (pending.kind === 'addWatch') {
      if (reply.ok) this.log({ kind: 'persistent', zxid });
    } else if (pending.kind === 'write') {
      pending.record.returnTime = this.world.now;
      const output = outputOf(reply);
      pending.record.output = output;
      if (output.code === ErrorCode.Ok) pending.record.zxid = zxid;
    } else if (pending.kind === 'read') {
      const found = reply.ok;
      if (found && pending.watch) this.log({ kind: 'register', path: pending.path, zxid });
      if (!found && reply.code !== ErrorCode.NoNode) {
        this.scheduleNext();
        return;
      }
      this.history.reads.push({
        clientId: this.id,
        sessionId: this.sessionId,
        path: pending.path,
        lastSeenBefore: pending.lastSeen,
        replyZxid: zxid,
        found,
        data: reply.ok ? text.decode((reply.result as ResultByOp['getData']).data) : '',
        version: reply.ok ? (reply.result as ResultByOp['getData']).stat.version : -1,
      });
    }
    this.scheduleNext();
  }
}

function toRequest(input: WriteInput): ClientRequest {
  if (input.op === 'multi') return { op: 'multi', ops: input.ops.map(toSingle) };
  return toSingle(input);
}

function toSingle(
  input: SingleWrite,
): Extract<ClientRequest, { op: 'create' | 'setData' | 'delete' | 'check' }> {
  switch (input.op) {
    case 'create':
      return {
        op: 'create',
        path: input.path,
        data: bytes.encode(input.data),
        acl: Ids.openAclUnsafe,
        mode: input.ephemeral ? CreateMode.Ephemeral : CreateMode.Persistent,
        ttlMs: -1n,
      };
    case 'setData':
      return { op: 'setData', path: input.path, data: bytes.encode(input.data), version: input.version };
    case 'delete':
      return { op: 'delete', path: input.path, version: input.version };
    case 'check':
      return { op: 'check', path: input.path, version: input.version };
  }
}

/** A reply as the checkers see it; a failed multi reports its failing op. */
function outputOf(reply: Reply): WriteOutput {
  if (!reply.ok) return { code: reply.code };
  if (reply.op === 'multi') {
    const results = (reply.result as ResultByOp['multi']).results;
    const failedIndex = results.findIndex(
      (r) => r.op === 'error' && r.code !== 0 && r.code !== ErrorCode.RuntimeInconsistency,
    );
    if (failedIndex >= 0) return { code: (results[failedIndex] as { code: number }).code, failedIndex };
    return { code: ErrorCode.Ok };
  }
  return { code: ErrorCode.Ok, version: versionOf(reply) };
}

function versionOf(reply: Reply): number | undefined {
  if (reply.ok && reply.op === 'setData') return (reply.result as ResultByOp['setData']).stat.version;
  return undefined;
}
