/**
 * The metrics Apache ZooKeeper 3.9 registers with its Prometheus provider, by name and kind,
 * so that zabkit's exposition carries the same families with the same types and labels and
 * existing dashboards and alerts find them. Taken from ZooKeeper's ServerMetrics and every
 * gauge its servers register (release-3.9.4); the kinds map onto Prometheus as its provider
 * does: a summary has the quantile 0.5 (`summaryAdvanced`: 0.5, 0.9 and 0.99), and the `...Set`
 * kinds carry the label `key`.
 *
 * @module
 */

/** How ZooKeeper registers a metric (its MetricsContext calls). */
export type ZooKeeperMetricKind =
  | 'counter'
  | 'counterSet'
  | 'gauge'
  | 'gaugeSet'
  | 'summary'
  | 'summaryAdvanced'
  | 'summarySet'
  | 'summarySetAdvanced';

/** Every metric of ZooKeeper 3.9's Prometheus exposition (JVM metrics aside), sorted by name. */
export const zookeeperMetrics: readonly (readonly [name: string, kind: ZooKeeperMetricKind])[] = [
  ['ack_latency', 'summarySetAdvanced'],
  ['add_dead_watcher_stall_time', 'counter'],
  ['approximate_data_size', 'gauge'],
  ['auth_failed_count', 'gauge'],
  ['avg_latency', 'gauge'],
  ['bytes_received_count', 'counter'],
  ['close_session_prep_time', 'summaryAdvanced'],
  ['cnxn_closed_without_zk_server_running', 'counter'],
  ['commit_commit_proc_req_queued', 'summary'],
  ['commit_count', 'counter'],
  ['commit_process_time', 'summary'],
  ['commit_propagation_latency', 'summaryAdvanced'],
  ['concurrent_request_processing_in_commit_processor', 'summary'],
  ['connection_drop_count', 'counter'],
  ['connection_drop_probability', 'gauge'],
  ['connection_rejected', 'counter'],
  ['connection_request_count', 'counter'],
  ['connection_revalidate_count', 'counter'],
  ['connection_token_deficit', 'summary'],
  ['dbinittime', 'summary'],
  ['dead_watchers_cleaner_latency', 'summaryAdvanced'],
  ['dead_watchers_cleared', 'counter'],
  ['dead_watchers_queued', 'counter'],
  ['diff_count', 'counter'],
  ['digest_mismatches_count', 'counter'],
  ['election_time', 'summary'],
  ['ensemble_auth_fail', 'counter'],
  ['ensemble_auth_skip', 'counter'],
  ['ensemble_auth_success', 'counter'],
  ['ephemerals_count', 'gauge'],
  ['follower_sync_time', 'summary'],
  ['fsynctime', 'summary'],
  ['global_sessions', 'gauge'],
  ['inflight_diff_count', 'summary'],
  ['inflight_snap_count', 'summary'],
  ['insecure_admin_count', 'counter'],
  ['jvm_pause_time_ms', 'summaryAdvanced'],
  ['large_requests_rejected', 'counter'],
  ['last_client_response_size', 'gauge'],
  ['last_proposal_size', 'gauge'],
  ['leader_unavailable_time', 'summary'],
  ['leader_uptime', 'gauge'],
  ['learner_commit_received_count', 'counter'],
  ['learner_handler_qp_size', 'summarySet'],
  ['learner_handler_qp_time_ms', 'summarySetAdvanced'],
  ['learner_proposal_received_count', 'counter'],
  ['learner_request_processor_queue_size', 'summary'],
  ['learners', 'gauge'],
  ['local_sessions', 'gauge'],
  ['local_write_committed_time_ms', 'summaryAdvanced'],
  ['looking_count', 'counter'],
  ['max_client_response_size', 'gauge'],
  ['max_file_descriptor_count', 'gauge'],
  ['max_latency', 'gauge'],
  ['max_proposal_size', 'gauge'],
  ['min_client_response_size', 'gauge'],
  ['min_latency', 'gauge'],
  ['min_proposal_size', 'gauge'],
  ['netty_queued_buffer_capacity', 'summary'],
  ['node_changed_watch_count', 'summary'],
  ['node_children_watch_count', 'summary'],
  ['node_created_watch_count', 'summary'],
  ['node_deleted_watch_count', 'summary'],
  ['non_mtls_local_conn_count', 'gauge'],
  ['non_mtls_remote_conn_count', 'gauge'],
  ['num_alive_connections', 'gauge'],
  ['observer_sync_time', 'summary'],
  ['om_commit_process_time_ms', 'summaryAdvanced'],
  ['om_proposal_process_time_ms', 'summaryAdvanced'],
  ['open_file_descriptor_count', 'gauge'],
  ['outstanding_changes_queued', 'counter'],
  ['outstanding_changes_removed', 'counter'],
  ['outstanding_requests', 'gauge'],
  ['outstanding_tls_handshake', 'gauge'],
  ['packets_received', 'gauge'],
  ['packets_sent', 'gauge'],
  ['pending_session_queue_size', 'summary'],
  ['pending_syncs', 'gauge'],
  ['prep_process_time', 'summary'],
  ['prep_processor_queue_size', 'summary'],
  ['prep_processor_queue_time_ms', 'summaryAdvanced'],
  ['prep_processor_request_queued', 'counter'],
  ['propagation_latency', 'summaryAdvanced'],
  ['proposal_ack_creation_latency', 'summaryAdvanced'],
  ['proposal_count', 'counter'],
  ['proposal_latency', 'summaryAdvanced'],
  ['proposal_process_time', 'summary'],
  ['quit_leading_due_to_disloyal_voter', 'counter'],
  ['quorum_ack_latency', 'summaryAdvanced'],
  ['quorum_size', 'gauge'],
  ['quota_bytes_limit_per_namespace', 'gaugeSet'],
  ['quota_bytes_usage_per_namespace', 'gaugeSet'],
  ['quota_count_limit_per_namespace', 'gaugeSet'],
  ['quota_count_usage_per_namespace', 'gaugeSet'],
  ['quota_exceeded_error_per_namespace', 'counterSet'],
  ['read_commit_proc_issued', 'summary'],
  ['read_commit_proc_req_queued', 'summary'],
  ['read_commitproc_time_ms', 'summaryAdvanced'],
  ['read_final_proc_time_ms', 'summaryAdvanced'],
  ['read_per_namespace', 'summarySet'],
  ['readlatency', 'summaryAdvanced'],
  ['reads_after_write_in_session_queue', 'summary'],
  ['reads_issued_from_session_queue', 'summary'],
  ['request_commit_queued', 'counter'],
  ['request_throttle_queue_time_ms', 'summaryAdvanced'],
  ['request_throttle_wait_count', 'counter'],
  ['requests_in_session_queue', 'summary'],
  ['requests_not_forwarded_to_commit_processor', 'counter'],
  ['response_bytes', 'counter'],
  ['response_packet_cache_hits', 'counter'],
  ['response_packet_cache_misses', 'counter'],
  ['response_packet_get_children_cache_hits', 'counter'],
  ['response_packet_get_children_cache_misses', 'counter'],
  ['restore_error_count', 'counter'],
  ['restore_rate_limited_count', 'counter'],
  ['restore_time', 'summary'],
  ['revalidate_count', 'counter'],
  ['server_write_committed_time_ms', 'summaryAdvanced'],
  ['session_queues_drained', 'summary'],
  ['sessionless_connections_expired', 'counter'],
  ['skip_learner_request_to_next_processor_count', 'counter'],
  ['snap_count', 'counter'],
  ['snapshot_error_count', 'counter'],
  ['snapshot_rate_limited_count', 'counter'],
  ['snapshottime', 'summary'],
  ['socket_closing_time', 'summary'],
  ['stale_replies', 'counter'],
  ['stale_requests', 'counter'],
  ['stale_requests_dropped', 'counter'],
  ['stale_sessions_expired', 'counter'],
  ['startup_snap_load_time', 'summary'],
  ['startup_txns_load_time', 'summary'],
  ['startup_txns_loaded', 'summary'],
  ['sync_process_time', 'summary'],
  ['sync_processor_batch_size', 'summary'],
  ['sync_processor_queue_and_flush_time_ms', 'summaryAdvanced'],
  ['sync_processor_queue_flush_time_ms', 'summaryAdvanced'],
  ['sync_processor_queue_size', 'summary'],
  ['sync_processor_queue_time_ms', 'summaryAdvanced'],
  ['sync_processor_request_queued', 'counter'],
  ['synced_followers', 'gauge'],
  ['synced_non_voting_followers', 'gauge'],
  ['synced_observers', 'gauge'],
  ['throttled_ops', 'counter'],
  ['time_waiting_empty_pool_in_commit_processor_read_ms', 'summary'],
  ['tls_handshake_exceeded', 'counter'],
  ['unavailable_time', 'summary'],
  ['unrecoverable_error_count', 'counter'],
  ['unsuccessful_handshake', 'counter'],
  ['updatelatency', 'summaryAdvanced'],
  ['uptime', 'gauge'],
  ['watch_bytes', 'counter'],
  ['watch_count', 'gauge'],
  ['write_batch_time_in_commit_processor', 'summary'],
  ['write_commit_proc_issued', 'summary'],
  ['write_commit_proc_req_queued', 'summary'],
  ['write_commitproc_time_ms', 'summaryAdvanced'],
  ['write_final_proc_time_ms', 'summaryAdvanced'],
  ['write_per_namespace', 'summarySet'],
  ['znode_count', 'gauge'],
];

