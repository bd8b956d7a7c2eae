/**
 * The four-letter words side by side with Apache ZooKeeper 3.8 from Debian's package: the same
 * actions on both servers, then each word's answer compared in shape (ZooKeeper's lines, keys
 * and formats; values differ where the servers do). And Debian's zktop, which parses `stat`,
 * reads zabkit as it reads ZooKeeper.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { promisify } from 'node:util';
import { connectTcp, type ZabClient } from '@zabkit/client';
import { isUnmeasuredKey, parseConfig, ServerNode } from '@zabkit/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApacheZooKeeper,
  startApacheZooKeeper,
  zookeeperInstalled,
} from './support/apache-zookeeper.js';
import { fourLetterWord } from './support/process-ensemble.js';

const execFileAsync = promisify(execFile);

if (!zookeeperInstalled)
  console.warn('Apache ZooKeeper is not installed (apt-get install zookeeper): skipping');

/** stmk: the word and its mask as 8 big-endian bytes. */
function setTraceMask(port: number, mask: bigint): Promise<string> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    let text = '';
    socket.on('connect', () => {
      const bytes = Buffer.alloc(12);
      bytes.write('stmk');
      bytes.writeBigInt64BE(mask, 4);
      socket.write(bytes);
    });
    socket.on('data', (chunk) => {
      text += chunk.toString();
    });
    socket.on('error', () => resolve(''));
    socket.on('close', () => resolve(text));
  });
}

/** A session's id as both servers print it. */
const hex = (id: bigint) => `0x${id.toString(16)}`;

