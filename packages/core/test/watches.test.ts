import { describe, expect, it } from 'vitest';
import {
  AddWatchMode,
  CreateMode,
  digestOf,
  ErrorCode,
  EventType,
  Ids,
  Perms,
  WatcherType,
} from '../src/index.js';
import { Harness } from './harness.js';
import {
  auth,
  create,
  del,
  exists,
  getChildren,
  getData,
  multi,
  setAcl,
  setData,
} from './requests-helpers.js';

function setup() {
  const h = new Harness();
  const writer = h.connect();
  const watcher = h.connect();
  return { h, writer, watcher };
}

describe('one-shot watches fire exactly as ZooKeeper documents', () => {
  it('a data watch fires NodeDataChanged once, then is gone', () => {
    const { h, writer, watcher } = setup();
    h.ok(writer, create('/a'));
    h.ok(watcher, getData('/a', true));
    h.ok(writer, setData('/a', '1'));
    h.ok(writer, setData('/a', '2'));
    expect(h.events(watcher)).toEqual([{ type: EventType.NodeDataChanged, path: '/a' }]);
  });

  it('a data watch fires NodeDeleted on delete', () => {
    const { h, writer, watcher } = setup();
    h.ok(writer, create('/a'));
    h.ok(watcher, getData('/a', true));
    h.ok(writer, del('/a'));
    expect(h.events(watcher)).toEqual([{ type: EventType.NodeDeleted, path: '/a' }]);
  });

  it('exists on a missing node sets a watch that fires NodeCreated', () => {
    const { h, writer, watcher } = setup();
    expect(h.code(watcher, exists('/a', true))).toBe(ErrorCode.NoNode);
    h.ok(writer, create('/a'));
    expect(h.events(watcher)).toEqual([{ type: EventType.NodeCreated, path: '/a' }]);
  });

  it('getData on a missing node sets no watch', () => {
    const { h, writer, watcher } = setup();
    expect(h.code(watcher, getData('/a', true))).toBe(ErrorCode.NoNode);
    h.ok(writer, create('/a'));
    expect(h.events(watcher)).toEqual([]);
  });

  it('a child watch fires NodeChildrenChanged on child create and delete, not on child data', () => {
    const { h, writer, watcher } = setup();
    h.ok(writer, create('/p'));
    h.ok(watcher, getChildren('/p', true));
    h.ok(writer, create('/p/c'));
    expect(h.events(watcher)).toEqual([{ type: EventType.NodeChildrenChanged, path: '/p' }]);
    h.ok(watcher, getChildren('/p', true));
    h.ok(writer, setData('/p/c', 'x'));
    h.ok(writer, setData('/p', 'x'));
    expect(h.events(watcher)).toEqual([]);
    h.ok(writer, del('/p/c'));
    expect(h.events(watcher)).toEqual([{ type: EventType.NodeChildrenChanged, path: '/p' }]);
  });

  it('deleting a watched parent fires NodeDeleted once for data and child watches together', () => {
    const { h, writer, watcher } = setup();
    h.ok(writer, create('/p'));
    h.ok(watcher, getData('/p', true));
    h.ok(watcher, getChildren('/p', true));
    h.ok(writer, del('/p'));
    expect(h.events(watcher)).toEqual([{ type: EventType.NodeDeleted, path: '/p' }]);
  });

  it('setACL fires nothing', () => {
    const { h, writer, watcher } = setup();
    h.ok(writer, create('/a'));
    h.ok(watcher, getData('/a', true));
    h.ok(writer, setAcl('/a', Ids.openAclUnsafe));
    expect(h.events(watcher)).toEqual([]);
  });

  it('a multi fires the watches of each op it applied, and none when it failed', () => {
    const { h, writer, watcher } = setup();
    h.ok(writer, create('/a'));
    h.ok(watcher, getData('/a', true));
    h.request(writer, multi(setData('/a', 'x'), create('/a')));
    expect(h.events(watcher)).toEqual([]);
    h.ok(writer, multi(setData('/a', 'x'), create('/a/b')));
    expect(h.events(watcher)).toEqual([{ type: EventType.NodeDataChanged, path: '/a' }]);
  });
});

