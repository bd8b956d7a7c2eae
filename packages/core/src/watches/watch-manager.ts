/**
 * Server-side watch bookkeeping with ZooKeeper 3.8's semantics.
 *
 * As in ZooKeeper there are two tables, data watches and child watches. Each maps a path to
 * the watchers registered there and, for each watcher, the set of modes it holds at that
 * path: a one-shot (STANDARD: set by getData, exists or getChildren), PERSISTENT, or
 * PERSISTENT_RECURSIVE. The table a registration lives in decides which events reach it:
 * recursive watches live in the data table only, so they never see NodeChildrenChanged; a
 * plain persistent watch lives in both, so it sees its own node's events and its child list
 * changing, but nothing about its descendants' data.
 */
import { assert, assertNever } from '../errors.js';
import { parentOf, rootPath, selfAndAncestors } from '../path.js';
import {
  EventType,
  type EventTypeValue,
  type WatchEvent,
  WatcherType,
  type WatcherTypeValue,
} from './events.js';

/** A client connection id: watches belong to connections, not sessions. */
export type WatcherId = number;

/** One event for one connection. */
export interface Delivery {
  readonly watcher: WatcherId;
  readonly event: WatchEvent;
}

/** Registration modes as bits, so everything a watcher holds at a path fits one number. */
const Mode = { Standard: 1, Persistent: 2, PersistentRecursive: 4 } as const;
/** A set of `Mode` bits. The empty set means "not registered". */
type ModeSet = number;
const noModes: ModeSet = 0;
const anyMode: ModeSet = Mode.Standard | Mode.Persistent | Mode.PersistentRecursive;

const noWatchers: ReadonlySet<WatcherId> = new Set();

interface TriggerResult {
  /** Every watcher the event matched, suppressed or not, in ascending order. */
  readonly matched: ReadonlySet<WatcherId>;
  /** The events to send, one per matched watcher that was not suppressed. */
  readonly deliveries: readonly Delivery[];
}

/** A trigger that matched no watcher; shared by every tree of the process, so frozen. */
const nothingMatched: TriggerResult = Object.freeze({ matched: noWatchers, deliveries: Object.freeze([]) });

/** What a WatcherType addresses: a table and the modes to look for in it. */
type Target = readonly [WatchTable, ModeSet];

/** One of ZooKeeper's two watch tables: path -> watcher -> modes held there. */
class WatchTable {
  private readonly modesByPath = new Map<string, Map<WatcherId, ModeSet>>();
  /** Reverse index, so a closing connection and watchedPaths touch only that watcher's paths. */
  private readonly pathsByWatcher = new Map<WatcherId, Set<string>>();
  /** Registrations holding PersistentRecursive. While zero, a trigger skips the ancestor walk. */
  private recursiveRegistrations = 0;

  add(path: string, watcher: WatcherId, mode: ModeSet): void {
    this.setModes(path, watcher, this.modesOf(path, watcher) | mode);
  }

  /** True when the watcher holds any of `modes` at `path`. */
  holds(path: string, watcher: WatcherId, modes: ModeSet): boolean {
    return (this.modesOf(path, watcher) & modes) !== noModes;
  }

  /** Drops `modes` from the watcher's registration at `path`; true when it held any of them. */
  remove(path: string, watcher: WatcherId, modes: ModeSet): boolean {
    const held = this.modesOf(path, watcher);
    if ((held & modes) === noModes) return false;
    this.setModes(path, watcher, held & ~modes);
    return true;
  }

  removeWatcher(watcher: WatcherId): void {
    // Copy first: unregistering edits the very set being walked.
    for (const path of [...(this.pathsByWatcher.get(watcher) ?? [])]) this.setModes(path, watcher, noModes);
  }

  /**
   * Fires `type` at `path`. Everyone registered at `path` matches, and their one-shots are
   * consumed; on each ancestor only recursive watchers match. Watchers in `suppress` still
   * match (and lose their one-shots) but get no delivery: they already heard of this change.
   */
  trigger(path: string, type: EventTypeValue, suppress: ReadonlySet<WatcherId> = noWatchers): TriggerResult {
    // Most changes touch a path nobody watches: every write passes here, so it allocates nothing.
    if (this.recursiveRegistrations === 0 && !this.modesByPath.has(path)) return nothingMatched;
    const matched = new Set<WatcherId>();
    this.matchExactPath(path, matched);
    if (this.recursiveRegistrations > 0) this.matchRecursiveAncestors(path, matched);
    // Ascending ids make delivery order independent of registration history.
    const ordered = [...matched].sort(ascending);
    const event: WatchEvent = { type, path };
    const deliveries = ordered
      .filter((watcher) => !suppress.has(watcher))
      .map((watcher) => ({ watcher, event }));
    return { matched: new Set(ordered), deliveries };
  }

  /** The paths where the watcher holds `mode`, sorted. */
  pathsHolding(watcher: WatcherId, mode: ModeSet): string[] {
    const paths = [...(this.pathsByWatcher.get(watcher) ?? [])];
    return paths.filter((path) => this.holds(path, watcher, mode)).sort();
  }

