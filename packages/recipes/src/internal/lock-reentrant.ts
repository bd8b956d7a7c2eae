/**
 * The re-entrant lock object behind Mutex and both sides of ReadWriteLock (Curator's
 * InterProcessMutex over LockInternals): one object is one holder.
 */
import type { ZabClient } from '@zabkit/client';
import { deleteNode, LockCore, type LockDriver, sessionEnded } from './lock-core.js';
import { TypedEmitter } from './util-emitter.js';

/** What an acquire may be given. */
export interface AcquireOptions {
  /** Give up after this long: acquire resolves false and leaves no node behind. */
  readonly timeoutMs?: number;
  /** Abort the wait: acquire rejects with the signal's reason (an AbortError) and leaves no node. */
  readonly signal?: AbortSignal;
}

/** The events a lock emits while held: `suspended` (connection lost: stop acting) and `lost` (session over). */
export interface LockEvents {
  /** The connection dropped while held: the lock may be lost before it is back. */
  suspended: [];
  /** The session ended while held: the lock is gone. */
  lost: [];
}

/** A lock taken with `hold`: release it, or let `await using` release it. */
export interface LockHold extends AsyncDisposable {
  /** Aborts when the lock may no longer be held (suspended or lost). */
  readonly signal: AbortSignal;
  /** Gives the hold up (once; later calls do nothing). */
  release(): Promise<void>;
}

