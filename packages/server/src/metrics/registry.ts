/**
 * A running server's metrics as a Prometheus registry (prom-client), under ZooKeeper's names,
 * types and labels (see zookeeper-metrics.ts). Gauges are read off the peer's status and narrow
 * views when scraped; counters and summaries are fed by what the driver and the client port
 * tell their observers (storage write times, role changes, messages, request latencies). The
 * core is never touched: everything here runs beside it.
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';
import {
  isWriteRequest,
  type PeerMessage,
  type PeerReady,
  type PeerRole,
  type StorageAction,
} from '@zabkit/core';
import { encodePeerMessage } from '@zabkit/transport-tcp';
import { Counter, collectDefaultMetrics, Gauge, Registry, Summary } from 'prom-client';
import type { ClientPortServer } from '../client-port.js';
import type { FatalListener } from '../fatal.js';
import type { PeerDriver } from '../peer-driver.js';
import { type ZooKeeperMetricKind, zookeeperMetrics } from './zookeeper-metrics.js';

/** What the metrics follow: a running server (a `ServerNode` is one). */
export interface MetricsSource {
  readonly driver: PeerDriver;
  readonly clientPort: ClientPortServer;
  onFatal(listener: FatalListener): () => void;
}

/** How {@link attachMetrics} builds the registry. */
export interface MetricsOptions {
  /**
   * Add Node's process metrics (CPU, memory, event loop lag, GC, handles), which take the
   * place of ZooKeeper's `metricsProvider.exportJvmInfo` JVM metrics. Default true, as there.
   */
  readonly exportProcessMetrics?: boolean;
  /** The registry to register into; default a new one. Embedders may pass their own. */
  readonly registry?: Registry;
}

/** ZooKeeper's summaries keep a 10-minute sliding window in 5 buckets; so do these. */
const summaryMaxAgeSeconds = 600;
const summaryAgeBuckets = 5;
/** Gauges sampled within this long of each other share one reading of the peer. */
const sampleReuseMs = 50;

/** The label ZooKeeper's labelled metrics (summary, counter and gauge sets) carry. */
const keyLabel = 'key';

/** What the gauges report, read off the running server in one go. */
type GaugeSample = Readonly<Record<string, number>>;

/**
 * A running server's metrics: the prom-client {@link Registry} to scrape or merge into an
 * embedder's own, kept up to date until {@link ServerMetrics.detach}.
 */
export class ServerMetrics {
  /** The registry holding every metric; `await registry.metrics()` is the exposition. */
  readonly registry: Registry;
  private readonly counters = new Map<string, Counter>();
  private readonly summaries = new Map<string, Summary>();
  private readonly detachers: (() => void)[] = [];
  private sample: GaugeSample | undefined;
  private sampledAtMs = 0;
  /** The peer's role and serving state at the last step, for transitions. */
  private role: PeerRole;
  private serving: boolean;
  /** When the peer entered its role, and when it last stopped serving (performance.now()). */
  private roleSinceMs: number;
  private unavailableSinceMs: number | undefined;
  private leaderSinceMs: number | undefined;
  private proposalSizes = { last: 0, min: 0, max: 0 };
  private readonly startedAtMs = Date.now();

  /** @internal Use {@link attachMetrics}. */
  constructor(
    private readonly node: MetricsSource,
    options: MetricsOptions = {},
  ) {
    this.registry = options.registry ?? new Registry();
    for (const [name, kind] of zookeeperMetrics) this.define(name, kind);
    this.summaries.set(
      'zabkit_request_latency_milliseconds',
      new Summary({
        name: 'zabkit_request_latency_milliseconds',
        help: 'Client request latency in ms, by operation (the key label)',
        labelNames: [keyLabel],
        percentiles: [0.5, 0.9, 0.99],
        maxAgeSeconds: summaryMaxAgeSeconds,
        ageBuckets: summaryAgeBuckets,
        registers: [this.registry],
      }),
    );
    if (options.exportProcessMetrics ?? true) collectDefaultMetrics({ register: this.registry });

    const status = node.driver.peer.status();
    this.role = status.role;
    this.serving = status.serving;
    this.roleSinceMs = performance.now();
    this.unavailableSinceMs = status.serving ? undefined : this.roleSinceMs;
    this.leaderSinceMs = status.role === 'leading' && status.serving ? Date.now() : undefined;
    this.observe('dbinittime', node.driver.loadTimeMs);
    this.observe('startup_snap_load_time', node.driver.loadTimeMs);
    this.detachers.push(
      node.driver.observe({
        stepped: (ready) => this.stepped(ready),
        stored: (actions, elapsedMs) => this.stored(actions, elapsedMs),
        received: (_from, message) => this.received(message),
      }),
      node.clientPort.onRequestServed((request, _reply, latencyMs) => {
        if (request.op === 'ping') return;
        this.observe(isWriteRequest(request) ? 'updatelatency' : 'readlatency', latencyMs);
        this.summaries.get('zabkit_request_latency_milliseconds')!.labels(request.op).observe(latencyMs);
      }),
      node.onFatal(() => this.inc('unrecoverable_error_count')),
    );
  }

