import { describe, expect, it } from 'vitest';
import { ErrorCode, Ids, type ReconfigRequest } from '../../src/index.js';
import { Cluster } from './cluster.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const addFour: ReconfigRequest = {
  op: 'reconfig',
  joiningServers: 'server.4=127.0.0.1:2891:3891:participant;2184',
  leavingServers: null,
  newMembers: null,
  fromConfig: -1n,
};

describe('reconfig', () => {
  it('is answered ReconfigDisabled by default, in its turn, on the leader and on a follower', () => {
    const cluster = new Cluster({ voters: 3 });
    cluster.stabilize();
    const leader = cluster.leader()!;
    for (const server of [leader, leader === 1 ? 2 : 1]) {
      const session = cluster.connect(server);
      // A write sent before the reconfig is answered first: the refusal keeps the session's order.
      const writeXid = cluster.send(session, {
        op: 'create',
        path: `/before-${server}`,
        data: bytes('v'),
        acl: Ids.openAclUnsafe,
        mode: 0,
        ttlMs: -1n,
      });
      const reconfigXid = cluster.send(session, addFour);
      cluster.run(500);
      const replies = cluster
        .outputsOf(session)
        .flatMap((output) => (output.kind === 'reply' ? [output.xid] : []));
      expect(replies).toEqual([writeXid, reconfigXid]);
      expect(cluster.replyTo(session, writeXid)).toMatchObject({ ok: true, op: 'create' });
      expect(cluster.replyTo(session, reconfigXid)).toMatchObject({
        ok: false,
        op: 'reconfig',
        code: ErrorCode.ReconfigDisabled,
      });
    }
  });
});
