// zabkit sync bench: a follower rejoining a large tree over TCP, side by side with Apache
// ZooKeeper 3.8 (Debian's package) on the same machine and the same settings.
//
// For each system: a 3-server ensemble of separate processes on loopback (zabkit on LevelDB,
// ZooKeeper on its own snapshots and log, both with fsync), one follower stopped, the tree
// written through the leader (by default 1,000 znodes of 1 MB: 1 GB), then the follower
// started again. Measured, from the follower's start until it serves (srvr says follower):
// - time to serving and the rate it implies (tree bytes / time);
// - peak RSS of the leader (sampled during the sync) and of the learner (its VmHWM: its
//   whole life is the sync);
// - CPU seconds (user + system, every thread) of the learner until it serves and of the leader
//   during the sync, by thread: on a loaded machine wall time says how long the others let it
//   run, CPU time what the sync cost;
// - the leader's client latency during the sync: one client doing small setData calls one
//   after another, p50/p99/max, against the same client's figures just before the restart.
// snapCount is both systems' default (100000): no snapshot is taken, zabkit streams the tree
// as a DIFF from its log, ZooKeeper sends a snapshot (its log is too large next to one).
// `--snap-count 250` makes both snapshot every few hundred writes, so that zabkit streams a
// SNAP from its store; both then also write 1 GB snapshots while the sync runs.
//
//   npm run build && node bench/sync.mjs                      # 1 GB, both systems, a table
//   node bench/sync.mjs --snap-count 250                      # the same, with snapshots
//   node bench/sync.mjs --nodes 100 --systems zabkit --json   # smaller, zabkit only, JSON
//   node bench/sync.mjs --config zabkit.syncWindowBytes=33554432  # a zoo.cfg line for zabkit
//   node bench/sync.mjs --systems zabkit --profile-learner /tmp/prof  # the learner's CPU profile
//   node bench/sync.mjs --systems zabkit --profile-servers /tmp/prof  # the first servers', leader's too
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus, hostname, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectTcp } from '../packages/client/dist/index.js';
import { fourLetterWord, freePort } from './support/net.mjs';

const zabkitBin = fileURLToPath(new URL('../packages/server/bin/zabkit.js', import.meta.url));
const zookeeperJar = '/usr/share/java/zookeeper.jar';
const zookeeperLogJars = ['/usr/share/java/slf4j-log4j12.jar', '/usr/share/java/log4j-1.2.jar'];

function parseArgs(argv) {
  const args = {
    nodes: 1000,
    nodeBytes: 1_000_000,
    snapCount: 100_000,
    systems: ['zabkit', 'zookeeper'],
    json: false,
    javaHeap: '3g',
    writers: 4,
    /** Extra zoo.cfg lines for zabkit's servers (`--config key=value`, repeatable). */
    config: [],
    /** A directory for a CPU profile of zabkit's rejoining follower (`--profile-learner DIR`). */
    profileLearner: undefined,
    /**
     * A directory for CPU profiles of zabkit's first three servers, the leader's among them
     * (`--profile-servers DIR`: DIR/server<id>/, whole lives; the leader's id is printed).
     */
    profileServers: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--nodes') args.nodes = Number(argv[++i]);
    else if (arg === '--node-bytes') args.nodeBytes = Number(argv[++i]);
    else if (arg === '--snap-count') args.snapCount = Number(argv[++i]);
    else if (arg === '--systems') args.systems = argv[++i].split(',');
    else if (arg === '--java-heap') args.javaHeap = argv[++i];
    else if (arg === '--writers') args.writers = Number(argv[++i]);
    else if (arg === '--json') args.json = true;
    else if (arg === '--config') args.config.push(argv[++i]);
    else if (arg === '--profile-learner') args.profileLearner = argv[++i];
    else if (arg === '--profile-servers') args.profileServers = argv[++i];
    else throw new Error(`unknown argument ${arg}`);
  }
  for (const key of ['nodes', 'nodeBytes', 'snapCount', 'writers'])
    if (!Number.isInteger(args[key]) || args[key] <= 0)
      throw new Error(`--${key} must be a positive integer`);
  for (const system of args.systems)
    if (system !== 'zabkit' && system !== 'zookeeper') throw new Error(`unknown system ${system}`);
  if (args.systems.includes('zookeeper') && !existsSync(zookeeperJar))
    throw new Error(`Apache ZooKeeper is not installed (${zookeeperJar}); use --systems zabkit`);
  return args;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function mode(port) {
  return /Mode: (\w+)/.exec(await fourLetterWord(port, 'srvr'))?.[1];
}

async function until(probe, timeoutMs, what) {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** VmRSS and VmHWM of a process, in bytes (undefined once it is gone). */
function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds a process has used (user + system, every thread), by thread name (`MainThread`,
 * `V8Worker`, `libuv-worker`, LevelDB's and the JVM's threads...), read from /proc; undefined
 * once it is gone. On a loaded machine wall time says how long others let it run, CPU time
 * what it cost.
 */
function cpuOf(pid) {
  try {
    const byThread = {};
    let total = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[-_ ]?\d+$/, '');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime, the 14th and 15th fields, in clock ticks (100 a second on Linux).
      const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
      byThread[name] = (byThread[name] ?? 0) + seconds;
      total += seconds;
    }
    return { total, byThread };
  } catch {
    return undefined;
  }
}

