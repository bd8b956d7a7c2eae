// zabkit scale bench: one standalone server at scale, zabkit and Apache ZooKeeper 3.8 (Debian's
// package, where installed) side by side, each in its own process, durable (zabkit on LevelDB
// with fsync; ZooKeeper with forceSync=yes, -Xmx4g).
//
//   npm run bench:scale                          # the full run (a million znodes: minutes)
//   npm run bench:scale -- --json                # JSON
//   npm run bench:scale -- --smoke               # a small run of every phase, for CI
//   npm run bench:scale -- --targets zabkit --znodes 200000 --phases tree,kb
//
// Phases, each on a fresh server:
//   tree      N znodes of 100 bytes (1,000 per parent) written over the wire protocol, 256 in
//             flight; RSS after the writes; SIGKILL; restart to serving (spawn until a new
//             session reads the last znode), and the CPU the server used by then (with its
//             JavaScript thread, V8's workers and its other threads apart); RSS after
//             restart; data on disk; bytes per znode (RSS after restart less an empty server's).
//             `--restarts N` kills and restarts it N times, each from the data the first
//             kill left, and keeps the fastest. Then a snapshot under load: writes
//             until snapCount is passed while a probe client times one setData at a time, and
//             on for `--snapshot-tail-ms` after them (default 5000: the snapshot falls due
//             late in the writes, and it and the purge after it run on past their end); an
//             idle process measures its own event-loop stalls meanwhile (the control row: a
//             stall it shares is the machine's, not the server's).
//   kb        the same memory figures for 1 KB values (fewer znodes).
//   sessions  S sessions and W watches on one server (RSS before and after); one change fanned
//             out to S watchers, with the delivery latency of every event; then the S sessions
//             dropped at once (sockets closed, each with an ephemeral) and expired by the server
//             while a probe client's one-at-a-time setData latency is measured.
//
// The load is bench/raw-session.mjs, a lean client over node:net with @zabkit/wire's frames,
// in this process (the server shares the machine's cores with it: the output names them).
import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { noNode, openWithRetries, RawSession, requestFor } from './raw-session.mjs';
import { startIdleControl } from './support/idle-control.mjs';
import { fourLetterWord, freePort } from './support/net.mjs';

const zabkitCli = fileURLToPath(new URL('../packages/server/dist/cli.js', import.meta.url));
const zookeeperJar = '/usr/share/java/zookeeper.jar';
// Extra node flags for the zabkit server, e.g. ZABKIT_BENCH_NODE_ARGS=--cpu-prof to profile it.
const serverNodeArgs = (process.env.ZABKIT_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const serverLogs = process.env.ZABKIT_BENCH_SERVER_LOGS === '1';
const host = '127.0.0.1';
/** ZooKeeper's ThrottledOp error code. */
const throttledOp = -127;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const phaseNames = ['tree', 'kb', 'sessions'];

function parseArgs(argv) {
  const args = {
    json: false,
    targets: ['zabkit', 'zookeeper'],
    phases: phaseNames,
    znodes: 1_000_000,
    perParent: 1_000,
    kbZnodes: 200_000,
    sessions: 10_000,
    watches: 100_000,
    snapCount: 100_000,
    concurrency: 256,
    restarts: 1,
    snapshotTailMs: 5_000,
    sessionTimeoutMs: 6_000,
    out: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') args.json = true;
    else if (arg === '--smoke')
      Object.assign(args, {
        znodes: 20_000,
        kbZnodes: 5_000,
        sessions: 200,
        watches: 2_000,
        snapCount: 5_000,
        snapshotTailMs: 1_000,
      });
    else if (arg === '--targets') args.targets = argv[++i].split(',');
    else if (arg === '--phases') args.phases = argv[++i].split(',');
    else if (arg === '--znodes') args.znodes = Number(argv[++i]);
    else if (arg === '--per-parent') args.perParent = Number(argv[++i]);
    else if (arg === '--kb-znodes') args.kbZnodes = Number(argv[++i]);
    else if (arg === '--sessions') args.sessions = Number(argv[++i]);
    else if (arg === '--watches') args.watches = Number(argv[++i]);
    else if (arg === '--snap-count') args.snapCount = Number(argv[++i]);
    else if (arg === '--concurrency') args.concurrency = Number(argv[++i]);
    else if (arg === '--restarts') args.restarts = Number(argv[++i]);
    else if (arg === '--snapshot-tail-ms') args.snapshotTailMs = Number(argv[++i]);
    else if (arg === '--out') args.out = argv[++i];
    else throw new Error(`unknown argument ${arg}`);
  }
  for (const key of [
    'znodes',
    'perParent',
    'kbZnodes',
    'sessions',
    'watches',
    'snapCount',
    'concurrency',
    'restarts',
    'snapshotTailMs',
  ])
    if (!Number.isInteger(args[key]) || args[key] <= 0)
      throw new Error(`--${key} must be a positive integer`);
  for (const target of args.targets)
    if (target !== 'zabkit' && target !== 'zookeeper') throw new Error(`unknown target ${target}`);
  for (const phase of args.phases)
    if (!phaseNames.includes(phase)) throw new Error(`phases are ${phaseNames}`);
  if (args.sessions > 15_000) throw new Error('--sessions: at most 15000 (one socket each, ulimit -n)');
  return args;
}

/**
 * CPU time a process has used (user and system, all its threads: the collector's too), in ms,
 * from /proc: a restart's cost that the load of a shared machine does not stretch as it does
 * the wall-clock time.
 */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime, fields 14 and 15 of stat(5), in clock ticks (100 a second on Linux).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * The CPU time of `pid`'s threads by what they are, in ms, from /proc: the JavaScript thread
 * (`main`), V8's workers (the collector's parallel and concurrent work, compiling), and the
 * rest (libuv's pool, where LevelDB reads and opens, and LevelDB's compaction thread, which
 * takes its name). A thread that has ended is in none of them (the total, cpuMs, has it).
 */
