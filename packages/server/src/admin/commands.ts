/**
 * The AdminServer's commands as ZooKeeper 3.9 defines them (server/admin/Commands.java): the
 * same names and aliases, the same JSON field names (Jackson's snake_case), the same HTTP
 * methods, and the authentication 3.9 requires for snapshot and restore (an `Authorization:
 * <scheme> <credentials>` header whose identities hold every permission on `/`).
 *
 * @module
 */
import { hostname, userInfo } from 'node:os';
import { authenticate, checkAcl, type Id, Perms } from '@zabkit/core';
import { encodeSnapshot, toSnapshotContent } from '@zabkit/zk-format';
import type { ZabkitConfig } from '../config.js';
import type { ConnectionInfo } from '../connection-stats.js';
import type { FourLetterWordActions, FourLetterWordContext } from '../four-letter-words.js';
import { watchersByPath } from '../four-letter-words.js';
import type { ServerMetrics } from '../metrics/registry.js';
import type { PeerDriver } from '../peer-driver.js';
import { RestoreRefusedError } from '../restore-error.js';

/** What the commands read and change: a running server (a `ServerNode` is one). */
export interface AdminTarget {
  readonly config: ZabkitConfig;
  readonly driver: PeerDriver;
  readonly metrics: ServerMetrics;
  /** The zoo.cfg text the server started from, when it started from one. */
  readonly initialConfiguration: string | undefined;
  readonly traceMask: bigint;
  readonly fourLetterWordActions: FourLetterWordActions;
  introspect(): FourLetterWordContext;
  peerState(): string | undefined;
  /**
   * Replaces the server's state with a snapshot in ZooKeeper's format (the restore command;
   * on an ensemble member, every member's); resolves with the zxid it restored to. Rejects
   * with a {@link RestoreRefusedError} where this server will not restore (no leader to
   * restore through, a snapshot ahead of the history or too large for one proposal, an
   * embedded standalone peer), and with the format's error for bytes that are not a whole
   * snapshot, the state unchanged.
   */
  restore(snapshot: Uint8Array): Promise<{ readonly lastZxid: bigint }>;
}

export { RestoreRefusedError } from '../restore-error.js';

/** A command's answer: JSON fields, or a byte stream (snapshot), with status and headers. */
export interface CommandResult {
  readonly status?: number;
  readonly data?: Readonly<Record<string, unknown>>;
  readonly error?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly stream?: Uint8Array;
}

/** What a request brings: query arguments, the body (POST), who asks. */
export interface CommandRequest {
  readonly args: ReadonlyMap<string, string>;
  readonly body?: Uint8Array;
  readonly remoteAddress: string;
}

/** One command: its names (the first is primary), method, and whether it needs a serving server. */
export interface AdminCommand {
  readonly names: readonly string[];
  readonly method: 'GET' | 'POST';
  readonly serverRequired: boolean;
  /** Requires an Authorization header whose identities hold every permission on `/`. */
  readonly authRequired: boolean;
  run(target: AdminTarget, request: CommandRequest): CommandResult | Promise<CommandResult>;
}

const hex = (value: bigint) => BigInt.asUintN(64, value).toString(16);

/** A connection as ServerCnxn.getConnectionInfo reports it (brief for stats). */
function connectionJson(connection: ConnectionInfo, brief: boolean): Record<string, unknown> {
  const info: Record<string, unknown> = {
    remote_socket_address: `${connection.remote.replace(/^::ffff:/, '')}:${connection.remotePort}`,
    interest_ops: connection.interestOps,
    outstanding_requests: connection.outstanding,
    packets_received: connection.received,
    packets_sent: connection.sent,
  };
  if (brief) return info;
  return {
    ...info,
    session_id: BigInt.asIntN(64, connection.sessionId ?? 0n),
    last_operation: connection.lastOperation,
    established: connection.establishedAtMs,
    session_timeout: connection.timeoutMs,
    last_cxid: connection.lastCxid,
    last_zxid: BigInt.asIntN(64, connection.lastZxid),
    last_response_time: connection.lastResponseTimeMs,
    last_latency: connection.lastLatencyMs,
    min_latency: connection.latency.min,
    avg_latency: connection.latency.avg,
    max_latency: connection.latency.max,
  };
}

