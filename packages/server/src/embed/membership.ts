/**
 * The embedding API's membership calls: `peer.addServer`, `peer.removeServer` and
 * `peer.membership()`. Each change is a reconfig, as a client's (the same checks by the
 * leader, the same errors: ReconfigDisabled, NewConfigNoQuorum, ReconfigInProgress,
 * BadVersion, BadArguments), sent through a session on the local peer that holds the super
 * identity: the service's own code is trusted as ZooKeeper trusts its super user, so no
 * credentials are needed. A follower or observer forwards it to the leader as it forwards any
 * write; the call resolves once the new configuration is committed and applied here.
 *
 * The change goes as a whole new membership (ZooKeeper's non-incremental form) with
 * `fromConfig` set to the version it was computed from, so that it is a compare-and-set: a
 * concurrent change makes it BadVersion, and without an explicit `fromConfig` the call reads
 * the configuration again and retries, a bounded number of times.
 *
 * @module
 */
import type { ClientLink, LinkFactory, LinkHandlers, LinkMessage } from '@zabkit/client';
import { ZabClient } from '@zabkit/client';
import {
  type EnsembleConfig,
  type EnsembleMember,
  ErrorCode,
  formatEnsembleMember,
  parseEnsembleConfig,
  ZabError,
} from '@zabkit/core';
import type { PeerDriver } from '../peer-driver.js';
import type { PeerMember } from './member.js';

/** The ensemble's membership as one peer holds it in force: its version and members, in id order. */
export interface MembershipView {
  /** The configuration's version: the zxid of the reconfig that made it (0 for a static one). */
  readonly version: bigint;
  readonly members: readonly PeerMember[];
}

/** How a membership call runs. */
export interface MembershipChangeOptions {
  /**
   * Change only if the configuration in force has this version (BadVersion otherwise, as
   * the wire's `fromConfig`). Default: the version read when the call starts, re-read and
   * retried up to three times when another change commits first.
   */
  readonly fromConfig?: bigint;
  /**
   * How long the call may take, waiting for the local peer to serve included: then it
   * rejects with a TimeoutError and whether the change was made is unknown (read
   * `membership()`). Default 30 s.
   */
  readonly timeoutMs?: number;
  /** Reject with the signal's reason when it aborts (the change may still be made). */
  readonly signal?: AbortSignal;
}

/** How `addServer` adds a member. */
export interface AddServerOptions extends MembershipChangeOptions {
  /**
   * Its role: a voting `participant`, or a non-voting `observer`. Default: the member's own
   * `observer` flag (participant when unset). A member already in the ensemble with another
   * role or address is changed to this one.
   */
  readonly as?: 'participant' | 'observer';
}

/** The default bound of a membership call. */
export const membershipTimeoutDefaultMs = 30_000;

/** How many times a membership call computed from a version that moved on is retried. */
const versionRetriesMax = 3;

/** The identity ZooKeeper's super user holds: every ACL passes it. */
const superIdentity = [{ scheme: 'super', id: '' }] as const;

/** A peer member as the embedding API names it, from a configuration's member. */
export function peerMemberOf(member: EnsembleMember): PeerMember {
  return {
    id: member.id,
    host: member.host,
    port: member.quorumPort,
    ...(member.role === 'observer' ? { observer: true } : {}),
    ...(member.client === undefined ? {} : { clientPort: member.client.port }),
  };
}

/** The configuration's member for a peer member: zabkit elects over the peer port. */
export function ensembleMemberOf(member: PeerMember, role: 'participant' | 'observer'): EnsembleMember {
  return {
    id: member.id,
    host: member.host,
    quorumPort: member.port,
    electionPort: member.port,
    role,
    ...(member.clientPort === undefined ? {} : { client: { address: '0.0.0.0', port: member.clientPort } }),
  };
}

/** The view of a configuration. */
export function membershipViewOf(config: EnsembleConfig): MembershipView {
  return {
    version: config.version,
    members: [...config.members].sort((a, b) => a.id - b.id).map(peerMemberOf),
  };
}

/**
 * What a membership call wants of the configuration in force: the members it should have,
 * or undefined when it has them already (the call then changes nothing).
 */
export type MembershipEdit = (current: EnsembleConfig) => readonly EnsembleMember[] | undefined;

/** Checks a member handed to `addServer`, as `peers` entries are checked. */
export function checkMember(member: PeerMember): void {
  const where = `addServer(id ${String(member.id)})`;
  if (!Number.isSafeInteger(member.id) || member.id < 1 || member.id > 254)
    throw new RangeError(`${where}: expected a server id 1..254`);
  if (typeof member.host !== 'string' || member.host === '' || /[\s,;=]/.test(member.host))
    throw new RangeError(`${where}: expected a host name or address`);
  const ports = member.clientPort === undefined ? [member.port] : [member.port, member.clientPort];
  for (const port of ports)
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new RangeError(`${where}: expected ports 1..65535`);
}

