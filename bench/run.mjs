// zabkit bench: in-process throughput and latency, standalone and replicated. Prints a
// readable table, or JSON with --json; both name the machine they ran on.
//
//   npm run bench                                  # everything, as a table
//   npm run bench -- --json                        # JSON
//   npm run bench -- --suite ensemble --ops 50000  # only the 1/3/5-server ensembles
//   npm run bench -- --suite durable               # LevelDB with fsync, with and without group commit
//   npm run bench -- --suite latency               # p99 at half the throughput, offered at a steady rate
//
// Each deployment is first warmed up (`--warmup-ops`, default 20,000 creates, setData and
// getData on a tree of its own; 0 for none): a short run measures the JIT otherwise. A failed
// operation is counted by its code (`failures`, `failureCodes`) and the run goes on.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { LocalServer, startEnsemble } from '@zabkit/server';
import { LevelStorage } from '@zabkit/storage-level';

function parseArgs(argv) {
  const args = {
    json: false,
    ops: 20_000,
    warmupOps: 20_000,
    concurrency: 256,
    clients: 4,
    valueBytes: 100,
    suite: 'all',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') args.json = true;
    else if (arg === '--ops') args.ops = Number(argv[++i]);
    else if (arg === '--warmup-ops') args.warmupOps = Number(argv[++i]);
    else if (arg === '--concurrency') args.concurrency = Number(argv[++i]);
    else if (arg === '--clients') args.clients = Number(argv[++i]);
    else if (arg === '--value-bytes') args.valueBytes = Number(argv[++i]);
    else if (arg === '--suite') args.suite = argv[++i];
    else throw new Error(`unknown argument ${arg}`);
  }
  for (const key of ['ops', 'concurrency', 'clients', 'valueBytes']) {
    if (!Number.isInteger(args[key]) || args[key] <= 0)
      throw new Error(`--${key} must be a positive integer`);
  }
  if (!Number.isInteger(args.warmupOps) || args.warmupOps < 0)
    throw new Error('--warmup-ops must be a whole number (0: no warm-up)');
  if (!['all', 'standalone', 'ensemble', 'durable', 'latency'].includes(args.suite))
    throw new Error('--suite is all, standalone, ensemble, durable or latency');
  return args;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Runs `total` operations spread over `clients`, at most `concurrency` in flight overall;
 * returns throughput and latency percentiles. A failed operation (ConnectionLoss, say) is
 * counted by its code, not timed, and the run goes on: a failure is a figure to report, not
 * a reason to lose the run.
 */
async function measure(label, total, concurrency, clients, operation) {
  const latenciesMs = new Float64Array(total);
  let next = 0;
  let failures = 0;
  const failureCodes = {};
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  async function worker(workerIndex) {
    const client = clients[workerIndex % clients.length];
    for (;;) {
      const index = next++;
      if (index >= total) return;
      const t0 = process.hrtime.bigint();
      try {
        await operation(client, index);
        latenciesMs[index] = Number(process.hrtime.bigint() - t0) / 1e6;
      } catch (error) {
        failures++;
        const code = error?.codeName ?? String(error);
        failureCodes[code] = (failureCodes[code] ?? 0) + 1;
        latenciesMs[index] = -1;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, (_v, i) => worker(i)));
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  const cpu = process.cpuUsage(cpuBefore);
  const sorted = Array.from(latenciesMs.filter((ms) => ms >= 0)).sort((a, b) => a - b);
  return {
    ...label,
    ops: total,
    concurrency,
    opsPerSec: Math.round((total / elapsedMs) * 1000),
    // The process's CPU time (every thread: the collector's too) per operation: on a shared
    // machine it moves far less with the load than throughput does.
    cpuUsPerOp: Number(((cpu.user + cpu.system) / total).toFixed(2)),
    latencyMsP50: Number(percentile(sorted, 50).toFixed(3)),
    latencyMsP99: Number(percentile(sorted, 99).toFixed(3)),
    ...(failures > 0 ? { failures, failureCodes } : {}),
  };
}

/**
 * Warms the JIT before anything is measured: creates, setData and getData (and the reads at
 * once) on a small tree of its own, enough for V8 to optimise the paths every workload takes.
 * Without it the first workloads of a short run measure mostly the compiler.
 */
async function warmUp(clients, args) {
  const value = new Uint8Array(args.valueBytes).fill(119);
  const ops = args.warmupOps;
  if (ops === 0) return;
  await clients[0].create('/warm', value);
  const keys = Math.min(ops, 1000);
  await measure({}, ops, args.concurrency, clients, (c, i) => c.create(`/warm/n${i}`, value));
  await measure({}, ops, args.concurrency, clients, (c, i) => c.setData(`/warm/n${i % keys}`, value));
  await measure({}, ops, args.concurrency, clients, (c, i) => c.getData(`/warm/n${i % keys}`));
  for (let i = 0; i < ops * 10; i++) clients[i % clients.length].getDataNow(`/warm/n${i % keys}`);
}

/**
 * Runs `total` synchronous reads (getDataNow) round-robin over `clients`, in batches of 1,000
 * timed as one: a clock read per read would cost as much as the read. The latency figures
 * are a batch's time over its size.
 */
function measureNow(label, total, clients, operation) {
  const batch = 1000;
  const perOpMs = [];
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let done = 0; done < total; ) {
    const size = Math.min(batch, total - done);
    const t0 = process.hrtime.bigint();
    for (let i = done; i < done + size; i++) operation(clients[i % clients.length], i);
    perOpMs.push(Number(process.hrtime.bigint() - t0) / 1e6 / size);
    done += size;
  }
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  const cpu = process.cpuUsage(cpuBefore);
  perOpMs.sort((a, b) => a - b);
  return {
    ...label,
    ops: total,
    concurrency: 1,
    opsPerSec: Math.round((total / elapsedMs) * 1000),
    cpuUsPerOp: Number(((cpu.user + cpu.system) / total).toFixed(2)),
    latencyMsP50: Number(percentile(perOpMs, 50).toFixed(4)),
    latencyMsP99: Number(percentile(perOpMs, 99).toFixed(4)),
  };
}

async function workloads(deployment, clients, args) {
  const value = new Uint8Array(args.valueBytes).fill(120);
  const keys = Math.min(args.ops, 10_000);
  const results = [];
  await warmUp(clients, args);
  await clients[0].create('/bench', value);
  results.push(
    await measure({ deployment, workload: 'create' }, args.ops, args.concurrency, clients, (c, i) =>
      c.create(`/bench/n${i}`, value),
    ),
  );
  results.push(
    await measure({ deployment, workload: 'setData' }, args.ops, args.concurrency, clients, (c, i) =>
      c.setData(`/bench/n${i % keys}`, value),
    ),
  );
  results.push(
    await measure({ deployment, workload: 'getData' }, args.ops, args.concurrency, clients, (c, i) =>
      c.getData(`/bench/n${i % keys}`),
    ),
  );
  results.push(
    await measure({ deployment, workload: 'mix 90% reads' }, args.ops, args.concurrency, clients, (c, i) =>
      i % 10 === 0 ? c.setData(`/bench/n${i % keys}`, value) : c.getData(`/bench/n${i % keys}`),
    ),
  );
  // Reads answered at once from the replica of each client's server (no promise): ten times
  // the operations, since each costs so little, and paths made beforehand, since making one
  // costs about as much as the read.
  const paths = Array.from({ length: keys }, (_v, i) => `/bench/n${i}`);
  results.push(
    measureNow({ deployment, workload: 'getDataNow (at once)' }, args.ops * 10, clients, (c, i) =>
      c.getDataNow(paths[i % keys]),
    ),
  );
  return results;
}

/**
 * Offers `ratePerSec` operations for `durationMs` at a steady rate, whatever the replies do
 * (an open loop: each millisecond's due operations are sent then, round-robin over
 * `clients`), and reports the latency of each from when it was sent and from when it was due.
 * The second counts the wait of requests held back by a stall (coordinated omission: a loop
 * that only times what it sent hides a pause behind the few requests caught in it).
 * Concurrency is bounded only by `inFlightMaxPerClient`.
 */
async function measureAtRate(label, ratePerSec, durationMs, clients, operation) {
  const total = Math.max(1, Math.round((ratePerSec * durationMs) / 1000));
  // Below the peer's bound on requests pending per session (1,000), which closes a session
  // that passes it (ConnectionLoss for every request it holds), counted per client: one
  // client whose replies lag (a follower's, behind a long turn) would pass it while the
  // others keep a total bound. A rate beyond what the server sustains shows as latency and
  // a lower rate.
  const inFlightMaxPerClient = 900;
  const inFlightByClient = new Array(clients.length).fill(0);
  const latenciesMs = new Float64Array(total);
  const fromDueMs = new Float64Array(total);
  const intervalMs = 1000 / ratePerSec;
  let issued = 0;
  let answered = 0;
  let failures = 0;
  const failureCodes = {};
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * ratePerSec));
      while (issued < due && inFlightByClient[issued % clients.length] < inFlightMaxPerClient) {
        const index = issued++;
        const clientIndex = index % clients.length;
        inFlightByClient[clientIndex]++;
        const t0 = performance.now();
        const dueAt = started + index * intervalMs;
        operation(clients[clientIndex], index)
          .then(
            () => {
              const now = performance.now();
              latenciesMs[index] = now - t0;
              fromDueMs[index] = now - dueAt;
            },
            (error) => {
              failures++;
              const code = error?.codeName ?? String(error);
              failureCodes[code] = (failureCodes[code] ?? 0) + 1;
            },
          )
          .finally(() => {
            inFlightByClient[clientIndex]--;
            answered++;
            if (answered === total) {
              clearInterval(timer);
              resolve();
            }
          });
      }
    }, 1);
  });
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  // Failed operations have no latency: only the answered ones count.
  const sorted = Array.from(latenciesMs.filter((ms) => ms > 0)).sort((a, b) => a - b);
  const sortedFromDue = Array.from(fromDueMs.filter((ms) => ms > 0)).sort((a, b) => a - b);
  return {
    ...label,
    ops: total,
    concurrency: 'open loop',
    failureCodes,
    cpuUsPerOp: Number(((cpu.user + cpu.system) / total).toFixed(2)),
    offeredPerSec: Math.round(ratePerSec),
    opsPerSec: Math.round((total / elapsedMs) * 1000),
    failures,
    latencyMsP50: Number(percentile(sorted, 50).toFixed(3)),
    latencyMsP99: Number(percentile(sorted, 99).toFixed(3)),
    fromDueMsP99: Number(percentile(sortedFromDue, 99).toFixed(3)),
    fromDueMsMax: Number((sortedFromDue.at(-1) ?? 0).toFixed(3)),
  };
}

