/**
 * Connections not yet authenticated: each gets a deadline, and there are at most `max` of
 * them. When one more arrives at the cap, the oldest is closed rather than the newcomer
 * refused: a stranger holding many half-open connections then only pushes out its own (they
 * are the oldest), while a real peer's handshake, which takes a round trip or two, is over
 * long before `max` newer connections could push it out.
 */
import type { Socket } from 'node:net';

/** Counters of what admission control did, for logs and tests. */
export interface AdmissionStats {
  /** Connections currently not authenticated. */
  readonly pending: number;
  /** Oldest pending connections closed to make room. */
  readonly evicted: number;
  /** Pending connections closed because their handshake did not finish in time. */
  readonly timedOut: number;
}

/** The table of unauthenticated connections. */
export class Admission {
  private readonly pending = new Map<Socket, NodeJS.Timeout>();
  private evictedCount = 0;
  private timedOutCount = 0;

  constructor(
    private readonly max: number,
    private readonly timeoutMs: number,
    private readonly onClosed: (socket: Socket, why: 'evicted' | 'timedOut') => void,
  ) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`max unauthenticated connections ${max}`);
    if (!(timeoutMs > 0)) throw new RangeError(`handshake timeout ${timeoutMs}`);
  }

  /** Starts the clock on a new connection, closing the oldest pending one if at the cap. */
  admit(socket: Socket): void {
    if (this.pending.size >= this.max) {
      const oldest = this.pending.keys().next().value as Socket;
      this.release(oldest);
      this.evictedCount++;
      oldest.destroy();
      this.onClosed(oldest, 'evicted');
    }
    const timer = setTimeout(() => {
      if (!this.pending.has(socket)) return;
      this.release(socket);
      this.timedOutCount++;
      socket.destroy();
      this.onClosed(socket, 'timedOut');
    }, this.timeoutMs);
    timer.unref();
    this.pending.set(socket, timer);
  }

  /** Authenticated or closed: no longer counted, no deadline. */
  release(socket: Socket): void {
    const timer = this.pending.get(socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.pending.delete(socket);
  }

  /** Whether `socket` is still waiting to authenticate. */
  has(socket: Socket): boolean {
    return this.pending.has(socket);
  }

  get stats(): AdmissionStats {
    return { pending: this.pending.size, evicted: this.evictedCount, timedOut: this.timedOutCount };
  }

  /** Forgets every connection (their sockets are destroyed by the owner). */
  clear(): void {
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }
}
