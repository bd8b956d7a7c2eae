// zabkit step-cost bench: what one ZabPeer step costs, measured so that a shared, loaded
// machine spoils it little. Three peers of @zabkit/core run in one process over a synchronous
// in-memory network (no I/O, no timers, no event loop): one client writes one request at a
// time, and every peer.stepAll call is timed on its own. A step never waits, so its wall time
// is CPU time unless the thread was preempted during it; the per-round medians and the minimum
// over rounds leave preemption out. The thread's CPU time (process.threadCpuUsage) per
// operation is printed beside it: every step of every peer plus this harness.
//
//   node bench/step-cost.mjs                       # this tree's core, as a table
//   node bench/step-cost.mjs --json
//   node bench/step-cost.mjs --tree /work/wt/other --label other   # another worktree's build
//   node bench/step-cost.mjs --ops 4000 --rounds 7 --value-bytes 100
//   node bench/step-cost.mjs --objects               # messages handed over as objects
//   node bench/step-cost.mjs --level core            # or driver; default both
//   node bench/step-cost.mjs --no-metrics            # the driver level without ServerMetrics
//
// `--tree` points at another built worktree (an older commit's): the bench speaks both the
// API before the core consolidation (step(input) with the time in a tick) and the one after it
// (stepAll(inputs, clock), status()). Every message goes through that tree's peer codec
// (encoded, then decoded by its recipient), as over TCP, so that a step handles what a real
// one does (data that is a view into a received frame, say); the codec's own time is outside
// the steps but inside cpu/op. `--objects` hands the sender's objects over instead.
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

function parseArgs(argv) {
  const args = {
    json: false,
    tree: undefined,
    objects: false,
    label: undefined,
    ops: 3000,
    warmupOps: 3000,
    rounds: 5,
    valueBytes: 100,
    servers: 3,
    level: 'all',
    metrics: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') args.json = true;
    else if (arg === '--tree') args.tree = argv[++i];
    else if (arg === '--objects') args.objects = true;
    else if (arg === '--level') args.level = argv[++i];
    else if (arg === '--no-metrics') args.metrics = false;
    else if (arg === '--label') args.label = argv[++i];
    else if (arg === '--ops') args.ops = Number(argv[++i]);
    else if (arg === '--warmup-ops') args.warmupOps = Number(argv[++i]);
    else if (arg === '--rounds') args.rounds = Number(argv[++i]);
    else if (arg === '--value-bytes') args.valueBytes = Number(argv[++i]);
    else if (arg === '--servers') args.servers = Number(argv[++i]);
    else throw new Error(`unknown argument ${arg}`);
  }
  for (const key of ['ops', 'warmupOps', 'rounds', 'valueBytes', 'servers']) {
    if (!Number.isInteger(args[key]) || args[key] <= 0)
      throw new Error(`--${key} must be a positive integer`);
  }
  if (!['all', 'core', 'driver'].includes(args.level)) throw new Error('--level is all, core or driver');
  return args;
}

/**
 * Drives N peers of one core build. Every input (a message, a durability report, a request)
 * is one event in a FIFO queue and one step of its peer, as a driver that takes each input
 * as it arrives would; durability comes back as its own event after the step that asked for
 * it, as an asynchronous store answers.
 */
class Harness {
  constructor(core, codec, servers) {
    this.core = core;
    /** Set: each message is encoded and decoded on its way, as over a peer link. */
    this.codec = codec;
    // The consolidated core exports the Ready executor and steps with a clock reading.
    this.newApi = typeof core.ReadyPipeline === 'function';
    this.monotonicMs = 1_000_000;
    this.events = [];
    this.outputs = [];
    /** Nanoseconds and counts of the steps each peer took while `timing` is on. */
    this.timing = false;
    this.stepNs = new Map();
    const voters = Array.from({ length: servers }, (_v, i) => i + 1);
    this.peers = new Map();
    for (const id of voters) {
      const options = {
        serverId: id,
        voters,
        observers: [],
        tickTimeMs: 2000,
        electionFinalizeWaitMs: 50,
        electionResendIntervalMs: 100,
        sessionSecret: new Uint8Array(32).fill(7),
        startTimeMs: this.monotonicMs,
      };
      const peer = this.newApi
        ? new core.ZabPeer(options, undefined, this.clock())
        : new core.ZabPeer(options, undefined, this.monotonicMs);
      this.peers.set(id, peer);
      this.stepNs.set(id, []);
    }
    for (const id of voters) this.step(id, this.tickInput());
  }

