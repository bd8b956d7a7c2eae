/**
 * Caches kept current by watches (Curator's CuratorCache, NodeCache, PathChildrenCache and
 * TreeCache): the data and Stat of a node, of its children, or of a whole subtree. They use
 * one persistent recursive watch where the server has them (ZooKeeper 3.6+, zabkit) and
 * one-shot data and child watches, set again after each event, where not. After a lost
 * connection they read everything again and report only what changed.
 */
import { EventEmitter } from 'node:events';
import type { Stat, WatchedEvent, ZabClient } from '@zabkit/client';
import { isCode, retryOnConnectionLoss } from '../internal/support.js';

/** A cached node. */
export interface CachedNode {
  readonly data: Uint8Array;
  readonly stat: Stat;
}

/** What a cache tells its listeners, in the order it learns of the changes. */
export interface CacheEvents {
  nodeAdded: [path: string, node: CachedNode];
  nodeUpdated: [path: string, node: CachedNode];
  nodeRemoved: [path: string];
  /** The first full read is done. */
  initialized: [];
  /** A refresh failed; the cache keeps its last good state and tries again on the next event. */
  error: [error: unknown];
}

export interface TreeCacheOptions {
  /** How deep below the root to cache: 0 the root alone, 1 its children too. Default: all. */
  readonly maxDepth?: number;
  /**
   * `auto` (default): a persistent recursive watch, or one-shot watches where the server
   * answers Unimplemented. `oneShot` forces the latter.
   */
  readonly watchMode?: 'auto' | 'oneShot';
}

const depthOf = (root: string, path: string) =>
  path === root ? 0 : (root === '/' ? path : path.slice(root.length)).split('/').length - 1;

export class TreeCache extends EventEmitter<CacheEvents> {
  private readonly nodes = new Map<string, CachedNode>();
  private readonly maxDepth: number;
  private mode: 'persistent' | 'oneShot' | undefined;
  private closed = false;
  /** Refreshes run one at a time, in the order events arrived. */
  private queue: Promise<void> = Promise.resolve();
  private stopState: (() => void) | undefined;
  private readonly listener = (event: WatchedEvent) => this.enqueue(() => this.onEvent(event));

  constructor(
    private readonly zk: ZabClient,
    readonly root: string,
    private readonly options: TreeCacheOptions = {},
  ) {
    super();
    this.maxDepth = options.maxDepth ?? Number.POSITIVE_INFINITY;
  }

  /** Reads the tree, sets the watches, and resolves once the cache is initialized. */
  async start(): Promise<void> {
    if (this.options.watchMode !== 'oneShot') {
      try {
        await retryOnConnectionLoss(this.zk, () =>
          this.zk.addWatch(this.root, this.listener, { recursive: true }),
        );
        this.mode = 'persistent';
      } catch (error) {
        if (!isCode(error, 'Unimplemented')) throw error;
      }
    }
    this.mode ??= 'oneShot';
    let wasDisconnected = false;
    this.stopState = this.zk.onStateChange((state) => {
      if (state === 'disconnected') wasDisconnected = true;
      if (state === 'connected' && wasDisconnected) {
        wasDisconnected = false;
        this.enqueue(() => this.resync());
      }
    });
    await this.enqueue(() => this.resync());
    this.emit('initialized');
  }

  /** Stops watching. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopState?.();
    if (this.mode === 'persistent') {
      await this.zk.removeWatches(this.root, 'persistentRecursive', this.listener).catch(() => undefined);
    }
    await this.queue.catch(() => undefined);
  }

  /** The cached node at `path`, if it exists (as far as the cache knows). */
  get(path: string): CachedNode | undefined {
    return this.nodes.get(path);
  }

  /** The cached children names of `path`, sorted. */
  children(path: string): string[] {
    const prefix = path === '/' ? '/' : `${path}/`;
    const names: string[] = [];
    for (const candidate of this.nodes.keys()) {
      if (candidate !== path && candidate.startsWith(prefix) && !candidate.slice(prefix.length).includes('/'))
        names.push(candidate.slice(prefix.length));
    }
    return names.sort();
  }

  /** Every cached path with its node. */
  entries(): ReadonlyMap<string, CachedNode> {
    return this.nodes;
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(async () => {
      if (this.closed) return;
      try {
        await work();
      } catch (error) {
        if (!this.closed) this.emit('error', error);
      }
    });
    this.queue = next;
    return next;
  }

  private inScope(path: string): boolean {
    return (
      path === this.root ||
      (path.startsWith(this.root === '/' ? '/' : `${this.root}/`) &&
        depthOf(this.root, path) <= this.maxDepth)
    );
  }

