import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventType, type EventTypeValue, WatcherType, type WatcherTypeValue } from '../src/watches/events.js';
import { type Delivery, type WatcherId, WatchManager } from '../src/watches/watch-manager.js';

const delivery = (watcher: WatcherId, type: EventTypeValue, path: string): Delivery => ({
  watcher,
  event: { type, path },
});
const created = (watcher: WatcherId, path: string) => delivery(watcher, EventType.NodeCreated, path);
const deleted = (watcher: WatcherId, path: string) => delivery(watcher, EventType.NodeDeleted, path);
const dataChanged = (watcher: WatcherId, path: string) => delivery(watcher, EventType.NodeDataChanged, path);
const childrenChanged = (watcher: WatcherId, path: string) =>
  delivery(watcher, EventType.NodeChildrenChanged, path);

describe('one-shot watches', () => {
  it('a data watch fires once and is then gone', () => {
    const wm = new WatchManager();
    wm.addDataWatch('/a', 1);
    expect(wm.nodeDataChanged('/a')).toEqual([dataChanged(1, '/a')]);
    expect(wm.nodeDataChanged('/a')).toEqual([]);
    expect(wm.containsWatcher('/a', WatcherType.Data, 1)).toBe(false);
  });

  it('registering the same one-shot twice still fires once', () => {
    const wm = new WatchManager();
    wm.addDataWatch('/a', 1);
    wm.addDataWatch('/a', 1);
    expect(wm.nodeDataChanged('/a')).toEqual([dataChanged(1, '/a')]);
    expect(wm.nodeDataChanged('/a')).toEqual([]);
  });

  it('an exists watch on a missing node fires NodeCreated', () => {
    const wm = new WatchManager();
    wm.addDataWatch('/a/b', 1);
    wm.addChildWatch('/a', 2);
    expect(wm.nodeCreated('/a/b')).toEqual([created(1, '/a/b'), childrenChanged(2, '/a')]);
    expect(wm.nodeCreated('/a/b')).toEqual([]);
  });

  it('a child watch fires NodeChildrenChanged once, and ignores data changes', () => {
    const wm = new WatchManager();
    wm.addChildWatch('/a', 1);
    expect(wm.nodeDataChanged('/a')).toEqual([]);
    expect(wm.nodeCreated('/a/b')).toEqual([childrenChanged(1, '/a')]);
    expect(wm.nodeDeleted('/a/b')).toEqual([]);
  });

  it('a child watch on the root sees top-level nodes come and go', () => {
    const wm = new WatchManager();
    wm.addChildWatch('/', 1);
    expect(wm.nodeCreated('/a')).toEqual([childrenChanged(1, '/')]);
  });

  it('only the exact path fires: no grandparent, no prefix sibling', () => {
    const wm = new WatchManager();
    wm.addChildWatch('/a', 1);
    wm.addDataWatch('/a', 2);
    wm.addDataWatch('/ab', 3);
    expect(wm.nodeCreated('/a/b/c')).toEqual([]);
    expect(wm.nodeDataChanged('/a/b')).toEqual([]);
    expect(wm.nodeDataChanged('/a')).toEqual([dataChanged(2, '/a')]);
  });
});

describe('delete', () => {
  it('a watcher with a data and a child watch on the node hears NodeDeleted once; both are spent', () => {
    const wm = new WatchManager();
    wm.addDataWatch('/p/c', 1);
    wm.addChildWatch('/p/c', 1);
    wm.addChildWatch('/p/c', 2);
    wm.addChildWatch('/p', 3);
    expect(wm.nodeDeleted('/p/c')).toEqual([
      deleted(1, '/p/c'),
      deleted(2, '/p/c'),
      childrenChanged(3, '/p'),
    ]);
    expect(wm.containsWatcher('/p/c', WatcherType.Data, 1)).toBe(false);
    expect(wm.containsWatcher('/p/c', WatcherType.Children, 1)).toBe(false);
    expect(wm.containsWatcher('/p/c', WatcherType.Children, 2)).toBe(false);
    expect(wm.watchCount()).toBe(0);
  });

  it('data-table deliveries come before child-table ones, whatever the ids', () => {
    const wm = new WatchManager();
    wm.addChildWatch('/a', 1);
    wm.addDataWatch('/a', 2);
    expect(wm.nodeDeleted('/a')).toEqual([deleted(2, '/a'), deleted(1, '/a')]);
  });

  it('a persistent watch hears its node deleted once and survives it', () => {
    const wm = new WatchManager();
    wm.addPersistentWatch('/a', 1, false);
    expect(wm.nodeDeleted('/a')).toEqual([deleted(1, '/a')]);
    expect(wm.nodeCreated('/a')).toEqual([created(1, '/a')]);
    expect(wm.containsWatcher('/a', WatcherType.Persistent, 1)).toBe(true);
  });
});