describe('ordering', () => {
  it('the event reaches the watcher before the reply to its next read shows the change', () => {
    const { h, writer, watcher } = setup();
    h.ok(writer, create('/a'));
    h.ok(watcher, getData('/a', true));
    h.ok(writer, setData('/a', 'new'));
    const xid = h.send(watcher, getData('/a'));
    const outputs = h.peek(watcher);
    const eventAt = outputs.findIndex((o) => o.kind === 'watch');
    const replyAt = outputs.findIndex((o) => o.kind === 'reply' && o.xid === xid);
    expect(eventAt).toBeGreaterThanOrEqual(0);
    expect(eventAt).toBeLessThan(replyAt);
  });

  it('the writer, watching its own node, gets the event before the reply to its write', () => {
    const h = new Harness();
    const s = h.connect();
    h.ok(s, create('/a'));
    h.ok(s, getData('/a', true));
    const xid = h.send(s, setData('/a', 'x'));
    const outputs = h.peek(s);
    const eventAt = outputs.findIndex((o) => o.kind === 'watch');
    const replyAt = outputs.findIndex((o) => o.kind === 'reply' && o.xid === xid);
    expect(eventAt).toBeLessThan(replyAt);
  });

  it('events carry the zxid of the transaction that fired them', () => {
    const { h, writer, watcher } = setup();
    h.ok(writer, create('/a'));
    h.ok(watcher, getData('/a', true));
    const stat = h.ok(writer, setData('/a', 'x')).stat;
    const event = h.peek(watcher).find((o) => o.kind === 'watch');
    expect(event?.kind === 'watch' && event.zxid).toBe(stat.mzxid);
  });
});

describe('persistent watches', () => {
  it('a persistent watch sees every change of its node and its children list, and stays', () => {
    const { h, writer, watcher } = setup();
    h.ok(watcher, { op: 'addWatch', path: '/a', mode: AddWatchMode.Persistent });
    h.ok(writer, create('/a'));
    h.ok(writer, setData('/a', '1'));
    h.ok(writer, create('/a/b'));
    h.ok(writer, setData('/a/b', '1'));
    h.ok(writer, del('/a/b'));
    h.ok(writer, setData('/a', '2'));
    h.ok(writer, del('/a'));
    expect(h.events(watcher)).toEqual([
      { type: EventType.NodeCreated, path: '/a' },
      { type: EventType.NodeDataChanged, path: '/a' },
      { type: EventType.NodeChildrenChanged, path: '/a' },
      { type: EventType.NodeChildrenChanged, path: '/a' },
      { type: EventType.NodeDataChanged, path: '/a' },
      { type: EventType.NodeDeleted, path: '/a' },
    ]);
  });

  it('a recursive watch sees the whole subtree, but never NodeChildrenChanged', () => {
    const { h, writer, watcher } = setup();
    h.ok(writer, create('/a'));
    h.ok(watcher, { op: 'addWatch', path: '/a', mode: AddWatchMode.PersistentRecursive });
    h.ok(writer, create('/a/b'));
    h.ok(writer, create('/a/b/c', { mode: CreateMode.Ephemeral }));
    h.ok(writer, setData('/a/b/c', 'x'));
    h.ok(writer, create('/other'));
    h.ok(writer, del('/a/b/c'));
    expect(h.events(watcher)).toEqual([
      { type: EventType.NodeCreated, path: '/a/b' },
      { type: EventType.NodeCreated, path: '/a/b/c' },
      { type: EventType.NodeDataChanged, path: '/a/b/c' },
      { type: EventType.NodeDeleted, path: '/a/b/c' },
    ]);
  });

  it('removeWatches and checkWatches by type, NoWatcher when there is none', () => {
    const { h, writer, watcher } = setup();
    h.ok(writer, create('/a'));
    h.ok(watcher, { op: 'addWatch', path: '/a', mode: AddWatchMode.PersistentRecursive });
    h.ok(watcher, getData('/a', true));
    expect(
      h.request(watcher, { op: 'checkWatches', path: '/a', watcherType: WatcherType.PersistentRecursive }).ok,
    ).toBe(true);
    expect(h.code(watcher, { op: 'checkWatches', path: '/a', watcherType: WatcherType.Children })).toBe(
      ErrorCode.NoWatcher,
    );
    h.ok(watcher, { op: 'removeWatches', path: '/a', watcherType: WatcherType.PersistentRecursive });
    expect(
      h.code(watcher, { op: 'removeWatches', path: '/a', watcherType: WatcherType.PersistentRecursive }),
    ).toBe(ErrorCode.NoWatcher);
    h.ok(writer, create('/a/child'));
    expect(h.events(watcher)).toEqual([]);
    h.ok(writer, setData('/a', 'x'));
    expect(h.events(watcher)).toEqual([{ type: EventType.NodeDataChanged, path: '/a' }]);
  });

  it('removeWatches and checkWatches with an unknown watcher type are BadArguments', () => {
    const { h, watcher } = setup();
    expect(h.code(watcher, { op: 'removeWatches', path: '/a', watcherType: 9 as never })).toBe(
      ErrorCode.BadArguments,
    );
    expect(h.code(watcher, { op: 'checkWatches', path: '/a', watcherType: 0 as never })).toBe(
      ErrorCode.BadArguments,
    );
  });

  it('addWatch takes a malformed path as ZooKeeper does (registered, never fired); a bad mode is BadArguments', () => {
    const { h, watcher } = setup();
    h.ok(watcher, { op: 'addWatch', path: 'nope/', mode: AddWatchMode.Persistent });
    h.ok(watcher, { op: 'checkWatches', path: 'nope/', watcherType: WatcherType.Any });
    h.ok(watcher, { op: 'removeWatches', path: 'nope/', watcherType: WatcherType.Any });
    expect(h.code(watcher, { op: 'removeWatches', path: 'nope/', watcherType: WatcherType.Any })).toBe(
      ErrorCode.NoWatcher,
    );
    expect(h.code(watcher, { op: 'checkWatches', path: '//', watcherType: WatcherType.Any })).toBe(
      ErrorCode.NoWatcher,
    );
    expect(h.code(watcher, { op: 'addWatch', path: '/a', mode: 7 as never })).toBe(ErrorCode.BadArguments);
  });
});

