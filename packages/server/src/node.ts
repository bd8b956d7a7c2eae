/**
 * One zabkit server process's worth of parts: a ZAB peer driven in real time, its storage,
 * its peer links (TCP in an ensemble, none standalone) and the client port speaking
 * ZooKeeper's protocol. A standalone server is a one-voter ensemble: the same code path.
 */
import { randomBytes } from 'node:crypto';
import { hostname, release, userInfo } from 'node:os';
import {
  DataTree,
  type EnsembleConfig,
  formatZxid,
  noSessionId,
  type PeerMessage,
  type PeerStorage,
  type PeerTransport,
  type QuotaNotice,
  type RestoreRequest,
  restoreProblem,
  type ServerId,
  type TransportHandlers,
  type Txn,
  txnBytes,
  zxid,
} from '@zabkit/core';
import { MemoryStorage } from '@zabkit/storage-memory';
import { TcpTransport } from '@zabkit/transport-tcp';
import { importedEpochs, loadZooKeeperSnapshot, toTreeSnapshot } from '@zabkit/zk-format';
import { RestoreRefusedError } from './admin/commands.js';
import { Dashboard } from './admin/dashboard.js';
import { AdminServer, AdminServerStartError } from './admin/server.js';
import { AuditLog } from './audit-log.js';
import { loadSaslUsers } from './client-auth.js';
import { OutstandingBudget, outstandingShare } from './client-limits.js';
import { type ClientPortAuth, ClientPortServer } from './client-port.js';
import { type ClientPortTls, loadClientTls } from './client-tls.js';
import type { ZabkitConfig } from './config.js';
import { directoryBytes } from './dir-size.js';
import type { FatalListener, PeerFatalError } from './fatal.js';
import type { FourLetterWordActions, FourLetterWordContext } from './four-letter-words.js';
import { type Logger, silentLogger } from './log.js';
import { keepMembership, keepProposedMembership } from './membership-files.js';
import { MetricsHttpServer } from './metrics/http.js';
import { PauseMonitor } from './metrics/pause-monitor.js';
import { type ReplicaListener, ServerMetrics } from './metrics/registry.js';
import { PeerDriver, type PeerDriverOptions } from './peer-driver.js';
import { loadQuorumSecurity } from './quorum-security.js';
import { loadTlsSettings, type TlsContextOptions } from './tls-settings.js';

/** The version string srvr, stat, mntr and envi report. */
export const zabkitVersion = '3.8.4-zabkit-0.1.0';

/** What a server process runs with: its parsed config, logger, storage and session secret. */
export interface ServerNodeOptions {
  readonly config: ZabkitConfig;
  readonly log?: Logger;
  /** Where the peer keeps its log, snapshots and epochs. Default: in memory. */
  readonly storage?: PeerStorage;
  /**
   * What session passwords derive from when the storage kept none yet (its first start):
   * default 32 random bytes. Storage keeps it from then on, and a member that syncs with a
   * leader takes the leader's, so the whole ensemble checks passwords alike.
   */
  readonly sessionSecret?: Uint8Array;
  /** The super user's digest; overrides zoo.cfg's DigestAuthenticationProvider.superDigest. */
  readonly superDigest?: string;
  /** The zoo.cfg text the configuration came from, which the admin server's initial_configuration returns. */
  readonly initialConfiguration?: string;
  /**
   * zoo.cfg's path: where a membership a reconfig commits is kept, as ZooKeeper keeps it
   * (`zoo.cfg.dynamic.<version>` beside it, zoo.cfg pointing at it), so a restart reads it
   * back. Default: the file the config was loaded from (`ZabkitConfig.configFile`). Without
   * either the new membership lives in the data directory's log and snapshots only.
   */
  readonly configFilePath?: string;
  /** The wall clock the peer reads (transaction times, TTLs). Default Date.now. */
  readonly clock?: () => number;
  /**
   * Open the client ports (default true, as `zabkit server` always does). An embedded peer
   * whose service talks to it in process only needs none: `startPeer` opens one only when
   * asked for.
   */
  readonly listen?: boolean;
  /** The server id of a standalone server (no `server.N` lines). Default 1. */
  readonly standaloneServerId?: number;
  /**
   * Whether the admin server's restore may replace this standalone server's state while it
   * runs (default true). An embedder whose code holds the driver passes false.
   */
  readonly restoreInPlace?: boolean;
  /**
   * What an admin server that cannot listen does to the start: `'log'` (the default, as
   * ZooKeeper's QuorumPeer: log it at error level and serve clients without it) or `'fail'`
   * (close and reject with the {@link AdminServerStartError}; an embedder that asked for one).
   */
  readonly adminServerFailure?: 'log' | 'fail';
}

/** The super digest from the options, else from the configuration (zoo.cfg or -D), if any. */
function superDigestOf(options: ServerNodeOptions, config: ZabkitConfig): { superDigest?: string } {
  const superDigest = options.superDigest ?? config.systemProperties.superDigest;
  return superDigest === undefined ? {} : { superDigest };
}

