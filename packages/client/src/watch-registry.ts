/**
 * The client's side of watches: which callbacks wait for which events. It mirrors
 * ZooKeeper's client watch manager, so an event reaches exactly the callbacks whose
 * registration it answers, each at most once, and one-shot registrations are consumed.
 */
import {
  EventType,
  type EventTypeValue,
  parentOf,
  rootPath,
  WatcherType,
  type WatcherTypeValue,
} from '@zabkit/core';

/** A watch event as the client API delivers it. */
export interface WatchedEvent {
  readonly type: 'NodeCreated' | 'NodeDeleted' | 'NodeDataChanged' | 'NodeChildrenChanged';
  readonly path: string;
}

/** Called with each event a watch delivers. */
export type WatchListener = (event: WatchedEvent) => void;

const typeNames: Partial<Record<EventTypeValue, WatchedEvent['type']>> = {
  [EventType.NodeCreated]: 'NodeCreated',
  [EventType.NodeDeleted]: 'NodeDeleted',
  [EventType.NodeDataChanged]: 'NodeDataChanged',
  [EventType.NodeChildrenChanged]: 'NodeChildrenChanged',
};

/** The registration tables of the client: one-shot data, exist and child watches, and persistent ones. */
export type WatchKind = 'data' | 'exist' | 'child' | 'persistent' | 'persistentRecursive';

/**
 * Registrations by server path. Each listener remembers the root (chroot or namespace) it was
 * registered under, so the event it gets carries the path as that caller names it.
 */
export class WatchRegistry {
  private readonly tables: Record<WatchKind, Map<string, Map<WatchListener, string>>> = {
    data: new Map(),
    exist: new Map(),
    child: new Map(),
    persistent: new Map(),
    persistentRecursive: new Map(),
  };

  add(kind: WatchKind, path: string, listener: WatchListener, root = rootPath): void {
    const table = this.tables[kind];
    let listeners = table.get(path);
    if (listeners === undefined) table.set(path, (listeners = new Map()));
    listeners.set(listener, root);
  }

  /** Removes one listener, or every listener at the path when none is named. */
  remove(kind: WatchKind, path: string, listener?: WatchListener): boolean {
    const listeners = this.tables[kind].get(path);
    if (listeners === undefined) return false;
    const removed = listener === undefined ? listeners.size > 0 : listeners.delete(listener);
    if (listener === undefined || listeners.size === 0) this.tables[kind].delete(path);
    return removed;
  }

  /** The listeners of `kind` at `path` now. */
  listeners(kind: WatchKind, path: string): WatchListener[] {
    return [...(this.tables[kind].get(path)?.keys() ?? [])];
  }

  has(kind: WatchKind, path: string): boolean {
    return (this.tables[kind].get(path)?.size ?? 0) > 0;
  }

  /** The registrations a WatcherType covers on the client side. */
  kindsFor(type: WatcherTypeValue): WatchKind[] {
    switch (type) {
      case WatcherType.Children:
        return ['child'];
      case WatcherType.Data:
        return ['data', 'exist'];
      case WatcherType.Persistent:
        return ['persistent'];
      case WatcherType.PersistentRecursive:
        return ['persistentRecursive'];
      default:
        return ['data', 'exist', 'child', 'persistent', 'persistentRecursive'];
    }
  }

  /** Paths per kind, for re-registering everything after a reconnect. */
  paths(kind: WatchKind): string[] {
    return [...this.tables[kind].keys()].sort();
  }

  isEmpty(): boolean {
    return Object.values(this.tables).every((table) => table.size === 0);
  }

  /**
   * The listeners an event from the server reaches (each with its root), consuming one-shot
   * registrations. Returns `undefined` for event types the client API does not surface.
   */
  materialize(
    type: EventTypeValue,
    path: string,
  ): { type: WatchedEvent['type']; listeners: Map<WatchListener, string> } | undefined {
    const name = typeNames[type];
    if (name === undefined) return undefined;
    const reached = new Map<WatchListener, string>();
    const reach = (listeners: Map<WatchListener, string> | undefined) => {
      for (const [listener, root] of listeners ?? []) reached.set(listener, root);
    };
    const take = (kind: WatchKind) => {
      const listeners = this.tables[kind].get(path);
      if (listeners === undefined) return;
      this.tables[kind].delete(path);
      reach(listeners);
    };
    switch (type) {
      case EventType.NodeCreated:
      case EventType.NodeDataChanged:
        take('data');
        take('exist');
        break;
      case EventType.NodeChildrenChanged:
        take('child');
        break;
      case EventType.NodeDeleted:
        take('data');
        take('exist');
        take('child');
        break;
    }
    reach(this.tables.persistent.get(path));
    if (type !== EventType.NodeChildrenChanged) {
      let current = path;
      for (;;) {
        reach(this.tables.persistentRecursive.get(current));
        if (current === rootPath) break;
        current = parentOf(current);
      }
    }
    return { type: name, listeners: reached };
  }

  clear(): void {
    for (const table of Object.values(this.tables)) table.clear();
  }
}