  /** Every watcher's paths, sorted, in watcher order. */
  byWatcher(): Map<WatcherId, string[]> {
    const ids = [...this.pathsByWatcher.keys()].sort((a, b) => a - b);
    return new Map(ids.map((id) => [id, [...this.pathsByWatcher.get(id)!].sort()]));
  }

  /** Connections with a registration, watched paths, and (path, connection) registrations. */
  summary(): { watchers: number; paths: number; watches: number } {
    let watches = 0;
    for (const paths of this.pathsByWatcher.values()) watches += paths.size;
    return { watchers: this.pathsByWatcher.size, paths: this.modesByPath.size, watches };
  }

  private matchExactPath(path: string, matched: Set<WatcherId>): void {
    const watchers = this.modesByPath.get(path);
    if (watchers === undefined) return;
    // Copy first: consuming a watcher's last one-shot deletes it from this map.
    for (const [watcher, held] of [...watchers]) {
      matched.add(watcher);
      if ((held & Mode.Standard) !== noModes) this.setModes(path, watcher, held & ~Mode.Standard);
    }
  }

  private matchRecursiveAncestors(path: string, matched: Set<WatcherId>): void {
    for (const ancestor of selfAndAncestors(path)) {
      if (ancestor === path) continue;
      for (const [watcher, held] of this.modesByPath.get(ancestor) ?? []) {
        if ((held & Mode.PersistentRecursive) !== noModes) matched.add(watcher);
      }
    }
  }

  private modesOf(path: string, watcher: WatcherId): ModeSet {
    return this.modesByPath.get(path)?.get(watcher) ?? noModes;
  }

  /** The one place registrations change, so both indexes and the recursive count stay in step. */
  private setModes(path: string, watcher: WatcherId, next: ModeSet): void {
    const held = this.modesOf(path, watcher);
    if (next === held) return;
    this.recursiveRegistrations += hasRecursive(next) - hasRecursive(held);
    assert(this.recursiveRegistrations >= 0, 'recursive watch count went negative');
    if (next === noModes) this.unregister(path, watcher);
    else this.register(path, watcher, next);
  }

  private register(path: string, watcher: WatcherId, modes: ModeSet): void {
    let watchers = this.modesByPath.get(path);
    if (watchers === undefined) this.modesByPath.set(path, (watchers = new Map()));
    watchers.set(watcher, modes);
    let paths = this.pathsByWatcher.get(watcher);
    if (paths === undefined) this.pathsByWatcher.set(watcher, (paths = new Set()));
    paths.add(path);
  }

  private unregister(path: string, watcher: WatcherId): void {
    const watchers = this.modesByPath.get(path);
    const paths = this.pathsByWatcher.get(watcher);
    assert(watchers !== undefined && paths !== undefined, 'unregistering a watch that is not there');
    watchers.delete(watcher);
    if (watchers.size === 0) this.modesByPath.delete(path);
    paths.delete(path);
    if (paths.size === 0) this.pathsByWatcher.delete(watcher);
  }
}

/** Every watch a server holds, and the events each change to the tree fires. */
export class WatchManager {
  private readonly dataWatches = new WatchTable();
  private readonly childWatches = new WatchTable();
  /**
   * Told of each trigger that matched a watcher: its event type and how many watchers it
   * matched, suppressed ones included (ZooKeeper's node_*_watch_count figures). Observes only.
   */
  onTriggered: ((type: EventTypeValue, watchers: number) => void) | undefined;

  /** A one-shot watch from getData, or from exists whether or not the node exists. */
  addDataWatch(path: string, watcher: WatcherId): void {
    this.dataWatches.add(path, watcher, Mode.Standard);
  }

  /** A one-shot watch from getChildren. */
  addChildWatch(path: string, watcher: WatcherId): void {
    this.childWatches.add(path, watcher, Mode.Standard);
  }

  /**
   * A watch from addWatch. A plain persistent watch goes in both tables, so it hears of its
   * child list changing; a recursive one only in the data table, so it hears of every
   * descendant's creation, deletion and data change but never of child-list changes.
   */
  addPersistentWatch(path: string, watcher: WatcherId, recursive: boolean): void {
    if (recursive) {
      this.dataWatches.add(path, watcher, Mode.PersistentRecursive);
      return;
    }
    this.dataWatches.add(path, watcher, Mode.Persistent);
    this.childWatches.add(path, watcher, Mode.Persistent);
  }

  /** Fires NodeCreated on `path`'s data watches and NodeChildrenChanged on its parent's child watches. */
  nodeCreated(path: string): readonly Delivery[] {
    assert(path !== rootPath, 'the root is never created');
    const created = this.fire(this.dataWatches, path, EventType.NodeCreated).deliveries;
    const parent = this.parentChildrenChanged(path);
    if (parent.length === 0) return created;
    return created.length === 0 ? parent : [...created, ...parent];
  }

