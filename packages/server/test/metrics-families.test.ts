/**
 * The ZooKeeper metric families measured since the first set: client response sizes and
 * watch bytes (as ZooKeeper's ServerCnxn counts a packet: header and body, no length prefix),
 * plain connections, resumed sessions and their revalidation by the leader, session expiries,
 * learner syncs in flight, the leader's unavailable time and refused writes by quota. Each is
 * driven here and read back from mntr and the Prometheus exposition; the expected values are
 * worked out from ZooKeeper's wire format, not read off zabkit.
 */
import { type Socket, connect as tcpConnect } from 'node:net';
import { connectTcp } from '@zabkit/client';
import { Ids } from '@zabkit/core';
import { MemoryStorage } from '@zabkit/storage-memory';
import { decodeConnectResponse, encodeConnectRequest, encodeRequest } from '@zabkit/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { jsonLogger } from '../src/log.js';
import { ServerNode } from '../src/node.js';
import { GatedStorage, startStandalone, until } from './helpers.js';
import { fourLetterWord, freePort } from './server-process.js';

const metricsConfig =
  'metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n' +
  'metricsProvider.httpHost=127.0.0.1\nmetricsProvider.httpPort=0\n';

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
  return response.text();
}

/** mntr's pairs, without the `zk_` prefix. */
async function mntr(port: number): Promise<Map<string, string>> {
  const text = await fourLetterWord(port, 'mntr');
  return new Map(
    text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const [key, value] = line.split('\t') as [string, string];
        return [key.replace(/^zk_/, ''), value] as const;
      }),
  );
}

/** Waits out the window in which the gauges' last reading is reused. */
const pastGaugeReuse = () => new Promise((resolve) => setTimeout(resolve, 120));

/** A raw session handshake: the server's answer, and the socket left open. */
async function rawConnect(
  port: number,
  session: { sessionId: bigint; password: Uint8Array } = { sessionId: 0n, password: new Uint8Array(16) },
  timeoutMs = 1000,
): Promise<{ socket: Socket; sessionId: bigint; password: Uint8Array; timeoutMs: number }> {
  const socket = tcpConnect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  const bytes = await new Promise<Buffer>((resolve, reject) => {
    let received = Buffer.alloc(0);
    socket.on('connect', () =>
      socket.write(encodeConnectRequest({ lastZxidSeen: 0n, timeoutMs, ...session })),
    );
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) resolve(received);
    });
    socket.on('close', () => reject(new Error('closed before the connect response')));
  });
  const answer = decodeConnectResponse(bytes.subarray(4, 4 + bytes.readInt32BE(0)));
  return { socket, sessionId: answer.sessionId, password: answer.password, timeoutMs: answer.timeoutMs };
}

