/**
 * TCP ports for test servers that must bind the same port again after a restart.
 *
 * A port the kernel hands out for `listen(0)` lies in its ephemeral range (32768-60999 on
 * Linux), the same range it takes outgoing connections' local ports from: while a test server
 * is down, a client's or a peer's next connection can be given its port, and the restart fails
 * with EADDRINUSE (seen in CI with the nemesis suite). These ports come from below that range
 * instead, each worker of the test run walking a slice of its own, so no two workers and no
 * two allocations of one worker pick the same port before the slice wraps.
 */
import { createServer } from 'node:net';

const rangeStart = 10_000;
const rangeEnd = 32_000; // below every Linux ephemeral range in use
const slices = 16;
const sliceSize = Math.floor((rangeEnd - rangeStart) / slices);
const worker = Number(process.env.VITEST_POOL_ID ?? process.env.VITEST_WORKER_ID ?? 1);
const sliceStart = rangeStart + (((Number.isFinite(worker) ? worker : 1) - 1) % slices) * sliceSize;
// A start that differs between runs, so a rerun does not meet the ports a killed run left bound.
let next = Math.floor(Math.random() * sliceSize);

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port no one listens on now, outside the kernel's ephemeral range. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < sliceSize; tries++) {
    const port = sliceStart + (next++ % sliceSize);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port in ${sliceStart}-${sliceStart + sliceSize - 1}`);
}
