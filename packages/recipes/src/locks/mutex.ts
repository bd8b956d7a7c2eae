/**
 * A distributed mutex (Curator's InterProcessMutex): herd-free, re-entrant within one
 * Mutex object, with timeouts and AbortSignal. A holder whose connection drops must assume
 * the lock may be lost (`onSuspended`); once its session expires the lock is lost
 * (`onLost`), because the server deleted the lock node with the session.
 */
import type { ZabClient } from '@zabkit/client';
import { firstN, LockInternals } from './lock-internals.js';

/** What an acquire may be given. */
export interface AcquireOptions {
  /** Give up after this long: acquire resolves false and leaves no node behind. */
  readonly timeoutMs?: number;
  /** Abort the wait: acquire rejects with the signal's reason (an AbortError). */
  readonly signal?: AbortSignal;
}

type Listener = () => void;

/** A lock on `path` that at most one holder in the ensemble holds at a time. */
export class Mutex {
  private readonly internals: LockInternals;
  private holding: { path: string; count: number; stopWatching: () => void } | undefined;
  private readonly lostListeners = new Set<Listener>();
  private readonly suspendedListeners = new Set<Listener>();

  constructor(
    private readonly zk: ZabClient,
    readonly path: string,
  ) {
    this.internals = new LockInternals(zk, path, 'lock-', firstN(1));
  }

  /** True while this object holds the lock and its session lives. */
  get isHeld(): boolean {
    return this.holding !== undefined;
  }

  /** The holder's lock node, while held. */
  get nodePath(): string | undefined {
    return this.holding?.path;
  }

  /**
   * Takes the lock, waiting for it if needed. Re-entrant: a holder may acquire again and
   * must release as many times. Resolves false on timeout; rejects on abort, or when the
   * session ends (SessionExpired), never with the outcome unknown.
   */
  async acquire(options: AcquireOptions = {}): Promise<boolean> {
    if (this.holding !== undefined) {
      this.holding.count++;
      return true;
    }
    const path = await this.internals.attempt(options);
    if (path === undefined) return false;
    const stopWatching = this.zk.onStateChange((state) => {
      if (state === 'disconnected') for (const listener of [...this.suspendedListeners]) listener();
      if (state === 'expired' || state === 'closed') {
        this.holding?.stopWatching();
        this.holding = undefined;
        for (const listener of [...this.lostListeners]) listener();
      }
    });
    this.holding = { path, count: 1, stopWatching };
    return true;
  }

  /** Gives the lock up (the last of re-entrant acquires deletes the node). */
  async release(): Promise<void> {
    const holding = this.holding;
    if (holding === undefined) throw new Error(`not holding the lock ${this.path}`);
    holding.count--;
    if (holding.count > 0) return;
    this.holding = undefined;
    holding.stopWatching();
    await this.internals.remove(holding.path);
  }

  /** Called when the session ends while holding: the lock is gone. Returns an unsubscribe. */
  onLost(listener: Listener): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  /**
   * Called when the connection drops while holding: the session (and the lock) may expire
   * before it is back, so a careful holder stops acting until it is reconnected.
   */
  onSuspended(listener: Listener): () => void {
    this.suspendedListeners.add(listener);
    return () => this.suspendedListeners.delete(listener);
  }
}
