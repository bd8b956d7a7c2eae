/**
 * What the metrics follow: a running server and what its replica tells as it applies.
 *
 * @module
 */
import type { Txn } from '@zabkit/core';
import type { ClientPortServer } from '../client-port.js';
import type { FatalListener } from '../fatal.js';
import type { PeerDriver } from '../peer-driver.js';

/** What a replica tells as it applies: ZooKeeper counts these in its DataTree and WatchManager. */
export interface ReplicaListener {
  /** A transaction applied to the tree. */
  applied(txn: Txn): void;
  /** A watch trigger reached `watchers` watchers. */
  watchesTriggered(type: number, watchers: number): void;
  /** A write the leader refused with QuotaExceeded, on `path`. */
  quotaRefused(path: string): void;
}

/** What the metrics follow: a running server (a `ServerNode` is one). */
export interface MetricsSource {
  readonly driver: PeerDriver;
  /** Its client listeners (the plain and the secure port). */
  clientListeners(): readonly ClientPortServer[];
  onFatal(listener: FatalListener): () => void;
  /**
   * Follows what the replica applies. Without it, the figures counted there (write_per_namespace,
   * propagation_latency, node_*_watch_count, quota_exceeded_error_per_namespace) stay empty.
   */
  onReplica?(listener: ReplicaListener): () => void;
  /** Hears the process's pauses, when a pause monitor runs (jvm_pause_time_ms stays empty otherwise). */
  onPause?(listener: (extraMs: number) => void): () => void;
}
