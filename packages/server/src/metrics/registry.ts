/**
 * A running server's metrics as a Prometheus registry (prom-client), under ZooKeeper's names,
 * types and labels (see zookeeper-metrics.ts). Gauges are read off the peer's status and narrow
 * views when scraped; counters and summaries are fed by what the driver and the client port
 * tell their observers (storage write times, role changes, messages, request latencies). The
 * core is never touched: everything here runs beside it.
 *
 * @module
 */
import { createRequire } from 'node:module';
import { peerMessageBytes } from '@zabkit/codec';
import {
  type ClientRequest,
  ErrorCode,
  EventType,
  type FollowerLagVisitor,
  isWriteRequest,
  type PeerMessage,
  type PeerReady,
  type PeerRole,
  type PeerStatus,
  type Reply,
  type StorageAction,
  type Txn,
} from '@zabkit/core';
import type { Counter, Gauge, Registry, Summary } from 'prom-client';
import type { PeerDriver } from '../peer-driver.js';
import { type GaugeSample, readGauges, readQuotaGauges, sumStats, type TrackedFigures } from './gauges.js';
import type { MetricsSource, ReplicaListener } from './source.js';
import { Tally } from './tally.js';
import { unmeasuredMetrics, type ZooKeeperMetricKind, zookeeperMetrics } from './zookeeper-metrics.js';
import { ZxidTimes } from './zxid-times.js';

/**
 * prom-client, loaded when a server first exports Prometheus metrics: loading it costs every
 * server start 40-70 ms of CPU, and a server without a metrics provider never uses it.
 */
let promLoaded: typeof import('prom-client') | undefined;
function promClient(): typeof import('prom-client') {
  promLoaded ??= createRequire(import.meta.url)('prom-client') as typeof import('prom-client');
  return promLoaded;
}

export type { MetricsSource, ReplicaListener } from './source.js';

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

/**
 * The top-level namespace of an absolute path (`/app/x` and `/app` are `app`), undefined for
 * `/`. Found without splitting the path: every applied write and served read asks.
 */
export function topLevelNamespace(path: string): string | undefined {
  const end = path.indexOf('/', 1);
  const namespace = end === -1 ? path.slice(1) : path.slice(1, end);
  return namespace === '' ? undefined : namespace;
}

/** '/', as a char code. */
const slashCode = 47;

/** The cxid of the transactions a server issues itself (a session expiry's close among them). */
const internalCxid = -1;

/** ZooKeeper's summaries keep a 10-minute sliding window in 5 buckets; so do these. */
const summaryMaxAgeSeconds = 600;
const summaryAgeBuckets = 5;
/** Gauges sampled within this long of each other share one reading of the peer. */
const sampleReuseMs = 50;

/** The label ZooKeeper's labelled metrics (summary, counter and gauge sets) carry. */
const keyLabel = 'key';

/** Proposals whose commit latencies are still to be measured, at most (the oldest are dropped). */
const pendingLatenciesMax = 10_000;

/** A summary's tally and its Prometheus summary, either absent when not kept. */
interface SummaryCell {
  readonly tally: Tally | undefined;
  readonly prom: Summary | undefined;
}

/** A labelled summary's tallies by key and its Prometheus summary. */
interface LabelledCell {
  readonly name: string;
  readonly set: { advanced: boolean; byKey: Map<string, Tally> } | undefined;
  readonly prom: Summary | undefined;
}

/** A counter's value since the last reset and its Prometheus counter. */
interface CounterCell {
  value: number;
  prom: Counter | undefined;
}

/** A counter nobody keeps: what `inc` of an unknown name counts into. */
const uncounted = (): CounterCell => ({ value: 0, prom: undefined });

/**
 * The figures a write records on its way through a server, each found once by name: looked up
 * by name per figure, the lookups were the hottest lines of the metrics.
 */
interface HotCells {
  readonly fsyncTime: SummaryCell;
  readonly queueTime: SummaryCell;
  readonly queueAndFlushTime: SummaryCell;
  readonly batchSize: SummaryCell;
  readonly queueFlushTime: SummaryCell;
  readonly proposalAckCreationLatency: SummaryCell;
  readonly propagationLatency: SummaryCell;
  readonly proposalLatency: SummaryCell;
  readonly commitPropagationLatency: SummaryCell;
  readonly quorumAckLatency: SummaryCell;
  readonly updateLatency: SummaryCell;
  readonly readLatency: SummaryCell;
  readonly proposalCount: CounterCell;
  readonly commitCount: CounterCell;
  readonly learnerProposalReceivedCount: CounterCell;
  readonly learnerCommitReceivedCount: CounterCell;
  readonly learnerQueueSize: LabelledCell;
  readonly learnerQueueTime: LabelledCell;
  readonly ackLatency: LabelledCell;
  readonly writePerNamespace: LabelledCell;
  readonly readPerNamespace: LabelledCell;
}

/**
 * One of `mntr`'s figures: its key, its value, and whether ZooKeeper prints it as a double
 * (`4.0`) rather than a whole number.
 */
export type MonitorValue = readonly [key: string, value: number, double: boolean];

/**
 * A running server's metrics: ZooKeeper's counters, gauges and summaries, kept current until
 * {@link ServerMetrics.detach}. Every server keeps one for `mntr` and the admin server's
 * `monitor` (ZooKeeper's default provider's figures, see tally.ts); with a Prometheus
 * `registry` (from {@link attachMetrics}, or `metricsProvider.className`) the same values also
 * go to prom-client, to scrape or merge into an embedder's own registry.
 */
