/**
 * A scripted, deterministic ensemble for interaction tests and the golden transcripts
 * (test/golden, testdata/): peers step only when the script says so, messages wait in a
 * queue until delivered (or dropped), and storage becomes durable only when acknowledged, so
 * a script can crash a peer between persisting and acknowledging. Every Ready goes through
 * the ReadyPipeline, as in every driver; an observer hears everything, in order.
 */
import {
  type ClientOutput,
  type ClientRequest,
  type ClockReading,
  type CrashLoss,
  type EnsembleConfig,
  type Envelope,
  type PeerEvent,
  type PeerInput,
  type PeerReady,
  type PeerStatus,
  ReadyPipeline,
  type Reply,
  type ServerId,
  StorageImage,
  type StorageRead,
  type StorageWrite,
  type Txn,
  ZabPeer,
  type ZabPeerOptions,
  type Zxid,
  zeroZxid,
} from '../../src/index.js';

interface Node {
  peer: ZabPeer | undefined;
  /** What survives a crash. */
  durable: StorageImage;
  /** Persisted but not yet acknowledged as durable, and the messages that wait for it. */
  pipeline: ReadyPipeline;
  outputs: ClientOutput[];
  /** Storage reads asked for and not yet answered. */
  reads: StorageRead[];
  events: PeerEvent[];
  /** Every configuration its Readies said took effect, in order, across restarts. */
  activatedConfigs: EnsembleConfig[];
  /** The peers whose links its driver was asked to close, in order, across restarts. */
  linksClosed: ServerId[];
}

const node = (cluster: Cluster, id: ServerId): Node => {
  const found = cluster.nodes.get(id);
  if (found === undefined) throw new Error(`no server ${id}`);
  return found;
};

export interface ClusterOptions {
  readonly voters: number;
  readonly observers?: number;
  readonly peer?: Partial<ZabPeerOptions>;
  /** Options of one server over `peer`'s: a joining server's own view of the ensemble, say. */
  readonly peerOf?: (id: ServerId) => Partial<ZabPeerOptions>;
  /** Servers beyond the voters and observers, started with the cluster (their views from `peerOf`). */
  readonly extraServers?: readonly ServerId[];
  /** Each server's own session secret, as its driver's randomness would give it. */
  readonly sessionSecretOf?: (id: ServerId) => Uint8Array;
  /** Whether storage acknowledges at once (default true); see `Cluster.autoPersist`. */
  readonly autoPersist?: boolean;
  /** Most Readies one storage write takes (the pipeline's group commit); default 1024. */
  readonly writeReadiesMax?: number;
  /** Told of everything the cluster does, in order: the golden transcripts print it. */
  readonly observer?: ClusterObserver;
  /**
   * A deliberately broken driver for tests of the checks: messages that must wait for
   * durability are sent at once as well (the pipeline still sends them again when durable).
   */
  readonly unsafeSendBeforeDurable?: boolean;
}

/** What a golden transcript hears of a cluster, in the order it happens. */
export interface ClusterObserver {
  /** A peer stepped; `sentNow` are the messages the pipeline let go at once. */
  ready?(id: ServerId, ready: PeerReady, sentNow: readonly Envelope[]): void;
  /** A write is durable; `released` are the messages that waited for it. Before its `persistedThrough`. */
  durable?(id: ServerId, write: StorageWrite, released: readonly Envelope[]): void;
  /** A queued message reached its peer, or was lost on a cut link or to a peer that is down. Before its step. */
  delivered?(envelope: Envelope, outcome: 'delivered' | 'cut' | 'down'): void;
  /** A peer crashed: what its pipeline lost, and the messages to and from it that were in flight. */
  crashed?(id: ServerId, loss: CrashLoss, dropped: readonly Envelope[]): void;
  /** A peer applied a transaction to its tree (during the step whose Ready follows). */
  applied?(id: ServerId, txn: Txn): void;
}

