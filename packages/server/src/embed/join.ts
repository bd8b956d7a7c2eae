/**
 * The join flow: a new instance of a service starts its peer with the address of any member
 * (`startPeer({ id, member, join })`) instead of the whole membership. It asks that member
 * for the configuration in force (`/zookeeper/config`), has itself added as an observer (a
 * reconfig, so the members learn its address and let it sync), starts with that membership,
 * syncs, and is then promoted to participant (unless it is to stay an observer). A restart
 * with the same options finds itself a member already and only starts. The membership it
 * joined is persisted by the peer as any reconfig is (the replicated `/zookeeper/config`),
 * and a later start prefers it to the options.
 *
 * The member asked is reached over its client port, as any ZooKeeper client reaches it, and
 * the reconfig needs the right to write `/zookeeper/config`: `join.auth` names the super
 * user's `user:password` (the members' `superDigest`). Promotion runs on the new peer itself,
 * through its own local session, which needs no credentials.
 *
 * @module
 */
import { connectTcp, type ZabClient } from '@zabkit/client';
import {
  type EnsembleConfig,
  ErrorCode,
  formatEnsembleMember,
  parseEnsembleConfig,
  ZabError,
} from '@zabkit/core';
import type { PeerMember } from './member.js';
import { ensembleMemberOf, peerMemberOf } from './membership.js';
import { timeBound } from './time-bound.js';

/** How a new instance joins an ensemble (see {@link startPeer}'s `join`). */
export interface JoinOptions {
  /** Any member's client port, or several: a connect string (`host:port,...`). */
  readonly connectString: string;
  /**
   * The super user's `user:password`, added as digest credentials before the reconfig (the
   * members' `superDigest` must match it). Without it the members answer NoAuth, unless they
   * run with skipACL.
   */
  readonly auth?: string;
  /** The role to end in: `participant` (default: added as an observer, synced, promoted) or `observer`. */
  readonly as?: 'participant' | 'observer';
  /**
   * How long each step may take (reaching the member, the reconfig; then the sync and the
   * promotion, in the background). Default 30 s.
   */
  readonly timeoutMs?: number;
}

/** A step of the join flow, as `peer.changes()` and the `join` event report it. */
export interface JoinChange {
  readonly kind: 'join';
  /**
   * `observer`: added as an observer (or found a member already), the peer starts with that
   * membership; `synced`: it serves as an observer; `participant`: promoted, it votes;
   * `joined`: done, in the role asked for; `failed`: a step failed (the peer runs on in the
   * role it has; `reason` says why).
   */
  readonly step: 'observer' | 'synced' | 'participant' | 'joined' | 'failed';
  /** The configuration's version after the step. */
  readonly version: bigint | undefined;
  readonly reason?: string;
}

/** The default bound of each join step. */
export const joinStepTimeoutDefaultMs = 30_000;

/** How many times a join computed from a version that moved on is retried. */
const versionRetriesMax = 3;

/**
 * Asks a member for the membership and adds `member` as an observer unless it is in it
 * already. Resolves with the membership to start with (this peer in it) and whether the
 * peer was added now.
 */
export async function joinAsObserver(
  id: number,
  member: PeerMember,
  join: JoinOptions,
): Promise<{ readonly config: EnsembleConfig; readonly added: boolean }> {
  const timeoutMs = join.timeoutMs ?? joinStepTimeoutDefaultMs;
  const client = await bounded(
    // The session's own connect gives up at the same bound: nothing keeps trying behind us.
    connectTcp(join.connectString, {
      sessionTimeoutMs: Math.min(timeoutMs, 30_000),
      connectTimeoutMs: timeoutMs,
    }),
    timeoutMs,
    `reaching ${join.connectString}`,
  );
  try {
    if (join.auth !== undefined)
      await bounded(client.addAuth('digest', join.auth), timeoutMs, 'authenticating');
    for (let attempt = 0; ; attempt++) {
      const current = await readConfig(client, timeoutMs);
      const existing = current.members.find((m) => m.id === id);
      if (existing !== undefined) {
        // A member already (a restart, or a join retried): start from what the ensemble says.
        return { config: current, added: false };
      }
      const line = formatEnsembleMember(ensembleMemberOf({ ...member, id }, 'observer'));
      try {
        const reading = await bounded(
          client.reconfig({
            newMembers: [...current.members.map(formatEnsembleMember), line],
            fromConfig: current.version,
          }),
          timeoutMs,
          'adding this server as an observer',
        );
        return { config: parseEnsembleConfig(reading.text), added: true };
      } catch (error) {
        const moved = error instanceof ZabError && error.code === ErrorCode.BadVersion;
        if (!moved || attempt + 1 >= versionRetriesMax) throw error;
      }
    }
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** The members a joining peer starts with: the configuration's, as `peers` lists them. */
export function peersOfConfig(config: EnsembleConfig): PeerMember[] {
  return [...config.members].sort((a, b) => a.id - b.id).map(peerMemberOf);
}

async function readConfig(client: ZabClient, timeoutMs: number): Promise<EnsembleConfig> {
  await bounded(client.sync('/zookeeper/config'), timeoutMs, 'reading the configuration');
  const reading = await bounded(client.getConfig(), timeoutMs, 'reading the configuration');
  const config = parseEnsembleConfig(reading.text);
  if (config.members.length === 0)
    throw new ZabError(
      ErrorCode.ReconfigDisabled,
      '/zookeeper/config',
      'the member asked names no membership',
    );
  return config;
}

function bounded<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return timeBound(work, timeoutMs, `joining: ${what} took longer than ${timeoutMs} ms`);
}
