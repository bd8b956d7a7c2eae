/**
 * The admin restore on a member of a 3-server TCP ensemble (in one process, on LevelDB): asked
 * on a follower or on the leader, it is one transaction the leader proposes; every member ends
 * with the snapshot's tree, Stats and ACLs; sessions the snapshot holds resume and the others
 * expire; later writes go on from it; and members that stop before or right after it come back
 * with the restored state from their own stores.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectTcp, type ZabClient } from '@zabkit/client';
import type { SnapshotNode } from '@zabkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { openLevelStore } from '../src/level-store.js';
import { silentLogger } from '../src/log.js';
import { ServerNode } from '../src/node.js';
import { until } from './helpers.js';
import { freePort } from './server-process.js';

const operator = { authorization: 'digest ops:pw' };
const text = (bytes: Uint8Array | null) => new TextDecoder().decode(bytes ?? new Uint8Array());

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** Three members' configurations on free ports, each with its own data directory. */
async function ensembleConfigs(root: string) {
  const ports = [];
  for (let i = 0; i < 3; i++)
    ports.push({ quorum: await freePort(), election: await freePort(), client: await freePort() });
  const lines = ports
    .map((p, i) => `server.${i + 1}=127.0.0.1:${p.quorum}:${p.election}:participant;127.0.0.1:${p.client}`)
    .join('\n');
  return [1, 2, 3].map(
    (myid) =>
      parseConfig(
        `tickTime=100\ninitLimit=20\nsyncLimit=10\ndataDir=${join(root, `server-${myid}`)}\n` +
          `admin.serverAddress=127.0.0.1\nadmin.serverPort=0\nadmin.rateLimiterIntervalInMS=0\n${lines}\n`,
        { myid },
      ).config,
  );
}

class Members {
  readonly nodes = new Map<number, ServerNode>();
  constructor(private readonly configs: ReturnType<typeof parseConfig>['config'][]) {}

  async start(myid: number): Promise<ServerNode> {
    const config = this.configs[myid - 1]!;
    const storage = await openLevelStore(config, silentLogger);
    const node = await ServerNode.start({ config, storage });
    this.nodes.set(myid, node);
    return node;
  }

  async stop(myid: number): Promise<void> {
    await this.nodes.get(myid)?.close();
    this.nodes.delete(myid);
  }

  async closeAll(): Promise<void> {
    for (const id of [...this.nodes.keys()]) await this.stop(id);
  }

  get leader(): ServerNode {
    const leader = [...this.nodes.values()].find((n) => n.driver.peer.status().role === 'leading');
    if (leader === undefined) throw new Error('no leader');
    return leader;
  }

  followers(): ServerNode[] {
    return [...this.nodes.values()].filter((n) => n.driver.peer.status().role === 'following');
  }

  async serving(count: number): Promise<void> {
    await until(
      () => [...this.nodes.values()].filter((n) => n.driver.peer.status().serving).length === count,
      30_000,
    );
  }
}

/** A member's tree as plain nodes, /zookeeper/config aside (each member writes its own). */
function treeOf(node: ServerNode): SnapshotNode[] {
  return node.driver.peer.treeSnapshot().nodes.filter((n) => n.path !== '/zookeeper/config');
}

async function client(node: ServerNode): Promise<ZabClient> {
  const zk = await connectTcp(`127.0.0.1:${node.address().port}`, { sessionTimeoutMs: 6_000 });
  cleanups.push(() => zk.close());
  return zk;
}

async function takeSnapshot(node: ServerNode): Promise<Uint8Array> {
  const response = await fetch(`http://127.0.0.1:${node.adminAddress()!.port}/commands/snapshot`, {
    headers: operator,
  });
  expect(response.status).toBe(200);
  return new Uint8Array(await response.arrayBuffer());
}

