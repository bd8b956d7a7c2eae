// zabkit A/B latency: one-at-a-time writes over TCP against ensembles of several built trees,
// all running at once and measured in alternated blocks, so that the load other work puts on a
// shared machine falls on every tree alike. For each tree it starts `--size` server processes
// (`zabkit server`, memory or LevelDB storage), opens one lean session (raw-session.mjs) on the
// leader and one on a follower (on the server alone for --size 1), and times each write from
// its send to its reply. Beside the latencies it reads, from /proc, the servers' user and system
// CPU time and their voluntary and involuntary context switches per write.
//
//   node bench/ab-latency.mjs --trees old=/work/wt/ab-old,new=.
//   node bench/ab-latency.mjs --trees old=/work/wt/ab-old,new=. --size 1 --mode durable --op setData
//   node bench/ab-latency.mjs --trees a=/work/wt/a,b=/work/wt/b --blocks 20 --ops 300 --json
//
// Linux only (/proc). Each tree must be built (`npm run build`).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openWithRetries, requestFor } from './raw-session.mjs';
import { fourLetterWord, freePort } from './support/net.mjs';

function parseArgs(argv) {
  const args = {
    trees: [],
    size: 3,
    mode: 'memory',
    op: 'create',
    blocks: 12,
    ops: 300,
    warmupOps: 2000,
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--trees')
      args.trees = argv[++i].split(',').map((spec) => {
        const [name, path] = spec.split('=');
        if (!name || !path) throw new Error(`--trees takes name=path pairs, not ${spec}`);
        return { name, path: resolve(path) };
      });
    else if (arg === '--size') args.size = Number(argv[++i]);
    else if (arg === '--mode') args.mode = argv[++i];
    else if (arg === '--op') args.op = argv[++i];
    else if (arg === '--blocks') args.blocks = Number(argv[++i]);
    else if (arg === '--ops') args.ops = Number(argv[++i]);
    else if (arg === '--warmup-ops') args.warmupOps = Number(argv[++i]);
    else if (arg === '--json') args.json = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  if (args.trees.length === 0) throw new Error('--trees name=path,... is required');
  if (args.size !== 1 && args.size !== 3) throw new Error('--size is 1 or 3');
  if (args.mode !== 'memory' && args.mode !== 'durable') throw new Error('--mode is memory or durable');
  if (args.op !== 'create' && args.op !== 'setData') throw new Error('--op is create or setData');
  for (const key of ['blocks', 'ops', 'warmupOps'])
    if (!Number.isInteger(args[key]) || args[key] <= 0)
      throw new Error(`--${key} must be a positive integer`);
  return args;
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** A process's user and system CPU time (ms) and its context switches, from /proc. */
function processCounters(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const ticksMs = 10; // USER_HZ is 100 on Linux
  return {
    userMs: Number(fields[11]) * ticksMs,
    sysMs: Number(fields[12]) * ticksMs,
    voluntary: Number(/\nvoluntary_ctxt_switches:\s+(\d+)/.exec(status)[1]),
    involuntary: Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)[1]),
  };
}