export class Cluster {
  readonly nodes = new Map<ServerId, Node>();
  /** Messages in flight, in send order. */
  queue: Envelope[] = [];
  nowMs = 1_000_000;
  /** How far each server's wall clock is ahead of `nowMs` (its timers read `nowMs` itself). */
  readonly wallOffsetMs = new Map<ServerId, number>();
  /** When true, storage acknowledges at once; otherwise call `flushStorage`. */
  autoPersist: boolean;
  /** When true, storage answers reads at once; otherwise call `answerReads`. */
  autoRead = true;
  /** Every message delivered, in order: scenario tests assert on it. */
  readonly trace: Envelope[] = [];
  /** Paused peers and the inputs waiting for each, in order. */
  private readonly held = new Map<ServerId, PeerInput[]>();
  /** Links that drop everything: "from->to". */
  readonly cut = new Set<string>();
  readonly voterIds: ServerId[];
  readonly observerIds: ServerId[];
  private nextConnectionId = 1;
  private nextXid = 1;

  constructor(private readonly options: ClusterOptions) {
    this.autoPersist = options.autoPersist ?? true;
    this.voterIds = Array.from({ length: options.voters }, (_v, i) => i + 1);
    this.observerIds = Array.from({ length: options.observers ?? 0 }, (_v, i) => options.voters + i + 1);
    for (const id of [...this.voterIds, ...this.observerIds, ...(options.extraServers ?? [])]) {
      this.nodes.set(id, {
        peer: undefined,
        durable: new StorageImage(),
        pipeline: this.newPipeline(),
        outputs: [],
        reads: [],
        events: [],
        activatedConfigs: [],
        linksClosed: [],
      });
      this.start(id);
    }
  }

  peerOptions(id: ServerId): ZabPeerOptions {
    return {
      serverId: id,
      voters: this.voterIds,
      observers: this.observerIds,
      tickTimeMs: 100,
      electionFinalizeWaitMs: 50,
      electionResendIntervalMs: 100,
      sessionSecret: new Uint8Array([9, 9, 9]),
      startTimeMs: this.nowMs,
      ...this.options.peer,
      ...this.options.peerOf?.(id),
      ...(this.options.observer?.applied === undefined
        ? {}
        : { onApplied: (txn: Txn) => this.options.observer?.applied?.(id, txn) }),
      ...(this.options.sessionSecretOf === undefined
        ? {}
        : { sessionSecret: this.options.sessionSecretOf(id) }),
    };
  }

  private start(id: ServerId): void {
    const node = this.nodes.get(id)!;
    node.peer = new ZabPeer(this.peerOptions(id), node.durable.clone().load(), this.clockOf(id));
    node.pipeline = this.newPipeline();
    // The constructor already started an election: collect what it wants to send.
    this.handle(id, node.peer.step({ kind: 'tick' }, this.clockOf(id)));
  }

  private newPipeline(): ReadyPipeline {
    return new ReadyPipeline({ writeReadiesMax: this.options.writeReadiesMax ?? 1024 });
  }

  peer(id: ServerId): ZabPeer {
    const peer = this.nodes.get(id)?.peer;
    if (peer === undefined) throw new Error(`server ${id} is down`);
    return peer;
  }

  alive(id: ServerId): boolean {
    return this.nodes.get(id)?.peer !== undefined;
  }

  /** What server `id`'s clocks read now. */
  clockOf(id: ServerId): ClockReading {
    return { wallMs: this.nowMs + (this.wallOffsetMs.get(id) ?? 0), monotonicMs: this.nowMs };
  }

  step(id: ServerId, input: PeerInput): void {
    const node = this.nodes.get(id)!;
    if (node.peer === undefined) return;
    const held = this.held.get(id);
    if (held !== undefined) {
      // A stopped process: its timers do not fire, everything else waits for it.
      if (input.kind !== 'tick') held.push(input);
      return;
    }
    this.handle(id, node.peer.step(input, this.clockOf(id)));
  }