function cpuMsByThread(pid) {
  const byKind = { main: 0, v8Workers: 0, other: 0 };
  let tasks = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byKind;
  }
  for (const task of tasks) {
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
    } catch {
      continue;
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    const ms = (Number(fields[11]) + Number(fields[12])) * 10;
    const kind = task === String(pid) ? 'main' : name.startsWith('V8Worker') ? 'v8Workers' : 'other';
    byKind[kind] += ms;
  }
  return byKind;
}

/** Resident set size of a process in MiB, from /proc. */
function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  return +(kb / 1024).toFixed(1);
}

function bytesUnder(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      total += bytesUnder(path);
      continue;
    }
    // Blocks in use, not apparent sizes: a preallocated or sparse file counts for what it holds.
    // A file a compaction removed since the listing holds nothing.
    const stat = statSync(path, { throwIfNoEntry: false });
    total += stat === undefined ? 0 : stat.blocks * 512;
  }
  return total;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function latencySummary(samplesMs) {
  const sorted = Float64Array.from(samplesMs).sort();
  return {
    count: sorted.length,
    p50Ms: +percentile(sorted, 50).toFixed(3),
    p99Ms: +percentile(sorted, 99).toFixed(3),
    maxMs: +(sorted[sorted.length - 1] ?? 0).toFixed(3),
  };
}

/**
 * Reads a zabkit server's JSON-lines log for its background work, each a snapshot or purge
 * with when it began and ended (wall clock: its log line's time less the duration it states),
 * pushed onto `into`; the log is passed on to this process's stderr with ZABKIT_BENCH_SERVER_LOGS=1.
 */
function readBackgroundWork(stream, into) {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (text) => {
    if (serverLogs) process.stderr.write(text);
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const line of lines) {
      const work = /"msg":"(snapshot at \S+ written|purged through [^"]*) in (\d+) ms"/.exec(line);
      if (work === null) continue;
      const endMs = Date.parse(/"time":"([^"]+)"/.exec(line)?.[1] ?? '') || Date.now();
      into.push({
        kind: work[1].startsWith('snapshot') ? 'snapshot' : 'purge',
        startMs: endMs - Number(work[2]),
        endMs,
      });
    }
  });
}

/**
 * One standalone server of `target` with its data under `dir`: start() spawns it (again after
 * a kill, on the same data) and resolves once `srvr` answers.
 */
