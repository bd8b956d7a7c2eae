/**
 * Metric values side by side with Apache ZooKeeper 3.8 from Debian's package: the same
 * requests on both servers, then mntr's figures compared value for value where both count
 * the same thing (client response sizes, watch bytes, resumed sessions, expired sessions,
 * writes refused by quota, transactions timed as they are applied).
 */
import { type Socket, connect as tcpConnect } from 'node:net';
import { connectTcp, type ZabClient } from '@zabkit/client';
import { parseConfig, ServerNode } from '@zabkit/server';
import { decodeConnectResponse, encodeConnectRequest } from '@zabkit/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApacheZooKeeper,
  startApacheZooKeeper,
  zookeeperInstalled,
} from './support/apache-zookeeper.js';
import { fourLetterWord } from './support/process-ensemble.js';

if (!zookeeperInstalled)
  console.warn('Apache ZooKeeper is not installed (apt-get install zookeeper): skipping');

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

/** A raw session handshake: the server's answer, and the socket left open. */
async function rawConnect(
  port: number,
  session: { sessionId: bigint; password: Uint8Array } = { sessionId: 0n, password: new Uint8Array(16) },
): Promise<{ socket: Socket; sessionId: bigint; password: Uint8Array; timeoutMs: number }> {
  const socket = tcpConnect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  const bytes = await new Promise<Buffer>((resolve, reject) => {
    let received = Buffer.alloc(0);
    socket.on('connect', () =>
      socket.write(encodeConnectRequest({ lastZxidSeen: 0n, timeoutMs: 1000, ...session })),
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

async function until(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(!zookeeperInstalled)('metric values, zabkit beside Apache ZooKeeper 3.8', () => {
  let zookeeper: ApacheZooKeeper;
  let zabkit: ServerNode;
  const servers: { name: string; port: number }[] = [];

  beforeAll(async () => {
    zookeeper = await startApacheZooKeeper({ config: ['enforceQuota=true'] });
    // ruok answers before the server serves: wait until its words do.
    await until(
      async () => !(await fourLetterWord(zookeeper.port, 'srvr')).includes('not currently serving'),
      60_000,
    );
    const { config } = parseConfig(
      'tickTime=200\ndataDir=/tmp/zabkit-metrics-zk-test\nclientPort=0\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\nadmin.enableServer=false\nenforceQuota=true\n',
    );
    zabkit = await ServerNode.start({ config });
    servers.push(
      { name: 'zookeeper', port: zookeeper.port },
      { name: 'zabkit', port: zabkit.address().port },
    );
  }, 90_000);

  afterAll(async () => {
    await zabkit?.close();
    await zookeeper?.stop();
  });

  /** Runs `work` on each server in turn, then reads the keys from each one's mntr. */
  const compare = async (keys: readonly string[], work: (port: number) => Promise<void>) => {
    const read: Record<string, Record<string, string | undefined>> = {};
    for (const { name, port } of servers) {
      expect(await fourLetterWord(port, 'srst')).toBe('Server stats reset.\n');
      await work(port);
      // zabkit's gauges reuse a reading taken within 50 ms: read past it, so mntr sees the work.
      await new Promise((resolve) => setTimeout(resolve, 120));
      const figures = await mntr(port);
      read[name] = Object.fromEntries(keys.map((key) => [key, figures.get(key)]));
    }
    return { zookeeper: read.zookeeper!, zabkit: read.zabkit! };
  };

  it('sizes client responses and counts watch bytes as ZooKeeper does', async () => {
    const keys = [
      'last_client_response_size',
      'min_client_response_size',
      'max_client_response_size',
      'watch_bytes',
    ];
    const { zookeeper: theirs, zabkit: ours } = await compare(keys, async (port) => {
      const zk = await connectTcp(`127.0.0.1:${port}`, { sessionTimeoutMs: 30_000 });
      await zk.create('/sized', 'x');
      await zk.getData('/sized', { watch: () => undefined });
      await zk.getChildren('/', { watch: () => undefined });
      await zk.setData('/sized', 'a'.repeat(777));
      await zk.getData('/sized');
      await zk.create('/sized/child', 'y');
      await zk.delete('/sized/child');
      await zk.exists('/sized/none', { watch: () => undefined });
      await zk.create('/sized/none', '');
      await zk.exists('/');
      await zk.close();
    });
    expect(theirs.max_client_response_size).toBe(String(16 + 4 + 777 + 68));
    // NodeDataChanged on /sized and NodeCreated on /sized/none: 16 + 8 + a path each.
    expect(theirs.watch_bytes).toBe(String(16 + 8 + 4 + 6 + (16 + 8 + 4 + 11)));
    expect(ours).toEqual(theirs);
  });

  it('counts the watchers each trigger reached as ZooKeeper does', async () => {
    const keys = ['created', 'deleted', 'changed', 'children'].flatMap((type) =>
      ['cnt', 'sum', 'min', 'max'].map((figure) => `${figure}_node_${type}_watch_count`),
    );
    const { zookeeper: theirs, zabkit: ours } = await compare(keys, async (port) => {
      const clients = await Promise.all(
        [1, 2, 3].map(() => connectTcp(`127.0.0.1:${port}`, { sessionTimeoutMs: 30_000 })),
      );
      const [one, two, three] = clients as [ZabClient, ZabClient, ZabClient];
      await one.create('/watched', '');
      await one.create('/watched/a', '');
      await one.getData('/watched', { watch: () => undefined });
      await one.getChildren('/watched', { watch: () => undefined });
      await two.getData('/watched', { watch: () => undefined });
      await two.getChildren('/', { watch: () => undefined });
      await three.exists('/watched/b', { watch: () => undefined });
      await two.getData('/watched/a', { watch: () => undefined });
      await three.getData('/watched/a', { watch: () => undefined });
      await three.setData('/watched/a', 'x');
      await three.create('/watched/b', '');
      // A plain persistent watch (a recursive one differs: 3.8 keeps it in the child table too,
      // 3.9 and zabkit only in the data table, so 3.8 counts one more figure per deletion).
      await three.addWatch('/watched', () => undefined);
      // /watched/b deleted: its data table reaches one, its child table one (told already,
      // matched all the same) and two.
      await one.getData('/watched/b', { watch: () => undefined });
      await one.getChildren('/watched/b', { watch: () => undefined });
      await two.getChildren('/watched/b', { watch: () => undefined });
      await three.delete('/watched/a');
      await three.delete('/watched/b');
      await three.setData('/watched', 'y');
      for (const client of clients) await client.close();
    });
    expect([theirs.cnt_node_deleted_watch_count, theirs.sum_node_deleted_watch_count]).toEqual(['2', '3']);
    expect(ours).toEqual(theirs);
  });

  it('times every transaction applied, failed writes included, as ZooKeeper does', async () => {
    const keys = ['cnt_propagation_latency', 'cnt_proposal_latency', 'cnt_proposal_ack_creation_latency'];
    const open: ZabClient[] = [];
    const { zookeeper: theirs, zabkit: ours } = await compare(keys, async (port) => {
      const zk = await connectTcp(`127.0.0.1:${port}`, { sessionTimeoutMs: 30_000 });
      open.push(zk);
      await zk.create('/timed', 'x');
      await zk.create('/timed', 'x').catch(() => undefined);
      await zk.setData('/timed', 'y');
      await zk.setData('/timed', 'z', { version: 7 }).catch(() => undefined);
      await zk.getData('/timed');
      await zk.delete('/timed');
      // The session stays open while mntr is read: ZooKeeper skips the figure of a close
      // whose connection it closes itself.
    });
    for (const zk of open) await zk.close();
    // createSession, the creates and setDatas (an error transaction each for the refused
    // ones), the delete; no read; standalone: no proposal received or acknowledged.
    expect(theirs).toEqual({
      cnt_propagation_latency: '6',
      cnt_proposal_latency: '0',
      cnt_proposal_ack_creation_latency: '0',
    });
    expect(ours).toEqual(theirs);
  });

  it('counts the change records a write makes and forgets as ZooKeeper does', async () => {
    const keys = ['outstanding_changes_queued', 'outstanding_changes_removed'];
    const { zookeeper: theirs, zabkit: ours } = await compare(keys, async (port) => {
      const zk = await connectTcp(`127.0.0.1:${port}`, { sessionTimeoutMs: 30_000 });
      await zk.create('/changes', '');
      await zk.create('/changes/a', 'x');
      await zk.create('/changes/a', 'x').catch(() => undefined);
      await zk.setData('/changes/a', 'y');
      await zk.setACL('/changes/a', [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }]);
      await zk.create('/changes/e', '', { mode: 'ephemeral' });
      await zk.create('/changes/s-', '', { mode: 'persistentSequential' });
      // A multi that succeeds, and one that fails on its second op after its first made records.
      await zk
        .transaction()
        .create('/changes/m', '')
        .setData('/changes/m', 'z')
        .check('/changes', 0)
        .commit();
      await zk
        .transaction()
        .create('/changes/n', '')
        .delete('/changes/missing')
        .commit()
        .catch(() => undefined);
      await zk.delete('/changes/a');
      // The session's close deletes its ephemeral.
      await zk.close();
    });
    expect(Number(theirs.outstanding_changes_queued)).toBeGreaterThan(10);
    expect(ours).toEqual(theirs);
  });

  it('counts neither a refused addauth nor a failed SASL exchange in auth_failed_count, as ZooKeeper', async () => {
    const keys = ['auth_failed_count'];
    const { zookeeper: theirs, zabkit: ours } = await compare(keys, async (port) => {
      const zk = await connectTcp(`127.0.0.1:${port}`, { sessionTimeoutMs: 10_000 });
      await zk.addAuth('digest', 'no-colon').catch(() => undefined);
      await zk.close().catch(() => undefined);
    });
    expect(theirs).toEqual({ auth_failed_count: '0' });
    expect(ours).toEqual(theirs);
  });

  it('counts resumed sessions and expired ones as ZooKeeper does', async () => {
    const keys = ['connection_revalidate_count', 'stale_sessions_expired'];
    const { zookeeper: theirs, zabkit: ours } = await compare(keys, async (port) => {
      const first = await rawConnect(port);
      const again = await rawConnect(port, first);
      expect(again.sessionId).toBe(first.sessionId);
      first.socket.destroy();
      again.socket.destroy();
      // Expired once its timeout (the 400 ms minimum of tickTime 200, asked 1000) has passed.
      await until(async () => (await mntr(port)).get('stale_sessions_expired') === '1');
    });
    expect(theirs).toEqual({ connection_revalidate_count: '1', stale_sessions_expired: '1' });
    expect(ours).toEqual(theirs);
  }, 60_000);

  it('reports quotas and the writes they refused by namespace as ZooKeeper does', async () => {
    const keys = [
      'tenant_quota_exceeded_error_per_namespace',
      'tenant_quota_count_limit_per_namespace',
      'tenant_quota_bytes_limit_per_namespace',
      'tenant_quota_count_usage_per_namespace',
      'tenant_quota_bytes_usage_per_namespace',
    ];
    const { zookeeper: theirs, zabkit: ours } = await compare(keys, async (port) => {
      const zk = await connectTcp(`127.0.0.1:${port}`, { sessionTimeoutMs: 10_000 });
      await zk.create('/tenant', '');
      await zk.create('/zookeeper/quota/tenant', '');
      await zk.create('/zookeeper/quota/tenant/zookeeper_limits', 'count=-1,bytes=100=;countHardLimit=2');
      await zk.create('/zookeeper/quota/tenant/zookeeper_stats', 'count=1,bytes=0');
      await zk.create('/tenant/a', 'abc');
      for (const path of ['/tenant/b', '/tenant/c', '/tenant/d'])
        await zk.create(path, '').catch(() => undefined);
      await zk.close();
    });
    expect(theirs).toEqual({
      tenant_quota_exceeded_error_per_namespace: '3',
      // The hard count limit, the soft bytes one; /tenant and /tenant/a, with 3 bytes.
      tenant_quota_count_limit_per_namespace: '2',
      tenant_quota_bytes_limit_per_namespace: '100',
      tenant_quota_count_usage_per_namespace: '2',
      tenant_quota_bytes_usage_per_namespace: '3',
    });
    expect(ours).toEqual(theirs);
  });
});