describe('persistent watches', () => {
  it('survive firing', () => {
    const wm = new WatchManager();
    wm.addDataWatch('/a', 1);
    wm.addPersistentWatch('/a', 2, false);
    expect(wm.nodeDataChanged('/a')).toEqual([dataChanged(1, '/a'), dataChanged(2, '/a')]);
    expect(wm.nodeDataChanged('/a')).toEqual([dataChanged(2, '/a')]);
  });

  it('a non-recursive one sees its own node and child list, nothing deeper', () => {
    const wm = new WatchManager();
    wm.addPersistentWatch('/a', 1, false);
    expect(wm.nodeCreated('/a')).toEqual([created(1, '/a')]);
    expect(wm.nodeDataChanged('/a')).toEqual([dataChanged(1, '/a')]);
    expect(wm.nodeCreated('/a/b')).toEqual([childrenChanged(1, '/a')]);
    expect(wm.nodeDataChanged('/a/b')).toEqual([]);
    expect(wm.nodeCreated('/a/b/c')).toEqual([]);
    expect(wm.nodeDeleted('/a/b')).toEqual([childrenChanged(1, '/a')]);
  });

  it('a recursive one sees descendants created, deleted and changed, but never NodeChildrenChanged', () => {
    const wm = new WatchManager();
    wm.addPersistentWatch('/a', 1, true);
    expect(wm.nodeCreated('/a')).toEqual([created(1, '/a')]);
    expect(wm.nodeCreated('/a/b')).toEqual([created(1, '/a/b')]);
    expect(wm.nodeCreated('/a/b/c')).toEqual([created(1, '/a/b/c')]);
    expect(wm.nodeDataChanged('/a/b/c')).toEqual([dataChanged(1, '/a/b/c')]);
    expect(wm.nodeDeleted('/a/b/c')).toEqual([deleted(1, '/a/b/c')]);
    expect(wm.nodeDataChanged('/a')).toEqual([dataChanged(1, '/a')]);
    expect(wm.nodeCreated('/ab')).toEqual([]);
    expect(wm.nodeCreated('/b/a')).toEqual([]);
  });

  it('a recursive one on the root sees everything', () => {
    const wm = new WatchManager();
    wm.addPersistentWatch('/', 1, true);
    expect(wm.nodeCreated('/x')).toEqual([created(1, '/x')]);
    expect(wm.nodeDataChanged('/x/y')).toEqual([dataChanged(1, '/x/y')]);
    expect(wm.nodeDataChanged('/')).toEqual([dataChanged(1, '/')]);
  });

  it('one event per watcher however many of its registrations match', () => {
    const wm = new WatchManager();
    wm.addPersistentWatch('/', 1, true);
    wm.addPersistentWatch('/a', 1, true);
    wm.addPersistentWatch('/a/b', 1, false);
    wm.addDataWatch('/a/b', 1);
    expect(wm.nodeDataChanged('/a/b')).toEqual([dataChanged(1, '/a/b')]);
    expect(wm.containsWatcher('/a/b', WatcherType.Data, 1)).toBe(false);
    expect(wm.nodeDataChanged('/a/b')).toEqual([dataChanged(1, '/a/b')]);
  });

  it('a one-shot on an ancestor does not see descendants even with a recursive watch elsewhere', () => {
    const wm = new WatchManager();
    wm.addPersistentWatch('/z', 1, true);
    wm.addDataWatch('/a', 2);
    wm.addPersistentWatch('/a', 3, false);
    expect(wm.nodeDataChanged('/a/b')).toEqual([]);
    expect(wm.containsWatcher('/a', WatcherType.Data, 2)).toBe(true);
  });
});