/** A transport for a server with no peers. */
class NoPeers implements PeerTransport {
  constructor(readonly serverId: ServerId) {}
  send(_to: ServerId, _message: PeerMessage): void {}
  listen(_handlers: TransportHandlers): void {}
  close(): void {}
}

/** One zabkit server: a ZAB peer, its storage and peer links, and the client port. */
export class ServerNode {
  private constructor(
    readonly config: ZabkitConfig,
    private currentDriver: PeerDriver,
    /** The plain client port, else the secure one; none with `listen: false`. */
    private readonly firstPort: ClientPortServer | undefined,
    /** The secure client port (secureClientPort), if any. */
    readonly secureClientPort: ClientPortServer | undefined,
    private readonly transport: PeerTransport,
    private readonly log: Logger,
    private readonly audit: AuditLog | undefined,
  ) {}

  /**
   * The server's metrics, which mntr and the admin server's monitor report; its `registry` is
   * the Prometheus one when `metricsProvider.className` asked for it (see attachMetrics).
   */
  metrics!: ServerMetrics;
  private metricsEndpoint: MetricsHttpServer | undefined;
  /** The AdminServer, when admin.enableServer (true by default) asks for it and its port was free. */
  adminServer: AdminServer | undefined;
  private dashboard: Dashboard | undefined;
  /** Why the admin server that was asked for is not running, if it is not. */
  adminServerError: string | undefined;
  /** The zoo.cfg text the server started from, if known. */
  initialConfiguration: string | undefined;