/**
 * Why a family is left out: zabkit has no such stage or setting, or lacks the figure. Each
 * reason is a sentence an operator can read in the README.
 */
const noSuchStage = {
  processors:
    "ZooKeeper's request processor pipeline (prep, sync, commit and final processors, their queues, threads and batches): zabkit's core prepares, orders and applies in one step, with no queues between stages to measure; of the sync processor's figures, those of its batched durable writes are measured (sync_processor_batch_size, sync_processor_queue_time_ms, sync_processor_queue_flush_time_ms, sync_processor_queue_and_flush_time_ms), not its queue's length nor its per-request step",
  sessionQueues:
    "the commit processor's per-session request queues and its worker pool: zabkit orders a session's requests in its core, without queues or threads",
  throttle:
    "ZooKeeper's RequestThrottler (zookeeper.request_throttle_*: a queue requests wait in), its connection throttle (BlueThrottle, zookeeper.connection_throttle_*) and its large-request limit (zookeeper.largeRequestMaxBytes): zabkit has none of these; its limits bound outstanding requests per connection and per server and stop reading a socket at the bound (no wait is queued or timed), and a request over jute.maxbuffer closes its connection",
  cache: "ZooKeeper's serialized response cache: zabkit keeps none",
  deadWatchers: "ZooKeeper's dead-watcher cleaner thread: zabkit drops a closed session's watches at once",
  observerMaster: "observer masters (observerMasterPort): zabkit's observers sync from the leader",
  netty: "Netty's buffers: zabkit's client port is Node's net module",
  ensembleAuth:
    "ZooKeeper's ensemble-name check (EnsembleAuthenticationProvider: a client's `addauth ensemble <name>` against zookeeper.ensembleAuthName, loaded only when an authProvider.N names it): zabkit does not have this provider (naming it stops the server), so nothing is checked or counted",
  digest:
    "ZooKeeper's per-transaction tree digest (digest.enabled: each logged transaction carries the tree's digest and a replica compares it as it applies): zabkit's transactions carry no digest, so there is nothing to compare per transaction; the replica digest (`hash`) is compared across replicas by the simulator's checkers",
  staleRequests:
    "requests of a connection that closed while they waited in ZooKeeper's RequestThrottler queue (stale_requests, and stale_requests_dropped for those it then drops): zabkit has no queue before its core, where a request goes at once; the writes of a closed connection that are applied later are counted as stale_replies",
  disloyalVoter:
    "zookeeper.leader.maxTimeToWaitForEpoch (off by default): zabkit's leader waits for a quorum's epochs until initLimit and has no early exit when a voter goes back to looking",
  socketClosing:
    "the time a learner socket takes to close (ZooKeeper times a blocking close, zookeeper.learner.closeSocketAsync): zabkit closes peer sockets with Node's non-blocking destroy(), which has no duration to measure",
  txnReplay:
    "the time to replay the log's transactions into the tree at startup: zabkit's store reads the snapshot and the log in one load (timed as startup_snap_load_time and dbinittime) and applies the logged transactions only once they are committed, so there is no replay of its own to time (startup_txns_loaded counts the transactions that load read past the snapshot)",
} as const;

