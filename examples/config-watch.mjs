// Configuration management: services read their settings from a znode and watch it, so a
// change reaches every instance within a round trip, without polling.
//
//   node examples/config-watch.mjs            (after `npm install`)
//
// An in-process zabkit server stands in for the ensemble; with `connectTcp('host:2181')`
// the same code runs against a zabkit server or Apache ZooKeeper.
import { LocalServer } from '@zabkit/server';

const server = LocalServer.start();
const admin = await server.client();
await admin.create('/config', JSON.stringify({ retries: 3, timeoutMs: 1000 }));

/** One service instance: it keeps `settings` current by re-reading on every change. */
async function startInstance(name) {
  const zk = await server.client();
  const instance = { name, settings: undefined, updates: 0 };
  const load = async () => {
    // A data watch fires once; reading again sets the next one and sees every later change.
    const { data } = await zk.getData('/config', { watch: () => load().catch(() => undefined) });
    instance.settings = JSON.parse(new TextDecoder().decode(data));
    instance.updates++;
    console.log(`${name}: settings ${JSON.stringify(instance.settings)}`);
  };
  await load();
  instance.close = () => zk.close();
  return instance;
}

const instances = [await startInstance('api-1'), await startInstance('api-2')];

// An operator changes the configuration with compare-and-set, so concurrent edits never
// overwrite each other silently.
const { stat } = await admin.getData('/config');
await admin.setData('/config', JSON.stringify({ retries: 5, timeoutMs: 1000 }), stat.version);

// Wait until every instance has seen the change.
const deadline = Date.now() + 5000;
while (instances.some((instance) => instance.settings.retries !== 5)) {
  if (Date.now() > deadline) throw new Error('an instance missed the change');
  await new Promise((resolve) => setTimeout(resolve, 10));
}
console.log('every instance runs with retries=5');

for (const instance of instances) await instance.close();
await admin.close();
server.close();