/**
 * Issue 19's latency figure: p99 at half the load. For each deployment and workload, the
 * closed-loop throughput is measured first, then half of it is offered at a steady rate.
 */
async function latency(args) {
  const results = [];
  const value = new Uint8Array(args.valueBytes).fill(120);
  const keys = 10_000;
  const deployments = [
    [
      'standalone (in-process)',
      async () => {
        const server = LocalServer.start({ tickTimeMs: 2000 });
        const clients = [];
        for (let i = 0; i < args.clients; i++)
          clients.push(await server.client({ sessionTimeoutMs: 30_000 }));
        return {
          clients,
          close: async () => {
            for (const c of clients) await c.close();
            server.close();
          },
        };
      },
    ],
    [
      '3-server ensemble',
      async () => {
        const cluster = await startEnsemble({ servers: 3, tickTimeMs: 200 });
        await cluster.waitForLeader();
        const clients = [];
        for (let i = 0; i < Math.max(args.clients, 3); i++)
          clients.push(await cluster.client({ servers: [(i % 3) + 1], sessionTimeoutMs: 30_000 }));
        return {
          clients,
          close: async () => {
            for (const c of clients) await c.close();
            await cluster.close();
          },
        };
      },
    ],
  ];
  for (const [deployment, start] of deployments) {
    const { clients, close } = await start();
    await warmUp(clients, args);
    await clients[0].create('/bench', value);
    for (let i = 0; i < keys; i++) await clients[0].create(`/bench/n${i}`, value);
    const workloadsByName = {
      setData: (c, i) => c.setData(`/bench/n${i % keys}`, value),
      getData: (c, i) => c.getData(`/bench/n${i % keys}`),
    };
    for (const [workload, operation] of Object.entries(workloadsByName)) {
      const full = await measure({ deployment, workload }, args.ops, args.concurrency, clients, operation);
      results.push(full);
      results.push(
        await measureAtRate(
          { deployment, workload: `${workload} at half load` },
          full.opsPerSec / 2,
          2000,
          clients,
          operation,
        ),
      );
    }
    await close();
  }
  return results;
}

