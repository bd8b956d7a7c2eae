// One load process of the wire bench, with the lean pipelining client of raw-session.mjs:
// every request of a slot in flight at once, only the reply header read. It spends a fraction
// of the CPU a full client does, so on a small machine the servers, not the load, set the
// pace. Same IPC protocol as wire-worker.mjs.
import { noNode, openWithRetries, requestFor } from './raw-session.mjs';

let sessions = [];

function run({ op, prefix, from, count, concurrency, valueBytes }) {
  const value = new Uint8Array(valueBytes).fill(120);
  const latencies = new Array(count);
  let next = 0;
  let finished = 0;
  return new Promise((resolve, reject) => {
    if (count === 0) resolve(latencies);
    const issue = (session) => {
      const index = next++;
      if (index >= count) return;
      const t0 = process.hrtime.bigint();
      session.send(requestFor(op, `${prefix}${from + index}`, value), (err) => {
        if (err !== 0) {
          reject(
            new Error(
              `${op} ${prefix}${from + index}: ${err instanceof Error ? err.message : `error ${err}`}`,
            ),
          );
          return;
        }
        latencies[index] = Number(process.hrtime.bigint() - t0) / 1e6;
        if (++finished === count) resolve(latencies);
        else issue(session);
      });
    };
    for (let slot = 0; slot < Math.min(concurrency, count); slot++) issue(sessions[slot % sessions.length]);
  });
}

/** Resolves once `path` exists on `session`'s server (err 0 to an exists; -101 is NoNode). */
async function waitVisible(session, path) {
  const started = Date.now();
  for (;;) {
    const err = await new Promise((resolve) => session.send({ op: 'exists', path, watch: false }, resolve));
    if (err === 0) return;
    if (err !== noNode)
      throw new Error(`exists ${path}: ${err instanceof Error ? err.message : `error ${err}`}`);
    if (Date.now() - started > 30_000) throw new Error(`${path} not visible after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

process.on('message', async (message) => {
  try {
    if (message.kind === 'connect') {
      sessions = [];
      const servers = message.connectString.split(',');
      for (let i = 0; i < message.clients; i++) {
        // Sessions spread over the servers, as a client library picking at random would.
        const [host, port] = servers[(i + message.offset) % servers.length].split(':');
        sessions.push(await openWithRetries(host, Number(port), { tls: message.tls }));
      }
      process.send({ kind: 'ready' });
    } else if (message.kind === 'run') {
      process.send({ kind: 'done', latencies: await run(message) });
    } else if (message.kind === 'catchUp') {
      await Promise.all(sessions.map((session) => waitVisible(session, message.path)));
      process.send({ kind: 'caughtUp' });
    } else if (message.kind === 'close') {
      for (const session of sessions) session.close();
      setTimeout(() => process.exit(0), 100);
    }
  } catch (error) {
    process.send({ kind: 'error', message: String(error) });
  }
});
