/**
 * Membership changes among the simulator's faults (issue 17): an operator's session, as the
 * super user, sends reconfigs to a serving member while the clients write and the other
 * faults go on: promoting an observer, demoting a participant, demoting the leader (which
 * hands leadership over), removing a server and adding it back as an observer, and now and
 * then crashing the leader just after a change was sent (a crash in the middle of the change).
 * The last server starts outside the membership, its own view naming the members and itself,
 * as ZooKeeper's guide has a server about to be added start: it follows as a non-voting
 * learner until a change adds it (as a participant or an observer), and so does any server
 * a change removed.
 *
 * The check that comes with them (ConfigQuorum) states reconfiguration's invariant from the
 * outside: whenever a transaction is first applied anywhere (so committed), the servers that
 * hold it durably include a majority of the participants of the configuration in force just
 * before it and, for a reconfig, of the one it brings too. Since a decision needs the acks
 * of such a quorum, two disjoint sets can never have decided.
 */
import {
  type ClientOutput,
  digestOf,
  type EnsembleConfig,
  type EnsembleMember,
  formatEnsembleMember,
  parseEnsembleConfig,
  quorumOfConfig,
  type ReconfigRequest,
  type ServerId,
  type Txn,
  type Zxid,
  zeroZxid,
} from '@zabkit/core';
import type { Rng } from './rng.js';
import type { Violation, World } from './world.js';

/** The super user's password the operator authenticates with. */
const superPassword = 'reconfig';
/** The digest every peer's superDigest names. */
export const membershipSuperDigest = digestOf('super', superPassword);
/** Connection ids of the operator's sessions: far above the clients'. */
const adminConnectionBase = 1_000_000_000;

/** Server `id` as a member in `role`, at the simulator's addresses. */
function simMember(id: ServerId, role: EnsembleMember['role']): EnsembleMember {
  return {
    id,
    host: `10.0.0.${id}`,
    quorumPort: 2888,
    electionPort: 3888,
    role,
    client: { address: '0.0.0.0', port: 2181 },
  };
}

/** The membership a run with membership changes starts from: three participants, the rest observers. */
export function initialMembership(ids: readonly ServerId[]): EnsembleConfig {
  const members = ids.map((id, index) => simMember(id, index < 3 ? 'participant' : 'observer'));
  return { members, version: zeroZxid };
}

/**
 * The view a server outside `membership` starts with, as ZooKeeper's guide has a joining
 * server's zoo.cfg: the members, and itself as a participant.
 */
export function joinerView(membership: EnsembleConfig, id: ServerId): EnsembleConfig {
  return { members: [...membership.members, simMember(id, 'participant')], version: membership.version };
}

/** A change the operator asks for, and what it is called in the fault counts. */
type Change = { readonly name: string; readonly request: ReconfigRequest };

const request = (joining: string | null, leaving: string | null): ReconfigRequest => ({
  op: 'reconfig',
  joiningServers: joining,
  leavingServers: leaving,
  newMembers: null,
  fromConfig: -1n,
});

/** A random change to `config`, in the form an operator would send it. */
export function drawChange(
  rng: Rng,
  config: EnsembleConfig,
  all: readonly ServerId[],
  leader: ServerId | undefined,
): Change | undefined {
  const participants = config.members.filter((m) => m.role === 'participant');
  const observers = config.members.filter((m) => m.role === 'observer');
  const absent = all.filter((id) => !config.members.some((m) => m.id === id));
  const as = (m: EnsembleMember, role: EnsembleMember['role']) => formatEnsembleMember({ ...m, role });
  const options: (() => Change | undefined)[] = [
    () =>
      observers.length === 0
        ? undefined
        : { name: 'promote', request: request(as(rng.pick(observers), 'participant'), null) },
    () =>
      participants.length <= 2
        ? undefined
        : { name: 'demote', request: request(as(rng.pick(participants), 'observer'), null) },
    () => {
      const current = participants.find((m) => m.id === leader);
      if (current === undefined || participants.length <= 2) return undefined;
      return { name: 'demoteLeader', request: request(as(current, 'observer'), null) };
    },
    () => {
      const candidates = [...observers, ...(participants.length > 3 ? participants : [])];
      if (candidates.length === 0) return undefined;
      return { name: 'remove', request: request(null, String(rng.pick(candidates).id)) };
    },
    () => {
      if (absent.length === 0) return undefined;
      const member = simMember(rng.pick(absent), 'observer');
      return { name: 'addObserver', request: request(formatEnsembleMember(member), null) };
    },
    () => {
      // A server outside the membership follows without a vote until this makes it a voter.
      if (absent.length === 0) return undefined;
      const member = simMember(rng.pick(absent), 'participant');
      return { name: 'addParticipant', request: request(formatEnsembleMember(member), null) };
    },
  ];
  for (const option of rng.shuffle(options)) {
    const change = option();
    if (change !== undefined) return change;
  }
  return undefined;
}

/**
 * The operator: one session at a time, connected to a serving member, authenticated as the
 * super user, sending one reconfig and waiting for its answer (or giving up after a while:
 * its outcome is then unknown, which is fine, as for any client).
 */
export class Operator {
  private nextConnectionId = adminConnectionBase;
  private active:
    | {
        readonly server: ServerId;
        readonly connectionId: number;
        readonly change: Change;
        stage: 'connecting' | 'auth' | 'reconfig';
      }
    | undefined;
  /** Outcomes by kind: "promote/ok", "remove/-14" (ReconfigInProgress)... */
  readonly outcomes: Record<string, number> = {};