/** `after` less `before`, per thread name, rounded to 10 ms; the total first. */
function cpuSpent(before, after) {
  if (after === undefined) return undefined;
  const round = (seconds) => Math.round(seconds * 100) / 100;
  const byThread = {};
  for (const [name, seconds] of Object.entries(after.byThread)) {
    const spent = round(seconds - (before?.byThread[name] ?? 0));
    if (spent > 0) byThread[name] = spent;
  }
  return { totalSeconds: round(after.total - (before?.total ?? 0)), byThread };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function latencySummary(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (ms) => Math.round(ms * 100) / 100;
  return {
    operations: sorted.length,
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted.at(-1) ?? 0),
  };
}

/** Three servers' directories, ports and configs; `spawnServer(id)` starts one. */
async function makeEnsemble(system, args, dir) {
  const ports = await Promise.all(Array.from({ length: 9 }, () => freePort()));
  const members = [1, 2, 3].map((id) => ({
    id,
    quorumPort: ports[(id - 1) * 3],
    electionPort: ports[(id - 1) * 3 + 1],
    clientPort: ports[(id - 1) * 3 + 2],
    dataDir: join(dir, `data${id}`),
    cfg: join(dir, `zoo${id}.cfg`),
    log: join(dir, `server${id}.log`),
    child: undefined,
  }));
  const serverLines = members.map((m) => `server.${m.id}=127.0.0.1:${m.quorumPort}:${m.electionPort}`);
  for (const member of members) {
    mkdirSync(member.dataDir, { recursive: true });
    writeFileSync(join(member.dataDir, 'myid'), `${member.id}\n`);
    const lines = [
      'tickTime=2000',
      'initLimit=30',
      'syncLimit=10',
      `dataDir=${member.dataDir}`,
      `clientPort=${member.clientPort}`,
      'clientPortAddress=127.0.0.1',
      '4lw.commands.whitelist=*',
      `snapCount=${args.snapCount}`,
      'maxClientCnxns=0',
      ...(system === 'zookeeper' ? ['admin.enableServer=false', 'autopurge.purgeInterval=0'] : args.config),
      ...serverLines,
      '',
    ];
    writeFileSync(member.cfg, lines.join('\n'));
  }
  /** `profile`: node's --cpu-prof into that directory (the rejoining follower's, when asked). */
  const spawnServer = (member, profile) => {
    const [command, commandArgs] =
      system === 'zabkit'
        ? [
            process.execPath,
            [
              ...(profile === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profile]),
              zabkitBin,
              'server',
              '--config',
              member.cfg,
              '--log-level',
              'info',
            ],
          ]
        : [
            'java',
            [
              `-Xmx${args.javaHeap}`,
              '-cp',
              // With a logging binding, so that its log says how it synced (INFO, as zabkit's).
              [
                '/etc/zookeeper/conf',
                zookeeperJar,
                ...zookeeperLogJars.filter((jar) => existsSync(jar)),
              ].join(':'),
              `-Dzookeeper.log.dir=${dir}`,
              '-Dzookeeper.root.logger=INFO,CONSOLE',
              'org.apache.zookeeper.server.quorum.QuorumPeerMain',
              member.cfg,
            ],
          ];
    const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const keep = (chunk) => {
      text = (text + chunk.toString()).slice(-4 * 1024 * 1024);
      appendFileSync(member.log, chunk);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    member.output = () => text;
    member.child = child;
    member.exited = new Promise((resolve) => child.once('exit', resolve));
    return child;
  };
  const stopServer = async (member, signal = 'SIGTERM') => {
    const child = member.child;
    if (child === undefined) return;
    member.child = undefined;
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await member.exited;
    clearTimeout(killer);
  };
  return { members, spawnServer, stopServer };
}

