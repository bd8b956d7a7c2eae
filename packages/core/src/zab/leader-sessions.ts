/**
 * The leader's view of the global sessions, which it alone owns: their deadlines (tick-bucket
 * expiry), the touches learners relay, and which server each session is attached to
 * (ZooKeeper's session owner). Created when the leader is established; every session the
 * tree holds then gets a full timeout from that moment, as ZooKeeper's new leader gives it.
 */
import { assert } from '../errors.js';
import { SessionTracker } from '../sessions/session-tracker.js';
import type { SessionId } from '../txn.js';
import type { ServerId } from './quorum.js';

/** Global sessions as the leader tracks them: deadlines and owners. */
export class LeaderSessions {
  /** Replaced whole by a restore. */
  private tracker: SessionTracker;
  /**
   * Which server each session is attached to. A request that reaches the leader through any
   * other server comes from a connection the client has left: it fails with SessionMoved, so a
   * write delayed on the old path cannot land after the client has moved on. Unknown after an
   * election until a server touches the session.
   */
  private readonly owners = new Map<SessionId, ServerId>();

  constructor(
    private readonly tickTimeMs: number,
    sessions: Iterable<readonly [SessionId, number]>,
    nowMs: number,
  ) {
    this.tracker = new SessionTracker(tickTimeMs);
    for (const [sessionId, timeoutMs] of sessions) this.tracker.add(sessionId, timeoutMs, nowMs);
  }

  /**
   * A restore was applied: the snapshot's sessions are the only ones, each with a full timeout
   * from now (as a new leader gives the sessions it finds), owned by nobody until touched.
   */
  restored(sessions: Iterable<readonly [SessionId, number]>, nowMs: number): void {
    this.tracker = new SessionTracker(this.tickTimeMs);
    this.owners.clear();
    for (const [sessionId, timeoutMs] of sessions) this.tracker.add(sessionId, timeoutMs, nowMs);
  }

  /** Session ids by the time (ms) they expire at, earliest first. */
  expiryBuckets(): Map<number, SessionId[]> {
    return this.tracker.expiryBuckets();
  }

  /** Sessions tracked, closing ones included. */
  get size(): number {
    return this.tracker.size;
  }

  /** True when the session lives and is not being closed: it may issue requests. */
  isActive(sessionId: SessionId): boolean {
    return this.tracker.isActive(sessionId);
  }

  /** The session's negotiated timeout, or undefined when it is not tracked. */
  timeoutOf(sessionId: SessionId): number | undefined {
    return this.tracker.timeoutOf(sessionId);
  }

  /** Pushes a session's deadline out; false when it is gone or closing. */
  touch(sessionId: SessionId, nowMs: number): boolean {
    return this.tracker.touch(sessionId, nowMs);
  }

  /** A createSession is proposed through `via`: the session is tracked from now, owned by `via`. */
  created(sessionId: SessionId, timeoutMs: number, via: ServerId, nowMs: number): void {
    assert(timeoutMs > 0, 'a session has a positive timeout');
    this.tracker.add(sessionId, timeoutMs, nowMs);
    this.owners.set(sessionId, via);
    assert(this.tracker.has(sessionId), 'a created session is tracked');
  }

  /** True when `server` may act for the session; claims it when nobody has yet. */
  ownedBy(sessionId: SessionId, server: ServerId): boolean {
    const owner = this.owners.get(sessionId);
    if (owner === undefined) {
      this.owners.set(sessionId, server);
      return true;
    }
    return owner === server;
  }

  /** A closeSession is proposed: the session may issue nothing more, and nobody owns it. */
  closing(sessionId: SessionId): void {
    this.tracker.setClosing(sessionId);
    this.owners.delete(sessionId);
    assert(!this.tracker.isActive(sessionId), 'a closing session is not active');
  }

  /** A client moved to `server`: valid if the session lives; then touched and owned by `server`. */
  revalidate(sessionId: SessionId, server: ServerId, nowMs: number): boolean {
    // The tracker knows sessions from the moment their creation is proposed, before it commits.
    const valid = this.tracker.touch(sessionId, nowMs);
    if (valid) this.owners.set(sessionId, server);
    return valid;
  }

  /** Sessions whose deadline has passed, now closing, in deadline order; at most `limit`. */
  expire(nowMs: number, limit: number): SessionId[] {
    const expired = this.tracker.expire(nowMs, limit);
    assert(expired.length <= limit, 'no more expiries than asked for');
    for (const sessionId of expired)
      assert(!this.tracker.isActive(sessionId), 'an expired session is closing');
    return expired;
  }

  /** The session's closeSession was applied: forget it. */
  closed(sessionId: SessionId): void {
    this.tracker.remove(sessionId);
    assert(!this.tracker.has(sessionId), 'a closed session is no longer tracked');
  }
}