/**
 * ZooKeeper 3.9's families zabkit does not report, with why: a family that always read 0
 * would mislead an alert (`synced_followers < 2` firing on a stage that does not exist), so
 * these are absent from both `mntr` and the Prometheus exposition rather than 0.
 */
export const unmeasuredMetrics: ReadonlyMap<string, string> = new Map<string, string>([
  ...(
    [
      'commit_commit_proc_req_queued',
      'commit_process_time',
      'concurrent_request_processing_in_commit_processor',
      'close_session_prep_time',
      'local_write_committed_time_ms',
      'prep_process_time',
      'prep_processor_queue_size',
      'prep_processor_queue_time_ms',
      'prep_processor_request_queued',
      'proposal_process_time',
      'read_commit_proc_issued',
      'read_commit_proc_req_queued',
      'read_commitproc_time_ms',
      'read_final_proc_time_ms',
      'request_commit_queued',
      'requests_not_forwarded_to_commit_processor',
      'server_write_committed_time_ms',
      'skip_learner_request_to_next_processor_count',
      'sync_process_time',
      'sync_processor_queue_size',
      'sync_processor_request_queued',
      'time_waiting_empty_pool_in_commit_processor_read_ms',
      'write_batch_time_in_commit_processor',
      'write_commit_proc_issued',
      'write_commit_proc_req_queued',
      'write_commitproc_time_ms',
      'write_final_proc_time_ms',
      'learner_request_processor_queue_size',
    ] as const
  ).map((name) => [name, noSuchStage.processors] as const),
  ...(
    [
      'pending_session_queue_size',
      'reads_after_write_in_session_queue',
      'reads_issued_from_session_queue',
      'requests_in_session_queue',
      'session_queues_drained',
    ] as const
  ).map((name) => [name, noSuchStage.sessionQueues] as const),
  ...(
    [
      'connection_drop_probability',
      'connection_token_deficit',
      'large_requests_rejected',
      'request_throttle_queue_time_ms',
      'request_throttle_wait_count',
    ] as const
  ).map((name) => [name, noSuchStage.throttle] as const),
  ...(
    [
      'response_packet_cache_hits',
      'response_packet_cache_misses',
      'response_packet_get_children_cache_hits',
      'response_packet_get_children_cache_misses',
    ] as const
  ).map((name) => [name, noSuchStage.cache] as const),
  ...(
    [
      'add_dead_watcher_stall_time',
      'dead_watchers_cleaner_latency',
      'dead_watchers_cleared',
      'dead_watchers_queued',
    ] as const
  ).map((name) => [name, noSuchStage.deadWatchers] as const),
  ...(['om_commit_process_time_ms', 'om_proposal_process_time_ms'] as const).map(
    (name) => [name, noSuchStage.observerMaster] as const,
  ),
  ['netty_queued_buffer_capacity', noSuchStage.netty],
  ...(['ensemble_auth_fail', 'ensemble_auth_skip', 'ensemble_auth_success'] as const).map(
    (name) => [name, noSuchStage.ensembleAuth] as const,
  ),
  ['digest_mismatches_count', noSuchStage.digest],
  ...(['stale_requests', 'stale_requests_dropped'] as const).map(
    (name) => [name, noSuchStage.staleRequests] as const,
  ),
  ['quit_leading_due_to_disloyal_voter', noSuchStage.disloyalVoter],
  ['socket_closing_time', noSuchStage.socketClosing],
  ['startup_txns_load_time', noSuchStage.txnReplay],
]);

/** The prefixes ZooKeeper's default provider gives a summary's figures in mntr. */
const summaryFigure = /^(avg|min|max|cnt|sum|p50|p95|p99|p999)_/;

/**
 * Whether an `mntr` or `monitor` key of ZooKeeper's (without `zk_`) belongs to one of the
 * {@link unmeasuredMetrics}: a gauge or counter by its name, a summary by its `avg_`, `min_`,
 * ... figures, a summary set by its `<figure>_<key>_<name>` groups. For comparing with what
 * ZooKeeper prints.
 */
export function isUnmeasuredKey(key: string): boolean {
  if (unmeasuredMetrics.has(key)) return true;
  const name = key.replace(summaryFigure, '');
  if (name === key) return false;
  if (unmeasuredMetrics.has(name)) return true;
  return zookeeperMetrics.some(
    ([family, kind]) =>
      (kind === 'summarySet' || kind === 'summarySetAdvanced') &&
      unmeasuredMetrics.has(family) &&
      name.endsWith(`_${family}`),
  );
}
