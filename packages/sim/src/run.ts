/**
 * One simulated run per seed: draw fault rates, run a faulty phase, heal everything, run a
 * liveness phase, then check the history. The same seed gives the same run, event for event.
 */
import type { PeerMessage, ServerId, StorageAction, ZabPeerOptions } from '@zabkit/core';
import { checkAcknowledgedWrites } from './checkers/durability.js';
import { checkReads } from './checkers/reads.js';
import { checkSessions } from './checkers/sessions.js';
import { checkWatches } from './checkers/watches.js';
import { checkWritesLinearizable } from './checkers/writes-linearizable.js';
import { type History, SimClient } from './clients.js';
import {
  ConfigQuorumChecker,
  initialMembership,
  injectMembershipChanges,
  joinerView,
  membershipSuperDigest,
  Operator,
} from './membership.js';
import { Rng } from './rng.js';
import {
  drawClockJumps,
  drawFaultRates,
  drawMessageChaos,
  drawProcessFaults,
  drawSyncSizes,
  type FaultRates,
  type SyncSizes,
  type Violation,
  World,
} from './world.js';

export interface RunOptions {
  readonly servers?: number;
  readonly clients?: number;
  /** Virtual milliseconds with faults. */
  readonly faultyMs?: number;
  /** Virtual milliseconds after healing in which the ensemble must recover. */
  readonly healedMs?: number;
  /** Overrides for the fault rates drawn from the seed. */
  readonly rates?: Partial<FaultRates>;
  /** Use the deliberately broken driver that acknowledges before durability (checker tests). */
  readonly ackBeforeDurable?: boolean;
  /** A round trip every delivered peer message goes through (see World.wire). */
  readonly wire?: (message: PeerMessage) => PeerMessage;
  /** Overrides for the learner sync's chunk and window sizes drawn from the seed. */
  readonly sync?: Partial<SyncSizes>;
  /** Transactions between snapshots (default 40): lower makes learners behind get a SNAP more often. */
  readonly snapCount?: number;
  /** A round trip every storage action goes through before it is durable (see World.diskWire). */
  readonly diskWire?: (action: StorageAction) => StorageAction;
  /**
   * Membership changes among the faults (issue 17), this many a second: the run starts with
   * three participants and the other servers as observers (5 servers unless `servers` says),
   * but for the last of four or more, which starts outside the membership (a non-voting
   * follower until a change adds it); the ConfigQuorum check judges every commit. Off (0) by default, so other seeds replay
   * as before.
   */
  readonly membershipChangesPerSecond?: number;
}

export interface SeedResult {
  readonly seed: number;
  readonly traceHash: string;
  readonly failures: readonly Violation[];
  readonly rates: FaultRates;
  readonly sync: SyncSizes;
  readonly stats: {
    readonly writes: number;
    readonly acknowledged: number;
    readonly reads: number;
    readonly committed: number;
    /** Restores among the committed transactions (see `FaultRates.restoresPerSecond`). */
    readonly restoresCommitted: number;
    readonly events: number;
    readonly simulatedMs: number;
  };
  readonly faults: Readonly<Record<string, number>>;
  /** Learner sync events of the run, by kind and side ("syncFinished/learner"...). */
  readonly syncs: Readonly<Record<string, number>>;
  /** Why each learner sync that failed did, in order ("learner 2: ..."). */
  readonly syncFailures: readonly string[];
  /**
   * The linearizability checker's path groups, and how many of them it could neither prove nor
   * refute within its search budget (both 0 when clients were not judged).
   */
  readonly linearizability: { readonly groups: number; readonly unknown: number };
}

