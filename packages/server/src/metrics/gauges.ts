/**
 * The gauges ZooKeeper registers, read off a running server when scraped: the client port's
 * figures, the replica's, the leader's learners, the membership's voters, quotas by
 * namespace and the process's file descriptors.
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseStatsTrack, quotaLimitNode, quotaPath, quotaStatNode, type ZnodeData } from '@zabkit/core';
import type { ClientPortServer } from '../client-port.js';
import type { PeerDriver } from '../peer-driver.js';
import type { MetricsSource } from './source.js';

/** What the gauges report, read off the running server in one go. */
export type GaugeSample = Readonly<Record<string, number>>;

/** Figures only the metrics follow (uptimes, pending syncs, sizes), for the gauges. */
export interface TrackedFigures {
  readonly uptimeMs: number;
  readonly leaderUptimeMs: number;
  readonly pendingSyncs: number;
  readonly proposalSizes: { readonly last: number; readonly min: number; readonly max: number };
  readonly responseSizes: { readonly last: number; readonly min: number; readonly max: number };
}

/** A client-port counter summed over the server's listeners. */
export function sumStats(node: MetricsSource, pick: (stats: ClientPortServer['stats']) => number): number {
  return node.clientListeners().reduce((total, listener) => total + pick(listener.stats), 0);
}

export function readGauges(node: MetricsSource, tracked: TrackedFigures): GaugeSample {
  const peer = node.driver.peer;
  const replica = peer.replicaStats();
  const listeners = node.clientListeners();
  const connections = listeners.flatMap((listener) => listener.connectionInfo());
  const latencyCount = sumStats(node, (stats) => stats.latencyCount);
  const learners = peer.learners();
  const fds = fileDescriptors();
  return {
    avg_latency:
      latencyCount === 0
        ? 0
        : Math.round((sumStats(node, (stats) => stats.latencyTotalMs) / latencyCount) * 10_000) / 10_000,
    min_latency: latencyCount === 0 ? 0 : Math.trunc(Math.min(...listeners.map((l) => l.stats.latencyMinMs))),
    max_latency: Math.trunc(Math.max(0, ...listeners.map((l) => l.stats.latencyMaxMs))),
    packets_received: sumStats(node, (stats) => stats.packetsReceived),
    packets_sent: sumStats(node, (stats) => stats.packetsSent),
    num_alive_connections: connections.length,
    outstanding_requests: connections.reduce((sum, c) => sum + c.outstanding, 0),
    uptime: tracked.uptimeMs,
    znode_count: replica.nodeCount,
    watch_count: replica.watchCount,
    ephemerals_count: replica.ephemeralCount,
    approximate_data_size: replica.approximateDataSize,
    global_sessions: peer.sessionSummary().sessions.size,
    local_sessions: 0,
    open_file_descriptor_count: fds.open,
    max_file_descriptor_count: fds.max,
    // ZooKeeper's ServerStats counts only refused TLS clients (a failed handshake, or a
    // certificate its X509 provider refuses): not a refused addauth nor a failed SASL exchange.
    auth_failed_count: sumStats(node, (stats) => stats.tlsHandshakeFailures),
    quorum_size: votersInForce(peer),
    learners: learners.length,
    // As ZooKeeper's forwarding followers: every synced follower, the non-voting ones included.
    synced_followers: learners.filter((l) => l.synced && !l.observer).length,
    // Followers outside the voting membership (started to be added by a reconfig), as
    // ZooKeeper's Leader.getNonVotingFollowers picks them out of its forwarding followers.
    synced_non_voting_followers: learners.filter((l) => l.synced && !l.observer && !l.voting).length,
    synced_observers: learners.filter((l) => l.synced && l.observer).length,
    leader_uptime: tracked.leaderUptimeMs,
    pending_syncs: tracked.pendingSyncs,
    last_proposal_size: tracked.proposalSizes.last,
    min_proposal_size: tracked.proposalSizes.min,
    max_proposal_size: tracked.proposalSizes.max,
    last_client_response_size: tracked.responseSizes.last,
    min_client_response_size: tracked.responseSizes.min,
    max_client_response_size: tracked.responseSizes.max,
    outstanding_tls_handshake: listeners.reduce(
      (sum, listener) => sum + listener.tlsHandshakesInProgress(),
      0,
    ),
    // Counted as connections open and never decremented, as ZooKeeper's ServerStats (reset by JMX alone).
    non_mtls_local_conn_count: sumStats(node, (stats) => stats.plainConnectionsLocal),
    non_mtls_remote_conn_count: sumStats(node, (stats) => stats.plainConnectionsRemote),
  };
}

/**
 * The voters of the membership in force, as ZooKeeper's quorum_size (its voting view) counts
 * them: a committed reconfig changes it; the configuration named by ids alone otherwise.
 */
function votersInForce(peer: PeerDriver['peer']): number {
  const config = peer.ensembleConfig;
  if (config === undefined) return peer.options.voters.length;
  return config.members.filter((member) => member.role === 'participant').length;
}

/**
 * ZooKeeper's per-namespace quota gauges (QuotaMetricsUtils): each zookeeper_limits leaf
 * gives its namespace's count and bytes limits (the hard one where set, else the soft one),
 * each zookeeper_stats leaf its usage, summed over the namespace's quotas. The namespace is
 * the first part of the path the quota is on; a node whose text does not parse is skipped.
 */
export function readQuotaGauges(
  leaves: readonly { readonly path: string; readonly data: ZnodeData }[],
): ReadonlyMap<string, ReadonlyMap<string, number>> {
  const sets = new Map<string, Map<string, number>>(
    [
      'quota_count_limit_per_namespace',
      'quota_bytes_limit_per_namespace',
      'quota_count_usage_per_namespace',
      'quota_bytes_usage_per_namespace',
    ].map((name) => [name, new Map()]),
  );
  const add = (name: string, namespace: string, value: bigint) => {
    const set = sets.get(name)!;
    set.set(namespace, (set.get(namespace) ?? 0) + Number(value));
  };
  for (const { path, data } of leaves) {
    const limits = path.endsWith(`/${quotaLimitNode}`);
    if ((!limits && !path.endsWith(`/${quotaStatNode}`)) || data === null) continue;
    const namespace = path.slice(quotaPath.length).split('/')[1];
    if (namespace === undefined) continue;
    const track = parseStatsTrack(data);
    if (track === undefined) continue;
    if (limits) {
      add(
        'quota_count_limit_per_namespace',
        namespace,
        track.countHardLimit > -1n ? track.countHardLimit : track.count,
      );
      add(
        'quota_bytes_limit_per_namespace',
        namespace,
        track.byteHardLimit > -1n ? track.byteHardLimit : track.bytes,
      );
    } else {
      add('quota_count_usage_per_namespace', namespace, track.count);
      add('quota_bytes_usage_per_namespace', namespace, track.bytes);
    }
  }
  return sets;
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
