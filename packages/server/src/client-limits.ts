/**
 * The client port's limits: how many connections, how many requests awaiting a reply, how
 * many bytes of replies a client may leave unread, and how long a connection may go without
 * a session. Each bound protects the server from one kind of client (a flood of connections,
 * a pipeline that never waits, a reader that never reads, a socket that never speaks).
 */

/** The client port's bounds; {@link defaultClientPortLimits} holds the defaults. */
export interface ClientPortLimits {
  /**
   * Connections open at once on this listener; 0 for no limit (ZooKeeper's `maxCnxns`, which
   * also counts its plain and secure listeners apart). A connection over it is closed at once.
   */
  readonly maxConnections: number;
  /**
   * Requests awaiting their reply across every connection of this server: this server's share
   * of ZooKeeper's `globalOutstandingLimit`. At the limit, a connection with a request of its own
   * outstanding is not read until the total falls below it; one with none is still read, so a
   * single flooding client cannot lock the others out.
   */
  readonly maxOutstandingTotal: number;
  /** Requests awaiting their reply on one connection; beyond it the socket is not read. */
  readonly maxOutstandingPerConnection: number;
  /**
   * Reply bytes queued for one connection (encoded but not yet taken by the kernel) above which
   * the connection's requests are not served and its socket is not read, until the queue drains.
   */
  readonly writeBufferHighWaterBytes: number;
  /** Reply bytes queued for one connection above which it is closed at once (a slow consumer). */
  readonly writeBufferMaxBytes: number;
  /**
   * How long a connection may stay above the high-water mark before it is closed, in ms; 0
   * means the session's negotiated timeout (after which its client has given up anyway).
   */
  readonly writeStallTimeoutMs: number;
  /**
   * How long a connection may stay open without a session, in ms (ZooKeeper's
   * `nio.sessionlessCnxnTimeout`): half a handshake, a four-letter word that never ends, or
   * nothing at all.
   */
  readonly sessionlessTimeoutMs: number;
  /**
   * TLS handshakes under way at once on this listener; 0 for no limit (ZooKeeper's
   * `netty.server.outstandingHandshake.limit`, off by default). A connection whose handshake
   * would pass it is closed at once, before any TLS work, and counted (tls_handshake_exceeded).
   */
  readonly tlsHandshakesMax: number;
}

/**
 * The defaults: ZooKeeper's where it has the setting (no total connection limit, 1000
 * outstanding requests, 10 s without a session), and zabkit's own for the per-connection
 * bounds ZooKeeper lacks.
 */
export const defaultClientPortLimits: ClientPortLimits = {
  maxConnections: 0,
  maxOutstandingTotal: 1000,
  maxOutstandingPerConnection: 256,
  writeBufferHighWaterBytes: 4 * 1024 * 1024,
  writeBufferMaxBytes: 64 * 1024 * 1024,
  writeStallTimeoutMs: 0,
  sessionlessTimeoutMs: 10_000,
  tlsHandshakesMax: 0,
};

/**
 * This server's share of `globalOutstandingLimit`, divided as ZooKeeper divides it: by the
 * number of voters less one when there are more than two, since clients spread over them.
 */
export function outstandingShare(globalOutstandingLimit: number, voters: number): number {
  const divisor = voters > 2 ? voters - 1 : 1;
  return Math.max(1, Math.floor(globalOutstandingLimit / divisor));
}

/** Something that waits for the server-wide outstanding count to fall below its limit. */
export interface BudgetWaiter {
  /** Called once the count is below the limit again; the waiter then tries again. */
  budgetAvailable(): void;
}

/**
 * The requests awaiting a reply across one server's connections, against
 * {@link ClientPortLimits.maxOutstandingTotal}. Waiters are woken together, once per turn of
 * the event loop, when the count falls below the limit.
 */
export class OutstandingBudget {
  private count = 0;
  private highest = 0;
  private readonly waiters = new Set<BudgetWaiter>();
  private wakeScheduled = false;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`outstanding limit ${limit} must be >= 1`);
  }

  /** Requests awaiting a reply now. */
  get outstanding(): number {
    return this.count;
  }

  /** The highest {@link OutstandingBudget.outstanding} seen. */
  get peak(): number {
    return this.highest;
  }

  /** True when the server is at its limit. */
  get exhausted(): boolean {
    return this.count >= this.limit;
  }

  /** One more request is on its way to the core. */
  take(): void {
    this.count++;
    if (this.count > this.highest) this.highest = this.count;
  }

  /** `n` requests were answered (or their connection went away). */
  release(n: number): void {
    if (n <= 0) return;
    this.count -= n;
    if (this.count < 0) throw new Error(`outstanding count went negative (${this.count})`);
    if (this.count < this.limit && this.waiters.size > 0 && !this.wakeScheduled) {
      this.wakeScheduled = true;
      setImmediate(() => this.wake());
    }
  }

  /** `waiter` wants to be told when the count is below the limit. */
  wait(waiter: BudgetWaiter): void {
    this.waiters.add(waiter);
  }

  /** `waiter` no longer waits (its connection closed). */
  forget(waiter: BudgetWaiter): void {
    this.waiters.delete(waiter);
  }

  private wake(): void {
    this.wakeScheduled = false;
    for (const waiter of [...this.waiters]) {
      if (this.exhausted) return;
      this.waiters.delete(waiter);
      waiter.budgetAvailable();
    }
  }
}
