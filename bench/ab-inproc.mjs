// zabkit A/B in process: pipelined writes through the public client API against deployments of
// several built trees, all in this one process and measured in alternated bursts, so that the
// load other work puts on a shared machine falls on every tree alike. Each tree gets its own
// deployment (a LocalServer, or an in-process ensemble on memory storage) with `--nodes` nodes
// under /b; each burst is `--burst` operations, 256 in flight over 4 clients (as bench/run.mjs),
// and the trees take turns, the order reversed every round. Per tree it reports the medians
// over rounds of wall time, process CPU (every thread, the collector's helpers too) and the
// main thread's CPU per operation; per round, each tree's main-thread CPU over the first
// tree's, and the median of those ratios: the figure to quote, since a burst that a busy
// neighbour slowed slows one tree's number and not its ratio to the tree measured beside it.
//
//   node bench/ab-inproc.mjs --trees old=/work/wt/ab-old,new=.
//   node bench/ab-inproc.mjs --trees old=/work/wt/ab-old,new=. --servers 3 --nodes 100000
//   node bench/ab-inproc.mjs --trees a=/work/wt/a,b=/work/wt/b --op create --rounds 20 --json
//
// Each tree must be built (`npm run build`). Both deployments share one heap and one event
// loop: neither is measured alone, which is the point, and the price (a collection one tree's
// garbage starts may fall in the other's burst) is paid by both alike.
import { cpus, loadavg, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

function parseArgs(argv) {
  const args = {
    trees: [],
    servers: 1,
    op: 'setData',
    nodes: 10_000,
    burst: 20_000,
    rounds: 16,
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') args.json = true;
    else if (arg === '--trees')
      args.trees = argv[++i].split(',').map((entry) => {
        const at = entry.indexOf('=');
        if (at <= 0) throw new Error(`--trees takes name=path,...: ${entry}`);
        return { name: entry.slice(0, at), path: resolve(entry.slice(at + 1)) };
      });
    else if (arg === '--servers') args.servers = Number(argv[++i]);
    else if (arg === '--op') args.op = argv[++i];
    else if (arg === '--nodes') args.nodes = Number(argv[++i]);
    else if (arg === '--burst') args.burst = Number(argv[++i]);
    else if (arg === '--rounds') args.rounds = Number(argv[++i]);
    else throw new Error(`unknown argument ${arg}`);
  }
  if (args.trees.length < 2) throw new Error('--trees needs at least two trees: name=path,name=path');
  for (const key of ['servers', 'nodes', 'burst', 'rounds'])
    if (!Number.isInteger(args[key]) || args[key] <= 0)
      throw new Error(`--${key} must be a positive integer`);
  if (!['setData', 'create'].includes(args.op)) throw new Error('--op is setData or create');
  return args;
}

const concurrency = 256;
const clientCount = 4;
const value = new Uint8Array(100).fill(120);

async function deploy(tree, args) {
  const server = await import(pathToFileURL(`${tree.path}/packages/server/dist/index.js`).href);
  const clients = [];
  let close;
  if (args.servers === 1) {
    const local = server.LocalServer.start({ tickTimeMs: 2000 });
    for (let i = 0; i < clientCount; i++) clients.push(await local.client({ sessionTimeoutMs: 30_000 }));
    close = async () => {
      for (const client of clients) await client.close();
      local.close();
    };
  } else {
    const cluster = await server.startEnsemble({ servers: args.servers, tickTimeMs: 200 });
    await cluster.waitForLeader();
    // One client per server at least, so that writes are forwarded as they would be.
    for (let i = 0; i < Math.max(clientCount, args.servers); i++)
      clients.push(await cluster.client({ servers: [(i % args.servers) + 1], sessionTimeoutMs: 30_000 }));
    close = async () => {
      for (const client of clients) await client.close();
      await cluster.close();
    };
  }
  await clients[0].create('/b', value);
  for (let i = 0; i < args.nodes; i += concurrency) {
    const count = Math.min(concurrency, args.nodes - i);
    await Promise.all(Array.from({ length: count }, (_v, j) => clients[0].create(`/b/n${i + j}`, value)));
  }
  return { tree, clients, close, created: 0, rounds: [] };
}

/** One burst of `total` operations on `deployment`: wall, process CPU and main-thread CPU per op, in us. */
async function burst(deployment, total, args) {
  const { clients } = deployment;
  const operation =
    args.op === 'create'
      ? (client) => client.create(`/b/c${deployment.created++}`, value)
      : (client, index) => client.setData(`/b/n${index % args.nodes}`, value);
  let next = 0;
  async function worker(workerIndex) {
    const client = clients[workerIndex % clients.length];
    for (;;) {
      const index = next++;
      if (index >= total) return;
      await operation(client, index);
    }
  }
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  const mainBefore = process.threadCpuUsage();
  await Promise.all(Array.from({ length: concurrency }, (_v, i) => worker(i)));
  const wallUs = Number(process.hrtime.bigint() - started) / 1e3;
  const cpu = process.cpuUsage(cpuBefore);
  const main = process.threadCpuUsage(mainBefore);
  return {
    wallUsPerOp: wallUs / total,
    cpuUsPerOp: (cpu.user + cpu.system) / total,
    mainUsPerOp: (main.user + main.system) / total,
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const loadAtStart = loadavg()[0];
  const deployments = [];
  for (const tree of args.trees) deployments.push(await deploy(tree, args));
  // Warm-up: two bursts each, unmeasured, so that no tree's first round measures the compiler.
  for (let i = 0; i < 2; i++) for (const deployment of deployments) await burst(deployment, args.burst, args);
  for (let round = 0; round < args.rounds; round++) {
    const order = round % 2 === 0 ? deployments : [...deployments].reverse();
    for (const deployment of order) deployment.rounds.push(await burst(deployment, args.burst, args));
  }
  for (const deployment of deployments) await deployment.close();
  const first = deployments[0];
  const results = deployments.map((deployment) => {
    const ratios = deployment.rounds.map((r, i) => r.mainUsPerOp / first.rounds[i].mainUsPerOp);
    return {
      tree: deployment.tree.name,
      path: deployment.tree.path,
      wallUsPerOp: Number(median(deployment.rounds.map((r) => r.wallUsPerOp)).toFixed(2)),
      cpuUsPerOp: Number(median(deployment.rounds.map((r) => r.cpuUsPerOp)).toFixed(2)),
      mainUsPerOp: Number(median(deployment.rounds.map((r) => r.mainUsPerOp)).toFixed(2)),
      mainRatioToFirstMedian: Number(median(ratios).toFixed(3)),
      mainRatiosToFirst: ratios.map((ratio) => Number(ratio.toFixed(2))),
    };
  });
  const report = {
    bench: 'ab-inproc',
    op: args.op,
    servers: args.servers,
    nodes: args.nodes,
    burst: args.burst,
    rounds: args.rounds,
    machine: {
      cpuModel: cpus()[0]?.model ?? 'unknown',
      cpuCount: cpus().length,
      memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
      node: process.version,
      loadAverage1m: { start: Number(loadAtStart.toFixed(2)), end: Number(loadavg()[0].toFixed(2)) },
    },
    results,
  };
  if (args.json) console.log(JSON.stringify(report, null, 2));
  else {
    const { machine } = report;
    console.log(
      `zabkit A/B in process: ${args.op}, ${args.servers === 1 ? 'standalone' : `${args.servers} servers`}, ${args.nodes} nodes, ${args.rounds} rounds of ${args.burst} ops per tree`,
    );
    console.log(
      `machine: ${machine.cpuModel} x${machine.cpuCount}, node ${machine.node}, load ${machine.loadAverage1m.start} -> ${machine.loadAverage1m.end}`,
    );
    console.table(
      results.map((r) => ({
        tree: r.tree,
        'wall us/op': r.wallUsPerOp,
        'cpu us/op': r.cpuUsPerOp,
        'main us/op': r.mainUsPerOp,
        [`main / ${first.tree.name} (median)`]: r.mainRatioToFirstMedian,
      })),
    );
  }
  // The servers' timers would keep the process alive a little longer.
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