async function restore(node: ServerNode, body: Uint8Array) {
  const response = await fetch(`http://127.0.0.1:${node.adminAddress()!.port}/commands/restore`, {
    method: 'POST',
    body,
    headers: operator,
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function started(): Promise<Members> {
  const root = await mkdtemp(join(tmpdir(), 'zabkit-restore-ensemble-'));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  const members = new Members(await ensembleConfigs(root));
  cleanups.push(() => members.closeAll());
  for (const id of [1, 2, 3]) await members.start(id);
  await members.serving(3);
  return members;
}

describe('restore on a member of an ensemble', () => {
  it('asked on a follower, then on the leader: every member ends with the snapshot, sessions as ZooKeeper', async () => {
    const members = await started();
    const leader = members.leader;
    const [follower] = members.followers();
    const kept = await client(leader);
    await kept.create('/app', 'before');
    await kept.create('/app/config', 'v1');
    await kept.setData('/app/config', 'v2');
    await kept.create('/app/owned', 'e', { mode: 'ephemeral' });
    await kept.addAuth('digest', 'alice:pw');
    await kept.create('/private', 'secret', { acl: [{ perms: 31, id: { scheme: 'auth', id: '' } }] });
    const configStat = (await kept.getData('/app/config')).stat;
    const bytes = await takeSnapshot(follower!);
    await until(() =>
      [...members.nodes.values()].every(
        (n) => n.driver.peer.status().lastAppliedZxid === leader.driver.peer.status().lastAppliedZxid,
      ),
    );
    const snapshotTree = treeOf(leader);

    // After the snapshot: a new session with an ephemeral, new nodes, a change.
    const later = await client(follower!);
    await later.create('/later', 'x', { mode: 'ephemeral' });
    await kept.create('/app/new', 'n');
    await kept.setData('/app/config', 'v3');
    const zxidBefore = leader.driver.peer.status().lastAppliedZxid;

    const restored = await restore(follower!, bytes);
    expect(restored.status).toBe(200);
    expect(restored.json.error).toBeNull();
    // The zxid of the restore itself: above everything before it.
    expect(BigInt(restored.json.last_zxid as number) > zxidBefore).toBe(true);

    // Every member holds the snapshot's tree, node for node (Stats and ACLs included).
    for (const node of members.nodes.values()) {
      await until(
        () => node.driver.peer.status().lastAppliedZxid >= BigInt(restored.json.last_zxid as number),
      );
      expect(treeOf(node)).toEqual(snapshotTree);
    }
    const onOther = await client(members.followers().find((n) => n !== follower)!);
    expect(text((await onOther.getData('/app/config')).data)).toBe('v2');
    expect((await onOther.getData('/app/config')).stat).toEqual(configStat);
    expect(await onOther.exists('/app/new')).toBeNull();
    expect(await onOther.exists('/later')).toBeNull();
    await expect(onOther.getData('/private')).rejects.toMatchObject({ code: -102 });
    // The session the snapshot holds resumes, its ephemeral with it; the later one expired.
    await until(() => kept.state === 'connected', 20_000);
    expect(text((await kept.getData('/private')).data)).toBe('secret');
    expect(await onOther.exists('/app/owned')).not.toBeNull();
    await until(() => later.state === 'expired', 20_000);

    // Writes go on from the restored state, on every member.
    await onOther.create('/after', 'a');
    const after = (await onOther.exists('/after'))!;
    expect(after.czxid > BigInt(restored.json.last_zxid as number)).toBe(true);
    await until(() =>
      [...members.nodes.values()].every((n) =>
        n.driver.peer.treeSnapshot().nodes.some((x) => x.path === '/after'),
      ),
    );

    // The same snapshot restored on the leader: /after goes, on every member.
    const again = await restore(members.leader, bytes);
    expect(again.status).toBe(200);
    for (const node of members.nodes.values()) {
      await until(() => node.driver.peer.status().lastAppliedZxid >= BigInt(again.json.last_zxid as number));
      expect(treeOf(node)).toEqual(snapshotTree);
    }
    expect(new Map(members.leader.metrics.dump()).get('restore_error_count') ?? 0).toBe(0);
  }, 120_000);

  it('brings back a member that was down, and members stopped right after it, with the restored state', async () => {
    const members = await started();
    const zk = await client(members.leader);
    await zk.create('/kept', 'k');
    const bytes = await takeSnapshot(members.leader);
    await until(() => [...members.nodes.values()].every((n) => treeOf(n).some((x) => x.path === '/kept')));
    const snapshotTree = treeOf(members.leader);
    for (let i = 0; i < 30; i++) await zk.create(`/gone${i}`, 'g');
    // One follower stops before the restore: the other two commit it.
    const [down, up] = members.followers().map((n) => n.driver.serverId);
    await members.stop(down!);
    const restored = await restore(members.leader, bytes);
    expect(restored.status).toBe(200);
    // Every member stops at once, the restore just committed (some may not have applied it).
    await members.closeAll();
    for (const id of [1, 2, 3]) await members.start(id);
    await members.serving(3);
    const zxid = BigInt(restored.json.last_zxid as number);
    for (const [id, node] of members.nodes) {
      await until(() => node.driver.peer.status().lastAppliedZxid >= zxid, 20_000);
      expect(treeOf(node), `member ${id}`).toEqual(snapshotTree);
    }
    expect(members.nodes.has(down!) && members.nodes.has(up!)).toBe(true);
  }, 120_000);

  it('refuses a snapshot ahead of the history, and a body that is no snapshot, leaving the state', async () => {
    const members = await started();
    const zk = await client(members.leader);
    await zk.create('/stays', 's');
    const bytes = await takeSnapshot(members.leader);
    const tree = treeOf(members.leader);
    const [follower] = members.followers();
    const bad = await restore(follower!, new TextEncoder().encode('not a snapshot'));
    expect(bad.status).toBe(500);
    expect(new Map(follower!.metrics.dump()).get('restore_error_count')).toBe(1);
    // Every member stops and starts on an empty store: the snapshot is ahead of its history.
    await members.closeAll();
    const fresh = await started();
    const ahead = await restore(fresh.followers()[0]!, bytes);
    expect(ahead.status).toBe(409);
    expect(String(ahead.json.error)).toMatch(/beyond this ensemble's history/);
    expect(treeOf(fresh.leader).some((n) => n.path === '/stays')).toBe(false);
    expect(tree.some((n) => n.path === '/stays')).toBe(true);
  }, 120_000);
});
