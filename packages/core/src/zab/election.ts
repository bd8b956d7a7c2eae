/**
 * Fast Leader Election, as ZooKeeper runs it. Each peer proposes the best vote it knows,
 * ordered by (peerEpoch, last zxid, server id); it adopts a better vote and rebroadcasts;
 * it decides once a quorum agrees with its vote and a short wait brings nothing better.
 * A peer that joins an established ensemble learns the leader from the replies of peers
 * that are already following or leading. Pure: time arrives as `nowMs`.
 */
import { assert } from '../errors.js';
import type { Zxid } from '../zxid.js';
import type { ElectionMessage, PeerRole, Vote } from './messages.js';
import type { QuorumVerifier, ServerId } from './quorum.js';

/** How long an election waits and how often it resends. */
export interface ElectionOptions {
  /** How long a quorum's agreement must stand unchallenged before deciding. */
  readonly finalizeWaitMs: number;
  /** How often notifications are sent again while no decision is reached. */
  readonly resendIntervalMs: number;
  /**
   * The configuration in force, without those a logged reconfig only proposes; the
   * election's quorum if unset. Two things read it. Who may be elected: only its voters, as
   * ZooKeeper's vote order gives a server outside the committed configuration no weight.
   * Peers that have logged the proposal and peers that have not must rank votes alike, or a
   * joiner the first would elect is one the second never accepts, and neither side gives in.
   * And whose agreement suffices to join a leader already established: joining decides
   * nothing (the leader's discovery and NEWLEADER quorums keep ZAB safe), and a server holding
   * a reconfig that never committed must still reach the leader that will truncate it.
   */
  readonly inForce?: QuorumVerifier;
}

/** What an election step produces: messages to send, and a decision once there is one. */
export interface ElectionOutput {
  /** Notifications to send: to one peer, or to every other voter when `to` is 'voters'. */
  readonly send: readonly { readonly to: ServerId | 'voters'; readonly message: ElectionMessage }[];
  /** Set once the election has decided who leads. */
  readonly decided?: Vote;
  /**
   * True when the decision followed a leader that said it leads, with a quorum following it:
   * the leader is established and answers a new learner at once.
   */
  readonly joinedEstablished?: boolean;
}

interface Ballot {
  readonly vote: Vote;
  readonly electionEpoch: number;
  readonly state: PeerRole;
}

/**
 * True when `a` beats `b` in ZooKeeper's total order of votes. Non-voters never win. A
 * `preferred` server (a leadership transfer's successor) wins the ties between votes of the
 * same epoch and zxid, where the higher id would: only the id's place changes, never that of
 * a more complete history, so the leader elected still holds every committed transaction.
 */
export function betterVote(a: Vote, b: Vote, quorum: QuorumVerifier, preferred?: ServerId): boolean {
  if (!quorum.voters.has(a.leader)) return false;
  if (!quorum.voters.has(b.leader)) return true;
  if (a.peerEpoch !== b.peerEpoch) return a.peerEpoch > b.peerEpoch;
  if (a.zxid !== b.zxid) return a.zxid > b.zxid;
  if (preferred !== undefined && (a.leader === preferred) !== (b.leader === preferred))
    return a.leader === preferred;
  return a.leader > b.leader;
}

/**
 * A leadership transfer's successor, as the peers it told vote for it: its vote (every
 * proposal of the old leader acknowledged), preferred in ties until `untilMs`. Peers that
 * were not told order votes as usual; the preference ends, and the round starts again
 * without it, so that both kinds always agree in the end.
 */
export interface PreferredLeader {
  readonly vote: Vote;
  readonly untilMs: number;
}

function sameVote(a: Vote, b: Vote): boolean {
  return a.leader === b.leader && a.zxid === b.zxid && a.peerEpoch === b.peerEpoch;
}

/**
 * Peers that have decided may report votes whose zxids differ (they joined at different
 * moments); as in ZooKeeper (ZOOKEEPER-1732), they agree when they name the same leader of
 * the same epoch.
 */
function sameLeader(a: Vote, b: Vote): boolean {
  return a.leader === b.leader && a.peerEpoch === b.peerEpoch;
}

