// An HTTP service that embeds a 3-server zabkit ensemble and elects a leader among its
// instances: every instance answers GET /, and only the leader does the periodic work.
// When the leading instance stops (a deploy, a crash), another one takes over.
//
//   node examples/leader-http.mjs          (after `npm install`)
//
// The scenario runs by itself and exits; each step prints what the HTTP endpoints say.
import { createServer } from 'node:http';
import { LeaderLatch } from '@zabkit/recipes';
import { startEnsemble } from '@zabkit/server';

const ensemble = await startEnsemble({ servers: 3, tickTimeMs: 50 });
await ensemble.waitForLeader();

/** One instance of the service: its own session (on its own server), latch and HTTP port. */
async function startInstance(name, serverId) {
  const zk = await ensemble.client({ servers: [serverId, ...[1, 2, 3].filter((id) => id !== serverId)] });
  const latch = new LeaderLatch(zk, '/services/report-builder/leader', name);
  let reports = 0;
  const timer = setInterval(() => {
    if (latch.hasLeadership()) reports++; // the work only the leader may do
  }, 20);
  const http = createServer((_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ instance: name, leader: latch.hasLeadership(), reports }));
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  await latch.start();
  return {
    name,
    serverId,
    url: `http://127.0.0.1:${http.address().port}/`,
    async stop() {
      clearInterval(timer);
      await latch.close().catch(() => undefined);
      await zk.close().catch(() => undefined);
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

const instances = [await startInstance('a', 1), await startInstance('b', 2), await startInstance('c', 3)];

async function poll(label) {
  const answers = await Promise.all(instances.map(async (instance) => (await fetch(instance.url)).json()));
  console.log(
    `${label}: ${answers.map((answer) => `${answer.instance}${answer.leader ? ' (leader)' : ''}`).join(', ')}`,
  );
  return answers;
}

const waitForOneLeader = async (label) => {
  for (let i = 0; i < 200; i++) {
    const answers = await poll(label);
    if (answers.filter((answer) => answer.leader).length === 1)
      return answers.find((answer) => answer.leader);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('no single leader');
};

const first = await waitForOneLeader('start');
// The leader's own instance stops (a deploy, a crash): another one takes over.
const leaving = instances.find((instance) => instance.name === first.instance);
await leaving.stop();
instances.splice(instances.indexOf(leaving), 1);
const second = await waitForOneLeader(`after ${first.instance} stopped`);
console.log(`leadership moved from ${first.instance} to ${second.instance}`);

for (const instance of instances) await instance.stop();
await ensemble.close();