describe('watches and sessions', () => {
  it('a closed connection loses its watches; setWatches restores them and fires what was missed', () => {
    const h = new Harness();
    const writer = h.connect();
    const s = h.connect();
    h.ok(writer, create('/d'));
    h.ok(writer, create('/c'));
    h.ok(s, getData('/d', true));
    const seen = h.ok(s, getData('/c', true)).stat.mzxid;
    h.disconnect(s);
    h.ok(writer, setData('/d', 'changed while away'));
    expect(h.events(s)).toEqual([]);
    const resumed = h.connect({ resume: s });
    h.ok(resumed, {
      op: 'setWatches',
      relativeZxid: seen,
      dataWatches: ['/d', '/c'],
      existWatches: ['/e', '/c'],
      childWatches: ['/gone'],
      persistentWatches: [],
      persistentRecursiveWatches: ['/r'],
    });
    const missed = h.events(resumed);
    expect(missed).toEqual([
      { type: EventType.NodeDataChanged, path: '/d' },
      { type: EventType.NodeCreated, path: '/c' },
      { type: EventType.NodeDeleted, path: '/gone' },
    ]);
    h.ok(writer, setData('/c', 'x'));
    h.ok(writer, create('/e'));
    h.ok(writer, create('/r'));
    expect(h.events(resumed)).toEqual([
      { type: EventType.NodeDataChanged, path: '/c' },
      { type: EventType.NodeCreated, path: '/e' },
      { type: EventType.NodeCreated, path: '/r' },
    ]);
  });

  it('events are filtered by the watcher READ permission', () => {
    const h = new Harness();
    const owner = h.connect();
    const stranger = h.connect();
    h.ok(owner, auth('alice:secret'));
    h.ok(
      owner,
      create('/private', {
        acl: [{ perms: Perms.All, id: { scheme: 'digest', id: digestOf('alice', 'secret') } }],
      }),
    );
    h.ok(stranger, { op: 'addWatch', path: '/', mode: AddWatchMode.PersistentRecursive });
    h.ok(owner, setData('/private', 'x'));
    h.ok(owner, create('/public'));
    expect(h.events(stranger)).toEqual([{ type: EventType.NodeCreated, path: '/public' }]);
  });
});
