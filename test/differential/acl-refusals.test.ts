/**
 * Every operation an ACL guards, tried without the right it needs, through the Java client,
 * against Apache ZooKeeper 3.8 and zabkit side by side (ZooKeeper 3.9 checks the same
 * permissions for each opcode as 3.8): each must be refused exactly as ZooKeeper refuses it,
 * with the same code, the same per-op results inside a multi, and the same partial answers
 * (getACL with READ alone hides digests). exists without READ is the one known difference:
 * zabkit refuses it, as ZooKeeper does since 3.8.4 and 3.9.2 (ZOOKEEPER-2590), while the
 * Debian 3.8.0 here predates that check. And each right, granted alone to anyone, allows
 * exactly its operations: CREATE a child, DELETE a child (whatever the child's own ACL), WRITE
 * the data, ADMIN the ACL, READ the data and children.
 */
import { digestOf } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import { javaClientInstalled } from './drivers.js';
import { differences, pairForSuite } from './harness.js';
import { zookeeperInstalled } from './servers.js';

const installed = zookeeperInstalled && javaClientInstalled;
if (!installed) console.warn('Apache ZooKeeper or its Java client is not installed: skipping');

const owner = { perms: 31, scheme: 'digest', id: digestOf('owner', 'pw') };
const anyone = (perms: number) => ({ perms, scheme: 'world', id: 'anyone' });
const Perm = { read: 1, write: 2, create: 4, delete: 8, admin: 16 } as const;

