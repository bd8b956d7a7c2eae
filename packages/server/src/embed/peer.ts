/**
 * One durable peer inside one instance of a service: `startPeer({ id, peers, dataDir })`.
 * Each instance of the service starts one, on its own disk, and the peers elect a leader
 * among themselves over their peer ports; the service's code talks to the ensemble through
 * `peer.client()`, a ZabClient bound to the local peer in process (reads served here,
 * writes forwarded to the leader), falling back to the other instances' client ports over
 * TCP while the local peer is not serving. The peer is a `ServerNode`, as `zabkit server`
 * runs, with readiness, events, a health snapshot, a metrics hook and a graceful close.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import {
  type ClientOptions,
  type HostPort,
  TcpLinkFactory,
  type TcpLinkOptions,
  ZabClient,
} from '@zabkit/client';
import type { PeerStorage } from '@zabkit/core';
import { MemoryStorage } from '@zabkit/storage-memory';
import { ConfigError, type ZabkitConfig } from '../config.js';
import type { PeerFatalError } from '../fatal.js';
import { openLevelStore } from '../level-store.js';
import { type Logger, silentLogger } from '../log.js';
import { ServerNode } from '../node.js';
import { ChangeStream, type Departure, type PeerChange, type PeerChangeEvents } from './events.js';
import {
  type JoinChange,
  type JoinOptions,
  joinAsObserver,
  joinStepTimeoutDefaultMs,
  peersOfConfig,
} from './join.js';
import { keptMembershipPath, MembershipKeeper, readKeptMembership } from './kept-membership.js';
import { LocalFirstLinks } from './links.js';
import {
  type AddServerOptions,
  addEdit,
  changeMembership,
  checkMember,
  type MembershipChangeOptions,
  type MembershipView,
  membershipViewOf,
  removeEdit,
} from './membership.js';
import type { PeerMetricsAttach, PeerMetricsAttachment, PeerMetricsSource } from './metrics.js';
import { configFromOptions, type PeerMember, type StartPeerOptions } from './options.js';
import { type EmbeddedPeerRole, lagBetween, type PeerHealth, type SyncState, syncStateOf } from './status.js';
import {
  type TransferLeadershipOptions,
  type TransferLeadershipResult,
  transferLeadership,
} from './transfer.js';

/** How `peer.client()` connects: the client's options, and where to fall back to over TCP. */
export interface PeerClientOptions extends ClientOptions, TcpLinkOptions {
  /**
   * Where the client goes while the local peer is not serving: a connect string
   * (`host:port,...`, no chroot) or a list. Default: the client ports the other members list
   * in the membership in force (`peers`, as reconfigs changed it since); none when they list
   * none (the client then waits for the local peer).
   */
  readonly fallback?: string | readonly HostPort[];
}

/** How `peer.ready()` waits. */
export interface ReadyOptions {
  /** Reject with a TimeoutError after this long. Default: wait as long as it takes. */
  readonly timeoutMs?: number;
  /** Reject with the signal's reason when it aborts. */
  readonly signal?: AbortSignal;
}

/** How `peer.close()` leaves the ensemble. */
export interface CloseOptions {
  /**
   * Remove this server from the membership first (`removeServer` of itself, a reconfig),
   * as an instance does when the service scales down; then close. Default false: the
   * server stays a member (down) until someone removes it. If the removal fails the peer
   * closes anyway and `close()` rejects with why.
   */
  readonly leave?: boolean;
  /**
   * How long a leader waits for its proposals in flight to commit before it stops anyway, as a
   * crash would (default: twice syncLimit, at most 10 s). Followers and observers leave at once.
   */
  readonly handOverTimeoutMs?: number;
}

/** The longest a leader's close waits by default for its proposals to commit. */
const handOverTimeoutMaxMs = 10_000;

/** Bounds of a leadership transfer's default time: twice syncLimit, within these. */
const transferTimeoutMinMs = 5_000;
const transferTimeoutMaxMs = 30_000;

/** Default bound of a `changes()` iterator's buffer. */
const changesBufferMaxDefault = 1000;

