/**
 * Server-side watches with ZooKeeper's semantics. As in ZooKeeper there are two tables,
 * data watches and child watches, each mapping a path to its watchers and each watcher to
 * the modes it holds there: a one-shot (set by getData, exists or getChildren), persistent,
 * or persistent-recursive (data table only, so it never sees NodeChildrenChanged).
 */
import { parentOf, rootPath } from '../path.js';
import {
  EventType,
  type EventTypeValue,
  type WatchEvent,
  WatcherType,
  type WatcherTypeValue,
} from './events.js';

/** A client connection id. */
export type WatcherId = number;

export interface Delivery {
  readonly watcher: WatcherId;
  readonly event: WatchEvent;
}

const OneShot = 1;
const Persistent = 2;
const PersistentRecursive = 4;
type ModeBits = number;

/** One table: path -> watcher -> modes held at that path. */
class WatchTable {
  private readonly byPath = new Map<string, Map<WatcherId, ModeBits>>();
  private recursiveCount = 0;

  add(path: string, watcher: WatcherId, mode: ModeBits): void {
    let watchers = this.byPath.get(path);
    if (watchers === undefined) this.byPath.set(path, (watchers = new Map()));
    const old = watchers.get(watcher) ?? 0;
    if ((mode & PersistentRecursive) !== 0 && (old & PersistentRecursive) === 0) this.recursiveCount++;
    watchers.set(watcher, old | mode);
  }

  has(path: string, watcher: WatcherId, mode: ModeBits | undefined): boolean {
    const held = this.byPath.get(path)?.get(watcher);
    if (held === undefined) return false;
    return mode === undefined || (held & mode) !== 0;
  }

  /** Removes `mode` (every mode when undefined); true when anything was removed. */
  remove(path: string, watcher: WatcherId, mode: ModeBits | undefined): boolean {
    const watchers = this.byPath.get(path);
    const held = watchers?.get(watcher);
    if (watchers === undefined || held === undefined) return false;
    const remaining = mode === undefined ? 0 : held & ~mode;
    if (remaining === held) return false;
    this.set(watchers, path, watcher, held, remaining);
    return true;
  }

  private set(
    watchers: Map<WatcherId, ModeBits>,
    path: string,
    watcher: WatcherId,
    held: ModeBits,
    next: ModeBits,
  ): void {
    if ((held & PersistentRecursive) !== 0 && (next & PersistentRecursive) === 0) this.recursiveCount--;
    if (next === 0) {
      watchers.delete(watcher);
      if (watchers.size === 0) this.byPath.delete(path);
    } else {
      watchers.set(watcher, next);
    }
  }

  removeWatcher(watcher: WatcherId): void {
    for (const [path, watchers] of [...this.byPath]) {
      const held = watchers.get(watcher);
      if (held !== undefined) this.set(watchers, path, watcher, held, 0);
    }
  }

  /**
   * Fires an event at `path`: every watcher there, consuming its one-shot, and every
   * recursive watcher on an ancestor. Returns the matched watchers in ascending order.
   */
  trigger(path: string): WatcherId[] {
    const matched = new Set<WatcherId>();
    const exact = this.byPath.get(path);
    if (exact !== undefined) {
      for (const [watcher, held] of [...exact]) {
        matched.add(watcher);
        if ((held & OneShot) !== 0) this.set(exact, path, watcher, held, held & ~OneShot);
      }
    }
    if (this.recursiveCount > 0 && path !== rootPath) {
      let ancestor = path;
      do {
        ancestor = parentOf(ancestor);
        for (const [watcher, held] of this.byPath.get(ancestor) ?? []) {
          if ((held & PersistentRecursive) !== 0) matched.add(watcher);
        }
      } while (ancestor !== rootPath);
    }
    return [...matched].sort((a, b) => a - b);
  }

  pathsOf(watcher: WatcherId, mode: ModeBits): string[] {
    const paths: string[] = [];
    for (const [path, watchers] of this.byPath) {
      if (((watchers.get(watcher) ?? 0) & mode) !== 0) paths.push(path);
    }
    return paths.sort();
  }

  stats(): { paths: number; watches: number; watchers: Set<WatcherId> } {
    let watches = 0;
    const watchers = new Set<WatcherId>();
    for (const entries of this.byPath.values()) {
      watches += entries.size;
      for (const watcher of entries.keys()) watchers.add(watcher);
    }
    return { paths: this.byPath.size, watches, watchers };
  }
}