  /** Stops a peer's process (SIGSTOP): no timers, no steps; inputs wait in order. */
  pause(id: ServerId): void {
    if (!this.alive(id)) throw new Error(`server ${id} is down`);
    if (!this.held.has(id)) this.held.set(id, []);
  }

  paused(id: ServerId): boolean {
    return this.held.has(id);
  }

  /**
   * Continues a paused peer, its clock moved on: its timers first, then what waited, or (with
   * `inputsFirst`) what waited first, as an event loop that polls its sockets before its
   * timers would.
   */
  resume(id: ServerId, inputsFirst = false): void {
    const held = this.held.get(id);
    if (held === undefined) return;
    this.held.delete(id);
    if (!inputsFirst) this.step(id, { kind: 'tick' });
    for (const input of held) this.step(id, input);
    if (inputsFirst) this.step(id, { kind: 'tick' });
  }

  private handle(id: ServerId, ready: PeerReady): void {
    const node = this.nodes.get(id)!;
    node.outputs.push(...ready.toClients);
    node.events.push(...ready.events);
    if (ready.activatedConfig !== undefined) node.activatedConfigs.push(ready.activatedConfig);
    const accepted = node.pipeline.accept(ready);
    const sentNow = this.options.unsafeSendBeforeDurable
      ? [...accepted, ...ready.messagesAfterPersist.filter((envelope) => !accepted.includes(envelope))]
      : accepted;
    this.queue.push(...sentNow);
    node.reads.push(...ready.reads);
    this.options.observer?.ready?.(id, ready, sentNow);
    if (this.autoPersist) this.flushStorage(id);
    if (this.autoRead) this.answerReads(id);
    for (const closure of ready.closeLinks) this.closeLink(id, closure.peer);
  }

  /**
   * A peer's driver closed its link to another: what is in flight either way is lost and both
   * ends see the link down, as a closed TCP connection; later messages go again.
   */
  private closeLink(a: ServerId, b: ServerId): void {
    node(this, a).linksClosed.push(b);
    const onLink = (envelope: Envelope) =>
      (envelope.from === a && envelope.to === b) || (envelope.from === b && envelope.to === a);
    this.queue = this.queue.filter((envelope) => !onLink(envelope));
    for (const [end, other] of [
      [a, b],
      [b, a],
    ] as const)
      if (this.alive(end)) this.step(end, { kind: 'linkDown', peer: other });
  }

  /** The peers whose links `id` closed, in order, across restarts. */
  linksClosed(id: ServerId): ServerId[] {
    return node(this, id).linksClosed;
  }

  /** Answers the storage reads a peer asked for, from what is durable. */
  answerReads(id: ServerId): void {
    const node = this.nodes.get(id)!;
    while (node.peer !== undefined && node.reads.length > 0) {
      const read = node.reads.shift()!;
      let input: PeerInput;
      try {
        const chunk = node.durable.readSnapshotChunk(read.zxid, read.cursor, read.bytesMax);
        input = { kind: 'snapshotRead', readId: read.readId, chunk };
      } catch (error) {
        input = { kind: 'snapshotReadFailed', readId: read.readId, reason: (error as Error).message };
      }
      this.step(id, input);
    }
  }

  /** Every configuration a peer's Readies said took effect, in order, across its restarts. */
  activatedConfigs(id: ServerId): EnsembleConfig[] {
    return this.nodes.get(id)!.activatedConfigs;
  }

  /** Every event a peer reported, in order, across its restarts. */
  events(id: ServerId): PeerEvent[] {
    return this.nodes.get(id)!.events;
  }

  /**
   * Makes everything a peer has persisted so far durable (or only its next `writesMax`
   * writes), and tells it so. What it persists in answer waits for the next call (or goes at
   * once under `autoPersist`).
   */
  flushStorage(id: ServerId, writesMax = Number.POSITIVE_INFINITY): void {
    const node = this.nodes.get(id)!;
    const through = node.pipeline.acceptedThroughSeq;
    for (let writes = 0; writes < writesMax; writes++) {
      // A paused process learns of nothing: its writes complete when it runs again.
      if (node.peer === undefined || this.paused(id) || node.pipeline.durableThroughSeq >= through) return;
      const write = node.pipeline.startWrite()!;
      for (const action of write.actions) node.durable.apply(action);
      const done = node.pipeline.completeWrite(write);
      this.queue.push(...done.send);
      this.options.observer?.durable?.(id, write, done.send);
      this.step(id, done.persisted);
    }
  }