  /** Opens storage and links, starts the peer and listens for clients. */
  static async start(options: ServerNodeOptions): Promise<ServerNode> {
    const { config } = options;
    const log = options.log ?? silentLogger;
    // Opened first: a file it cannot open stops the start naming zabkit.audit.file.
    const audit = AuditLog.open(config.clientPortSettings.audit, log);
    const ensemble = config.servers.size > 0;
    const serverId = ensemble ? config.myid! : (options.standaloneServerId ?? 1);
    const voters = ensemble
      ? [...config.servers.values()].filter((s) => s.role === 'participant').map((s) => s.id)
      : [serverId];
    const observers = ensemble
      ? [...config.servers.values()].filter((s) => s.role === 'observer').map((s) => s.id)
      : [];
    let transport: PeerTransport;
    if (ensemble) {
      const self = config.servers.get(serverId)!;
      const peers = new Map(
        [...config.servers.values()]
          .filter((s) => s.id !== serverId)
          .map((s) => [s.id, { host: s.host, port: s.quorumPort }] as const),
      );
      const quorum = await loadQuorumSecurity(config, log);
      const tcp = new TcpTransport({
        serverId,
        listen: { host: self.host, port: self.quorumPort },
        peers,
        security: quorum.security,
        handshakeTimeoutMs: quorum.handshakeTimeoutMs,
        maxUnauthenticatedConnections: quorum.maxUnauthenticatedConnections,
        nonMemberPeersMax: quorum.nonMemberPeersMax,
        maxFrameBytes: config.peerLinks.peerMaxFrameBytes,
        log,
      });
      log.info({ serverId, authentication: quorum.mechanism }, 'peer links authenticate with');
      await tcp.start();
      transport = tcp;
    } else {
      transport = new NoPeers(serverId);
    }
    // The metrics the replica's applies go to: the node's own and any attached to it.
    const replicaListeners = new Set<ReplicaListener>();
    const realStorage = options.storage ?? new MemoryStorage();
    const driverOptions: PeerDriverOptions = {
      peer: {
        serverId,
        voters,
        observers,
        ...(ensemble ? { ensembleConfig: ensembleConfigOf(config) } : {}),
        // ZooKeeper's last seen configuration at start (setLastSeenQuorumVerifier does nothing
        // without reconfigEnabled): the proposal zoo.cfg.dynamic.next kept.
        ...(ensemble && config.systemProperties.reconfigEnabled && config.proposedConfig !== undefined
          ? {
              proposedEnsembleConfig: ensembleConfigOf({
                ...config,
                servers: config.proposedConfig.servers,
                configVersion: config.proposedConfig.version,
              }),
            }
          : {}),
        reconfigEnabled: config.systemProperties.reconfigEnabled,
        reconfigSkipsAcl: config.systemProperties.skipAcl,
        tickTimeMs: config.tickTime,
        initLimitTicks: config.initLimit,
        syncLimitTicks: config.syncLimit,
        minSessionTimeoutMs: config.minSessionTimeout,
        maxSessionTimeoutMs: config.maxSessionTimeout,
        snapCount: config.snapCount,
        syncChunkBytes: config.peerLinks.syncChunkBytes,
        syncWindowBytes: config.peerLinks.syncWindowBytes,
        learnerLagBytesMax: config.peerLinks.learnerLagBytesMax,
        electionFinalizeWaitMs: Math.min(200, config.tickTime),
        electionResendIntervalMs: Math.min(400, config.tickTime),
        sessionSecret: options.sessionSecret ?? new Uint8Array(randomBytes(sessionSecretBytes)),
        extendedTypesEnabled: config.systemProperties.extendedTypesEnabled,
        containerCheckIntervalMs: config.systemProperties.containerCheckIntervalMs,
        enforceQuota: config.systemProperties.enforceQuota,
        readOnlyModeEnabled: config.systemProperties.readOnlyModeEnabled,
        // How many watchers each trigger reached (node_*_watch_count).
        onWatchesTriggered: (type, watchers) => {
          for (const listener of replicaListeners) listener.watchesTriggered(type, watchers);
        },
        onQuotaNotice: (notice) => {
          logQuotaNotice(log, notice);
          // The leader prepares every write: its quota_exceeded_error_per_namespace counts them all, as ZooKeeper's.
          if ('refused' in notice && notice.refused)
            for (const listener of replicaListeners) listener.quotaRefused(notice.quotaPath);
        },
        // As in ZooKeeper, data has no cap of its own: the frame carrying it (jute.maxbuffer)
        // is the limit, so raising jute.maxbuffer raises what a node may hold.
        dataSizeMaxBytes: config.juteMaxBuffer,
        ...superDigestOf(options, config),
        enforceAuthSchemes: config.clientPortSettings.auth.enforceAuthSchemes,
        onApplied: (txn: Txn) => {
          // ZooKeeper's DataTree audits the ephemerals a closed or expired session loses, on every server.
          if (audit !== undefined && txn.body.kind === 'closeSession')
            audit.ephemeralsDeleted(txn.sessionId, txn.body.ephemeralPaths);
          // And counts each write's bytes by namespace (write_per_namespace).
          for (const listener of replicaListeners) listener.applied(txn);
        },
        startTimeMs: (options.clock ?? Date.now)(),
      },
      storage: realStorage,
      // A restore stops one driver and starts another on the same store: the node closes it.
      closesStorage: false,
      transport,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      // Timers fire on ticks: a check for expired TTL nodes more often than a quarter tick
      // needs ticks that often.
      tickIntervalMs: Math.max(
        1,
        Math.min(Math.floor(config.tickTime / 4), config.systemProperties.containerCheckIntervalMs),
      ),
      // A standalone server has no elections to tell of.
      ...(ensemble ? { log } : {}),
    };
    const driver = await startDriver(driverOptions, log);
    if (ensemble && transport instanceof TcpTransport) {
      // One write after another: a proposal and its activation in the same step (or the next)
      // must reach the disk in that order, or the .next file would outlive its commit.
      let membershipWrites = Promise.resolve();
      const configFilePath = options.configFilePath ?? config.configFile;
      driver.observe({
        stepped: (ready) => {
          const { proposedConfig, activatedConfig } = ready;
          if (proposedConfig !== undefined)
            membershipWrites = membershipWrites.then(() =>
              keepProposedMembership(proposedConfig, configFilePath, log),
            );
          if (activatedConfig !== undefined)
            membershipWrites = membershipWrites.then(() =>
              keepMembership(activatedConfig, serverId, transport, configFilePath, log),
            );
        },
      });
    }
    const self = ensemble ? config.servers.get(serverId) : undefined;
    const tlsSettings = config.clientPortSettings.tls;
    // Stores are read before anything listens: a key that cannot be honoured stops the start.
    let tls: ClientPortTls | undefined;
    const authSettings = config.clientPortSettings.auth;
    let auth: ClientPortAuth;
    try {
      tls = tlsSettings.tls === undefined ? undefined : await loadClientTls(tlsSettings);
      auth = {
        saslUsers: await loadSaslUsers(authSettings),
        saslSuperUsers: authSettings.saslSuperUsers,
        x509SuperUser: authSettings.x509SuperUser,
        allowSaslFailedClients: authSettings.allowSaslFailedClients,
        saslRequired: authSettings.enforceAuthSchemes.includes('sasl'),
      };
    } catch (error) {
      await driver.stop();
      await realStorage.close();
      if (transport instanceof TcpTransport) await transport.shutdown();
      throw error;
    }
    const configuredPort = config.clientPort ?? self?.clientPort;
    const clientHost = config.clientPortAddress ?? self?.clientAddress ?? '0.0.0.0';
    const limits = config.clientPortSettings.limits;
    // Plain and secure listeners share the server's one outstanding limit, as in ZooKeeper.
    const budget = new OutstandingBudget(
      outstandingShare(config.clientPortSettings.globalOutstandingLimit, voters.length),
    );
    let node: ServerNode | undefined;
    if (options.listen === false) {
      node = new ServerNode(config, driver, undefined, undefined, transport, log, audit);
      node.restart = { driverOptions, storage: realStorage, inPlace: options.restoreInPlace ?? true };
      node.replicaListeners = replicaListeners;
      audit?.started();
      // The figures mntr would report; no metrics endpoint or admin server without a client port.
      node.metrics = new ServerMetrics(node, { prometheus: false, exportProcessMetrics: false });
      node.startPauseMonitor();
      log.info(
        { serverId, mode: ensemble ? 'ensemble' : 'standalone', dataDir: config.dataDir },
        'zabkit peer started (no client port)',
      );
      return node;
    }
    const listen = (host: string, port: number, listenerTls: ClientPortServer['options']['tls']) =>
      ClientPortServer.listen({
        // Through the node: a restore replaces the driver under the same listeners.
        links: { open: (handlers) => node!.driver.open(handlers) },
        host,
        port,
        maxFrameBytes: config.juteMaxBuffer,
        maxClientConnections: config.maxClientCnxns,
        fourLetterWords: config.fourLetterWords,
        limits: { ...limits, maxOutstandingTotal: budget.limit },
        budget,
        audit,
        auth,
        ...(listenerTls === undefined ? {} : { tls: listenerTls }),
        ...(config.clientPortSettings.earlyDropSecureConnectionHandshakes
          ? { dropTlsBeforeHandshake: () => !node!.driver.peer.status().serving }
          : {}),
        introspect: () => node!.introspect(),
        fourLetterWordActions: {
          resetConnectionStats: () => node!.fourLetterWordActions.resetConnectionStats(),
          resetServerStats: () => node!.fourLetterWordActions.resetServerStats(),
          setTraceMask: (mask) => node!.fourLetterWordActions.setTraceMask(mask),
        },
        log,
      });
    // As ZooKeeper: with only secureClientPort set, no plain listener.
    const plain =
      configuredPort === undefined && tlsSettings.secureClientPort !== undefined
        ? undefined
        : await listen(
            clientHost,
            configuredPort ?? 2181,
            tls !== undefined && tlsSettings.portUnification ? { ...tls, unified: true } : undefined,
          );
    const secure =
      tlsSettings.secureClientPort === undefined
        ? undefined
        : await listen(tlsSettings.secureClientPortAddress ?? clientHost, tlsSettings.secureClientPort, {
            ...tls!,
            unified: false,
          });
    node = new ServerNode(config, driver, (plain ?? secure)!, secure, transport, log, audit);
    node.restart = { driverOptions, storage: realStorage, inPlace: options.restoreInPlace ?? true };
    node.replicaListeners = replicaListeners;
    audit?.started();
    node.metrics = new ServerMetrics(node, {
      prometheus: config.metrics !== undefined,
      exportProcessMetrics: config.metrics?.exportProcessMetrics ?? false,
      // As ZooKeeper's mntr: the configured provider's dump.
      mntrFromRegistry: true,
    });
    node.startPauseMonitor();
    if (config.metrics !== undefined && node.metrics.registry !== undefined) {
      const settings = config.metrics;
      const registry = node.metrics.registry;
      try {
        node.metricsEndpoint = await MetricsHttpServer.listen(registry, settings.host, settings.port, log);
      } catch (error) {
        // As ZooKeeper's provider, a metrics endpoint that cannot start stops the server.
        log.error(
          { err: error, host: settings.host, port: settings.port },
          'cannot start the /metrics endpoint',
        );
        await node.close();
        throw error;
      }
      const metricsAddress = node.metricsEndpoint.address();
      log.info({ metricsAddress: `${metricsAddress.host}:${metricsAddress.port}` }, 'serving /metrics');
    }
    node.initialConfiguration = options.initialConfiguration;
    const address = node.clientPort.address();
    log.info(
      {
        serverId,
        mode: ensemble ? 'ensemble' : 'standalone',
        clientAddress: `${address.host}:${address.port}`,
        dataDir: config.dataDir,
      },
      'zabkit server listening',
    );
    const admin = config.systemProperties.adminServer;
    if (admin.enabled) {
      let adminTls: TlsContextOptions | undefined;
      try {
        adminTls = config.adminTls === undefined ? undefined : await loadTlsSettings(config.adminTls);
      } catch (error) {
        // As for the client port's TLS: stores that cannot be used stop the start, naming the key.
        await node.close();
        throw error;
      }
      try {
        node.adminServer = await AdminServer.listen(node, admin, log, adminTls);
        const dashboard = new Dashboard(node);
        node.dashboard = dashboard;
        node.adminServer.addRoute((request, response) => dashboard.route(request, response));
        const adminAddress = node.adminServer.address();
        log.info(
          {
            adminAddress: `${adminAddress.host}:${adminAddress.port}`,
            commandUrl: admin.commandUrl,
            https: adminTls === undefined ? 'off' : admin.forceHttps ? 'only' : 'unified',
          },
          'admin server listening',
        );
      } catch (error) {
        if (options.adminServerFailure === 'fail') {
          await node.close();
          throw error;
        }
        // As ZooKeeper's QuorumPeer: a port 8080 that is taken (a second server on the host)
        // must not take the ensemble member down. It serves its clients and says why not this.
        log.error(
          {
            err: error,
            address: admin.address,
            port: admin.port,
            code: error instanceof AdminServerStartError ? error.code : errorCodeOf(error),
          },
          `${error instanceof Error ? error.message : String(error)}; serving clients without it`,
        );
        node.adminServerError = error instanceof Error ? error.message : String(error);
      }
    }
    return node;
  }