describe('removeWatches and containsWatcher', () => {
  /** Watcher 1 holding every kind of watch at /a. */
  const everything = (): WatchManager => {
    const wm = new WatchManager();
    wm.addDataWatch('/a', 1);
    wm.addChildWatch('/a', 1);
    wm.addPersistentWatch('/a', 1, false);
    wm.addPersistentWatch('/a', 1, true);
    return wm;
  };
  const kinds = (wm: WatchManager) =>
    [WatcherType.Data, WatcherType.Children, WatcherType.Persistent, WatcherType.PersistentRecursive].map(
      (type) => wm.containsWatcher('/a', type, 1),
    );

  it('contains each kind it holds, and nothing for another path or watcher', () => {
    const wm = everything();
    expect(kinds(wm)).toEqual([true, true, true, true]);
    expect(wm.containsWatcher('/a', WatcherType.Any, 1)).toBe(true);
    expect(wm.containsWatcher('/b', WatcherType.Any, 1)).toBe(false);
    expect(wm.containsWatcher('/a', WatcherType.Any, 2)).toBe(false);
  });

  it('each type removes only its own kind and keeps the others', () => {
    const wm = everything();
    expect(wm.removeWatches('/a', WatcherType.Children, 1)).toBe(true);
    expect(wm.removeWatches('/a', WatcherType.Children, 1)).toBe(false);
    expect(kinds(wm)).toEqual([true, false, true, true]);
    expect(wm.removeWatches('/a', WatcherType.Data, 1)).toBe(true);
    expect(kinds(wm)).toEqual([false, false, true, true]);
    expect(wm.removeWatches('/a', WatcherType.Persistent, 1)).toBe(true);
    expect(kinds(wm)).toEqual([false, false, false, true]);
    expect(wm.removeWatches('/a', WatcherType.Persistent, 1)).toBe(false);
    expect(wm.removeWatches('/a', WatcherType.PersistentRecursive, 1)).toBe(true);
    expect(kinds(wm)).toEqual([false, false, false, false]);
    expect(wm.removeWatches('/a', WatcherType.Any, 1)).toBe(false);
    expect(wm.watchCount()).toBe(0);
  });

  it('removing Persistent clears the child table too, so NodeChildrenChanged stops', () => {
    const wm = new WatchManager();
    wm.addPersistentWatch('/a', 1, false);
    wm.addDataWatch('/a', 1);
    expect(wm.removeWatches('/a', WatcherType.Persistent, 1)).toBe(true);
    expect(wm.nodeCreated('/a/b')).toEqual([]);
    expect(wm.nodeDataChanged('/a')).toEqual([dataChanged(1, '/a')]);
  });

  it('removing the one-shot Data watch leaves a persistent watch firing', () => {
    const wm = new WatchManager();
    wm.addPersistentWatch('/a', 1, false);
    wm.addDataWatch('/a', 1);
    expect(wm.removeWatches('/a', WatcherType.Data, 1)).toBe(true);
    expect(wm.nodeDataChanged('/a')).toEqual([dataChanged(1, '/a')]);
  });

  it('Any removes every kind in both tables', () => {
    const wm = everything();
    wm.addDataWatch('/b', 1);
    expect(wm.removeWatches('/a', WatcherType.Any, 1)).toBe(true);
    expect(kinds(wm)).toEqual([false, false, false, false]);
    expect(wm.nodeCreated('/a/x')).toEqual([]);
    expect(wm.nodeDataChanged('/b')).toEqual([dataChanged(1, '/b')]);
  });

  it('Any finds a lone child watch', () => {
    const wm = new WatchManager();
    wm.addChildWatch('/a', 1);
    expect(wm.containsWatcher('/a', WatcherType.Any, 1)).toBe(true);
    expect(wm.containsWatcher('/a', WatcherType.Data, 1)).toBe(false);
    expect(wm.removeWatches('/a', WatcherType.Any, 1)).toBe(true);
    expect(wm.containsWatcher('/a', WatcherType.Any, 1)).toBe(false);
  });

  it('removing the last recursive watch stops descendant events', () => {
    const wm = new WatchManager();
    wm.addPersistentWatch('/a', 1, true);
    wm.addPersistentWatch('/a', 2, true);
    expect(wm.removeWatches('/a', WatcherType.PersistentRecursive, 1)).toBe(true);
    expect(wm.nodeCreated('/a/b')).toEqual([created(2, '/a/b')]);
    expect(wm.removeWatches('/a', WatcherType.PersistentRecursive, 2)).toBe(true);
    expect(wm.nodeCreated('/a/c')).toEqual([]);
  });
});