/** ZooKeeper's Fast Leader Election, as a pure state machine. */
export class FastLeaderElection {
  private logicalClock = 0;
  private proposal: Vote;
  private ownVote: Vote;
  private readonly received = new Map<ServerId, Ballot>();
  private readonly outOfElection = new Map<ServerId, Ballot>();
  /** What we last told each looking non-voter, and when (see shouldAnswerNonVoter). */
  private readonly answeredNonVoters = new Map<ServerId, { readonly key: string; readonly atMs: number }>();
  private decideAtMs: number | undefined;
  private nextResendMs = 0;
  private resendDelayMs: number;
  /** A leadership transfer's successor, preferred in ties for a while (see PreferredLeader). */
  private preferred: PreferredLeader | undefined;

  constructor(
    private readonly selfId: ServerId,
    private readonly quorum: QuorumVerifier,
    private readonly options: ElectionOptions,
  ) {
    this.ownVote = { leader: selfId, zxid: 0n as Zxid, peerEpoch: 0 };
    this.proposal = this.ownVote;
    this.resendDelayMs = options.resendIntervalMs;
  }

  get clock(): number {
    return this.logicalClock;
  }

  /** The vote this peer currently proposes (or, once decided, the one it decided on). */
  get currentVote(): Vote {
    return this.proposal;
  }

  /** The configuration in force: its voters are those that may be elected. */
  private get inForce(): QuorumVerifier {
    return this.options.inForce ?? this.quorum;
  }

  /** Whether we may be elected: a voter of the configuration in force. */
  private get participant(): boolean {
    return this.inForce.voters.has(this.selfId);
  }

  /** `a` beats `b`, the preferred successor winning ties while it is preferred. */
  private better(a: Vote, b: Vote): boolean {
    return betterVote(a, b, this.inForce, this.preferred?.vote.leader);
  }

  /** The vote to start from: ours, or the preferred successor's when it beats ours. */
  private baseVote(): Vote {
    const preferred = this.preferred?.vote;
    return preferred !== undefined && this.participant && this.better(preferred, this.ownVote)
      ? preferred
      : this.ownVote;
  }

  /** How long a successor stays preferred after a transfer: a few decision waits and resends. */
  private get preferenceWindowMs(): number {
    return 4 * (this.options.finalizeWaitMs + this.options.resendIntervalMs);
  }

  /**
   * Starts a new round: vote for ourselves (if we may lead) and tell every voter. After a
   * leadership transfer, `successor` is the vote of the server the old leader handed over to:
   * we vote for it and prefer it in ties for a while.
   */
  start(lastZxid: Zxid, currentEpoch: number, nowMs: number, successor?: Vote): ElectionOutput {
    assert(currentEpoch >= 0, 'epochs are not negative');
    this.logicalClock++;
    this.received.clear();
    this.outOfElection.clear();
    this.decideAtMs = undefined;
    this.preferred =
      successor === undefined ? undefined : { vote: successor, untilMs: nowMs + this.preferenceWindowMs };
    // An observer proposes nobody: any voter's vote beats it.
    this.ownVote = { leader: this.participant ? this.selfId : -1, zxid: lastZxid, peerEpoch: currentEpoch };
    this.proposal = this.baseVote();
    this.resendDelayMs = this.options.resendIntervalMs;
    this.nextResendMs = nowMs + this.resendDelayMs;
    // A lone voter is its own quorum.
    if (this.quorumAgrees(this.received, this.proposal, this.logicalClock)) this.decideAtMs = nowMs;
    return { send: [this.broadcast()] };
  }

  private broadcast(): { to: 'voters'; message: ElectionMessage } {
    return { to: 'voters', message: this.notification('looking') };
  }

  private notification(state: PeerRole): ElectionMessage {
    return { kind: 'notification', vote: this.proposal, electionEpoch: this.logicalClock, state };
  }

  /**
   * Once a leader is established (or we follow one that is), the vote we report to peers
   * still looking names that leader and its established epoch, so that every member of the
   * ensemble reports the same and a late joiner can recognise a quorum behind it.
   */
  announce(vote: Vote): void {
    if (!sameLeader(this.proposal, vote)) this.proposal = vote;
  }

