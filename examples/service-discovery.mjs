// Service registration and discovery: instances register themselves with ephemeral nodes;
// a client keeps the live set and spreads its calls over it. An instance that dies (its
// session ends) drops out of the set on its own.
//
//   node examples/service-discovery.mjs    (after `npm install`)

import { ServiceDiscovery } from '@zabkit/recipes';
import { LocalServer } from '@zabkit/server';

const server = LocalServer.start();

// Three instances of "pricing", each with its own session, as separate processes would be.
const sessions = [];
for (const [i, port] of [8081, 8082, 8083].entries()) {
  const zk = await server.client({ sessionTimeoutMs: 10_000 });
  sessions.push(zk);
  await new ServiceDiscovery(zk, '/services').registerService({
    name: 'pricing',
    id: `pricing-${i + 1}`,
    address: '10.0.0.7',
    port,
    payload: { version: '2.4.1' },
  });
}

// A caller: it follows the live instances and picks one per call, round robin.
const caller = await server.client();
const provider = await new ServiceDiscovery(caller, '/services').serviceProvider('pricing');
const calls = Array.from({ length: 6 }, () => provider.getInstance().port);
console.log(`calls went to ports ${calls.join(', ')}`);

// One instance dies: its session ends, its node goes, the caller stops using it.
await sessions[1].close();
while (provider.getAllInstances().length !== 2) await new Promise((resolve) => setTimeout(resolve, 10));
const after = Array.from({ length: 4 }, () => provider.getInstance().port);
console.log(`after pricing-2 died, calls went to ports ${after.join(', ')}`);

await provider.close();
for (const zk of [caller, sessions[0], sessions[2]]) await zk.close();
server.close();