function standaloneServer(target, dir, args) {
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const cfg = join(dir, 'zoo.cfg');
  let port;
  let child;
  const background = [];
  return {
    target,
    dataDir,
    get port() {
      return port;
    },
    get pid() {
      return child.pid;
    },
    /** zabkit's background snapshots and purges as its log tells of them: [{ kind, startMs, endMs }]. */
    background,
    async start() {
      if (port === undefined) {
        port = await freePort();
        const lines = [
          'tickTime=2000',
          `dataDir=${dataDir}`,
          `clientPort=${port}`,
          `clientPortAddress=${host}`,
          '4lw.commands.whitelist=*',
          'maxClientCnxns=0',
          `snapCount=${args.snapCount}`,
          // The sessions phase drops thousands of sessions at once and waits for them to expire.
          'minSessionTimeout=4000',
        ];
        // No admin server on either: other servers on the machine may hold its port (8080).
        lines.push('admin.enableServer=false');
        if (target === 'zookeeper') lines.push('forceSync=yes');
        writeFileSync(cfg, `${lines.join('\n')}\n`);
      }
      // zabkit's log (stderr) is read for its background snapshots and purges (see `background`).
      const stdio = [
        'ignore',
        serverLogs ? 'inherit' : 'ignore',
        target === 'zabkit' ? 'pipe' : serverLogs ? 'inherit' : 'ignore',
      ];
      child =
        target === 'zabkit'
          ? spawn(
              process.execPath,
              [
                ...serverNodeArgs,
                zabkitCli,
                'server',
                '--config',
                cfg,
                '--log-level',
                'info',
                '--storage',
                'level',
              ],
              { stdio },
            )
          : spawn(
              'java',
              [
                '-Xmx4g',
                '-cp',
                `/etc/zookeeper/conf:${zookeeperJar}`,
                `-Dzookeeper.log.dir=${dir}`,
                '-Dzookeeper.root.logger=WARN,CONSOLE',
                'org.apache.zookeeper.server.ZooKeeperServerMain',
                cfg,
              ],
              { stdio },
            );
      if (child.stderr !== null) readBackgroundWork(child.stderr, background);
      const started = Date.now();
      while (!/Mode: standalone/.test(await fourLetterWord(port, 'srvr'))) {
        if (child.exitCode !== null)
          throw new Error(`${target} exited with ${child.exitCode} while starting`);
        if (Date.now() - started > 180_000) throw new Error(`${target} did not start in 180 s`);
        await sleep(20);
      }
    },
    /** At the end of a phase: SIGTERM first when profiling, so that the server writes its profile. */
    async stop() {
      if (serverNodeArgs.length > 0) {
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await this.kill('SIGTERM');
        clearTimeout(timer);
      } else await this.kill('SIGKILL');
    },
    kill(signal = 'SIGKILL') {
      const exited = new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', resolve);
      });
      child.kill(signal);
      return exited;
    },
  };
}

/** `total` requests, request i on session i mod their number, `concurrency` in flight; each must succeed. */
function pipeline(sessions, total, concurrency, requestAt) {
  let next = 0;
  let finished = 0;
  return new Promise((resolve, reject) => {
    if (total === 0) resolve();
    const issue = () => {
      const index = next++;
      if (index >= total) return;
      sessions[index % sessions.length].send(requestAt(index), (err) => {
        if (err !== 0) {
          reject(new Error(`request ${index}: ${err instanceof Error ? err.message : `error ${err}`}`));
          return;
        }
        if (++finished === total) resolve();
        else issue();
      });
    };
    for (let slot = 0; slot < Math.min(concurrency, total); slot++) issue();
  });
}

async function openSessions(port, count, timeoutMs = 30_000) {
  const sessions = [];
  // A few hundred handshakes at a time: a server takes connections in bursts, not ten thousand at once.
  for (let i = 0; i < count; i += 250) {
    const batch = Math.min(250, count - i);
    sessions.push(
      ...(await Promise.all(Array.from({ length: batch }, () => openWithRetries(host, port, { timeoutMs })))),
    );
  }
  return sessions;
}

/** Creates `count` znodes of `valueBytes` under /scale, `perParent` per parent. */
async function writeTree(port, count, perParent, valueBytes, concurrency) {
  const sessions = await openSessions(port, 4);
  const value = new Uint8Array(valueBytes).fill(120);
  const parents = Math.ceil(count / perParent);
  const started = process.hrtime.bigint();
  await sessions[0].request(requestFor('create', '/scale', new Uint8Array(0)));
  await pipeline(sessions, parents, concurrency, (i) =>
    requestFor('create', `/scale/p${i}`, new Uint8Array(0)),
  );
  await pipeline(sessions, count, concurrency, (i) =>
    requestFor('create', `/scale/p${Math.floor(i / perParent)}/n${i % perParent}`, value),
  );
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  for (const session of sessions) session.close();
  return {
    lastPath: `/scale/p${Math.floor((count - 1) / perParent)}/n${(count - 1) % perParent}`,
    createsPerSec: Math.round(((count + parents) / elapsedMs) * 1000),
  };
}