  /** How to start the peer again on its store (a restore), and the store the node closes. */
  private restart!: { driverOptions: PeerDriverOptions; storage: PeerStorage; inPlace: boolean };
  /** Who hears what the replica applies: the node's metrics and those attached to it. */
  private replicaListeners!: Set<ReplicaListener>;
  /** The process's pauses (`jvm.pause.monitor`), and who hears of them. */
  private pauseMonitor: PauseMonitor | undefined;
  private readonly pauseListeners = new Set<(extraMs: number) => void>();

  /** Starts ZooKeeper's pause monitor when zoo.cfg asks for it (jvm.pause.monitor=true). */
  private startPauseMonitor(): void {
    const settings = this.config.pauseMonitor;
    if (settings === undefined) return;
    this.pauseMonitor = new PauseMonitor(settings, this.log, (extraMs) => {
      for (const listener of this.pauseListeners) listener(extraMs);
    });
    this.pauseMonitor.start();
  }

  /** Hears each pause the monitor measures (jvm_pause_time_ms), until the returned call. */
  onPause(listener: (extraMs: number) => void): () => void {
    this.pauseListeners.add(listener);
    return () => this.pauseListeners.delete(listener);
  }
  /** The restore under way, if one is: a second waits for it. */
  private restoring: Promise<unknown> | undefined;