function connections(target: AdminTarget, brief: boolean): Record<string, unknown> {
  const all = target.introspect().connections;
  return {
    connections: all.filter((c) => !c.secure).map((c) => connectionJson(c, brief)),
    secure_connections: all.filter((c) => c.secure).map((c) => connectionJson(c, brief)),
  };
}

/** ZooKeeper's ServerStats, as Jackson writes its getters. */
function serverStats(target: AdminTarget): Record<string, unknown> {
  const context = target.introspect();
  const dirs = context.dirs();
  const figures = new Map(target.metrics.dump());
  const responses = {
    last_buffer_size: figures.get('last_client_response_size') ?? -1,
    min_buffer_size: figures.get('min_client_response_size') ?? -1,
    max_buffer_size: figures.get('max_client_response_size') ?? -1,
  };
  const data: Record<string, unknown> = {
    version: context.version,
    read_only: context.readOnly,
    server_stats: {
      packets_sent: context.packetsSent,
      packets_received: context.packetsReceived,
      fsync_threshold_exceed_count: 0,
      client_response_stats: responses,
      provider_null: false,
      data_dir_size: dirs.dataDirBytes,
      log_dir_size: dirs.logDirBytes,
      server_state: context.mode,
      last_processed_zxid: BigInt.asIntN(64, context.zxid),
      outstanding_requests: context.connections.reduce((sum, c) => sum + c.outstanding, 0),
      avg_latency: Math.round(context.latency.avg * 10_000) / 10_000,
      max_latency: context.latency.max,
      min_latency: context.latency.min,
      num_alive_client_connections: context.connections.length,
      uptime: figures.get('uptime') ?? 0,
      auth_failed_count: figures.get('auth_failed_count') ?? 0,
      non_mtlsremote_conn_count: 0,
      non_mtlslocal_conn_count: 0,
    },
    client_response: responses,
    node_count: context.nodeCount,
  };
  if (context.mode === 'leader' && context.proposalSizes !== undefined) {
    data.proposal_stats = {
      last_buffer_size: context.proposalSizes.last,
      min_buffer_size: context.proposalSizes.min,
      max_buffer_size: context.proposalSizes.max,
    };
  }
  return data;
}

/** `host:port` of a member's address, as QuorumServerView prints it. */
const address = (host: string, port: number | undefined) => (port === undefined ? '' : `${host}:${port}`);

/** Allows one call per `intervalMs` (ZooKeeper's RateLimiter with one permit). */
class RateLimiter {
  private lastMs = Number.NEGATIVE_INFINITY;
  constructor(private readonly intervalMs: number) {}
  allow(): boolean {
    const now = performance.now();
    if (now - this.lastMs < this.intervalMs) return false;
    this.lastMs = now;
    return true;
  }
}

function makeSnapshot(target: AdminTarget): { zxid: bigint; bytes: Uint8Array } {
  const tree = target.driver.peer.treeSnapshot();
  // With the last processed zxid after the digest, as 3.9 writes it for its restore.
  return { zxid: tree.zxid, bytes: encodeSnapshot({ ...toSnapshotContent(tree), lastZxid: tree.zxid }) };
}

/**
 * Every command of ZooKeeper 3.9's AdminServer. Snapshot and restore are rate limited as
 * there: one per `admin.rateLimiterIntervalInMS` (300000), which 3.9 reads in microseconds
 * for snapshot (so one per 300 ms) and in milliseconds for restore.
 */