/** One durable ZAB peer embedded in this process; see {@link startPeer}. */
export class EmbeddedPeer
  extends EventEmitter<PeerChangeEvents>
  implements AsyncDisposable, PeerMetricsSource
{
  /** This peer's server id. */
  readonly id: number;
  private readonly lagTxnsMax: number;
  private role: EmbeddedPeerRole = 'looking';
  private leaderId: number | undefined;
  private sync: SyncState = 'unsynced';
  /** The version of the membership last announced. */
  private membershipVersion: bigint | undefined;
  private readonly log: Logger;
  private readonly streams = new Set<ChangeStream>();
  private readonly attachments: PeerMetricsAttachment[] = [];
  private readonly readyWaiters = new Set<{ resolve: () => void; reject: (error: unknown) => void }>();
  private closing: Promise<void> | undefined;
  /** The join flow's end, when the peer was started with `join`. */
  private joining: Promise<MembershipView> | undefined;
  private closed = false;
  /** How the peer left, once closed. */
  private departure: Departure | undefined;

  private constructor(
    /** The running server: driver, client port and what the four-letter words report. */
    readonly node: ServerNode,
    /** The configuration the options resolved to: what `zabkit server` would read from zoo.cfg. */
    readonly config: ZabkitConfig,
    private readonly errors: ErrorTracker,
    options: StartPeerOptions,
    /** Writes down each membership that takes effect here; none for a store kept in memory. */
    private readonly keeper: MembershipKeeper | undefined,
  ) {
    super();
    this.log = errors.log;
    this.id = node.driver.serverId;
    this.lagTxnsMax = options.lagTxnsMax ?? 1000;
    node.driver.onStep(() => this.observe());
    if (keeper !== undefined)
      node.driver.observe({
        stepped: (ready) => {
          if (ready.activatedConfig !== undefined) keeper.activated(ready.activatedConfig);
        },
      });
    node.onFatal((error) => this.failed(error));
  }

  /** @internal Builds the peer; use {@link startPeer}. */
  static async start(options: StartPeerOptions): Promise<EmbeddedPeer> {
    if (
      options.lagTxnsMax !== undefined &&
      !(Number.isInteger(options.lagTxnsMax) && options.lagTxnsMax >= 0)
    )
      throw new RangeError('lagTxnsMax must be a non-negative integer');
    let joined: Awaited<ReturnType<typeof joinAsObserver>> | undefined;
    if (options.join !== undefined) {
      const join = typeof options.join === 'string' ? { connectString: options.join } : options.join;
      if (options.member === undefined)
        throw new ConfigError('member', 'undefined', 'a peer that joins names its own address');
      if (options.peers !== undefined)
        throw new ConfigError('peers', 'given', 'a peer that joins learns the members from the one it asks');
      joined = await joinAsObserver(options.id, { ...options.member, id: options.id }, join);
      options = { ...options, peers: peersOfConfig(joined.config) };
    }
    // The newest membership this peer knew: the one it kept (see kept-membership.ts) when it
    // is newer than the one it joined, else `peers`. A store that keeps nothing across
    // restarts keeps no file either.
    const keptPath =
      options.storage === 'memory'
        ? undefined
        : keptMembershipPath({ dataLogDir: options.dataLogDir ?? options.dataDir });
    const kept = keptPath === undefined ? undefined : await readKeptMembership(keptPath);
    const newest =
      kept?.servers.has(options.id) && kept.version > (joined?.config.version ?? 0n) ? kept : undefined;
    const { config, warnings } = configFromOptions(options, newest);
    const errors = new ErrorTracker(options.log ?? silentLogger);
    const log = errors.log;
    for (const warning of warnings) log.warn({ serverId: options.id }, warning);
    if (newest !== undefined)
      log.info(
        { serverId: options.id, version: newest.version.toString(16), file: keptPath },
        'starting from the kept membership',
      );
    const storage = await openStorage(options.storage, config, log);
    let node: ServerNode;
    try {
      node = await ServerNode.start({
        config,
        log,
        storage,
        listen: config.clientPort !== undefined,
        standaloneServerId: options.id,
        adminServerFailure: 'fail',
        // Its listeners hold the driver: a restore goes through its data directory instead.
        restoreInPlace: false,
        ...(options.sessionSecret === undefined ? {} : { sessionSecret: options.sessionSecret }),
        ...(options.clock === undefined ? {} : { clock: options.clock }),
      });
    } catch (error) {
      await storage.close().catch(() => undefined);
      throw error;
    }
    const keeper =
      keptPath === undefined
        ? undefined
        : new MembershipKeeper(keptPath, options.id, log, config.configVersion);
    const peer = new EmbeddedPeer(node, config, errors, options, keeper);
    if (options.metrics !== undefined) peer.attachMetrics(options.metrics);
    peer.observe();
    if (joined !== undefined && options.join !== undefined) {
      const join = typeof options.join === 'string' ? { connectString: options.join } : options.join;
      peer.joining = peer.finishJoin(join, joined.config.version);
      // Settled for whoever never asks (the join event says how it went).
      peer.joining.catch(() => undefined);
    }
    return peer;
  }

  /**
   * The rest of the join flow, once the peer runs as an observer: wait until it serves, then
   * promote it (unless it is to stay an observer). Starts after the caller has the peer in
   * hand, so that its `changes()` hears every step.
   */
  private async finishJoin(join: JoinOptions, version: bigint): Promise<MembershipView> {
    await new Promise((resolve) => setImmediate(resolve));
    const step = (change: Omit<JoinChange, 'kind'>) => this.announce({ kind: 'join', ...change });
    const timeoutMs = join.timeoutMs ?? joinStepTimeoutDefaultMs;
    try {
      step({ step: 'observer', version });
      await this.ready({ timeoutMs });
      step({ step: 'synced', version: this.membership()?.version });
      const wanted = join.as ?? 'participant';
      const self = this.membership()?.members.find((m) => m.id === this.id);
      if (self === undefined) throw new Error('this server is not in the membership it joined');
      let view = this.membership()!;
      if ((self.observer === true ? 'observer' : 'participant') !== wanted) {
        view = await this.addServer(self, { as: wanted, timeoutMs });
        step({ step: 'participant', version: view.version });
      }
      step({ step: 'joined', version: view.version });
      return view;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.log.warn({ serverId: this.id, err: error }, 'joining the ensemble did not finish');
      step({ step: 'failed', version: this.membership()?.version, reason });
      throw error;
    }
  }

  /**
   * Resolves with the membership once the join flow is done (`startPeer({ join })`: added,
   * synced and in the role asked for), or at once with the membership in force for a peer
   * started otherwise; rejects with why a step of the join failed.
   */
  joined(): Promise<MembershipView | undefined> {
    return this.joining ?? Promise.resolve(this.membership());
  }

  /**
   * A client session through this peer, with ZabClient's whole API (the same as
   * `connectTcp`'s): reads served by the local peer, writes forwarded to the leader. While
   * the local peer is not serving, (re)connections go to the fallback over TCP, keeping the
   * session and its watches.
   */
  client(options: PeerClientOptions = {}): Promise<ZabClient> {
    const { fallback, maxFrameBytes, connectTimeoutMs, sendReadOnlyFlag, shuffle, ...clientOptions } =
      options;
    const tcpOptions: TcpLinkOptions = {
      maxFrameBytes: maxFrameBytes ?? this.config.juteMaxBuffer + 1024,
      ...(connectTimeoutMs === undefined ? {} : { connectTimeoutMs }),
      ...(sendReadOnlyFlag === undefined ? {} : { sendReadOnlyFlag }),
      ...(shuffle === undefined ? {} : { shuffle }),
    };
    const factoryOf = (servers: string | readonly HostPort[]) =>
      typeof servers === 'string' || servers.length > 0 ? new TcpLinkFactory(servers, tcpOptions) : undefined;
    let tcp: () => TcpLinkFactory | undefined;
    if (fallback !== undefined) {
      const fixed = factoryOf(fallback);
      tcp = () => fixed;
    } else {
      // The other members' client ports as the membership in force lists them, rebuilt when it
      // changes, so that a session falls back to servers that joined and not to ones removed.
      let built: { readonly key: string; readonly factory: TcpLinkFactory | undefined } | undefined;
      tcp = () => {
        const servers = this.fallbackServers();
        const key = servers.map((server) => `${server.host}:${server.port}`).join(',');
        if (built?.key !== key) built = { key, factory: factoryOf(servers) };
        return built.factory;
      };
    }
    const links = new LocalFirstLinks(() => (this.closed ? undefined : this.node.driver), tcp);
    return ZabClient.connect(links, { logger: this.log, ...clientOptions });
  }

  /**
   * Resolves once the peer serves: it has joined an ensemble with an established leader (or
   * leads it) and synchronised with its history. Resolves at once if it serves now. Rejects
   * with the PeerFatalError if it stops for good, an Error if it is closed first, and on the
   * timeout or the signal.
   */
  ready(options: ReadyOptions = {}): Promise<void> {
    if (this.node.fatalError !== undefined) return Promise.reject(this.node.fatalError);
    if (this.closed || this.closing !== undefined)
      return Promise.reject(new Error(`peer ${this.id} is closed`));
    if (this.node.driver.peer.status().serving) return Promise.resolve();
    options.signal?.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => settle(() => reject(options.signal!.reason));
      const waiter = {
        resolve: () => settle(resolve),
        reject: (error: unknown) => settle(() => reject(error)),
      };
      const settle = (finish: () => void) => {
        this.readyWaiters.delete(waiter);
        if (timer !== undefined) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        finish();
      };
      this.readyWaiters.add(waiter);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.timeoutMs !== undefined) {
        const timeoutMs = options.timeoutMs;
        timer = setTimeout(
          () =>
            settle(() =>
              reject(new DOMException(`peer ${this.id} not ready within ${timeoutMs} ms`, 'TimeoutError')),
            ),
          timeoutMs,
        );
      }
    });
  }

  /** Where role, leader, sync, fatal and closed changes go, as an async iterator (bounded: see ChangeStream). */
  changes(options: { readonly bufferMax?: number } = {}): AsyncIterableIterator<PeerChange> {
    const stream = new ChangeStream(options.bufferMax ?? changesBufferMaxDefault, () =>
      this.streams.delete(stream),
    );
    if (this.departure !== undefined) stream.push({ kind: 'closed', departure: this.departure });
    else this.streams.add(stream);
    return stream;
  }

  /** A health snapshot: role, leader, zxids, lag, sessions, connections, the last error. */
  status(): PeerHealth {
    const fatal = this.node.fatalError;
    const { status, role, leaderId, serving, sync } = this.standing();
    return {
      id: this.id,
      role,
      leaderId,
      serving,
      sync,
      epoch: status.currentEpoch,
      zxid: status.lastAppliedZxid,
      committedZxid: status.lastCommittedZxid,
      loggedZxid: status.lastLoggedZxid,
      lagTxns: lagBetween(status.lastAppliedZxid, status.lastLoggedZxid),
      sessions: this.node.driver.peer.sessionSummary().sessions.size,
      connections: status.connections,
      lookingReason: status.lookingReason,
      fatal,
      lastError: fatal?.message ?? this.errors.last,
    };
  }

  /** Role, leader and sync state as announced: cheap enough to read after every step. */
  private standing() {
    const status = this.node.driver.peer.status();
    // A peer that has left the ensemble (closing) takes part in nothing more: it is stopped.
    const stopped = this.closed || this.node.fatalError !== undefined || status.departure === 'left';
    return {
      status,
      role: stopped ? ('stopped' as const) : status.role,
      leaderId: stopped ? undefined : status.leaderId,
      serving: !stopped && status.serving,
      sync: stopped ? ('unsynced' as const) : syncStateOf(status, this.lagTxnsMax),
    };
  }

  /** Where the admin server (and its dashboard) listens, if `adminServer` asked for one. */
  adminAddress(): { host: string; port: number } | undefined {
    return this.node.adminAddress();
  }

  /** Where the client port listens, if this peer opened one. */
  address(): { host: string; port: number } | undefined {
    return this.node.hasClientPort ? this.node.address() : undefined;
  }

  /**
   * Attaches a metrics provider (the Prometheus registry, say) to this running peer and
   * returns what it built; it is closed when the peer is.
   */
  attachMetrics<T extends PeerMetricsAttachment>(attach: PeerMetricsAttach<T>): T {
    if (this.closed) throw new Error(`peer ${this.id} is closed`);
    const attachment = attach(this);
    this.attachments.push(attachment);
    return attachment;
  }

  /**
   * The membership in force on this peer: its version and members (undefined for a peer
   * alone). After a change through any member, this peer has it once it has applied the
   * reconfig (the `membership` event says when).
   */
  membership(): MembershipView | undefined {
    const config = this.node.driver.peer.ensembleConfig;
    return config === undefined ? undefined : membershipViewOf(config);
  }

  /**
   * Adds a server to the ensemble (or changes the role or address of one in it) and resolves
   * with the new membership once it is committed and in force here. Called on any member: a
   * follower or observer forwards it to the leader. It is a reconfig, refused as the wire's
   * is, with a ZabError: ReconfigDisabled (the ensemble runs without `reconfigEnabled`),
   * NewConfigNoQuorum (a quorum of the new voters is not connected and synced: add a new
   * server as an observer first, let it sync, then make it a participant), ReconfigInProgress,
   * BadVersion (`fromConfig` given and not the version in force), BadArguments (fewer than
   * two participants). A member already there as asked changes nothing and resolves at once.
   * The service's code needs no credentials: the call acts as ZooKeeper's super user.
   *
   * @throws RangeError for a malformed member or timeout
   */
  addServer(member: PeerMember, options: AddServerOptions = {}): Promise<MembershipView> {
    checkMember(member);
    const role = options.as ?? (member.observer === true ? 'observer' : 'participant');
    return this.changeMembership(addEdit(member, role), options);
  }

  /**
   * Removes a server from the ensemble and resolves with the new membership once it is
   * committed and in force here; the same errors as {@link EmbeddedPeer.addServer}. Removing
   * the leader (this peer or another) hands leadership over to the remaining voters; a server
   * removed stops taking part (close it). A server that is not a member changes nothing.
   */
  removeServer(id: number, options: MembershipChangeOptions = {}): Promise<MembershipView> {
    if (!Number.isSafeInteger(id) || id < 1) throw new RangeError('removeServer: expected a server id');
    return this.changeMembership(removeEdit(id), options);
  }

  /**
   * Hands leadership over to server `toId` (a voter synced with the leader), or to the most
   * up-to-date synced voter when left out, and resolves once this peer serves under the new
   * leader. Works on any member: a follower or observer asks its leader. The leader lets the
   * successor catch up while it goes on writing, then takes no new write (its clients move to
   * another server, as when it closes), lets its proposals commit and the successor
   * acknowledge them, and steps down with every member voting for the successor. Resolves at
   * once when `toId` leads already. Rejects with a {@link LeadershipTransferError} (refused,
   * timed out with the leader leading on, abandoned with an ordinary election, or another
   * server elected) or a TimeoutError past `timeoutMs`.
   *
   * @throws RangeError for a malformed id or timeout
   */
  transferLeadership(
    toId?: number,
    options: TransferLeadershipOptions = {},
  ): Promise<TransferLeadershipResult> {
    if (toId !== undefined && !(Number.isSafeInteger(toId) && toId >= 1))
      throw new RangeError('transferLeadership: expected a server id');
    const timeoutMs =
      options.timeoutMs ??
      Math.min(
        transferTimeoutMaxMs,
        Math.max(transferTimeoutMinMs, 2 * this.config.syncLimit * this.config.tickTime),
      );
    if (!(timeoutMs > 0)) throw new RangeError('transferLeadership: timeoutMs must be a positive number');
    if (this.closed || this.closing !== undefined)
      return Promise.reject(new Error(`peer ${this.id} is closed`));
    return transferLeadership(
      {
        driver: this.node.driver,
        ready: (wait) => this.ready(wait),
        servingLeader: () => {
          const { serving, leaderId } = this.standing();
          return serving ? leaderId : undefined;
        },
        onStep: (listener) => this.node.driver.onStep(listener),
      },
      toId,
      timeoutMs,
    );
  }

  private changeMembership(
    edit: Parameters<typeof changeMembership>[2],
    options: MembershipChangeOptions,
  ): Promise<MembershipView> {
    if (this.closed || this.closing !== undefined)
      return Promise.reject(new Error(`peer ${this.id} is closed`));
    return changeMembership(
      () => (this.closed ? undefined : this.node.driver),
      (wait) => this.ready(wait),
      edit,
      options,
    );
  }

  /**
   * Leaves the ensemble gracefully and stops. A leader hands leadership over first: it takes
   * no new write (the clients that send one move to another instance), lets its proposals in
   * flight commit (their clients hear the replies), then tells its followers to elect a new
   * leader at once instead of after syncLimit; a follower or observer leaves at once. Then
   * the client port and every link close and the store is closed. Idempotent; the `closed`
   * event says how it went.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.leaveThenShutDown(options);
    return this.closing;
  }

  private async leaveThenShutDown(options: CloseOptions): Promise<void> {
    let removal: unknown;
    if (options.leave === true && !this.closed && this.node.fatalError === undefined) {
      try {
        await changeMembership(
          () => (this.closed ? undefined : this.node.driver),
          (wait) => this.readyBeforeClose(wait),
          removeEdit(this.id),
          {},
        );
      } catch (error) {
        removal = error;
        this.log.error({ serverId: this.id, err: error }, 'removing this server from the ensemble failed');
      }
    }
    await this.shutDown(options);
    if (removal !== undefined) throw removal;
  }

  /** ready() for the removal a closing peer makes of itself (ready() refuses once closing). */
  private readyBeforeClose(options: { timeoutMs: number }): Promise<void> {
    if (this.node.driver.peer.status().serving) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(
          new DOMException(`peer ${this.id} not serving within ${options.timeoutMs} ms`, 'TimeoutError'),
        );
      }, options.timeoutMs);
      const stop = this.node.driver.onStep(() => {
        if (!this.node.driver.peer.status().serving) return;
        clearTimeout(timer);
        stop();
        resolve();
      });
    });
  }

  /** `await using peer = await startPeer(...)` closes the peer at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private async shutDown(options: CloseOptions): Promise<void> {
    for (const waiter of [...this.readyWaiters]) waiter.reject(new Error(`peer ${this.id} is closed`));
    const timeoutMs =
      options.handOverTimeoutMs ??
      Math.min(handOverTimeoutMaxMs, 2 * this.config.syncLimit * this.config.tickTime);
    let departure: Departure = 'failed';
    try {
      if (this.node.fatalError === undefined) {
        departure = await this.node.driver.leave(timeoutMs);
        const level = departure === 'timedOut' ? 'warn' : 'info';
        this.log[level]({ serverId: this.id, departure, timeoutMs }, 'left the ensemble');
      }
      await this.node.close();
      // A restart right after close starts from the last membership that took effect.
      await this.keeper?.settled();
    } finally {
      this.closed = true;
      for (const attachment of this.attachments.splice(0)) {
        try {
          await (attachment.close === undefined ? attachment.detach?.() : attachment.close());
        } catch (error) {
          this.log.warn({ serverId: this.id, err: error }, 'closing the metrics attachment failed');
        }
      }
      this.observe();
      this.departure = departure;
      this.announce({ kind: 'closed', departure });
      this.emitSafely('closed');
      this.streams.clear();
    }
  }

  /** The other members' client ports: the membership in force's, else the configured one's. */
  private fallbackServers(): readonly HostPort[] {
    const servers: HostPort[] = [];
    const config = this.closed ? undefined : this.node.driver.peer.ensembleConfig;
    if (config !== undefined) {
      for (const member of config.members)
        if (member.id !== this.id && member.client !== undefined)
          servers.push({ host: member.host, port: member.client.port });
      return servers;
    }
    for (const server of this.config.servers.values()) {
      if (server.id === this.id || server.clientPort === undefined) continue;
      servers.push({ host: server.host, port: server.clientPort });
    }
    return servers;
  }

  /** Compares the peer's status with what was announced last and announces the difference. */
  private observe(): void {
    // Once per step of the peer: no session summary here, only what the events say.
    const health = this.standing();
    if (health.role !== this.role) {
      const previous = this.role;
      this.role = health.role;
      this.announce({ kind: 'role', role: health.role, previous });
    }
    if (health.leaderId !== this.leaderId) {
      const previous = this.leaderId;
      this.leaderId = health.leaderId;
      this.announce({ kind: 'leader', leaderId: health.leaderId, previous });
    }
    if (health.sync !== this.sync) {
      const previous = this.sync;
      this.sync = health.sync;
      const lagTxns = lagBetween(health.status.lastAppliedZxid, health.status.lastLoggedZxid);
      this.announce({ kind: 'sync', state: health.sync, previous, lagTxns });
    }
    const config = this.node.driver.peer.ensembleConfig;
    if (config !== undefined && config.version !== this.membershipVersion) {
      const previousVersion = this.membershipVersion;
      this.membershipVersion = config.version;
      this.announce({ kind: 'membership', membership: membershipViewOf(config), previousVersion });
    }
    if (health.serving) for (const waiter of [...this.readyWaiters]) waiter.resolve();
  }

  private failed(error: PeerFatalError): void {
    for (const waiter of [...this.readyWaiters]) waiter.reject(error);
    this.observe();
    this.announce({ kind: 'fatal', error });
  }

  private announce(change: PeerChange): void {
    for (const stream of [...this.streams]) stream.push(change);
    this.emitSafely('change', change);
    switch (change.kind) {
      case 'role':
        this.emitSafely('role', change);
        break;
      case 'leader':
        this.emitSafely('leader', change);
        break;
      case 'sync':
        this.emitSafely('sync', change);
        break;
      case 'membership':
        this.emitSafely('membership', change);
        break;
      case 'join':
        this.emitSafely('join', change);
        break;
      case 'fatal':
        this.emitSafely('fatal', change.error);
        break;
      case 'closed':
        break;
    }
  }

  /** Emits an event; a listener that throws is logged and does not stop the peer or the others. */
  private emitSafely<K extends keyof PeerChangeEvents>(event: K, ...args: PeerChangeEvents[K]): void {
    for (const listener of this.rawListeners(event) as ((...a: PeerChangeEvents[K]) => void)[]) {
      try {
        listener.apply(this, args);
      } catch (error) {
        this.log.warn({ serverId: this.id, event, err: error }, 'a peer event listener threw');
      }
    }
  }
}

