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

export class WatchRegistry {
  private readonly tables: Record<WatchKind, Map<string, Set<WatchListener>>> = {
    data: new Map(),
    exist: new Map(),
    child: new Map(),
    persistent: new Map(),
    persistentRecursive: new Map(),
  };

  add(kind: WatchKind, path: string, listener: WatchListener): void {
    const table = this.tables[kind];
    let listeners = table.get(path);
    if (listeners === undefined) table.set(path, (listeners = new Set()));
    listeners.add(listener);
  }

  /** Removes one listener, or every listener at the path when none is named. */
  remove(kind: WatchKind, path: string, listener?: WatchListener): boolean {
    const listeners = this.tables[kind].get(path);
    if (listeners === undefined) return false;
    const removed = listener === undefined ? listeners.size > 0 : listeners.delete(listener);
    if (listener === undefined || listeners.size === 0) this.tables[kind].delete(path);
    return removed;
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
   * The listeners an event from the server reaches, consuming one-shot registrations.
   * Returns `undefined` for event types the client API does not surface.
   */
  materialize(
    type: EventTypeValue,
    path: string,
  ): { event: WatchedEvent; listeners: WatchListener[] } | undefined {
    const name = typeNames[type];
    if (name === undefined) return undefined;
    const reached = new Set<WatchListener>();
    const take = (kind: WatchKind) => {
      const listeners = this.tables[kind].get(path);
      if (listeners === undefined) return;
      this.tables[kind].delete(path);
      for (const listener of listeners) reached.add(listener);
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
    for (const listener of this.tables.persistent.get(path) ?? []) reached.add(listener);
    if (type !== EventType.NodeChildrenChanged) {
      let current = path;
      for (;;) {
        for (const listener of this.tables.persistentRecursive.get(current) ?? []) reached.add(listener);
        if (current === rootPath) break;
        current = parentOf(current);
      }
    }
    return { event: { type: name, path }, listeners: [...reached] };
  }

  clear(): WatchListener[] {
    const all = new Set<WatchListener>();
    for (const table of Object.values(this.tables)) {
      for (const listeners of table.values()) for (const listener of listeners) all.add(listener);
      table.clear();
    }
    return [...all];
  }
}