  /** The running peer's driver (a restore replaces it). */
  get driver(): PeerDriver {
    return this.currentDriver;
  }

  /**
   * Replaces the server's state with a snapshot in ZooKeeper's format, as 3.9's restore
   * command does: the tree, Stats, ACLs and sessions the snapshot holds become the server's,
   * durably, and it serves from them at once. Clients are disconnected; those whose sessions
   * the snapshot holds resume them, the others find them expired. The snapshot is read whole
   * and checked before anything changes.
   *
   * Standalone, the peer stops, its store is reset to the snapshot (one atomic write, epochs
   * kept so that later zxids stay higher) and a new peer starts from it. In an ensemble the
   * restore is a transaction (see {@link restoreInEnsemble}): every member ends with the
   * snapshot's state, where ZooKeeper 3.9 restores only the member asked.
   */
  async restore(snapshot: Uint8Array): Promise<{ readonly lastZxid: bigint }> {
    if (this.config.servers.size > 0) return this.serialized(() => this.restoreInEnsemble(snapshot));
    if (!this.restart.inPlace)
      throw new RestoreRefusedError(
        'restore into an embedded peer is not available: close it, restore its data directory with ' +
          '`zabkit storage restore`, then start it',
      );
    return this.serialized(() => this.restoreNow(snapshot));
  }

  /** Runs one restore after any still under way. */
  private async serialized<T>(restore: () => Promise<T>): Promise<T> {
    const previous = this.restoring ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(restore);
    this.restoring = run;
    try {
      return await run;
    } finally {
      if (this.restoring === run) this.restoring = undefined;
    }
  }

  /**
   * A restore on a member of an ensemble: the snapshot's nodes and sessions go to the leader
   * (through this member's link to it, if it follows), which proposes them as one transaction
   * at the next zxid, proposing nothing else until it is applied. Committed by a quorum like
   * any write, it is durable in their logs before any replica applies it, so a crash on either
   * side of the commit leaves every replica with the old state or, after recovery, the new
   * one; each replica applies it in one step, closes its client connections and snapshots.
   * Resolves with the restore's zxid once applied here. The snapshot's zxids must not be
   * ahead of the ensemble's history, and it must fit in one peer message.
   */
  private async restoreInEnsemble(bytes: Uint8Array): Promise<{ readonly lastZxid: bigint }> {
    const { config } = this;
    const loaded = loadZooKeeperSnapshot(bytes, 'the restore request body', {
      extendedTypesEnabled: config.systemProperties.extendedTypesEnabled,
      juteMaxBufferBytes: config.juteMaxBuffer,
    });
    const snapshot = toTreeSnapshot(loaded);
    DataTree.fromSnapshot(snapshot);
    const request: RestoreRequest = {
      op: 'restore',
      token: `${config.myid ?? 0}:${randomBytes(8).toString('hex')}`,
      nodes: snapshot.nodes,
      sessions: snapshot.sessions,
    };
    // Sized as learner syncs size transactions: well inside the peer links' frame cap, which
    // the proposal (and a DIFF carrying it) must fit whole.
    const { op: _, ...body } = request;
    const size = txnBytes({ ...restoreProbe, body: { kind: 'restore', ...body } });
    const sizeMax = Math.floor(config.peerLinks.peerMaxFrameBytes / 2);
    if (size > sizeMax)
      throw new RestoreRefusedError(
        `the snapshot takes about ${size} bytes as a proposal, beyond half zabkit.peerMaxFrameBytes (${sizeMax}): ` +
          'raise zabkit.peerMaxFrameBytes, or stop every member and run `zabkit storage restore` on each',
      );
    const status = this.driver.peer.status();
    if (!status.serving)
      throw new RestoreRefusedError('this server is not serving: no leader to restore through');
    // The leader checks again against its own history; asked here first, a learner's caller
    // hears why at once rather than after the wait.
    const problem = restoreProblem(snapshot.nodes, status.lastAppliedZxid);
    if (problem !== undefined)
      throw new RestoreRefusedError(`the snapshot cannot be restored here: ${problem}`);
    this.log.warn(
      {
        fromZxid: formatZxid(status.lastAppliedZxid),
        snapshotZxid: formatZxid(zxid(BigInt.asUintN(64, loaded.zxid))),
        znodes: loaded.tree.nodes.size,
        sessions: loaded.sessions.size,
        token: request.token,
      },
      'restoring the ensemble from a snapshot (admin restore): every member disconnects its clients',
    );
    const timeoutMs = Math.max(restoreWaitMinMs, (config.initLimit + config.syncLimit) * config.tickTime);
    const restored = await this.driver.restore(request, timeoutMs);
    return { lastZxid: restored };
  }

