/** A cache of one node (Curator's NodeCache). */
import type { ZabClient } from '@zabkit/client';
import {
  type CachedNode,
  CacheEngine,
  type CacheOptions,
  type CacheWatchMode,
} from './internal/cache-engine.js';
import { TypedEmitter } from './internal/util-emitter.js';

export type { CachedNode, CacheOptions, CacheWatchMode } from './internal/cache-engine.js';

/** The events of a {@link NodeCache}. */
export type NodeCacheEvents = {
  /** The node appeared (also for the initial load when it exists). */
  created: [node: CachedNode];
  /** The node's data changed. */
  changed: [node: CachedNode, previous: CachedNode];
  /** The node was deleted. */
  deleted: [previous: CachedNode];
  /** The initial load is done. */
  initialized: [];
  /** A read failed for a reason other than a lost connection, or the session ended with no renewal. */
  error: [error: unknown];
};

/**
 * Keeps one node's data and Stat current and emits `created` / `changed` / `deleted`.
 * Changes that follow each other faster than the cache can re-read may be seen as one
 * `changed` (the cache always converges to the latest state). Survives ConnectionLoss (the
 * node is re-read on reconnect) and, with `renewSession`, session expiry.
 */
export class NodeCache extends TypedEmitter<NodeCacheEvents> {
  private readonly engine: CacheEngine;

  constructor(
    zk: ZabClient,
    readonly path: string,
    options: CacheOptions = {},
  ) {
    super();
    this.engine = new CacheEngine(zk, path, 0, options, {
      added: (node) => this.fire('created', node),
      updated: (node, previous) => this.fire('changed', node, previous),
      removed: (previous) => this.fire('deleted', previous),
      initialized: () => this.fire('initialized'),
      error: (error) => this.fire('error', error),
    });
  }

  /** Sets the watch and loads the node; resolves once loaded. */
  start(): Promise<void> {
    return this.engine.start();
  }

  /** The node as last read, or undefined when it does not exist. */
  current(): CachedNode | undefined {
    return this.engine.nodes.get(this.path);
  }

  /** The watch mode chosen at start. */
  get watchMode(): Exclude<CacheWatchMode, 'auto'> | undefined {
    return this.engine.watchMode;
  }

  /** Stops the cache: its watches are removed; listeners are kept until removed. */
  close(): Promise<void> {
    return this.engine.close();
  }
}
