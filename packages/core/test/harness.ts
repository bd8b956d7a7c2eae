/**
 * Drives a one-voter ZabPeer (a standalone server, as `zabkit server` and LocalServer run it)
 * directly and synchronously, acting as its driver through core's ReadyPipeline: it makes
 * whatever a Ready persists durable at once (or holds it until `flush()`) and steps
 * `persistedThrough`. Tests read replies and watch events per connection.
 */
import type {
  ClientOutput,
  ClientRequest,
  ConnectionId,
  PeerInput,
  PeerReady,
  Reply,
  Txn,
  WatchEvent,
  ZabPeerOptions,
  Zxid,
} from '../src/index.js';
import { clockAt, ReadyPipeline, ZabPeer, zeroZxid } from '../src/index.js';

export interface TestSession {
  readonly connectionId: ConnectionId;
  readonly sessionId: bigint;
  readonly password: Uint8Array;
  readonly timeoutMs: number;
}

/** A standalone server's settings, as tests give them. */
export type HarnessOptions = Partial<Omit<ZabPeerOptions, 'serverId' | 'voters' | 'observers'>>;

export class Harness {
  /** The one-voter peer under test. */
  readonly server: ZabPeer;
  private readonly pipeline = new ReadyPipeline();
  nowMs: number;
  private nextConnectionId = 1;
  private nextXid = 1;
  private readonly outputs = new Map<ConnectionId, ClientOutput[]>();
  /** Every transaction the server asked to persist, in order. */
  readonly log: Txn[] = [];
  /** What the last `connect` call received, connected message and close included. */
  lastConnectOutputs: ClientOutput[] = [];
  /** When false, persistence is held back until `flush()`. */
  autoPersist = true;

  constructor(options: HarnessOptions = {}) {
    this.nowMs = options.startTimeMs ?? 1_000_000;
    this.server = new ZabPeer(
      {
        sessionSecret: new Uint8Array([1, 2, 3, 4]),
        tickTimeMs: 100,
        ...options,
        serverId: 1,
        voters: [1],
        startTimeMs: this.nowMs,
      },
      undefined,
      this.nowMs,
    );
    // A lone voter elects itself and establishes its epoch in its first tick and write.
    this.step({ kind: 'tick' });
    if (!this.server.status().serving)
      throw new Error('a one-voter peer serves once its first write is durable');
  }

  /** Sessions the server knows (created and not yet closed or expired). */
  get sessionCount(): number {
    return this.server.sessionSummary().sessions.size;
  }

  private step(input: PeerInput): void {
    this.handle(this.server.step(input, clockAt(this.nowMs)));
  }

  private handle(ready: PeerReady): void {
    for (const output of ready.toClients) {
      let list = this.outputs.get(output.connectionId);
      if (list === undefined) this.outputs.set(output.connectionId, (list = []));
      list.push(output);
    }
    for (const action of ready.persist) if (action.kind === 'append') this.log.push(...action.txns);
    this.pipeline.accept(ready);
    if (this.autoPersist) this.flush();
  }

  /** Makes every write persisted so far durable and tells the server. */
  flush(): void {
    for (;;) {
      const write = this.pipeline.startWrite();
      if (write === undefined) return;
      this.handle(this.server.step(this.pipeline.completeWrite(write).persisted, clockAt(this.nowMs)));
    }
  }

  connect(
    options: {
      timeoutMs?: number;
      clientAddress?: string;
      resume?: TestSession;
      lastZxidSeen?: Zxid;
      password?: Uint8Array;
    } = {},
  ): TestSession {
    const connectionId = this.nextConnectionId++;
    this.step({
      kind: 'connect',
      connectionId,
      request: {
        sessionId: options.resume?.sessionId ?? 0n,
        password: options.password ?? options.resume?.password ?? new Uint8Array(16),
        timeoutMs: options.timeoutMs ?? 1000,
        lastZxidSeen: options.lastZxidSeen ?? zeroZxid,
        readOnly: false,
        clientAddress: options.clientAddress ?? '127.0.0.1',
      },
    });
    this.lastConnectOutputs = this.take(connectionId);
    const connected = this.lastConnectOutputs.find((output) => output.kind === 'connected');
    if (connected?.kind !== 'connected')
      return { connectionId, sessionId: 0n, password: new Uint8Array(16), timeoutMs: 0 };
    return {
      connectionId,
      sessionId: connected.sessionId,
      password: connected.password,
      timeoutMs: connected.timeoutMs,
    };
  }

  /** Sends a request and returns the request's xid; the reply may come later. */
  send(session: TestSession, request: ClientRequest): number {
    const xid = this.nextXid++;
    this.step({ kind: 'request', connectionId: session.connectionId, xid, request });
    return xid;
  }

  /** Sends a request and returns its reply, which must come at once. */
  request(session: TestSession, request: ClientRequest): Reply {
    const xid = this.send(session, request);
    const reply = this.replyTo(session, xid);
    if (reply === undefined) throw new Error(`no reply to ${request.op}`);
    return reply;
  }

  /** Like `request`, but throws unless the reply is a success; returns the result. */
  ok<R extends ClientRequest>(
    session: TestSession,
    request: R,
  ): Extract<Reply, { ok: true }>['result'] & Record<string, any> {
    const reply = this.request(session, request);
    if (!reply.ok) throw new Error(`${request.op} failed with ${reply.code}`);
    return reply.result as any;
  }

  /** The error code of a request that must fail. */
  code(session: TestSession, request: ClientRequest): number {
    const reply = this.request(session, request);
    if (reply.ok) throw new Error(`${request.op} unexpectedly succeeded`);
    return reply.code;
  }

  replyTo(session: TestSession, xid: number): Reply | undefined {
    const list = this.outputs.get(session.connectionId) ?? [];
    const index = list.findIndex((output) => output.kind === 'reply' && output.xid === xid);
    if (index < 0) return undefined;
    const [output] = list.splice(index, 1);
    return output?.kind === 'reply' ? output.reply : undefined;
  }

  /** Removes and returns every output queued for a connection. */
  take(connectionId: ConnectionId): ClientOutput[] {
    const list = this.outputs.get(connectionId) ?? [];
    this.outputs.set(connectionId, []);
    return list;
  }

  /** Removes and returns the watch events queued for a session's connection. */
  events(session: TestSession): WatchEvent[] {
    const list = this.outputs.get(session.connectionId) ?? [];
    const events = list
      .filter((output) => output.kind === 'watch')
      .map((output) => (output as { event: WatchEvent }).event);
    this.outputs.set(
      session.connectionId,
      list.filter((output) => output.kind !== 'watch'),
    );
    return events;
  }

  /** Every output queued for a connection, without removing them. */
  peek(session: TestSession): readonly ClientOutput[] {
    return this.outputs.get(session.connectionId) ?? [];
  }

  disconnect(session: TestSession): void {
    this.step({ kind: 'disconnect', connectionId: session.connectionId });
  }

  /** Advances the clock by `ms` and ticks. */
  advance(ms: number): void {
    this.nowMs += ms;
    this.step({ kind: 'tick' });
  }
}

export const bytes = (text: string) => new TextEncoder().encode(text);
/** A znode's data as text. Null data is not empty text, so it fails the test rather than read as ''. */
export const text = (data: Uint8Array | null) => {
  if (data === null) throw new Error('expected data, got null');
  return new TextDecoder().decode(data);
};
