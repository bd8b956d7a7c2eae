// One load process of the wire bench: its own node-zookeeper-client sessions, driven by the
// orchestrator (bench/wire.mjs) over IPC, so the client side can use more than one core.
import zookeeper from 'node-zookeeper-client';

const call = (client, method, ...args) =>
  new Promise((resolve, reject) =>
    client[method](...args, (error, result) => (error ? reject(error) : resolve(result))),
  );

let clients = [];

function connectClient(connectString) {
  return new Promise((resolve, reject) => {
    const client = zookeeper.createClient(connectString, { sessionTimeout: 30_000, retries: 0 });
    const timer = setTimeout(() => reject(new Error('no session')), 10_000);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.connect();
  });
}

async function run({ op, prefix, from, count, concurrency, valueBytes }) {
  const value = Buffer.alloc(valueBytes, 120);
  const latencies = new Array(count);
  let next = 0;
  const worker = async (w) => {
    const client = clients[w % clients.length];
    for (;;) {
      const index = next++;
      if (index >= count) return;
      const path = `${prefix}${from + index}`;
      const t0 = process.hrtime.bigint();
      if (op === 'create') await call(client, 'create', path, value);
      else if (op === 'setData') await call(client, 'setData', path, value, -1);
      else await call(client, 'getData', path);
      latencies[index] = Number(process.hrtime.bigint() - t0) / 1e6;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, (_v, i) => worker(i)));
  return latencies;
}

process.on('message', async (message) => {
  try {
    if (message.kind === 'connect') {
      clients = [];
      for (let i = 0; i < message.clients; i++) clients.push(await connectClient(message.connectString));
      process.send({ kind: 'ready' });
    } else if (message.kind === 'run') {
      process.send({ kind: 'done', latencies: await run(message) });
    } else if (message.kind === 'catchUp') {
      // Every session waits until its server has applied the marker the orchestrator wrote.
      await Promise.all(
        clients.map(async (client) => {
          const started = Date.now();
          while (!(await call(client, 'exists', message.path))) {
            if (Date.now() - started > 30_000) throw new Error(`${message.path} not visible after 30 s`);
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        }),
      );
      process.send({ kind: 'caughtUp' });
    } else if (message.kind === 'close') {
      for (const client of clients) client.close();
      setTimeout(() => process.exit(0), 100);
    }
  } catch (error) {
    process.send({ kind: 'error', message: String(error) });
  }
});
