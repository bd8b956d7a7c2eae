// zabkit bench: the peer codec on its hot paths (acks, commits, proposals, log records,
// snapshot chunks), encode and decode, in operations per second. Prints a table and JSON
// (or only JSON with --json); both name the machine they ran on. Rates are per second of
// this process's CPU time (user + system), which a shared machine disturbs less than wall time.
//
//   npm run build && node bench/codec.mjs            # table, then JSON
//   node bench/codec.mjs --json --rounds 7           # JSON only, median of 7 rounds
//   node bench/codec.mjs --module /tmp/old/index.js  # another build of the codec, to compare
//   node bench/codec.mjs --only proposal             # only the cases whose name has this in it
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeZxid } from '@zabkit/core';

function parseArgs(argv) {
  const args = { json: false, rounds: 5, roundMs: 300, module: '@zabkit/codec', only: '' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') args.json = true;
    else if (arg === '--rounds') args.rounds = Number(argv[++i]);
    else if (arg === '--round-ms') args.roundMs = Number(argv[++i]);
    else if (arg === '--module') args.module = argv[++i];
    else if (arg === '--only') args.only = argv[++i];
    else throw new Error(`unknown argument ${arg}`);
  }
  for (const key of ['rounds', 'roundMs']) {
    if (!Number.isInteger(args[key]) || args[key] <= 0)
      throw new Error(`--${key} must be a positive integer`);
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const codecModule = args.module.startsWith('@') ? args.module : pathToFileURL(resolve(args.module)).href;
const {
  decodePeerMessage,
  decodeSnapshotNodes,
  decodeTxn,
  encodeLogRecord,
  encodePeerMessage,
  encodePeerMessageWithRoom,
  encodeSnapshotNodes,
  encodeTxn,
  framePeerMessage,
} = await import(codecModule);

const openAcl = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const value = new Uint8Array(100).fill(120);
const sessionId = 0x0100_0190_1234_0001n;
const timeMs = 1_764_000_000_000;

/** A fresh object each call, so a txn's kept encoding never answers for it. */
function setDataTxn(i) {
  return {
    zxid: makeZxid(3, (i % 1_000_000) + 1),
    timeMs: timeMs + i,
    sessionId,
    cxid: i & 0x7fff_ffff,
    body: { kind: 'setData', path: `/bench/n${i % 10_000}`, data: value, version: i & 0xffff },
  };
}

function createTxn(i) {
  return {
    zxid: makeZxid(3, (i % 1_000_000) + 1),
    timeMs: timeMs + i,
    sessionId,
    cxid: i & 0x7fff_ffff,
    body: {
      kind: 'create',
      path: `/bench/n${i % 10_000}`,
      data: value,
      acl: openAcl,
      ephemeralOwner: 0n,
      parentCversion: i & 0xffff,
    },
  };
}

function snapshotNode(i) {
  return {
    path: `/bench/n${i}`,
    data: value,
    acl: openAcl,
    czxid: makeZxid(3, i + 1),
    mzxid: makeZxid(3, i + 1),
    pzxid: makeZxid(3, i + 1),
    ctime: timeMs + i,
    mtime: timeMs + i,
    version: 0,
    cversion: 0,
    aversion: 0,
    ephemeralOwner: 0n,
  };
}

const chunk = Array.from({ length: 200 }, (_v, i) => snapshotNode(i));
const keptTxn = setDataTxn(7);
encodeTxn(keptTxn);
const proposalOfTen = {
  kind: 'proposal',
  epoch: 3,
  txns: Array.from({ length: 10 }, (_v, i) => setDataTxn(i)),
};
encodePeerMessage(proposalOfTen);

const ackBytes = encodePeerMessage({ kind: 'ack', epoch: 3, zxid: makeZxid(3, 12345) });
const proposalBytes = encodePeerMessage({ kind: 'proposal', epoch: 3, txns: [setDataTxn(1)] });
const proposalOfTenBytes = encodePeerMessage(proposalOfTen);
const createTxnBytes = encodeTxn(createTxn(1));
const chunkBytes = encodeSnapshotNodes(chunk);
const followerInfoBytes = encodePeerMessage({
  kind: 'followerInfo',
  acceptedEpoch: 3,
  observer: false,
  attempt: 2,
});

/**
 * A learner sync's chunk carrying one 1 MB znode (the sync benchmark's tree), in an
 * ArrayBuffer of its own as the TCP transport hands a frame it put together to the codec.
 */
function ownFrame(message) {
  const encoded = encodePeerMessage(message);
  const frame = new Uint8Array(encoded.length);
  frame.set(encoded);
  return frame;
}
const megabyte = new Uint8Array(1_000_000).fill(7);
const bigTxn = {
  ...createTxn(3),
  body: { ...createTxn(3).body, data: megabyte },
};
const bigTxnsFrame = ownFrame({ kind: 'syncTxns', epoch: 3, attempt: 1, seq: 1, txns: [bigTxn] });
const bigNodeFrame = ownFrame({
  kind: 'syncSnapshotChunk',
  epoch: 3,
  attempt: 1,
  seq: 1,
  nodes: [{ ...snapshotNode(1), data: megabyte }],
  sessions: [],
  last: false,
});

/**
 * Log records of about 1 MB as a group commit or a learner's DIFF writes them: 1,000
 * setData txns of 1 KB, and one create of 1 MB. "kept": each txn's encoding is kept (a
 * follower decoded it, a leader proposed it), as on the hot paths; "new": fresh objects.
 */
const kilobyte = new Uint8Array(1000).fill(9);
function setDataKbTxn(i) {
  const txn = setDataTxn(i);
  return { ...txn, body: { ...txn.body, data: kilobyte } };
}
const keptKbTxns = Array.from({ length: 1000 }, (_v, i) => setDataKbTxn(i));
for (const txn of keptKbTxns) encodeTxn(txn);
const keptBigTxn = { ...bigTxn };
encodeTxn(keptBigTxn);

/** Each case: a name, the work items one call stands for, and the call. */
const cases = [
  [
    'encode ack',
    1,
    (i) => encodePeerMessageWithRoom({ kind: 'ack', epoch: 3, zxid: makeZxid(3, (i & 0xffff) + 1) }, 4),
  ],
  ['decode ack', 1, () => decodePeerMessage(ackBytes)],
  [
    'encode commit',
    1,
    (i) => encodePeerMessageWithRoom({ kind: 'commit', epoch: 3, zxid: makeZxid(3, (i & 0xffff) + 1) }, 4),
  ],
  [
    'encode ping',
    1,
    () =>
      encodePeerMessageWithRoom(
        { kind: 'ping', epoch: 3, sentThroughZxid: 0x3_0000_0010n, commitZxid: 0x3_0000_000fn },
        4,
      ),
  ],
  [
    'encode followerInfo',
    1,
    (i) => encodePeerMessage({ kind: 'followerInfo', acceptedEpoch: 3, observer: false, attempt: i & 0xff }),
  ],
  ['decode followerInfo', 1, () => decodePeerMessage(followerInfoBytes)],
  [
    'encode proposal, new txn',
    1,
    (i) => encodePeerMessageWithRoom({ kind: 'proposal', epoch: 3, txns: [setDataTxn(i)] }, 4),
  ],
  [
    'encode proposal, kept txn',
    1,
    () => encodePeerMessageWithRoom({ kind: 'proposal', epoch: 3, txns: [keptTxn] }, 4),
  ],
  ['decode proposal', 1, () => decodePeerMessage(proposalBytes)],
  [
    'encode proposal of 10, new',
    10,
    (i) =>
      encodePeerMessage({
        kind: 'proposal',
        epoch: 3,
        txns: Array.from({ length: 10 }, (_v, k) => setDataTxn(i * 10 + k)),
      }),
  ],
  ['decode proposal of 10', 10, () => decodePeerMessage(proposalOfTenBytes)],
  ['encode create txn (log)', 1, (i) => encodeTxn(createTxn(i))],
  ['decode create txn (log)', 1, () => decodeTxn(createTxnBytes)],
  ['encode 200 snapshot nodes', 200, () => encodeSnapshotNodes(chunk)],
  ['decode 200 snapshot nodes', 200, () => decodeSnapshotNodes(chunkBytes)],
  ['encode 1 MB log record, 1000 kept txns', 1, () => encodeLogRecord(keptKbTxns)],
  [
    'encode 1 MB log record, 1000 new txns',
    1,
    (i) => encodeLogRecord(Array.from({ length: 1000 }, (_v, k) => setDataKbTxn(i * 1000 + k))),
  ],
  ['encode 1 MB log record, 1 kept txn', 1, () => encodeLogRecord([keptBigTxn])],
  ['encode 1 MB log record, 1 new txn', 1, () => encodeLogRecord([{ ...bigTxn }])],
  ['decode 1 MB syncTxns', 1, () => decodePeerMessage(bigTxnsFrame)],
  ['decode 1 MB snapshot chunk', 1, () => decodePeerMessage(bigNodeFrame)],
  // A leader's frame for the socket (a new message each call: the last one framed is reused).
  [
    'frame 1 MB snapshot chunk',
    1,
    (i) =>
      framePeerMessage(
        {
          kind: 'syncSnapshotChunk',
          epoch: 3,
          attempt: 1,
          seq: i + 1,
          nodes: [{ ...snapshotNode(1), data: megabyte }],
          sessions: [],
          last: false,
        },
        4,
      ),
  ],
];

/**
 * Calls `run` for about `roundMs` of this process's CPU time, returning items per CPU
 * second: on a machine shared with other work, CPU time varies far less than wall time.
 */
function round(run, items, roundMs) {
  let calls = 0;
  let sink = 0;
  const started = process.cpuUsage();
  const budgetUs = roundMs * 1000;
  let usedUs = 0;
  while (usedUs < budgetUs) {
    for (let k = 0; k < 200; k++) {
      const out = run(calls++);
      sink ^= out === undefined ? 0 : 1;
    }
    const used = process.cpuUsage(started);
    usedUs = used.user + used.system;
  }
  if (sink === 2) console.log('');
  return (calls * items) / (usedUs / 1e6);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function main() {
  const results = [];
  for (const [name, items, run] of cases) {
    if (!name.includes(args.only)) continue;
    round(run, items, Math.min(200, args.roundMs)); // warm up
    const rates = Array.from({ length: args.rounds }, () => round(run, items, args.roundMs));
    results.push({
      case: name,
      unit: items === 1 ? 'ops' : items === 10 ? 'txns' : 'nodes',
      perSec: Math.round(median(rates)),
      minPerSec: Math.round(Math.min(...rates)),
      maxPerSec: Math.round(Math.max(...rates)),
    });
  }
  const machine = {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cpuCount: cpus().length,
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
  const report = {
    bench: 'codec',
    module: args.module,
    rounds: args.rounds,
    roundMs: args.roundMs,
    machine,
    results,
  };
  if (args.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  console.log(
    `zabkit bench: peer codec (${args.module}), per CPU second, median of ${args.rounds} rounds of ${args.roundMs} ms`,
  );
  console.log(
    `machine: ${machine.cpuModel} x${machine.cpuCount}, ${machine.memoryGiB} GiB, node ${machine.node}`,
  );
  console.log('');
  console.log(
    `${'case'.padEnd(42)}${'per CPU s'.padStart(14)}${'min'.padStart(14)}${'max'.padStart(14)}  unit`,
  );
  for (const r of results) {
    console.log(
      `${r.case.padEnd(42)}${r.perSec.toLocaleString('en').padStart(14)}${r.minPerSec.toLocaleString('en').padStart(14)}${r.maxPerSec.toLocaleString('en').padStart(14)}  ${r.unit}`,
    );
  }
  console.log('');
  console.log(JSON.stringify(report));
}

main();
