/**
 * A distributed read/write lock (Curator's InterProcessReadWriteLock): readers share it, a
 * writer holds it alone, and contenders queue in one directory in arrival order. Herd-free:
 * a reader waits only for the nearest writer ahead of it, a writer for its predecessor.
 */
import type { ZabClient } from '@zabkit/client';
import { LockInternals, type LockRule } from './lock-internals.js';
import type { AcquireOptions } from './mutex.js';

const readName = '__READ__';
const writeName = '__WRIT__';

const isLockNode = (name: string) => name.includes(readName) || name.includes(writeName);

const readRule: LockRule = (children, index) => {
  for (let i = index - 1; i >= 0; i--) {
    if (children[i]!.includes(writeName)) return { watch: children[i]! };
  }
  return { acquired: true };
};

const writeRule: LockRule = (children, index) =>
  index === 0 ? { acquired: true } : { watch: children[index - 1]! };

/** One side of a read/write lock: acquire and release as with a Mutex (not re-entrant). */
export class ReadWriteLockSide {
  private readonly internals: LockInternals;
  private held: string | undefined;

  /** @internal */
  constructor(zk: ZabClient, path: string, name: string, rule: LockRule) {
    this.internals = new LockInternals(zk, path, name, rule, isLockNode);
  }

  get isHeld(): boolean {
    return this.held !== undefined;
  }

  /** Waits for this side; false on timeout (no node left behind), rejects on abort or session end. */
  async acquire(options: AcquireOptions = {}): Promise<boolean> {
    if (this.held !== undefined) throw new Error('already held: this lock is not re-entrant');
    this.held = await this.internals.attempt(options);
    return this.held !== undefined;
  }

  async release(): Promise<void> {
    const held = this.held;
    if (held === undefined) throw new Error('not held');
    this.held = undefined;
    await this.internals.remove(held);
  }
}

/** Many readers or one writer on `path`. Make one object per holder. */
export class ReadWriteLock {
  readonly readLock: ReadWriteLockSide;
  readonly writeLock: ReadWriteLockSide;

  constructor(
    zk: ZabClient,
    readonly path: string,
  ) {
    this.readLock = new ReadWriteLockSide(zk, path, readName, readRule);
    this.writeLock = new ReadWriteLockSide(zk, path, writeName, writeRule);
  }
}