  /** Adds `by` to one of ZooKeeper's counters. */
  inc(name: string, by = 1): void {
    this.counters.get(name)?.inc(by);
  }

  /** Records a value in one of ZooKeeper's summaries (milliseconds for times, as there). */
  observe(name: string, value: number): void {
    this.summaries.get(name)?.observe(value);
  }

  /** Stops following the server; the registry keeps its last values. */
  detach(): void {
    for (const detach of this.detachers.splice(0)) detach();
  }

  private define(name: string, kind: ZooKeeperMetricKind): void {
    // ZooKeeper's provider uses the name as the help text too.
    const common = { name, help: name, registers: [this.registry] };
    switch (kind) {
      case 'counter':
      case 'counterSet': {
        const labels = kind === 'counterSet' ? { labelNames: [keyLabel] } : {};
        const fromStats = counterFromStats[name];
        const metrics = this;
        let last = 0;
        const counter = new Counter({
          ...common,
          ...labels,
          ...(fromStats === undefined
            ? {}
            : {
                collect() {
                  // A counter the client port keeps: add what it counted since the last scrape.
                  const now = fromStats(metrics.node);
                  if (now > last) this.inc(now - last);
                  last = now;
                },
              }),
        });
        this.counters.set(name, counter);
        return;
      }
      case 'gauge':
      case 'gaugeSet': {
        const metrics = this;
        new Gauge({
          ...common,
          ...(kind === 'gaugeSet' ? { labelNames: [keyLabel] } : {}),
          collect() {
            // Quotas (the only gauge sets) are not enforced by zabkit: no namespace to report.
            if (kind === 'gaugeSet') return;
            this.set(metrics.gauges()[name] ?? 0);
          },
        });
        return;
      }
      default: {
        const advanced = kind === 'summaryAdvanced' || kind === 'summarySetAdvanced';
        const labelled = kind === 'summarySet' || kind === 'summarySetAdvanced';
        this.summaries.set(
          name,
          new Summary({
            ...common,
            ...(labelled ? { labelNames: [keyLabel] } : {}),
            percentiles: advanced ? [0.5, 0.9, 0.99] : [0.5],
            maxAgeSeconds: summaryMaxAgeSeconds,
            ageBuckets: summaryAgeBuckets,
          }),
        );
      }
    }
  }

  /** The gauges' values, read once per scrape. */
  private gauges(): GaugeSample {
    const nowMs = performance.now();
    if (this.sample !== undefined && nowMs - this.sampledAtMs < sampleReuseMs) return this.sample;
    this.sample = readGauges(this.node, this);
    this.sampledAtMs = nowMs;
    return this.sample;
  }

  /** @internal Values only the metrics follow: uptimes and proposal sizes. */
  tracked(): {
    uptimeMs: number;
    leaderUptimeMs: number;
    proposalSizes: { last: number; min: number; max: number };
  } {
    return {
      uptimeMs: Date.now() - this.startedAtMs,
      leaderUptimeMs: this.leaderSinceMs === undefined ? 0 : Date.now() - this.leaderSinceMs,
      proposalSizes: this.proposalSizes,
    };
  }

  private stored(actions: readonly StorageAction[], elapsedMs: number): void {
    let appended = false;
    let snapshot = false;
    for (const action of actions) {
      if (action.kind === 'append') appended = true;
      else if (action.kind === 'snapshot' || action.kind === 'reset' || action.kind === 'stageCommit')
        snapshot = true;
    }
    // A zabkit write is one batch made durable together: its time is ZooKeeper's fsync time.
    if (appended) this.observe('fsynctime', elapsedMs);
    if (snapshot) this.observe('snapshottime', elapsedMs);
  }

  private stepped(ready: PeerReady): void {
    this.countSent(ready.messages);
    this.countSent(ready.messagesAfterPersist);
    const status = this.node.driver.peer.status();
    const nowMs = performance.now();
    if (status.role !== this.role) {
      if (this.role === 'looking') this.observe('election_time', nowMs - this.roleSinceMs);
      if (status.role === 'looking') this.inc('looking_count');
      this.role = status.role;
      this.roleSinceMs = nowMs;
    }
    if (status.serving !== this.serving) {
      if (status.serving) {
        // A learner's sync ends when it serves; the whole gap is ZooKeeper's unavailable time.
        if (status.role === 'following') this.observe('follower_sync_time', nowMs - this.roleSinceMs);
        if (status.role === 'observing') this.observe('observer_sync_time', nowMs - this.roleSinceMs);
        if (this.unavailableSinceMs !== undefined)
          this.observe('unavailable_time', nowMs - this.unavailableSinceMs);
        this.unavailableSinceMs = undefined;
      } else {
        this.unavailableSinceMs = nowMs;
      }
      this.serving = status.serving;
    }
    const leading = status.role === 'leading' && status.serving;
    if (leading && this.leaderSinceMs === undefined) this.leaderSinceMs = Date.now();
    if (!leading) this.leaderSinceMs = undefined;
  }