  /** The notification a peer that has decided sends to a peer still looking. */
  answerWhileDecided(state: PeerRole): ElectionMessage {
    return this.notification(state);
  }

  /** Handles a notification while this peer is looking. */
  receive(from: ServerId, message: ElectionMessage, nowMs: number): ElectionOutput {
    const send: { to: ServerId | 'voters'; message: ElectionMessage }[] = [];
    // Non-voters are told our vote but do not count. One that has decided (an observer that
    // follows) needs nothing from us: answering it would have it answer again, forever.
    if (!this.quorum.voters.has(from))
      return message.state === 'looking' && this.shouldAnswerNonVoter(from, nowMs)
        ? { send: [{ to: from, message: this.notification('looking') }] }
        : { send: [] };
    if (message.state === 'looking') return this.receiveLooking(from, message, nowMs, send);
    if (message.state === 'observing') return { send };
    return this.receiveDecided(from, message, send);
  }

  /**
   * A looking non-voter is told our vote when it changed since we last told it, or a resend
   * interval later (in case that answer was lost): two looking peers that each count the
   * other out (their configurations differ during a reconfiguration) would otherwise answer
   * each other at once, forever.
   */
  private shouldAnswerNonVoter(from: ServerId, nowMs: number): boolean {
    const vote = this.proposal;
    const key = `${this.logicalClock}/${vote.leader}/${vote.zxid}/${vote.peerEpoch}`;
    const last = this.answeredNonVoters.get(from);
    if (last !== undefined && last.key === key && nowMs - last.atMs < this.options.resendIntervalMs)
      return false;
    this.answeredNonVoters.set(from, { key, atMs: nowMs });
    return true;
  }

  private receiveLooking(
    from: ServerId,
    message: ElectionMessage,
    nowMs: number,
    send: { to: ServerId | 'voters'; message: ElectionMessage }[],
  ): ElectionOutput {
    // A peer that looks follows and leads no longer: the ballot it sent as a decided peer is
    // stale. Kept, it would count toward joining a leader it has left (or, if that leader is
    // us, toward leading again on a history it showed was behind).
    const wasDecided = this.outOfElection.delete(from);
    if (message.electionEpoch > this.logicalClock) {
      this.logicalClock = message.electionEpoch;
      this.received.clear();
      const base = this.baseVote();
      this.proposal = this.better(message.vote, base) ? message.vote : base;
      this.decideAtMs = undefined;
      send.push(this.broadcast());
    } else if (message.electionEpoch < this.logicalClock) {
      // A peer in an older round: tell it where we are so it catches up.
      return { send: [{ to: from, message: this.notification('looking') }] };
    } else if (this.better(message.vote, this.proposal)) {
      this.proposal = message.vote;
      this.decideAtMs = undefined;
      send.push(this.broadcast());
    } else if (wasDecided && !sameVote(message.vote, this.proposal)) {
      // It answered our vote while it still followed or led, and now looks with a worse one:
      // it has not taken ours in. Tell it now rather than at our next resend.
      send.push({ to: from, message: this.notification('looking') });
    }
    this.received.set(from, { vote: message.vote, electionEpoch: message.electionEpoch, state: 'looking' });
    assert(this.received.size <= this.quorum.voters.size, 'one ballot per voter');
    assert(!this.better(this.ownVote, this.proposal), 'we never propose worse than our own vote');
    if (this.quorumAgrees(this.received, this.proposal, this.logicalClock)) {
      this.decideAtMs ??= nowMs + this.options.finalizeWaitMs;
    }
    return { send };
  }

  private receiveDecided(
    from: ServerId,
    message: ElectionMessage,
    send: { to: ServerId | 'voters'; message: ElectionMessage }[],
  ): ElectionOutput {
    const ballot: Ballot = { vote: message.vote, electionEpoch: message.electionEpoch, state: message.state };
    if (message.electionEpoch === this.logicalClock) {
      this.received.set(from, ballot);
      if (
        this.quorumAgrees(this.received, message.vote, message.electionEpoch) &&
        this.leaderConfirmed(this.received, message.vote.leader, message.electionEpoch)
      ) {
        return this.decide(message.vote, send, this.leadingBallot(this.received, message.vote.leader));
      }
    }
    this.outOfElection.set(from, ballot);
    if (
      this.quorumAgrees(this.outOfElection, message.vote, undefined, this.inForce) &&
      this.leaderConfirmed(this.outOfElection, message.vote.leader, message.electionEpoch)
    ) {
      this.logicalClock = message.electionEpoch;
      return this.decide(message.vote, send, this.leadingBallot(this.outOfElection, message.vote.leader));
    }
    return { send };
  }