export function adminCommands(
  settings: { readonly rateLimiterInterval: number } = { rateLimiterInterval: 300_000 },
): AdminCommand[] {
  const snapshotLimiter = new RateLimiter(settings.rateLimiterInterval / 1000);
  const restoreLimiter = new RateLimiter(settings.rateLimiterInterval);
  const get = (
    names: string[],
    run: AdminCommand['run'],
    options: { serverRequired?: boolean; authRequired?: boolean } = {},
  ): AdminCommand => ({
    names,
    method: 'GET',
    serverRequired: options.serverRequired ?? true,
    authRequired: options.authRequired ?? false,
    run,
  });
  return [
    get(['connection_stat_reset', 'crst'], (target) => {
      target.fourLetterWordActions.resetConnectionStats();
      return {};
    }),
    get(['configuration', 'conf', 'config'], (target) => {
      const { config } = target;
      const context = target.introspect();
      const clientPort = context.config.find(([key]) => key === 'clientPort')?.[1];
      return {
        data: {
          client_port: clientPort === undefined ? -1 : Number(clientPort),
          data_dir: config.dataDir,
          data_log_dir: config.dataLogDir,
          tick_time: config.tickTime,
          max_client_cnxns: config.maxClientCnxns,
          min_session_timeout: config.minSessionTimeout,
          max_session_timeout: config.maxSessionTimeout,
          server_id: config.servers.size === 0 ? 0 : context.serverId,
          client_port_listen_backlog: -1,
        },
      };
    }),
    get(['connections', 'cons'], (target) => ({ data: connections(target, false) })),
    get(['hash'], (target) => ({
      data: {
        digests: target
          .introspect()
          .digests()
          // zabkit's replica digest (FNV-1a over nodes and sessions), not ZooKeeper's
          // DigestCalculator: digest_version 0 says it is neither of ZooKeeper's versions.
          .map(({ zxid, digest }) => ({
            zxid: BigInt.asIntN(64, zxid),
            digest: BigInt(`0x${digest}`),
            digest_version: 0,
          })),
      },
    })),
    get(['dirs'], (target) => {
      const dirs = target.introspect().dirs();
      return { data: { datadir_size: dirs.dataDirBytes, logdir_size: dirs.logDirBytes } };
    }),
    get(['dump'], (target) => {
      const peer = target.driver.peer;
      const expiries = new Map<string, bigint[]>();
      for (const [atMs, ids] of peer.sessionExpiries())
        expiries.set(
          String(atMs),
          ids.map((id) => BigInt.asIntN(64, id)),
        );
      const ephemerals = new Map<string, readonly string[]>();
      for (const [owner, paths] of peer.sessionSummary().ephemeralsByOwner)
        ephemerals.set(String(BigInt.asIntN(64, owner)), paths);
      return { data: { expiry_time_to_session_ids: expiries, session_id_to_ephemeral_paths: ephemerals } };
    }),
    get(
      ['environment', 'env', 'envi'],
      (target) => ({ data: Object.fromEntries(target.introspect().environment) }),
      { serverRequired: false },
    ),
    get(['get_trace_mask', 'gtmk'], (target) => ({ data: { tracemask: target.traceMask } }), {
      serverRequired: false,
    }),
    get(['initial_configuration', 'icfg'], (target) => ({
      data: { initial_configuration: target.initialConfiguration ?? '' },
    })),
    get(['is_read_only', 'isro'], () => ({ data: { read_only: false } })),
    get(['last_snapshot', 'lsnp'], (target) => {
      const last = target.metrics.lastSnapshot;
      return {
        data: {
          zxid: last === undefined ? hex(-1n) : hex(last.zxid),
          timestamp: last === undefined ? -1 : Math.floor(last.timeMs / 1000),
        },
      };
    }),
    get(['leader', 'lead'], (target) => {
      const { config } = target;
      const status = target.driver.peer.status();
      if (config.servers.size === 0) return { error: 'server is not initialized' };
      const leader = status.leaderId === undefined ? undefined : config.servers.get(status.leaderId);
      return {
        data: {
          is_leader: status.role === 'leading' && status.serving,
          leader_id: status.leaderId ?? -1,
          leader_ip: leader?.host ?? '',
        },
      };
    }),
    get(
      ['monitor', 'mntr'],
      async (target) => {
        const context = target.introspect();
        const data: Record<string, unknown> = { version: context.version, server_state: context.mode };
        const peerState = target.peerState();
        if (peerState !== undefined) data.peer_state = peerState;
        // The configured provider's figures, as ZooKeeper's MonitorCommand dumps them.
        for (const [key, value] of await target.metrics.monitorValues()) data[key] = value;
        return { data };
      },
      { serverRequired: false },
    ),
    get(['observer_connection_stat_reset', 'orst'], () => ({})),
    {
      names: ['restore', 'rest'],
      method: 'POST',
      serverRequired: true,
      authRequired: true,
      // As 3.9's RestoreCommand: feature flag, body, rate limit, then the restore itself.
      run: async (target, request) => {
        if (!target.config.systemProperties.adminServer.restoreEnabled)
          return { status: 503, error: 'the restore command is disabled (admin.restore.enabled=false)' };
        if (request.body === undefined || request.body.length === 0)
          return { status: 400, error: 'restore needs a snapshot as the request body' };
        if (!restoreLimiter.allow()) {
          target.metrics.inc('restore_rate_limited_count');
          return { status: 429 };
        }
        const started = performance.now();
        try {
          const { lastZxid } = await target.restore(request.body);
          target.metrics.observe('restore_time', performance.now() - started);
          return { data: { last_zxid: BigInt.asIntN(64, lastZxid) } };
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          if (error instanceof RestoreRefusedError) return { status: 409, error: message };
          target.metrics.inc('restore_error_count');
          return { status: 500, error: message };
        }
      },
    },
    get(['ruok'], () => ({})),
    get(
      ['set_trace_mask', 'stmk'],
      (target, request) => {
        const text = request.args.get('traceMask');
        if (text === undefined) return { error: 'setTraceMask requires long traceMask argument' };
        if (!/^-?\d+$/.test(text) || BigInt(text) !== BigInt.asIntN(64, BigInt(text)))
          return { error: `setTraceMask requires long traceMask argument, got ${text}` };
        target.fourLetterWordActions.setTraceMask(BigInt(text));
        return { data: { tracemask: BigInt(text) } };
      },
      { serverRequired: false },
    ),
    get(
      ['snapshot', 'snap'],
      (target, request) => {
        if (!target.config.systemProperties.adminServer.snapshotEnabled)
          return { status: 503, error: 'the snapshot command is disabled (admin.snapshot.enabled=false)' };
        if (!snapshotLimiter.allow()) {
          target.metrics.inc('snapshot_rate_limited_count');
          return { status: 429 };
        }
        const streaming = (request.args.get('streaming') ?? 'true').toLowerCase() === 'true';
        try {
          const started = performance.now();
          const { zxid, bytes } = makeSnapshot(target);
          target.metrics.observe('snapshottime', performance.now() - started);
          const headers = {
            last_zxid: `0x${hex(zxid).padStart(16, '0')}`,
            snapshot_size: String(bytes.length),
          };
          return streaming ? { headers, stream: bytes } : { headers };
        } catch (error) {
          target.metrics.inc('snapshot_error_count');
          return { status: 500, error: error instanceof Error ? error.message : String(error) };
        }
      },
      { authRequired: true },
    ),
    get(['server_stats', 'srvr'], (target) => ({ data: serverStats(target) })),
    get(['stats', 'stat'], (target) => ({ data: { ...serverStats(target), ...connections(target, true) } })),
    get(['stat_reset', 'srst'], (target) => {
      target.fourLetterWordActions.resetServerStats();
      return {};
    }),
    get(['observers', 'obsr'], (target) => {
      const observers = target.driver.peer.learners().filter((l) => l.observer && l.synced);
      return {
        data: {
          synced_observers: observers.length,
          observers: observers.map((l) => ({
            remote_socket_address: address(
              target.config.servers.get(l.serverId)?.host ?? '',
              target.config.servers.get(l.serverId)?.quorumPort,
            ),
            sid: l.serverId,
            last_zxid: BigInt.asIntN(64, l.ackedZxid),
          })),
        },
      };
    }),
    // zabkit's own: each learner as the leader sees it, and how far a follower lags.
    get(['learners', 'lrnr'], (target) => ({
      data: {
        learners: target.driver.peer.learners().map((l) => ({
          sid: l.serverId,
          observer: l.observer,
          synced: l.synced,
          acked_zxid: BigInt.asIntN(64, l.ackedZxid),
          lag_txns: l.lagTxns,
          lag_bytes: l.lagBytes,
          oldest_unacknowledged_age_ms: l.oldestUnacknowledgedAgeMs,
        })),
      },
    })),
    get(
      ['system_properties', 'sysp'],
      () => {
        const user = userInfo();
        return {
          data: {
            'file.separator': '/',
            'line.separator': '\n',
            'node.version': process.version,
            'os.arch': process.arch,
            'os.name': process.platform,
            'path.separator': ':',
            'user.dir': process.cwd(),
            'user.home': user.homedir,
            'user.name': user.username,
            'host.name': hostname(),
          },
        };
      },
      { serverRequired: false },
    ),
    get(['voting_view'], (target) => {
      const view = new Map<string, unknown>();
      for (const server of target.config.servers.values()) {
        if (server.role !== 'participant') continue;
        view.set(String(server.id), {
          server_addresses: [address(server.host, server.quorumPort)],
          election_addresses: [address(server.host, server.electionPort)],
          client_address: address(server.clientAddress ?? '0.0.0.0', server.clientPort),
          learner_type: 'participant',
        });
      }
      return { data: { current_config: view } };
    }),
    get(['watches', 'wchc'], (target) => {
      const bySession = new Map<string, readonly string[]>();
      for (const [sessionId, paths] of target.driver.peer.dataWatchesBySession())
        bySession.set(String(BigInt.asIntN(64, sessionId)), paths);
      return { data: { session_id_to_watched_paths: bySession } };
    }),
    get(['watches_by_path', 'wchp'], (target) => {
      const byPath = new Map<string, bigint[]>();
      for (const [path, sessions] of watchersByPath(target.driver.peer.dataWatchesBySession()))
        byPath.set(
          path,
          sessions.map((id) => BigInt.asIntN(64, id)),
        );
      return { data: { path_to_session_ids: byPath } };
    }),
    get(['watch_summary', 'wchs'], (target) => {
      const { watchers, paths, watches } = target.introspect().watches;
      return { data: { num_connections: watchers, num_paths: paths, num_total_watches: watches } };
    }),
    get(
      ['zabstate'],
      (target) => {
        const { config } = target;
        if (config.servers.size === 0) return { data: { voting: false, zabstate: '' } };
        const peer = target.driver.peer;
        const status = peer.status();
        const self = config.servers.get(peer.serverId);
        const zxid = status.lastAppliedZxid;
        return {
          data: {
            myid: peer.serverId,
            is_leader: status.role === 'leading' && status.serving,
            quorum_address: self === undefined ? '' : address(self.host, self.quorumPort),
            election_address: self === undefined ? '' : address(self.host, self.electionPort),
            client_address:
              self === undefined ? '' : address(self.clientAddress ?? '0.0.0.0', self.clientPort),
            voting: self?.role === 'participant',
            last_zxid: `0x${hex(zxid).padStart(16, '0')}`,
            zab_epoch: Number(zxid >> 32n),
            zab_counter: Number(zxid & 0xffffffffn),
            zabstate:
              status.role === 'looking' ? 'election' : status.serving ? 'broadcast' : 'synchronization',
          },
        };
      },
      { serverRequired: false },
    ),
  ];
}

