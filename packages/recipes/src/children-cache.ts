/** A cache of a node's children (Curator's PathChildrenCache). */
import type { ZabClient } from '@zabkit/client';
import {
  type CachedNode,
  CacheEngine,
  type CacheOptions,
  type CacheWatchMode,
} from './internal/cache-engine.js';
import { TypedEmitter } from './internal/util-emitter.js';
import { nameOf } from './internal/util-zk.js';

/** The events of a {@link ChildrenCache}; `name` is the child's name (not its path). */
export type ChildrenCacheEvents = {
  childAdded: [name: string, node: CachedNode];
  childUpdated: [name: string, node: CachedNode, previous: CachedNode];
  childRemoved: [name: string, previous: CachedNode];
  /** The initial load is done (the children present then were reported as `childAdded`). */
  initialized: [];
  error: [error: unknown];
};

/**
 * Keeps the children of `path` with their data current: `childAdded`, `childUpdated` and
 * `childRemoved` events, then `initialized` after the initial load. The parent itself may be
 * missing (the cache is then empty until it appears). Re-reads everything on reconnect and,
 * with `renewSession`, rebuilds on a new session after expiry.
 */
export class ChildrenCache extends TypedEmitter<ChildrenCacheEvents> {
  private readonly engine: CacheEngine;

  constructor(
    zk: ZabClient,
    readonly path: string,
    options: CacheOptions = {},
  ) {
    super();
    this.engine = new CacheEngine(zk, path, 1, options, {
      added: (node) => {
        if (node.path !== path) this.fire('childAdded', nameOf(node.path), node);
      },
      updated: (node, previous) => {
        if (node.path !== path) this.fire('childUpdated', nameOf(node.path), node, previous);
      },
      removed: (previous) => {
        if (previous.path !== path) this.fire('childRemoved', nameOf(previous.path), previous);
      },
      initialized: () => this.fire('initialized'),
      error: (error) => this.fire('error', error),
    });
  }

  /** Sets the watch and loads the children; resolves once loaded. */
  start(): Promise<void> {
    return this.engine.start();
  }

  /** The children as last read, by name, sorted. */
  current(): Map<string, CachedNode> {
    const prefix = this.path === '/' ? '/' : `${this.path}/`;
    return new Map(
      [...this.engine.nodes.values()]
        .filter((node) => node.path.startsWith(prefix) && node.path !== this.path)
        .map((node) => [nameOf(node.path), node] as const)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  }

  /** One child as last read. */
  get(name: string): CachedNode | undefined {
    return this.engine.nodes.get(this.path === '/' ? `/${name}` : `${this.path}/${name}`);
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
