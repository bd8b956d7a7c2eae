import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Delivery, EventType, WatcherType, WatchManager } from '../src/index.js';

const event = (watcher: number, type: number, path: string): Delivery => ({
  watcher,
  event: { type: type as Delivery['event']['type'], path },
});

describe('WatchManager', () => {
  it('a one-shot is consumed; a persistent watch is not', () => {
    const wm = new WatchManager();
    wm.addDataWatch('/a', 1);
    wm.addPersistentWatch('/a', 2, false);
    expect(wm.nodeDataChanged('/a')).toEqual([event(1, 3, '/a'), event(2, 3, '/a')]);
    expect(wm.nodeDataChanged('/a')).toEqual([event(2, 3, '/a')]);
  });

  it('a watcher holding a one-shot and a persistent watch gets one event, keeps the persistent one', () => {
    const wm = new WatchManager();
    wm.addDataWatch('/a', 1);
    wm.addPersistentWatch('/a', 1, false);
    expect(wm.nodeDataChanged('/a')).toEqual([event(1, 3, '/a')]);
    expect(wm.containsWatcher('/a', WatcherType.Data, 1)).toBe(false);
    expect(wm.containsWatcher('/a', WatcherType.Persistent, 1)).toBe(true);
  });

  it('delete: one NodeDeleted per watcher for data and child watches, then the parent changed', () => {
    const wm = new WatchManager();
    wm.addDataWatch('/p/c', 1);
    wm.addChildWatch('/p/c', 1);
    wm.addChildWatch('/p/c', 2);
    wm.addChildWatch('/p', 3);
    expect(wm.nodeDeleted('/p/c')).toEqual([
      event(1, EventType.NodeDeleted, '/p/c'),
      event(2, EventType.NodeDeleted, '/p/c'),
      event(3, EventType.NodeChildrenChanged, '/p'),
    ]);
    expect(wm.counts()).toEqual({ watchers: 0, paths: 0, watches: 0 });
  });

  it('recursive watches see descendants but never NodeChildrenChanged', () => {
    const wm = new WatchManager();
    wm.addPersistentWatch('/a', 1, true);
    expect(wm.nodeCreated('/a/b/c')).toEqual([event(1, EventType.NodeCreated, '/a/b/c')]);
    expect(wm.nodeCreated('/a')).toEqual([event(1, EventType.NodeCreated, '/a')]);
    expect(wm.nodeCreated('/ab')).toEqual([]);
    wm.addPersistentWatch('/', 2, true);
    expect(wm.nodeDataChanged('/x')).toEqual([event(2, EventType.NodeDataChanged, '/x')]);
  });

  it('removeWatches keeps the modes it was not asked to remove', () => {
    const wm = new WatchManager();
    wm.addDataWatch('/a', 1);
    wm.addChildWatch('/a', 1);
    wm.addPersistentWatch('/a', 1, false);
    wm.addPersistentWatch('/a', 1, true);
    expect(wm.removeWatches('/a', WatcherType.Children, 1)).toBe(true);
    expect(wm.removeWatches('/a', WatcherType.Children, 1)).toBe(false);
    expect(wm.removeWatches('/a', WatcherType.Persistent, 1)).toBe(true);
    expect(wm.containsWatcher('/a', WatcherType.Data, 1)).toBe(true);
    expect(wm.containsWatcher('/a', WatcherType.PersistentRecursive, 1)).toBe(true);
    expect(wm.watchedPaths(1)).toEqual({
      data: ['/a'],
      child: [],
      persistent: [],
      persistentRecursive: ['/a'],
    });
    expect(wm.removeWatches('/a', WatcherType.Any, 1)).toBe(true);
    expect(wm.containsWatcher('/a', WatcherType.Any, 1)).toBe(false);
  });

  it('removeWatcher forgets a connection everywhere', () => {
    const wm = new WatchManager();
    wm.addDataWatch('/a', 1);
    wm.addPersistentWatch('/b', 1, true);
    wm.addChildWatch('/c', 2);
    wm.removeWatcher(1);
    expect(wm.nodeCreated('/b/x')).toEqual([]);
    expect(wm.counts()).toEqual({ watchers: 1, paths: 1, watches: 1 });
  });
});

/** A naive reference: a flat list of registrations, scanned for every trigger. */
type Registration = {
  watcher: number;
  path: string;
  table: 'data' | 'child';
  mode: 'once' | 'persistent' | 'recursive';
};