export function runSeed(seed: number, options: RunOptions = {}): SeedResult {
  const rng = new Rng(seed);
  const rates = {
    ...drawFaultRates(rng),
    ...drawMessageChaos(seed),
    ...drawProcessFaults(seed),
    ...drawClockJumps(seed),
    ...options.rates,
  };
  const membershipRate = options.membershipChangesPerSecond ?? 0;
  // Drawn only when no count is given and membership is off, so other runs replay as before.
  const servers = options.servers ?? (membershipRate > 0 ? 5 : rng.pick([3, 3, 5]));
  const ids = Array.from({ length: servers }, (_v, i) => i + 1);
  // With four servers or more, the last starts outside the membership, to be added (see
  // membership.ts).
  const joiner = membershipRate > 0 && servers >= 4 ? servers : undefined;
  const memberIds = joiner === undefined ? ids : ids.slice(0, -1);
  const membership = membershipRate > 0 ? initialMembership(memberIds) : undefined;
  const voters = membership === undefined ? ids : memberIds.slice(0, 3);
  const sync = { ...drawSyncSizes(seed), ...options.sync };
  const peerOptions = (id: ServerId): ZabPeerOptions => ({
    serverId: id,
    voters,
    tickTimeMs: 100,
    initLimitTicks: 10,
    syncLimitTicks: 5,
    electionFinalizeWaitMs: 50,
    electionResendIntervalMs: 100,
    snapCount: options.snapCount ?? 40,
    // Where each replica snapshots, between 20 and 40: from the seed, as a driver's randomness.
    snapshotRandomSeed: Math.imul(seed, 31) + id,
    syncChunkBytes: sync.chunkBytes,
    syncWindowBytes: sync.windowBytes,
    sessionSecret: new Uint8Array([seed & 0xff, 7]),
    startTimeMs: 0,
    ...(membership === undefined
      ? {}
      : {
          observers: memberIds.slice(3),
          ensembleConfig: membership,
          reconfigEnabled: true,
          superDigest: membershipSuperDigest,
        }),
    ...(id === joiner && membership !== undefined
      ? { voters: [...voters, id], ensembleConfig: joinerView(membership, id) }
      : {}),
  });
  const world = new World(rng, rates, ids, peerOptions, seed);
  world.ackBeforeDurable = options.ackBeforeDurable ?? false;
  if (options.wire !== undefined) world.wire = options.wire;
  if (options.diskWire !== undefined) world.diskWire = options.diskWire;
  const history: History = {
    writes: [],
    reads: [],
    connections: new Map(),
    endedSessions: new Set(),
    expiries: [],
  };
  const connections = new Map<string, SimClient>();
  const operator = membership === undefined ? undefined : new Operator(world, new Rng(seed ^ 0x4ec0_f19));
  world.observer = {
    clientOutput: (server, output) => {
      if (operator?.handles(server, output)) return;
      connections.get(`${server}:${output.connectionId}`)?.handle(output);
    },
  };
  if (membership !== undefined) {
    const checker = new ConfigQuorumChecker(membership);
    world.onCommitted = (txn) => {
      const wrong = checker.committed(txn, ids, (id, zxid) => world.holdsDurably(id, zxid));
      if (wrong !== undefined) world.violations.push(wrong);
    };
  }
  const connectionIds = { next: 1 };
  const clients = Array.from(
    { length: options.clients ?? 4 },
    (_v, id) => new SimClient(id, world, rng, history, connections, connectionIds, id % 2 === 1),
  );

  const faultyMs = options.faultyMs ?? 8000;
  const healedMs = options.healedMs ?? 8000;
  // Long enough for an abandoned session (timeout 1.5 s) to expire under a new leader.
  const quietMs = 4000;
  /** After healing, elections and restarts may still move clients around for a while. */
  const settleMs = 3000;
  injectFaults(world, rng, faultyMs);
  if (operator !== undefined)
    injectMembershipChanges(world, new Rng(seed ^ 0x3e3b_e125), operator, faultyMs, membershipRate);
  world.runUntil(faultyMs);

  // Healed phase: every link restored, every server back, no more loss.
  world.faultsEnabled = false;
  world.heal();
  world.resumeAll();
  for (const id of ids) world.restart(id);
  const completedBefore = clients.map((client) =>
    [...client.completedAfter.values()].reduce((a, b) => a + b, 0),
  );
  world.runUntil(faultyMs + healedMs);
  const liveness = checkLiveness(world, clients, completedBefore);
  // Quiesce: clients stop writing but keep their sessions alive; sessions they abandoned
  // expire; in-flight commits land; every replica must then be identical.
  for (const client of clients) client.pause();
  world.runUntil(faultyMs + healedMs + quietMs);
  liveness.push(...checkConvergence(world));

  const failures = [...world.violations, ...liveness];
  // A restore discards acknowledged writes, sessions and the watches' history by design: the
  // clients' checkers do not model it, and a run with restores judges ZAB's promises alone.
  const clientsJudged = rates.restoresPerSecond === 0;
  // Once healed and settled, a session whose client stayed connected and pinging for longer
  // than its timeout must not expire.
  for (const expiry of clientsJudged ? history.expiries : []) {
    if (expiry.time > faultyMs + settleMs && expiry.connectedForMs > expiry.timeoutMs) {
      failures.push({
        check: 'sessions',
        message: `client ${expiry.clientId}'s session expired at ${expiry.time} ms after ${expiry.connectedForMs} ms connected`,
      });
    }
  }
  let linearizability = { groups: 0, unknown: 0 };
  if (clientsJudged) {
    failures.push(...checkAcknowledgedWrites(history.writes, world.committed));
    failures.push(...checkReads(history.reads, world.committed));
    failures.push(...checkWatches(history.connections, world.committed));
    const verdicts = checkWritesLinearizable(history.writes);
    failures.push(...verdicts.violations);
    linearizability = { groups: verdicts.groups, unknown: verdicts.unknown };
  }
  const leader = [...world.peers.values()].find((node) => {
    const status = node.peer?.status();
    return status?.role === 'leading' && status.serving;
  });
  if (clientsJudged && leader?.peer !== undefined)
    failures.push(...checkSessions(leader.peer.sessionSummary(), history.endedSessions));
  return {
    seed,
    traceHash: world.trace,
    failures,
    rates,
    sync,
    stats: {
      writes: history.writes.length,
      acknowledged: history.writes.filter((write) => write.zxid !== undefined).length,
      reads: history.reads.length,
      committed: world.committed.length,
      restoresCommitted: world.committed.filter((txn) => txn.body.kind === 'restore').length,
      events: world.eventCount,
      simulatedMs: faultyMs + healedMs + quietMs,
    },
    faults: { ...world.faultCounts },
    syncs: { ...world.syncEvents },
    syncFailures: [...world.syncFailures],
    linearizability,
  };
}

