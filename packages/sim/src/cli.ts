/**
 * `npm run sim -- --seeds N --start S [--servers N] [--membership PER_SECOND] [--rate NAME=VALUE]... [--json] [--trace-hash]`:
 * runs seeds S..S+N-1, prints a table with progress, and for each failing seed the one
 * command that replays it. `--rate` overrides a fault rate the seed would draw (e.g.
 * `--rate wallClockJumpsPerSecond=0.3`). `--membership` adds membership changes (reconfigs) at
 * that rate among the faults, with its ConfigQuorum check. Exits non-zero on any violation.
 */

import { Rng } from './rng.js';
import { runSeed, type SeedResult } from './run.js';
import { drawFaultRates, type FaultRates } from './world.js';

interface CliArgs {
  seeds: number;
  start: number;
  json: boolean;
  traceHash: boolean;
  servers: number | undefined;
  membership: number;
  rates: Partial<Record<keyof FaultRates, number>>;
}

const rateNames = new Set(Object.keys(drawFaultRates(new Rng(0))));

function parse(argv: readonly string[]): CliArgs {
  const args: CliArgs = {
    seeds: 10,
    start: 1,
    json: false,
    traceHash: false,
    servers: undefined,
    membership: 0,
    rates: {},
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--seeds') args.seeds = Number(argv[++i]);
    else if (arg === '--start' || arg === '--seed') args.start = Number(argv[++i]);
    else if (arg === '--json') args.json = true;
    else if (arg === '--trace-hash') args.traceHash = true;
    else if (arg === '--servers') args.servers = Number(argv[++i]);
    else if (arg === '--membership') {
      args.membership = Number(argv[++i]);
      if (!(args.membership >= 0)) throw new Error('--membership must be a non-negative rate');
    } else if (arg === '--rate') {
      const [name, value] = (argv[++i] ?? '').split('=');
      if (name === undefined || !rateNames.has(name))
        throw new Error(`--rate: unknown rate ${name} (${[...rateNames].join(', ')})`);
      const rate = Number(value);
      if (!(rate >= 0)) throw new Error(`--rate ${name}: expected a non-negative number, got ${value}`);
      args.rates[name as keyof FaultRates] = rate;
    } else throw new Error(`unknown argument ${arg}`);
  }
  if (!Number.isInteger(args.seeds) || args.seeds < 1) throw new Error('--seeds must be a positive integer');
  if (!Number.isInteger(args.start)) throw new Error('--start must be an integer');
  if (args.servers !== undefined && !(Number.isInteger(args.servers) && args.servers >= 1)) {
    throw new Error('--servers must be a positive integer');
  }
  return args;
}

function main(): void {
  const args = parse(process.argv.slice(2));
  const results: SeedResult[] = [];
  const started = Date.now();
  for (let seed = args.start; seed < args.start + args.seeds; seed++) {
    const result = runSeed(seed, {
      ...(args.servers === undefined ? {} : { servers: args.servers }),
      ...(args.membership > 0 ? { membershipChangesPerSecond: args.membership } : {}),
      rates: args.rates,
    });
    results.push(result);
    if (!args.json) {
      const status = result.failures.length === 0 ? 'ok' : `FAIL ${result.failures[0]!.check}`;
      const hash = args.traceHash ? ` trace ${result.traceHash}` : '';
      console.log(
        `[${results.length}/${args.seeds}] seed ${seed}: ${status} (${result.stats.acknowledged}/${result.stats.writes} writes acked, ${result.stats.reads} reads, ${result.stats.committed} committed)${hash}`,
      );
    }
  }
  const elapsedMs = Date.now() - started;
  const totals: Record<string, number> = {};
  for (const result of results)
    for (const [kind, count] of Object.entries(result.faults)) totals[kind] = (totals[kind] ?? 0) + count;
  const syncs: Record<string, number> = {};
  for (const result of results)
    for (const [kind, count] of Object.entries(result.syncs)) syncs[kind] = (syncs[kind] ?? 0) + count;
  const operations = results.reduce((sum, r) => sum + r.stats.writes + r.stats.reads, 0);
  const linearizability = {
    groups: results.reduce((sum, r) => sum + r.linearizability.groups, 0),
    unknown: results.reduce((sum, r) => sum + r.linearizability.unknown, 0),
    unknownSeeds: results.filter((r) => r.linearizability.unknown > 0).map((r) => r.seed),
  };
  const failures = results.flatMap((result) =>
    result.failures.map((failure) => ({ seed: result.seed, check: failure.check, message: failure.message })),
  );
  if (args.json) {
    const summary: Record<string, unknown> = {
      seeds: results.length,
      failures,
      elapsedMs,
      operations,
      faults: totals,
      syncs,
      linearizability,
    };
    if (args.traceHash) summary.traceHashes = Object.fromEntries(results.map((r) => [r.seed, r.traceHash]));
    console.log(JSON.stringify(summary, null, 2));
  } else {
    for (const seed of new Set(failures.map((failure) => failure.seed))) {
      for (const failure of failures.filter((f) => f.seed === seed).slice(0, 5)) {
        console.log(`seed ${seed} [${failure.check}] ${failure.message}`);
      }
      const servers = args.servers === undefined ? '' : ` --servers ${args.servers}`;
      const rates = Object.entries(args.rates)
        .map(([name, rate]) => ` --rate ${name}=${rate}`)
        .join('');
      const membership = args.membership > 0 ? ` --membership ${args.membership}` : '';
      console.log(`  replay: npm run sim -- --seeds 1 --start ${seed}${servers}${membership}${rates}`);
    }
    const simulatedS = results.reduce((sum, r) => sum + r.stats.simulatedMs, 0) / 1000;
    console.log(
      `${operations} client operations over ${simulatedS.toFixed(0)} simulated seconds in ${(elapsedMs / 1000).toFixed(1)} s of wall time (${Math.round((operations / elapsedMs) * 1000)} simulated ops/s)`,
    );
    console.log(
      `faults injected: ${Object.entries(totals)
        .map(([kind, count]) => `${kind} ${count}`)
        .join(', ')}`,
    );
    console.log(
      `learner syncs: ${Object.entries(syncs)
        .sort()
        .map(([kind, count]) => `${kind} ${count}`)
        .join(', ')}`,
    );
    const unknownSeeds =
      linearizability.unknownSeeds.length === 0
        ? ''
        : ` (seeds ${linearizability.unknownSeeds.slice(0, 10).join(', ')}${linearizability.unknownSeeds.length > 10 ? ', ...' : ''})`;
    console.log(
      `linearizability: ${linearizability.groups} path groups checked, ${linearizability.unknown} unknown within the search budget${unknownSeeds}`,
    );
    console.log(
      `${results.length - new Set(failures.map((f) => f.seed)).size} passed, ${new Set(failures.map((f) => f.seed)).size} failed`,
    );
  }
  if (failures.length > 0) process.exitCode = 1;
}

main();
