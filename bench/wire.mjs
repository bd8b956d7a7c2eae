// zabkit wire bench: drives servers over the ZooKeeper wire protocol and compares zabkit with
// Apache ZooKeeper 3.8 (Debian's package, where installed) in the same run: standalone and as
// 3-server ensembles of separate processes.
//
//   npm run bench:wire                       # table; add -- --json for JSON
//   npm run bench:wire -- --ops 20000 --targets zabkit,zookeeper --topologies 1,3 --modes durable,memory
//   npm run bench:wire -- --client node-zookeeper-client
//   npm run bench:wire -- --topologies 3 --quorum plain,secret,tls   # the cost of quorum security
//   npm run bench:wire -- --tls              # the client port over plain TCP and over TLS
//
// The pipelined load comes from separate processes. By default they run a lean pipelining
// client (wire-worker-raw.mjs) that costs little CPU, so that on a small machine the servers,
// not the load generator, set the pace; `--client node-zookeeper-client` drives them the way
// a Node application would instead. One-at-a-time, watch and setup calls always go through
// node-zookeeper-client.
//
// Like with like: in `durable` mode zabkit writes to LevelDB with fsync and group commit and
// ZooKeeper runs with its default forceSync=yes; in `memory` mode zabkit keeps its data in
// memory and ZooKeeper runs with forceSync=no. The output says which is which.
//
// `--tls` measures each server twice, over its plain client port and over a TLS one
// (secureClientPort with ssl.clientAuth=none and an EC P-256 certificate; ZooKeeper through
// NettyServerCnxnFactory, as it requires), with the lean client (node-zookeeper-client speaks
// no TLS). One-at-a-time creates then also go through the lean client, on both; the watch row
// is measured over plain TCP only.
//
// `--quorum` secures the peer links of 3-server ensembles: `secret` is zabkit's quorum secret
// (zabkit.quorum.secretFile) and ZooKeeper's quorum SASL DIGEST-MD5 (a JAAS file), each a
// handshake when a link opens; `tls` is quorum TLS on both (sslQuorum=true), with a CA and a
// certificate made with openssl (and a trust store made with keytool for ZooKeeper).
import { execFileSync, fork, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import zookeeper from 'node-zookeeper-client';
import { fourLetterWord, freePort } from './support/net.mjs';

const zabkitCli = fileURLToPath(new URL('../packages/server/dist/cli.js', import.meta.url));
const zookeeperJar = '/usr/share/java/zookeeper.jar';
// Extra node flags for the zabkit servers, e.g. ZABKIT_BENCH_NODE_ARGS=--cpu-prof to profile them.
const serverNodeArgs = (process.env.ZABKIT_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
// ZABKIT_BENCH_SERVER_LOGS=1 shows the servers' warnings and errors (ZooKeeper's too).
const serverLogs = process.env.ZABKIT_BENCH_SERVER_LOGS === '1';

/** The load processes' code, by the client they drive the servers with. */
const loadWorkers = {
  raw: './wire-worker-raw.mjs',
  'node-zookeeper-client': './wire-worker.mjs',
};

function parseArgs(argv) {
  const args = {
    json: false,
    ops: 20_000,
    latencyOps: 2_000,
    watchOps: 500,
    warmupOps: 5_000,
    concurrency: 256,
    clients: 4,
    processes: 2,
    valueBytes: 100,
    targets: ['zabkit', 'zookeeper'],
    topologies: [1, 3],
    modes: ['durable', 'memory'],
    client: 'raw',
    quorum: ['plain'],
    clientPorts: ['plain'],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') args.json = true;
    else if (arg === '--ops') args.ops = Number(argv[++i]);
    else if (arg === '--latency-ops') args.latencyOps = Number(argv[++i]);
    else if (arg === '--watch-ops') args.watchOps = Number(argv[++i]);
    else if (arg === '--warmup-ops') args.warmupOps = Number(argv[++i]);
    else if (arg === '--concurrency') args.concurrency = Number(argv[++i]);
    else if (arg === '--clients') args.clients = Number(argv[++i]);
    else if (arg === '--processes') args.processes = Number(argv[++i]);
    else if (arg === '--value-bytes') args.valueBytes = Number(argv[++i]);
    else if (arg === '--targets') args.targets = argv[++i].split(',');
    else if (arg === '--topologies') args.topologies = argv[++i].split(',').map(Number);
    else if (arg === '--modes') args.modes = argv[++i].split(',');
    else if (arg === '--client') args.client = argv[++i];
    else if (arg === '--quorum') args.quorum = argv[++i].split(',');
    else if (arg === '--tls') args.clientPorts = ['plain', 'tls'];
    else throw new Error(`unknown argument ${arg}`);
  }
  for (const key of [
    'ops',
    'latencyOps',
    'watchOps',
    'warmupOps',
    'concurrency',
    'clients',
    'processes',
    'valueBytes',
  ]) {
    if (!Number.isInteger(args[key]) || args[key] <= 0)
      throw new Error(`--${key} must be a positive integer`);
  }
  for (const target of args.targets)
    if (!['zabkit', 'zookeeper'].includes(target)) throw new Error(`unknown target ${target}`);
  if (!(args.client in loadWorkers)) throw new Error(`clients are ${Object.keys(loadWorkers).join(' and ')}`);
  for (const size of args.topologies) if (size !== 1 && size !== 3) throw new Error('topologies are 1 and 3');
  for (const mode of args.modes)
    if (mode !== 'durable' && mode !== 'memory') throw new Error('modes are durable and memory');
  for (const quorum of args.quorum)
    if (!['plain', 'secret', 'tls'].includes(quorum)) throw new Error('quorum is plain, secret or tls');
  if (args.clientPorts.includes('tls') && args.client !== 'raw')
    throw new Error('--tls needs the lean client: node-zookeeper-client speaks no TLS');
  return args;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const storePassword = 'bench-store-password';
const quorumSecret = 'a bench quorum secret of some length';

/** A CA and one certificate for 127.0.0.1 (every bench server listens there), in the stores each target reads. */
function makeStores(dir) {
  const run = (tool, args) => execFileSync(tool, args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  run('openssl', ['genpkey', ...ec, '-out', 'ca.key']);
  run('openssl', [
    'req',
    '-x509',
    '-new',
    '-key',
    'ca.key',
    '-subj',
    '/CN=bench CA',
    '-days',
    '2',
    '-out',
    'ca.pem',
  ]);
  run('openssl', ['genpkey', ...ec, '-out', 'server.key']);
  run('openssl', ['req', '-new', '-key', 'server.key', '-subj', '/CN=bench server', '-out', 'server.csr']);
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth, clientAuth\nkeyUsage = digitalSignature\n',
  );
  run('openssl', [
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
    'server.ext',
    '-out',
    'server.pem',
  ]);
  run('openssl', [
    'pkcs12',
    '-export',
    '-in',
    'server.pem',
    '-inkey',
    'server.key',
    '-out',
    'server.p12',
    '-passout',
    `pass:${storePassword}`,
  ]);
  // Java reads only trust entries keytool marks as such.
  run('keytool', [
    '-importcert',
    '-noprompt',
    '-storetype',
    'PKCS12',
    '-keystore',
    'trust.p12',
    '-storepass',
    storePassword,
    '-alias',
    'ca',
    '-file',
    'ca.pem',
  ]);
  writeFileSync(join(dir, 'quorum-secret'), `${quorumSecret}\n`, { mode: 0o600 });
  writeFileSync(
    join(dir, 'jaas.conf'),
    [
      'QuorumServer {',
      '  org.apache.zookeeper.server.auth.DigestLoginModule required',
      `  user_bench="${quorumSecret}";`,
      '};',
      'QuorumLearner {',
      '  org.apache.zookeeper.server.auth.DigestLoginModule required',
      '  username="bench"',
      `  password="${quorumSecret}";`,
      '};',
      '',
    ].join('\n'),
  );
}

/** zoo.cfg lines that secure the peer links of `target` with `quorum`. */
function quorumLines(target, quorum, dir) {
  if (quorum === 'plain') return [];
  if (quorum === 'secret') {
    return target === 'zabkit'
      ? [`zabkit.quorum.secretFile=${join(dir, 'quorum-secret')}`]
      : [
          'quorum.auth.enableSasl=true',
          'quorum.auth.learnerRequireSasl=true',
          'quorum.auth.serverRequireSasl=true',
          'quorum.auth.learner.saslLoginContext=QuorumLearner',
          'quorum.auth.server.saslLoginContext=QuorumServer',
        ];
  }
  return [
    'sslQuorum=true',
    `ssl.quorum.keyStore.location=${join(dir, 'server.p12')}`,
    `ssl.quorum.keyStore.password=${storePassword}`,
    'ssl.quorum.keyStore.type=PKCS12',
    ...(target === 'zabkit'
      ? [`ssl.quorum.trustStore.location=${join(dir, 'ca.pem')}`]
      : [
          `ssl.quorum.trustStore.location=${join(dir, 'trust.p12')}`,
          `ssl.quorum.trustStore.password=${storePassword}`,
          'ssl.quorum.trustStore.type=PKCS12',
        ]),
  ];
}

/** The Netty jars ZooKeeper's TLS client port needs beside the ones its jar names. */
const nettyJars = [
  'netty-buffer',
  'netty-codec',
  'netty-common',
  'netty-handler',
  'netty-resolver',
  'netty-transport',
  'netty-transport-native-epoll',
  'netty-transport-native-unix-common',
].map((name) => `/usr/share/java/${name}.jar`);

/** zoo.cfg lines for a TLS client port on `port`: server certificate only, as HTTPS. */
function clientTlsLines(target, port, dir) {
  return [
    `secureClientPort=${port}`,
    'secureClientPortAddress=127.0.0.1',
    `ssl.keyStore.location=${join(dir, 'server.p12')}`,
    `ssl.keyStore.password=${storePassword}`,
    'ssl.keyStore.type=PKCS12',
    'ssl.clientAuth=none',
    // ZooKeeper's TLS needs its Netty connection factory; zabkit accepts the key and needs none.
    ...(target === 'zookeeper'
      ? ['serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory']
      : []),
  ];
}

/** Starts `size` server processes of `target`; resolves once every one serves. */
async function startCluster(target, size, mode, quorum, clientPort = 'plain') {
  const dir = mkdtempSync(join(tmpdir(), `zabkit-bench-${target}-`));
  const secured = size > 1 && quorum !== 'plain';
  const clientTls = clientPort === 'tls';
  if (secured || clientTls) makeStores(dir);
  const ports = [];
  for (let i = 0; i < size * 4; i++) ports.push(await freePort());
  const serverLines =
    size === 1
      ? []
      : Array.from(
          { length: size },
          (_v, i) => `server.${i + 1}=127.0.0.1:${ports[i * 3]}:${ports[i * 3 + 1]}`,
        );
  const members = [];
  for (let id = 1; id <= size; id++) {
    const dataDir = join(dir, `data${id}`);
    mkdirSync(dataDir, { recursive: true });
    if (size > 1) writeFileSync(join(dataDir, 'myid'), `${id}\n`);
    const clientPort = ports[(id - 1) * 3 + 2];
    const securePort = ports[size * 3 + id - 1];
    const lines = [
      'tickTime=2000',
      'initLimit=10',
      'syncLimit=5',
      `dataDir=${dataDir}`,
      `clientPort=${clientPort}`,
      'clientPortAddress=127.0.0.1',
      '4lw.commands.whitelist=*',
      'maxClientCnxns=0',
      ...serverLines,
      ...(secured ? quorumLines(target, quorum, dir) : []),
      ...(clientTls ? clientTlsLines(target, securePort, dir) : []),
    ];
    if (target === 'zookeeper')
      lines.push(`forceSync=${mode === 'durable' ? 'yes' : 'no'}`, 'admin.enableServer=false');
    const cfg = join(dir, `zoo${id}.cfg`);
    writeFileSync(cfg, `${lines.join('\n')}\n`);
    const child =
      target === 'zabkit'
        ? spawn(
            process.execPath,
            [
              ...serverNodeArgs,
              zabkitCli,
              'server',
              '--config',
              cfg,
              '--log-level',
              'warn',
              '--storage',
              mode === 'durable' ? 'level' : 'memory',
            ],
            { stdio: ['ignore', 'ignore', serverLogs ? 'inherit' : 'ignore'] },
          )
        : spawn(
            'java',
            [
              '-cp',
              [`/etc/zookeeper/conf:${zookeeperJar}`, ...(clientTls ? nettyJars : [])].join(':'),
              `-Dzookeeper.log.dir=${dir}`,
              ...(secured && quorum === 'secret'
                ? [`-Djava.security.auth.login.config=${join(dir, 'jaas.conf')}`]
                : []),
              '-Dzookeeper.root.logger=WARN,CONSOLE',
              'org.apache.zookeeper.server.quorum.QuorumPeerMain',
              cfg,
            ],
            { stdio: ['ignore', 'ignore', serverLogs ? 'inherit' : 'ignore'] },
          );
    members.push({ id, clientPort, securePort, child });
  }
  const started = Date.now();
  for (;;) {
    const modes = await Promise.all(
      members.map(async (member) => /Mode: (\w+)/.exec(await fourLetterWord(member.clientPort, 'srvr'))?.[1]),
    );
    if (modes.every((mode) => mode !== undefined && mode !== 'looking')) break;
    if (Date.now() - started > 60_000) {
      // Never leave servers behind: a run that cannot start them stops them.
      for (const member of members) member.child.kill('SIGKILL');
      await sleep(200);
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`${target} x${size} did not start: ${modes}`);
    }
    await sleep(200);
  }
  return {
    connectString: members.map((member) => `127.0.0.1:${member.clientPort}`).join(','),
    secureConnectString: members.map((member) => `127.0.0.1:${member.securePort}`).join(','),
    /** The CA a TLS client trusts, when the servers have a TLS client port. */
    ca: clientTls ? readFileSync(join(dir, 'ca.pem'), 'utf8') : undefined,
    members,
    async stop() {
      // SIGTERM first, so that a profiled server writes its profile; then make sure.
      for (const member of members) member.child.kill('SIGTERM');
      await sleep(500);
      for (const member of members) member.child.kill('SIGKILL');
      await sleep(200);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

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

const call = (client, method, ...args) =>
  new Promise((resolve, reject) =>
    client[method](...args, (error, result) => (error ? reject(error) : resolve(result))),
  );

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** `total` operations over `clients`, at most `concurrency` in flight. */
async function measure(total, concurrency, clients, operation) {
  const latencies = new Float64Array(total);
  let next = 0;
  const started = process.hrtime.bigint();
  const worker = async (w) => {
    const client = clients[w % clients.length];
    for (;;) {
      const index = next++;
      if (index >= total) return;
      const t0 = process.hrtime.bigint();
      await operation(client, index);
      latencies[index] = Number(process.hrtime.bigint() - t0) / 1e6;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, (_v, i) => worker(i)));
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  return {
    opsPerSec: Math.round((total / elapsedMs) * 1000),
    p50Ms: +percentile(sorted, 50).toFixed(3),
    p99Ms: +percentile(sorted, 99).toFixed(3),
  };
}

/**
 * Waits until `path` exists as `client`'s server sees it. A follower applies commits a little
 * after the leader answered the writer: a client on another server that reads at once may not
 * see the write yet (ZooKeeper's consistency, not a fault), so a phase that reads what an
 * earlier phase wrote waits for this first.
 */
async function waitVisible(client, path) {
  const started = Date.now();
  while (!(await call(client, 'exists', path))) {
    if (Date.now() - started > 30_000) throw new Error(`${path} not visible after 30 s`);
    await sleep(5);
  }
}

/** Time from a setData's send to the watch event at another client, one change at a time. */
async function watchLatency(writer, watcher, count) {
  await call(writer, 'create', '/bench-watch', Buffer.alloc(1));
  await waitVisible(watcher, '/bench-watch');
  const samples = [];
  for (let i = 0; i < count; i++) {
    let fired;
    const event = new Promise((resolve) => {
      fired = resolve;
    });
    await call(watcher, 'getData', '/bench-watch', () => fired(process.hrtime.bigint()));
    const t0 = process.hrtime.bigint();
    await call(writer, 'setData', '/bench-watch', Buffer.alloc(1), -1);
    samples.push(Number((await event) - t0) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return {
    opsPerSec: 0,
    p50Ms: +percentile(samples, 50).toFixed(3),
    p99Ms: +percentile(samples, 99).toFixed(3),
  };
}

/** Load processes, each with its own sessions: the client side gets every core it can use. */
async function startLoad(args, connectString, tls) {
  const workers = Array.from({ length: args.processes }, () =>
    fork(fileURLToPath(new URL(loadWorkers[args.client], import.meta.url)), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  // A load process that dies or stalls fails the run instead of hanging the bench.
  const ask = (worker, message) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new Error(`load process: no answer to ${message.kind} in 180 s`)),
        180_000,
      );
      const onExit = (code) => fail(new Error(`load process exited (${code}) during ${message.kind}`));
      const done = () => {
        clearTimeout(timer);
        worker.off('exit', onExit);
      };
      const fail = (error) => {
        done();
        worker.off('message', onMessage);
        reject(error);
      };
      const onMessage = (reply) => {
        done();
        if (reply.kind === 'error') reject(new Error(reply.message));
        else resolve(reply);
      };
      worker.once('message', onMessage);
      worker.once('exit', onExit);
      worker.send(message);
    });
  const perProcess = Math.max(1, Math.ceil(args.clients / args.processes));
  await Promise.all(
    workers.map((worker, i) =>
      ask(worker, { kind: 'connect', connectString, clients: perProcess, offset: i * perProcess, tls }),
    ),
  );
  return {
    /** `total` operations split over the processes, `concurrency` in flight overall. */
    async run(op, prefix, total, concurrency = args.concurrency) {
      // Fewer in flight than processes: only that many processes take part.
      const used = workers.slice(0, Math.min(workers.length, concurrency));
      const share = Math.ceil(total / used.length);
      const started = process.hrtime.bigint();
      const replies = await Promise.all(
        used.map((worker, i) =>
          ask(worker, {
            kind: 'run',
            op,
            prefix,
            from: i * share,
            count: Math.max(0, Math.min(share, total - i * share)),
            concurrency: Math.ceil(concurrency / used.length),
            valueBytes: args.valueBytes,
          }),
        ),
      );
      const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
      const sorted = replies.flatMap((reply) => reply.latencies).sort((a, b) => a - b);
      return {
        opsPerSec: Math.round((total / elapsedMs) * 1000),
        p50Ms: +percentile(sorted, 50).toFixed(3),
        p99Ms: +percentile(sorted, 99).toFixed(3),
      };
    },
    /** Resolves once `path` exists for every load session, on whichever server it is on. */
    async catchUp(path) {
      await Promise.all(workers.map((worker) => ask(worker, { kind: 'catchUp', path })));
    },
    close() {
      for (const worker of workers) worker.send({ kind: 'close' });
    },
  };
}

async function benchTarget(args, target, size, mode, quorum, clientPort) {
  const cluster = await startCluster(target, size, mode, quorum, clientPort);
  const tls = clientPort === 'tls';
  try {
    const clients = [await connectClient(cluster.connectString), await connectClient(cluster.connectString)];
    const value = Buffer.alloc(args.valueBytes, 120);
    await call(clients[0], 'create', '/bench', Buffer.alloc(0));
    await call(clients[0], 'create', '/warm', Buffer.alloc(0));
    const load = tls
      ? await startLoad(args, cluster.secureConnectString, { ca: cluster.ca })
      : await startLoad(args, cluster.connectString, undefined);
    // Before reading what was written, every load session's server has applied it: a marker
    // created after the writes is visible there (servers apply in zxid order).
    let markers = 0;
    const catchUp = async () => {
      const marker = `/bench-caught-up-${markers++}`;
      await call(clients[0], 'create', marker, Buffer.alloc(0));
      await load.catchUp(marker);
    };
    // Warm up both servers (the JVM's JIT above all) before measuring anything.
    await load.run('create', '/warm/w', args.warmupOps);
    await load.run('setData', '/warm/w', args.warmupOps);
    await catchUp();
    await load.run('getData', '/warm/w', args.warmupOps);
    const results = {};
    // With --tls, one at a time goes through the lean client on both client ports, to compare them.
    results['create (one at a time)'] = args.clientPorts.includes('tls')
      ? await load.run('create', '/bench/l', args.latencyOps, 1)
      : await measure(args.latencyOps, 1, clients, (client, i) =>
          call(client, 'create', `/bench/l${i}`, value),
        );
    results['create (pipelined)'] = await load.run('create', '/bench/p', args.ops);
    results['setData (pipelined)'] = await load.run('setData', '/bench/p', args.ops);
    await catchUp();
    results['getData (pipelined)'] = await load.run('getData', '/bench/p', args.ops);
    if (!tls) results['watch notification'] = await watchLatency(clients[0], clients[1], args.watchOps);
    load.close();
    for (const client of clients) client.close();
    return results;
  } finally {
    await cluster.stop();
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const haveZooKeeper = existsSync(zookeeperJar);
  const targets = args.targets.filter((target) => target !== 'zookeeper' || haveZooKeeper);
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
  const notes = [
    args.client === 'raw'
      ? `client: a lean pipelining client (bench/raw-session.mjs: frames from @zabkit/wire over node:net, reply headers only) in separate load processes on the same machine (the servers share its ${cpus().length} cores)`
      : `client: node-zookeeper-client 1.1.3 in separate load processes on the same machine (the servers share its ${cpus().length} cores); its own CPU cost weighs on both servers' figures`,
    `data: ${args.valueBytes} bytes; pipelined = up to ${args.concurrency} requests outstanding over ${args.clients} sessions in ${args.processes} load processes`,
    `every server is warmed up with ${args.warmupOps} creates, setData and getData before measuring`,
    'durable: zabkit on LevelDB, fsync per synced batch, group commit; ZooKeeper 3.8 with forceSync=yes (its default)',
    'memory: zabkit with --storage memory; ZooKeeper with forceSync=no',
  ];
  if (args.quorum.some((quorum) => quorum !== 'plain'))
    notes.push(
      'quorum (3 servers only): plain TCP; secret = zabkit.quorum.secretFile vs ZooKeeper quorum SASL DIGEST-MD5; tls = sslQuorum on both (EC P-256 certificates)',
    );
  if (args.clientPorts.includes('tls'))
    notes.push(
      'client port: plain TCP, and TLS (secureClientPort, ssl.clientAuth=none, EC P-256 certificate; ZooKeeper with NettyServerCnxnFactory); one at a time through the lean client on both',
    );
  if (!haveZooKeeper)
    notes.push('Apache ZooKeeper is not installed (apt-get install zookeeper): zabkit only');
  const runs = [];
  const quorumsFor = (size) => (size === 1 ? ['plain'] : args.quorum);
  for (const mode of args.modes) {
    for (const size of args.topologies) {
      for (const quorum of quorumsFor(size)) {
        for (const clientPort of args.clientPorts) {
          for (const target of targets) {
            try {
              const results = await benchTarget(args, target, size, mode, quorum, clientPort);
              runs.push({ mode, target, servers: size, quorum, clientPort, results });
            } catch (error) {
              // A secured ZooKeeper that will not start is a finding, not a reason to lose the run.
              if (target !== 'zookeeper' || (quorum === 'plain' && clientPort === 'plain')) throw error;
              notes.push(
                `${target} x${size} ${mode} with quorum ${quorum}, client port ${clientPort}: ${error.message}`,
              );
            }
          }
        }
      }
    }
  }
  const rows = [];
  for (const mode of args.modes) {
    for (const size of args.topologies) {
      for (const quorum of quorumsFor(size)) {
        for (const clientPort of args.clientPorts) {
          const find = (target) =>
            runs.find(
              (run) =>
                run.mode === mode &&
                run.target === target &&
                run.servers === size &&
                run.quorum === quorum &&
                run.clientPort === clientPort,
            );
          const zab = find('zabkit');
          const zk = find('zookeeper');
          for (const op of Object.keys((zab ?? zk)?.results ?? {})) {
            const a = zab?.results[op];
            const b = zk?.results[op];
            rows.push({
              mode,
              servers: size,
              quorum,
              clientPort,
              op,
              zabkit: a,
              zookeeper: b,
              throughputRatio:
                a && b && b.opsPerSec > 0 ? +(a.opsPerSec / b.opsPerSec).toFixed(2) : undefined,
              p99Ratio: a && b && b.p99Ms > 0 ? +(a.p99Ms / b.p99Ms).toFixed(2) : undefined,
            });
          }
        }
      }
    }
  }
  if (args.json) {
    console.log(JSON.stringify({ machine, notes, rows }, null, 2));
    return;
  }
  console.log(`machine: ${machine.cpu} x${machine.cores}, ${machine.memoryGiB} GiB, node ${machine.node}`);
  for (const note of notes) console.log(`note: ${note}`);
  const fmt = (r) =>
    r === undefined ? '-' : `${r.opsPerSec ? `${r.opsPerSec}/s ` : ''}p50 ${r.p50Ms} p99 ${r.p99Ms}`;
  console.table(
    rows.map((row) => ({
      mode: row.mode,
      servers: row.servers,
      ...(args.quorum.some((quorum) => quorum !== 'plain') ? { quorum: row.quorum } : {}),
      ...(args.clientPorts.length > 1 ? { 'client port': row.clientPort } : {}),
      operation: row.op,
      zabkit: fmt(row.zabkit),
      zookeeper: fmt(row.zookeeper),
      'throughput x': row.throughputRatio ?? '-',
      'p99 x': row.p99Ratio ?? '-',
    })),
  );
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