  private async restoreNow(bytes: Uint8Array): Promise<{ readonly lastZxid: bigint }> {
    const { config } = this;
    // Read and checked whole before anything changes: a bad body leaves the server as it was.
    const loaded = loadZooKeeperSnapshot(bytes, 'the restore request body', {
      extendedTypesEnabled: config.systemProperties.extendedTypesEnabled,
      juteMaxBufferBytes: config.juteMaxBuffer,
    });
    const { storage, driverOptions } = this.restart;
    const before = this.driver.peer.status();
    this.log.warn(
      {
        fromZxid: formatZxid(before.lastAppliedZxid),
        toZxid: formatZxid(zxid(BigInt.asUintN(64, loaded.zxid))),
        znodes: loaded.tree.nodes.size,
        sessions: loaded.sessions.size,
      },
      'restoring from a snapshot (admin restore): clients are disconnected',
    );
    // Checked as a tree before anything stops: parents before children, one root.
    const snapshot = toTreeSnapshot(loaded);
    DataTree.fromSnapshot(snapshot);
    const imported = importedEpochs(loaded);
    const old = this.currentDriver;
    await old.stop();
    let failure: unknown;
    try {
      // Epochs first and never back: the next election's epoch, and so every later zxid,
      // stays above what clients have seen; a crash before the reset leaves the old state
      // with epochs that are merely higher.
      const epochs = await storage.readEpochs();
      await storage.writeEpochs({
        acceptedEpoch: Math.max(epochs.acceptedEpoch, imported.acceptedEpoch),
        currentEpoch: Math.max(epochs.currentEpoch, imported.currentEpoch),
      });
      // One atomic write: the store holds the old state or the snapshot's, never a mix.
      await storage.reset(snapshot);
    } catch (error) {
      failure = error;
      this.log.error({ err: error }, 'restore failed writing the store: starting again from what it holds');
    }
    // Whatever the store holds now, the server serves it.
    const driver = await startDriver(
      { ...driverOptions, peer: { ...driverOptions.peer, startTimeMs: (driverOptions.clock ?? Date.now)() } },
      this.log,
    );
    this.currentDriver = driver;
    this.metrics.reattach();
    for (const listener of this.driverListeners) listener(driver);
    if (failure !== undefined) throw failure;
    this.log.warn(
      {
        zxid: formatZxid(driver.peer.status().lastAppliedZxid),
        znodes: driver.peer.replicaStats().nodeCount,
      },
      'restored from the snapshot',
    );
    return { lastZxid: loaded.zxid };
  }

  private readonly driverListeners = new Set<(driver: PeerDriver) => void>();

  /** Calls `listener` with the new driver each time a restore replaces it; returns a function that unsubscribes. */
  onDriverReplaced(listener: (driver: PeerDriver) => void): () => void {
    this.driverListeners.add(listener);
    return () => this.driverListeners.delete(listener);
  }

  /**
   * The error the peer stopped with, once it has (its storage failed, or it broke an
   * invariant). The node then answers no client and reports itself unhealthy; `zabkit
   * server` exits non-zero so that a supervisor restarts it.
   */
  get fatalError(): PeerFatalError | undefined {
    return this.driver.fatalError;
  }

  /**
   * The plain client port; the secure one when there is no plain one. Throws for a node
   * started with `listen: false`, which has none (see {@link ServerNode.hasClientPort}).
   */
  get clientPort(): ClientPortServer {
    if (this.firstPort === undefined) throw new Error('this server has no client port (listen: false)');
    return this.firstPort;
  }

  /** False for a node started with `listen: false`: it serves in-process links only. */
  get hasClientPort(): boolean {
    return this.firstPort !== undefined;
  }

  /** Calls `listener` once if the peer stops for good; returns a function that unsubscribes. */
  /** Follows what the replica applies (for metrics: see MetricsSource), until the returned call. */
  onReplica(listener: ReplicaListener): () => void {
    this.replicaListeners.add(listener);
    return () => this.replicaListeners.delete(listener);
  }

  onFatal(listener: FatalListener): () => void {
    return this.driver.onFatal(listener);
  }

  /** Where the admin server listens, when there is one. */
  adminAddress(): { host: string; port: number } | undefined {
    return this.adminServer?.address();
  }

  /** Where the Prometheus endpoint listens, when there is one. */
  metricsAddress(): { host: string; port: number } | undefined {
    return this.metricsEndpoint?.address();
  }