function naiveTrigger(list: Registration[], table: 'data' | 'child', path: string, suppress: Set<number>) {
  const ancestors: string[] = [];
  for (let p = path; p !== '/'; ) {
    p = p.lastIndexOf('/') === 0 ? '/' : p.slice(0, p.lastIndexOf('/'));
    ancestors.push(p);
  }
  const matched = new Set<number>();
  for (const r of list) {
    if (r.table !== table) continue;
    if (r.path === path) matched.add(r.watcher);
    else if (r.mode === 'recursive' && ancestors.includes(r.path)) matched.add(r.watcher);
  }
  for (let i = list.length - 1; i >= 0; i--) {
    const r = list[i]!;
    if (r.table === table && r.path === path && r.mode === 'once') list.splice(i, 1);
  }
  const sorted = [...matched].sort((a, b) => a - b);
  return { matched: sorted, delivered: sorted.filter((w) => !suppress.has(w)) };
}

describe('WatchManager against a naive model', () => {
  it('delivers exactly what a flat scan of registrations would', () => {
    const pathArb = fc.constantFrom('/', '/a', '/a/b', '/a/b/c', '/b');
    const action = fc.oneof(
      fc.record({
        kind: fc.constant('data' as const),
        path: pathArb,
        watcher: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({
        kind: fc.constant('child' as const),
        path: pathArb,
        watcher: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({
        kind: fc.constant('persistent' as const),
        path: pathArb,
        watcher: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({
        kind: fc.constant('recursive' as const),
        path: pathArb,
        watcher: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({
        kind: fc.constantFrom('created' as const, 'deleted' as const, 'changed' as const),
        path: pathArb.filter((p) => p !== '/'),
      }),
    );
    fc.assert(
      fc.property(fc.array(action, { maxLength: 60 }), (actions) => {
        const wm = new WatchManager();
        const list: Registration[] = [];
        const add = (r: Registration) => {
          if (
            !list.some(
              (x) => x.watcher === r.watcher && x.path === r.path && x.table === r.table && x.mode === r.mode,
            )
          ) {
            list.push(r);
          }
        };
        for (const a of actions) {
          if (a.kind === 'data') {
            wm.addDataWatch(a.path, a.watcher);
            add({ watcher: a.watcher, path: a.path, table: 'data', mode: 'once' });
          } else if (a.kind === 'child') {
            wm.addChildWatch(a.path, a.watcher);
            add({ watcher: a.watcher, path: a.path, table: 'child', mode: 'once' });
          } else if (a.kind === 'persistent') {
            wm.addPersistentWatch(a.path, a.watcher, false);
            add({ watcher: a.watcher, path: a.path, table: 'data', mode: 'persistent' });
            add({ watcher: a.watcher, path: a.path, table: 'child', mode: 'persistent' });
          } else if (a.kind === 'recursive') {
            wm.addPersistentWatch(a.path, a.watcher, true);
            add({ watcher: a.watcher, path: a.path, table: 'data', mode: 'recursive' });
          } else {
            const parent = a.path.lastIndexOf('/') === 0 ? '/' : a.path.slice(0, a.path.lastIndexOf('/'));
            const expected: Delivery[] = [];
            const push = (ws: number[], type: number, p: string) => {
              for (const w of ws) expected.push(event(w, type, p));
            };
            let actual: Delivery[];
            if (a.kind === 'created') {
              push(naiveTrigger(list, 'data', a.path, new Set()).delivered, EventType.NodeCreated, a.path);
              push(
                naiveTrigger(list, 'child', parent, new Set()).delivered,
                EventType.NodeChildrenChanged,
                parent,
              );
              actual = wm.nodeCreated(a.path);
            } else if (a.kind === 'deleted') {
              const first = naiveTrigger(list, 'data', a.path, new Set());
              push(first.delivered, EventType.NodeDeleted, a.path);
              push(
                naiveTrigger(list, 'child', a.path, new Set(first.matched)).delivered,
                EventType.NodeDeleted,
                a.path,
              );
              push(
                naiveTrigger(list, 'child', parent, new Set()).delivered,
                EventType.NodeChildrenChanged,
                parent,
              );
              actual = wm.nodeDeleted(a.path);
            } else {
              push(
                naiveTrigger(list, 'data', a.path, new Set()).delivered,
                EventType.NodeDataChanged,
                a.path,
              );
              actual = wm.nodeDataChanged(a.path);
            }
            expect(actual).toEqual(expected);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
