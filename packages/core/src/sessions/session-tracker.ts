/**
 * The leader's session tracker: negotiated timeouts and tick-bucket expiry. A session's
 * deadline is rounded up to the next multiple of the tick, so that expiry is checked once
 * per tick for a whole bucket of sessions (ZooKeeper's ExpiryQueue). Time is an input.
 */
import { assert } from '../errors.js';
import type { SessionId } from '../txn.js';

/** The session timeouts a server grants, in ms. */
export interface SessionTimeoutBounds {
  readonly tickTimeMs: number;
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
}

/** Clamps a requested timeout into the server's bounds, as ZooKeeper negotiates it. */
export function negotiateTimeout(requestedMs: number, bounds: SessionTimeoutBounds): number {
  return Math.min(Math.max(requestedMs, bounds.minSessionTimeoutMs), bounds.maxSessionTimeoutMs);
}

interface TrackedSession {
  readonly sessionId: SessionId;
  timeoutMs: number;
  /** The bucket (a multiple of the tick) in which the session expires. */
  expiresAtMs: number;
  closing: boolean;
}

/** Session deadlines in tick-aligned buckets, as ZooKeeper's ExpiryQueue. */
export class SessionTracker {
  private readonly sessions = new Map<SessionId, TrackedSession>();
  private readonly buckets = new Map<number, Set<SessionId>>();

  constructor(private readonly tickTimeMs: number) {
    assert(tickTimeMs > 0, 'tickTimeMs must be positive');
  }

  private bucketFor(deadlineMs: number): number {
    return (Math.floor(deadlineMs / this.tickTimeMs) + 1) * this.tickTimeMs;
  }

  /** Session ids by the bucket (a time in ms) they expire in, earliest first: for `dump`. */
  expiryBuckets(): Map<number, SessionId[]> {
    const buckets = [...this.buckets].filter(([, members]) => members.size > 0).sort(([a], [b]) => a - b);
    return new Map(buckets.map(([atMs, members]) => [atMs, [...members]]));
  }

  /** Sessions tracked, closing ones included. */
  get size(): number {
    return this.sessions.size;
  }

  /** True when the session is tracked, closing or not. */
  has(sessionId: SessionId): boolean {
    return this.sessions.has(sessionId);
  }

  /** True when the session exists and is not being closed. */
  isActive(sessionId: SessionId): boolean {
    const session = this.sessions.get(sessionId);
    return session !== undefined && !session.closing;
  }

  /** The session's negotiated timeout in ms, or undefined when it is not tracked. */
  timeoutOf(sessionId: SessionId): number | undefined {
    return this.sessions.get(sessionId)?.timeoutMs;
  }

  /** Starts tracking a session (or refreshes one that is tracked already). */
  add(sessionId: SessionId, timeoutMs: number, nowMs: number): void {
    const existing = this.sessions.get(sessionId);
    if (existing !== undefined) {
      existing.timeoutMs = timeoutMs;
      this.touch(sessionId, nowMs);
      return;
    }
    const session: TrackedSession = { sessionId, timeoutMs, expiresAtMs: 0, closing: false };
    this.sessions.set(sessionId, session);
    this.moveToBucket(session, this.bucketFor(nowMs + timeoutMs));
  }

  /** Pushes the session's deadline out by its timeout. False when it is gone or closing. */
  touch(sessionId: SessionId, nowMs: number): boolean {
    const session = this.sessions.get(sessionId);
    if (session === undefined || session.closing) return false;
    const bucket = this.bucketFor(nowMs + session.timeoutMs);
    if (bucket > session.expiresAtMs) this.moveToBucket(session, bucket);
    return true;
  }

  private moveToBucket(session: TrackedSession, bucket: number): void {
    this.buckets.get(session.expiresAtMs)?.delete(session.sessionId);
    if (this.buckets.get(session.expiresAtMs)?.size === 0) this.buckets.delete(session.expiresAtMs);
    session.expiresAtMs = bucket;
    let members = this.buckets.get(bucket);
    if (members === undefined) this.buckets.set(bucket, (members = new Set()));
    members.add(session.sessionId);
  }

  /** Marks a session as closing: it can no longer issue requests or be touched. */
  setClosing(sessionId: SessionId): void {
    const session = this.sessions.get(sessionId);
    if (session !== undefined) session.closing = true;
  }

  /** Stops tracking a session (its closeSession has been applied); unknown ids are ignored. */
  remove(sessionId: SessionId): void {
    const session = this.sessions.get(sessionId);
    if (session === undefined) return;
    this.sessions.delete(sessionId);
    const members = this.buckets.get(session.expiresAtMs);
    members?.delete(sessionId);
    if (members?.size === 0) this.buckets.delete(session.expiresAtMs);
  }

  /**
   * Returns the sessions whose deadline has passed at `nowMs`, marking them closing, in
   * deadline order and then in the order they entered their bucket; at most `limit` of them,
   * the others stay due for a later call.
   */
  expire(nowMs: number, limit = Number.POSITIVE_INFINITY): SessionId[] {
    assert(limit >= 0, 'an expiry limit is not negative');
    // Buckets are few (one per tick of the longest timeout), so scanning their keys is cheap
    // and, unlike stepping tick by tick, does not care how far the clock jumped.
    const due = [...this.buckets.keys()].filter((bucket) => bucket <= nowMs).sort((a, b) => a - b);
    const expired: SessionId[] = [];
    for (const bucket of due) {
      const members = this.buckets.get(bucket)!;
      for (const sessionId of members) {
        if (expired.length >= limit) return expired;
        this.sessions.get(sessionId)!.closing = true;
        expired.push(sessionId);
        members.delete(sessionId);
      }
      this.buckets.delete(bucket);
    }
    return expired;
  }
}
