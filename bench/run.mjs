// zabkit bench: in-process throughput and latency of the promise client against a
// standalone server. Prints a readable table, or JSON with --json; both name the machine.
//
//   npm run bench                 # table
//   npm run bench -- --json       # JSON
//   npm run bench -- --ops 50000 --concurrency 256
import { cpus, totalmem } from 'node:os';
import { LocalServer } from '@zabkit/client';

function parseArgs(argv) {
  const args = { json: false, ops: 20_000, concurrency: 128, valueBytes: 100 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') args.json = true;
    else if (arg === '--ops') args.ops = Number(argv[++i]);
    else if (arg === '--concurrency') args.concurrency = Number(argv[++i]);
    else if (arg === '--value-bytes') args.valueBytes = Number(argv[++i]);
    else throw new Error(`unknown argument ${arg}`);
  }
  for (const key of ['ops', 'concurrency', 'valueBytes']) {
    if (!Number.isInteger(args[key]) || args[key] <= 0)
      throw new Error(`--${key} must be a positive integer`);
  }
  return args;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Runs `total` operations with at most `concurrency` in flight; returns throughput and latency. */
async function measure(name, total, concurrency, operation) {
  const latenciesMs = new Float64Array(total);
  let next = 0;
  const started = process.hrtime.bigint();
  async function worker() {
    for (;;) {
      const index = next++;
      if (index >= total) return;
      const t0 = process.hrtime.bigint();
      await operation(index);
      latenciesMs[index] = Number(process.hrtime.bigint() - t0) / 1e6;
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  const sorted = Array.from(latenciesMs).sort((a, b) => a - b);
  return {
    name,
    ops: total,
    concurrency,
    opsPerSec: Math.round((total / elapsedMs) * 1000),
    latencyMsP50: Number(percentile(sorted, 50).toFixed(3)),
    latencyMsP99: Number(percentile(sorted, 99).toFixed(3)),
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const server = LocalServer.start({ tickTimeMs: 2000 });
  const client = await server.client({ sessionTimeoutMs: 30_000 });
  const value = new Uint8Array(args.valueBytes).fill(120);
  await client.create('/bench', value);

  const results = [];
  results.push(
    await measure('create', args.ops, args.concurrency, (i) => client.create(`/bench/n${i}`, value)),
  );
  results.push(
    await measure('setData', args.ops, args.concurrency, (i) =>
      client.setData(`/bench/n${i % args.ops}`, value),
    ),
  );
  results.push(
    await measure('getData', args.ops, args.concurrency, (i) => client.getData(`/bench/n${i % args.ops}`)),
  );
  await client.close();
  server.close();

  const machine = {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cpuCount: cpus().length,
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
  const report = { bench: 'in-process standalone', valueBytes: args.valueBytes, machine, results };
  if (args.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  console.log(`zabkit bench: in-process standalone, ${args.valueBytes}-byte values`);
  console.log(
    `machine: ${machine.cpuModel} x${machine.cpuCount}, ${machine.memoryGiB} GiB, node ${machine.node}`,
  );
  console.log('');
  console.log('op        ops     concurrency   ops/s      p50 ms   p99 ms');
  for (const r of results) {
    console.log(
      `${r.name.padEnd(9)} ${String(r.ops).padEnd(7)} ${String(r.concurrency).padEnd(13)} ${String(r.opsPerSec).padEnd(10)} ${String(r.latencyMsP50).padEnd(8)} ${r.latencyMsP99}`,
    );
  }
  console.log('');
  console.log(JSON.stringify(report));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