  /** Where clients connect: the plain client port, or the secure one when it is the only one. */
  address(): { host: string; port: number } {
    return this.clientPort.address();
  }

  /** Where TLS clients connect (secureClientPort), if the server has that port. */
  secureAddress(): { host: string; port: number } | undefined {
    return this.secureClientPort?.address();
  }

  /** The trace mask gtmk and get_trace_mask report and stmk sets (ZooKeeper's default, 306). */
  traceMask = defaultTraceMask;

  /** Every client listener, each once. */
  clientListeners(): readonly ClientPortServer[] {
    return this.listeners();
  }

  /** What crst, srst and stmk do to this server. */
  readonly fourLetterWordActions: FourLetterWordActions = {
    resetConnectionStats: () => {
      for (const listener of this.listeners()) listener.resetConnectionStats();
    },
    resetServerStats: () => {
      for (const listener of this.listeners()) listener.resetServerStats();
      this.metrics.reset();
    },
    setTraceMask: (mask) => {
      this.traceMask = mask;
      // ZooKeeper's mask picks which requests its TRACE log records; zabkit has no such log.
      this.log.info(
        { traceMask: String(mask) },
        'trace mask set (zabkit keeps it for gtmk; nothing is traced)',
      );
    },
  };

  /** QuorumPeer's detailed state (mntr's peer_state), undefined standalone. */
  peerState(): string | undefined {
    const peer = this.driver.peer;
    if (peer.options.voters.length === 1 && peer.options.observers.length === 0) return undefined;
    const status = peer.status();
    return zabStateOf(status.role, status.serving);
  }

  /** Every client listener, each once. */
  private listeners(): ClientPortServer[] {
    const all = this.firstPort === undefined ? [] : [this.firstPort];
    if (this.secureClientPort !== undefined && this.secureClientPort !== this.firstPort)
      all.push(this.secureClientPort);
    return all;
  }

  /** What the four-letter words report, read off the running peer. */
  introspect(): FourLetterWordContext {
    const peer = this.driver.peer;
    const status = peer.status();
    const replica = peer.replicaStats();
    const { sessions: live, ephemeralsByOwner } = peer.sessionSummary();
    const standalone = peer.options.voters.length === 1 && peer.options.observers.length === 0;
    const mode =
      status.role === 'leading'
        ? standalone
          ? 'standalone'
          : 'leader'
        : status.role === 'following'
          ? 'follower'
          : status.role === 'observing'
            ? 'observer'
            : status.readOnly
              ? 'read-only'
              : 'looking';
    const listeners = this.listeners();
    const sum = (pick: (stats: ClientPortServer['stats']) => number) =>
      listeners.reduce((total, listener) => total + pick(listener.stats), 0);
    const latencyCount = sum((stats) => stats.latencyCount);
    const sessions = [...live.keys()].map((sessionId) => ({
      sessionId,
      ephemerals: ephemeralsByOwner.get(sessionId) ?? [],
    }));
    const config = this.config;
    const failure = this.driver.fatalError?.message;
    return {
      version: zabkitVersion,
      mode,
      // A peer that stopped for good serves nobody, whatever its last status said.
      serving: (status.serving || status.readOnly) && failure === undefined,
      failure,
      serverId: peer.serverId,
      readOnly: status.readOnly,
      zxid: status.lastAppliedZxid,
      nodeCount: replica.nodeCount,
      approximateDataSize: replica.approximateDataSize,
      ephemeralsCount: sessions.reduce((sum, session) => sum + session.ephemerals.length, 0),
      watches: replica.watches,
      sessions,
      packetsReceived: sum((stats) => stats.packetsReceived),
      packetsSent: sum((stats) => stats.packetsSent),
      latency: {
        min: latencyCount === 0 ? 0 : Math.round(Math.min(...listeners.map((l) => l.stats.latencyMinMs))),
        avg: latencyCount === 0 ? 0 : sum((stats) => stats.latencyTotalMs) / latencyCount,
        max: Math.round(Math.max(0, ...listeners.map((l) => l.stats.latencyMaxMs))),
      },
      connections: listeners.flatMap((listener) => listener.connectionInfo()),
      ...(status.role === 'leading' ? { proposalSizes: this.metrics.tracked().proposalSizes } : {}),
      ...(this.peerState() === undefined ? {} : { peerState: this.peerState()! }),
      metrics: () => this.metrics.monitorValues(),
      watchesBySession: () => peer.dataWatchesBySession(),
      dirs: () => ({
        dataDirBytes: directoryBytes(config.dataDir),
        logDirBytes: directoryBytes(config.dataLogDir),
      }),
      digests: () => [{ zxid: peer.status().lastAppliedZxid, digest: peer.digest() }],
      traceMask: this.traceMask,
      config: [
        ...(this.firstPort === undefined || this.firstPort === this.secureClientPort
          ? []
          : ([['clientPort', String(this.address().port)]] as const)),
        ...(this.secureClientPort === undefined
          ? []
          : ([['secureClientPort', String(this.secureClientPort.address().port)]] as const)),
        ['dataDir', config.dataDir],
        ['dataLogDir', config.dataLogDir],
        ['tickTime', String(config.tickTime)],
        ['maxClientCnxns', String(config.maxClientCnxns)],
        ['minSessionTimeout', String(config.minSessionTimeout)],
        ['maxSessionTimeout', String(config.maxSessionTimeout)],
        ['serverId', String(peer.serverId)],
        ['initLimit', String(config.initLimit)],
        ['syncLimit', String(config.syncLimit)],
        ['snapCount', String(config.snapCount)],
        ...[...config.servers.values()].map(
          (s) => [`server.${s.id}`, `${s.host}:${s.quorumPort}:${s.electionPort}:${s.role}`] as const,
        ),
      ],
      environment: [
        ['zookeeper.version', zabkitVersion],
        ['host.name', hostname()],
        ['node.version', process.version],
        ['os.name', process.platform],
        ['os.arch', process.arch],
        ['os.version', release()],
        ['user.name', userInfo().username],
        ['user.home', userInfo().homedir],
        ['user.dir', process.cwd()],
        ['process.pid', String(process.pid)],
      ],
    };
  }

