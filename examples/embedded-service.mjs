// An HTTP service whose every instance embeds one durable zabkit peer: three separate
// processes, each with its own data directory, elect a leader among themselves over their
// peer ports and share the service's configuration in a znode. The service's code uses
// `peer.client()`, in process: reads come from the local replica, writes go to the leader.
// Kill any instance, the leader included, and the others keep answering.
//
//   node examples/embedded-service.mjs                 (a demo: starts 3 instances and kills the leader)
//   node examples/embedded-service.mjs --id 1 --peers 1=127.0.0.1:2888:2181,2=...,3=... \
//        --data /var/lib/svc-1 --http 8081 --secret-file /etc/svc/quorum.secret
//                                                     (one instance, as a deployment runs it)
//
// Peer links authenticate with the shared secret in --secret-file (at least 16 bytes, the
// same file on every instance); TLS is the other choice (quorumSecurity.tls).
//
// Endpoints: GET /health (the peer's status), GET /config, PUT /config (body: the new value).
// SIGTERM or SIGINT close the peer gracefully: a leader hands leadership over first.
// (startEnsemble, used by the other examples, is the other shape: a whole ensemble inside one
// process, in memory, for tests and demos.)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ExponentialBackoffRetry, utf8, ZabError } from '@zabkit/client';
import { jsonLogger, startPeer } from '@zabkit/server';

const { values } = parseArgs({
  options: {
    id: { type: 'string' },
    peers: { type: 'string' },
    data: { type: 'string' },
    http: { type: 'string' },
    'secret-file': { type: 'string' },
    'tick-time': { type: 'string', default: '200' },
  },
});

if (values.id === undefined) await demo();
else await instance();

/** One instance of the service: its peer, its in-process client and its HTTP endpoints. */
async function instance() {
  const id = Number(values.id);
  // "1=host:peerPort:clientPort,2=...": the same list on every instance.
  const peers = values.peers.split(',').map((entry) => {
    const [memberId, address] = entry.split('=');
    const [host, port, clientPort] = address.split(':');
    return { id: Number(memberId), host, port: Number(port), clientPort: Number(clientPort) };
  });
  const peer = await startPeer({
    id,
    peers,
    dataDir: values.data,
    tickTime: Number(values['tick-time']),
    ...(values['secret-file'] === undefined ? {} : { quorumSecurity: { secretFile: values['secret-file'] } }),
    log: jsonLogger('warn'),
  });
  peer.on('role', ({ role }) => console.log(`instance ${id}: ${role}`));
  peer.on('change', (change) => {
    if (change.kind === 'closed') console.log(`instance ${id}: closed (${change.departure})`);
  });
  peer.on('fatal', (error) => {
    console.error(`instance ${id}: ${error.message}`);
    process.exit(1);
  });
  await peer.ready();
  // Writes retry through a leader change; reads are answered by this instance's replica.
  const zk = await peer.client({
    sessionTimeoutMs: 10_000,
    retryPolicy: new ExponentialBackoffRetry(100, 10, 1000),
  });
  await zk.create('/service/config', 'initial', { createParents: true }).catch((error) => {
    if (!(error instanceof ZabError && error.is('NodeExists'))) throw error;
  });

  const http = createServer(async (request, response) => {
    const reply = (status, body) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify(body, (_key, value) => (typeof value === 'bigint' ? String(value) : value)),
      );
    };
    try {
      if (request.url === '/health') {
        const status = peer.status();
        reply(status.serving ? 200 : 503, { ...status, fatal: status.fatal?.message });
      } else if (request.url === '/config' && request.method === 'GET') {
        const { data, stat } = await zk.getData('/service/config', { codec: utf8, timeoutMs: 5000 });
        reply(200, { instance: id, value: data, version: stat.version });
      } else if (request.url === '/config' && request.method === 'PUT') {
        let body = '';
        for await (const chunk of request) body += chunk;
        // A compare-and-set loop: safe to retry through a leader change, applied once.
        const { stat } = await zk.update('/service/config', () => body, { codec: utf8, timeoutMs: 10_000 });
        reply(200, { instance: id, value: body, version: stat.version });
      } else {
        reply(404, { error: 'not found' });
      }
    } catch (error) {
      reply(503, { instance: id, error: String(error) });
    }
  });
  await new Promise((resolve) => http.listen(Number(values.http ?? 0), '127.0.0.1', resolve));
  console.log(`ready ${id} http://127.0.0.1:${http.address().port}`);

  const stop = async () => {
    http.close();
    await zk.close().catch(() => undefined);
    await peer.close(); // a leader hands leadership over before it goes
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Starts three instances as separate processes, kills the leader, and shows the rest answering. */
async function demo() {
  const root = await mkdtemp(join(tmpdir(), 'zabkit-embedded-service-'));
  const secretFile = join(root, 'quorum.secret');
  await writeFile(secretFile, randomBytes(32).toString('base64'), { mode: 0o600 });
  const ports = await Promise.all(Array.from({ length: 9 }, freePort));
  const peers = [1, 2, 3].map((id) => `${id}=127.0.0.1:${ports[id - 1]}:${ports[id + 2]}`).join(',');
  const children = new Map();
  const start = (id) =>
    new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          fileURLToPath(import.meta.url),
          ...['--id', String(id), '--peers', peers, '--data', join(root, `instance-${id}`)],
          ...['--http', String(ports[id + 5]), '--secret-file', secretFile],
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      children.set(id, child);
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (text) => {
        if (text.includes(`ready ${id}`)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`instance ${id} exited with ${code}`)));
    });
  const url = (id, path) => `http://127.0.0.1:${ports[id + 5]}${path}`;
  const ask = async (id, path, init) => (await fetch(url(id, path), init)).json();
  try {
    await Promise.all([1, 2, 3].map(start));
    const roles = async (ids) => Promise.all(ids.map(async (id) => [id, (await ask(id, '/health')).role]));
    console.log('instances:', (await roles([1, 2, 3])).map(([id, role]) => `${id} ${role}`).join(', '));
    await ask(1, '/config', { method: 'PUT', body: 'retries=5' });
    const leader = (await roles([1, 2, 3])).find(([, role]) => role === 'leading')[0];
    children.get(leader).kill('SIGKILL');
    console.log(`killed instance ${leader}, the leader`);
    const survivors = [1, 2, 3].filter((id) => id !== leader);
    const answer = await ask(survivors[0], '/config', { method: 'PUT', body: 'retries=7' });
    console.log(`instance ${answer.instance} took a write after the leader died: ${answer.value}`);
    for (const id of survivors) console.log(`instance ${id} answers: ${(await ask(id, '/config')).value}`);
  } finally {
    for (const child of children.values()) child.kill('SIGKILL');
    await rm(root, { recursive: true, force: true });
  }
}

async function freePort() {
  const server = createTcpServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}