/** The edit `addServer` makes: the member in, with its role. */
export function addEdit(member: PeerMember, role: 'participant' | 'observer'): MembershipEdit {
  const wanted = ensembleMemberOf(member, role);
  return (current) => {
    const existing = current.members.find((m) => m.id === wanted.id);
    if (existing !== undefined && formatEnsembleMember(existing) === formatEnsembleMember(wanted))
      return undefined;
    return [...current.members.filter((m) => m.id !== wanted.id), wanted];
  };
}

/** The edit `removeServer` makes: the member out. */
export function removeEdit(id: number): MembershipEdit {
  return (current) =>
    current.members.some((m) => m.id === id) ? current.members.filter((m) => m.id !== id) : undefined;
}

/**
 * Runs one membership change through a super session on the local peer: waits for it to
 * serve (`waitServing`), reads the configuration in force, and reconfigures from it.
 */
export async function changeMembership(
  driver: () => PeerDriver | undefined,
  waitServing: (options: { timeoutMs: number; signal?: AbortSignal }) => Promise<void>,
  edit: MembershipEdit,
  options: MembershipChangeOptions,
): Promise<MembershipView> {
  const timeoutMs = options.timeoutMs ?? membershipTimeoutDefaultMs;
  if (!(timeoutMs > 0)) throw new RangeError('timeoutMs must be a positive number');
  options.signal?.throwIfAborted();
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = options.signal === undefined ? deadline : AbortSignal.any([deadline, options.signal]);
  const bounded = <T>(work: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const onAbort = () =>
        reject(
          deadline.aborted
            ? new DOMException(
                `the membership change did not complete within ${timeoutMs} ms: whether it was made is unknown`,
                'TimeoutError',
              )
            : signal.reason,
        );
      if (signal.aborted) onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  await bounded(waitServing({ timeoutMs, signal }));
  const client = await bounded(
    // The session's own connect gives up at the same bound: nothing keeps trying behind us.
    ZabClient.connect(new SuperLocalLinks(driver), {
      sessionTimeoutMs: Math.max(4000, timeoutMs),
      connectTimeoutMs: timeoutMs,
    }),
  );
  try {
    for (let attempt = 0; ; attempt++) {
      // The newest committed configuration: a sync first, as for any read that must be current.
      await bounded(client.sync('/zookeeper/config'));
      const reading = await bounded(client.getConfig());
      const current = parseEnsembleConfig(reading.text);
      if (options.fromConfig !== undefined && options.fromConfig !== current.version)
        throw new ZabError(ErrorCode.BadVersion, '/zookeeper/config', `the version is ${current.version}`);
      const members = edit(current);
      if (members === undefined) return membershipViewOf(current);
      const newMembers = [...members].sort((a, b) => a.id - b.id).map(formatEnsembleMember);
      try {
        const applied = await bounded(client.reconfig({ newMembers, fromConfig: current.version }));
        return membershipViewOf(parseEnsembleConfig(applied.text));
      } catch (error) {
        const moved = error instanceof ZabError && error.code === ErrorCode.BadVersion;
        if (!moved || options.fromConfig !== undefined || attempt + 1 >= versionRetriesMax) throw error;
      }
    }
  } finally {
    await client.close().catch(() => undefined);
  }
}

/**
 * Links to the local peer alone, each holding the super identity from its session's first
 * request on. The peer must be serving; an attempt while it is not is refused, and the
 * client tries again after its backoff.
 */
class SuperLocalLinks implements LinkFactory {
  constructor(private readonly driver: () => PeerDriver | undefined) {}

  open(handlers: LinkHandlers): ClientLink {
    const driver = this.driver();
    if (driver === undefined || driver.isStopped) {
      return {
        connect: () => setImmediate(() => handlers.closed('lost')),
        send: () => undefined,
        close: () => undefined,
      };
    }
    let link: ClientLink | undefined;
    const granting: LinkHandlers = {
      message(message: LinkMessage) {
        // The identity is queued before the client hears it is connected, so it is held
        // before any request the client sends next.
        if (message.kind === 'connected' && message.timeoutMs > 0) link?.authenticated?.(superIdentity);
        handlers.message(message);
      },
      closed: (reason) => handlers.closed(reason),
    };
    link = driver.open(granting);
    return link;
  }
}