export class ServerMetrics implements ReplicaListener {
  /** The Prometheus registry, when this instance exports to one; `await registry.metrics()`. */
  readonly registry: Registry | undefined;
  private readonly promCounters = new Map<string, Counter>();
  private readonly promSummaries = new Map<string, Summary>();
  /** The Prometheus gauges, registered only while ZooKeeper would have them (see gaugeShown). */
  private readonly promGauges = new Map<string, Gauge>();
  /**
   * Counter values since the last reset (mntr reports these; Prometheus's never go back), each
   * with its Prometheus counter: one lookup per count, as counts come several per write.
   */
  private readonly counterValues = new Map<string, CounterCell>();
  /**
   * Each summary's tally and Prometheus summary, found once by name and kept: a write records
   * a dozen figures, each of which would otherwise look its name up in two maps.
   */
  private readonly summaryCells = new Map<string, SummaryCell>();
  /** The same for the labelled summaries: the tallies by key and the Prometheus summary. */
  private readonly labelledCells = new Map<string, LabelledCell>();
  /** What every write records, found once (see HotCells). */
  private readonly hot: HotCells;
  /** The wall clock when the current step first applied a transaction (see applied). */
  private appliedAtMs: number | undefined;
  /** The top-level namespace last found (see namespaceOf). */
  private lastNamespace: string | undefined;
  /** Learner ids as the labelled summaries' keys, made once per learner. */
  private readonly learnerKeys = new Map<number, string>();
  /** The counter sets' values by key since the last reset (quota_exceeded_error_per_namespace). */
  private readonly keyedCounterValues = new Map<string, Map<string, number>>();
  /**
   * Learner syncs this leader is streaming, by ZooKeeper's throttlers (a TRUNC is a DIFF's),
   * for inflight_snap_count and inflight_diff_count.
   */
  private syncsInFlight = { snap: 0, diff: 0 };
  /**
   * On a leader, the zxids it answered learners' syncs with and has not committed yet: the
   * syncs ZooKeeper's leader would still hold (pending_syncs), grouped by that zxid as its
   * pendingSyncs map keys them. Pruned at every step by the commit; bounded by the proposals
   * in flight (and by pendingLatenciesMax besides).
   */
  private readonly syncsAwaitingCommit = new Set<bigint>();
  /**
   * When each transaction to log was prepared (performance.now()), by zxid, until its write is
   * durable: the wait before and in the write that ZooKeeper's SyncRequestProcessor times.
   * At most pendingLatenciesMax (the oldest are dropped).
   */
  private readonly toLogSinceMs = new ZxidTimes(pendingLatenciesMax);
  /**
   * The sizes of the replies and watch events written to clients, as ZooKeeper's BufferStats
   * keeps them for last/min/max_client_response_size: -1 before any (and after srst).
   */
  private responseSizes = { last: -1, min: -1, max: -1 };
  /** The client port's counts at the last reset, for the counters read off it. */
  private statsBaseline = new Map<string, number>();
  private readonly tallies = new Map<string, Tally>();
  private readonly labelledTallies = new Map<string, { advanced: boolean; byKey: Map<string, Tally> }>();
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
  /**
   * Proposal times (their transactions' wall-clock times, as ZooKeeper's logLatency reads
   * them) by zxid: on a leader until committed, on a learner until the commit arrives.
   */
  private readonly proposedAtMs = new ZxidTimes(pendingLatenciesMax);
  /** Whether mntr reports the Prometheus registry's samples (metricsProvider.className asked for it). */
  private readonly mntrFromRegistry: boolean;
  /** The last snapshot this server made durable (last_snapshot), since it started. */
  lastSnapshot: { readonly zxid: bigint; readonly timeMs: number } | undefined;

  /** @internal Use {@link attachMetrics}. */
  constructor(
    private readonly node: MetricsSource,
    options: MetricsOptions & { readonly prometheus?: boolean; readonly mntrFromRegistry?: boolean } = {},
  ) {
    this.registry =
      (options.prometheus ?? true) ? (options.registry ?? new (promClient().Registry)()) : undefined;
    this.mntrFromRegistry = this.registry !== undefined && (options.mntrFromRegistry ?? false);
    for (const [name, kind] of zookeeperMetrics) if (!unmeasuredMetrics.has(name)) this.define(name, kind);
    if (this.registry !== undefined) {
      // zabkit's own family, so in Prometheus's base unit (ZooKeeper's keep their ms).
      this.promSummaries.set(
        'zabkit_request_latency_seconds',
        new (promClient().Summary)({
          name: 'zabkit_request_latency_seconds',
          help: 'Client request latency in seconds, by operation (the key label)',
          labelNames: [keyLabel],
          percentiles: [0.5, 0.9, 0.99],
          maxAgeSeconds: summaryMaxAgeSeconds,
          ageBuckets: summaryAgeBuckets,
          registers: [this.registry],
        }),
      );
      if (options.exportProcessMetrics ?? true)
        promClient().collectDefaultMetrics({ register: this.registry });
    }

    // The gauges register and unregister with the role: a name taken now would fail later.
    for (const name of this.promGauges.keys())
      if (this.registry?.getSingleMetric(name) !== undefined)
        throw new Error(`A metric with the name ${name} has already been registered.`);
    this.hot = {
      fsyncTime: this.summaryCell('fsynctime'),
      queueTime: this.summaryCell('sync_processor_queue_time_ms'),
      queueAndFlushTime: this.summaryCell('sync_processor_queue_and_flush_time_ms'),
      batchSize: this.summaryCell('sync_processor_batch_size'),
      queueFlushTime: this.summaryCell('sync_processor_queue_flush_time_ms'),
      proposalAckCreationLatency: this.summaryCell('proposal_ack_creation_latency'),
      propagationLatency: this.summaryCell('propagation_latency'),
      proposalLatency: this.summaryCell('proposal_latency'),
      commitPropagationLatency: this.summaryCell('commit_propagation_latency'),
      quorumAckLatency: this.summaryCell('quorum_ack_latency'),
      updateLatency: this.summaryCell('updatelatency'),
      readLatency: this.summaryCell('readlatency'),
      proposalCount: this.counterValues.get('proposal_count') ?? uncounted(),
      commitCount: this.counterValues.get('commit_count') ?? uncounted(),
      learnerProposalReceivedCount: this.counterValues.get('learner_proposal_received_count') ?? uncounted(),
      learnerCommitReceivedCount: this.counterValues.get('learner_commit_received_count') ?? uncounted(),
      learnerQueueSize: this.labelledCell('learner_handler_qp_size'),
      learnerQueueTime: this.labelledCell('learner_handler_qp_time_ms'),
      ackLatency: this.labelledCell('ack_latency'),
      writePerNamespace: this.labelledCell('write_per_namespace'),
      readPerNamespace: this.labelledCell('read_per_namespace'),
    };
    const status = node.driver.peer.status();
    this.registerShownGauges(status.role);
    this.role = status.role;
    this.serving = status.serving;
    this.roleSinceMs = performance.now();
    this.unavailableSinceMs = status.serving ? undefined : this.roleSinceMs;
    this.leaderSinceMs = status.role === 'leading' && status.serving ? Date.now() : undefined;
    this.observe('dbinittime', node.driver.loadTimeMs);
    this.observe('startup_snap_load_time', node.driver.loadTimeMs);
    this.observe('startup_txns_loaded', node.driver.loadedLogTxns);
    const byOp = this.promSummaries.get('zabkit_request_latency_seconds');
    this.followDriver();
    if (node.onReplica !== undefined) this.detachers.push(node.onReplica(this));
    // ZooKeeper's JVM pause monitor's figures, from Node's process.
    if (node.onPause !== undefined)
      this.detachers.push(node.onPause((extraMs) => this.observe('jvm_pause_time_ms', extraMs)));
    this.detachers.push(
      ...node.clientListeners().map((listener) =>
        listener.onRequestServed((request, reply, latencyMs) => {
          // ZooKeeper's throttled_ops: requests answered ZTHROTTLEDOP instead of being served.
          if (!reply.ok && reply.code === ErrorCode.ThrottledOp) this.inc('throttled_ops');
          if (request.op === 'ping') return;
          this.read(request, reply);
          this.record(isWriteRequest(request) ? this.hot.updateLatency : this.hot.readLatency, latencyMs);
          byOp?.labels(request.op).observe(latencyMs / 1000);
        }),
      ),
      ...node
        .clientListeners()
        .map((listener) =>
          listener.onResponseWritten((bytes, notification) => this.responseWritten(bytes, notification)),
        ),
    );
  }

