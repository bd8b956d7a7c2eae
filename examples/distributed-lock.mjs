// A distributed lock around a critical section: workers in separate sessions update a
// shared balance with a read-modify-write that would lose updates without the lock.
//
//   node examples/distributed-lock.mjs     (after `npm install`)

import { Mutex } from '@zabkit/recipes';
import { LocalServer } from '@zabkit/server';

const server = LocalServer.start();
const setup = await server.client();
await setup.create('/accounts', '');
await setup.create('/accounts/alice', '0');

/** A worker: takes the lock, reads, waits a little (as real work does), writes back. */
async function worker(name, deposits) {
  const zk = await server.client();
  const lock = new Mutex(zk, '/locks/accounts/alice');
  for (let i = 0; i < deposits; i++) {
    if (!(await lock.acquire({ timeoutMs: 10_000 }))) throw new Error(`${name} could not get the lock`);
    try {
      const { data } = await zk.getData('/accounts/alice');
      const balance = Number(new TextDecoder().decode(data));
      await new Promise((resolve) => setTimeout(resolve, 1));
      await zk.setData('/accounts/alice', String(balance + 10));
    } finally {
      await lock.release();
    }
  }
  await zk.close();
}

await Promise.all([worker('w1', 10), worker('w2', 10), worker('w3', 10)]);
const final = new TextDecoder().decode((await setup.getData('/accounts/alice')).data);
console.log(`balance after 30 deposits of 10: ${final}`);
if (final !== '300') throw new Error('a deposit was lost');
await setup.close();
server.close();