/**
 * The identities an `Authorization` header proves, as 3.9's handleAuthentication: `digest
 * user:password`, or `ip` (the caller's address). Undefined when it proves nothing.
 */
export function adminIdentities(
  header: string,
  remoteAddress: string,
  superDigest: string | undefined,
): Id[] | undefined {
  const parts = header.trim().split(' ');
  if (parts.length !== 1 && parts.length !== 2) return undefined;
  const [scheme, credentials] = parts as [string, string | undefined];
  if (scheme === 'ip') return [{ scheme: 'ip', id: remoteAddress.replace(/^::ffff:/, '') }];
  if (credentials === undefined) return undefined;
  const ids = authenticate(scheme, new TextEncoder().encode(credentials), superDigest);
  return ids === undefined || ids.length === 0 ? undefined : ids;
}

/** Whether `ids` hold every permission on `/`, each bit checked as 3.9's handleAuthorization does. */
export function mayAdminister(target: AdminTarget, ids: readonly Id[]): boolean {
  const root = target.driver.peer.znodeAt('/');
  if (root === undefined) return false;
  for (let bit = 1; bit <= Perms.All; bit <<= 1) {
    if ((Perms.All & bit) !== 0 && !checkAcl(root.acl, bit, ids)) return false;
  }
  return true;
}