  /** What the driver tells: steps, storage writes, peer messages, a fatal stop. */
  private driverDetachers: (() => void)[] = [];
  /** The peer followed now, and the change records counted by those a restore replaced. */
  private followedPeer: PeerDriver['peer'] | undefined;
  private readonly carriedChangeRecords = { queued: 0, removed: 0 };
  private carriedStaleReplies = 0;

  /** @internal Stale replies over this server's life, across the peers a restore replaced. */
  staleReplies(): number {
    return this.carriedStaleReplies + this.node.driver.peer.staleReplies();
  }

  /**
   * @internal The change records counted over this server's life: a restore starts a new
   * peer, whose counts start at 0, and these go on from the old one's, as counters must.
   */
  changeRecordCounts(): { queued: number; removed: number } {
    const current = this.node.driver.peer.changeRecordCounts();
    return {
      queued: this.carriedChangeRecords.queued + current.queued,
      removed: this.carriedChangeRecords.removed + current.removed,
    };
  }

  private followDriver(): void {
    const driver = this.node.driver;
    const previous = this.followedPeer;
    if (previous !== undefined && previous !== driver.peer) {
      const counts = previous.changeRecordCounts();
      this.carriedChangeRecords.queued += counts.queued;
      this.carriedChangeRecords.removed += counts.removed;
      this.carriedStaleReplies += previous.staleReplies();
    }
    this.followedPeer = driver.peer;
    this.driverDetachers = [
      driver.observe({
        stepped: (ready, status) => this.stepped(ready, status),
        stored: (actions, elapsedMs) => this.stored(actions, elapsedMs),
        received: (from, message) => this.received(from, message),
      }),
      driver.onFatal(() => this.inc('unrecoverable_error_count')),
    ];
  }

  /**
   * Follows the node's driver again after a restore replaced it: counters and summaries go
   * on, the role is read afresh.
   */
  reattach(): void {
    for (const detach of this.driverDetachers.splice(0)) detach();
    this.followDriver();
    const status = this.node.driver.peer.status();
    this.role = status.role;
    this.serving = status.serving;
    this.roleSinceMs = performance.now();
    this.unavailableSinceMs = status.serving ? undefined : this.roleSinceMs;
    this.proposedAtMs.clear();
    this.syncsInFlight = { snap: 0, diff: 0 };
    this.syncsAwaitingCommit.clear();
    this.toLogSinceMs.clear();
    this.registerShownGauges(status.role);
    this.observe('dbinittime', this.node.driver.loadTimeMs);
  }

  /** Adds `by` to one of ZooKeeper's counters. */
  inc(name: string, by = 1): void {
    const counter = this.counterValues.get(name);
    if (counter !== undefined) this.count(counter, by);
  }

  private count(counter: CounterCell, by = 1): void {
    counter.value += by;
    counter.prom?.inc(by);
  }

  /** Adds `by` under `key` to one of ZooKeeper's counter sets. */
  incKeyed(name: string, key: string, by = 1): void {
    const values = this.keyedCounterValues.get(name);
    if (values === undefined) return;
    values.set(key, (values.get(key) ?? 0) + by);
    this.promCounters.get(name)?.labels(key).inc(by);
  }

  /**
   * A write the leader refused with QuotaExceeded (a hard quota, enforced): counted under the
   * written path's top-level namespace, as ZooKeeper's checkQuota does.
   */
  quotaRefused(path: string): void {
    const namespace = topLevelNamespace(path);
    if (namespace !== undefined) this.incKeyed('quota_exceeded_error_per_namespace', namespace);
  }

  /**
   * A watch trigger reached `watchers` watchers: ZooKeeper's WatchManager records one figure
   * per trigger, by event type (a deletion fires the data and the child table apart).
   */
  watchesTriggered(type: number, watchers: number): void {
    const summary = watchTriggerSummaries.get(type);
    if (summary !== undefined) this.observe(summary, watchers);
  }

  /** Records a value in one of ZooKeeper's summaries (milliseconds for times, as there). */
  observe(name: string, value: number): void {
    this.record(this.summaryCell(name), value);
  }

  /** A summary's cell, by name. */
  private summaryCell(name: string): SummaryCell {
    let cell = this.summaryCells.get(name);
    if (cell === undefined) {
      // Every summary is defined in the constructor: a name found once stays found.
      cell = { tally: this.tallies.get(name), prom: this.promSummaries.get(name) };
      this.summaryCells.set(name, cell);
    }
    return cell;
  }

  private record(cell: SummaryCell, value: number): void {
    cell.tally?.add(value);
    cell.prom?.observe(value);
  }

  /**
   * Records the time since a transaction's wall-clock time (the leader's, when it made it) in
   * a summary. Clocks of different hosts may disagree: a negative figure is dropped, as
   * ZooKeeper's Request.logLatency drops it.
   */
  private observeSince(cell: SummaryCell, timeMs: number, nowMs = Date.now()): void {
    const latencyMs = nowMs - timeMs;
    if (latencyMs >= 0) this.record(cell, latencyMs);
  }

