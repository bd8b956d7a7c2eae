/**
 * The re-entrant lock object behind Mutex and both sides of ReadWriteLock (Curator's
 * InterProcessMutex over LockInternals): one object is one holder.
 */
import type { ZabClient } from '@zabkit/client';
import { deleteNode, Emitter, LockCore, type LockDriver, sessionEnded } from './lock-core.js';

/** What an acquire may be given. */
export interface AcquireOptions {
  /** Give up after this long: acquire resolves false and leaves no node behind. */
  readonly timeoutMs?: number;
  /** Abort the wait: acquire rejects with the signal's reason (an AbortError) and leaves no node. */
  readonly signal?: AbortSignal;
}

/**
 * A distributed lock held through one object. `acquire` is re-entrant on the same object
 * (each acquire needs a release; the node goes at the last one).
 *
 * Connection loss: while the connection is down the holder is told `suspended` (the session,
 * and the lock with it, may expire before it is back). Session expiry or close: the lock is
 * gone (the server deleted its ephemeral node); the holder is told `lost` and `isHeld` turns false.
 */
export interface Lock {
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
}

interface Holding {
  readonly node: string;
  count: number;
  readonly stop: () => void;
}

/** @internal The Lock implementation shared by Mutex and ReadWriteLock. */
export class ReentrantLock implements Lock {
  private readonly core: LockCore;
  private holding: Holding | undefined;
  private acquiring = false;
  /** Releases still owed for holds that were lost with the session. */
  private lostHolds = 0;
  private readonly events = new Emitter<{ lost: []; suspended: [] }>();

  constructor(
    private readonly zk: ZabClient,
    readonly path: string,
    driver: LockDriver,
    data: Uint8Array | string = '',
  ) {
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
        if (state === 'disconnected') this.events.emit('suspended');
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
    this.events.emit('lost');
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
    return this.events.on('lost', listener);
  }

  onSuspended(listener: () => void): () => void {
    return this.events.on('suspended', listener);
  }

  participants(): Promise<string[]> {
    return this.core.participants();
  }
}
