// A control for latency probes on a shared machine: an idle process that measures its own
// event-loop stalls. When it stalls too, the machine stalled (CPU taken by other work, the
// hypervisor, the disk's writeback), not the server under test.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);

/**
 * Starts the idle process; `stop()` resolves with its loop's delay over the window, in ms
 * (p50, p99, max, from a 1 ms-resolution monitor), and its stalls over 50 ms (when each ended,
 * wall clock, and how long it was).
 */
export async function startIdleControl() {
  const child = fork(self, ['--idle-control'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('error', reject);
  });
  return {
    stop() {
      const summary = new Promise((resolve, reject) => {
        child.once('message', resolve);
        child.once('error', reject);
      });
      child.send('stop');
      return summary.finally(() => child.disconnect());
    },
  };
}

if (process.argv[2] === '--idle-control') {
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  // Found from a 1 ms timer as well: the histogram does not say how many stalls were long, nor when.
  const stalls = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    if (now - last > 51) stalls.push({ endedAtMs: Date.now(), ms: Math.round(now - last - 1) });
    last = now;
  }, 1);
  histogram.enable();
  process.send('ready');
  process.on('message', () => {
    histogram.disable();
    clearInterval(timer);
    const ms = (ns) => +(ns / 1e6).toFixed(1);
    process.send({
      p50Ms: ms(histogram.percentile(50)),
      p99Ms: ms(histogram.percentile(99)),
      maxMs: ms(histogram.max),
      stallsOver50Ms: stalls.length,
      stalls,
    });
  });
}