/** Runs one system's rejoin; returns its figures. */
async function runSystem(system, args) {
  const dir = mkdtempSync(join(tmpdir(), `zabkit-sync-bench-${system}-`));
  const ensemble = await makeEnsemble(system, args, dir);
  const { members } = ensemble;
  const clients = [];
  let failed = false;
  try {
    for (const member of members)
      ensemble.spawnServer(
        member,
        system === 'zabkit' && args.profileServers !== undefined
          ? join(args.profileServers, `server${member.id}`)
          : undefined,
      );
    const leader = await until(
      async () => {
        for (const member of members) if ((await mode(member.clientPort)) === 'leader') return member;
        return undefined;
      },
      120_000,
      'a leader',
    );
    for (const member of members)
      await until(
        async () => (['leader', 'follower'].includes(await mode(member.clientPort)) ? true : undefined),
        120_000,
        `server ${member.id} to serve`,
      );
    const follower = members.find((member) => member !== leader && member.id !== 0);
    if (args.profileServers !== undefined && system === 'zabkit')
      console.error(`profiles in ${args.profileServers}: the leader is server${leader.id}`);
    await ensemble.stopServer(follower);

    // The tree, through the leader: `writers` creates in flight at a time.
    const writer = await connectTcp(`127.0.0.1:${leader.clientPort}`, { sessionTimeoutMs: 30_000 });
    clients.push(writer);
    await writer.create('/bench', '');
    const data = new Uint8Array(args.nodeBytes);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2_654_435_761) >>> 24;
    const writeStarted = performance.now();
    let next = 0;
    const writers = Array.from({ length: args.writers }, async () => {
      while (next < args.nodes) {
        const i = next++;
        await writer.create(`/bench/n${String(i).padStart(6, '0')}`, data);
      }
    });
    // Every writer settles before a failure is thrown, so none is left unhandled.
    for (const outcome of await Promise.allSettled(writers))
      if (outcome.status === 'rejected')
        throw new Error(`${system}: a write failed`, { cause: outcome.reason });
    const writeMs = performance.now() - writeStarted;
    const treeBytes = args.nodes * args.nodeBytes;

    // The leader's client latency: before the restart, then during the sync.
    const probe = await connectTcp(`127.0.0.1:${leader.clientPort}`, { sessionTimeoutMs: 30_000 });
    clients.push(probe);
    await probe.create('/probe', 'x');
    const small = new Uint8Array(100);
    let phase = 'before';
    const samples = { before: [], during: [] };
    let probing = true;
    let probeErrors = 0;
    const probeLoop = (async () => {
      while (probing) {
        const started = performance.now();
        try {
          await probe.setData('/probe', small);
        } catch {
          probeErrors++;
          continue;
        }
        const ms = performance.now() - started;
        if (phase !== 'after') samples[phase].push(ms);
      }
    })();
    await sleep(5000);

    // The rejoin.
    phase = 'during';
    const startedMs = performance.now();
    const leaderCpuBefore = cpuOf(leader.child.pid);
    const child = ensemble.spawnServer(follower, system === 'zabkit' ? args.profileLearner : undefined);
    let leaderPeakRss = 0;
    let learnerPeakRss = 0;
    const sampler = setInterval(() => {
      const l = memoryOf(leader.child.pid);
      if (l !== undefined) leaderPeakRss = Math.max(leaderPeakRss, l.rss);
      const f = memoryOf(child.pid);
      if (f !== undefined) learnerPeakRss = Math.max(learnerPeakRss, f.rss);
    }, 100);
    await until(
      async () => ((await mode(follower.clientPort)) === 'follower' ? true : undefined),
      30 * 60_000,
      'the follower to serve again',
    );
    const timeToServingMs = performance.now() - startedMs;
    const learnerCpu = cpuSpent(undefined, cpuOf(child.pid));
    const leaderCpu = cpuSpent(leaderCpuBefore, cpuOf(leader.child.pid));
    phase = 'after';
    clearInterval(sampler);
    const learnerMemory = memoryOf(child.pid);
    if (learnerMemory !== undefined) learnerPeakRss = Math.max(learnerPeakRss, learnerMemory.hwm);
    probing = false;
    await probeLoop;

    // It holds the tree: the last node written, whole.
    const reader = await connectTcp(`127.0.0.1:${follower.clientPort}`, { sessionTimeoutMs: 30_000 });
    clients.push(reader);
    await reader.sync('/');
    const last = await reader.getData(`/bench/n${String(args.nodes - 1).padStart(6, '0')}`);
    if (last.data.length !== args.nodeBytes)
      throw new Error(`${system}: the rejoined follower lacks the tree`);
    const children = await reader.getChildren('/bench');
    if (children.length !== args.nodes)
      throw new Error(`${system}: the rejoined follower has ${children.length} nodes`);

    const syncLine =
      system === 'zabkit'
        ? follower
            .output()
            .split('\n')
            .map((line) => {
              try {
                return JSON.parse(line).msg;
              } catch {
                return undefined;
              }
            })
            .filter((msg) => typeof msg === 'string' && /^learner sync from leader \d+ finished/.test(msg))
            .at(-1)
        : (/(Getting a (?:diff|snapshot) from leader[^\n]*)/.exec(follower.output())?.[1] ?? undefined);
    const mb = (bytes) => Math.round(bytes / 1e5) / 10;
    return {
      system,
      treeBytes,
      nodes: args.nodes,
      nodeBytes: args.nodeBytes,
      writeSeconds: Math.round(writeMs / 100) / 10,
      timeToServingSeconds: Math.round(timeToServingMs / 10) / 100,
      megabytesPerSecond: Math.round((treeBytes / 1e6 / (timeToServingMs / 1000)) * 10) / 10,
      leaderPeakRssMB: mb(leaderPeakRss),
      learnerPeakRssMB: mb(learnerPeakRss),
      learnerCpu,
      leaderCpuDuringSync: leaderCpu,
      leaderLatencyBefore: latencySummary(samples.before),
      leaderLatencyDuringSync: latencySummary(samples.during),
      leaderProbeErrors: probeErrors,
      syncLog: syncLine ?? null,
    };
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    for (const client of clients) await client.close().catch(() => undefined);
    for (const member of members) await ensemble.stopServer(member);
    // A failed run keeps its servers' logs for a look.
    if (failed) console.error(`${system}: servers' logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

function machine() {
  return {
    host: hostname(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGB: Math.round(totalmem() / 1e9),
    kernel: release(),
    node: process.version,
  };
}

function table(results) {
  const rows = [
    ['', ...results.map((r) => r.system)],
    ['tree', ...results.map((r) => `${r.nodes} x ${r.nodeBytes} B`)],
    ['write the tree (s)', ...results.map((r) => String(r.writeSeconds))],
    ['time to serving (s)', ...results.map((r) => String(r.timeToServingSeconds))],
    ['rate (MB/s)', ...results.map((r) => String(r.megabytesPerSecond))],
    ['leader peak RSS during sync (MB)', ...results.map((r) => String(r.leaderPeakRssMB))],
    ['learner peak RSS (MB)', ...results.map((r) => String(r.learnerPeakRssMB))],
    ['learner CPU until serving (s)', ...results.map((r) => String(r.learnerCpu?.totalSeconds))],
    ['leader CPU during sync (s)', ...results.map((r) => String(r.leaderCpuDuringSync?.totalSeconds))],
    [
      'leader setData p50/p99/max before (ms)',
      ...results.map(
        (r) => `${r.leaderLatencyBefore.p50Ms}/${r.leaderLatencyBefore.p99Ms}/${r.leaderLatencyBefore.maxMs}`,
      ),
    ],
    [
      'leader setData p50/p99/max during sync (ms)',
      ...results.map(
        (r) =>
          `${r.leaderLatencyDuringSync.p50Ms}/${r.leaderLatencyDuringSync.p99Ms}/${r.leaderLatencyDuringSync.maxMs} (${r.leaderLatencyDuringSync.operations} ops)`,
      ),
    ],
  ];
  const widths = rows[0].map((_v, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ')).join('\n');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const results = [];
  for (const system of args.systems) {
    if (!args.json) console.error(`running ${system}...`);
    results.push(await runSystem(system, args));
  }
  const report = {
    benchmark: 'sync',
    date: new Date().toISOString(),
    machine: machine(),
    settings: {
      snapCount: args.snapCount,
      tickTime: 2000,
      initLimit: 30,
      writers: args.writers,
      javaHeap: args.javaHeap,
      zabkitConfig: args.config,
      loadAverage: loadavg()[0],
    },
    results,
  };
  if (args.json) console.log(JSON.stringify(report, null, 2));
  else {
    const m = report.machine;
    console.log(
      `machine: ${m.host}, ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB, Linux ${m.kernel}, node ${m.node}`,
    );
    console.log(table(results));
    for (const r of results) if (r.syncLog !== null) console.log(`${r.system}: ${r.syncLog}`);
    for (const r of results)
      for (const [side, cpu] of [
        ['learner', r.learnerCpu],
        ['leader', r.leaderCpuDuringSync],
      ])
        if (cpu !== undefined)
          console.log(`${r.system} ${side} CPU s by thread: ${JSON.stringify(cpu.byThread)}`);
  }
}

await main();
