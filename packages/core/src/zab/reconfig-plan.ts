/**
 * The leader's checks of a client's reconfig, in ZooKeeper's order (PrepRequestProcessor's
 * OpCode.reconfig), and the configuration it proposes: ReconfigDisabled, ReconfigInProgress
 * (one change at a time), BadVersion (fromConfig), BadArguments (text that does not parse, a
 * joining server without a client port, fewer than two participants), NewConfigNoQuorum (the
 * new configuration's quorum is not connected and synced to this leader), then NoAuth (WRITE
 * on /zookeeper/config, which only the super user holds by default). A change that changes
 * nothing is a new version of the same members, as in ZooKeeper. Pure: the leader says what
 * it knows.
 */
import {
  type EnsembleConfig,
  EnsembleConfigError,
  type EnsembleMember,
  formatEnsembleConfig,
  parseMemberIds,
  parseMemberList,
  quorumOfConfig,
} from '../ensemble-config.js';
import { ErrorCode, type ErrorCodeValue } from '../errors.js';
import type { ReconfigRequest } from '../requests.js';
import type { TxnBody } from '../txn.js';
import type { Zxid } from '../zxid.js';
import type { ServerId } from './quorum.js';

/** What the leader knows when it prepares a reconfig. */
export interface ReconfigContext {
  readonly enabled: boolean;
  /** Whether the session may WRITE /zookeeper/config (its ACL, or the super user). */
  readonly authorized: boolean;
  /** The configuration in force; undefined when the ensemble was named by ids alone. */
  readonly config: EnsembleConfig | undefined;
  /** Whether a reconfig is proposed and not yet committed. */
  readonly inProgress: boolean;
  /** The voters connected to this leader and synced with it (itself included when it votes). */
  readonly syncedVoters: ReadonlySet<ServerId>;
}

/** The transaction a reconfig becomes at `zxid`: the new configuration, or the error it fails with. */
export function prepareReconfig(request: ReconfigRequest, zxid: Zxid, context: ReconfigContext): TxnBody {
  const outcome = planReconfig(request, context);
  if (typeof outcome === 'number') return { kind: 'error', code: outcome };
  return { kind: 'reconfig', config: formatEnsembleConfig({ members: outcome, version: zxid }) };
}

/** The new members, or the error code the reconfig fails with, in ZooKeeper's order of checks. */
export function planReconfig(
  request: ReconfigRequest,
  context: ReconfigContext,
): EnsembleMember[] | ErrorCodeValue {
  if (!context.enabled || context.config === undefined) return ErrorCode.ReconfigDisabled;
  if (context.inProgress) return ErrorCode.ReconfigInProgress;
  const current = context.config;
  if (request.fromConfig !== -1n && request.fromConfig !== current.version) return ErrorCode.BadVersion;
  let members: EnsembleMember[];
  try {
    if (request.newMembers !== null) {
      // Commas or newlines, as ZooKeeper reads the list as a dynamic configuration file, whose
      // `version=` line (zkCli's `reconfig -file` sends one) is allowed and ignored: the
      // version is the reconfig's zxid.
      const parts = request.newMembers.split(/[,\n]/).filter((part) => !/^\s*version\s*=/.test(part));
      members = parseMemberList(parts.join(','));
    } else {
      // Incremental: the leaving servers go, then the joining ones are added (or replace the
      // member of the same id: a role or address change). A joining server names its client
      // port, as ZooKeeper requires ("at least 3 ports").
      const next = new Map(current.members.map((member) => [member.id, member]));
      if (request.leavingServers !== null)
        for (const id of parseMemberIds(request.leavingServers)) next.delete(id);
      if (request.joiningServers !== null)
        for (const member of parseMemberList(request.joiningServers)) {
          if (member.client === undefined)
            throw new EnsembleConfigError(`server.${member.id} names no client port`);
          next.set(member.id, member);
        }
      members = [...next.values()];
    }
  } catch (error) {
    if (error instanceof EnsembleConfigError) return ErrorCode.BadArguments;
    throw error;
  }
  members.sort((a, b) => a.id - b.id);
  // ZooKeeper (standaloneEnabled, its default) refuses fewer than two voters: one alone would
  // have to run standalone, which a reconfig cannot switch to.
  if (members.filter((member) => member.role === 'participant').length < 2) return ErrorCode.BadArguments;
  // The new configuration must be able to decide at once: a quorum of it connected and synced.
  if (!quorumOfConfig({ members, version: current.version }).containsQuorum(context.syncedVoters))
    return ErrorCode.NewConfigNoQuorum;
  // Checked last, as ZooKeeper checks WRITE on /zookeeper/config once the change is known.
  if (!context.authorized) return ErrorCode.NoAuth;
  return members;
}