  /** Stops serving: clients are dropped (they move elsewhere), peers and storage closed. */
  async close(): Promise<void> {
    await this.adminServer?.close();
    await this.dashboard?.close();
    await this.metricsEndpoint?.close();
    this.pauseMonitor?.stop();
    this.metrics.detach();
    await Promise.all(this.listeners().map((listener) => listener.close()));
    this.audit?.stopped();
    await this.restoring?.catch(() => undefined);
    await this.driver.stop();
    await this.restart?.storage.close();
    if (this.transport instanceof TcpTransport) await this.transport.shutdown();
    this.log.info({ serverId: this.driver.serverId }, 'zabkit server stopped');
  }
}

/**
 * The shortest wait for a restore asked of an ensemble member to be applied there: it crosses
 * to the leader and back, and every member writes it whole.
 */
const restoreWaitMinMs = 30_000;

/** A restore transaction's header, for sizing one before the leader gives it a zxid. */
const restoreProbe = { zxid: zxid(0n), timeMs: 0, sessionId: noSessionId, cxid: -1 } as const;

/** ZooKeeper's default trace mask (ZooTrace's client, request and session events). */
const defaultTraceMask = 306n;

/**
 * QuorumPeer's peer state and ZAB phase as ZooKeeper prints them ("following - broadcast").
 * zabkit tells apart only whether a leader or learner serves yet: before that it reports
 * synchronization (ZooKeeper would say discovery during its first phase).
 */
export function zabStateOf(role: string, serving: boolean): string {
  if (role === 'looking') return 'looking';
  return `${role} - ${serving ? 'broadcast' : 'synchronization'}`;
}

/** The system error code of a failure (ENOSPC, EIO, ...), when it has one. */
function errorCodeOf(cause: unknown): string | undefined {
  if (typeof cause !== 'object' || cause === null || !('code' in cause)) return undefined;
  return typeof cause.code === 'string' ? cause.code : undefined;
}

/** Length of a new session secret: 256 bits. */
const sessionSecretBytes = 32;

/**
 * The membership /zookeeper/config shows: the server.N lines as zoo.cfg or its dynamic
 * configuration file gives them, with that file's version (0 for lines in zoo.cfg).
 */
function ensembleConfigOf(config: ZabkitConfig): EnsembleConfig {
  return {
    members: [...config.servers.values()].map((server) => ({
      id: server.id,
      host: server.host,
      quorumPort: server.quorumPort,
      electionPort: server.electionPort,
      role: server.role,
      ...(server.clientPort === undefined
        ? {}
        : { client: { address: server.clientAddress ?? '0.0.0.0', port: server.clientPort } }),
    })),
    version: zxid(config.configVersion),
  };
}

/** ZooKeeper's "Quota exceeded" line (it logs it rate-limited), or the recount of a stats node that did not parse. */
function logQuotaNotice(log: Logger, notice: QuotaNotice | { readonly recounted: string }): void {
  if ('recounted' in notice) {
    log.warn(
      { quotaPath: notice.recounted },
      'quota stats node did not parse (a client wrote into it): counted the subtree again',
    );
    return;
  }
  const kind = notice.limit === 'count' ? 'Count' : 'Byte';
  log.warn(
    { quotaPath: notice.quotaPath, refused: notice.refused },
    `Quota exceeded: ${notice.quotaPath} [current ${notice.limit}=${notice.wouldBe}, ${notice.hard ? 'hard' : 'soft'}${kind}Limit=${notice.limitValue}]`,
  );
}

/** Starts a peer driver, logging why if its peer later stops for good. */
async function startDriver(options: PeerDriverOptions, log: Logger): Promise<PeerDriver> {
  const driver = await PeerDriver.start(options);
  const serverId = options.peer.serverId;
  // A peer that stops for good (a broken invariant, a failed store) says why.
  driver.onFatal((error) =>
    log.error(
      { serverId, reason: error.reason, code: errorCodeOf(error.cause), err: error.cause },
      `peer stopped for good: ${error.message}`,
    ),
  );
  return driver;
}