export class WatchManager {
  private readonly dataWatches = new WatchTable();
  private readonly childWatches = new WatchTable();

  /** A one-shot watch from getData, or from exists whether or not the node exists. */
  addDataWatch(path: string, watcher: WatcherId): void {
    this.dataWatches.add(path, watcher, OneShot);
  }

  /** A one-shot watch from getChildren. */
  addChildWatch(path: string, watcher: WatcherId): void {
    this.childWatches.add(path, watcher, OneShot);
  }

  addPersistentWatch(path: string, watcher: WatcherId, recursive: boolean): void {
    if (recursive) {
      this.dataWatches.add(path, watcher, PersistentRecursive);
      return;
    }
    this.dataWatches.add(path, watcher, Persistent);
    this.childWatches.add(path, watcher, Persistent);
  }

  nodeCreated(path: string): Delivery[] {
    return [
      ...deliveries(this.dataWatches.trigger(path), EventType.NodeCreated, path),
      ...this.childrenChanged(path),
    ];
  }

  nodeDeleted(path: string): Delivery[] {
    const dataMatched = this.dataWatches.trigger(path);
    const suppressed = new Set(dataMatched);
    const childMatched = this.childWatches.trigger(path).filter((watcher) => !suppressed.has(watcher));
    return [
      ...deliveries(dataMatched, EventType.NodeDeleted, path),
      ...deliveries(childMatched, EventType.NodeDeleted, path),
      ...this.childrenChanged(path),
    ];
  }

  nodeDataChanged(path: string): Delivery[] {
    return deliveries(this.dataWatches.trigger(path), EventType.NodeDataChanged, path);
  }

  private childrenChanged(path: string): Delivery[] {
    if (path === rootPath) return [];
    const parent = parentOf(path);
    return deliveries(this.childWatches.trigger(parent), EventType.NodeChildrenChanged, parent);
  }

  removeWatches(path: string, type: WatcherTypeValue, watcher: WatcherId): boolean {
    switch (type) {
      case WatcherType.Children:
        return this.childWatches.remove(path, watcher, OneShot);
      case WatcherType.Data:
        return this.dataWatches.remove(path, watcher, OneShot);
      case WatcherType.Persistent: {
        const fromChild = this.childWatches.remove(path, watcher, Persistent);
        const fromData = this.dataWatches.remove(path, watcher, Persistent);
        return fromChild || fromData;
      }
      case WatcherType.PersistentRecursive:
        return this.dataWatches.remove(path, watcher, PersistentRecursive);
      default: {
        const fromChild = this.childWatches.remove(path, watcher, undefined);
        const fromData = this.dataWatches.remove(path, watcher, undefined);
        return fromChild || fromData;
      }
    }
  }

  containsWatcher(path: string, type: WatcherTypeValue, watcher: WatcherId): boolean {
    switch (type) {
      case WatcherType.Children:
        return this.childWatches.has(path, watcher, OneShot);
      case WatcherType.Data:
        return this.dataWatches.has(path, watcher, OneShot);
      case WatcherType.Persistent:
        return this.dataWatches.has(path, watcher, Persistent);
      case WatcherType.PersistentRecursive:
        return this.dataWatches.has(path, watcher, PersistentRecursive);
      default:
        return (
          this.childWatches.has(path, watcher, undefined) || this.dataWatches.has(path, watcher, undefined)
        );
    }
  }

  /** Drops every registration of a connection that is gone. */
  removeWatcher(watcher: WatcherId): void {
    this.dataWatches.removeWatcher(watcher);
    this.childWatches.removeWatcher(watcher);
  }

  watchedPaths(watcher: WatcherId): {
    data: string[];
    child: string[];
    persistent: string[];
    persistentRecursive: string[];
  } {
    return {
      data: this.dataWatches.pathsOf(watcher, OneShot),
      child: this.childWatches.pathsOf(watcher, OneShot),
      persistent: this.dataWatches.pathsOf(watcher, Persistent),
      persistentRecursive: this.dataWatches.pathsOf(watcher, PersistentRecursive),
    };
  }

  counts(): { watchers: number; paths: number; watches: number } {
    const data = this.dataWatches.stats();
    const child = this.childWatches.stats();
    return {
      watchers: new Set([...data.watchers, ...child.watchers]).size,
      paths: data.paths + child.paths,
      watches: data.watches + child.watches,
    };
  }
}

function deliveries(watchers: readonly WatcherId[], type: EventTypeValue, path: string): Delivery[] {
  return watchers.map((watcher) => ({ watcher, event: { type, path } }));
}