/**
 * Spawn to serving: until a new session reads `path` (the last znode written). The wall-clock
 * time, and the CPU time the server had used by then.
 */
async function restartToServing(server, path) {
  const started = process.hrtime.bigint();
  await server.start();
  for (;;) {
    try {
      const session = await RawSession.open(host, server.port);
      const { err } = await session.request({ op: 'exists', path, watch: false });
      session.close();
      if (err === 0) break;
      if (err !== noNode) throw new Error(`exists ${path}: error ${err}`);
    } catch (error) {
      if (!/closed|ECONNREFUSED|no session/.test(String(error))) throw error;
    }
    await sleep(10);
  }
  return {
    ms: +(Number(process.hrtime.bigint() - started) / 1e6).toFixed(0),
    cpuMs: cpuMs(server.pid),
    // A JVM's threads are not a Node process's: the split is zabkit's only.
    cpuMsByThread: server.target === 'zabkit' ? cpuMsByThread(server.pid) : undefined,
  };
}

/** One setData at a time from a probe session until `stop()`; the latencies, in ms. */
function probe(session, path) {
  const samples = [];
  /** Waits over 50 ms: when each began (ms since the probe started) and how long it took. */
  const longWaits = [];
  const probeStarted = process.hrtime.bigint();
  let running = true;
  const value = new Uint8Array(100).fill(112);
  let failure;
  let throttled = 0;
  const done = (async () => {
    while (running) {
      const t0 = process.hrtime.bigint();
      for (;;) {
        const { err } = await session.request(requestFor('setData', path, value));
        if (err === 0) break;
        // ThrottledOp: the server's proposals in flight are at their bound. A client tries
        // again; the sample is the whole wait.
        if (err !== throttledOp) throw new Error(`probe setData ${path}: error ${err}`);
        throttled++;
        await sleep(1);
      }
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      samples.push(ms);
      if (ms > 50) longWaits.push({ atMs: Math.round(Number(t0 - probeStarted) / 1e6), ms: Math.round(ms) });
    }
  })().catch((error) => {
    // Kept for stop(): a probe that fails while the phase fails anyway must not mask its error.
    failure = error;
  });
  return {
    async stop() {
      running = false;
      await done;
      if (failure !== undefined) throw failure;
      return { samples, throttled, longWaits };
    },
  };
}

