/**
 * The engine behind NodeCache, ChildrenCache and TreeCache: it mirrors the nodes at most
 * `maxDepth` levels below a root (0: the root only) and reports each difference it applies.
 *
 * Watching: a persistent recursive watch on the root where the server has them (ZooKeeper
 * 3.6+, zabkit), otherwise one-shot data and child watches re-set on every read. Work is
 * serialized: every event becomes a re-read, done in order, so the cache converges to the
 * server's tree. After a reconnect the whole tree is re-read; after a session expiry, a new
 * session (from `renewSession`) is watched and re-read from scratch.
 */
import type { Stat, WatchedEvent, ZabClient } from '@zabkit/client';
import { type SessionFactory, SessionKeeper } from './util-session.js';
import { childPath, depthBelow, isCode, isConnected, isConnectionLoss, isUnder } from './util-zk.js';

/** A cached znode: its path, data and Stat as last read. */
export interface CachedNode {
  readonly path: string;
  /** Null when the node holds null data (ZooKeeper keeps it apart from empty data). */
  readonly data: Uint8Array | null;
  readonly stat: Stat;
}

/** How a cache learns of changes. */
export type CacheWatchMode = 'auto' | 'persistentRecursive' | 'oneShot';

/** Options shared by the caches. */
export interface CacheOptions {
  /**
   * 'auto' (default): a persistent recursive watch, or one-shot watches when the server
   * answers Unimplemented (ZooKeeper before 3.6). 'persistentRecursive' fails instead of
   * falling back; 'oneShot' always uses one-shot watches.
   */
  readonly watchMode?: CacheWatchMode;
  /**
   * Called after the session expires for a new client; the cache then rebuilds on it.
   * Without it, an expiry ends the cache (event `error`, the cache stops).
   */
  readonly renewSession?: SessionFactory;
}

export interface EngineSink {
  added(node: CachedNode): void;
  updated(node: CachedNode, previous: CachedNode): void;
  removed(previous: CachedNode): void;
  initialized(): void;
  error(error: unknown): void;
}

export class CacheEngine {
  readonly nodes = new Map<string, CachedNode>();
  private mode: 'persistentRecursive' | 'oneShot' | undefined;
  private readonly keeper: SessionKeeper;
  private work: Promise<void> = Promise.resolve();
  private closed = false;
  private started = false;
  private disconnected = false;
  private readonly watchedData = new Set<string>();
  private readonly watchedChildren = new Set<string>();
  private readonly listener = (event: WatchedEvent) => this.onEvent(this.keeper.client, event);

  constructor(
    zk: ZabClient,
    readonly root: string,
    private readonly maxDepth: number,
    private readonly options: CacheOptions,
    private readonly sink: EngineSink,
  ) {
    this.keeper = new SessionKeeper(zk, options.renewSession, {
      state: (state) => {
        if (state === 'disconnected') this.disconnected = true;
        else if ((state === 'connected' || state === 'connectedReadOnly') && this.disconnected) {
          this.disconnected = false;
          this.enqueue(() => this.syncNode(this.root, true));
        }
      },
      renewed: (client) => this.enqueue(() => this.rebuildOn(client)),
      lost: (state) => {
        if (this.closed) return;
        this.sink.error(new Error(`the cache of ${this.root} stopped: its client is ${state}`));
      },
      error: (error) => this.sink.error(error),
    });
  }

  /** The watch mode in use, once started. */
  get watchMode(): 'persistentRecursive' | 'oneShot' | undefined {
    return this.mode;
  }

  get client(): ZabClient {
    return this.keeper.client;
  }

  /** Sets the watch and loads the tree; resolves once the initial state is cached. */
  async start(): Promise<void> {
    if (this.started) throw new Error('the cache was already started');
    this.started = true;
    await this.watchRoot(this.keeper.client);
    const loaded = this.enqueue(() => this.syncNode(this.root));
    await loaded;
    this.sink.initialized();
  }

  private async watchRoot(zk: ZabClient): Promise<void> {
    const wanted = this.options.watchMode ?? 'auto';
    if (wanted === 'oneShot') {
      this.mode = 'oneShot';
      return;
    }
    for (;;) {
      try {
        await zk.addWatch(this.root, this.listener, { recursive: true });
        this.mode = 'persistentRecursive';
        return;
      } catch (error) {
        if (isCode(error, 'Unimplemented') && wanted === 'auto') {
          this.mode = 'oneShot';
          return;
        }
        if (!isConnectionLoss(error)) throw error;
        await new Promise<void>((resolve) => {
          const stop = zk.onStateChange((state) => {
            if (state !== 'disconnected' && state !== 'connecting') {
              stop();
              resolve();
            }
          });
          if (isConnected(zk) || zk.state === 'closed' || zk.state === 'expired') {
            stop();
            resolve();
          }
        });
      }
    }
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.work.then(async () => {
      if (this.closed) return;
      try {
        await task();
      } catch (error) {
        if (this.closed) return;
        if (isConnectionLoss(error)) return; // the reconnect re-syncs everything
        if (isCode(error, 'SessionExpired')) return; // renewal rebuilds
        this.sink.error(error);
      }
    });
    this.work = run;
    return run;
  }