  constructor(
    private readonly world: World,
    private readonly rng: Rng,
  ) {}

  /** Whether an output is for one of the operator's connections (then it handled it). */
  handles(server: ServerId, output: ClientOutput): boolean {
    if (output.connectionId < adminConnectionBase) return false;
    const active = this.active;
    if (active === undefined || active.server !== server || active.connectionId !== output.connectionId)
      return true;
    if (output.kind === 'close') {
      this.finish('closed');
      return true;
    }
    if (output.kind === 'connected') {
      if (output.timeoutMs <= 0) {
        this.finish('refused');
        return true;
      }
      active.stage = 'auth';
      this.world.step(server, {
        kind: 'request',
        connectionId: active.connectionId,
        xid: 1,
        request: { op: 'auth', scheme: 'digest', auth: new TextEncoder().encode(`super:${superPassword}`) },
      });
      active.stage = 'reconfig';
      this.world.step(server, {
        kind: 'request',
        connectionId: active.connectionId,
        xid: 2,
        request: active.change.request,
      });
      return true;
    }
    if (output.kind === 'reply' && output.xid === 2) {
      this.finish(output.reply.ok ? 'ok' : String(output.reply.code));
    }
    return true;
  }

  /** Asks for a random change through a serving member; false when none can be asked now. */
  change(crashLeaderShare: number): boolean {
    if (this.active !== undefined) return false;
    const serving = [...this.world.peers.values()].filter((node) => node.peer?.status().serving);
    if (serving.length === 0) return false;
    const via = this.rng.pick(serving);
    const config = via.peer!.ensembleConfig;
    if (config === undefined) return false;
    const leader = via.peer!.status().leaderId;
    const change = drawChange(this.rng, config, [...this.world.peers.keys()], leader);
    if (change === undefined) return false;
    const connectionId = this.nextConnectionId++;
    this.active = { server: via.id, connectionId, change, stage: 'connecting' };
    this.world.faultCounts[`reconfig/${change.name}`] =
      (this.world.faultCounts[`reconfig/${change.name}`] ?? 0) + 1;
    this.world.step(via.id, {
      kind: 'connect',
      connectionId,
      request: {
        sessionId: 0n,
        password: new Uint8Array(16),
        timeoutMs: 3000,
        lastZxidSeen: zeroZxid,
        readOnly: false,
        clientAddress: '10.0.9.9',
      },
    });
    // A crash in the middle of the change: the leader goes down just after it was asked for.
    if (leader !== undefined && this.rng.chance(crashLeaderShare)) {
      this.world.schedule(this.rng.int(0, 40), `crash leader ${leader} mid-reconfig`, () => {
        this.world.faultCounts.crashMidReconfig = (this.world.faultCounts.crashMidReconfig ?? 0) + 1;
        this.world.crash(leader);
        this.world.schedule(this.rng.int(100, 1500), `restart ${leader}`, () => this.world.restart(leader));
      });
    }
    // Give up on an answer that does not come: its outcome stays unknown.
    this.world.schedule(3000, `operator ${connectionId} timeout`, () => {
      if (this.active?.connectionId === connectionId) {
        this.world.step(via.id, { kind: 'disconnect', connectionId });
        this.finish('unknown');
      }
    });
    return true;
  }

  private finish(outcome: string): void {
    const active = this.active;
    if (active === undefined) return;
    this.active = undefined;
    const key = `${active.change.name}/${outcome}`;
    this.outcomes[key] = (this.outcomes[key] ?? 0) + 1;
    if (outcome === 'ok')
      this.world.faultCounts.reconfigCommitted = (this.world.faultCounts.reconfigCommitted ?? 0) + 1;
  }
}

/** Membership changes every so often during the faulty phase. */
export function injectMembershipChanges(
  world: World,
  rng: Rng,
  operator: Operator,
  untilMs: number,
  changesPerSecond: number,
): void {
  const everyMs = 100;
  const consider = () => {
    if (world.now >= untilMs) return;
    if (rng.chance((changesPerSecond * everyMs) / 1000)) operator.change(0.15);
    world.schedule(everyMs, 'membership', consider);
  };
  world.schedule(everyMs, 'membership', consider);
}

/**
 * ConfigQuorum: judged when a transaction is first applied anywhere (committed). `holds`
 * tells whether a server has a zxid durably (in its log, or in a snapshot at or beyond it).
 */
export class ConfigQuorumChecker {
  private inForce: EnsembleConfig;

  constructor(initial: EnsembleConfig) {
    this.inForce = initial;
  }

  committed(
    txn: Txn,
    servers: readonly ServerId[],
    holds: (id: ServerId, zxid: Zxid) => boolean,
  ): Violation | undefined {
    const holders = servers.filter((id) => holds(id, txn.zxid));
    const configs = [this.inForce];
    if (txn.body.kind === 'reconfig') {
      const next = parseEnsembleConfig(txn.body.config);
      configs.push(next);
      this.inForce = next;
    }
    for (const config of configs) {
      if (!quorumOfConfig(config).containsQuorum(holders))
        return {
          check: 'config-quorum',
          message: `${txn.zxid.toString(16)} (${txn.body.kind}) committed while only ${holders.join(',') || 'nobody'} held it, no majority of configuration ${config.version.toString(16)} (${config.members
            .filter((m) => m.role === 'participant')
            .map((m) => m.id)
            .join(',')})`,
        };
    }
    return undefined;
  }
}