  /**
   * Fires NodeDeleted on `path`'s data and child watches (once per watcher) and NodeChildrenChanged
   * on its parent's child watches.
   */
  nodeDeleted(path: string): readonly Delivery[] {
    assert(path !== rootPath, 'the root is never deleted');
    const data = this.fire(this.dataWatches, path, EventType.NodeDeleted);
    // A watcher holding both a data and a child watch on the node hears of the deletion
    // once, yet both of its one-shots are spent.
    const child = this.fire(this.childWatches, path, EventType.NodeDeleted, data.matched);
    return [...data.deliveries, ...child.deliveries, ...this.parentChildrenChanged(path)];
  }

  /** Fires NodeDataChanged on `path`'s data watches (recursive ones on its ancestors included). */
  nodeDataChanged(path: string): readonly Delivery[] {
    return this.fire(this.dataWatches, path, EventType.NodeDataChanged).deliveries;
  }

  /** Removes what `type` names at `path`; true when anything was removed (else NoWatcher). */
  removeWatches(path: string, type: WatcherTypeValue, watcher: WatcherId): boolean {
    let removed = false;
    // No short-circuit: Persistent and Any must clear both tables.
    for (const [table, modes] of this.removalTargets(type))
      removed = table.remove(path, watcher, modes) || removed;
    return removed;
  }

  /** True when the watcher holds what `type` names at `path` (checkWatches). */
  containsWatcher(path: string, type: WatcherTypeValue, watcher: WatcherId): boolean {
    return this.lookupTargets(type).some(([table, modes]) => table.holds(path, watcher, modes));
  }

  /** Drops every registration of a connection that is gone. */
  removeWatcher(watcher: WatcherId): void {
    this.dataWatches.removeWatcher(watcher);
    this.childWatches.removeWatcher(watcher);
  }

  /** The paths a connection watches, by kind and sorted: what setWatches would re-register. */
  watchedPaths(watcher: WatcherId): {
    data: string[];
    child: string[];
    persistent: string[];
    persistentRecursive: string[];
  } {
    return {
      data: this.dataWatches.pathsHolding(watcher, Mode.Standard),
      child: this.childWatches.pathsHolding(watcher, Mode.Standard),
      // A plain persistent watch is in both tables; the data table alone lists each once.
      persistent: this.dataWatches.pathsHolding(watcher, Mode.Persistent),
      persistentRecursive: this.dataWatches.pathsHolding(watcher, Mode.PersistentRecursive),
    };
  }

  /**
   * The wchs summary. ZooKeeper builds it from the data table alone (DataTree delegates to
   * dataWatches), so child-only watches do not show here; `watchCount` covers both tables.
   */
  counts(): { watchers: number; paths: number; watches: number } {
    return this.dataWatches.summary();
  }

  /**
   * The data table's paths by watcher, sorted: what ZooKeeper's wchc and wchp list (its
   * DataTree reports its data watches alone there, as for wchs).
   */
  dataWatchesByWatcher(): Map<WatcherId, string[]> {
    return this.dataWatches.byWatcher();
  }

  /** Registrations in both tables, one per (path, connection) in each: mntr's watch_count. */
  watchCount(): number {
    return this.dataWatches.summary().watches + this.childWatches.summary().watches;
  }

  private parentChildrenChanged(path: string): readonly Delivery[] {
    return this.fire(this.childWatches, parentOf(path), EventType.NodeChildrenChanged).deliveries;
  }

  /** Triggers `type` on `path` in one table, and reports it when it matched any watcher. */
  private fire(
    table: WatchTable,
    path: string,
    type: EventTypeValue,
    suppress?: ReadonlySet<WatcherId>,
  ): TriggerResult {
    const result = table.trigger(path, type, suppress);
    if (result.matched.size > 0) this.onTriggered?.(type, result.matched.size);
    return result;
  }

  private removalTargets(type: WatcherTypeValue): Target[] {
    switch (type) {
      case WatcherType.Children:
        return [[this.childWatches, Mode.Standard]];
      case WatcherType.Data:
        return [[this.dataWatches, Mode.Standard]];
      case WatcherType.Persistent:
        return [
          [this.childWatches, Mode.Persistent],
          [this.dataWatches, Mode.Persistent],
        ];
      case WatcherType.PersistentRecursive:
        return [[this.dataWatches, Mode.PersistentRecursive]];
      case WatcherType.Any:
        return [
          [this.childWatches, anyMode],
          [this.dataWatches, anyMode],
        ];
      default:
        return assertNever(type, 'watcher type');
    }
  }

  private lookupTargets(type: WatcherTypeValue): Target[] {
    // A plain persistent watch is always in both tables, so checking the data table suffices.
    if (type === WatcherType.Persistent) return [[this.dataWatches, Mode.Persistent]];
    return this.removalTargets(type);
  }
}

function ascending(a: number, b: number): number {
  return a - b;
}

/** 1 when `modes` includes PersistentRecursive, else 0: the step for the recursive count. */
function hasRecursive(modes: ModeSet): number {
  return (modes & Mode.PersistentRecursive) !== noModes ? 1 : 0;
}