/** Crashes, partitions (both ways, leader isolation, one way) and swizzle-clogging. */
export function injectFaults(world: World, rng: Rng, untilMs: number): void {
  const ids = [...world.peers.keys()];
  const everyMs = 100;
  const consider = () => {
    if (world.now >= untilMs) return;
    if (rng.chance((world.rates.crashesPerSecond * everyMs) / 1000)) {
      const victim = rng.pick(ids);
      if (rng.chance(gracefulLeaveShare)) {
        gracefulLeave(world, rng, victim);
      } else {
        world.crash(victim);
        world.schedule(rng.int(100, 2000), `restart ${victim}`, () => world.restart(victim));
      }
    }
    if (rng.chance((world.rates.powerLossesPerSecond * everyMs) / 1000)) {
      // Power loss: every server at once, so whatever was not durable anywhere is gone.
      world.faultCounts.powerLoss = (world.faultCounts.powerLoss ?? 0) + 1;
      for (const id of ids) {
        world.crash(id);
        // Servers come back one by one, so a quorum may form without the one that had the data.
        world.schedule(rng.int(50, 3000), `power back ${id}`, () => world.restart(id));
      }
    }
    if (rng.chance((world.rates.partitionsPerSecond * everyMs) / 1000)) networkFault(world, rng, ids);
    // From the world's own source of chance, so seeds without pauses replay as before.
    const chance = world.faultRng;
    if (chance.chance((world.rates.pausesPerSecond * everyMs) / 1000)) {
      // The leader half the time: a paused leader is the case that matters most.
      const leader = [...world.peers.values()].find((node) => node.peer?.status().role === 'leading');
      const victim = leader !== undefined && chance.chance(0.5) ? leader.id : chance.pick(ids);
      // From under syncLimit (500 ms here) to several times it.
      world.pause(victim, chance.int(100, 3000));
    }
    if (chance.chance((world.rates.wallClockJumpsPerSecond * everyMs) / 1000)) {
      // NTP stepping a clock, or an operator: seconds to a minute, either way.
      const jumpMs = chance.int(1000, 60_000) * (chance.chance(0.5) ? 1 : -1);
      world.jumpClock(chance.pick(ids), { wallMs: jumpMs });
    }
    if (chance.chance((world.rates.monotonicJumpsPerSecond * everyMs) / 1000))
      world.jumpClock(chance.pick(ids), { monotonicMs: chance.int(100, 5000) });
    // Drawn only when asked for: a zero rate leaves the stream of chance as it was.
    const transfers = world.rates.leadershipTransfersPerSecond;
    if (transfers > 0 && chance.chance((transfers * everyMs) / 1000)) leadershipTransfer(world, chance, ids);
    const restores = world.rates.restoresPerSecond;
    if (restores > 0 && chance.chance((restores * everyMs) / 1000)) restore(world, chance, ids);
    world.schedule(everyMs, 'faults', consider);
  };
  world.schedule(everyMs, 'faults', consider);
}

