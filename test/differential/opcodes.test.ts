/**
 * Every opcode of ZooKeeper's client protocol, through Apache ZooKeeper's own Java client
 * (3.8, Debian's), against Apache ZooKeeper 3.8 and against zabkit side by side: the replies,
 * error codes, Stat fields and event sequences must be the same (zxids, times and session
 * ids are compared by their relations only; see harness.ts). A reply whose layout differs
 * from ZooKeeper's jute record shows up here as a client that drops its connection
 * (Disconnected/SyncConnected events and ConnectionLoss answers where ZooKeeper has none).
 */
import { describe, expect, it } from 'vitest';
import { javaClientInstalled } from './drivers.js';
import { differences, pairForSuite, type ScenarioContext } from './harness.js';
import { zookeeperInstalled } from './servers.js';

const installed = zookeeperInstalled && javaClientInstalled;
if (!installed) console.warn('Apache ZooKeeper or its Java client is not installed: skipping');

/** A session with the shortest timeout both servers grant at tickTime 2000 (2 ticks). */
const connect = (t: ScenarioContext, session = 'a') => t.connect(session, { timeoutMs: 4000 });

describe.skipIf(!installed)('every opcode through the Java client, zabkit against ZooKeeper', () => {
  const pair = pairForSuite({ clients: ['java'], config: ['extendedTypesEnabled=true'] });

  it('creates (1, 15, 19, 21), reads (3, 4, 8, 12, 103, 104), writes (5) and deletes (2)', async () => {
    const { zookeeper, zabkit } = await pair().run('java', async (t) => {
      await connect(t);
      const root = '/nodes';
      await t.do({ op: 'create', path: root, data: 'root' });
      await t.do({ op: 'create', path: `${root}/plain`, data: 'p', stat: true });
      await t.do({ op: 'create', path: `${root}/seq-`, mode: 'persistentSequential' });
      await t.do({ op: 'create', path: `${root}/seq-`, mode: 'persistentSequential', stat: true });
      await t.do({ op: 'create', path: `${root}/eph`, mode: 'ephemeral', stat: true });
      await t.do({ op: 'create', path: `${root}/eseq-`, mode: 'ephemeralSequential' });
      await t.do({ op: 'create', path: `${root}/box`, mode: 'container' });
      await t.do({ op: 'create', path: `${root}/box/in`, data: 'in' });
      await t.do({ op: 'create', path: `${root}/ttl`, mode: 'persistentWithTtl', ttl: 60_000 });
      await t.do({ op: 'create', path: `${root}/tseq-`, mode: 'persistentSequentialWithTtl', ttl: 60_000 });
      await t.do({ op: 'create', path: `${root}/plain`, data: 'again' });
      await t.do({ op: 'create', path: `${root}/missing/child` });
      await t.do({ op: 'create', path: `${root}/eph/child` });
      await t.do({ op: 'exists', path: root });
      await t.do({ op: 'exists', path: `${root}/box` });
      await t.do({ op: 'exists', path: `${root}/nothing` });
      await t.do({ op: 'getData', path: `${root}/plain` });
      await t.do({ op: 'getData', path: `${root}/nothing` });
      await t.do({ op: 'setData', path: `${root}/plain`, data: 'v1', version: 0 });
      await t.do({ op: 'setData', path: `${root}/plain`, data: 'v2', version: 0 });
      await t.do({ op: 'setData', path: `${root}/plain`, data: 'v2' });
      await t.do({ op: 'setData', path: `${root}/nothing`, data: 'x' });
      await t.do({ op: 'getChildren', path: root });
      await t.do({ op: 'getChildren', path: root, stat: true });
      await t.do({ op: 'getChildren', path: `${root}/nothing`, stat: true });
      await t.do({ op: 'getAllChildrenNumber', path: root });
      await t.do({ op: 'getAllChildrenNumber', path: `${root}/nothing` });
      await t.do({ op: 'getEphemerals' });
      await t.do({ op: 'getEphemerals', prefix: `${root}/e` });
      await t.do({ op: 'delete', path: `${root}/plain`, version: 0 });
      await t.do({ op: 'delete', path: `${root}/box` });
      await t.do({ op: 'delete', path: `${root}/plain`, version: 2 });
      await t.do({ op: 'delete', path: `${root}/plain` });
      await t.do({ op: 'exists', path: root });
      await t.events('a', 1);
    });
    expect(differences({ zookeeper, zabkit })).toEqual([]);
  });

  it('answers getACL (6), setACL (7), auth (100) and whoAmI (107)', async () => {
    const { zookeeper, zabkit } = await pair().run('java', async (t) => {
      await connect(t, 'a');
      await connect(t, 'b');
      await t.do({ op: 'addAuth', session: 'a', scheme: 'digest', auth: 'alice:secret' });
      await t.do({ op: 'whoAmI', session: 'a' });
      await t.do({ op: 'whoAmI', session: 'b' });
      await t.do({ op: 'create', session: 'a', path: '/acl', data: 'mine', acl: 'creator' });
      await t.do({ op: 'getACL', session: 'a', path: '/acl' });
      // Without ADMIN, digest hashes come back masked.
      await t.do({
        op: 'create',
        session: 'a',
        path: '/acl-read',
        acl: [
          { perms: 1, scheme: 'world', id: 'anyone' },
          { perms: 31, scheme: 'digest', id: 'alice:hash' },
        ],
      });
      await t.do({ op: 'getACL', session: 'b', path: '/acl-read' });
      await t.do({ op: 'getData', session: 'b', path: '/acl' });
      await t.do({ op: 'getACL', session: 'b', path: '/acl' });
      await t.do({ op: 'setACL', session: 'a', path: '/acl', acl: 'open', version: 1 });
      await t.do({ op: 'setACL', session: 'a', path: '/acl', acl: 'open', version: 0 });
      await t.do({ op: 'getACL', session: 'b', path: '/acl' });
      await t.do({ op: 'setACL', session: 'b', path: '/nothing', acl: 'open' });
      await t.do({ op: 'setACL', session: 'b', path: '/acl', acl: [{ perms: 31, scheme: 'nope', id: 'x' }] });
      await t.do({ op: 'create', session: 'b', path: '/acl-auth', acl: 'creator' });
      await t.events('a', 1);
      await t.events('b', 1);
    });
    expect(differences({ zookeeper, zabkit })).toEqual([]);
    // whoAmI names the digest user alone, as ZooKeeper's provider does.
    expect(zookeeper[3]!.answer.result).toEqual([
      { scheme: 'digest', user: 'alice' },
      { scheme: 'ip', user: '127.0.0.1' },
    ]);
  });

  it('runs multi (14) with check (13) and multiRead (22)', async () => {
    const { zookeeper, zabkit } = await pair().run('java', async (t) => {
      await connect(t);
      await t.do({ op: 'create', path: '/multi' });
      await t.do({
        op: 'multi',
        ops: [
          { op: 'create', path: '/multi/a', data: 'a' },
          { op: 'create', path: '/multi/s-', mode: 'persistentSequential' },
          { op: 'create', path: '/multi/c', mode: 'container' },
          { op: 'create', path: '/multi/t', mode: 'persistentWithTtl', ttl: 60_000 },
          { op: 'check', path: '/multi', version: 0 },
          { op: 'setData', path: '/multi/a', data: 'b', version: 0 },
          { op: 'delete', path: '/multi/a', version: 1 },
        ],
      });
      await t.do({
        op: 'multi',
        ops: [
          { op: 'create', path: '/multi/x' },
          { op: 'check', path: '/multi', version: 7 },
          { op: 'delete', path: '/multi/nothing' },
        ],
      });
      await t.do({ op: 'exists', path: '/multi/x' });
      await t.do({ op: 'multi', ops: [] });
      await t.do({
        op: 'multi',
        ops: [
          { op: 'getData', path: '/multi' },
          { op: 'getChildren', path: '/multi' },
          { op: 'getData', path: '/multi/nothing' },
          { op: 'getChildren', path: '/multi/nothing' },
        ],
      });
      await t.events('a', 1);
    });
    expect(differences({ zookeeper, zabkit })).toEqual([]);
  });

  it('syncs (9), keeps an idle session with pings (11) and closes it (-11)', async () => {
    const { zookeeper, zabkit } = await pair().run('java', async (t) => {
      await connect(t, 'a');
      await t.do({ op: 'sync', path: '/' });
      await t.do({ op: 'sync', path: '/zookeeper' });
      await t.do({ op: 'create', path: '/mine', mode: 'ephemeral' });
      // Longer than the session timeout: only pings keep it alive.
      await new Promise((resolve) => setTimeout(resolve, 5000));
      await t.do({ op: 'exists', path: '/mine' });
      await t.do({ op: 'sessionInfo' });
      await t.do({ op: 'close', session: 'a' });
      await connect(t, 'b');
      await t.do({ op: 'exists', session: 'b', path: '/mine' });
      await t.events('b', 1);
    });
    expect(differences({ zookeeper, zabkit })).toEqual([]);
  }, 60_000);

  it('fires one-shot watches and removes them (17 and 18 by removeWatches and removeAllWatches)', async () => {
    const { zookeeper, zabkit } = await pair().run('java', async (t) => {
      await connect(t, 'a');
      await connect(t, 'b');
      await t.do({ op: 'create', path: '/w' });
      await t.do({ op: 'getData', path: '/w', watch: 'data' });
      await t.do({ op: 'exists', path: '/w/kid', watch: 'exists' });
      await t.do({ op: 'getChildren', path: '/w', watch: 'children' });
      await t.do({ op: 'create', session: 'b', path: '/w/kid' });
      await t.do({ op: 'setData', session: 'b', path: '/w', data: 'changed' });
      await t.events('a', 4);
      await t.do({ op: 'getData', path: '/w', watch: 'data' });
      await t.do({ op: 'getChildren', path: '/w', watch: 'children' });
      await t.do({ op: 'removeWatches', path: '/w', watch: 'data', type: 'Data' });
      await t.do({ op: 'removeWatches', path: '/w', watch: 'data', type: 'Data' });
      await t.do({ op: 'removeAllWatches', path: '/w', type: 'Children' });
      await t.do({ op: 'removeAllWatches', path: '/w', type: 'Any' });
      await t.do({ op: 'delete', session: 'b', path: '/w/kid' });
      await t.do({ op: 'delete', session: 'b', path: '/w' });
      await t.events('a', 2);
      await t.events('b', 1);
    });
    expect(differences({ zookeeper, zabkit })).toEqual([]);
  });

  it('adds persistent and recursive watches (106) without dropping the connection', async () => {
    const { zookeeper, zabkit } = await pair().run('java', async (t) => {
      await connect(t, 'a');
      await connect(t, 'b');
      await t.do({ op: 'create', path: '/pw' });
      await t.do({ op: 'create', path: '/pr' });
      await t.do({ op: 'addWatch', path: '/pw', mode: 'persistent', watch: 'persistent' });
      await t.do({ op: 'addWatch', path: '/pr', mode: 'persistentRecursive', watch: 'recursive' });
      await t.do({ op: 'sessionInfo' });
      for (const root of ['/pw', '/pr']) {
        await t.do({ op: 'create', session: 'b', path: `${root}/kid` });
        await t.do({ op: 'create', session: 'b', path: `${root}/kid/grandchild` });
        await t.do({ op: 'setData', session: 'b', path: root, data: 'x' });
        await t.do({ op: 'setData', session: 'b', path: `${root}/kid`, data: 'y' });
        await t.do({ op: 'delete', session: 'b', path: `${root}/kid/grandchild` });
      }
      await t.events('a', 8);
      // The 3.8 client has no WatcherType.Persistent(Recursive) (3.9 added them): Any it is.
      await t.do({ op: 'removeWatches', path: '/pr', watch: 'recursive', type: 'Any' });
      await t.do({ op: 'removeWatches', path: '/pw', watch: 'persistent', type: 'Any' });
      await t.do({ op: 'removeWatches', path: '/pw', watch: 'persistent', type: 'Any' });
      await t.do({ op: 'setData', session: 'b', path: '/pw', data: 'z' });
      await t.do({ op: 'setData', session: 'b', path: '/pr', data: 'z' });
      await t.events('a', 2);
      await t.events('b', 1);
    });
    expect(differences({ zookeeper, zabkit })).toEqual([]);
    const events = zookeeper
      .filter((step) => step.command.op === 'events' && step.command.session === 'a')
      .flatMap((step) => step.answer.result as { watcher: string; type: string; path: string }[])
      .map((event) => `${event.watcher} ${event.type} ${event.path}`);
    expect(events).toEqual([
      'default None null',
      'persistent NodeChildrenChanged /pw',
      'persistent NodeDataChanged /pw',
      'recursive NodeCreated /pr/kid',
      'recursive NodeCreated /pr/kid/grandchild',
      'recursive NodeDataChanged /pr',
      'recursive NodeDataChanged /pr/kid',
      'recursive NodeDeleted /pr/kid/grandchild',
      'recursive PersistentWatchRemoved /pr',
      'persistent PersistentWatchRemoved /pw',
    ]);
  });

  it('keeps a persistent and a recursive watch of one session on one path apart, as 3.9 does', async () => {
    const { zookeeper, zabkit } = await pair().run('java', async (t) => {
      await connect(t, 'a');
      await connect(t, 'b');
      await t.do({ op: 'create', path: '/both' });
      await t.do({ op: 'addWatch', path: '/both', mode: 'persistent', watch: 'persistent' });
      await t.do({ op: 'addWatch', path: '/both', mode: 'persistentRecursive', watch: 'recursive' });
      await t.do({ op: 'create', session: 'b', path: '/both/kid' });
      await t.events('a', 2, { settleMs: 1500 });
    });
    const events = (steps: typeof zookeeper) =>
      (steps.at(-1)!.answer.result as { watcher: string; type: string; path: string }[]).map(
        (event) => `${event.watcher} ${event.type} ${event.path}`,
      );
    // ZooKeeper 3.8 keeps one mode per session and path: the recursive registration
    // replaces the persistent one, whose child-list change is lost (ZOOKEEPER-4466).
    expect(events(zookeeper)).toEqual(['default None null', 'recursive NodeCreated /both/kid']);
    // 3.9 keeps both, as zabkit does: the server sends NodeChildrenChanged for /both too, and
    // the 3.8 Java client hands it to both watchers it holds on /both, in the order of its own
    // HashSet of watchers, which is no order: the two are compared as a set.
    const [hello, created, ...childrenChanged] = events(zabkit);
    expect([hello, created]).toEqual(['default None null', 'recursive NodeCreated /both/kid']);
    expect(childrenChanged.sort()).toEqual([
      'persistent NodeChildrenChanged /both',
      'recursive NodeChildrenChanged /both',
    ]);
  });

  it('re-sends watches on reconnect (101 and 105, setWatches and setWatches2)', async () => {
    const { zookeeper, zabkit } = await pair().run('java', async (t) => {
      await connect(t, 'a');
      await t.do({ op: 'create', path: '/sw' });
      await t.do({ op: 'create', path: '/sw/kid' });
      await t.do({ op: 'getData', path: '/sw', watch: 'data' });
      await t.do({ op: 'exists', path: '/sw/later', watch: 'exists' });
      await t.do({ op: 'getChildren', path: '/sw/kid', watch: 'children' });
      t.cut();
      // Disconnected reaches each of the three watchers and the default one.
      await t.events('a', 5);
      await t.do({ op: 'create', path: '/sw/later' });
      await t.do({ op: 'setData', path: '/sw', data: 'x' });
      await t.do({ op: 'create', path: '/sw/kid/gc' });
      await t.events('a', 7);
      // With a persistent watch, the Java client re-sends watches as setWatches2.
      await t.do({ op: 'addWatch', path: '/sw', mode: 'persistentRecursive', watch: 'recursive' });
      t.cut();
      await t.events('a', 2);
      await t.do({ op: 'setData', path: '/sw/kid', data: 'y' });
      await t.events('a', 3);
    });
    expect(differences({ zookeeper, zabkit })).toEqual([]);
  }, 60_000);

  it('answers getConfig and reconfig (16) on a standalone server', async () => {
    const { zookeeper, zabkit } = await pair().run('java', async (t) => {
      await connect(t);
      await t.do({ op: 'getConfig' });
      await t.do({ op: 'reconfig', joining: 'server.2=127.0.0.1:2888:3888;2182' });
      await t.events('a', 1);
    });
    expect(differences({ zookeeper, zabkit })).toEqual([]);
  });
});
