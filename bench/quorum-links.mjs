// zabkit quorum link bench: what peer authentication costs a link, without consensus on top.
// Two TcpTransport endpoints on loopback, plain, with the quorum secret, and with TLS:
// - link setup: from start() until both directions are up (TCP, TLS and the handshake);
// - throughput: a stream of small proposals-sized messages one way, until all arrive.
//
//   npm run build && node bench/quorum-links.mjs [--links 100] [--messages 200000] [--json]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { TcpTransport } from '../packages/transport-tcp/dist/index.js';

function parseArgs(argv) {
  const args = { links: 100, messages: 200_000, json: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--links') args.links = Number(argv[++i]);
    else if (argv[i] === '--messages') args.messages = Number(argv[++i]);
    else if (argv[i] === '--json') args.json = true;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return args;
}

/** A CA and a certificate for 127.0.0.1, made with openssl. */
function makeTls(dir) {
  const run = (args) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  run(['genpkey', ...ec, '-out', 'ca.key']);
  run(['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=bench CA', '-days', '2', '-out', 'ca.pem']);
  run(['genpkey', ...ec, '-out', 'server.key']);
  run(['req', '-new', '-key', 'server.key', '-subj', '/CN=bench', '-out', 'server.csr']);
  writeFileSync(
    join(dir, 'ext'),
    'subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth, clientAuth\n',
  );
  run([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-days',
    '2',
    '-set_serial',
    '2',
    '-extfile',
    'ext',
    '-out',
    'server.pem',
  ]);
  const read = (name) => readFileSync(join(dir, name), 'utf8');
  return { key: read('server.key'), cert: read('server.pem'), ca: read('ca.pem') };
}

const until = async (condition) => {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
};

async function pair(security) {
  const endpoints = [1, 2].map(
    (serverId) =>
      new TcpTransport({
        serverId,
        listen: { host: '127.0.0.1', port: 0 },
        security,
        reconnect: { initialMs: 5, maxMs: 50 },
      }),
  );
  const started = performance.now();
  const addresses = await Promise.all(endpoints.map((endpoint) => endpoint.start()));
  endpoints[0].setPeer(2, addresses[1]);
  endpoints[1].setPeer(1, addresses[0]);
  await until(() => endpoints[0].isLinkUp(2) && endpoints[1].isLinkUp(1));
  return { endpoints, setupMs: performance.now() - started };
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

async function benchMode(args, security) {
  const setups = [];
  for (let i = 0; i < args.links; i++) {
    const { endpoints, setupMs } = await pair(security);
    setups.push(setupMs);
    await Promise.all(endpoints.map((endpoint) => endpoint.shutdown()));
  }
  setups.sort((a, b) => a - b);
  const { endpoints } = await pair(security);
  let received = 0;
  endpoints[1].listen({ message: () => received++, linkDown: () => {} });
  endpoints[0].listen({ message: () => {}, linkDown: () => {} });
  // An ack-sized message: what a follower sends per proposal.
  const ack = { kind: 'ack', epoch: 3, zxid: (3n << 32n) | 1n };
  const started = performance.now();
  for (let sent = 0; sent < args.messages; ) {
    for (let i = 0; i < 1000 && sent < args.messages; i++, sent++) endpoints[0].send(2, ack);
    // Let the batch leave and keep the queue under its bound, as a real sender would.
    await until(() => received >= sent - 20_000);
  }
  await until(() => received === args.messages);
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(endpoints.map((endpoint) => endpoint.shutdown()));
  return {
    setupMsP50: +percentile(setups, 0.5).toFixed(2),
    setupMsP99: +percentile(setups, 0.99).toFixed(2),
    messagesPerSec: Math.round(args.messages / seconds),
  };
}

const args = parseArgs(process.argv.slice(2));
const dir = mkdtempSync(join(tmpdir(), 'zabkit-quorum-bench-'));
try {
  const tls = makeTls(dir);
  const secret = new TextEncoder().encode('a bench quorum secret of some length');
  const modes = { plain: {}, secret: { secret }, tls: { tls }, 'tls+secret': { tls, secret } };
  const results = {};
  for (const [name, security] of Object.entries(modes)) results[name] = await benchMode(args, security);
  if (args.json)
    console.log(JSON.stringify({ cpu: cpus()[0]?.model, cores: cpus().length, args, results }, null, 2));
  else {
    console.log(
      `machine: ${cpus()[0]?.model} x${cpus().length}, node ${process.version}; ${args.links} link setups, ${args.messages} ack messages one way`,
    );
    console.table(results);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
