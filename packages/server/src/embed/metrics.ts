/**
 * The metrics hook of an embedded peer. A metrics provider (the Prometheus registry with
 * ZooKeeper's metric names, or one of your own) is a function that attaches to a running
 * peer and reads it: its status, its node (driver, client port, four-letter-word figures) and
 * its change events. `startPeer({ metrics })` or `peer.attachMetrics(fn)` attaches it once
 * the peer runs; `peer.close()` detaches it.
 *
 * @module
 */
import type { EventEmitter } from 'node:events';
import type { ServerNode } from '../node.js';
import type { PeerChangeEvents } from './events.js';
import type { PeerHealth } from './status.js';

/** What a metrics provider may read of a running peer. */
export interface PeerMetricsSource extends Pick<EventEmitter<PeerChangeEvents>, 'on' | 'off'> {
  /** The peer's server id. */
  readonly id: number;
  /** The running server: its driver (`node.driver.peer` for replica figures) and client port. */
  readonly node: ServerNode;
  /** The health snapshot `peer.status()` returns. */
  status(): PeerHealth;
}

/**
 * What attaching metrics returns: anything (a registry, say), closed when the peer closes by
 * its `close` or, lacking one, its `detach` (what `attachMetrics(node)` returns has that).
 */
export interface PeerMetricsAttachment {
  /** Detaches from the peer (timers, listeners); called once, by `peer.close()`. */
  close?(): void | Promise<void>;
  /** The same, under the name a `ServerMetrics` gives it; called when there is no `close`. */
  detach?(): void | Promise<void>;
}

/** A metrics provider: attaches to a running peer and returns what it built. */
export type PeerMetricsAttach<T extends PeerMetricsAttachment = PeerMetricsAttachment> = (
  source: PeerMetricsSource,
) => T;