  private onEvent(zk: ZabClient, event: WatchedEvent): void {
    if (this.closed || zk !== this.keeper.client) return;
    const path = event.path;
    if (!isUnder(this.root, path) || depthBelow(this.root, path) > this.maxDepth) return;
    if (event.type === 'NodeDeleted') {
      this.watchedData.delete(path);
      this.watchedChildren.delete(path);
    } else if (event.type === 'NodeDataChanged') this.watchedData.delete(path);
    else if (event.type === 'NodeChildrenChanged') this.watchedChildren.delete(path);
    this.enqueue(async () => {
      switch (event.type) {
        case 'NodeDeleted':
          this.removeSubtree(path);
          if (path === this.root && this.mode === 'oneShot') await this.syncNode(path);
          return;
        case 'NodeCreated':
          if (this.mode === 'oneShot') await this.syncNode(path);
          else await this.refreshData(path);
          return;
        case 'NodeDataChanged':
          await this.refreshData(path);
          return;
        case 'NodeChildrenChanged':
          await this.refreshChildren(path);
          return;
      }
    });
  }

  private get oneShot(): boolean {
    return this.mode === 'oneShot';
  }

  private watchOpt(set: Set<string>, path: string): { watch?: (event: WatchedEvent) => void } {
    if (!this.oneShot) return {};
    set.add(path);
    return { watch: this.listener };
  }

  /** Re-reads one node's data; returns whether it exists. */
  private async refreshData(path: string): Promise<boolean> {
    const zk = this.keeper.client;
    try {
      const { data, stat } = await zk.getData(path, this.watchOpt(this.watchedData, path));
      this.upsert({ path, data, stat });
      return true;
    } catch (error) {
      if (!isCode(error, 'NoNode')) throw error;
      this.watchedData.delete(path);
      this.removeSubtree(path);
      if (path === this.root && this.oneShot) {
        // Wait for the root to appear.
        const stat = await zk.exists(path, this.watchOpt(this.watchedData, path));
        if (stat !== null) return this.refreshData(path);
      }
      return false;
    }
  }

  /** Re-lists a node's children: new ones are loaded, vanished ones removed. */
  private async refreshChildren(path: string, deep = false): Promise<void> {
    if (depthBelow(this.root, path) >= this.maxDepth) return;
    let children: string[];
    try {
      children = await this.keeper.client.getChildren(path, this.watchOpt(this.watchedChildren, path));
    } catch (error) {
      if (!isCode(error, 'NoNode')) throw error;
      this.watchedChildren.delete(path);
      this.removeSubtree(path);
      return;
    }
    const present = new Set(children.map((name) => childPath(path, name)));
    for (const cached of this.childrenOf(path)) if (!present.has(cached)) this.removeSubtree(cached);
    for (const child of present) {
      if (deep || !this.nodes.has(child)) await this.syncNode(child, deep);
    }
  }

  /**
   * Re-reads a node and its children; `deep` re-reads every node below too (after a
   * reconnect or a new session), otherwise only the children not cached yet are loaded.
   */
  private async syncNode(path: string, deep = false): Promise<void> {
    if (!(await this.refreshData(path))) return;
    await this.refreshChildren(path, deep);
  }

  private async rebuildOn(client: ZabClient): Promise<void> {
    this.watchedData.clear();
    this.watchedChildren.clear();
    await this.watchRoot(client);
    await this.syncNode(this.root, true);
  }

  private childrenOf(path: string): string[] {
    const prefix = path === '/' ? '/' : `${path}/`;
    return [...this.nodes.keys()].filter(
      (key) => key !== path && key.startsWith(prefix) && !key.slice(prefix.length).includes('/'),
    );
  }

  private upsert(node: CachedNode): void {
    const previous = this.nodes.get(node.path);
    if (
      previous !== undefined &&
      previous.stat.mzxid === node.stat.mzxid &&
      previous.stat.czxid === node.stat.czxid
    )
      return;
    if (previous !== undefined && previous.stat.czxid !== node.stat.czxid) {
      // Deleted and created again between two reads.
      this.removeSubtree(node.path);
      this.nodes.set(node.path, node);
      this.sink.added(node);
      return;
    }
    this.nodes.set(node.path, node);
    if (previous === undefined) this.sink.added(node);
    else this.sink.updated(node, previous);
  }

  private removeSubtree(path: string): void {
    const prefix = path === '/' ? '/' : `${path}/`;
    const doomed = [...this.nodes.keys()]
      .filter((key) => key === path || key.startsWith(prefix))
      .sort((a, b) => b.length - a.length);
    for (const key of doomed) {
      const previous = this.nodes.get(key)!;
      this.nodes.delete(key);
      this.sink.removed(previous);
    }
  }

  /** Stops watching: removes the server watches and every listener and timer. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.keeper.close();
    const zk = this.keeper.client;
    const removals: Promise<void>[] = [];
    if (this.mode === 'persistentRecursive')
      removals.push(zk.removeWatches(this.root, 'persistentRecursive', this.listener));
    for (const path of this.watchedData) removals.push(zk.removeWatches(path, 'data', this.listener));
    for (const path of this.watchedChildren) removals.push(zk.removeWatches(path, 'children', this.listener));
    this.watchedData.clear();
    this.watchedChildren.clear();
    await Promise.allSettled(removals);
  }
}