  private async onEvent(event: WatchedEvent): Promise<void> {
    if (!this.inScope(event.path)) return;
    if (event.type === 'NodeDeleted') {
      this.removeSubtree(event.path);
      return;
    }
    if (event.type === 'NodeChildrenChanged') {
      await this.refreshChildren(event.path);
      return;
    }
    await this.refreshNode(event.path);
  }

  /** Reads one node (setting its one-shot watches in that mode); absent means removed. */
  private async refreshNode(path: string): Promise<boolean> {
    const watch = this.mode === 'oneShot' ? this.listener : undefined;
    try {
      const { data, stat } = await retryOnConnectionLoss(this.zk, () =>
        this.zk.getData(path, watch === undefined ? {} : { watch }),
      );
      const before = this.nodes.get(path);
      const node = { data, stat };
      this.nodes.set(path, node);
      if (before === undefined) this.emit('nodeAdded', path, node);
      else if (before.stat.mzxid !== stat.mzxid || before.stat.cversion !== stat.cversion)
        this.emit('nodeUpdated', path, node);
      if (this.mode === 'oneShot' && depthOf(this.root, path) < this.maxDepth)
        await this.refreshChildren(path);
      return true;
    } catch (error) {
      if (!isCode(error, 'NoNode')) throw error;
      if (this.mode === 'oneShot' && path === this.root) {
        // Wait for the root to appear.
        await retryOnConnectionLoss(this.zk, () => this.zk.exists(path, { watch: this.listener }));
      }
      this.removeSubtree(path);
      return false;
    }
  }

  /** Reads a node's children: new ones are loaded, vanished ones removed. */
  private async refreshChildren(path: string): Promise<void> {
    if (depthOf(this.root, path) >= this.maxDepth) return;
    const watch = this.mode === 'oneShot' ? this.listener : undefined;
    let names: string[];
    try {
      names = await retryOnConnectionLoss(this.zk, () =>
        this.zk.getChildren(path, watch === undefined ? {} : { watch }),
      );
    } catch (error) {
      if (!isCode(error, 'NoNode')) throw error;
      names = [];
    }
    const base = path === '/' ? '' : path;
    const present = new Set(names.map((name) => `${base}/${name}`));
    for (const child of this.children(path)) {
      if (!present.has(`${base}/${child}`)) this.removeSubtree(`${base}/${child}`);
    }
    for (const child of present) {
      if (!this.nodes.has(child)) await this.refreshNode(child);
    }
  }

  /** Reads everything again, reporting differences from what was cached. */
  private async resync(): Promise<void> {
    const seen = new Set<string>();
    const walk = async (path: string) => {
      if (!(await this.refreshNode(path))) return;
      seen.add(path);
      if (depthOf(this.root, path) >= this.maxDepth) return;
      const names = await retryOnConnectionLoss(this.zk, () => this.zk.getChildren(path)).catch(
        (error: unknown) => {
          if (isCode(error, 'NoNode')) return [] as string[];
          throw error;
        },
      );
      for (const name of names) await walk(path === '/' ? `/${name}` : `${path}/${name}`);
    };
    await walk(this.root);
    for (const path of [...this.nodes.keys()]) {
      if (!seen.has(path) && this.nodes.has(path)) this.removeSubtree(path);
    }
  }

  private removeSubtree(path: string): void {
    const prefix = path === '/' ? '/' : `${path}/`;
    const doomed = [...this.nodes.keys()].filter(
      (candidate) => candidate === path || candidate.startsWith(prefix),
    );
    // Deepest first, as a tree comes apart.
    doomed.sort((a, b) => b.length - a.length);
    for (const gone of doomed) {
      this.nodes.delete(gone);
      this.emit('nodeRemoved', gone);
    }
  }
}

/** One node's data and Stat, kept current (Curator's NodeCache). */
export class NodeCache extends TreeCache {
  constructor(zk: ZabClient, path: string, options: Omit<TreeCacheOptions, 'maxDepth'> = {}) {
    super(zk, path, { ...options, maxDepth: 0 });
  }

  /** The node, or undefined while it does not exist. */
  current(): CachedNode | undefined {
    return this.get(this.root);
  }
}

/** A node's children with their data, kept current (Curator's PathChildrenCache). */
export class ChildrenCache extends TreeCache {
  constructor(zk: ZabClient, path: string, options: Omit<TreeCacheOptions, 'maxDepth'> = {}) {
    super(zk, path, { ...options, maxDepth: 1 });
  }

  /** The children and their data, by name. */
  currentChildren(): Map<string, CachedNode> {
    const base = this.root === '/' ? '' : this.root;
    return new Map(this.children(this.root).map((name) => [name, this.get(`${base}/${name}`)!]));
  }
}