/** The memory and restart figures of a tree of `count` znodes of `valueBytes`. */
async function treePhase(target, args, count, valueBytes, withSnapshot) {
  const dir = mkdtempSync(join(tmpdir(), `zabkit-scale-${target}-`));
  const server = standaloneServer(target, dir, args);
  try {
    await server.start();
    await sleep(2_000);
    const emptyRssMiB = rssMiB(server.pid);
    const written = await writeTree(server.port, count, args.perParent, valueBytes, args.concurrency);
    await sleep(2_000);
    const rssAfterWritesMiB = rssMiB(server.pid);
    // Restarts vary by a factor of two on a shared machine: `--restarts` kills and restarts
    // it that many times; the figures are the fastest one's and each one's. Every restart
    // starts from the data as the first kill left it (copied aside): a restart changes its
    // data (LevelDB replays and flushes its write-ahead log at open, the server may snapshot),
    // and a later restart on that data would skip work a crash restart does.
    const restarts = [];
    let rssAfterRestartMiB;
    const crashedData = join(dir, 'crashed-data');
    for (let i = 0; i < args.restarts; i++) {
      await server.kill('SIGKILL');
      if (i === 0) cpSync(server.dataDir, crashedData, { recursive: true });
      else {
        rmSync(server.dataDir, { recursive: true, force: true });
        cpSync(crashedData, server.dataDir, { recursive: true });
      }
      restarts.push(await restartToServing(server, written.lastPath));
      await sleep(2_000);
      rssAfterRestartMiB ??= rssMiB(server.pid);
    }
    const fastest = restarts.reduce((best, restart) => (restart.ms < best.ms ? restart : best));
    const result = {
      znodes: count,
      valueBytes,
      createsPerSec: written.createsPerSec,
      emptyRssMiB,
      rssAfterWritesMiB,
      restartToServingMs: fastest.ms,
      restartCpuMs: fastest.cpuMs,
      restartCpuMsByThread: fastest.cpuMsByThread,
      restarts,
      rssAfterRestartMiB,
      diskMiB: +(bytesUnder(server.dataDir) / 2 ** 20).toFixed(1),
      bytesPerZnodeAfterRestart: Math.round(((rssAfterRestartMiB - emptyRssMiB) * 2 ** 20) / count),
    };
    if (withSnapshot) result.snapshotUnderLoad = await snapshotUnderLoad(server, args);
    return result;
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Writes a little more than snapCount setData (8 in flight), so that the server snapshots the
 * whole tree while they run, and times a probe client's one-at-a-time setData meanwhile and
 * for `snapshotTailMs` after; an idle control process times its own loop over the same window.
 */
async function snapshotUnderLoad(server, args) {
  const [probeSession, ...writers] = await openSessions(server.port, 3);
  await probeSession.request(requestFor('create', '/probe', new Uint8Array(0)));
  const value = new Uint8Array(100).fill(121);
  const control = await startIdleControl();
  const startedAtMs = Date.now();
  const running = probe(probeSession, '/probe');
  const writes = Math.ceil(args.snapCount * 1.1);
  const started = process.hrtime.bigint();
  await pipeline(writers, writes, 8, (i) =>
    requestFor(
      'setData',
      `/scale/p${Math.floor((i % args.znodes) / args.perParent)}/n${i % args.perParent}`,
      value,
    ),
  );
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  await sleep(args.snapshotTailMs);
  const { samples, throttled, longWaits } = await running.stop();
  const idleControl = await control.stop();
  for (const session of [probeSession, ...writers]) session.close();
  // The probe's waits and the control's stalls over 50 ms that overlap the server's background
  // snapshots and purges (zabkit's log tells when they ran; ZooKeeper's is not read).
  const work = server.background.filter((w) => w.endMs >= startedAtMs);
  const overlaps = (fromMs, toMs) => work.some((w) => fromMs <= w.endMs && toMs >= w.startMs);
  const duringWork =
    work.length === 0
      ? undefined
      : {
          work: work.map((w) => ({ kind: w.kind, atMs: w.startMs - startedAtMs, ms: w.endMs - w.startMs })),
          probeWaitsOver50: longWaits
            .filter((w) => overlaps(startedAtMs + w.atMs, startedAtMs + w.atMs + w.ms))
            .map((w) => w.ms),
          controlStallsOver50: idleControl.stalls
            .filter((s) => overlaps(s.endedAtMs - s.ms, s.endedAtMs))
            .map((s) => s.ms),
        };
  return {
    writes,
    writesPerSec: Math.round((writes / elapsedMs) * 1000),
    startedAtMs,
    writesMs: Math.round(elapsedMs),
    tailMs: args.snapshotTailMs,
    probe: { ...latencySummary(samples), throttled, over50Ms: longWaits.length, longWaits },
    idleControl,
    duringWork,
  };
}

/** Sessions, watches, a fan-out to every session, and the expiry of every session at once. */
async function sessionsPhase(target, args) {
  const dir = mkdtempSync(join(tmpdir(), `zabkit-scale-${target}-`));
  const server = standaloneServer(target, dir, args);
  const open = [];
  try {
    await server.start();
    const [admin, probeSession] = await openSessions(server.port, 2);
    open.push(admin, probeSession);
    await admin.request(requestFor('create', '/w', new Uint8Array(0)));
    await admin.request(requestFor('create', '/fanout', new Uint8Array(1)));
    await admin.request(requestFor('create', '/expire', new Uint8Array(0)));
    await admin.request(requestFor('create', '/probe', new Uint8Array(0)));
    const watchedNodes = Math.min(args.watches, 10_000);
    await pipeline([admin], watchedNodes, 64, (i) => requestFor('create', `/w/n${i}`, new Uint8Array(10)));
    await sleep(1_000);
    const rssBeforeMiB = rssMiB(server.pid);

    const openStarted = process.hrtime.bigint();
    const sessions = await openSessions(server.port, args.sessions, args.sessionTimeoutMs);
    open.push(...sessions);
    const openMs = Number(process.hrtime.bigint() - openStarted) / 1e6;
    // Every session owns one ephemeral, so that expiring it is a delete as well.
    await pipeline(sessions, sessions.length, 256, (i) => ({
      op: 'create',
      path: `/expire/s${i}`,
      data: new Uint8Array(0),
      acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
      mode: 1,
      ttlMs: -1n,
    }));
    // W data watches spread over the sessions and over distinct nodes.
    const perSession = Math.ceil(args.watches / sessions.length);
    await pipeline(sessions, args.watches, 256, (i) => ({
      op: 'getData',
      path: `/w/n${i % watchedNodes}`,
      watch: true,
    }));
    await sleep(1_000);
    const rssWithSessionsMiB = rssMiB(server.pid);

    // Fan-out: every session watches /fanout; one setData; the time each event takes.
    await pipeline(sessions, sessions.length, 256, () => ({ op: 'exists', path: '/fanout', watch: true }));
    const arrivals = [];
    for (const session of sessions) session.onWatchEvent = (_frame, at) => arrivals.push(at);
    const sentAt = process.hrtime.bigint();
    await admin.request(requestFor('setData', '/fanout', new Uint8Array(1)));
    const deadline = Date.now() + 60_000;
    // Data watches on /w/n* do not fire: only /fanout changed, so every event is the fan-out's.
    while (arrivals.length < sessions.length && Date.now() < deadline) await sleep(5);
    const fanout = latencySummary(arrivals.map((at) => Number(at - sentAt) / 1e6));
    fanout.delivered = arrivals.length;
    for (const session of sessions) session.onWatchEvent = undefined;

    // Expiry: drop every session's socket at once and let the server expire them all.
    const running = probe(probeSession, '/probe');
    await sleep(500);
    const dropped = process.hrtime.bigint();
    for (const session of sessions) session.drop();
    let remaining = sessions.length;
    const expiryDeadline = Date.now() + args.sessionTimeoutMs * 4 + 60_000;
    while (remaining > 0 && Date.now() < expiryDeadline) {
      await sleep(50);
      const { err, frame } = await admin.request({ op: 'exists', path: '/expire', watch: false });
      if (err !== 0) throw new Error(`exists /expire: error ${err}`);
      // The reply: 16-byte header, then Stat; numChildren is 56 bytes into the Stat.
      remaining = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getInt32(16 + 56);
    }
    const expiredAfterMs = Number(process.hrtime.bigint() - dropped) / 1e6;
    await sleep(500);
    const { samples: probeSamples, throttled } = await running.stop();
    return {
      sessions: sessions.length,
      watches: args.watches,
      watchesPerSession: perSession,
      sessionTimeoutMs: args.sessionTimeoutMs,
      openSessionsMs: Math.round(openMs),
      rssBeforeMiB,
      rssWithSessionsMiB,
      fanout,
      expiry: {
        allExpiredAfterMs: remaining === 0 ? Math.round(expiredAfterMs) : undefined,
        notExpired: remaining,
        probe: { ...latencySummary(probeSamples), throttled },
      },
    };
  } finally {
    for (const session of open) session.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function machine() {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverage1m: +loadavg()[0].toFixed(2),
  };
}

function table(report) {
  const rows = [];
  const val = (target, get) => {
    const r = report.results[target];
    try {
      const v = r === undefined ? undefined : get(r);
      return v === undefined ? '-' : v;
    } catch {
      return '-';
    }
  };
  const add = (label, get) =>
    rows.push({ measure: label, zabkit: val('zabkit', get), zookeeper: val('zookeeper', get) });
  const tree = (r) => r.tree;
  add(`znodes of 100 bytes (${report.args.perParent} per parent)`, (r) => tree(r).znodes);
  add('creates/s while writing them', (r) => tree(r).createsPerSec);
  add('RSS of an empty server, MiB', (r) => tree(r).emptyRssMiB);
  add('RSS after the writes, MiB', (r) => tree(r).rssAfterWritesMiB);
  add('restart to serving (SIGKILL before), ms', (r) => tree(r).restartToServingMs);
  add('restart: server CPU used by then, ms', (r) => tree(r).restartCpuMs);
  add('  of it: JavaScript thread / V8 workers / other threads (LevelDB), ms', (r) => {
    const t = tree(r).restartCpuMsByThread;
    return t === undefined ? undefined : `${t.main} / ${t.v8Workers} / ${t.other}`;
  });
  add('RSS after restart, MiB', (r) => tree(r).rssAfterRestartMiB);
  add('data on disk, MiB', (r) => tree(r).diskMiB);
  add('bytes per 100-byte znode (RSS after restart)', (r) => tree(r).bytesPerZnodeAfterRestart);
  add('snapshot under load: setData/s (8 in flight)', (r) => tree(r).snapshotUnderLoad.writesPerSec);
  add('snapshot under load: probe p99 / max ms (waits > 50 ms)', (r) => {
    const p = tree(r).snapshotUnderLoad.probe;
    return `${p.p99Ms} / ${p.maxMs} (${p.over50Ms})`;
  });
  add('  control, an idle process meanwhile: loop stall p99 / max ms (> 50 ms)', (r) => {
    const c = tree(r).snapshotUnderLoad.idleControl;
    return `${c.p99Ms} / ${c.maxMs} (${c.stallsOver50Ms})`;
  });
  add('  its background snapshots and purges meanwhile, ms', (r) =>
    tree(r)
      .snapshotUnderLoad.duringWork?.work.map((w) => `${w.kind} ${w.ms}`)
      .join(', '),
  );
  add('  while it snapshots and purges: probe waits > 50 ms / control stalls > 50 ms', (r) => {
    const d = tree(r).snapshotUnderLoad.duringWork;
    if (d === undefined) return undefined;
    const list = (ms) => (ms.length === 0 ? 'none' : ms.join(', '));
    return `${list(d.probeWaitsOver50)} / ${list(d.controlStallsOver50)}`;
  });
  add('znodes of 1 KB', (r) => r.kb.znodes);
  add('bytes per 1 KB znode (RSS after restart)', (r) => r.kb.bytesPerZnodeAfterRestart);
  add('1 KB: restart to serving, ms', (r) => r.kb.restartToServingMs);
  add('1 KB: restart CPU, ms', (r) => r.kb.restartCpuMs);
  add('sessions / watches', (r) => `${r.sessions.sessions} / ${r.sessions.watches}`);
  add('RSS before / with them, MiB', (r) => `${r.sessions.rssBeforeMiB} / ${r.sessions.rssWithSessionsMiB}`);
  add('fan-out: events delivered', (r) => r.sessions.fanout.delivered);
  add('fan-out delivery p50 / p99 / max ms', (r) => {
    const f = r.sessions.fanout;
    return `${f.p50Ms} / ${f.p99Ms} / ${f.maxMs}`;
  });
  add('expiry of all at once: done after ms', (r) => r.sessions.expiry.allExpiredAfterMs);
  add('expiry: probe p99 / max ms (throttled)', (r) => {
    const p = r.sessions.expiry.probe;
    return `${p.p99Ms} / ${p.maxMs} (${p.throttled})`;
  });
  return rows;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const haveZooKeeper = existsSync(zookeeperJar);
  const targets = args.targets.filter((target) => target !== 'zookeeper' || haveZooKeeper);
  const notes = [
    `one standalone server per phase; the load (bench/raw-session.mjs) runs in this process on the same ${cpus().length} cores`,
    'zabkit: LevelDB, fsync, group commit; ZooKeeper 3.8: forceSync=yes, -Xmx4g (JVM heap may grow to that)',
    `snapCount=${args.snapCount} on both; RSS from /proc/<pid>/status, 2 s after each step`,
    `sessions phase: session timeout ${args.sessionTimeoutMs} ms; fan-out and expiry latencies include this process's handling of ${args.sessions} sockets`,
  ];
  if (!haveZooKeeper)
    notes.push('Apache ZooKeeper is not installed (apt-get install zookeeper): zabkit only');
  const report = { bench: 'scale', machine: machine(), args, notes, results: {} };
  for (const target of targets) {
    const result = {};
    if (args.phases.includes('tree')) result.tree = await treePhase(target, args, args.znodes, 100, true);
    if (args.phases.includes('kb')) result.kb = await treePhase(target, args, args.kbZnodes, 1024, false);
    if (args.phases.includes('sessions')) result.sessions = await sessionsPhase(target, args);
    report.results[target] = result;
  }
  if (args.out !== undefined) writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
  if (args.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  const m = report.machine;
  console.log(`machine: ${m.cpu} x${m.cores}, ${m.memoryGiB} GiB, node ${m.node}, load ${m.loadAverage1m}`);
  for (const note of notes) console.log(`note: ${note}`);
  console.table(table(report));
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