/**
 * Starts one durable peer of an ensemble in this process: `startPeer({ id, peers, dataDir })`
 * on each instance of a service, with the same `peers` everywhere. Resolves once the peer
 * runs (storage opened, peer port listening); `await peer.ready()` waits until it has joined
 * and synced. Rejects with a ConfigError naming a bad option, or a PeerFatalError when its
 * store cannot be read.
 */
export function startPeer(options: StartPeerOptions): Promise<EmbeddedPeer> {
  return EmbeddedPeer.start(options);
}

/** Passes log calls on, remembering the last one at error level for `status().lastError`. */
class ErrorTracker {
  last: string | undefined;
  readonly log: Logger;

  constructor(target: Logger) {
    const error = (fields: object | string, message?: string) => {
      this.last = typeof fields === 'string' ? fields : (message ?? JSON.stringify(fields));
      (target.error as (fields: object | string, message?: string) => void)(fields, message);
    };
    this.log = { debug: target.debug, info: target.info, warn: target.warn, error: error as Logger['error'] };
  }
}

async function openStorage(
  choice: StartPeerOptions['storage'],
  config: ZabkitConfig,
  log: Logger,
): Promise<PeerStorage> {
  if (choice === undefined || choice === 'level') return openLevelStore(config, log);
  if (choice === 'memory') return new MemoryStorage();
  return choice;
}
