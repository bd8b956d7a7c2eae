// zabkit step instructions: the step-cost bench counted in machine instructions, which a
// loaded machine does not change. It runs bench/step-cost.mjs under valgrind's callgrind
// twice, with few and with many operations, and divides the difference in instructions by
// the difference in operations: startup, module loading and warm-up cancel out. Node runs
// with --single-threaded, so that V8 compiles on the counted thread, and with fixed hash and
// random seeds: with V8's per-process hash seed, Map and Set probing changed the per-operation
// figure by several percent from run to run; with the seeds fixed a rerun counts the same
// instructions to within a few hundredths of a percent.
//
//   node bench/step-instructions.mjs                          # this tree, both levels
//   node bench/step-instructions.mjs --tree /work/wt/other --level core
//   node bench/step-instructions.mjs --ops 1000 --json
//
// Slow: valgrind runs node some 50 times slower (about a minute per level and count).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const stepCost = fileURLToPath(new URL('./step-cost.mjs', import.meta.url));

function parseArgs(argv) {
  const args = {
    json: false,
    tree: undefined,
    level: 'all',
    ops: 1000,
    warmupOps: 200,
    objects: false,
    metrics: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') args.json = true;
    else if (arg === '--tree') args.tree = argv[++i];
    else if (arg === '--level') args.level = argv[++i];
    else if (arg === '--ops') args.ops = Number(argv[++i]);
    else if (arg === '--warmup-ops') args.warmupOps = Number(argv[++i]);
    else if (arg === '--objects') args.objects = true;
    else if (arg === '--no-metrics') args.metrics = false;
    else throw new Error(`unknown argument ${arg}`);
  }
  if (!['all', 'core', 'driver'].includes(args.level)) throw new Error('--level is all, core or driver');
  for (const key of ['ops', 'warmupOps'])
    if (!Number.isInteger(args[key]) || args[key] <= 0)
      throw new Error(`--${key} must be a positive integer`);
  return args;
}

/** The instructions callgrind counted for one run of the step-cost bench. */
function instructions(args, level, ops, dir) {
  const out = join(dir, `callgrind.${level}.${ops}.out`);
  const benchArgs = [
    stepCost,
    '--level',
    level,
    '--ops',
    String(ops),
    '--warmup-ops',
    String(args.warmupOps),
    '--rounds',
    '1',
    ...(args.tree === undefined ? [] : ['--tree', args.tree]),
    ...(args.objects ? ['--objects'] : []),
    ...(args.metrics ? [] : ['--no-metrics']),
  ];
  const run = spawnSync(
    'valgrind',
    [
      '--tool=callgrind',
      // V8 writes the code it runs: callgrind must see it change.
      '--smc-check=all-non-file',
      `--callgrind-out-file=${out}`,
      process.execPath,
      '--single-threaded',
      '--hash-seed=1',
      '--random-seed=1',
      ...benchArgs,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 * 1024 * 1024 },
  );
  // Valgrind reports on stderr.
  const result = run.stderr ?? '';
  if (run.status !== 0) throw new Error(`the bench failed under valgrind (status ${run.status}):\n${result}`);
  const collected = /Collected : (\d+)/.exec(result);
  if (collected === null) throw new Error(`callgrind reported no count:\n${result}`);
  return Number(collected[1]);
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-step-instructions-'));
  const levels = args.level === 'all' ? ['core', 'driver'] : [args.level];
  // The step-cost bench runs four workloads, each with warm-up and then `ops` operations.
  const workloads = 4;
  const results = [];
  try {
    for (const level of levels) {
      const few = instructions(args, level, args.ops, dir);
      const many = instructions(args, level, args.ops * 2, dir);
      results.push({
        level,
        instructionsPerOp: Math.round((many - few) / (args.ops * workloads)),
        instructionsFew: few,
        instructionsMany: many,
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const report = {
    bench: 'step-instructions',
    tree: args.tree ?? 'this tree',
    opsDifference: args.ops * workloads,
    machine: { cpu: cpus()[0]?.model ?? 'unknown', node: process.version },
    results,
  };
  if (args.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  console.log(
    `zabkit step instructions: ${report.tree}; (instructions at ${args.ops * 2} ops - at ${args.ops}) / ${report.opsDifference} ops, all four workloads`,
  );
  console.table(
    results.map((r) => ({
      level: r.level,
      'instructions/op': r.instructionsPerOp,
      few: r.instructionsFew,
      many: r.instructionsMany,
    })),
  );
}

main();