describe("ZooKeeper's metric families, measured", () => {
  let node: ServerNode | undefined;
  afterEach(async () => {
    await node?.close();
    node = undefined;
  });

  it('sizes client responses and counts watch bytes as ServerCnxn does; srst resets the sizes', async () => {
    node = await startStandalone(metricsConfig);
    // No response yet: BufferStats's initial -1.
    let text = await scrape(node);
    expect(sample(text, 'last_client_response_size')).toBe(-1);
    expect(sample(text, 'min_client_response_size')).toBe(-1);
    expect(sample(text, 'non_mtls_local_conn_count')).toBe(0);
    // A long session timeout: no ping answer comes between these.
    const zk = await connectTcp(`127.0.0.1:${node.address().port}`, { sessionTimeoutMs: 30_000 });
    // A reply's header is 16 bytes (xid, zxid, err); a Stat is 68; a string or buffer 4 + its bytes.
    await zk.create('/w', 'x'); // header + "/w": 22
    await zk.getData('/w', { watch: () => undefined }); // header + "x" + Stat: 89
    await zk.setData('/w', 'a'.repeat(1000)); // header + Stat: 84, and the event
    await zk.getData('/w'); // header + 1000 bytes + Stat: 1088
    await zk.delete('/w'); // header alone: 16
    await zk.exists('/'); // header + Stat: 84
    await pastGaugeReuse();
    text = await scrape(node);
    expect(sample(text, 'last_client_response_size')).toBe(84);
    expect(sample(text, 'min_client_response_size')).toBe(16);
    expect(sample(text, 'max_client_response_size')).toBe(1088);
    // One NodeDataChanged on /w: header + type + state + "/w" = 16 + 4 + 4 + 6 = 30.
    expect(sample(text, 'watch_bytes')).toBe(30);
    // One plain connection from the loopback address, none from elsewhere, no TLS handshake.
    expect(sample(text, 'non_mtls_local_conn_count')).toBe(1);
    expect(sample(text, 'non_mtls_remote_conn_count')).toBe(0);
    expect(sample(text, 'outstanding_tls_handshake')).toBe(0);
    // mntr's connection counts as it opens, as ZooKeeper's channelActive does (read past the
    // 50 ms in which scrapes share one reading of the gauges).
    await pastGaugeReuse();
    const figures = await mntr(node.address().port);
    expect(figures.get('non_mtls_local_conn_count')).toBe('2.0');
    expect(figures.get('max_client_response_size')).toBe('1088.0');
    await fourLetterWord(node.address().port, 'srst');
    await pastGaugeReuse();
    const sizes = new Map(node.metrics.dump());
    expect(sizes.get('last_client_response_size')).toBe(-1);
    expect(sizes.get('max_client_response_size')).toBe(-1);
    expect(sizes.get('watch_bytes')).toBe(0);
    // ZooKeeper resets these through JMX alone.
    expect(sizes.get('non_mtls_local_conn_count')).toBe(3);
    await zk.close();
  });

  it('counts resumed sessions, and sessions the server expired but not those closed', async () => {
    node = await startStandalone();
    const port = node.address().port;
    const first = await rawConnect(port);
    expect(first.timeoutMs).toBeGreaterThan(0);
    const resumed = await rawConnect(port, first);
    expect(resumed.sessionId).toBe(first.sessionId);
    let figures = new Map(node.metrics.dump());
    expect(figures.get('connection_revalidate_count')).toBe(1);
    expect(figures.get('stale_sessions_expired')).toBe(0);
    // A client that closes its session is no expiry.
    const zk = await connectTcp(`127.0.0.1:${port}`, { sessionTimeoutMs: 4000 });
    await zk.close();
    first.socket.destroy();
    resumed.socket.destroy();
    await until(() => !node!.driver.peer.sessionSummary().sessions.has(first.sessionId));
    figures = new Map(node.metrics.dump());
    expect(figures.get('stale_sessions_expired')).toBe(1);
    expect(figures.get('connection_revalidate_count')).toBe(1);
  });

  it('counts writes refused by a hard quota under their namespace', async () => {
    node = await startStandalone(`${metricsConfig}enforceQuota=true\n`);
    const zk = await connectTcp(`127.0.0.1:${node.address().port}`, { sessionTimeoutMs: 4000 });
    await zk.create('/app', '');
    await zk.create('/zookeeper/quota/app', '');
    await zk.create('/zookeeper/quota/app/zookeeper_limits', 'count=-1,bytes=-1=;countHardLimit=2');
    await zk.create('/zookeeper/quota/app/zookeeper_stats', 'count=1,bytes=0');
    await zk.create('/app/1', '');
    const refused: number[] = [];
    for (const path of ['/app/2', '/app/3'])
      await zk.create(path, '').catch((error: { code: number }) => refused.push(error.code));
    expect(refused).toEqual([-125, -125]);
    // A write outside any quota counts nowhere.
    await zk.create('/other', '');
    const figures = new Map(node.metrics.dump());
    expect(figures.get('app_quota_exceeded_error_per_namespace')).toBe(2);
    expect(figures.has('other_quota_exceeded_error_per_namespace')).toBe(false);
    const text = await scrape(node);
    expect(sample(text, 'quota_exceeded_error_per_namespace{key="app"}')).toBe(2);
    // The quota's gauges: its hard count limit, no bytes limit (-1), and /app with /app/1.
    expect(figures.get('app_quota_count_limit_per_namespace')).toBe(2);
    expect(figures.get('app_quota_bytes_limit_per_namespace')).toBe(-1);
    expect(figures.get('app_quota_count_usage_per_namespace')).toBe(2);
    expect(sample(text, 'quota_count_usage_per_namespace{key="app"}')).toBe(2);
    expect(sample(text, 'quota_bytes_usage_per_namespace{key="app"}')).toBe(0);
    // A quota removed leaves the gauges.
    await zk.delete('/zookeeper/quota/app/zookeeper_limits');
    await zk.delete('/zookeeper/quota/app/zookeeper_stats');
    await pastGaugeReuse();
    expect(await scrape(node)).not.toContain('quota_count_usage_per_namespace{key="app"}');
    expect(new Map(node.metrics.dump()).has('app_quota_count_limit_per_namespace')).toBe(false);
    node.metrics.reset();
    expect(new Map(node.metrics.dump()).has('app_quota_exceeded_error_per_namespace')).toBe(false);
    await zk.close();
  });

  it('counts the watchers each trigger reached, by event type, as WatchManager does', async () => {
    node = await startStandalone();
    const port = node.address().port;
    const [one, two, three] = await Promise.all(
      [1, 2, 3].map(() => connectTcp(`127.0.0.1:${port}`, { sessionTimeoutMs: 30_000 })),
    );
    await one!.create('/n', '');
    await one!.getData('/n', { watch: () => undefined });
    await one!.getChildren('/n', { watch: () => undefined });
    await two!.getData('/n', { watch: () => undefined });
    await two!.getChildren('/', { watch: () => undefined });
    await three!.exists('/new', { watch: () => undefined });
    // NodeCreated on /new reaches one watcher; NodeChildrenChanged on / one.
    await three!.create('/new', '');
    // NodeDeleted on /n: two in the data table, then one in the child table (that watcher,
    // already told, is matched but not told again); / has no child watch left.
    await three!.delete('/n');
    const figures = new Map(node.metrics.dump());
    expect(figures.get('cnt_node_created_watch_count')).toBe(1);
    expect(figures.get('sum_node_created_watch_count')).toBe(1);
    expect(figures.get('cnt_node_children_watch_count')).toBe(1);
    expect(figures.get('cnt_node_deleted_watch_count')).toBe(2);
    expect(figures.get('sum_node_deleted_watch_count')).toBe(3);
    expect(figures.get('max_node_deleted_watch_count')).toBe(2);
    expect(figures.get('cnt_node_changed_watch_count')).toBe(0);
    await Promise.all([one!.close(), two!.close(), three!.close()]);
  });

  it('counts requests answered ThrottledOp in throttled_ops, and no other refusal', async () => {
    node = await startStandalone(metricsConfig);
    // A core refusal reaches the metrics as the client port reports it served; the core's
    // bounds (10,000 proposals in flight) sit past the client port's outstanding limit, so the
    // reply is handed to the port here rather than provoked.
    const request = { op: 'create', path: '/t', data: null, acl: [], mode: 'persistent' } as never;
    node.clientPort.served(request, { ok: false, code: -127 } as never, 1);
    node.clientPort.served(request, { ok: false, code: -127 } as never, 1);
    node.clientPort.served(request, { ok: false, code: -110 } as never, 1);
    expect(new Map(node.metrics.dump()).get('throttled_ops')).toBe(2);
    expect(sample(await scrape(node), 'throttled_ops')).toBe(2);
  });

  it('counts the logged transactions a restart loads past the snapshot', async () => {
    const storage = new MemoryStorage();
    const config = parseConfig(
      'tickTime=200\ndataDir=/tmp/zabkit-test\nclientPort=0\nclientPortAddress=127.0.0.1\n',
    ).config;
    node = await ServerNode.start({ config, storage });
    expect(new Map(node.metrics.dump()).get('sum_startup_txns_loaded')).toBe(0);
    const zk = await connectTcp(`127.0.0.1:${node.address().port}`, { sessionTimeoutMs: 4000 });
    for (let i = 0; i < 5; i++) await zk.create(`/loaded${i}`, '');
    await zk.close();
    // createSession, five creates, closeSession: seven transactions, none in a snapshot yet.
    await node.close();
    node = await ServerNode.start({ config, storage: storage.reopen() });
    const figures = new Map(node.metrics.dump());
    expect(figures.get('cnt_startup_txns_loaded')).toBe(1);
    expect(figures.get('sum_startup_txns_loaded')).toBe(7);
  });

  it("measures the process's pauses when jvm.pause.monitor asks, as ZooKeeper's pause monitor", async () => {
    const lines: Record<string, unknown>[] = [];
    const log = jsonLogger('info', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
    const config = parseConfig(
      `tickTime=200\ndataDir=/tmp/zabkit-test\nclientPort=0\nclientPortAddress=127.0.0.1\n${metricsConfig}` +
        'jvm.pause.monitor=true\njvm.pause.sleep.time.ms=50\njvm.pause.info-threshold.ms=150\n',
    ).config;
    node = await ServerNode.start({ config, log });
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The event loop blocked for 400 ms: the 50 ms sleep under way took at least 400.
    const blockedUntil = performance.now() + 400;
    while (performance.now() < blockedUntil) {
      // Busy: nothing else runs.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const figures = new Map(node.metrics.dump());
    expect(figures.get('cnt_jvm_pause_time_ms')).toBeGreaterThanOrEqual(3);
    expect(figures.get('max_jvm_pause_time_ms')).toBeGreaterThanOrEqual(350);
    expect(figures.get('min_jvm_pause_time_ms')).toBeLessThan(150);
    // The monitor goes on meanwhile: the exposition has at least those.
    expect(sample(await scrape(node), 'jvm_pause_time_ms_count')).toBeGreaterThanOrEqual(
      figures.get('cnt_jvm_pause_time_ms')!,
    );
    // Past the info threshold: logged at info, with the pause's length.
    const logged = lines.filter((line) => typeof line.pauseMs === 'number');
    expect(logged.length).toBeGreaterThanOrEqual(1);
    expect(logged.every((line) => line.level === 'info')).toBe(true);
    expect(logged.map((line) => line.pauseMs)).toContain(figures.get('max_jvm_pause_time_ms'));
  });

  it('has no pause monitor by default, as ZooKeeper: the summary is there and empty', async () => {
    node = await startStandalone(metricsConfig);
    const blockedUntil = performance.now() + 100;
    while (performance.now() < blockedUntil) {
      // Busy.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(new Map(node.metrics.dump()).get('cnt_jvm_pause_time_ms')).toBe(0);
    expect(sample(await scrape(node), 'jvm_pause_time_ms_count')).toBe(0);
  });

  it('reads jvm.pause.* as ZooKeeper does, refusing what it cannot use', () => {
    const base = 'tickTime=200\ndataDir=/tmp/zabkit-test\nclientPort=0\n';
    expect(parseConfig(base).config.pauseMonitor).toBeUndefined();
    expect(parseConfig(`${base}jvm.pause.monitor=true\n`).config.pauseMonitor).toEqual({
      sleepTimeMs: 500,
      infoThresholdMs: 1000,
      warnThresholdMs: 10_000,
    });
    const off = parseConfig(`${base}jvm.pause.sleep.time.ms=100\n`);
    expect(off.config.pauseMonitor).toBeUndefined();
    expect(off.warnings).toEqual(['jvm.pause.sleep.time.ms: no effect without jvm.pause.monitor=true']);
    expect(() => parseConfig(`${base}jvm.pause.monitor=yes\n`)).toThrow(/jvm\.pause\.monitor/);
    expect(() => parseConfig(`${base}jvm.pause.monitor=true\njvm.pause.sleep.time.ms=0\n`)).toThrow(
      /jvm\.pause\.sleep\.time\.ms/,
    );
    expect(() => parseConfig(`${base}jvm.pause.monitor=true\njvm.pause.warn-threshold.ms=-1\n`)).toThrow(
      /jvm\.pause\.warn-threshold\.ms/,
    );
  });

  it('counts a write applied after its connection closed as a stale reply, as FinalRequestProcessor', async () => {
    const gated = new GatedStorage(new MemoryStorage());
    const config = parseConfig(
      `tickTime=200\ndataDir=/tmp/zabkit-test\nclientPort=0\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n${metricsConfig}`,
    ).config;
    node = await ServerNode.start({ config, storage: gated.storage });
    const raw = await rawConnect(node.address().port, undefined, 30_000);
    expect(sample(await scrape(node), 'stale_replies')).toBe(0);
    // The create's write is held as a slow disk holds it; the connection drops meanwhile.
    gated.hold();
    const create = {
      op: 'create',
      path: '/stale',
      data: null,
      acl: Ids.openAclUnsafe,
      mode: 0,
      ttlMs: -1n,
    } as const;
    raw.socket.write(encodeRequest(1, create));
    await until(() => gated.waiting === 1);
    raw.socket.destroy();
    await until(() => node!.driver.peer.status().connections === 0);
    gated.release();
    await until(async () => Number((await mntr(node!.address().port)).get('stale_replies')) === 1);
    expect(sample(await scrape(node), 'stale_replies')).toBe(1);
    // The write itself was applied: only its reply went nowhere.
    const zk = await connectTcp(`127.0.0.1:${node.address().port}`, { sessionTimeoutMs: 30_000 });
    expect(await zk.exists('/stale')).not.toBeNull();
    await zk.create('/answered', '');
    expect(Number((await mntr(node.address().port)).get('stale_replies'))).toBe(1);
    await zk.close();
  });

  it('times the wait and the write of each batch made durable together, as SyncRequestProcessor', async () => {
    const gated = new GatedStorage(new MemoryStorage());
    const config = parseConfig(
      'tickTime=200\ndataDir=/tmp/zabkit-test\nclientPort=0\nclientPortAddress=127.0.0.1\n',
    ).config;
    node = await ServerNode.start({ config, storage: gated.storage });
    const [one, two] = await Promise.all(
      [1, 2].map(() => connectTcp(`127.0.0.1:${node!.address().port}`, { sessionTimeoutMs: 30_000 })),
    );
    node.metrics.reset();
    const status = () => node!.driver.peer.status();
    // The first create's write is held as a slow disk holds it; two more wait behind it.
    gated.hold();
    const heldMs = 300;
    const creates = [one!.create('/batch-a', '')];
    await until(() => gated.waiting === 1);
    const afterFirst = status().lastLoggedZxid;
    creates.push(two!.create('/batch-b', ''), one!.create('/batch-c', ''));
    await until(() => status().lastLoggedZxid === afterFirst + 2n);
    await new Promise((resolve) => setTimeout(resolve, heldMs));
    gated.release();
    await Promise.all(creates);
    const figures = new Map(node.metrics.dump());
    // Two writes: the first create alone, then the two that waited, together.
    expect(figures.get('cnt_sync_processor_batch_size')).toBe(2);
    expect(figures.get('sum_sync_processor_batch_size')).toBe(3);
    expect(figures.get('max_sync_processor_batch_size')).toBe(2);
    expect(figures.get('cnt_sync_processor_queue_flush_time_ms')).toBe(2);
    expect(figures.get('max_sync_processor_queue_flush_time_ms')).toBeGreaterThanOrEqual(heldMs);
    // Each transaction: the two behind the held write waited for it before theirs began.
    expect(figures.get('cnt_sync_processor_queue_time_ms')).toBe(3);
    expect(figures.get('min_sync_processor_queue_time_ms')).toBeLessThan(heldMs);
    expect(figures.get('max_sync_processor_queue_time_ms')).toBeGreaterThanOrEqual(heldMs);
    expect(figures.get('cnt_sync_processor_queue_and_flush_time_ms')).toBe(3);
    expect(figures.get('min_sync_processor_queue_and_flush_time_ms')).toBeGreaterThanOrEqual(heldMs);
    await Promise.all([one!.close(), two!.close()]);
  });

  it('times each applied transaction from its time, dropping a negative figure, as ZooKeeper does', async () => {
    // The peer's wall clock stamps the transactions: 2 s behind, each is applied 2 s "late".
    let offsetMs = -2000;
    const config = parseConfig(
      `tickTime=200\ndataDir=/tmp/zabkit-test\nclientPort=0\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n${metricsConfig}`,
    ).config;
    node = await ServerNode.start({ config, clock: () => Date.now() + offsetMs });
    const zk = await connectTcp(`127.0.0.1:${node.address().port}`, { sessionTimeoutMs: 30_000 });
    for (let i = 0; i < 3; i++) await zk.create(`/late${i}`, '');
    let figures = new Map(node.metrics.dump());
    // createSession and three creates.
    expect(figures.get('cnt_propagation_latency')).toBe(4);
    expect(figures.get('min_propagation_latency')).toBeGreaterThanOrEqual(2000);
    expect(figures.get('max_propagation_latency')).toBeLessThan(2000 + 5000);
    expect(figures.has('p99_propagation_latency')).toBe(true);
    // Standalone, ZooKeeper has no ack stage and receives no proposals.
    expect(figures.get('cnt_proposal_ack_creation_latency')).toBe(0);
    expect(figures.get('cnt_proposal_latency')).toBe(0);
    expect(sample(await scrape(node), 'propagation_latency_count')).toBe(4);
    // A clock ahead of this one: a negative latency, left out rather than counted.
    offsetMs = 2000;
    await zk.create('/early', '');
    figures = new Map(node.metrics.dump());
    expect(figures.get('cnt_propagation_latency')).toBe(4);
    await zk.close();
  });

  it('times proposals as a follower receives them and as each voter makes them durable, in a TCP ensemble', async () => {
    const quorumPorts = [await freePort(), await freePort(), await freePort()];
    const lines = quorumPorts.map((p, i) => `server.${i + 1}=127.0.0.1:${p}:${p + 1}`).join('\n');
    // Every peer's wall clock 3 s behind: the leader's transactions carry times 3 s old.
    const lagMs = 3000;
    const nodes = await Promise.all(
      [1, 2, 3].map((myid) =>
        ServerNode.start({
          config: parseConfig(
            `tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir=/tmp/zabkit-test\nclientPort=0\nclientPortAddress=127.0.0.1\n${lines}\n`,
            { myid },
          ).config,
          clock: () => Date.now() - lagMs,
        }),
      ),
    );
    try {
      await until(() =>
        nodes.some((n) => n.driver.peer.status().role === 'leading' && n.driver.peer.status().serving),
      );
      const leader = nodes.find((n) => n.driver.peer.status().role === 'leading')!;
      const followers = nodes.filter((n) => n !== leader);
      await until(() => followers.every((f) => f.driver.peer.status().serving));
      const zk = await connectTcp(`127.0.0.1:${leader.address().port}`, { sessionTimeoutMs: 10_000 });
      for (let i = 0; i < 5; i++) await zk.create(`/timed${i}`, '');
      await zk.close();
      const lastZxid = leader.driver.peer.status().lastCommittedZxid;
      await until(() => followers.every((f) => f.driver.peer.status().lastAppliedZxid >= lastZxid));
      const of = (n: ServerNode) => new Map(n.metrics.dump());
      // createSession, five creates and closeSession: seven proposals.
      const ofLeader = of(leader);
      expect(ofLeader.get('cnt_proposal_ack_creation_latency')).toBeGreaterThanOrEqual(7);
      expect(ofLeader.get('min_proposal_ack_creation_latency')).toBeGreaterThanOrEqual(lagMs);
      expect(ofLeader.get('cnt_proposal_latency')).toBe(0);
      // The leader's change records: five creates make two each (parent and node), all applied.
      expect(ofLeader.get('outstanding_changes_queued')).toBeGreaterThanOrEqual(10);
      expect(ofLeader.get('outstanding_changes_removed')).toBe(ofLeader.get('outstanding_changes_queued'));
      for (const follower of followers) {
        const figures = of(follower);
        expect(figures.get('cnt_proposal_latency')).toBeGreaterThanOrEqual(7);
        // A learner prepares nothing, as a ZooKeeper follower has no PrepRequestProcessor.
        expect(figures.get('outstanding_changes_queued')).toBe(0);
        expect(figures.get('min_proposal_latency')).toBeGreaterThanOrEqual(lagMs);
        expect(figures.get('cnt_proposal_ack_creation_latency')).toBeGreaterThanOrEqual(7);
        expect(figures.get('min_proposal_ack_creation_latency')).toBeGreaterThanOrEqual(lagMs);
        // Received, then made durable, then applied: each later than the one before.
        expect(figures.get('max_propagation_latency')).toBeGreaterThanOrEqual(
          figures.get('max_proposal_latency')!,
        );
      }
      for (const each of nodes) {
        expect(of(each).get('cnt_propagation_latency')).toBeGreaterThanOrEqual(7);
        expect(of(each).get('min_propagation_latency')).toBeGreaterThanOrEqual(lagMs);
        expect(of(each).get('max_propagation_latency')).toBeLessThan(lagMs + 5000);
      }
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });

  it('drops the latencies a clock ahead would make negative, in a TCP ensemble', async () => {
    const quorumPorts = [await freePort(), await freePort(), await freePort()];
    const lines = quorumPorts.map((p, i) => `server.${i + 1}=127.0.0.1:${p}:${p + 1}`).join('\n');
    // Every peer's wall clock 3 s ahead: the leader's transactions carry times in the future.
    const nodes = await Promise.all(
      [1, 2, 3].map((myid) =>
        ServerNode.start({
          config: parseConfig(
            `tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir=/tmp/zabkit-test\nclientPort=0\nclientPortAddress=127.0.0.1\n${lines}\n`,
            { myid },
          ).config,
          clock: () => Date.now() + 3000,
        }),
      ),
    );
    try {
      await until(() =>
        nodes.some((n) => n.driver.peer.status().role === 'leading' && n.driver.peer.status().serving),
      );
      const leader = nodes.find((n) => n.driver.peer.status().role === 'leading')!;
      const followers = nodes.filter((n) => n !== leader);
      await until(() => followers.every((f) => f.driver.peer.status().serving));
      const zk = await connectTcp(`127.0.0.1:${leader.address().port}`, { sessionTimeoutMs: 10_000 });
      for (let i = 0; i < 3; i++) await zk.create(`/ahead${i}`, '');
      const lastZxid = leader.driver.peer.status().lastCommittedZxid;
      await until(() => followers.every((f) => f.driver.peer.status().lastAppliedZxid >= lastZxid));
      // Latencies measured from the transactions' times; the clients' request latencies
      // (readlatency, updatelatency) run on this host's monotonic clock.
      const fromTxnTimes = (n: ServerNode) =>
        [...n.metrics.dump()].filter(
          ([key, value]) =>
            key.startsWith('cnt_') &&
            key.includes('latency') &&
            !/^cnt_(read|update)latency$/.test(key) &&
            value !== 0,
        );
      // The proposals went out, were acknowledged and committed: every latency from their
      // times was negative, so none was recorded.
      expect(new Map(leader.metrics.dump()).get('proposal_count')).toBeGreaterThanOrEqual(4);
      expect(new Map(leader.metrics.dump()).get('cnt_updatelatency')).toBeGreaterThanOrEqual(3);
      for (const each of nodes) expect(fromTxnTimes(each)).toEqual([]);
      await zk.close();
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });

  it('reports learner syncs in flight, the leader unavailable time and revalidations in a TCP ensemble', async () => {
    const quorumPorts = [await freePort(), await freePort(), await freePort()];
    const lines = quorumPorts.map((p, i) => `server.${i + 1}=127.0.0.1:${p}:${p + 1}`).join('\n');
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
      await until(() =>
        nodes.some((n) => n.driver.peer.status().role === 'leading' && n.driver.peer.status().serving),
      );
      const leader = nodes.find((n) => n.driver.peer.status().role === 'leading')!;
      const followers = nodes.filter((n) => n !== leader);
      await until(() => leader.driver.peer.learners().filter((l) => l.synced).length === 2);
      await until(() => followers.every((f) => f.driver.peer.status().serving));
      const ofLeader = new Map(leader.metrics.dump());
      // Every sync is observed as it starts and as it ends: two figures per DIFF or SNAP sent.
      const syncs = ofLeader.get('diff_count')! + ofLeader.get('snap_count')!;
      expect(syncs).toBeGreaterThanOrEqual(2);
      const inflight = ofLeader.get('cnt_inflight_diff_count')! + ofLeader.get('cnt_inflight_snap_count')!;
      expect(inflight).toBe(2 * syncs);
      expect(ofLeader.get('min_inflight_diff_count')).toBe(0);
      expect(ofLeader.get('max_inflight_diff_count')).toBeGreaterThanOrEqual(1);
      expect(ofLeader.get('max_inflight_diff_count')).toBeLessThanOrEqual(2);
      // The leader's wait to serve, on the leader alone; every server has its unavailable time.
      expect(ofLeader.get('cnt_leader_unavailable_time')).toBe(1);
      for (const follower of followers) {
        const figures = new Map(follower.metrics.dump());
        expect(figures.get('cnt_leader_unavailable_time')).toBe(0);
        expect(figures.get('cnt_unavailable_time')).toBeGreaterThanOrEqual(1);
        expect(figures.get('cnt_inflight_diff_count')).toBe(0);
      }
      // A session opened on one follower and resumed on the other: that follower asks the leader.
      const before = ofLeader.get('revalidate_count')!;
      const opened = await rawConnect(followers[0]!.address().port, undefined, 4000);
      expect(opened.timeoutMs).toBeGreaterThan(0);
      const resumed = await rawConnect(followers[1]!.address().port, opened, 4000);
      expect(resumed.sessionId).toBe(opened.sessionId);
      expect(resumed.timeoutMs).toBeGreaterThan(0);
      expect(new Map(leader.metrics.dump()).get('revalidate_count')).toBe(before + 1);
      expect(new Map(followers[1]!.metrics.dump()).get('connection_revalidate_count')).toBe(1);
      expect(new Map(followers[0]!.metrics.dump()).get('connection_revalidate_count')).toBe(0);
      opened.socket.destroy();
      resumed.socket.destroy();
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });
});
