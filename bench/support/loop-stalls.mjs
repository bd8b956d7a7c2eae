// Preloaded into a server under test (ZABKIT_BENCH_NODE_ARGS="--import <this file>", with
// ZABKIT_BENCH_SERVER_LOGS=1): prints to stderr every event-loop stall over
// ZABKIT_STALL_MS (default 30) and every garbage collection over ZABKIT_GC_MS (default 20),
// each with the wall-clock time it ended, so that a probe's long waits can be matched to
// what the server was doing.
import { PerformanceObserver } from 'node:perf_hooks';

const stallMs = Number(process.env.ZABKIT_STALL_MS ?? 30);
const gcMs = Number(process.env.ZABKIT_GC_MS ?? 20);
// perf_hooks.constants.NODE_PERFORMANCE_GC_*.
const kinds = {
  1: 'scavenge',
  2: 'minor-mark-sweep',
  4: 'mark-compact',
  8: 'incremental',
  16: 'weak-callbacks',
};
let last = performance.now();
setInterval(() => {
  const now = performance.now();
  if (now - last > stallMs + 1)
    process.stderr.write(`[stall] ${Date.now()} ${(now - last - 1).toFixed(0)} ms\n`);
  last = now;
}, 1).unref();
new PerformanceObserver((list) => {
  for (const entry of list.getEntries())
    if (entry.duration > gcMs)
      process.stderr.write(
        `[gc] ${Date.now()} ${kinds[entry.detail?.kind] ?? entry.detail?.kind} ${entry.duration.toFixed(0)} ms\n`,
      );
}).observe({ entryTypes: ['gc'] });