describe('connections', () => {
  it('removeWatcher drops every registration of that connection only', () => {
    const wm = new WatchManager();
    wm.addDataWatch('/a', 1);
    wm.addChildWatch('/b', 1);
    wm.addPersistentWatch('/c', 1, false);
    wm.addPersistentWatch('/', 1, true);
    wm.addDataWatch('/a', 2);
    wm.removeWatcher(1);
    expect(wm.watchedPaths(1)).toEqual({ data: [], child: [], persistent: [], persistentRecursive: [] });
    expect(wm.nodeDataChanged('/a')).toEqual([dataChanged(2, '/a')]);
    expect(wm.nodeCreated('/b/x')).toEqual([]);
    expect(wm.nodeCreated('/c')).toEqual([]);
    expect(wm.watchCount()).toBe(0);
  });

  it('watchedPaths lists each kind sorted, a plain persistent watch once', () => {
    const wm = new WatchManager();
    wm.addDataWatch('/z', 1);
    wm.addDataWatch('/a', 1);
    wm.addChildWatch('/m', 1);
    wm.addChildWatch('/b', 1);
    wm.addPersistentWatch('/q', 1, false);
    wm.addPersistentWatch('/p', 1, false);
    wm.addPersistentWatch('/r/s', 1, true);
    wm.addPersistentWatch('/r', 1, true);
    wm.addDataWatch('/other', 2);
    expect(wm.watchedPaths(1)).toEqual({
      data: ['/a', '/z'],
      child: ['/b', '/m'],
      persistent: ['/p', '/q'],
      persistentRecursive: ['/r', '/r/s'],
    });
  });

  it('counts summarise the data table as ZooKeeper wchs does; watchCount covers both', () => {
    const wm = new WatchManager();
    wm.addDataWatch('/a', 1);
    wm.addDataWatch('/a', 2);
    wm.addDataWatch('/b', 2);
    wm.addChildWatch('/c', 3);
    wm.addPersistentWatch('/d', 4, false);
    expect(wm.counts()).toEqual({ watchers: 3, paths: 3, watches: 4 });
    expect(wm.watchCount()).toBe(6);
    wm.nodeDataChanged('/a');
    expect(wm.counts()).toEqual({ watchers: 2, paths: 2, watches: 2 });
  });
});

describe('ordering', () => {
  it('within one trigger, deliveries go by ascending watcher id whatever the registration order', () => {
    const wm = new WatchManager();
    wm.addPersistentWatch('/', 9, true);
    wm.addDataWatch('/a/b', 5);
    wm.addPersistentWatch('/a', 3, true);
    wm.addDataWatch('/a/b', 1);
    wm.addPersistentWatch('/a/b', 7, false);
    expect(wm.nodeDataChanged('/a/b').map((d) => d.watcher)).toEqual([1, 3, 5, 7, 9]);
  });

  it('node* methods concatenate their triggers in order', () => {
    const wm = new WatchManager();
    wm.addChildWatch('/p', 1);
    wm.addChildWatch('/p/c', 2);
    wm.addDataWatch('/p/c', 3);
    expect(wm.nodeDeleted('/p/c')).toEqual([
      deleted(3, '/p/c'),
      deleted(2, '/p/c'),
      childrenChanged(1, '/p'),
    ]);
  });
});

// ---------------------------------------------------------------------------------------
// Property: WatchManager against a naive reference that keeps a flat list of registrations.