/** Rejects `run` and `hold` when the lock was not taken within `timeoutMs`. */
export class LockTimeoutError extends Error {
  constructor(
    readonly path: string,
    readonly timeoutMs: number | undefined,
  ) {
    super(`the lock ${path} was not acquired within ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

/** Why a hold's signal aborted: the connection dropped (`suspended`) or the session ended (`lost`). */
export class LockLostError extends Error {
  constructor(
    readonly path: string,
    readonly why: 'suspended' | 'lost',
  ) {
    super(
      why === 'lost'
        ? `the lock ${path} was lost with its session`
        : `the connection holding ${path} dropped`,
    );
    this.name = 'LockLostError';
  }
}

/**
 * A distributed lock held through one object. `acquire` is re-entrant on the same object
 * (each acquire needs a release; the node goes at the last one).
 *
 * Connection loss: while the connection is down the holder is told `suspended` (the session,
 * and the lock with it, may expire before it is back). Session expiry or close: the lock is
 * gone (the server deleted its ephemeral node); the holder is told `lost` and `isHeld` turns false.
 */
export interface Lock extends TypedEmitter<LockEvents>, AsyncDisposable {
  /** The lock's directory. */
  readonly path: string;
  /** True while this object holds the lock and its session lives. */
  readonly isHeld: boolean;
  /** The holder's node, while held. */
  readonly nodePath: string | undefined;
  /**
   * Takes the lock, waiting for it. Resolves true once held, false on timeout. Rejects on
   * abort, or with SessionExpired when the session ends; ConnectionLoss is waited out.
   */
  acquire(options?: AcquireOptions): Promise<boolean>;
  /** Gives one hold up; the last release deletes the node. Throws when not held. */
  release(): Promise<void>;
  /** Called when the session ends while held: the lock is lost. Returns an unsubscribe. */
  onLost(listener: () => void): () => void;
  /** Called when the connection drops while held: stop acting until reconnected. */
  onSuspended(listener: () => void): () => void;
  /** The contenders' node names in queue order (the first ones hold the lock). */
  participants(): Promise<string[]>;
  /**
   * Takes the lock, runs `fn`, and releases the lock however `fn` ends. `fn`'s signal aborts
   * (with a LockLostError) when the lock may no longer be held: the connection dropped or the
   * session ended. Rejects with LockTimeoutError when not acquired within `timeoutMs`.
   */
  run<T>(fn: (signal: AbortSignal) => T | Promise<T>, options?: AcquireOptions): Promise<T>;
  /**
   * Takes the lock and hands back a hold to release: `await using held = await lock.hold()`.
   * Rejects with LockTimeoutError when not acquired within `timeoutMs`.
   */
  hold(options?: AcquireOptions): Promise<LockHold>;
}

interface Holding {
  readonly node: string;
  count: number;
  readonly stop: () => void;
}

/** @internal The Lock implementation shared by Mutex and ReadWriteLock. */
export class ReentrantLock extends TypedEmitter<LockEvents> implements Lock {
  private readonly core: LockCore;
  private holding: Holding | undefined;
  private acquiring = false;
  /** Releases still owed for holds that were lost with the session. */
  private lostHolds = 0;

  constructor(
    private readonly zk: ZabClient,
    readonly path: string,
    driver: LockDriver,
    data: Uint8Array | string = '',
  ) {
    super();
    this.core = new LockCore(zk, path, driver, data);
  }

  get isHeld(): boolean {
    return this.holding !== undefined;
  }

  get nodePath(): string | undefined {
    return this.holding?.node;
  }

  async acquire(options: AcquireOptions = {}): Promise<boolean> {
    if (this.holding !== undefined) {
      this.holding.count++;
      return true;
    }
    if (this.acquiring) throw new Error(`an acquire of ${this.path} is already in progress on this object`);
    this.acquiring = true;
    try {
      const node = await this.core.attempt(options);
      if (node === undefined) return false;
      const stop = this.zk.onStateChange((state) => {
        if (state === 'disconnected') this.fire('suspended');
        else if (sessionEnded(this.zk)) this.lose();
      });
      this.holding = { node, count: 1, stop };
      this.lostHolds = 0;
      if (sessionEnded(this.zk)) this.lose();
      return this.holding !== undefined;
    } finally {
      this.acquiring = false;
    }
  }

  private lose(): void {
    const holding = this.holding;
    if (holding === undefined) return;
    this.holding = undefined;
    holding.stop();
    this.lostHolds = holding.count;
    this.fire('lost');
  }

  async release(): Promise<void> {
    const holding = this.holding;
    if (holding === undefined) {
      // A hold lost with the session is released already; anything else is a caller's bug.
      if (this.lostHolds > 0) {
        this.lostHolds--;
        return;
      }
      throw new Error(`not holding the lock ${this.path}`);
    }
    holding.count--;
    if (holding.count > 0) return;
    this.holding = undefined;
    holding.stop();
    await deleteNode(this.zk, holding.node);
  }

  onLost(listener: () => void): () => void {
    this.on('lost', listener);
    return () => this.off('lost', listener);
  }

  onSuspended(listener: () => void): () => void {
    this.on('suspended', listener);
    return () => this.off('suspended', listener);
  }

  async hold(options: AcquireOptions = {}): Promise<LockHold> {
    if (!(await this.acquire(options))) throw new LockTimeoutError(this.path, options.timeoutMs);
    const controller = new AbortController();
    const onSuspended = () => controller.abort(new LockLostError(this.path, 'suspended'));
    const onLost = () => controller.abort(new LockLostError(this.path, 'lost'));
    this.on('suspended', onSuspended);
    this.on('lost', onLost);
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      this.off('suspended', onSuspended);
      this.off('lost', onLost);
      await this.release();
    };
    return { signal: controller.signal, release, [Symbol.asyncDispose]: release };
  }

  async run<T>(fn: (signal: AbortSignal) => T | Promise<T>, options: AcquireOptions = {}): Promise<T> {
    const held = await this.hold(options);
    try {
      return await fn(held.signal);
    } finally {
      await held.release();
    }
  }

  /** `await using lock = new Mutex(...)`: every hold this object still has is given up. */
  async [Symbol.asyncDispose](): Promise<void> {
    while (this.holding !== undefined) await this.release();
    this.lostHolds = 0;
  }

  participants(): Promise<string[]> {
    return this.core.participants();
  }
}