describe.skipIf(!installed)('ACL refusals, zabkit against ZooKeeper', () => {
  const pair = pairForSuite({ clients: ['java'] });

  it('refuses each guarded operation on a node that grants nothing, as ZooKeeper does', async () => {
    const transcripts = await pair().run('java', async (t) => {
      await t.connect('owner');
      await t.connect('stranger');
      await t.connect('other');
      await t.do({ op: 'addAuth', session: 'owner', scheme: 'digest', auth: 'owner:pw' });
      await t.do({ op: 'addAuth', session: 'other', scheme: 'digest', auth: 'owner:wrong' });
      await t.do({ op: 'create', session: 'owner', path: '/locked', data: 'secret', acl: [owner] });
      await t.do({ op: 'create', session: 'owner', path: '/locked/child', data: 'c', acl: [owner] });
      for (const session of ['stranger', 'other']) {
        const s = { session };
        await t.do({ op: 'getData', ...s, path: '/locked' });
        await t.do({ op: 'getData', ...s, path: '/locked', watch: 'w' });
        await t.do({ op: 'exists', ...s, path: '/locked/missing' });
        await t.do({ op: 'getChildren', ...s, path: '/locked' });
        await t.do({ op: 'getChildren', ...s, path: '/locked', stat: true });
        await t.do({ op: 'getAllChildrenNumber', ...s, path: '/locked' });
        await t.do({ op: 'getACL', ...s, path: '/locked' });
        await t.do({ op: 'setData', ...s, path: '/locked', data: 'mine' });
        await t.do({ op: 'setData', ...s, path: '/locked', data: 'mine', version: 7 });
        await t.do({ op: 'setACL', ...s, path: '/locked', acl: 'open' });
        await t.do({ op: 'create', ...s, path: '/locked/new', data: '' });
        await t.do({ op: 'create', ...s, path: '/locked/child', data: '' });
        await t.do({ op: 'create', ...s, path: '/locked/e', data: '', mode: 'ephemeral' });
        await t.do({ op: 'create', ...s, path: '/locked/q-', data: '', mode: 'persistentSequential' });
        await t.do({ op: 'create', ...s, path: '/locked/k', data: '', mode: 'container' });
        await t.do({ op: 'delete', ...s, path: '/locked/child' });
        await t.do({ op: 'delete', ...s, path: '/locked/missing' });
        await t.do({ op: 'delete', ...s, path: '/locked' });
        await t.do({
          op: 'multi',
          ...s,
          ops: [
            { op: 'check', path: '/locked' },
            { op: 'setData', path: '/locked', data: 'x' },
          ],
        });
        await t.do({
          op: 'multi',
          ...s,
          ops: [
            { op: 'create', path: '/free', data: '' },
            { op: 'create', path: '/locked/m', data: '' },
          ],
        });
        await t.do({ op: 'multi', ...s, ops: [{ op: 'delete', path: '/locked/child' }] });
        await t.do({
          op: 'multi',
          ...s,
          ops: [
            { op: 'getData', path: '/locked' },
            { op: 'getChildren', path: '/locked' },
            { op: 'getData', path: '/' },
          ],
        });
        await t.do({ op: 'addWatch', ...s, path: '/locked', mode: 'persistent' });
        await t.do({ op: 'addWatch', ...s, path: '/locked', mode: 'persistentRecursive' });
        await t.do({ op: 'sync', ...s, path: '/locked' });
        await t.do({ op: 'exists', ...s, path: '/free' });
      }
      // Nothing the strangers tried changed anything.
      await t.do({ op: 'getData', session: 'owner', path: '/locked' });
      await t.do({ op: 'getChildren', session: 'owner', path: '/locked' });
      await t.do({ op: 'getACL', session: 'owner', path: '/locked' });
      await t.do({ op: 'delete', session: 'owner', path: '/locked/child' });
      await t.do({ op: 'delete', session: 'owner', path: '/locked' });
      for (const session of ['owner', 'stranger', 'other']) await t.events(session, 0);
    });
    expect(differences(transcripts), pair().serverLog('zabkit')).toEqual([]);
    const codes = transcripts.zookeeper.map((step) => step.answer.code ?? (step.answer.ok ? 0 : 'x'));
    // Not a vacuous agreement: most answers are NoAuth, and the owner saw no change.
    expect(codes.filter((code) => code === -102).length).toBeGreaterThan(30);
    const ownerRead = transcripts.zookeeper.at(-8)!.answer.result as { data: string };
    expect(ownerRead.data).toBe(Buffer.from('secret').toString('base64'));
  });

  it('lets each right, granted alone to anyone, allow exactly its operations', async () => {
    const transcripts = await pair().run('java', async (t) => {
      await t.connect('owner');
      await t.connect('anyone');
      await t.do({ op: 'addAuth', session: 'owner', scheme: 'digest', auth: 'owner:pw' });
      for (const [name, perms] of Object.entries(Perm)) {
        const path = `/${name}`;
        await t.do({ op: 'create', session: 'owner', path, data: name, acl: [anyone(perms), owner] });
        await t.do({ op: 'create', session: 'owner', path: `${path}/c`, data: 'c', acl: [owner] });
        const s = { session: 'anyone' };
        await t.do({ op: 'getData', ...s, path });
        await t.do({ op: 'getChildren', ...s, path });
        await t.do({ op: 'getACL', ...s, path });
        await t.do({ op: 'setData', ...s, path, data: 'changed' });
        await t.do({ op: 'create', ...s, path: `${path}/new`, data: '', acl: 'open' });
        await t.do({ op: 'delete', ...s, path: `${path}/c` });
        await t.do({ op: 'setACL', ...s, path, acl: [anyone(perms), owner] });
        for (const child of ['c', 'new'])
          await t.do({ op: 'delete', session: 'owner', path: `${path}/${child}` });
        await t.do({ op: 'delete', session: 'owner', path });
      }
    });
    expect(differences(transcripts), pair().serverLog('zabkit')).toEqual([]);
    const answers = transcripts.zookeeper.map((step) => step.answer);
    // READ alone: getACL answers, with the digest hidden as ZooKeeper hides it.
    expect(JSON.stringify(answers[7]!.result)).toMatch(/owner:x"/);
    // DELETE alone on the parent deletes a child the stranger has no right on.
    const deleteAlone = 3 + 3 * 12 + 7;
    expect(transcripts.zookeeper[deleteAlone]!.command).toMatchObject({ op: 'delete', path: '/delete/c' });
    expect(answers[deleteAlone]!.ok).toBe(true);
  });

  it('refuses exists without READ, as ZooKeeper 3.8.4 and 3.9.2 on do (ZOOKEEPER-2590); the 3.8.0 here predates it', async () => {
    const transcripts = await pair().run('java', async (t) => {
      await t.connect('owner');
      await t.connect('stranger');
      await t.do({ op: 'addAuth', session: 'owner', scheme: 'digest', auth: 'owner:pw' });
      await t.do({
        op: 'create',
        session: 'owner',
        path: '/hidden',
        data: '',
        acl: [anyone(Perm.write), owner],
      });
      await t.do({ op: 'exists', session: 'stranger', path: '/hidden' });
      await t.do({ op: 'exists', session: 'stranger', path: '/hidden', watch: 'w' });
      await t.do({ op: 'delete', session: 'owner', path: '/hidden' });
      await t.events('stranger', 0);
    });
    for (const step of [4, 5]) {
      expect(transcripts.zabkit[step]!.answer.code).toBe(-102);
      expect(transcripts.zookeeper[step]!.answer.ok).toBe(true);
    }
    // Neither tells the stranger of the delete: zabkit set no watch for it.
    for (const server of ['zookeeper', 'zabkit'] as const)
      expect(JSON.stringify(transcripts[server][7]!.answer.result)).not.toMatch(/NodeDeleted/);
  });
});