type Table = 'data' | 'child';
type ModelMode = 'standard' | 'persistent' | 'recursive';
interface Registration {
  readonly watcher: WatcherId;
  readonly path: string;
  readonly table: Table;
  readonly mode: ModelMode;
}

const isStrictAncestor = (ancestor: string, path: string): boolean =>
  ancestor !== path && (ancestor === '/' || path.startsWith(`${ancestor}/`));
const parentPath = (path: string): string => path.slice(0, path.lastIndexOf('/')) || '/';

/** What each WatcherType addresses in removeWatches ('remove') and checkWatches ('contains'). */
function addressed(type: WatcherTypeValue, use: 'remove' | 'contains', r: Registration): boolean {
  switch (type) {
    case WatcherType.Children:
      return r.table === 'child' && r.mode === 'standard';
    case WatcherType.Data:
      return r.table === 'data' && r.mode === 'standard';
    case WatcherType.Persistent:
      return r.mode === 'persistent' && (use === 'remove' || r.table === 'data');
    case WatcherType.PersistentRecursive:
      return r.table === 'data' && r.mode === 'recursive';
    case WatcherType.Any:
      return true;
  }
}

class ReferenceWatches {
  private registrations: Registration[] = [];

  add(watcher: WatcherId, path: string, table: Table, mode: ModelMode): void {
    const exists = this.registrations.some(
      (r) => r.watcher === watcher && r.path === path && r.table === table && r.mode === mode,
    );
    if (!exists) this.registrations.push({ watcher, path, table, mode });
  }

  trigger(
    table: Table,
    path: string,
    type: EventTypeValue,
    suppress: ReadonlySet<WatcherId> = new Set(),
  ): { matched: Set<WatcherId>; deliveries: Delivery[] } {
    const inTable = this.registrations.filter((r) => r.table === table);
    const hits = inTable.filter(
      (r) => r.path === path || (r.mode === 'recursive' && isStrictAncestor(r.path, path)),
    );
    const matched = new Set(hits.map((r) => r.watcher).sort((a, b) => a - b));
    this.registrations = this.registrations.filter(
      (r) => !(r.table === table && r.path === path && r.mode === 'standard'),
    );
    const deliveries = [...matched].filter((w) => !suppress.has(w)).map((w) => delivery(w, type, path));
    return { matched, deliveries };
  }

  nodeCreated(path: string): Delivery[] {
    return [
      ...this.trigger('data', path, EventType.NodeCreated).deliveries,
      ...this.trigger('child', parentPath(path), EventType.NodeChildrenChanged).deliveries,
    ];
  }

  nodeDeleted(path: string): Delivery[] {
    const data = this.trigger('data', path, EventType.NodeDeleted);
    return [
      ...data.deliveries,
      ...this.trigger('child', path, EventType.NodeDeleted, data.matched).deliveries,
      ...this.trigger('child', parentPath(path), EventType.NodeChildrenChanged).deliveries,
    ];
  }

  nodeDataChanged(path: string): Delivery[] {
    return this.trigger('data', path, EventType.NodeDataChanged).deliveries;
  }

  remove(path: string, type: WatcherTypeValue, watcher: WatcherId): boolean {
    const before = this.registrations.length;
    this.registrations = this.registrations.filter(
      (r) => !(r.watcher === watcher && r.path === path && addressed(type, 'remove', r)),
    );
    return this.registrations.length !== before;
  }

  contains(path: string, type: WatcherTypeValue, watcher: WatcherId): boolean {
    return this.registrations.some(
      (r) => r.watcher === watcher && r.path === path && addressed(type, 'contains', r),
    );
  }

  removeWatcher(watcher: WatcherId): void {
    this.registrations = this.registrations.filter((r) => r.watcher !== watcher);
  }

  paths(watcher: WatcherId, table: Table, mode: ModelMode): string[] {
    const paths = this.registrations
      .filter((r) => r.watcher === watcher && r.table === table && r.mode === mode)
      .map((r) => r.path);
    return [...new Set(paths)].sort();
  }

  /** Distinct (watcher, path, table) triples: what watchCount counts. */
  watchCount(): number {
    return new Set(this.registrations.map((r) => `${r.watcher} ${r.table} ${r.path}`)).size;
  }
}

