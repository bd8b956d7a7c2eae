/**
 * The embedded default: a short tour of zabkit in one process. Starts a standalone server,
 * creates znodes, sets a watch, and shows an ephemeral vanish with its session.
 * Run it with `npm run demo`.
 */
import type { WatchedEvent } from '@zabkit/client';
import { LocalServer } from './local-server.js';

const text = new TextDecoder();

async function main(): Promise<void> {
  const server = LocalServer.start({ tickTimeMs: 100 });
  console.log('zabkit: started an in-process standalone server (tickTime 100 ms)');

  const alice = await server.client({ sessionTimeoutMs: 2000 });
  const bob = await server.client({ sessionTimeoutMs: 2000 });
  console.log(`alice has session 0x${alice.sessionId.toString(16)}, bob has 0x${bob.sessionId.toString(16)}`);

  await alice.create('/app', 'v1');
  await alice.create('/app/members');
  const { data, stat } = await alice.getData('/app');
  console.log(`/app = "${text.decode(data)}" (version ${stat.version}, czxid 0x${stat.czxid.toString(16)})`);

  const changed = new Promise<WatchedEvent>((resolve) => {
    void alice.getData('/app', { watch: resolve });
  });
  await bob.setData('/app', 'v2', 0);
  console.log(`alice's watch fired: ${JSON.stringify(await changed)}`);

  const member = await bob.create('/app/members/bob-', 'here', { mode: 'ephemeralSequential' });
  console.log(`bob joined as ${member}; members: ${JSON.stringify(await alice.getChildren('/app/members'))}`);

  const left = new Promise<WatchedEvent>((resolve) => {
    void alice.getChildren('/app/members', { watch: resolve });
  });
  await bob.close();
  console.log(`bob closed his session; alice saw ${JSON.stringify(await left)}`);
  console.log(`members now: ${JSON.stringify(await alice.getChildren('/app/members'))}`);

  // A session that stops heartbeating expires, and its ephemerals go with it.
  const carol = await server.client({ sessionTimeoutMs: 400, heartbeat: false });
  await carol.create('/app/members/carol', 'here', { mode: 'ephemeral' });
  const expired = new Promise<WatchedEvent>((resolve) => {
    void alice.exists('/app/members/carol', { watch: resolve });
  });
  const started = Date.now();
  console.log(`carol (timeout ${carol.sessionTimeoutMs} ms) stops heartbeating...`);
  const event = await expired;
  console.log(`after ${Date.now() - started} ms alice saw ${JSON.stringify(event)}`);
  console.log(`carol's session is ${carol.state === 'connected' ? 'still open' : carol.state}`);

  const tx = await alice
    .transaction()
    .check('/app', 1)
    .create('/app/config', 'retries=3')
    .setData('/app', 'v3', 1)
    .commit();
  console.log(`a transaction applied ${tx.length} ops atomically`);

  await alice.close();
  server.close();
  console.log('done');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