/** The share of crashes that are graceful stops instead: the host closes its peer (`leave`). */
const gracefulLeaveShare = 0.25;
/** How long the host waits for its peer to leave before it stops it anyway, as PeerDriver.leave does. */
const leaveWaitMaxMs = 500;

/**
 * A graceful stop, as `EmbeddedPeer.close` makes one: the peer steps `leave` (a leader lets
 * its proposals in flight commit and tells its learners to elect now), the host stops it once
 * it has left or after `leaveWaitMaxMs`, and starts it again later from its storage. Under
 * the run's faults the leave may not finish: then it is a crash, which ZAB survives too.
 */
function gracefulLeave(world: World, rng: Rng, victim: ServerId): void {
  if (!world.alive(victim)) return;
  world.faultCounts.gracefulLeave = (world.faultCounts.gracefulLeave ?? 0) + 1;
  const leading = world.peers.get(victim)!.peer!.status().role === 'leading';
  world.step(victim, { kind: 'leave' });
  const stepMs = 20;
  const stopOnceLeft = (waitedMs: number) => {
    const status = world.peers.get(victim)!.peer?.status();
    if (status === undefined) return; // crashed meanwhile: that crash restarts it
    if (status.departure !== 'left' && waitedMs < leaveWaitMaxMs) {
      world.schedule(stepMs, `leaving ${victim}`, () => stopOnceLeft(waitedMs + stepMs));
      return;
    }
    // Counted: leaders that handed over (their proposals committed in time) under the faults.
    if (leading && status.departure === 'left')
      world.faultCounts.leaderHandOver = (world.faultCounts.leaderHandOver ?? 0) + 1;
    world.crash(victim);
    world.schedule(rng.int(100, 1500), `restart ${victim}`, () => world.restart(victim));
  };
  stopOnceLeft(0);
}

/**
 * A leadership transfer asked of a random live server (a follower forwards it), to a random
 * server (maybe not a voter, maybe down, maybe the leader itself) or to any synced voter,
 * with a random bound: the checkers must hold whatever comes of it.
 */
