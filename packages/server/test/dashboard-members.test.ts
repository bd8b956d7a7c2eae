/**
 * The dashboard's members from any server of a TCP ensemble: a follower's page lists every
 * member with its role, zxid, lag and health (asked on the members' client ports with srvr),
 * as the leader's does, and a member that goes away shows as down. And the srvr parsing.
 */
import { connectTcp } from '@zabkit/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSrvr } from '../src/admin/member-probe.js';
import { parseConfig } from '../src/config.js';
import { ServerNode } from '../src/node.js';
import { until } from './helpers.js';
import { freePort } from './server-process.js';

interface MemberRow {
  readonly id: number;
  readonly role: string;
  readonly zxid: string | null;
  readonly lag: number | null;
  readonly health: string;
  readonly self: boolean;
}

async function membersSeenBy(node: ServerNode): Promise<MemberRow[]> {
  const response = await fetch(`http://127.0.0.1:${node.adminAddress()!.port}/dashboard/api/state`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { members: MemberRow[] }).members;
}

describe("the dashboard's members in a TCP ensemble", () => {
  const nodes: ServerNode[] = [];
  let leader: ServerNode;
  let followers: ServerNode[];

  beforeAll(async () => {
    const ports = [];
    for (let i = 0; i < 3; i++)
      ports.push({ quorum: await freePort(), election: await freePort(), client: await freePort() });
    const lines = ports
      .map((p, i) => `server.${i + 1}=127.0.0.1:${p.quorum}:${p.election}:participant;127.0.0.1:${p.client}`)
      .join('\n');
    for (const myid of [1, 2, 3]) {
      const { config } = parseConfig(
        `tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir=/tmp/zabkit-dashboard-members\nadmin.serverAddress=127.0.0.1\nadmin.serverPort=0\n${lines}\n`,
        { myid },
      );
      nodes.push(await ServerNode.start({ config }));
    }
    await until(() => nodes.some((n) => n.driver.peer.status().role === 'leading'), 30_000);
    leader = nodes.find((n) => n.driver.peer.status().role === 'leading')!;
    await until(() => leader.driver.peer.learners().filter((l) => l.synced).length === 2, 30_000);
    followers = nodes.filter((n) => n !== leader);
    const zk = await connectTcp(`127.0.0.1:${leader.address().port}`, { sessionTimeoutMs: 10_000 });
    for (let i = 0; i < 3; i++) await zk.create(`/m${i}`, 'x');
    await zk.close();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close().catch(() => undefined)));
  });

  it("shows every member from a follower, with the leader's zxid and no lag once caught up", async () => {
    const follower = followers[0]!;
    const leaderZxid = `0x${leader.driver.peer.status().lastAppliedZxid.toString(16)}`;
    // Replicas apply the last commit a moment apart: wait until every row has it.
    let members: MemberRow[] = [];
    await until(async () => {
      members = await membersSeenBy(follower);
      return members.length === 3 && members.every((m) => m.zxid === leaderZxid);
    }, 20_000);
    expect(members.map((m) => m.id)).toEqual([1, 2, 3]);
    const byId = new Map(members.map((m) => [m.id, m]));
    expect(byId.get(leader.driver.serverId)?.role).toBe('leader');
    for (const other of followers) expect(byId.get(other.driver.serverId)?.role).toBe('follower');
    expect(byId.get(follower.driver.serverId)?.self).toBe(true);
    for (const member of members) {
      expect(member.health, `member ${member.id}`).toBe('ok');
      expect(member.lag, `member ${member.id}`).toBe(0);
    }
    // The leader's page lists the same members and roles.
    const fromLeader = await membersSeenBy(leader);
    expect(fromLeader.map((m) => [m.id, m.role])).toEqual(members.map((m) => [m.id, m.role]));
  });

  it('shows a member that went away as down', async () => {
    const [watcher, leaving] = followers as [ServerNode, ServerNode];
    const leavingId = leaving.driver.serverId;
    await leaving.close();
    let row: MemberRow | undefined;
    await until(async () => {
      row = (await membersSeenBy(watcher)).find((m) => m.id === leavingId);
      return row?.health === 'down';
    }, 20_000);
    expect(row?.zxid).toBeNull();
    // The others still answer.
    const rest = (await membersSeenBy(watcher)).filter((m) => m.id !== leavingId);
    expect(rest.every((m) => m.health === 'ok')).toBe(true);
  });
});

describe('srvr answers, read for the dashboard', () => {
  it("reads ZooKeeper's Zxid and Mode lines, and the not-serving answer", () => {
    const text =
      'Zookeeper version: 3.8.0\nLatency min/avg/max: 0/0.0/0\nReceived: 3\nSent: 2\nConnections: 1\n' +
      'Outstanding: 0\nZxid: 0x100000004\nMode: follower\nNode count: 5\n';
    expect(parseSrvr(text)).toEqual({ state: 'serving', mode: 'follower', zxid: 0x100000004n });
    expect(parseSrvr('This ZooKeeper instance is not currently serving requests\n').state).toBe(
      'not serving',
    );
    expect(parseSrvr('srvr is not executed because it is not in the whitelist.\n').state).toBe('not serving');
  });
});
