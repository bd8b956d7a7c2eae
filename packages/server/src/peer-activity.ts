/**
 * Says what the ensemble is doing, as an operator reads it: each election round and how it
 * ended, each role change with its epoch and zxid, when the peer starts serving, and every
 * loss of a leader or of the quorum. The core keeps no log; this reads the peer's status after
 * each step and logs what changed, so it needs nothing from the core's protocol code.
 */
import type { PeerStatus } from '@zabkit/core';
import type { Logger } from './log.js';

const hex = (zxid: bigint): string => `0x${zxid.toString(16)}`;

function describeRole(status: PeerStatus): string {
  switch (status.role) {
    case 'leading':
      return 'leader';
    case 'following':
      return `follower of ${status.vote.leader}`;
    case 'observing':
      return `observer of ${status.vote.leader}`;
    case 'looking':
      return 'looking';
  }
}

/** Why a peer left a role, if the reason says the ensemble (not this peer) is at fault. */
function lostQuorum(reason: string): boolean {
  return /quorum/i.test(reason);
}

/** Turns a peer's successive statuses into log lines. One per driven peer. */
export class PeerActivityLog {
  private last: PeerStatus | undefined;
  /** When the current election round started (undefined once decided). */
  private lookingSinceMs: number | undefined;
  /** When the election last decided, until the peer serves. */
  private decidedAtMs: number | undefined;

  constructor(
    private readonly log: Logger,
    /** A clock that does not jump, for the durations logged. */
    private readonly nowMs: () => number,
  ) {}

  /** Logs what changed since the last status it saw. */
  observe(status: PeerStatus): void {
    const last = this.last;
    this.last = status;
    // The step of nearly every step: the same role, round and serving as before. Nothing
    // below logs then, so neither the clock nor the log fields are read.
    if (
      last !== undefined &&
      status.role !== 'looking' &&
      status.role === last.role &&
      status.electionRound === last.electionRound &&
      status.serving === last.serving
    )
      return;
    const now = this.nowMs();
    const fields = {
      serverId: status.serverId,
      role: status.role,
      round: status.electionRound,
      acceptedEpoch: status.acceptedEpoch,
      currentEpoch: status.currentEpoch,
      lastZxid: hex(status.lastLoggedZxid),
    };
    const newRound = last === undefined || status.electionRound !== last.electionRound;
    const reason = status.lookingReason;
    if (last !== undefined && last.role !== 'looking' && (status.role === 'looking' || newRound)) {
      // A peer that was part of a working ensemble lost it: an operator wants to know.
      const message =
        last.role === 'leading' && lostQuorum(reason)
          ? `lost the quorum: stepping down as leader of epoch ${last.currentEpoch} at zxid ${hex(last.lastLoggedZxid)}`
          : `no longer ${describeRole(last)} (epoch ${last.currentEpoch}): ${reason}`;
      // A learner that never served only failed to join; that is routine while an ensemble forms.
      const level = last.serving ? 'warn' : 'info';
      this.log[level]({ ...fields, was: last.role, reason }, message);
      this.lookingSinceMs = now;
      this.decidedAtMs = undefined;
    }
    if (status.role === 'looking' && (newRound || last?.role !== 'looking')) {
      this.lookingSinceMs ??= now;
      this.decidedAtMs = undefined;
      this.log.info(
        { ...fields, reason, vote: status.vote.leader },
        `looking for a leader, election round ${status.electionRound}: ${reason}`,
      );
      return;
    }
    if (status.role === 'looking' && last !== undefined && !sameVote(status, last)) {
      this.log.debug(
        {
          ...fields,
          vote: status.vote.leader,
          voteZxid: hex(status.vote.zxid),
          voteEpoch: status.vote.peerEpoch,
        },
        `election round ${status.electionRound}: voting for server ${status.vote.leader}`,
      );
      return;
    }
    if (status.role !== 'looking' && (last === undefined || last.role !== status.role || newRound)) {
      const tookMs = this.lookingSinceMs === undefined ? undefined : Math.round(now - this.lookingSinceMs);
      this.lookingSinceMs = undefined;
      this.decidedAtMs = now;
      this.log.info(
        { ...fields, leader: status.vote.leader, electionMs: tookMs },
        `election round ${status.electionRound} decided: ${describeRole(status)}` +
          (tookMs === undefined ? '' : ` after ${tookMs} ms`),
      );
    }
    if (status.serving && (last === undefined || !last.serving || last.role !== status.role)) {
      const sinceMs = this.decidedAtMs === undefined ? undefined : Math.round(now - this.decidedAtMs);
      this.decidedAtMs = undefined;
      this.log.info(
        { ...fields, leader: status.leaderId, establishMs: sinceMs },
        `serving as ${describeRole(status)}, epoch ${status.currentEpoch}, zxid ${hex(status.lastLoggedZxid)}` +
          (sinceMs === undefined ? '' : `, ${sinceMs} ms after the election`),
      );
    }
  }
}

function sameVote(a: PeerStatus, b: PeerStatus): boolean {
  return (
    a.vote.leader === b.vote.leader && a.vote.zxid === b.vote.zxid && a.vote.peerEpoch === b.vote.peerEpoch
  );
}
