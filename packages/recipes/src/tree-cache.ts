/** A cache of a whole subtree (Curator's TreeCache). */
import type { ZabClient } from '@zabkit/client';
import {
  type CachedNode,
  CacheEngine,
  type CacheOptions,
  type CacheWatchMode,
} from './internal/cache-engine.js';
import { TypedEmitter } from './internal/util-emitter.js';

/** Options of a {@link TreeCache}. */
export interface TreeCacheOptions extends CacheOptions {
  /** How many levels below the root to cache (default: unlimited). */
  readonly maxDepth?: number;
}

/** The events of a {@link TreeCache}, by full path. */
export type TreeCacheEvents = {
  nodeAdded: [node: CachedNode];
  nodeUpdated: [node: CachedNode, previous: CachedNode];
  /** Removed nodes are reported deepest first. */
  nodeRemoved: [previous: CachedNode];
  initialized: [];
  error: [error: unknown];
};

/**
 * Keeps the subtree at `root` (the root included) current, up to `maxDepth` levels. Events
 * come in the order the cache applies changes; bursts may be coalesced, and the cache always
 * converges to the server's tree. Re-reads the tree on reconnect; with `renewSession`,
 * rebuilds on a new session after expiry.
 */
export class TreeCache extends TypedEmitter<TreeCacheEvents> {
  private readonly engine: CacheEngine;

  constructor(
    zk: ZabClient,
    readonly root: string,
    options: TreeCacheOptions = {},
  ) {
    super();
    this.engine = new CacheEngine(zk, root, options.maxDepth ?? Number.POSITIVE_INFINITY, options, {
      added: (node) => this.fire('nodeAdded', node),
      updated: (node, previous) => this.fire('nodeUpdated', node, previous),
      removed: (previous) => this.fire('nodeRemoved', previous),
      initialized: () => this.fire('initialized'),
      error: (error) => this.fire('error', error),
    });
  }

  /** Sets the watch and loads the subtree; resolves once loaded. */
  start(): Promise<void> {
    return this.engine.start();
  }

  /** One node as last read. */
  get(path: string): CachedNode | undefined {
    return this.engine.nodes.get(path);
  }

  /** The names of a cached node's children, sorted; undefined when the node is not cached. */
  children(path: string): string[] | undefined {
    if (!this.engine.nodes.has(path)) return undefined;
    const prefix = path === '/' ? '/' : `${path}/`;
    return [...this.engine.nodes.keys()]
      .filter((key) => key !== path && key.startsWith(prefix) && !key.slice(prefix.length).includes('/'))
      .map((key) => key.slice(prefix.length))
      .sort();
  }

  /** Every cached node by path, sorted by path. */
  snapshot(): Map<string, CachedNode> {
    return new Map([...this.engine.nodes.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** The watch mode chosen at start. */
  get watchMode(): Exclude<CacheWatchMode, 'auto'> | undefined {
    return this.engine.watchMode;
  }

  /** Stops the cache and removes its watches. */
  close(): Promise<void> {
    return this.engine.close();
  }
}
