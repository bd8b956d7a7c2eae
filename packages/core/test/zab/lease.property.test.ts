/**
 * A leader serves reads on a lease: a quorum of voters (itself included) heard from within
 * syncLimit ticks; a follower on its leader heard from within syncLimit. Whatever order a
 * driver hands a server inputs and ticks in (a process resumed from SIGSTOP may get its socket
 * input before its timers run), it never answers a read on an input whose time is past that
 * lease: the timers due by then fire first, in the core.
 *
 * The oracle is kept outside the core: the time each server last took a message from each
 * other server, seen from the driver's side.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PeerInput, ServerId } from '../../src/index.js';
import { Cluster } from './cluster.js';

const tickTimeMs = 100;
const syncLimitTicks = 5;
const leaseMs = syncLimitTicks * tickTimeMs;

/** What a driver may do next: the interleavings the property ranges over. */
type Action =
  | { kind: 'clock'; ms: number } // time passes, no timer fires
  | { kind: 'tick'; server: number } // one server's timers fire
  | { kind: 'deliver'; index: number } // one message in flight, in any order
  | { kind: 'read'; server: number }
  | { kind: 'pause'; server: number }
  | { kind: 'resume'; server: number; inputsFirst: boolean }
  | { kind: 'isolate'; server: number }
  | { kind: 'heal' };

const server = fc.integer({ min: 0, max: 2 });

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('clock' as const), ms: fc.integer({ min: 1, max: 700 }) }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('tick' as const), server }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('deliver' as const), index: fc.nat(20) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('read' as const), server }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const), server }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('resume' as const), server, inputsFirst: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('isolate' as const), server }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'heal' as const }) },
);

interface Violation {
  server: ServerId;
  role: string;
  atMs: number;
  heard: string;
}

/**
 * Runs `actions` on an established 3-voter cluster with a client on every server (server index
 * 0 is the first leader, 1 and 2 its followers), then resumes every paused server. Returns how
 * many reads were answered and those answered past the lease they were served on.
 */
function runScenario(actions: readonly Action[]): { reads: number; stale: Violation[] } {
  /** `heardMs.get(to).get(from)`: when `to` last took a message from `from`. */
  const heardMs = new Map<ServerId, Map<ServerId, number>>();
  let current: { id: ServerId; atMs: number; role: string; leaseHeld: boolean } | undefined;
  let reads = 0;
  const stale: Violation[] = [];

  const cluster = new Cluster({
    voters: 3,
    peer: { tickTimeMs, syncLimitTicks },
    observer: {
      ready(id, ready) {
        if (current === undefined || current.id !== id) return;
        for (const output of ready.toClients) {
          if (output.kind !== 'reply' || output.reply.op !== 'getData' || !output.reply.ok) continue;
          reads++;
          if (!current.leaseHeld)
            stale.push({
              server: id,
              role: current.role,
              atMs: current.atMs,
              heard: JSON.stringify([...(heardMs.get(id) ?? [])]),
            });
        }
      },
    },
  });
  const heardWithinLease = (id: ServerId, from: ServerId, atMs: number): boolean => {
    const ms = heardMs.get(id)?.get(from);
    return ms !== undefined && atMs - ms <= leaseMs;
  };
  // Lenient on purpose: any message counts as hearing from its sender, so the oracle can only
  // call a read stale when the core's own lease (acked learners, its leader's epoch) is gone too.
  const leaseHeld = (id: ServerId, atMs: number): boolean => {
    const status = cluster.peer(id).status();
    if (!status.serving) return true; // nothing is answered from here anyway
    if (status.role === 'leading') {
      const alive = cluster.voterIds.filter((voter) => voter === id || heardWithinLease(id, voter, atMs));
      return alive.length * 2 > cluster.voterIds.length;
    }
    return status.leaderId !== undefined && heardWithinLease(id, status.leaderId, atMs);
  };
  const step = cluster.step.bind(cluster);
  cluster.step = (id: ServerId, input: PeerInput) => {
    if (cluster.paused(id) || !cluster.alive(id)) return step(id, input);
    const role = cluster.peer(id).status().role;
    current = { id, atMs: cluster.nowMs, role, leaseHeld: leaseHeld(id, cluster.nowMs) };
    try {
      step(id, input);
    } finally {
      current = undefined;
    }
    if (input.kind === 'message') {
      if (!heardMs.has(id)) heardMs.set(id, new Map());
      heardMs.get(id)!.set(input.from, cluster.nowMs);
    }
  };

  cluster.stabilize();
  const leader = cluster.leader();
  if (leader === undefined) throw new Error(`no leader: ${cluster.describe()}`);
  // Index 0 names the first leader, 1 and 2 its followers.
  const ids = [leader, ...cluster.voterIds.filter((id) => id !== leader)];
  const clients = ids.map((id) => cluster.connect(id));
  for (const client of clients) expect(client.timeoutMs).toBeGreaterThan(0);

  for (const next of actions) {
    switch (next.kind) {
      case 'clock':
        cluster.nowMs += next.ms;
        break;
      case 'tick':
        cluster.step(ids[next.server]!, { kind: 'tick' });
        break;
      case 'deliver': {
        if (cluster.queue.length === 0) break;
        const envelope = cluster.queue[next.index % cluster.queue.length];
        cluster.deliverOnce((candidate) => candidate === envelope);
        break;
      }
      case 'read':
        // A closed connection's request is refused, which is not a read answered.
        cluster.send(clients[next.server]!, { op: 'getData', path: '/', watch: false });
        break;
      case 'pause':
        cluster.pause(ids[next.server]!);
        break;
      case 'resume':
        cluster.resume(ids[next.server]!, next.inputsFirst);
        break;
      case 'isolate':
        cluster.isolate(ids[next.server]!);
        break;
      case 'heal':
        cluster.heal();
        break;
    }
  }
  for (const id of ids) cluster.resume(id);
  return { reads, stale };
}

describe('the leader lease', () => {
  it('never answers a read past it, for any interleaving of inputs, ticks, pauses and partitions', () => {
    let reads = 0;
    fc.assert(
      fc.property(fc.array(action, { minLength: 1, maxLength: 60 }), (actions) => {
        const result = runScenario(actions);
        reads += result.reads;
        expect(result.stale).toEqual([]);
      }),
      { numRuns: 300 },
    );
    // The property is about reads: the runs must have served plenty of them.
    expect(reads).toBeGreaterThan(100);
  });

  it.each([
    ['a leader', 0],
    ['a follower', 1],
  ])('%s answers a read that waited through a pause shorter than the lease', (_name, server) => {
    const result = runScenario([
      { kind: 'pause', server },
      { kind: 'read', server },
      { kind: 'clock', ms: leaseMs - 100 },
      { kind: 'resume', server, inputsFirst: true },
    ]);
    expect(result).toEqual({ reads: 1, stale: [] });
  });

  it.each([
    ['a leader', 0],
    ['a follower', 1],
  ])(
    '%s drops a read that waited through a pause past the lease, even when handed it before its timers',
    (_name, server) => {
      const result = runScenario([
        { kind: 'pause', server },
        { kind: 'read', server },
        { kind: 'clock', ms: leaseMs + 100 },
        { kind: 'resume', server, inputsFirst: true },
      ]);
      expect(result).toEqual({ reads: 0, stale: [] });
    },
  );
});