/** Starts one tree's servers; resolves once each serves, with its role. */
async function startCluster(tree, args) {
  const dir = mkdtempSync(join(tmpdir(), `zabkit-ab-${tree.name}-`));
  const ports = [];
  for (let i = 0; i < args.size * 3; i++) ports.push(await freePort());
  const serverLines =
    args.size === 1
      ? []
      : Array.from(
          { length: args.size },
          (_v, i) => `server.${i + 1}=127.0.0.1:${ports[i * 3]}:${ports[i * 3 + 1]}`,
        );
  const members = [];
  for (let id = 1; id <= args.size; id++) {
    const dataDir = join(dir, `data${id}`);
    mkdirSync(dataDir, { recursive: true });
    if (args.size > 1) writeFileSync(join(dataDir, 'myid'), `${id}\n`);
    const clientPort = ports[(id - 1) * 3 + 2];
    const config = join(dir, `zoo${id}.cfg`);
    const lines = [
      'tickTime=2000',
      'initLimit=10',
      'syncLimit=5',
      `dataDir=${dataDir}`,
      `clientPort=${clientPort}`,
    ];
    lines.push(
      'clientPortAddress=127.0.0.1',
      '4lw.commands.whitelist=*',
      'admin.enableServer=false',
      ...serverLines,
    );
    writeFileSync(config, `${lines.join('\n')}\n`);
    const cli = join(tree.path, 'packages/server/dist/cli.js');
    const storage = args.mode === 'durable' ? 'level' : 'memory';
    const child = spawn(
      process.execPath,
      [cli, 'server', '--config', config, '--log-level', 'error', '--storage', storage],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    members.push({ id, clientPort, child, role: undefined });
  }
  const started = Date.now();
  for (;;) {
    const roles = await Promise.all(
      members.map(async (member) => /Mode: (\w+)/.exec(await fourLetterWord(member.clientPort, 'srvr'))?.[1]),
    );
    if (roles.every((role) => role !== undefined && role !== 'looking')) {
      members.forEach((member, i) => {
        member.role = roles[i];
      });
      break;
    }
    if (Date.now() - started > 60_000) {
      for (const member of members) member.child.kill('SIGKILL');
      throw new Error(`${tree.name} did not start: ${roles}`);
    }
    await sleep(200);
  }
  return { tree, dir, members };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const clusters = [];
  try {
    for (const tree of args.trees) clusters.push(await startCluster(tree, args));
    const targets = [];
    for (const cluster of clusters) {
      const on =
        args.size === 1
          ? cluster.members
          : ['leader', 'follower'].map((role) => cluster.members.find((member) => member.role === role));
      for (const member of on) {
        const session = await openWithRetries('127.0.0.1', member.clientPort);
        const base = `/ab-${member.id}`;
        await session.request(requestFor('create', base, new Uint8Array(0)));
        targets.push({ cluster, member, session, base, next: 0, latencies: [], cpu: undefined });
      }
    }
    const value = new Uint8Array(100).fill(120);
    const run = async (target, count, timed) => {
      for (let i = 0; i < count; i++) {
        const path = args.op === 'create' ? `${target.base}/n${target.next++}` : target.base;
        const t0 = process.hrtime.bigint();
        const { err } = await target.session.request(requestFor(args.op, path, value));
        if (err !== 0) throw new Error(`${args.op} ${path}: error ${err}`);
        if (timed) target.latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    };
    for (const target of targets) await run(target, args.warmupOps, false);
    const load = loadavg()[0];
    for (let block = 0; block < args.blocks; block++) {
      // Alternated: every other block runs the targets in the reverse order.
      for (const target of block % 2 === 0 ? targets : [...targets].reverse()) {
        const pids = target.cluster.members.map((member) => member.child.pid);
        const before = pids.map(processCounters);
        await run(target, args.ops, true);
        const after = pids.map(processCounters);
        target.cpu ??= pids.map(() => ({ userMs: 0, sysMs: 0, voluntary: 0, involuntary: 0 }));
        pids.forEach((_pid, i) => {
          for (const key of Object.keys(before[i])) target.cpu[i][key] += after[i][key] - before[i][key];
        });
      }
    }
    const percentile = (sorted, p) =>
      sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
    const rows = targets.map((target) => {
      const sorted = [...target.latencies].sort((a, b) => a - b);
      const n = sorted.length;
      const perOp = (key, digits = 3) =>
        +(target.cpu.reduce((sum, member) => sum + member[key], 0) / n).toFixed(digits);
      return {
        tree: target.cluster.tree.name,
        client: target.member.role,
        ops: n,
        p50Ms: +percentile(sorted, 50).toFixed(3),
        p90Ms: +percentile(sorted, 90).toFixed(3),
        p99Ms: +percentile(sorted, 99).toFixed(3),
        meanMs: +(sorted.reduce((a, b) => a + b, 0) / n).toFixed(3),
        serverUserMsPerOp: perOp('userMs'),
        serverSysMsPerOp: perOp('sysMs'),
        voluntarySwitchesPerOp: perOp('voluntary', 2),
        involuntarySwitchesPerOp: perOp('involuntary', 2),
      };
    });
    const machine = `${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, node ${process.version}, load ${load.toFixed(2)} at start`;
    const setup = `${args.size} server(s), ${args.mode} storage, ${args.op} one at a time, ${args.blocks} alternated blocks of ${args.ops} per target after ${args.warmupOps} warm-up`;
    if (args.json) console.log(JSON.stringify({ machine, setup, rows }, null, 2));
    else {
      console.log(`machine: ${machine}`);
      console.log(`setup: ${setup}; server CPU summed over the tree's servers, from /proc`);
      console.table(rows);
    }
    for (const target of targets) target.session.close();
  } finally {
    for (const cluster of clusters) for (const member of cluster.members) member.child.kill('SIGTERM');
    await sleep(700);
    for (const cluster of clusters) {
      for (const member of cluster.members) member.child.kill('SIGKILL');
      rmSync(cluster.dir, { recursive: true, force: true });
    }
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