  /** True when a peer has persisted something that is not yet durable. */
  storagePending(id: ServerId): boolean {
    return !this.nodes.get(id)!.pipeline.idle;
  }

  /** Delivers every queued message once (new messages they cause wait for the next round). */
  deliverOnce(filter: (envelope: Envelope) => boolean = () => true): number {
    const batch = this.queue;
    this.queue = [];
    let delivered = 0;
    for (const envelope of batch) {
      if (!filter(envelope)) {
        this.queue.push(envelope);
        continue;
      }
      const cut = this.cut.has(`${envelope.from}->${envelope.to}`);
      if (cut || !this.alive(envelope.to)) {
        this.options.observer?.delivered?.(envelope, cut ? 'cut' : 'down');
        continue;
      }
      delivered++;
      this.trace.push(envelope);
      this.options.observer?.delivered?.(envelope, 'delivered');
      this.step(envelope.to, { kind: 'message', from: envelope.from, message: envelope.message });
    }
    return delivered;
  }

  /** Delivers messages and advances time in small ticks until nothing moves. */
  stabilize(maxRounds = 500): void {
    for (let round = 0; round < maxRounds; round++) {
      const delivered = this.deliverOnce();
      if (delivered === 0 && this.queue.length === 0) {
        if (this.everyoneSettled()) return;
        this.tick(20);
      }
    }
    throw new Error(`cluster did not stabilise: ${this.describe()}`);
  }

  private everyoneSettled(): boolean {
    for (const [, node] of this.nodes) {
      if (node.peer === undefined) continue;
      if (!node.peer.status().serving) return false;
    }
    return true;
  }

  tick(ms: number): void {
    this.nowMs += ms;
    for (const id of this.nodes.keys()) this.step(id, { kind: 'tick' });
  }

  /** Advances time by `ms` in `stepMs` ticks, delivering messages between ticks. */
  run(ms: number, stepMs = 20): void {
    for (let elapsed = 0; elapsed < ms; elapsed += stepMs) {
      this.tick(stepMs);
      for (let i = 0; i < 20 && this.deliverOnce() > 0; i++);
    }
  }

  /** The process dies: unacknowledged storage and in-flight messages to and from it are lost. */
  crash(id: ServerId): void {
    const node = this.nodes.get(id)!;
    node.peer = undefined;
    this.held.delete(id);
    const loss = node.pipeline.crash();
    node.outputs = [];
    node.reads = [];
    // What a sync staged stays on disk, but the process that could commit it is gone.
    node.durable.interruptStaging();
    const involved = (envelope: Envelope) => envelope.from === id || envelope.to === id;
    this.options.observer?.crashed?.(id, loss, this.queue.filter(involved));
    this.queue = this.queue.filter((envelope) => !involved(envelope));
    for (const other of this.nodes.keys()) if (other !== id) this.step(other, { kind: 'linkDown', peer: id });
  }

  restart(id: ServerId): void {
    this.start(id);
  }

