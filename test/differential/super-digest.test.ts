/**
 * A super user from zoo.cfg's DigestAuthenticationProvider.superDigest, through the Java
 * client, against Apache ZooKeeper 3.8 and against zabkit side by side: it passes every ACL
 * check, whoAmI names it, and an `auth` ACL it creates names its digest identity alone
 * (ZooKeeper's fixupACL skips super, which has no provider).
 */
import { describe, expect, it } from 'vitest';
import { javaClientInstalled } from './drivers.js';
import { differences, pairForSuite } from './harness.js';
import { zookeeperInstalled } from './servers.js';

const installed = zookeeperInstalled && javaClientInstalled;
if (!installed) console.warn('Apache ZooKeeper or its Java client is not installed: skipping');

/** digest of super:secret, as `zabkit digest super:secret` and ZooKeeper's tool print it. */
const superDigest = 'super:lK75jTNcA+U9vtVEw5vB51mj/w4=';

describe.skipIf(!installed)('a super digest from zoo.cfg, zabkit against ZooKeeper', () => {
  const pair = pairForSuite({
    clients: ['java'],
    config: [`DigestAuthenticationProvider.superDigest=${superDigest}`],
  });

  it('lets the super user past every ACL, and names it in whoAmI and in the ACLs it creates', async () => {
    const transcripts = await pair().run('java', async (t) => {
      const sessions = ['alice', 'nobody', 'wrong', 'root'];
      for (const session of sessions) await t.connect(session, { timeoutMs: 10_000 });
      await t.do({ op: 'addAuth', session: 'alice', scheme: 'digest', auth: 'alice:pw' });
      await t.do({ op: 'create', session: 'alice', path: '/secret', data: 'hers', acl: 'creator' });
      await t.do({ op: 'getData', session: 'nobody', path: '/secret' });
      await t.do({ op: 'addAuth', session: 'wrong', scheme: 'digest', auth: 'super:wrong' });
      await t.do({ op: 'getData', session: 'wrong', path: '/secret' });
      await t.do({ op: 'addAuth', session: 'root', scheme: 'digest', auth: 'super:secret' });
      await t.do({ op: 'whoAmI', session: 'root' });
      await t.do({ op: 'getData', session: 'root', path: '/secret' });
      await t.do({ op: 'getACL', session: 'root', path: '/secret' });
      await t.do({ op: 'setData', session: 'root', path: '/secret', data: 'mine now' });
      await t.do({ op: 'create', session: 'root', path: '/secret/under', acl: 'creator' });
      await t.do({ op: 'getACL', session: 'root', path: '/secret/under' });
      await t.do({ op: 'delete', session: 'root', path: '/secret/under' });
      await t.do({ op: 'delete', session: 'root', path: '/secret' });
      for (const session of sessions) await t.events(session, 1);
    });
    expect(differences(transcripts), pair().serverLog('zabkit')).toEqual([]);
    const answer = (index: number) => transcripts.zookeeper[index]!.answer;
    expect(answer(6).code).toBe(-102); // nobody
    expect(answer(8).code).toBe(-102); // a wrong super password is just another digest user
    expect(answer(10).result).toEqual([
      { scheme: 'digest', user: 'super' },
      { scheme: 'ip', user: '127.0.0.1' },
      { scheme: 'super', user: '' },
    ]);
    expect((answer(15).result as { acl: unknown[] }).acl).toEqual([
      { perms: 31, scheme: 'digest', id: superDigest },
    ]);
  });
});