  private countSent(envelopes: PeerReady['messages']): void {
    // One message goes to every learner as the same object: count it once.
    let previous: PeerMessage | undefined;
    for (const { message } of envelopes) {
      if (message === previous) continue;
      previous = message;
      switch (message.kind) {
        case 'proposal': {
          this.inc('proposal_count', message.txns.length);
          const size = encodePeerMessage(message).length;
          const sizes = this.proposalSizes;
          this.proposalSizes = {
            last: size,
            min: sizes.min === 0 ? size : Math.min(sizes.min, size),
            max: Math.max(sizes.max, size),
          };
          break;
        }
        case 'commit':
          this.inc('commit_count');
          break;
        case 'learnerSync':
          this.inc(message.mode === 'snap' ? 'snap_count' : 'diff_count');
          break;
      }
    }
  }

  private received(message: PeerMessage): void {
    if (message.kind === 'proposal') this.inc('learner_proposal_received_count');
    else if (message.kind === 'commit') this.inc('learner_commit_received_count');
  }
}

/** Counters the client port keeps itself, read at each scrape. */
const counterFromStats: Readonly<Record<string, (node: MetricsSource) => number>> = {
  bytes_received_count: (node) => node.clientPort.stats.bytesReceived,
  response_bytes: (node) => node.clientPort.stats.bytesSent,
  connection_request_count: (node) => node.clientPort.stats.connectionsOpened,
  connection_rejected: (node) => node.clientPort.stats.connectionsRefused,
  sessionless_connections_expired: (node) => node.clientPort.stats.connectionsSessionless,
  connection_drop_count: (node) => node.clientPort.stats.connectionsSlowConsumer,
};

function readGauges(node: MetricsSource, metrics: ServerMetrics): GaugeSample {
  const peer = node.driver.peer;
  const replica = peer.replicaStats();
  const stats = node.clientPort.stats;
  const connections = node.clientPort.connectionInfo();
  const learners = peer.learners();
  const tracked = metrics.tracked();
  const fds = fileDescriptors();
  return {
    avg_latency: stats.latencyCount === 0 ? 0 : stats.latencyTotalMs / stats.latencyCount,
    min_latency: stats.latencyCount === 0 ? 0 : stats.latencyMinMs,
    max_latency: stats.latencyMaxMs,
    packets_received: stats.packetsReceived,
    packets_sent: stats.packetsSent,
    num_alive_connections: connections.length,
    outstanding_requests: connections.reduce((sum, c) => sum + c.outstanding, 0),
    uptime: tracked.uptimeMs,
    znode_count: replica.nodeCount,
    watch_count: replica.watches.watches,
    ephemerals_count: replica.ephemeralCount,
    approximate_data_size: replica.approximateDataSize,
    global_sessions: peer.sessionSummary().sessions.size,
    local_sessions: 0,
    open_file_descriptor_count: fds.open,
    max_file_descriptor_count: fds.max,
    auth_failed_count: stats.authFailures,
    quorum_size: peer.options.voters.length,
    learners: learners.length,
    synced_followers: learners.filter((l) => l.synced && !l.observer).length,
    synced_observers: learners.filter((l) => l.synced && l.observer).length,
    leader_uptime: tracked.leaderUptimeMs,
    last_proposal_size: tracked.proposalSizes.last,
    min_proposal_size: tracked.proposalSizes.min,
    max_proposal_size: tracked.proposalSizes.max,
  };
}

/** Open and allowed file descriptors, as ZooKeeper reads them from the OS bean (Linux only). */
function fileDescriptors(): { open: number; max: number } {
  try {
    const open = readdirSync('/proc/self/fd').length;
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const max = /^Max open files\s+(\d+)/m.exec(limits)?.[1];
    return { open, max: max === undefined ? 0 : Number(max) };
  } catch {
    return { open: 0, max: 0 };
  }
}

/**
 * Builds the metrics of a running server and keeps them current: ZooKeeper's Prometheus
 * families, fed from the peer, its driver and its client port, plus Node's process metrics.
 * Scrape `metrics.registry` (or merge it into your own with prom-client's `Registry.merge`);
 * call `detach()` when done. A `ServerNode` is a source; `zabkit server` does this itself when `metricsProvider.className`
 * names ZooKeeper's Prometheus provider.
 */
export function attachMetrics(node: MetricsSource, options: MetricsOptions = {}): ServerMetrics {
  return new ServerMetrics(node, options);
}