  isolate(id: ServerId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  leader(): ServerId | undefined {
    for (const [id, node] of this.nodes) {
      const status = node.peer?.status();
      if (status?.role === 'leading' && status.serving) return id;
    }
    return undefined;
  }

  describe(): string {
    return [...this.nodes]
      .map(([id, node]) => (node.peer === undefined ? `${id}:down` : describeStatus(id, node.peer.status())))
      .join(', ');
  }

  // ---- clients ----------------------------------------------------------------------------

  /** Opens a session on `id` and runs the cluster until it is established. */
  connect(
    id: ServerId,
    timeoutMs = 5000,
    resume?: { sessionId: bigint; password: Uint8Array },
    readOnly = false,
  ): ClientSession {
    const connectionId = this.nextConnectionId++;
    this.step(id, {
      kind: 'connect',
      connectionId,
      request: {
        sessionId: resume?.sessionId ?? 0n,
        password: resume?.password ?? new Uint8Array(16),
        timeoutMs,
        lastZxidSeen: zeroZxid,
        readOnly,
        clientAddress: '127.0.0.1',
      },
    });
    for (let i = 0; i < 200; i++) {
      const connected = this.nodes
        .get(id)!
        .outputs.find((o) => o.kind === 'connected' && o.connectionId === connectionId);
      if (connected?.kind === 'connected') {
        return {
          server: id,
          connectionId,
          sessionId: connected.sessionId,
          password: connected.password,
          timeoutMs: connected.timeoutMs,
        };
      }
      if (this.nodes.get(id)!.outputs.some((o) => o.kind === 'close' && o.connectionId === connectionId))
        break;
      if (this.deliverOnce() === 0) this.tick(10);
    }
    return { server: id, connectionId, sessionId: 0n, password: new Uint8Array(16), timeoutMs: 0 };
  }

  /** Sends a request and runs the cluster until it is answered. */
  request(session: ClientSession, request: ClientRequest, maxRounds = 400): Reply {
    const xid = this.send(session, request);
    for (let i = 0; i < maxRounds; i++) {
      const reply = this.replyTo(session, xid);
      if (reply !== undefined) return reply;
      if (this.deliverOnce() === 0) this.tick(10);
    }
    throw new Error(`no reply to ${request.op} on server ${session.server}: ${this.describe()}`);
  }

  send(session: ClientSession, request: ClientRequest): number {
    const xid = this.nextXid++;
    this.step(session.server, { kind: 'request', connectionId: session.connectionId, xid, request });
    return xid;
  }

  replyTo(session: ClientSession, xid: number): Reply | undefined {
    const outputs = this.nodes.get(session.server)!.outputs;
    const index = outputs.findIndex(
      (o) => o.kind === 'reply' && o.connectionId === session.connectionId && o.xid === xid,
    );
    if (index < 0) return undefined;
    const [output] = outputs.splice(index, 1);
    return output?.kind === 'reply' ? output.reply : undefined;
  }

  outputsOf(session: ClientSession): ClientOutput[] {
    return this.nodes.get(session.server)!.outputs.filter((o) => o.connectionId === session.connectionId);
  }

  /** Every alive peer's applied state must be identical once they have applied the same zxid. */
  digests(): Map<ServerId, { zxid: Zxid; digest: string }> {
    const result = new Map<ServerId, { zxid: Zxid; digest: string }>();
    for (const [id, node] of this.nodes) {
      if (node.peer !== undefined)
        result.set(id, { zxid: node.peer.status().lastAppliedZxid, digest: node.peer.digest() });
    }
    return result;
  }

  /** The modes of the learner syncs `to` was sent, in order (SYNCBEGIN messages delivered). */
  learnerSyncModes(to: ServerId): string[] {
    return this.trace
      .filter((e) => e.to === to && e.message.kind === 'syncBegin')
      .map((e) => (e.message as { mode: string }).mode);
  }

  durableLog(id: ServerId): readonly Txn[] {
    return this.nodes.get(id)!.durable.log;
  }
}

function describeStatus(id: ServerId, status: PeerStatus): string {
  const { role, serving, acceptedEpoch, currentEpoch, lastLoggedZxid, lastAppliedZxid, lookingReason } =
    status;
  return `${id}:${role}${serving ? '*' : ''} e${acceptedEpoch}/${currentEpoch} log=${lastLoggedZxid.toString(16)} applied=${lastAppliedZxid.toString(16)} (${lookingReason})`;
}

export interface ClientSession {
  readonly server: ServerId;
  readonly connectionId: number;
  readonly sessionId: bigint;
  readonly password: Uint8Array;
  readonly timeoutMs: number;
}
