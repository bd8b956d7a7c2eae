/**
 * kazoo (Debian's python3-kazoo 2.8) against Apache ZooKeeper 3.8 and against zabkit side by
 * side: the same calls must get the same answers, error codes, Stats and watch events. kazoo
 * sends its own mix of opcodes (plain create and getChildren unless asked for data, a
 * transaction of plain creates, auth before anything else) and its own connection states.
 */
import { describe, expect, it } from 'vitest';
import { kazooInstalled } from './drivers.js';
import { differences, pairForSuite } from './harness.js';
import { zookeeperInstalled } from './servers.js';

const installed = zookeeperInstalled && kazooInstalled;
if (!installed) console.warn('Apache ZooKeeper or kazoo (python3-kazoo) is not installed: skipping');

describe.skipIf(!installed)('kazoo, zabkit against ZooKeeper', () => {
  const pair = pairForSuite({ clients: ['kazoo'] });

  it('creates, reads, writes and deletes with versions and error codes', async () => {
    const transcripts = await pair().run('kazoo', async (t) => {
      await t.connect('a', { timeoutMs: 4000 });
      await t.do({ op: 'create', path: '/k', data: 'root' });
      await t.do({ op: 'create', path: '/k/plain', data: 'p', stat: true });
      await t.do({ op: 'create', path: '/k/s-', mode: 'persistentSequential' });
      await t.do({ op: 'create', path: '/k/e', mode: 'ephemeral', stat: true });
      await t.do({ op: 'create', path: '/k/plain' });
      await t.do({ op: 'create', path: '/k/e/under' });
      await t.do({ op: 'create', path: '/k/none/under' });
      await t.do({ op: 'exists', path: '/k/e' });
      await t.do({ op: 'exists', path: '/k/nothing' });
      await t.do({ op: 'getData', path: '/k/plain' });
      await t.do({ op: 'setData', path: '/k/plain', data: 'q', version: 0 });
      await t.do({ op: 'setData', path: '/k/plain', data: 'r', version: 0 });
      await t.do({ op: 'getChildren', path: '/k' });
      await t.do({ op: 'getChildren', path: '/k', stat: true });
      await t.do({ op: 'getACL', path: '/k' });
      const readAdmin = [{ perms: 17, scheme: 'world', id: 'anyone' }];
      await t.do({ op: 'setACL', path: '/k', acl: readAdmin, version: 0 });
      await t.do({ op: 'create', path: '/k/denied' });
      await t.do({ op: 'setACL', path: '/k', acl: 'open', version: 0 });
      await t.do({ op: 'setACL', path: '/k', acl: 'open', version: 1 });
      await t.do({ op: 'sync', path: '/k' });
      await t.do({ op: 'delete', path: '/k' });
      await t.do({ op: 'delete', path: '/k/plain', version: 0 });
      await t.do({ op: 'delete', path: '/k/plain', version: 1 });
      await t.do({ op: 'delete', path: '/k/plain' });
    });
    expect(differences(transcripts)).toEqual([]);
    expect(transcripts.zookeeper.filter((step) => !step.answer.ok).map((step) => step.answer.code)).toEqual([
      -110, -108, -101, -103, -102, -103, -111, -103, -101,
    ]);
  });

  it('runs transactions, all or nothing', async () => {
    const transcripts = await pair().run('kazoo', async (t) => {
      await t.connect('a', { timeoutMs: 4000 });
      await t.do({ op: 'create', path: '/kt' });
      await t.do({
        op: 'multi',
        ops: [
          { op: 'create', path: '/kt/a', data: '1' },
          { op: 'check', path: '/kt', version: 0 },
          { op: 'setData', path: '/kt/a', data: '2', version: 0 },
          { op: 'delete', path: '/kt/a', version: 1 },
        ],
      });
      await t.do({
        op: 'multi',
        ops: [
          { op: 'create', path: '/kt/b' },
          { op: 'check', path: '/kt', version: 5 },
          { op: 'create', path: '/kt/c' },
        ],
      });
      await t.do({ op: 'exists', path: '/kt/b' });
    });
    expect(differences(transcripts)).toEqual([]);
  });

  it('delivers watch events and authenticates with digest', async () => {
    const transcripts = await pair().run('kazoo', async (t) => {
      await t.connect('a', { timeoutMs: 4000 });
      await t.connect('b', { timeoutMs: 4000 });
      await t.do({ op: 'create', path: '/kw' });
      await t.do({ op: 'getData', path: '/kw', watch: 'data' });
      await t.do({ op: 'exists', path: '/kw/x', watch: 'exists' });
      await t.do({ op: 'getChildren', path: '/kw', watch: 'children' });
      await t.do({ op: 'create', session: 'b', path: '/kw/x' });
      await t.do({ op: 'setData', session: 'b', path: '/kw', data: 'v' });
      await t.events('a', 4);
      await t.do({ op: 'addAuth', session: 'b', scheme: 'digest', auth: 'bob:pw' });
      await t.do({ op: 'create', session: 'b', path: '/kw/bob', acl: 'creator' });
      await t.do({ op: 'getData', session: 'a', path: '/kw/bob' });
      await t.do({ op: 'getACL', session: 'a', path: '/kw/bob' });
      await t.do({ op: 'getACL', session: 'b', path: '/kw/bob' });
      await t.events('a', 0);
    });
    expect(differences(transcripts)).toEqual([]);
  });

  it('answers AuthFailed for an unknown scheme; ZooKeeper then closes the connection, zabkit keeps it', async () => {
    const { zookeeper, zabkit } = await pair().run('kazoo', async (t) => {
      await t.connect('a', { timeoutMs: 4000 });
      await t.events('a', 1);
      await t.do({ op: 'addAuth', scheme: 'nosuchscheme', auth: 'x' });
      await t.events('a', 3, { timeoutMs: 3000 });
    });
    expect(zookeeper[2]!.answer).toEqual(zabkit[2]!.answer);
    expect(zookeeper[2]!.answer.code).toBe(-115);
    const states = (steps: typeof zookeeper) =>
      (steps[3]!.answer.result as { state: string }[]).map((event) => event.state);
    // kazoo re-sends its credentials when it reconnects, and fails again.
    expect(states(zookeeper)).toEqual(['LOST', 'CONNECTED', 'LOST']);
    expect(states(zabkit)).toEqual(['LOST']);
  });
});