  clock() {
    return { wallMs: this.monotonicMs, monotonicMs: this.monotonicMs };
  }

  tickInput() {
    return this.newApi ? { kind: 'tick' } : { kind: 'tick', nowMs: this.monotonicMs };
  }

  role(id) {
    const peer = this.peers.get(id);
    if (this.newApi) {
      const status = peer.status();
      return status.serving ? status.role : 'looking';
    }
    return peer.serving ? peer.state : 'looking';
  }

  step(id, input) {
    const peer = this.peers.get(id);
    let ready;
    if (this.timing) {
      const started = process.hrtime.bigint();
      ready = this.newApi ? peer.stepAll([input], this.clock()) : peer.stepAll([input]);
      this.stepNs.get(id).push(Number(process.hrtime.bigint() - started));
    } else {
      ready = this.newApi ? peer.stepAll([input], this.clock()) : peer.stepAll([input]);
    }
    for (const envelope of ready.messages) this.events.push({ to: envelope.to, from: id, envelope });
    // Memory storage: the write is durable as soon as it is carried out; its report and the
    // messages that waited for it follow, in order, after what this step sent at once.
    if (ready.persistSeq > 0) {
      this.events.push({
        to: id,
        persisted: ready.persistSeq,
        after: ready.messagesAfterPersist,
      });
    } else {
      for (const envelope of ready.messagesAfterPersist)
        this.events.push({ to: envelope.to, from: id, envelope });
    }
    for (const output of ready.toClients) this.outputs.push(output);
  }

  /** Delivers one queued event; false when none is left. */
  deliverOne() {
    const event = this.events.shift();
    if (event === undefined) return false;
    if (event.persisted !== undefined) {
      for (const envelope of event.after) this.events.push({ to: envelope.to, from: event.to, envelope });
      this.step(event.to, { kind: 'persistedThrough', seq: event.persisted });
    } else {
      const sent = event.envelope.message;
      const message =
        this.codec === undefined ? sent : this.codec.decodePeerMessage(this.codec.encodePeerMessage(sent));
      this.step(event.to, { kind: 'message', from: event.from, message });
    }
    return true;
  }

  tick(ms) {
    this.monotonicMs += ms;
    for (const id of this.peers.keys()) this.step(id, this.tickInput());
  }

  /** Runs until every peer serves. */
  settle() {
    for (let round = 0; round < 10_000; round++) {
      while (this.deliverOne());
      const roles = [...this.peers.keys()].map((id) => this.role(id));
      if (roles.every((role) => role !== 'looking') && roles.includes('leading')) return;
      this.tick(20);
    }
    throw new Error('the ensemble did not settle');
  }

  leader() {
    return [...this.peers.keys()].find((id) => this.role(id) === 'leading');
  }

  /** Opens a session on `server`. */
  connect(server, connectionId) {
    const request = {
      sessionId: 0n,
      password: new Uint8Array(16),
      timeoutMs: 30_000,
      lastZxidSeen: 0n,
      readOnly: false,
      clientAddress: '127.0.0.1',
    };
    this.step(server, { kind: 'connect', connectionId, request });
    for (let i = 0; i < 10_000; i++) {
      const connected = this.takeOutput(connectionId, 'connected');
      if (connected !== undefined) return connected;
      if (!this.deliverOne()) this.tick(10);
    }
    throw new Error('no session');
  }

