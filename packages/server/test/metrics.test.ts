/**
 * The Prometheus endpoint: ZooKeeper's metric names, types and labels (compared with the list
 * taken from ZooKeeper 3.8.4's sources: Debian's ZooKeeper lacks the Prometheus provider's jar,
 * so its exposition cannot be scraped here), values that follow what the server did, and an
 * exposition that Prometheus's own `promtool check metrics` parses.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connectTcp } from '@zabkit/client';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { javaDouble } from '../src/four-letter-words.js';
import { attachMetrics } from '../src/metrics/registry.js';
import { unmeasuredMetrics, zookeeperMetrics } from '../src/metrics/zookeeper-metrics.js';
import { ServerNode } from '../src/node.js';
import { startStandalone, until } from './helpers.js';
import { fourLetterWord, freePort } from './server-process.js';

const metricsConfig =
  'metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n' +
  'metricsProvider.httpHost=127.0.0.1\nmetricsProvider.httpPort=0\n';

/** The families of an exposition: name -> TYPE. */
function families(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(match[1]!, match[2]!);
  return types;
}

/** The value of one sample line, `name{labels} value`. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no sample ${series}`);
  return Number(line.slice(series.length + 1));
}

async function scrape(node: ServerNode): Promise<string> {
  const address = node.metricsAddress();
  if (address === undefined) throw new Error('no metrics endpoint');
  const response = await fetch(`http://127.0.0.1:${address.port}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

describe('Prometheus metrics', () => {
  let node: ServerNode | undefined;
  afterEach(async () => {
    await node?.close();
    node = undefined;
  });

  it("has every family of ZooKeeper 3.8's Prometheus provider, with its type and label", async () => {
    node = await startStandalone(metricsConfig);
    const text = await scrape(node);
    const ours = families(text);
    const fixture = readFileSync(new URL('./fixtures/zookeeper-3.8-metrics.txt', import.meta.url), 'utf8');
    const theirs = fixture
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => line.split(' ') as [string, string]);
    expect(theirs.length).toBeGreaterThan(150);
    // Every family zabkit measures is there with ZooKeeper's type; those it has no stage for
    // (or does not measure yet) are absent rather than a 0 that would mislead an alert.
    // A standalone server has no quorum_size and none of the leader's gauges, as ZooKeeper's
    // (the TCP ensemble's test below finds them on its leader).
    const roleGauges = new Set([
      'quorum_size',
      'learners',
      'synced_followers',
      'synced_non_voting_followers',
      'synced_observers',
      'pending_syncs',
      'leader_uptime',
      'last_proposal_size',
      'max_proposal_size',
      'min_proposal_size',
    ]);
    const measured = theirs.filter(([name]) => !unmeasuredMetrics.has(name) && !roleGauges.has(name));
    const missing = measured.filter(([name]) => !ours.has(name)).map(([name]) => name);
    expect(missing).toEqual([]);
    const wrongType = measured.filter(([name, type]) => ours.get(name) !== type);
    expect(wrongType).toEqual([]);
    const exposedAnyway = [...unmeasuredMetrics.keys()].filter((name) => ours.has(name));
    expect(exposedAnyway).toEqual([]);
    // Each one left out is one of ZooKeeper 3.9's, with a reason.
    const known = new Set(zookeeperMetrics.map(([name]) => name));
    for (const [name, reason] of unmeasuredMetrics) {
      expect(known.has(name), name).toBe(true);
      expect(reason.length).toBeGreaterThan(10);
    }
    // Summaries: 0.5 for ZooKeeper's basic ones, 0.5/0.9/0.99 for its advanced ones.
    expect(text).toContain('fsynctime{quantile="0.5"}');
    expect(text).not.toContain('fsynctime{quantile="0.9"}');
    expect(text).toContain('readlatency{quantile="0.99"}');
    // exportJvmInfo's place: Node's process metrics.
    expect(ours.has('process_cpu_user_seconds_total')).toBe(true);
    expect(ours.has('nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('reports what the server did', async () => {
    node = await startStandalone(metricsConfig);
    const zk = await connectTcp(`127.0.0.1:${node.address().port}`, { sessionTimeoutMs: 4000 });
    await zk.create('/a', 'one');
    await zk.create('/a/b', 'two', { mode: 'ephemeral' });
    await zk.setData('/a', 'three');
    await zk.getData('/a', { watch: () => undefined });
    await zk.getChildren('/a');
    const text = await scrape(node);
    expect(sample(text, 'znode_count')).toBe(node.driver.peer.replicaStats().nodeCount);
    expect(sample(text, 'ephemerals_count')).toBe(1);
    expect(sample(text, 'watch_count')).toBe(1);
    expect(sample(text, 'global_sessions')).toBe(1);
    expect(sample(text, 'num_alive_connections')).toBe(1);
    // Standalone, ZooKeeper has no QuorumPeer and so no quorum_size, and no leader gauges.
    expect(families(text).has('quorum_size')).toBe(false);
    expect(families(text).has('synced_followers')).toBe(false);
    expect(sample(text, 'updatelatency_count')).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'readlatency_count')).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'zabkit_request_latency_seconds_count{key="setData"}')).toBe(1);
    // In seconds: a request on the loopback takes well under one.
    expect(sample(text, 'zabkit_request_latency_seconds_sum{key="setData"}')).toBeLessThan(1);
    expect(sample(text, 'fsynctime_count')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'packets_received')).toBeGreaterThanOrEqual(6);
    expect(sample(text, 'bytes_received_count')).toBeGreaterThan(0);
    expect(sample(text, 'response_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'connection_request_count')).toBe(1);
    expect(sample(text, 'approximate_data_size')).toBeGreaterThan(0);
    await zk.close();
  });

  it("keeps ZooKeeper's default provider's figures for mntr, without Prometheus, until reset", async () => {
    node = await startStandalone();
    expect(node.metrics.registry).toBeUndefined();
    const zk = await connectTcp(`127.0.0.1:${node.address().port}`, { sessionTimeoutMs: 4000 });
    await zk.create('/x', '');
    await zk.create('/y', '');
    await zk.getData('/x', { watch: () => undefined });
    await zk.getChildren('/x', { watch: () => undefined });
    const figures = new Map(node.metrics.dump());
    expect(figures.get('cnt_updatelatency')).toBeGreaterThanOrEqual(2);
    expect(figures.get('cnt_readlatency')).toBeGreaterThanOrEqual(2);
    expect(figures.has('p999_readlatency')).toBe(true);
    expect(figures.has('p50_fsynctime')).toBe(false);
    expect(figures.get('watch_count')).toBe(2);
    expect(figures.get('znode_count')).toBe(node.driver.peer.replicaStats().nodeCount);
    // A standalone server reports no leader gauges and no quorum size, as ZooKeeper's.
    expect(figures.has('learners')).toBe(false);
    expect(figures.has('quorum_size')).toBe(false);
    expect(figures.get('bytes_received_count')).toBeGreaterThan(0);
    // Bytes by top-level namespace, as ZooKeeper's DataTree counts them: a write is its path
    // and data (create /x with no data: 2), a read its path, data or children and a Stat (68).
    expect(figures.get('cnt_x_write_per_namespace')).toBe(1);
    expect(figures.get('sum_x_write_per_namespace')).toBe(2);
    expect(figures.get('cnt_x_read_per_namespace')).toBe(2);
    expect(figures.get('sum_x_read_per_namespace')).toBe(2 * (2 + 68));
    node.metrics.reset();
    const after = new Map(node.metrics.dump());
    expect(after.get('cnt_updatelatency')).toBe(0);
    expect(after.get('bytes_received_count')).toBe(0);
    await zk.close();
  });

  it('counts writes under the right namespace when one name begins another', async () => {
    node = await startStandalone();
    const zk = await connectTcp(`127.0.0.1:${node.address().port}`, { sessionTimeoutMs: 4000 });
    // In this order each path's namespace differs from the one before, or is the same.
    for (const path of ['/a', '/a/c', '/ab', '/ab/d', '/a/e', '/abc']) await zk.create(path, '');
    const figures = new Map(node.metrics.dump());
    // A write counts its path's length (no data here).
    expect(figures.get('cnt_a_write_per_namespace')).toBe(3);
    expect(figures.get('sum_a_write_per_namespace')).toBe(2 + 4 + 4);
    expect(figures.get('cnt_ab_write_per_namespace')).toBe(2);
    expect(figures.get('sum_ab_write_per_namespace')).toBe(3 + 5);
    expect(figures.get('cnt_abc_write_per_namespace')).toBe(1);
    await zk.close();
  });

  it("prints the Prometheus provider's samples in mntr and monitor when it is configured", async () => {
    node = await startStandalone(`${metricsConfig}admin.serverAddress=127.0.0.1\nadmin.serverPort=0\n`);
    const zk = await connectTcp(`127.0.0.1:${node.address().port}`, { sessionTimeoutMs: 4000 });
    await zk.create('/p', 'x');
    await zk.getData('/p');
    const text = await scrape(node);
    const mntr = await fourLetterWord(node.address().port, 'mntr');
    const lines = mntr.split('\n').filter((line) => line !== '');
    expect(lines.slice(0, 2).map((line) => line.split('\t')[0])).toEqual(['zk_version', 'zk_server_state']);
    const printed = new Map(lines.slice(2).map((line) => line.split('\t') as [string, string]));
    // As PrometheusMetricsProvider.dump: one key per sample, `name{label="value",...}`.
    const exposed = text
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => `zk_${line.slice(0, line.lastIndexOf(' '))}`);
    // Label pairs compared as a set: mntr writes them in ZooKeeper's order, key before quantile.
    const normal = (key: string) =>
      key.replace(/\{(.*)\}$/, (_, labels: string) => `{${labels.split(',').sort().join(',')}}`);
    const keysOf = (keys: Iterable<string>) =>
      [...keys]
        .filter((key) => !key.startsWith('zk_nodejs_'))
        .map(normal)
        .sort();
    // Node's own process metrics move between two reads (GC kinds appear): compare the rest.
    expect(keysOf(printed.keys())).toEqual(keysOf(exposed));
    expect(printed.get('zk_znode_count')).toBe(`${node.driver.peer.replicaStats().nodeCount}.0`);
    expect(printed.has('zk_readlatency{quantile="0.99"}')).toBe(true);
    expect(printed.has('zk_readlatency_count')).toBe(true);
    expect(printed.has('zk_avg_readlatency')).toBe(false);
    // As ZooKeeper 3.8.0's provider prints them (checked against it built from its sources).
    expect(printed.get('zk_read_per_namespace{key="p",quantile="0.5"}')).toBe('71.0'); // /p, 'x', a Stat
    // Nothing observed: NaN, here and in the exposition, not a 0 that reads as "no latency".
    expect(printed.get('zk_follower_sync_time{quantile="0.5"}')).toBe('NaN');
    expect(text).toContain('follower_sync_time{quantile="0.5"} NaN');
    // Every value a double, as Java prints one.
    for (const [key, value] of printed) expect(`${key} ${value}`).toMatch(/ (-?\d+\.\d+(E-?\d+)?|NaN)$/);
    const admin = node.adminAddress()!;
    const response = await fetch(`http://127.0.0.1:${admin.port}/commands/monitor`);
    const monitor = (await response.json()) as Record<string, unknown>;
    expect(monitor['readlatency{quantile="0.5"}']).toBeDefined();
    expect(monitor.znode_count).toBe(node.driver.peer.replicaStats().nodeCount);
    await zk.close();
  });

  it('does not count a refused addauth in auth_failed_count, as ZooKeeper does not', async () => {
    node = await startStandalone(metricsConfig);
    const zk = await connectTcp(`127.0.0.1:${node.address().port}`, { sessionTimeoutMs: 4000 });
    await zk.addAuth('digest', 'no-colon').catch(() => undefined);
    const text = await scrape(node);
    expect(node.clientPort.stats.authFailures).toBe(1);
    // ZooKeeper's auth_failed_count counts refused TLS clients alone (see client-tls.test.ts).
    expect(sample(text, 'auth_failed_count')).toBe(0);
    await zk.close().catch(() => undefined);
  });

  it('is accepted by promtool check metrics', async () => {
    node = await startStandalone(metricsConfig);
    // Requests first: promtool lints a family by its samples, and the labelled ones have none before.
    const zk = await connectTcp(`127.0.0.1:${node.address().port}`, { sessionTimeoutMs: 4000 });
    await zk.create('/linted', 'x');
    await zk.getData('/linted');
    await zk.close();
    const text = await scrape(node);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (promtool.error !== undefined && !existsSync('/usr/bin/promtool'))
      throw new Error('promtool is missing: apt-get install prometheus');
    // Exit 1 is a parse error; 3 lists lint findings. ZooKeeper's own names draw lint findings
    // (counters without _total, _ms units, _count gauges): those, and only those, are allowed.
    expect(promtool.status, promtool.stderr).not.toBe(1);
    const findings = `${promtool.stdout}${promtool.stderr}`.split('\n').filter((line) => line.trim() !== '');
    const zookeeperNames = new Set(zookeeperMetrics.map(([name]) => name));
    // prom-client's own process gauges nodejs_active_{handles,requests,resources}_total draw one too.
    const processGauges = /^nodejs_active_(handles|requests|resources)_total /;
    const ours = findings.filter(
      (line) => !zookeeperNames.has(line.trim().split(' ')[0]!) && !processGauges.test(line.trim()),
    );
    expect(ours).toEqual([]);
  });

  it('is a registry embedders attach to a running node', async () => {
    node = await startStandalone();
    expect(node.metricsAddress()).toBeUndefined();
    const metrics = attachMetrics(node, { exportProcessMetrics: false });
    const zk = await connectTcp(`127.0.0.1:${node.address().port}`, { sessionTimeoutMs: 4000 });
    await zk.create('/embedded', 'abc');
    await zk.getData('/embedded', { watch: () => undefined });
    await zk.delete('/embedded');
    const text = await metrics.registry.metrics();
    expect(sample(text, 'znode_count')).toBe(node.driver.peer.replicaStats().nodeCount);
    // What the replica counts as it applies reaches an attached registry too, as the node's own.
    expect(sample(text, 'write_per_namespace_count{key="embedded"}')).toBe(2);
    expect(sample(text, 'propagation_latency_count')).toBe(3);
    expect(sample(text, 'node_deleted_watch_count_count')).toBe(1);
    expect(families(text).has('process_cpu_user_seconds_total')).toBe(false);
    metrics.detach();
    await zk.close();
  });

  it('refuses a provider class it does not have, and a bad port', () => {
    const base = 'tickTime=200\ndataDir=/tmp/zabkit-test\nclientPort=0\n';
    expect(() => parseConfig(`${base}metricsProvider.className=com.example.Other\n`)).toThrow(
      /metricsProvider\.className/,
    );
    expect(() => parseConfig(`${base}${metricsConfig.replace('httpPort=0', 'httpPort=99999')}`)).toThrow(
      /metricsProvider\.httpPort/,
    );
    const { warnings, config } = parseConfig(`${base}metricsProvider.httpPort=7001\n`);
    expect(config.metrics).toBeUndefined();
    expect(warnings.join('\n')).toMatch(
      /metricsProvider\.httpPort: no effect without metricsProvider\.className/,
    );
  });

  it('stops the server from starting when its port is taken, as ZooKeeper does', async () => {
    node = await startStandalone(metricsConfig);
    const taken = node.metricsAddress()!.port;
    const { config } = parseConfig(
      `tickTime=200\ndataDir=/tmp/zabkit-test\nclientPort=0\nclientPortAddress=127.0.0.1\n${metricsConfig.replace('httpPort=0', `httpPort=${taken}`)}`,
    );
    await expect(ServerNode.start({ config })).rejects.toThrow(/EADDRINUSE/);
  });

  it('reports learners, syncs, elections and proposals in a TCP ensemble', async () => {
    const quorumPorts = [await freePort(), await freePort(), await freePort()];
    const lines = quorumPorts.map((port, i) => `server.${i + 1}=127.0.0.1:${port}:${port + 1}`).join('\n');
    const nodes = await Promise.all(
      [1, 2, 3].map((myid) =>
        ServerNode.start({
          config: parseConfig(
            `tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir=/tmp/zabkit-test\nclientPort=0\nclientPortAddress=127.0.0.1\n${lines}\n`,
            { myid },
          ).config,
        }),
      ),
    );
    try {
      const all = nodes.map((n) => attachMetrics(n, { exportProcessMetrics: false }));
      await until(() =>
        nodes.some((n) => n.driver.peer.status().role === 'leading' && n.driver.peer.status().serving),
      );
      const leaderIndex = nodes.findIndex((n) => n.driver.peer.status().role === 'leading');
      const leader = nodes[leaderIndex]!;
      await until(() => leader.driver.peer.learners().filter((l) => l.synced).length === 2);
      const zk = await connectTcp(`127.0.0.1:${leader.address().port}`, { sessionTimeoutMs: 4000 });
      for (let i = 0; i < 5; i++) await zk.create(`/n${i}`, 'x');
      await zk.close();
      const text = await all[leaderIndex]!.registry.metrics();
      expect(sample(text, 'learners')).toBe(2);
      expect(sample(text, 'synced_followers')).toBe(2);
      expect(sample(text, 'quorum_size')).toBe(3);
      expect(sample(text, 'proposal_count')).toBeGreaterThanOrEqual(5);
      expect(sample(text, 'commit_count')).toBeGreaterThanOrEqual(5);
      expect(sample(text, 'max_proposal_size')).toBeGreaterThanOrEqual(sample(text, 'min_proposal_size'));
      expect(sample(text, 'min_proposal_size')).toBeGreaterThan(0);
      expect(sample(text, 'leader_uptime')).toBeGreaterThan(0);
      // Latencies measured from the transactions' times: to the quorum's acks on the leader,
      // per acknowledging follower, and to the commit on a follower.
      expect(sample(text, 'quorum_ack_latency_count')).toBeGreaterThanOrEqual(5);
      // As ZooKeeper's Leader.processAck, an ack counts while its proposal awaits its quorum:
      // each of the 5 commits had at least one follower's ack before it.
      const followerIds = nodes.filter((_, i) => i !== leaderIndex).map((n) => n.driver.serverId);
      const acks = (id: number) => {
        const line = text.split('\n').find((l) => l.startsWith(`ack_latency_count{key="${id}"} `));
        return line === undefined ? 0 : Number(line.split(' ')[1]);
      };
      expect(acks(followerIds[0]!) + acks(followerIds[1]!)).toBeGreaterThanOrEqual(5);
      // The leader's gauges, which a standalone server has not.
      for (const name of [
        'learners',
        'synced_followers',
        'synced_observers',
        'leader_uptime',
        'last_proposal_size',
      ])
        expect(families(text).get(name), name).toBe('gauge');
      // Each follower's lag, in ZooKeeper's per-learner family, keyed by server id.
      for (const learner of leader.driver.peer.learners()) {
        const count = new RegExp(`^learner_handler_qp_size_count\\{key="${learner.serverId}"\\} (\\d+)`, 'm');
        expect(Number(count.exec(text)?.[1])).toBeGreaterThanOrEqual(5);
      }
      const dumped = new Map(all[leaderIndex]!.dump());
      for (const learner of leader.driver.peer.learners())
        expect(dumped.get(`cnt_${learner.serverId}_learner_handler_qp_size`)).toBeGreaterThanOrEqual(5);
      const follower = all[(leaderIndex + 1) % 3]!;
      await until(
        async () => sample(await follower.registry.metrics(), 'learner_commit_received_count') >= 5,
      );
      const followerText = await follower.registry.metrics();
      expect(sample(followerText, 'learner_proposal_received_count')).toBeGreaterThanOrEqual(1);
      // A follower has none of the leader's gauges, as in ZooKeeper (absent, not 0).
      expect(families(followerText).has('learners')).toBe(false);
      expect(families(followerText).has('synced_followers')).toBe(false);
      expect(sample(followerText, 'quorum_size')).toBe(3);
      expect(sample(followerText, 'commit_propagation_latency_count')).toBeGreaterThanOrEqual(5);
      expect(sample(followerText, 'znode_count')).toBe(sample(text, 'znode_count'));
      for (const m of all) m.detach();
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });
});

describe("mntr's doubles", () => {
  it("print as Java's Double.toString does (values checked with Java 17)", () => {
    const cases: [number, string][] = [
      [4, '4.0'],
      [0.25, '0.25'],
      [1e7, '1.0E7'],
      [1.5e-4, '1.5E-4'],
      [12345678.9, '1.23456789E7'],
      [0.001, '0.001'],
      [9999999.5, '9999999.5'],
      [-3, '-3.0'],
      [1e21, '1.0E21'],
      [123.456, '123.456'],
      [0.1 + 0.2, '0.30000000000000004'],
      [Number.NaN, 'NaN'],
      [0, '0.0'],
    ];
    for (const [value, java] of cases) expect(javaDouble(value)).toBe(java);
  });
});
