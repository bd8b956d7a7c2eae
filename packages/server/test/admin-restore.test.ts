/**
 * The admin server's restore, as ZooKeeper 3.9's: POST /commands/restore with a snapshot (the
 * snapshot command's own output) replaces a running standalone server's tree, Stats, ACLs and
 * sessions, durably; authentication first, a body that is not a whole snapshot leaves the
 * server as it was, the rate limiter answers 429, and where a restore cannot keep replicas
 * consistent (an ensemble member with no leader, an embedded peer) it is refused with 409.
 * (A member of a serving ensemble restores: admin-restore-ensemble.test.ts.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectTcp, type ZabClient } from '@zabkit/client';
import { DataTree } from '@zabkit/core';
import { MemoryStorage } from '@zabkit/storage-memory';
import { encodeSnapshot, toSnapshotContent } from '@zabkit/zk-format';
import { afterEach, describe, expect, it } from 'vitest';
import { RestoreRefusedError } from '../src/admin/commands.js';
import { parseConfig } from '../src/config.js';
import { startPeer } from '../src/embed/peer.js';
import { openLevelStore } from '../src/level-store.js';
import { silentLogger } from '../src/log.js';
import { ServerNode } from '../src/node.js';
import { until } from './helpers.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

const operator = { authorization: 'digest ops:pw' };

async function durableServer(dataDir: string, extra = ''): Promise<ServerNode> {
  const { config } = parseConfig(
    `tickTime=200\ndataDir=${dataDir}\nclientPort=0\nclientPortAddress=127.0.0.1\nadmin.serverAddress=127.0.0.1\nadmin.serverPort=0\n4lw.commands.whitelist=*\n${extra}`,
  );
  const storage = await openLevelStore(config, silentLogger);
  const node = await ServerNode.start({ config, storage });
  cleanups.push(() => node.close());
  return node;
}

const admin = (node: ServerNode, command: string) =>
  `http://127.0.0.1:${node.adminAddress()!.port}/commands/${command}`;

async function client(node: ServerNode): Promise<ZabClient> {
  const zk = await connectTcp(`127.0.0.1:${node.address().port}`, { sessionTimeoutMs: 20_000 });
  cleanups.push(() => zk.close());
  return zk;
}

async function restore(node: ServerNode, body: Uint8Array, headers: Record<string, string> = operator) {
  const response = await fetch(admin(node, 'restore'), { method: 'POST', body, headers });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('restore into a running server (3.9 POST /commands/restore)', () => {
  it("replaces the tree, Stats, ACLs and sessions with the snapshot's, durably, and goes on from there", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'zabkit-restore-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    let node = await durableServer(dataDir, 'admin.rateLimiterIntervalInMS=0\n');
    const kept = await client(node);
    await kept.create('/app', 'before');
    await kept.create('/app/config', 'v1');
    await kept.setData('/app/config', 'v2');
    await kept.create('/app/owned', 'e', { mode: 'ephemeral' });
    await kept.addAuth('digest', 'alice:pw');
    await kept.create('/private', 'secret', { acl: [{ perms: 31, id: { scheme: 'auth', id: '' } }] });
    const configStat = (await kept.getData('/app/config')).stat;
    const privateAcl = await kept.getACL('/private');

    const snapshot = await fetch(admin(node, 'snapshot'), { headers: operator });
    expect(snapshot.status).toBe(200);
    const bytes = new Uint8Array(await snapshot.arrayBuffer());
    const snapshotZxid = BigInt(snapshot.headers.get('last_zxid')!);

    // After the snapshot: a new session, new nodes, changes and a delete.
    const later = await client(node);
    await later.create('/later', 'x', { mode: 'ephemeral' });
    await kept.create('/app/new', 'n');
    await kept.setData('/app/config', 'v3');
    await kept.delete('/app/owned').catch(() => undefined);
    await kept.delete('/app/new');
    await kept.create('/app/new2', '');
    const zxidBefore = node.driver.peer.status().lastAppliedZxid;
    const changesBefore = new Map(node.metrics.dump()).get('outstanding_changes_queued')!;
    expect(changesBefore).toBeGreaterThan(10);

    const restored = await restore(node, bytes);
    expect(restored.status).toBe(200);
    expect(restored.json).toEqual({ command: 'restore', error: null, last_zxid: Number(snapshotZxid) });

    // A fresh client sees the snapshot's state, Stats and ACLs included.
    const fresh = await client(node);
    expect(new TextDecoder().decode((await fresh.getData('/app/config')).data!)).toBe('v2');
    expect((await fresh.getData('/app/config')).stat).toEqual(configStat);
    expect(await fresh.exists('/app/new2')).toBeNull();
    expect(await fresh.exists('/later')).toBeNull();
    await expect(fresh.getData('/private')).rejects.toMatchObject({ code: -102 });
    await fresh.addAuth('digest', 'alice:pw');
    expect(await fresh.getACL('/private')).toEqual(privateAcl);
    // The session the snapshot holds resumes, its ephemeral with it; the later one is gone.
    await until(async () => (await fresh.exists('/app/owned')) !== null, 10_000);
    await until(() => kept.state === 'connected', 20_000);
    expect(new TextDecoder().decode((await kept.getData('/private')).data!)).toBe('secret');
    await until(() => later.state === 'expired', 20_000);
    // Later writes take zxids above everything before the restore.
    const created = await fresh.create('/after', 'a');
    expect(created).toBe('/after');
    // The new peer's change records add to the old one's: a counter does not go back.
    const changesAfter = new Map(node.metrics.dump()).get('outstanding_changes_queued')!;
    expect(changesAfter).toBeGreaterThanOrEqual(changesBefore + 2);
    const after = (await fresh.exists('/after'))!;
    expect(after.czxid > zxidBefore).toBe(true);

    // It is durable: the server restarted on its data directory starts from the restored state.
    await node.close();
    cleanups.length = 0;
    node = await durableServer(dataDir);
    const again = await client(node);
    expect(new TextDecoder().decode((await again.getData('/app/config')).data!)).toBe('v2');
    expect(await again.exists('/after')).not.toBeNull();
    expect(await again.exists('/app/new2')).toBeNull();
  });

  it('asks for every permission on /, keeps the state on a bad body, and rate limits as 3.9', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'zabkit-restore-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const node = await durableServer(dataDir);
    const zk = await client(node);
    await zk.create('/stays', 'here');
    expect((await restore(node, new Uint8Array([1, 2, 3]), {})).status).toBe(401);
    const zxid = node.driver.peer.status().lastAppliedZxid;
    // Not a snapshot: 500 naming why, restore_error_count, and nothing changed.
    const bad = await restore(node, new TextEncoder().encode('not a snapshot at all'));
    expect(bad.status).toBe(500);
    expect(String(bad.json.error)).toMatch(/snapshot/);
    expect(node.driver.peer.status().lastAppliedZxid).toBe(zxid);
    expect(new TextDecoder().decode((await zk.getData('/stays')).data!)).toBe('here');
    const figures = new Map(node.metrics.dump());
    expect(figures.get('restore_error_count')).toBe(1);
    // One restore per admin.rateLimiterIntervalInMS (300000 by default): the next is 429.
    const limited = await restore(node, new TextEncoder().encode('again'));
    expect(limited.status).toBe(429);
    expect(new Map(node.metrics.dump()).get('restore_rate_limited_count')).toBe(1);
    // An empty body is refused before the limiter.
    expect((await restore(node, new Uint8Array(0))).status).toBe(400);
  });

  it('serves the state its store still holds when writing the snapshot fails', async () => {
    const inner = new MemoryStorage();
    let failReset = false;
    // A store whose reset fails (a full disk), as the import writes the snapshot.
    const storage = new Proxy(inner, {
      get(target, property, receiver) {
        if (property === 'reset' && failReset)
          return async () => Promise.reject(new Error('ENOSPC: no space left'));
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const { config } = parseConfig(
      'tickTime=200\ndataDir=/tmp/zabkit-restore-failing\nclientPort=0\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n',
    );
    const node = await ServerNode.start({ config, storage });
    cleanups.push(() => node.close());
    const zk = await client(node);
    await zk.create('/old', 'state');
    const tree = node.driver.peer.treeSnapshot();
    const snapshot = encodeSnapshot({ ...toSnapshotContent(tree), lastZxid: tree.zxid });
    await zk.create('/newer', '');
    failReset = true;
    await expect(node.restore(snapshot)).rejects.toThrow(/ENOSPC/);
    failReset = false;
    // The old state, served again after the failed restore.
    await until(() => zk.state === 'connected', 20_000);
    const fresh = await client(node);
    expect(await fresh.exists('/newer')).not.toBeNull();
    expect(new TextDecoder().decode((await fresh.getData('/old')).data!)).toBe('state');
  });

  it('answers 503 when admin.restore.enabled=false', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'zabkit-restore-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const node = await durableServer(dataDir, 'admin.restore.enabled=false\n');
    await client(node);
    expect((await restore(node, new Uint8Array([1]))).status).toBe(503);
  });

  it('is refused on an ensemble member that is not serving and on an embedded peer, saying why', async () => {
    const { config } = parseConfig(
      'tickTime=200\ninitLimit=5\nsyncLimit=2\ndataDir=/tmp/zabkit-restore-ensemble\nclientPort=0\nadmin.enableServer=false\n' +
        'server.1=127.0.0.1:1:2\nserver.2=127.0.0.1:3:4\nserver.3=127.0.0.1:5:6\n',
      { myid: 1 },
    );
    const member = await ServerNode.start({ config, listen: false });
    cleanups.push(() => member.close());
    // A whole snapshot (of an empty tree): the member, alone, has no leader to restore through.
    const empty = new DataTree().snapshot();
    const snapshot = encodeSnapshot({ ...toSnapshotContent(empty), lastZxid: empty.zxid });
    await expect(member.restore(snapshot)).rejects.toBeInstanceOf(RestoreRefusedError);
    await expect(member.restore(snapshot)).rejects.toThrow(/not serving/);

    // A snapshot too large for one proposal on these peer links (about 70 KB frames) is refused
    // before anything is asked of the leader.
    const small = parseConfig(
      'tickTime=200\ninitLimit=5\nsyncLimit=2\ndataDir=/tmp/zabkit-restore-ensemble\nclientPort=0\nadmin.enableServer=false\n' +
        'jute.maxbuffer=2048\nzabkit.syncChunkBytes=2048\nzabkit.syncWindowBytes=2048\nzabkit.peerMaxFrameBytes=70000\n' +
        'server.1=127.0.0.1:1:2\nserver.2=127.0.0.1:3:4\nserver.3=127.0.0.1:5:6\n',
      { myid: 2 },
    ).config;
    const constrained = await ServerNode.start({ config: small, listen: false });
    cleanups.push(() => constrained.close());
    const tree = new DataTree();
    const large = { ...tree.snapshot(), nodes: [...tree.snapshot().nodes] };
    for (let i = 0; i < 40; i++)
      large.nodes.push({ ...large.nodes[0]!, path: `/n${i}`, data: new Uint8Array(1000).fill(65) });
    const largeBytes = encodeSnapshot({ ...toSnapshotContent(large), lastZxid: large.zxid });
    await expect(constrained.restore(largeBytes)).rejects.toThrow(
      /beyond half zabkit.peerMaxFrameBytes \(35000\)/,
    );
    // The same snapshot fits the default links: refused only for want of a leader.
    await expect(member.restore(largeBytes)).rejects.toThrow(/not serving/);

    const dataDir = await mkdtemp(join(tmpdir(), 'zabkit-restore-embedded-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const peer = await startPeer({
      id: 1,
      dataDir,
      storage: 'memory',
      clientPort: { port: 0, host: '127.0.0.1' },
      adminServer: { address: '127.0.0.1' },
    });
    cleanups.push(() => peer.close());
    await peer.ready();
    const response = await fetch(`http://127.0.0.1:${peer.adminAddress()!.port}/commands/restore`, {
      method: 'POST',
      body: new Uint8Array([1]),
      headers: operator,
    });
    expect(response.status).toBe(409);
    expect(((await response.json()) as { error: string }).error).toMatch(/embedded/);
  });
});