  takeOutput(connectionId, kind, xid) {
    const index = this.outputs.findIndex(
      (o) => o.connectionId === connectionId && o.kind === kind && (xid === undefined || o.xid === xid),
    );
    if (index < 0) return undefined;
    return this.outputs.splice(index, 1)[0];
  }

  /** One request, run until it is answered: the time moves on by a millisecond each. */
  request(server, connectionId, xid, request) {
    this.monotonicMs += 1;
    this.step(server, { kind: 'request', connectionId, xid, request });
    for (;;) {
      const reply = this.takeOutput(connectionId, 'reply', xid);
      if (reply !== undefined) {
        if (!reply.reply.ok) throw new Error(`${request.op} failed with code ${reply.reply.code}`);
        this.outputs.length = 0;
        return;
      }
      if (!this.deliverOne()) throw new Error(`${request.op} was never answered`);
    }
  }
}

function median(values) {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const threadCpuUs = () => {
  // Node 23.9 and later: this thread's CPU alone, not the collector's helper threads.
  const usage = typeof process.threadCpuUsage === 'function' ? process.threadCpuUsage() : process.cpuUsage();
  return usage.user + usage.system;
};

/** One workload on one side (`client` on the leader or on a follower), over several rounds. */
function runWorkload(harness, args, workload, clientOn) {
  const leader = harness.leader();
  const follower = [...harness.peers.keys()].find((id) => id !== leader);
  const server = clientOn === 'leader' ? leader : follower;
  const connectionId =
    workload === 'create' ? (clientOn === 'leader' ? 11 : 12) : clientOn === 'leader' ? 13 : 14;
  harness.connect(server, connectionId);
  const value = new Uint8Array(args.valueBytes).fill(120);
  const open = harness.core.Ids.openAclUnsafe;
  const base = `/${workload}-${clientOn}`;
  let xid = 1;
  harness.request(server, connectionId, xid++, {
    op: 'create',
    path: base,
    data: value,
    acl: open,
    mode: 0,
    ttlMs: -1n,
  });
  let next = 0;
  const op = () => {
    const request =
      workload === 'create'
        ? { op: 'create', path: `${base}/n${next++}`, data: value, acl: open, mode: 0, ttlMs: -1n }
        : { op: 'setData', path: base, data: value, version: -1 };
    harness.request(server, connectionId, xid++, request);
    // The leader pings and checks sessions on its ticks, as a server's timer would.
    if (xid % 500 === 0) harness.tick(0);
  };
  for (let i = 0; i < args.warmupOps; i++) op();
  const rounds = [];
  for (let round = 0; round < args.rounds; round++) {
    for (const samples of harness.stepNs.values()) samples.length = 0;
    harness.timing = true;
    const cpuBefore = threadCpuUs();
    for (let i = 0; i < args.ops; i++) op();
    const cpuUs = threadCpuUs() - cpuBefore;
    harness.timing = false;
    const leaderSteps = harness.stepNs.get(leader);
    const followerSteps = harness.stepNs.get(follower);
    const sum = (samples) => samples.reduce((a, b) => a + b, 0);
    rounds.push({
      cpuUsPerOp: cpuUs / args.ops,
      leaderStepUsMedian: median(leaderSteps) / 1000,
      leaderStepsPerOp: leaderSteps.length / args.ops,
      leaderUsPerOp: sum(leaderSteps) / 1000 / args.ops,
      followerStepUsMedian: median(followerSteps) / 1000,
      followerStepsPerOp: followerSteps.length / args.ops,
      followerUsPerOp: sum(followerSteps) / 1000 / args.ops,
    });
  }
  // Preemption and a busy neighbour only ever add time: the least of the rounds is the figure.
  const best = (key) => Math.min(...rounds.map((r) => r[key]));
  const round2 = (x) => Number(x.toFixed(2));
  return {
    workload: `${workload} (one at a time), client on the ${clientOn}`,
    cpuUsPerOp: round2(best('cpuUsPerOp')),
    leaderUsPerOp: round2(best('leaderUsPerOp')),
    leaderStepUsMedian: round2(best('leaderStepUsMedian')),
    leaderStepsPerOp: round2(rounds[0].leaderStepsPerOp),
    followerUsPerOp: round2(best('followerUsPerOp')),
    followerStepUsMedian: round2(best('followerStepUsMedian')),
    followerStepsPerOp: round2(rounds[0].followerStepsPerOp),
    rounds: rounds.length,
  };
}

/**
 * The driver level: the server package's in-process ensemble (PeerDriver, memory storage and
 * the memory transport, real timers) with what a `zabkit server` adds to every step where the
 * tree has it: the activity log (fed by a silent logger) and the metrics. One client awaits
 * each reply. Every peer's stepAll and every driver's pump are timed; the thread's CPU time
 * per operation covers the steps, the drivers, the client and the event loop.
 */
async function driverLevel(args, packageUrl) {
  const core = await import(packageUrl('core'));
  const server = await import(packageUrl('server'));
  const timing = { on: false, stepNs: new Map(), pumpNs: new Map() };
  const timed = (proto, method, samples) => {
    const original = proto[method];
    proto[method] = function (...inputs) {
      if (!timing.on) return original.apply(this, inputs);
      const started = process.hrtime.bigint();
      try {
        return original.apply(this, inputs);
      } finally {
        const id = this.serverId ?? this.peer?.serverId;
        if (!samples.has(id)) samples.set(id, []);
        samples.get(id).push(Number(process.hrtime.bigint() - started));
      }
    };
  };
  timed(core.ZabPeer.prototype, 'stepAll', timing.stepNs);
  timed(server.PeerDriver.prototype, 'pump', timing.pumpNs);
  const ensemble = await server.startEnsemble({
    servers: args.servers,
    tickTimeMs: 2000,
    ...(server.silentLogger === undefined ? {} : { log: () => server.silentLogger }),
  });
  const leader = await ensemble.waitForLeader();
  const follower = [...Array(args.servers).keys()].map((i) => i + 1).find((id) => id !== leader);
  const metrics = [];
  if (args.metrics && typeof server.ServerMetrics === 'function') {
    // As `zabkit server` does: the figures mntr reports, without Prometheus or process metrics.
    for (let id = 1; id <= args.servers; id++) {
      const source = { driver: ensemble.driver(id), clientListeners: () => [], onFatal: () => () => {} };
      metrics.push(new server.ServerMetrics(source, { prometheus: false, exportProcessMetrics: false }));
    }
  }
  const value = new Uint8Array(args.valueBytes).fill(120);
  const results = [];
  for (const workload of ['create', 'setData']) {
    for (const clientOn of ['leader', 'follower']) {
      const serverId = clientOn === 'leader' ? leader : follower;
      const client = await ensemble.client({ servers: [serverId], sessionTimeoutMs: 30_000 });
      const base = `/${workload}-${clientOn}`;
      await client.create(base, value);
      let next = 0;
      const op = () =>
        workload === 'create' ? client.create(`${base}/n${next++}`, value) : client.setData(base, value);
      for (let i = 0; i < args.warmupOps; i++) await op();
      const rounds = [];
      for (let round = 0; round < args.rounds; round++) {
        timing.stepNs.clear();
        timing.pumpNs.clear();
        timing.on = true;
        const cpuBefore = threadCpuUs();
        for (let i = 0; i < args.ops; i++) await op();
        const cpuUs = threadCpuUs() - cpuBefore;
        timing.on = false;
        const perOp = (samples, id) => (samples.get(id) ?? []).reduce((a, b) => a + b, 0) / 1000 / args.ops;
        rounds.push({
          cpuUsPerOp: cpuUs / args.ops,
          leaderStepUsPerOp: perOp(timing.stepNs, leader),
          leaderPumpUsPerOp: perOp(timing.pumpNs, leader),
          leaderStepUsMedian: median(timing.stepNs.get(leader) ?? []) / 1000,
          leaderPumpUsMedian: median(timing.pumpNs.get(leader) ?? []) / 1000,
          leaderPumpsPerOp: (timing.pumpNs.get(leader) ?? []).length / args.ops,
          followerStepUsPerOp: perOp(timing.stepNs, follower),
          followerPumpUsPerOp: perOp(timing.pumpNs, follower),
        });
      }
      await client.close();
      const best = (key) => Number(Math.min(...rounds.map((r) => r[key])).toFixed(2));
      results.push({
        workload: `${workload} (one at a time), client on the ${clientOn}`,
        cpuUsPerOp: best('cpuUsPerOp'),
        leaderStepUsPerOp: best('leaderStepUsPerOp'),
        leaderPumpUsPerOp: best('leaderPumpUsPerOp'),
        leaderStepUsMedian: best('leaderStepUsMedian'),
        leaderPumpUsMedian: best('leaderPumpUsMedian'),
        leaderPumpsPerOp: Number(rounds[0].leaderPumpsPerOp.toFixed(2)),
        followerStepUsPerOp: best('followerStepUsPerOp'),
        followerPumpUsPerOp: best('followerPumpUsPerOp'),
      });
    }
  }
  await ensemble.close();
  return { metrics: metrics.length > 0, results };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const packageUrl = (name) =>
    args.tree === undefined
      ? `@zabkit/${name}`
      : pathToFileURL(join(args.tree, 'packages', name, 'dist', 'index.js')).href;
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadAverage1m: Number(loadavg()[0].toFixed(2)),
  };
  const report = {
    bench: 'step-cost',
    tree: args.label ?? args.tree ?? 'this tree',
    servers: args.servers,
    opsPerRound: args.ops,
    rounds: args.rounds,
    valueBytes: args.valueBytes,
    machine,
  };
  if (args.level !== 'driver') {
    const core = await import(packageUrl('core'));
    const codec = args.objects ? undefined : await import(packageUrl('codec'));
    const harness = new Harness(core, codec, args.servers);
    harness.settle();
    const results = [];
    for (const workload of ['create', 'setData'])
      for (const clientOn of ['leader', 'follower'])
        results.push(runWorkload(harness, args, workload, clientOn));
    report.core = {
      api: harness.newApi ? 'stepAll(inputs, clock)' : 'stepAll(inputs)',
      messages: args.objects ? 'objects' : 'encoded and decoded',
      results,
    };
  }
  if (args.level !== 'core') report.driver = await driverLevel(args, packageUrl);
  if (args.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  console.log(`zabkit step cost: ${report.tree}, ${args.servers} servers in one process`);
  console.log(
    `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, node ${machine.node}, load ${machine.loadAverage1m}`,
  );
  console.log(
    `least of ${args.rounds} rounds of ${args.ops} ops, ${args.valueBytes}-byte values; times in us`,
  );
  if (report.core !== undefined) {
    console.log(`core: ZabPeer alone, ${report.core.api}, messages ${report.core.messages}`);
    console.table(
      report.core.results.map((r) => ({
        workload: r.workload,
        'cpu/op': r.cpuUsPerOp,
        'leader/op': r.leaderUsPerOp,
        'leader step p50': r.leaderStepUsMedian,
        'leader steps/op': r.leaderStepsPerOp,
        'follower/op': r.followerUsPerOp,
        'follower step p50': r.followerStepUsMedian,
        'follower steps/op': r.followerStepsPerOp,
      })),
    );
  }
  if (report.driver !== undefined) {
    console.log(`driver: startEnsemble's PeerDriver${report.driver.metrics ? ' with ServerMetrics' : ''}`);
    console.table(
      report.driver.results.map((r) => ({
        workload: r.workload,
        'cpu/op': r.cpuUsPerOp,
        'leader step/op': r.leaderStepUsPerOp,
        'leader pump/op': r.leaderPumpUsPerOp,
        'leader step p50': r.leaderStepUsMedian,
        'leader pump p50': r.leaderPumpUsMedian,
        'leader pumps/op': r.leaderPumpsPerOp,
        'follower step/op': r.followerStepUsPerOp,
        'follower pump/op': r.followerPumpUsPerOp,
      })),
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
