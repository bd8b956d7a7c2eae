/**
 * The shell against zkCli.sh: the same script through Apache ZooKeeper's own zkCli.sh (3.8,
 * Debian's) against Apache ZooKeeper and through `zabkit shell` against zabkit, side by
 * side. Their outputs must be the same once what legitimately differs is normalized: the
 * banner, connection events, the CLI version string, zxids, times and session ids.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startBoth, zookeeperInstalled } from './servers.js';

const zkCli = '/usr/share/zookeeper/bin/zkCli.sh';
const installed = zookeeperInstalled && existsSync(zkCli);
if (!installed) console.warn('zkCli.sh (apt-get install zookeeper) is not installed: skipping');
const zabkitBin = fileURLToPath(new URL('../../packages/server/bin/zabkit.js', import.meta.url));

interface Output {
  readonly stdout: string;
  readonly stderr: string;
}

function run(program: string, args: readonly string[], script: string): Promise<Output> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      program,
      args,
      { timeout: 60_000, env: { ...process.env, ZOO_LOG4J_PROP: 'ERROR,CONSOLE' } },
      (error, stdout, stderr) => {
        if (error?.killed) reject(error);
        else resolve({ stdout, stderr });
      },
    );
    child.stdin!.end(script);
  });
}

/** What either shell prints that is not an answer: banners, logging, connection events. */
const noise = [
  /^SLF4J:/,
  /^Connecting to /,
  /^Welcome to ZooKeeper!$/,
  /^JLine support is /,
  /^WATCHER::$/,
  /^WatchedEvent state:(SyncConnected|Closed) type:None path:null$/,
];

/** Lines with zxids, times and session ids reduced to what two correct servers share. */
function normalize(text: string): string[] {
  const zxids = new Map<string, string>();
  const label = (value: string) => {
    if (value === '0x0') return value;
    if (!zxids.has(value)) zxids.set(value, `z${zxids.size + 1}`);
    return zxids.get(value)!;
  };
  const lines = text.split('\n').filter((line) => !noise.some((pattern) => pattern.test(line)));
  const kept: string[] = [];
  for (const line of lines) {
    // Blank lines separate the WATCHER blocks; keep those the commands print (empty config).
    kept.push(
      line
        .replace(
          /^(cZxid|mZxid|pZxid) = (0x[0-9a-f]+)$/,
          (_all, key: string, zxid: string) => `${key} = ${label(zxid)}`,
        )
        .replace(/^(ctime|mtime) = .*$/, '$1 = <time>')
        .replace(/^ephemeralOwner = 0x[0-9a-f]+$/, 'ephemeralOwner = <session>')
        .replace(/^ZooKeeper CLI version: .*$/, 'ZooKeeper CLI version: <version>'),
    );
  }
  while (kept[0] === '') kept.shift();
  const out = kept
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
    .split('\n');
  // whoami lists identities in hash order in ZooKeeper (a hash set), as added in zabkit.
  for (let i = out.indexOf('Auth scheme: User') + 1; i > 0 && i < out.length; ) {
    let end = i;
    while (end < out.length && /^\w+: /.test(out[end]!)) end++;
    out.splice(i, end - i, ...out.slice(i, end).sort());
    break;
  }
  return out;
}

describe.skipIf(!installed)('zabkit shell against zkCli.sh, each against its own server', () => {
  let servers: Record<'zookeeper' | 'zabkit', RunningServer>;

  beforeAll(async () => {
    servers = await startBoth({});
  }, 120_000);

  afterAll(async () => {
    await Promise.all(Object.values(servers ?? {}).map((server) => server.stop()));
  });

  const once = (script: string) =>
    Promise.all([
      run(zkCli, ['-timeout', '30000', '-server', servers.zookeeper.connectString], script),
      run(
        process.execPath,
        [zabkitBin, 'shell', '-timeout', '30000', '-server', servers.zabkit.connectString],
        script,
      ),
    ]);

  /**
   * Runs `script(root)` through both shells. zkCli runs piped commands as soon as it reads
   * them, connected or not, so on a loaded machine its first may meet ConnectionLoss: then
   * both run again, on a fresh root.
   */
  const both = async (script: (root: string) => string) => {
    for (let attempt = 1; ; attempt++) {
      const outputs = await once(script(`/dt${attempt}`));
      if (!outputs.some((output) => /ConnectionLoss/.test(output.stderr)) || attempt === 3) return outputs;
    }
  };

  it('version, config, null data, deleteall -b in batches, addauth ip and whoami print what zkCli prints', async () => {
    const script = (root: string) =>
      [
        'version',
        'config',
        'config -s',
        'config -c',
        'create /dt',
        // zkCli creates a node given no data with null data, and prints it as `null`.
        'get /dt',
        'create /dt/a',
        'create /dt/a/b',
        'create /dt/a/b/c',
        'create /dt/a/b/c/d',
        // Nothing under /dt/a/b may be deleted now: a batch that holds /dt/a/b/c fails whole.
        'setAcl /dt/a/b world:anyone:ra',
        'deleteall -b 2 /dt',
        'ls -R /dt',
        'deleteall -b 1 /dt',
        'ls -R /dt',
        'setAcl /dt/a/b world:anyone:cdrwa',
        'deleteall -b 3 /dt',
        'ls /',
        'addauth ip 10.9.9.9',
        'addauth digest alice:secret',
        'whoami',
        'quit',
        '',
      ]
        .join('\n')
        .replaceAll('/dt', root);
    const [zookeeper, zabkit] = await both(script);
    expect(normalize(zabkit.stdout)).toEqual(normalize(zookeeper.stdout));
    expect(normalize(zabkit.stderr)).toEqual(normalize(zookeeper.stderr));
    // What zkCli itself printed: batches of 2 fail whole, batches of 1 get the leaf first.
    expect(normalize(zookeeper.stdout)).toEqual(
      expect.arrayContaining(['ZooKeeper CLI version: <version>', 'null', 'digest: alice']),
    );
    expect(normalize(zookeeper.stderr)).toContain('Failed to delete some node(s) in the subtree!');
  }, 90_000);
});
