/**
 * ZooKeeper's leader gauges that follow the learners and the membership, in a TCP ensemble:
 * pending_syncs (learners' syncs answered with a zxid not yet committed, which ZooKeeper's
 * leader would hold until it commits), synced_non_voting_followers (a server that syncs and
 * follows before a reconfig adds it) and quorum_size once the reconfig is committed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connectTcp, type ZabClient } from '@zabkit/client';
import { MemoryStorage } from '@zabkit/storage-memory';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { attachMetrics } from '../src/metrics/registry.js';
import { zookeeperMetrics } from '../src/metrics/zookeeper-metrics.js';
import { ServerNode } from '../src/node.js';
import { GatedStorage, until } from './helpers.js';
import { freePort } from './server-process.js';

/** super:test, as ZooKeeper's DigestAuthenticationProvider hashes it: reconfig needs it. */
const superDigest = 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=';

/** Waits out the window in which the gauges' last reading is reused. */
const pastGaugeReuse = () => new Promise((resolve) => setTimeout(resolve, 120));

/** The value of one sample line, `name{labels} value`. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no sample ${series}`);
  return Number(line.slice(series.length + 1));
}

const figure = (node: ServerNode, key: string) => new Map(node.metrics.dump()).get(key);

describe("the leader's learner and membership gauges in a TCP ensemble", () => {
  const nodes: ServerNode[] = [];
  const gates = new Map<ServerNode, GatedStorage>();
  const clients: ZabClient[] = [];
  const lines: string[] = [];
  const base =
    'tickTime=200\ninitLimit=10\nsyncLimit=20\ndataDir=/tmp/zabkit-test\nclientPortAddress=127.0.0.1\n' +
    'admin.enableServer=false\nreconfigEnabled=true\n';
  const leader = () =>
    nodes.find((n) => n.driver.peer.status().role === 'leading' && n.driver.peer.status().serving);

  beforeAll(async () => {
    for (let id = 1; id <= 3; id++)
      lines.push(`server.${id}=127.0.0.1:${await freePort()}:${await freePort()}`);
    for (let myid = 1; myid <= 3; myid++) {
      const gate = new GatedStorage(new MemoryStorage());
      const node = await ServerNode.start({
        config: parseConfig(`${base}clientPort=0\n${lines.join('\n')}\n`, { myid }).config,
        storage: gate.storage,
        superDigest,
      });
      nodes.push(node);
      gates.set(node, gate);
    }
    await until(() => leader() !== undefined, 30_000);
    await until(
      () =>
        leader()!
          .driver.peer.learners()
          .filter((l) => l.synced).length === 2,
      30_000,
    );
  }, 60_000);

  afterAll(async () => {
    for (const gate of gates.values()) gate.release();
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    await Promise.all(nodes.map((node) => node.close()));
  });

  it("counts learners' syncs waiting for a commit by the zxid they wait on, as ZooKeeper's leader does", async () => {
    const first = leader()!;
    const followers = nodes.filter((n) => n !== first);
    const connect = async (node: ServerNode) => {
      const client = await connectTcp(`127.0.0.1:${node.address().port}`, { sessionTimeoutMs: 10_000 });
      clients.push(client);
      return client;
    };
    // A session each: one session's requests are answered in order, and these must not wait on each other.
    const writer = await connect(first);
    const [a, b, c] = [
      await connect(followers[0]!),
      await connect(followers[1]!),
      await connect(followers[0]!),
    ];
    // A registry of its own too: it follows the leader from now on, as the server's own does.
    const metrics = attachMetrics(first, { exportProcessMetrics: false });
    let syncsReceived = 0;
    const stopCounting = first.driver.observe({
      received: (_from, message) => {
        if (message.kind === 'clientSync') syncsReceived++;
      },
    });
    await pastGaugeReuse();
    expect(figure(first, 'pending_syncs')).toBe(0);
    // A sync while nothing is outstanding is answered at once: nothing pending.
    await a!.sync('/');
    await pastGaugeReuse();
    expect(figure(first, 'pending_syncs')).toBe(0);

    // Both followers hold their appends: the leader's proposals wait for a quorum.
    for (const follower of followers) gates.get(follower)!.hold();
    const status = () => first.driver.peer.status();
    const writes: Promise<unknown>[] = [];
    const syncs: Promise<unknown>[] = [];
    let answered = 0;
    try {
      writes.push(writer.create('/held-1', ''));
      await until(() => status().lastLoggedZxid > status().lastCommittedZxid);
      const firstHeld = status().lastLoggedZxid;
      syncs.push(...[a!.sync('/'), b!.sync('/')].map((sync) => sync.then(() => answered++)));
      await until(() => syncsReceived === 3);
      await pastGaugeReuse();
      // Two syncs waiting on the same proposal: one entry, as ZooKeeper's pendingSyncs map keys them.
      expect(figure(first, 'pending_syncs')).toBe(1);
      writes.push(writer.create('/held-2', ''));
      await until(() => status().lastLoggedZxid > firstHeld);
      syncs.push(c!.sync('/').then(() => answered++));
      await until(() => syncsReceived === 4);
      await pastGaugeReuse();
      expect(figure(first, 'pending_syncs')).toBe(2);
      expect(sample(await metrics.registry.metrics(), 'pending_syncs')).toBe(2);
      // The learners hold their clients' syncs meanwhile: none is answered before the commit.
      expect(answered).toBe(0);
    } finally {
      for (const follower of followers) gates.get(follower)!.release();
    }
    await Promise.all([...writes, ...syncs]);
    expect(answered).toBe(3);
    await until(() => status().lastCommittedZxid === status().lastLoggedZxid);
    await pastGaugeReuse();
    expect(figure(first, 'pending_syncs')).toBe(0);
    expect(sample(await metrics.registry.metrics(), 'pending_syncs')).toBe(0);
    metrics.detach();
    stopCounting();
  }, 60_000);

  it('reports a non-voting follower until a reconfig adds it, and the new quorum size after', async () => {
    const chief = leader()!;
    const clientPort = await freePort();
    const joinLine = `server.4=127.0.0.1:${await freePort()}:${await freePort()}:participant;127.0.0.1:${clientPort}`;
    // ZooKeeper's way to add a server: it starts first, its zoo.cfg naming the members and itself.
    const joiner = await ServerNode.start({
      config: parseConfig(`${base}${lines.join('\n')}\n${joinLine}\n`, { myid: 4 }).config,
      superDigest,
    });
    nodes.push(joiner);
    await until(() => chief.driver.peer.learners().some((l) => l.serverId === 4 && l.synced), 30_000);
    await pastGaugeReuse();
    const metrics = attachMetrics(chief, { exportProcessMetrics: false });
    let text = await metrics.registry.metrics();
    // ZooKeeper's forwarding followers include the non-voting one; its quorum is still the three.
    expect(sample(text, 'synced_non_voting_followers')).toBe(1);
    expect(sample(text, 'synced_followers')).toBe(3);
    expect(sample(text, 'learners')).toBe(3);
    expect(sample(text, 'quorum_size')).toBe(3);
    expect(figure(chief, 'synced_non_voting_followers')).toBe(1);
    // A leader gauge: a follower has none, not a 0.
    const follower = nodes.find((n) => n !== chief && n !== joiner)!;
    expect(new Map(follower.metrics.dump()).has('synced_non_voting_followers')).toBe(false);
    expect(figure(joiner, 'quorum_size')).toBe(3);

    const admin = await connectTcp(`127.0.0.1:${chief.address().port}`, { sessionTimeoutMs: 10_000 });
    clients.push(admin);
    await admin.addAuth('digest', 'super:test');
    const added = await admin.reconfig({ joining: [joinLine] });
    expect(added.text).toContain('server.4=');
    await until(
      () => figure(chief, 'synced_non_voting_followers') === 0 && figure(chief, 'quorum_size') === 4,
    );
    text = await metrics.registry.metrics();
    expect(sample(text, 'synced_non_voting_followers')).toBe(0);
    expect(sample(text, 'synced_followers')).toBe(3);
    expect(sample(text, 'quorum_size')).toBe(4);
    // Every member counts the voters of the membership in force.
    await until(() => figure(follower, 'quorum_size') === 4 && figure(joiner, 'quorum_size') === 4);

    // Prometheus's own parser takes the leader's exposition with these gauges in it.
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (promtool.error !== undefined && !existsSync('/usr/bin/promtool'))
      throw new Error('promtool is missing: apt-get install prometheus');
    expect(promtool.status, promtool.stderr).not.toBe(1);
    // Lint findings only for ZooKeeper's own names (counters without _total, ...), as in metrics.test.ts.
    const zookeeperNames = new Set(zookeeperMetrics.map(([name]) => name));
    const findings = `${promtool.stdout}${promtool.stderr}`
      .split('\n')
      .filter((line) => line.trim() !== '')
      .filter((line) => !zookeeperNames.has(line.trim().split(' ')[0]!));
    expect(findings).toEqual([]);
    metrics.detach();
  }, 90_000);
});