  private quorumAgrees(
    ballots: Map<ServerId, Ballot>,
    vote: Vote,
    electionEpoch: number | undefined,
    quorum: QuorumVerifier = this.quorum,
  ): boolean {
    const agreeing: ServerId[] = [];
    for (const [id, ballot] of ballots) {
      const agrees = ballot.state === 'looking' ? sameVote(ballot.vote, vote) : sameLeader(ballot.vote, vote);
      if (!agrees) continue;
      if (electionEpoch !== undefined && ballot.electionEpoch !== electionEpoch) continue;
      agreeing.push(id);
    }
    // Our own proposal counts toward agreement with it.
    if (sameVote(this.proposal, vote)) agreeing.push(this.selfId);
    return quorum.containsQuorum(agreeing);
  }

  /** A leader other than us must itself say it leads; if it is us, the round must be ours. */
  private leaderConfirmed(ballots: Map<ServerId, Ballot>, leader: ServerId, electionEpoch: number): boolean {
    if (leader === this.selfId) return electionEpoch === this.logicalClock;
    return ballots.get(leader)?.state === 'leading';
  }

  /** Whether the leader itself told us it leads (as opposed to our own round deciding for it). */
  private leadingBallot(ballots: Map<ServerId, Ballot>, leader: ServerId): boolean {
    return leader !== this.selfId && ballots.get(leader)?.state === 'leading';
  }

  private decide(
    vote: Vote,
    send: { to: ServerId | 'voters'; message: ElectionMessage }[],
    joinedEstablished = false,
  ): ElectionOutput {
    assert(this.quorum.voters.has(vote.leader), 'an election decides for a voter');
    assert(this.received.size <= this.quorum.voters.size, 'one ballot per voter');
    assert(this.outOfElection.size <= this.quorum.voters.size, 'one ballot per voter out of election');
    this.proposal = vote;
    this.decideAtMs = undefined;
    return joinedEstablished ? { send, decided: vote, joinedEstablished } : { send, decided: vote };
  }

  /** When `tick` will next do something: decide, send our vote again, or stop preferring a successor. */
  nextDueMs(): number {
    const due =
      this.decideAtMs === undefined ? this.nextResendMs : Math.min(this.decideAtMs, this.nextResendMs);
    return this.preferred === undefined ? due : Math.min(due, this.preferred.untilMs);
  }

  /**
   * Time passes: decide after an unchallenged wait, or send our vote again. A successor's
   * preference that ran out without a decision ends, and a new round starts from our own
   * vote: peers that were never told of the transfer would otherwise disagree for good.
   */
  tick(nowMs: number): ElectionOutput {
    if (this.preferred !== undefined && nowMs >= this.preferred.untilMs) {
      this.preferred = undefined;
      this.logicalClock++;
      this.received.clear();
      this.outOfElection.clear();
      this.decideAtMs = undefined;
      this.proposal = this.ownVote;
      this.resendDelayMs = this.options.resendIntervalMs;
      this.nextResendMs = nowMs + this.resendDelayMs;
      return { send: [this.broadcast()] };
    }
    if (this.decideAtMs !== undefined && nowMs >= this.decideAtMs) {
      return this.decide(this.proposal, []);
    }
    if (nowMs >= this.nextResendMs) {
      // Back off, as ZooKeeper does, so an isolated peer does not flood the network.
      this.resendDelayMs = Math.min(this.resendDelayMs * 2, this.options.resendIntervalMs * 8);
      this.nextResendMs = nowMs + this.resendDelayMs;
      return { send: [this.broadcast()] };
    }
    return { send: [] };
  }
}