type Op =
  | { readonly op: 'data' | 'child'; readonly path: string; readonly watcher: WatcherId }
  | {
      readonly op: 'persistent';
      readonly path: string;
      readonly watcher: WatcherId;
      readonly recursive: boolean;
    }
  | { readonly op: 'created' | 'deleted' | 'changed'; readonly path: string }
  | {
      readonly op: 'remove' | 'contains';
      readonly path: string;
      readonly watcher: WatcherId;
      readonly type: WatcherTypeValue;
    }
  | { readonly op: 'closed'; readonly watcher: WatcherId };

const allPaths = ['/', '/a', '/a/b', '/a/b/c', '/a/c', '/ab', '/b'];
const watcherIds = [1, 2, 3, 4];
const pathArb = fc.constantFrom(...allPaths);
const nonRootArb = fc.constantFrom(...allPaths.filter((p) => p !== '/'));
const watcherArb = fc.constantFrom(...watcherIds);
const typeArb = fc.constantFrom(...Object.values(WatcherType));

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constantFrom('data' as const, 'child' as const), path: pathArb, watcher: watcherArb }),
  fc.record({
    op: fc.constant('persistent' as const),
    path: pathArb,
    watcher: watcherArb,
    recursive: fc.boolean(),
  }),
  fc.record({ op: fc.constantFrom('created' as const, 'deleted' as const), path: nonRootArb }),
  fc.record({ op: fc.constant('changed' as const), path: pathArb }),
  fc.record({
    op: fc.constantFrom('remove' as const, 'contains' as const),
    path: pathArb,
    watcher: watcherArb,
    type: typeArb,
  }),
  fc.record({ op: fc.constant('closed' as const), watcher: watcherArb }),
);

/** Applies `op` to the manager and the reference; returns both observable outcomes. */
function step(wm: WatchManager, ref: ReferenceWatches, op: Op): [unknown, unknown] {
  switch (op.op) {
    case 'data':
      wm.addDataWatch(op.path, op.watcher);
      ref.add(op.watcher, op.path, 'data', 'standard');
      return [null, null];
    case 'child':
      wm.addChildWatch(op.path, op.watcher);
      ref.add(op.watcher, op.path, 'child', 'standard');
      return [null, null];
    case 'persistent':
      wm.addPersistentWatch(op.path, op.watcher, op.recursive);
      if (op.recursive) ref.add(op.watcher, op.path, 'data', 'recursive');
      else for (const table of ['data', 'child'] as const) ref.add(op.watcher, op.path, table, 'persistent');
      return [null, null];
    case 'created':
      return [wm.nodeCreated(op.path), ref.nodeCreated(op.path)];
    case 'deleted':
      return [wm.nodeDeleted(op.path), ref.nodeDeleted(op.path)];
    case 'changed':
      return [wm.nodeDataChanged(op.path), ref.nodeDataChanged(op.path)];
    case 'remove':
      return [wm.removeWatches(op.path, op.type, op.watcher), ref.remove(op.path, op.type, op.watcher)];
    case 'contains':
      return [wm.containsWatcher(op.path, op.type, op.watcher), ref.contains(op.path, op.type, op.watcher)];
    case 'closed':
      wm.removeWatcher(op.watcher);
      ref.removeWatcher(op.watcher);
      return [null, null];
  }
}

describe('WatchManager against a reference model', () => {
  it('delivers, removes and reports exactly what the naive model does', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
        const wm = new WatchManager();
        const ref = new ReferenceWatches();
        for (const op of ops) {
          const [actual, expected] = step(wm, ref, op);
          expect(actual).toEqual(expected);
          expect(wm.watchCount()).toBe(ref.watchCount());
        }
        for (const watcher of watcherIds) {
          expect(wm.watchedPaths(watcher)).toEqual({
            data: ref.paths(watcher, 'data', 'standard'),
            child: ref.paths(watcher, 'child', 'standard'),
            persistent: ref.paths(watcher, 'data', 'persistent'),
            persistentRecursive: ref.paths(watcher, 'data', 'recursive'),
          });
        }
      }),
      { numRuns: 400 },
    );
  });
});