async function standalone(args) {
  const server = LocalServer.start({ tickTimeMs: 2000 });
  const clients = await Promise.all(
    Array.from({ length: args.clients }, () => server.client({ sessionTimeoutMs: 30_000 })),
  );
  const results = await workloads('standalone (in-process)', clients, args);
  for (const client of clients) await client.close();
  server.close();
  return results;
}

async function ensemble(servers, args) {
  const cluster = await startEnsemble({ servers, tickTimeMs: 200 });
  await cluster.waitForLeader();
  // One client per server, so reads spread and writes are forwarded as they would be.
  const clients = [];
  for (let i = 0; i < Math.max(args.clients, servers); i++) {
    clients.push(await cluster.client({ servers: [(i % servers) + 1], sessionTimeoutMs: 30_000 }));
  }
  const results = await workloads(`${servers}-server ensemble`, clients, args);
  for (const client of clients) await client.close();
  await cluster.close();
  return results;
}

/**
 * Durable writes: every server on LevelDB with fsync on, with group commit (the default:
 * proposals in flight share one synced batch) and without it (one synced batch each).
 */
async function durable(servers, groupCommit, args) {
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-bench-level-'));
  const cluster = await startEnsemble({
    servers,
    tickTimeMs: 200,
    storage: (id) => LevelStorage.open(join(dir, `server-${id}`), { groupCommit }),
  });
  await cluster.waitForLeader();
  const clients = [];
  for (let i = 0; i < Math.max(args.clients, servers); i++) {
    clients.push(await cluster.client({ servers: [(i % servers) + 1], sessionTimeoutMs: 30_000 }));
  }
  const deployment = `${servers}-server LevelDB, fsync, ${groupCommit ? 'group commit' : 'no group commit'}`;
  // One fsync per write is slow: fewer operations keep the run short.
  const ops = groupCommit ? args.ops : Math.min(args.ops, 1000);
  const value = new Uint8Array(args.valueBytes).fill(120);
  // Durable writes cost far more than the compiler: a shorter warm-up does.
  await warmUp(clients, { ...args, warmupOps: Math.min(args.warmupOps, 5000) });
  await clients[0].create('/bench', value);
  const results = [
    await measure({ deployment, workload: 'create' }, ops, args.concurrency, clients, (c, i) =>
      c.create(`/bench/n${i}`, value),
    ),
    await measure({ deployment, workload: 'setData' }, ops, args.concurrency, clients, (c, i) =>
      c.setData(`/bench/n${i}`, value),
    ),
    await measure({ deployment, workload: 'create, one at a time' }, Math.min(ops, 500), 1, clients, (c, i) =>
      c.create(`/bench/single${i}`, value),
    ),
  ];
  for (const client of clients) await client.close();
  await cluster.close();
  rmSync(dir, { recursive: true, force: true });
  return results;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  // The machine's 1-minute load when the run began and ended: a shared machine's load says
  // how far to trust the throughput figures.
  const loadAtStart = loadavg()[0];
  const results = [];
  if (args.suite === 'all' || args.suite === 'standalone') results.push(...(await standalone(args)));
  if (args.suite === 'all' || args.suite === 'ensemble')
    for (const servers of [1, 3, 5]) results.push(...(await ensemble(servers, args)));
  if (args.suite === 'all' || args.suite === 'durable')
    for (const servers of [1, 3])
      for (const groupCommit of [true, false]) results.push(...(await durable(servers, groupCommit, args)));
  if (args.suite === 'all' || args.suite === 'latency') results.push(...(await latency(args)));

  const machine = {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cpuCount: cpus().length,
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverage1m: { start: Number(loadAtStart.toFixed(2)), end: Number(loadavg()[0].toFixed(2)) },
  };
  const report = {
    bench: 'in-process',
    valueBytes: args.valueBytes,
    clients: args.clients,
    machine,
    results,
  };
  if (args.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  console.log(`zabkit bench: in-process, ${args.valueBytes}-byte values, ${args.clients} clients`);
  console.log(
    `machine: ${machine.cpuModel} x${machine.cpuCount}, ${machine.memoryGiB} GiB, node ${machine.node}, load ${machine.loadAverage1m.start} -> ${machine.loadAverage1m.end}`,
  );
  console.log('');
  console.log(
    `${'deployment'.padEnd(48)}${'workload'.padEnd(24)}${'ops'.padEnd(8)}${'ops/s'.padEnd(10)}${'cpu us/op'.padEnd(11)}p50 ms   p99 ms   from due: p99 / max ms`,
  );
  for (const r of results) {
    console.log(
      `${r.deployment.padEnd(48)}${r.workload.padEnd(24)}${String(r.ops).padEnd(8)}${String(r.opsPerSec).padEnd(10)}${String(r.cpuUsPerOp).padEnd(11)}${String(r.latencyMsP50).padEnd(9)}${String(r.latencyMsP99).padEnd(9)}${r.fromDueMsP99 === undefined ? '' : `${r.fromDueMsP99} / ${r.fromDueMsMax}`}${r.failures ? `  failures ${r.failures} ${JSON.stringify(r.failureCodes)}` : ''}`,
    );
  }
  console.log('');
  console.log(JSON.stringify(report));
}

main().catch((error) => {
  console.error(error);
  // The servers' timers would keep the process alive.
  process.exit(1);
});