  /** Records a value under `key` in one of ZooKeeper's labelled summaries. */
  observeKeyed(name: string, key: string, value: number): void {
    this.recordKeyed(this.labelledCell(name), key, value);
  }

  /** A labelled summary's cell, by name. */
  private labelledCell(name: string): LabelledCell {
    let cell = this.labelledCells.get(name);
    if (cell === undefined) {
      cell = { name, set: this.labelledTallies.get(name), prom: this.promSummaries.get(name) };
      this.labelledCells.set(name, cell);
    }
    return cell;
  }

  private recordKeyed(cell: LabelledCell, key: string, value: number): void {
    const set = cell.set;
    if (set === undefined) return;
    let tally = set.byKey.get(key);
    if (tally === undefined) {
      tally = new Tally(`${key}_${cell.name}`, set.advanced);
      set.byKey.set(key, tally);
    }
    tally.add(value);
    cell.prom?.labels(key).observe(value);
  }

  /** A learner's id as a labelled summary's key. */
  private learnerKey(serverId: number): string {
    let key = this.learnerKeys.get(serverId);
    if (key === undefined) {
      key = String(serverId);
      this.learnerKeys.set(serverId, key);
    }
    return key;
  }

  /**
   * ZooKeeper's `mntr` figures after `version` and `server_state`, as its default provider
   * dumps them: gauges (the leader's only on a leader, quorum_size only in an ensemble),
   * counters, then each summary's avg_, min_, max_, cnt_, sum_ (and percentiles).
   */
  dump(): [string, number][] {
    const gauges = this.gauges();
    const role = this.node.driver.peer.status().role;
    const pairs: [string, number][] = [];
    for (const [name, kind] of zookeeperMetrics) {
      if (kind !== 'gauge' || unmeasuredMetrics.has(name) || !this.gaugeShown(name, role)) continue;
      pairs.push([name, gauges[name] ?? 0]);
    }
    for (const [name, values] of this.gaugeSets())
      if (!unmeasuredMetrics.has(name))
        for (const [key, value] of values) pairs.push([`${key}_${name}`, value]);
    for (const [name, { value }] of this.counterValues) pairs.push([name, value + this.statsCounter(name)]);
    for (const [name, values] of this.keyedCounterValues)
      for (const [key, value] of values) pairs.push([`${key}_${name}`, value]);
    for (const tally of this.tallies.values()) pairs.push(...tally.values());
    for (const set of this.labelledTallies.values())
      for (const tally of set.byKey.values()) pairs.push(...tally.values());
    return pairs;
  }

  /**
   * What `mntr` and the admin server's `monitor` print after version, server_state and
   * peer_state, as ZooKeeper's configured provider dumps it: the default provider's figures
   * ({@link ServerMetrics.dump}), or, when `metricsProvider.className` names the Prometheus
   * provider, every sample of the registry under `name{label="value",...}`, as doubles (the
   * process metrics included, as ZooKeeper's JVM metrics are).
   */
  async monitorValues(): Promise<readonly MonitorValue[]> {
    if (!this.mntrFromRegistry || this.registry === undefined)
      return this.dump().map(([key, value]) => [key, value, reportedAsDouble(key)] as const);
    const values: MonitorValue[] = [];
    for (const family of await this.registry.getMetricsAsJSON()) {
      const samples = family.values as readonly {
        readonly value: number;
        readonly labels: Readonly<Record<string, string | number>>;
        readonly metricName?: string;
      }[];
      // The label pairs as ZooKeeper's buildKeyForDump writes them: the metric's own labels,
      // then the quantile (or bucket bound) the Java client appends.
      const labelsOf = (labels: Readonly<Record<string, string | number>>, withQuantile: boolean) =>
        Object.entries(labels)
          .filter(([label]) => withQuantile || label !== 'quantile')
          .sort(([a], [b]) => Number(a === 'quantile' || a === 'le') - Number(b === 'quantile' || b === 'le'))
          .map(([label, value]) => `${label}="${value}"`)
          .join(',');
      // A summary with nothing in its window has NaN quantiles there, not prom-client's 0.
      const counts = new Map<string, number>();
      for (const sample of samples)
        if (sample.metricName === `${family.name}_count`)
          counts.set(labelsOf(sample.labels, false), sample.value);
      for (const sample of samples) {
        const labels = labelsOf(sample.labels, true);
        const name = sample.metricName ?? family.name;
        const empty = 'quantile' in sample.labels && counts.get(labelsOf(sample.labels, false)) === 0;
        values.push([labels === '' ? name : `${name}{${labels}}`, empty ? Number.NaN : sample.value, true]);
      }
    }
    return values;
  }

  /** `srst` and `stat_reset`: summaries and counters start again (Prometheus's do not). */
  reset(): void {
    for (const tally of this.tallies.values()) tally.reset();
    for (const set of this.labelledTallies.values()) set.byKey.clear();
    for (const counter of this.counterValues.values()) counter.value = 0;
    for (const values of this.keyedCounterValues.values()) values.clear();
    this.responseSizes = { last: -1, min: -1, max: -1 };
    this.statsBaseline = new Map(
      Object.entries(counterFromStats).map(([name, read]) => [name, read(this.node, this)] as const),
    );
    this.proposalSizes = { last: 0, min: 0, max: 0 };
  }

  /** Stops following the server; the registry keeps its last values. */
  detach(): void {
    for (const detach of this.detachers.splice(0)) detach();
    for (const detach of this.driverDetachers.splice(0)) detach();
  }

  /**
   * Whether ZooKeeper has the gauge now: the leader's (learners, synced_followers, ...) only
   * while this server leads an ensemble, quorum_size only in an ensemble. A follower's
   * `synced_followers` is absent there, not 0, and so it is here.
   */
  private gaugeShown(name: string, role: PeerRole): boolean {
    const standalone = this.standalone();
    if (leaderGauges.has(name)) return role === 'leading' && !standalone;
    if (name === 'quorum_size') return !standalone;
    return true;
  }

  /** A server started alone (ZooKeeper's standalone mode: no quorum, no learners). */
  private standalone(): boolean {
    const { voters, observers } = this.node.driver.peer.options;
    return voters.length === 1 && observers.length === 0;
  }

  /** Registers the Prometheus gauges ZooKeeper would have now and removes the others. */
  private registerShownGauges(role: PeerRole): void {
    const registry = this.registry;
    if (registry === undefined) return;
    for (const [name, gauge] of this.promGauges) {
      const shown = this.gaugeShown(name, role);
      // By identity: an embedder's registry may hold a metric of its own under the name.
      const registered = registry.getSingleMetric(name) === gauge;
      if (shown && !registered) registry.registerMetric(gauge);
      else if (!shown && registered) registry.removeSingleMetric(name);
    }
  }