describe.skipIf(!zookeeperInstalled)('four-letter words, zabkit beside Apache ZooKeeper 3.8', () => {
  let zookeeper: ApacheZooKeeper;
  let zabkit: ServerNode;
  const clients: { name: string; port: number; zk: ZabClient }[] = [];

  beforeAll(async () => {
    zookeeper = await startApacheZooKeeper();
    const { config } = parseConfig(
      'tickTime=200\ndataDir=/tmp/zabkit-4lw-test\nclientPort=0\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\nadmin.enableServer=false\n',
    );
    zabkit = await ServerNode.start({ config });
    for (const [name, port] of [
      ['zookeeper', zookeeper.port],
      ['zabkit', zabkit.address().port],
    ] as const) {
      const zk = await connectTcp(`127.0.0.1:${port}`, { sessionTimeoutMs: 20_000 });
      await zk.create('/app', 'x');
      await zk.create('/app/e', 'y', { mode: 'ephemeral' });
      await zk.getData('/app', { watch: () => undefined });
      await zk.exists('/app/e', { watch: () => undefined });
      await zk.getChildren('/app', { watch: () => undefined });
      clients.push({ name, port, zk });
    }
  }, 90_000);

  afterAll(async () => {
    for (const { zk } of clients) await zk.close().catch(() => undefined);
    await zabkit?.close();
    await zookeeper?.stop();
  });

  const both = async (word: string) => {
    const [zk, ours] = await Promise.all(clients.map((c) => fourLetterWord(c.port, word)));
    return { zk: zk!, ours: ours! };
  };

  it('mntr prints the keys ZooKeeper prints, in its formats, and no zk_followers', async () => {
    const { zk, ours } = await both('mntr');
    const keys = (text: string) =>
      new Map(
        text
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => line.split('\t') as [string, string]),
      );
    const theirs = keys(zk);
    const mine = keys(ours);
    expect(theirs.size).toBeGreaterThan(300);
    // ZooKeeper's summary sets print one group per namespace it saw (the app in /app);
    // zabkit keeps no per-namespace figures.
    // zabkit leaves out the families it has no stage for (unmeasuredMetrics: a 0 forever
    // would mislead an alert), and only those.
    const unmeasured = (key: string) => isUnmeasuredKey(key.replace(/^zk_/, ''));
    const missing = [...theirs.keys()].filter((key) => !mine.has(key) && !unmeasured(key));
    expect(missing).toEqual([]);
    const printedAnyway = [...mine.keys()].filter((key) => unmeasured(key));
    expect(printedAnyway).toEqual([]);
    expect(mine.has('zk_followers')).toBe(false);
    expect(mine.get('zk_server_state')).toBe('standalone');
    expect(mine.get('zk_ephemerals_count')).toBe(theirs.get('zk_ephemerals_count'));
    expect(mine.get('zk_watch_count')).toBe(theirs.get('zk_watch_count'));
    expect(mine.get('zk_global_sessions')).toBe(theirs.get('zk_global_sessions'));
    // Doubles print as Java prints them, whole numbers without a fraction.
    for (const [key, value] of theirs) {
      if (!mine.has(key)) continue;
      const shape = (v: string) =>
        /^-?\d+$/.test(v) ? 'int' : /^-?\d+\.\d+(E-?\d+)?$/.test(v) ? 'double' : 'text';
      expect(`${key}: ${shape(mine.get(key)!)}`).toBe(`${key}: ${shape(value)}`);
    }
  });

  it('wchc and wchp list the data watches by session and by path', async () => {
    for (const word of ['wchc', 'wchp']) {
      const { zk, ours } = await both(word);
      const [zkSession, ourSession] = clients.map((c) => hex(c.zk.sessionId));
      // The same text once each server's session id is set aside.
      expect(ours.replaceAll(ourSession!, 'SESSION')).toBe(zk.replaceAll(zkSession!, 'SESSION'));
      expect(ours).toContain('/app');
    }
  });

  it('dirs, hash, gtmk, stmk, crst and srst answer in ZooKeeper formats', async () => {
    const dirs = await both('dirs');
    const dirsShape = /^datadir_size: \d+\nlogdir_size: \d+\n$/;
    expect(dirs.zk).toMatch(dirsShape);
    expect(dirs.ours).toMatch(dirsShape);
    // ZooKeeper 3.8 keeps its digest log only with digest.enabled; zabkit reports its replica digest.
    const hash = await both('hash');
    expect(hash.ours).toMatch(/^[0-9a-f]+: \d+\n$/);
    for (const word of ['crst', 'srst', 'gtmk']) {
      const { zk, ours } = await both(word);
      expect(ours).toBe(zk);
    }
    const [zkMask, ourMask] = await Promise.all(clients.map((c) => setTraceMask(c.port, 0x1f2n)));
    expect(ourMask).toBe(zkMask);
    expect(await fourLetterWord(clients[1]!.port, 'gtmk')).toBe('498');
    await setTraceMask(clients[1]!.port, 306n);
    // srst reset the server's counters on both.
    const srvr = await both('srvr');
    expect(srvr.ours).toMatch(/^Received: \d+$/m);
  });

  it('cons prints ZooKeeper full connection lines, stat the brief ones', async () => {
    const { zk, ours } = await both('cons');
    const fields = (text: string) =>
      text
        .split('\n')
        .filter((line) => line.includes('sid='))
        .map((line) => {
          const match = /^ \/[\d.:a-f]+:\d+\[\d+\]\((.*)\)$/.exec(line);
          expect(match, line).not.toBeNull();
          return match![1]!.split(',').map((pair) => pair.split('=')[0]);
        });
    expect(fields(ours)).toEqual(fields(zk));
    const stat = await both('stat');
    const clientLines = (text: string) => text.split('\n').filter((line) => line.startsWith(' /'));
    for (const line of [...clientLines(stat.zk), ...clientLines(stat.ours)])
      expect(line).toMatch(/^ \/[\d.:a-f]+:\d+\[\d+\]\(queued=\d+,recved=\d+,sent=\d+\)$/);
    // Both list the connection that asked, as well as the client's.
    expect(clientLines(stat.ours).length).toBe(clientLines(stat.zk).length);
  });

  it("is read by Debian's zktop as ZooKeeper is", async () => {
    if (!existsSync('/usr/lib/python3/dist-packages/zktop.py'))
      throw new Error('zktop is missing: apt-get install zktop');
    // zktop's own parser (ZKServer, on `stat`), on each server.
    const script = `
import sys, json
sys.argv = ['zktop', '--servers', sys.argv[1]]
import zktop
s = zktop.ZKServer(sys.argv[2], 0)
print(json.dumps({'unavailable': s.unavailable, 'mode': s.mode, 'sessions': len(s.sessions),
  'version': s.version, 'node_count': getattr(s, 'node_count', None),
  'latency': [s.min_latency, s.avg_latency, s.max_latency] if not s.unavailable else None,
  'ports': [x.port for x in s.sessions]}))
`;
    const read = async (port: number) => {
      // Debian's python3, whose dist-packages hold zktop (not a python3 that PATH may find
      // first); asynchronously, as the zabkit server answers from this process.
      const { stdout } = await execFileAsync(
        '/usr/bin/python3',
        ['-c', script, `127.0.0.1:${port}`, `127.0.0.1:${port}`],
        { encoding: 'utf8', timeout: 30_000 },
      );
      return JSON.parse(stdout) as { unavailable: boolean; mode: string; sessions: number; version: string };
    };
    const theirs = await read(clients[0]!.port);
    const ours = await read(clients[1]!.port);
    expect(theirs.unavailable).toBe(false);
    expect(ours.unavailable).toBe(false);
    expect(ours.mode).toBe(theirs.mode);
    expect(ours.sessions).toBe(theirs.sessions);
    expect(ours.version).toBe('3.8.4');
  });
});