function leadershipTransfer(world: World, rng: Rng, ids: readonly ServerId[]): void {
  const asker = rng.pick(ids);
  const to = rng.chance(0.3) ? undefined : rng.pick(ids);
  const timeoutMs = rng.int(100, 3000);
  if (!world.alive(asker)) return;
  world.faultCounts.leadershipTransfer = (world.faultCounts.leadershipTransfer ?? 0) + 1;
  world.step(asker, { kind: 'transferLeadership', ...(to === undefined ? {} : { to }), timeoutMs });
}

/**
 * An admin restore asked of a random live server (a follower forwards it), of a snapshot of
 * a random live replica's tree as it stands now (maybe behind the leader, maybe the asker's).
 */
function restore(world: World, rng: Rng, ids: readonly ServerId[]): void {
  const asker = rng.pick(ids);
  const source = rng.pick(ids);
  if (!world.alive(asker) || !world.alive(source)) return;
  const count = (world.faultCounts.restore ?? 0) + 1;
  world.faultCounts.restore = count;
  const { nodes, sessions } = world.peers.get(source)!.peer!.treeSnapshot();
  world.step(asker, { kind: 'restore', request: { op: 'restore', token: `sim-${count}`, nodes, sessions } });
}

function networkFault(world: World, rng: Rng, ids: readonly ServerId[]): void {
  const kind = rng.int(0, 3);
  const healAfter = rng.int(200, 3000);
  if (kind === 0) {
    world.partition(rng.subset(ids, 0.5));
    world.faultCounts.partition!++;
  } else if (kind === 1) {
    const leader = [...world.peers.values()].find((node) => node.peer?.status().role === 'leading');
    if (leader !== undefined) world.partition([leader.id]);
    world.faultCounts.isolateLeader!++;
  } else if (kind === 2) {
    world.cutOneWay(rng.pick(ids), rng.pick(ids));
    world.faultCounts.oneWay!++;
  } else {
    world.faultCounts.clog!++;
    // Swizzle-clogging: clog a random subset one peer at a time, then unclog in random order.
    const clogged = rng.subset(ids, 0.6);
    let at = 0;
    for (const id of clogged) {
      at += rng.int(10, 200);
      world.schedule(at, `clog ${id}`, () => world.partition([id]));
    }
    const unclogOrder = rng.shuffle(clogged);
    at += healAfter;
    for (const id of unclogOrder) {
      at += rng.int(10, 200);
      world.schedule(at, `unclog ${id}`, () => world.unblock(id));
    }
    return;
  }
  world.schedule(healAfter, 'heal', () => world.heal());
}

/** Once quiet, every replica holds the same state at the same zxid. */
function checkConvergence(world: World): Violation[] {
  const states = new Map<string, ServerId[]>();
  for (const [id, node] of world.peers) {
    if (node.peer === undefined) continue;
    const key = `${node.peer.status().lastAppliedZxid.toString(16)}/${node.peer.digest()}`;
    states.set(key, [...(states.get(key) ?? []), id]);
  }
  if (states.size <= 1) return [];
  const described = [...states].map(([key, ids]) => `${ids.join(',')}@${key}`).join(' ');
  return [{ check: 'convergence', message: `replicas differ once quiet: ${described}` }];
}

/** After healing: one leader, everyone serving the same state, every client making progress. */
function checkLiveness(
  world: World,
  clients: readonly SimClient[],
  completedBefore: readonly number[],
): Violation[] {
  const violations: Violation[] = [];
  for (const [id, node] of world.peers) {
    const status = node.peer?.status();
    if (status === undefined || !status.serving) {
      violations.push({
        check: 'liveness',
        message: `server ${id} is not serving after healing (${status?.role ?? 'down'}: ${status?.lookingReason})`,
      });
    }
  }
  clients.forEach((client, index) => {
    const completed = [...client.completedAfter.values()].reduce((a, b) => a + b, 0);
    if (completed <= completedBefore[index]!) {
      violations.push({ check: 'liveness', message: `client ${client.id} completed nothing after healing` });
    }
  });
  return violations;
}