  /** A counter the client port keeps, since the last reset; 0 for the others. */
  private statsCounter(name: string): number {
    const read = counterFromStats[name];
    return read === undefined ? 0 : read(this.node, this) - (this.statsBaseline.get(name) ?? 0);
  }

  private define(name: string, kind: ZooKeeperMetricKind): void {
    const advanced = kind === 'summaryAdvanced' || kind === 'summarySetAdvanced';
    if (kind === 'counter') this.counterValues.set(name, { value: 0, prom: undefined });
    if (kind === 'counterSet') this.keyedCounterValues.set(name, new Map());
    if (kind === 'summary' || kind === 'summaryAdvanced') this.tallies.set(name, new Tally(name, advanced));
    if (kind === 'summarySet' || kind === 'summarySetAdvanced')
      this.labelledTallies.set(name, { advanced, byKey: new Map() });
    if (this.registry === undefined) return;
    // ZooKeeper's provider uses the name as the help text too.
    const common = { name, help: name, registers: [this.registry] };
    switch (kind) {
      case 'counter':
      case 'counterSet': {
        const labels = kind === 'counterSet' ? { labelNames: [keyLabel] } : {};
        const fromStats = counterFromStats[name];
        const metrics = this;
        let last = 0;
        const counter = new (promClient().Counter)({
          ...common,
          ...labels,
          ...(fromStats === undefined
            ? {}
            : {
                collect() {
                  // A counter the client port keeps: add what it counted since the last scrape.
                  const now = fromStats(metrics.node, metrics);
                  if (now > last) this.inc(now - last);
                  last = now;
                },
              }),
        });
        this.promCounters.set(name, counter);
        const cell = this.counterValues.get(name);
        if (cell !== undefined) cell.prom = counter;
        return;
      }
      case 'gaugeSet': {
        const metrics = this;
        new (promClient().Gauge)({
          ...common,
          labelNames: [keyLabel],
          collect() {
            // Namespaces come and go with their quotas: only those there now are reported.
            this.reset();
            for (const [key, value] of metrics.gaugeSets().get(name) ?? []) this.labels(key).set(value);
          },
        });
        return;
      }
      case 'gauge': {
        const metrics = this;
        this.promGauges.set(
          name,
          new (promClient().Gauge)({
            ...common,
            // Registered by registerShownGauges, while ZooKeeper would have it.
            registers: [],
            collect() {
              this.set(metrics.gauges()[name] ?? 0);
            },
          }),
        );
        return;
      }
      default: {
        const labelled = kind === 'summarySet' || kind === 'summarySetAdvanced';
        this.promSummaries.set(
          name,
          new (promClient().Summary)({
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

  /** The quota gauge sets by namespace, read once per scrape as the gauges are. */
  private gaugeSets(): ReadonlyMap<string, ReadonlyMap<string, number>> {
    const nowMs = performance.now();
    if (this.quotaSample !== undefined && nowMs - this.quotaSampledAtMs < sampleReuseMs)
      return this.quotaSample;
    this.quotaSample = readQuotaGauges(this.node.driver.peer.quotaLeaves());
    this.quotaSampledAtMs = nowMs;
    return this.quotaSample;
  }

  private quotaSample: ReadonlyMap<string, ReadonlyMap<string, number>> | undefined;
  private quotaSampledAtMs = 0;

  /** The gauges' values, read once per scrape. */
  private gauges(): GaugeSample {
    const nowMs = performance.now();
    if (this.sample !== undefined && nowMs - this.sampledAtMs < sampleReuseMs) return this.sample;
    this.sample = readGauges(this.node, this.tracked());
    this.sampledAtMs = nowMs;
    return this.sample;
  }

  /** @internal Values only the metrics follow: uptimes, pending syncs and proposal sizes. */
  tracked(): TrackedFigures {
    return {
      uptimeMs: Date.now() - this.startedAtMs,
      leaderUptimeMs: this.leaderSinceMs === undefined ? 0 : Date.now() - this.leaderSinceMs,
      pendingSyncs: this.syncsAwaitingCommit.size,
      proposalSizes: this.proposalSizes,
      responseSizes: this.responseSizes,
    };
  }

  /** A reply or watch event went to a client: its size, and for an event watch_bytes. */
  private responseWritten(bytes: number, notification: boolean): void {
    // In place: every reply passes here, and the gauges copy the figures out when read.
    const sizes = this.responseSizes;
    sizes.last = bytes;
    if (sizes.min === -1 || bytes < sizes.min) sizes.min = bytes;
    if (bytes > sizes.max) sizes.max = bytes;
    if (notification) this.inc('watch_bytes', bytes);
  }

  /**
   * The learners' syncs this leader answered with a zxid it has not committed (ZooKeeper's
   * leader holds such a sync until that zxid commits; zabkit's answers at once and its learner
   * waits), until the commit: pending_syncs. A zxid already committed was a sync answered at once.
   */
  private followLearnerSyncs(ready: PeerReady, status: PeerStatus): void {
    if (status.role !== 'leading') return;
    const committed = status.lastCommittedZxid;
    // Every step of a leader passes here: little to do without a sync.
    for (const { message } of ready.messages)
      if (message.kind === 'clientSyncReply' && message.zxid > committed)
        this.syncsAwaitingCommit.add(message.zxid);
    for (const { message } of ready.messagesAfterPersist)
      if (message.kind === 'clientSyncReply' && message.zxid > committed)
        this.syncsAwaitingCommit.add(message.zxid);
    if (this.syncsAwaitingCommit.size === 0) return;
    for (const zxid of this.syncsAwaitingCommit) if (zxid <= committed) this.syncsAwaitingCommit.delete(zxid);
    if (this.syncsAwaitingCommit.size > pendingLatenciesMax) {
      const oldest = this.syncsAwaitingCommit.values().next().value;
      if (oldest !== undefined) this.syncsAwaitingCommit.delete(oldest);
    }
  }

  /**
   * The learner syncs this leader streams, as ZooKeeper's sync throttlers count them: how many
   * are in flight as one starts (itself included) and as one ends (acknowledged NEWLEADER).
   */
  private followSyncs(ready: PeerReady): void {
    for (const event of ready.events) {
      if (event.kind !== 'syncStarted' && event.kind !== 'syncFinished' && event.kind !== 'syncFailed')
        continue;
      if (event.side !== 'leader') continue;
      const kind = event.mode === 'snap' ? 'snap' : 'diff';
      const summary = kind === 'snap' ? 'inflight_snap_count' : 'inflight_diff_count';
      if (event.kind === 'syncStarted') {
        this.syncsInFlight[kind]++;
        this.observe(summary, this.syncsInFlight[kind]);
      } else {
        this.syncsInFlight[kind] = Math.max(0, this.syncsInFlight[kind] - 1);
        // ZooKeeper ends a failed sync without a figure (its learner handler shuts down).
        if (event.kind === 'syncFinished') this.observe(summary, this.syncsInFlight[kind]);
      }
    }
  }

  /** Notes when the transactions a step logs were prepared: they now wait for a write. */
  private queuedToLog(ready: PeerReady): void {
    // The clock is read only for a step that logs: most persist nothing.
    let nowMs: number | undefined;
    for (const action of ready.persist) {
      if (action.kind !== 'append') continue;
      nowMs ??= performance.now();
      for (const txn of action.txns) this.toLogSinceMs.push(txn.zxid, nowMs);
    }
  }

  /**
   * A write made transactions durable: as ZooKeeper's SyncRequestProcessor flushes a batch,
   * its size (sync_processor_batch_size) and time (sync_processor_queue_flush_time_ms), and
   * for each transaction the wait before the write started (sync_processor_queue_time_ms)
   * and until it was durable (sync_processor_queue_and_flush_time_ms).
   */
  private loggedBatch(actions: readonly StorageAction[], elapsedMs: number): void {
    const nowMs = performance.now();
    const startedMs = nowMs - elapsedMs;
    let batch = 0;
    for (const action of actions) {
      if (action.kind !== 'append') continue;
      batch += action.txns.length;
      for (const txn of action.txns) {
        // Logged in zxid order: older ones still queued were dropped from their write.
        const sinceMs = this.toLogSinceMs.take(txn.zxid);
        if (sinceMs === undefined) continue;
        // Noted as its step ended, a hair after the write may have started: never below 0.
        this.record(this.hot.queueTime, Math.max(0, startedMs - sinceMs));
        this.record(this.hot.queueAndFlushTime, nowMs - sinceMs);
      }
    }
    if (batch === 0) return;
    this.record(this.hot.batchSize, batch);
    this.record(this.hot.queueFlushTime, elapsedMs);
  }

  private stored(actions: readonly StorageAction[], elapsedMs: number): void {
    let appended = false;
    let snapshot = false;
    // What this server proposes it logs while it leads: a session's close with no client
    // request behind it (cxid -1) is its session tracker expiring it, ZooKeeper's stale_sessions_expired.
    // The role and serving state as the last step left them, which are the peer's now: only a
    // step changes them, and stepped hears every step. Reading the peer's whole status here
    // would cost every write a status object.
    const leading = this.role === 'leading';
    // A voter's durable proposals are what it acknowledges (the leader to itself): ZooKeeper's
    // Ack and SendAck processors time each from its transaction's time. Not standalone, where
    // ZooKeeper has no ack stage, nor on an observer, which acks nothing.
    const acking = (leading || this.role === 'following') && this.serving && !this.standalone();
    let wallMs: number | undefined;
    for (const action of actions) {
      if (action.kind === 'append') {
        appended = true;
        if (acking) {
          // One reading for the write's transactions: they became durable together.
          wallMs ??= Date.now();
          for (const txn of action.txns)
            this.observeSince(this.hot.proposalAckCreationLatency, txn.timeMs, wallMs);
        }
        if (leading)
          for (const txn of action.txns)
            if (txn.body.kind === 'closeSession' && txn.cxid === internalCxid)
              this.inc('stale_sessions_expired');
      } else if (action.kind === 'snapshot' || action.kind === 'reset') {
        snapshot = true;
        this.lastSnapshot = { zxid: action.snapshot.zxid, timeMs: Date.now() };
      } else if (action.kind === 'stageCommit') {
        snapshot = true;
        this.lastSnapshot = { zxid: action.zxid, timeMs: Date.now() };
      }
    }
    // A zabkit write is one batch made durable together: its time is ZooKeeper's fsync time.
    if (appended) this.record(this.hot.fsyncTime, elapsedMs);
    this.loggedBatch(actions, elapsedMs);
    if (snapshot) this.observe('snapshottime', elapsedMs);
  }

  private stepped(ready: PeerReady, status: PeerStatus): void {
    // The next step's applies read the clock afresh.
    this.appliedAtMs = undefined;
    // Most steps log, send and tell nothing (a tick, a durability report, an ack short of a
    // quorum), in the same role: then only the leader's uptime may change.
    if (
      ready.persist.length === 0 &&
      ready.messages.length === 0 &&
      ready.messagesAfterPersist.length === 0 &&
      ready.events.length === 0 &&
      status.role === this.role &&
      status.serving === this.serving &&
      // A commit without a message (a leader alone) may end a pending sync's wait.
      this.syncsAwaitingCommit.size === 0
    ) {
      this.followLeaderUptime(status);
      return;
    }
    this.queuedToLog(ready);
    const proposed = this.countSent(ready.messages);
    this.countSent(ready.messagesAfterPersist);
    if (proposed) this.observeLag();
    this.followSyncs(ready);
    // Most steps are one of many in a role: only a change of role or of serving is timed.
    if (status.role !== this.role || status.serving !== this.serving) this.roleChanged(status);
    // After a change of role: a new leader's syncs are its own.
    this.followLearnerSyncs(ready, status);
    this.followLeaderUptime(status);
  }

  /** When this server began leading and serving (leader_uptime), or undefined. */
  private followLeaderUptime(status: PeerStatus): void {
    const leading = status.role === 'leading' && status.serving;
    if (leading && this.leaderSinceMs === undefined) this.leaderSinceMs = Date.now();
    if (!leading) this.leaderSinceMs = undefined;
  }

  /** The peer took another role, or began or stopped serving: the times that ends. */
  private roleChanged(status: PeerStatus): void {
    const nowMs = performance.now();
    if (status.role !== this.role) {
      if (this.role === 'looking') this.observe('election_time', nowMs - this.roleSinceMs);
      if (status.role === 'looking') this.inc('looking_count');
      this.role = status.role;
      this.roleSinceMs = nowMs;
      // A new role's proposals and syncs are its own: forget the old ones'.
      this.proposedAtMs.clear();
      this.syncsInFlight = { snap: 0, diff: 0 };
      this.syncsAwaitingCommit.clear();
      this.registerShownGauges(status.role);
    }
    if (status.serving !== this.serving) {
      if (status.serving) {
        // A learner's sync ends when it serves; the whole gap is ZooKeeper's unavailable time.
        if (status.role === 'following') this.observe('follower_sync_time', nowMs - this.roleSinceMs);
        if (status.role === 'observing') this.observe('observer_sync_time', nowMs - this.roleSinceMs);
        if (this.unavailableSinceMs !== undefined) {
          this.observe('unavailable_time', nowMs - this.unavailableSinceMs);
          if (status.role === 'leading')
            this.observe('leader_unavailable_time', nowMs - this.unavailableSinceMs);
        }
        this.unavailableSinceMs = undefined;
      } else {
        this.unavailableSinceMs = nowMs;
      }
      this.serving = status.serving;
    }
  }

  /**
   * Each follower's lag as a proposal goes out, in ZooKeeper's families for what its leader
   * queues per learner (keyed by server id): proposals unacknowledged, and how long the
   * oldest of them has waited.
   */
  private observeLag(): void {
    this.node.driver.peer.visitFollowerLags(this.observeFollowerLag);
  }

  /** One follower's lag, for observeLag: made once, as it runs at every proposal. */
  private readonly observeFollowerLag: FollowerLagVisitor = (serverId, lagTxns, oldestAgeMs) => {
    const key = this.learnerKey(serverId);
    this.recordKeyed(this.hot.learnerQueueSize, key, lagTxns);
    this.recordKeyed(this.hot.learnerQueueTime, key, oldestAgeMs);
  };

  /** Counts what a step sent; true when it sent a proposal. */
  private countSent(envelopes: PeerReady['messages']): boolean {
    let proposed = false;
    // One message goes to every learner as the same object: count it once.
    let previous: PeerMessage | undefined;
    for (let i = 0; i < envelopes.length; i++) {
      const message = envelopes[i]!.message;
      if (message === previous) continue;
      previous = message;
      switch (message.kind) {
        case 'proposal': {
          proposed = true;
          this.count(this.hot.proposalCount, message.txns.length);
          for (const txn of message.txns) this.proposed(txn.zxid, txn.timeMs);
          // Counted, not encoded: the frame the transport made may not be the last one framed.
          const size = peerMessageBytes(message);
          const sizes = this.proposalSizes;
          sizes.last = size;
          sizes.min = sizes.min === 0 ? size : Math.min(sizes.min, size);
          sizes.max = Math.max(sizes.max, size);
          break;
        }
        case 'commit':
          this.count(this.hot.commitCount);
          // ZooKeeper's quorum_ack_latency: from the transaction's time to its quorum of acks.
          this.committed(message.zxid, this.hot.quorumAckLatency);
          break;
        case 'syncBegin':
          // A TRUNC is counted with the DIFFs, as before the sync was streamed.
          this.inc(message.mode === 'snap' ? 'snap_count' : 'diff_count');
          break;
      }
    }
    return proposed;
  }

  private received(from: number, message: PeerMessage): void {
    switch (message.kind) {
      case 'proposal': {
        this.count(this.hot.learnerProposalReceivedCount);
        // ZooKeeper's Follower times a proposal's arrival from its transaction's time.
        const timed = this.role === 'following' && this.serving;
        const nowMs = timed ? Date.now() : 0;
        for (const txn of message.txns) {
          this.proposed(txn.zxid, txn.timeMs);
          if (timed) this.observeSince(this.hot.proposalLatency, txn.timeMs, nowMs);
        }
        break;
      }
      case 'commit':
        this.count(this.hot.learnerCommitReceivedCount);
        // ZooKeeper's commit_propagation_latency: from the transaction's time to its commit here.
        this.committed(message.zxid, this.hot.commitPropagationLatency);
        break;
      case 'inform': {
        const nowMs = Date.now();
        for (const txn of message.txns)
          this.observeSince(this.hot.commitPropagationLatency, txn.timeMs, nowMs);
        break;
      }
      case 'revalidate':
        // ZooKeeper's revalidate_count: a learner asks its leader whether a resumed session is valid.
        this.inc('revalidate_count');
        break;
      case 'ack': {
        // ZooKeeper's ack_latency, by the acknowledging server's id.
        const atMs = this.proposedAtMs.find(message.zxid);
        const latencyMs = atMs === undefined ? -1 : Date.now() - atMs;
        // Dropped when negative, as observeSince drops one.
        if (latencyMs >= 0) this.recordKeyed(this.hot.ackLatency, this.learnerKey(from), latencyMs);
        break;
      }
      default:
        // The other messages carry no figure ZooKeeper reports.
        break;
    }
  }

  /**
   * A transaction this replica applied: ZooKeeper's DataTree counts the bytes each write
   * brings to its top-level namespace (write_per_namespace), on every server.
   */
  applied(txn: Txn): void {
    // ZooKeeper's FinalRequestProcessor times each transaction it applies from the leader's
    // time in it. A sync's backlog (and a restart's log, applied once committed) is not
    // propagation: only what a serving replica applies counts. The transactions one step
    // applies share one reading of the clock (read at the first; stepped forgets it).
    if (this.serving) {
      this.appliedAtMs ??= Date.now();
      this.observeSince(this.hot.propagationLatency, txn.timeMs, this.appliedAtMs);
    }
    this.appliedPart(txn.body);
  }

  /** The bytes one transaction (or one part of a multi) brings to its namespaces. */
  private appliedPart(body: Txn['body']): void {
    switch (body.kind) {
      case 'create':
      case 'setData':
        this.wrote(body.path, body.data?.length ?? 0);
        break;
      case 'delete':
        this.wrote(body.path, 0);
        break;
      case 'closeSession':
        for (const path of body.ephemeralPaths) this.wrote(path, 0);
        break;
      case 'multi':
        for (const each of body.parts) this.appliedPart(each);
        break;
      default:
        break;
    }
  }

  /** A write of `bytes` of data to `path`: the path's length and the data count (write_per_namespace). */
  private wrote(path: string, bytes: number): void {
    this.perNamespace(this.hot.writePerNamespace, path, path.length + bytes);
  }

  /** A read served: its path's namespace and bytes, as DataTree's updateReadStat counts them. */
  private read(request: ClientRequest, reply: Reply): void {
    if (!reply.ok) return;
    // The path, its data or children, and a Stat's fixed size (6 longs and 5 ints).
    const statBytes = 6 * 8 + 5 * 4;
    let bytes: number;
    // A reply answers its request's op: its result has that op's shape.
    if (request.op === 'getData') bytes = (reply as Reply<'getData'> & { ok: true }).result.data?.length ?? 0;
    else if (request.op === 'exists') bytes = 0;
    else if (request.op === 'getChildren')
      bytes = (reply as Reply<'getChildren'> & { ok: true }).result.children.reduce(
        (sum, child) => sum + child.length,
        0,
      );
    else return;
    this.perNamespace(this.hot.readPerNamespace, request.path, request.path.length + bytes + statBytes);
  }

  /** Records `bytes` under the path's top-level namespace (`/app/x` is `app`; `/` has none). */
  private perNamespace(summary: LabelledCell, path: string, bytes: number): void {
    const namespace = this.namespaceOf(path);
    if (namespace === undefined) return;
    this.recordKeyed(summary, namespace, bytes);
  }

  /**
   * The path's top-level namespace. Writes and reads in a row mostly share one: the last one
   * found is tried first, and then its string is used again (no new string to make and hash).
   */
  private namespaceOf(path: string): string | undefined {
    const last = this.lastNamespace;
    if (
      last !== undefined &&
      path.startsWith(last, 1) &&
      (path.length === last.length + 1 || path.charCodeAt(last.length + 1) === slashCode)
    )
      return last;
    const namespace = topLevelNamespace(path);
    if (namespace !== undefined) this.lastNamespace = namespace;
    return namespace;
  }

  /** Remembers when a proposal's transaction was made, for its commit latencies. */
  private proposed(zxid: bigint, timeMs: number): void {
    this.proposedAtMs.push(zxid, timeMs);
  }

  /** Records `summary` for every remembered proposal up to `zxid`, which is now committed. */
  private committed(zxid: bigint, summary: SummaryCell): void {
    const proposals = this.proposedAtMs;
    if (proposals.size === 0) return;
    const nowMs = Date.now();
    // Proposals are remembered in zxid order, so the committed ones come first.
    for (
      let atMs = proposals.takeOldestThrough(zxid);
      atMs !== undefined;
      atMs = proposals.takeOldestThrough(zxid)
    )
      if (nowMs >= atMs) this.record(summary, nowMs - atMs);
  }
}

/** ZooKeeper's summaries of watchers reached per trigger, by event type. */
const watchTriggerSummaries: ReadonlyMap<number, string> = new Map([
  [EventType.NodeCreated, 'node_created_watch_count'],
  [EventType.NodeDeleted, 'node_deleted_watch_count'],
  [EventType.NodeDataChanged, 'node_changed_watch_count'],
  [EventType.NodeChildrenChanged, 'node_children_watch_count'],
]);

/** Gauges ZooKeeper registers on a leader alone. */
const leaderGauges: ReadonlySet<string> = new Set([
  'learners',
  'synced_followers',
  'synced_non_voting_followers',
  'synced_observers',
  'pending_syncs',
  'leader_uptime',
  'last_proposal_size',
  'max_proposal_size',
  'min_proposal_size',
]);

/** Counters the client port keeps itself, read at each scrape. */
const counterFromStats: Readonly<Record<string, (node: MetricsSource, metrics: ServerMetrics) => number>> = {
  bytes_received_count: (node) => sumStats(node, (stats) => stats.bytesReceived),
  response_bytes: (node) => sumStats(node, (stats) => stats.bytesSent),
  connection_request_count: (node) => sumStats(node, (stats) => stats.connectionsOpened),
  connection_rejected: (node) => sumStats(node, (stats) => stats.connectionsRefused),
  sessionless_connections_expired: (node) => sumStats(node, (stats) => stats.connectionsSessionless),
  connection_drop_count: (node) => sumStats(node, (stats) => stats.connectionsSlowConsumer),
  // ZooKeeper's Netty factory counts client TLS handshakes that fail (not a certificate its
  // X509 provider refuses after a handshake that succeeded: that is auth_failed_count's alone).
  unsuccessful_handshake: (node) =>
    sumStats(node, (stats) => stats.tlsHandshakeFailures - stats.tlsCertificatesRefused),
  // Secure connections closed before their handshake while not serving (earlyDropSecureConnectionHandshakes).
  cnxn_closed_without_zk_server_running: (node) => sumStats(node, (stats) => stats.tlsDroppedNotServing),
  // Connections closed before their handshake, over netty.server.outstandingHandshake.limit.
  tls_handshake_exceeded: (node) => sumStats(node, (stats) => stats.tlsHandshakesRefused),
  // A connect request with a session id: the client resumes its session here.
  connection_revalidate_count: (node) => sumStats(node, (stats) => stats.sessionsResumed),
  // The leader's change records, as ZooKeeper's PrepRequestProcessor makes them and its
  // processTxn forgets them once applied (a learner makes none).
  outstanding_changes_queued: (_node, metrics) => metrics.changeRecordCounts().queued,
  outstanding_changes_removed: (_node, metrics) => metrics.changeRecordCounts().removed,
  // Writes whose connection closed before they were applied here: their reply goes nowhere.
  stale_replies: (_node, metrics) => metrics.staleReplies(),
};

/** Keys ZooKeeper's default provider reports as doubles (Java prints them with a fraction: `0.0`). */
function reportedAsDouble(key: string): boolean {
  return key.startsWith('avg_') || key === 'avg_latency' || key === 'connection_drop_probability';
}

/**
 * Builds the metrics of a running server and keeps them current: ZooKeeper's Prometheus
 * families, fed from the peer, its driver and its client port, plus Node's process metrics.
 * Scrape `metrics.registry` (or merge it into your own with prom-client's `Registry.merge`);
 * call `detach()` when done. A `ServerNode` is a source; `zabkit server` does this itself when `metricsProvider.className`
 * names ZooKeeper's Prometheus provider.
 */
export function attachMetrics(
  node: MetricsSource,
  options: MetricsOptions = {},
): ServerMetrics & { readonly registry: Registry } {
  return new ServerMetrics(node, { ...options, prometheus: true }) as ServerMetrics & {
    readonly registry: Registry;
  };
}
