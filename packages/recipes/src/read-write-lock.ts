/**
 * A distributed read/write lock (Curator's InterProcessReadWriteLock).
 */
import type { ZabClient } from '@zabkit/client';
import type { LockRule } from './internal/lock-core.js';
import { type Lock, ReentrantLock } from './internal/lock-reentrant.js';

const readName = '__READ__';
const writeName = '__WRIT__';

const isContender = (name: string) => name.includes(readName) || name.includes(writeName);

/**
 * Many readers or one writer on `path`. Contenders queue in one directory in arrival order
 * (nodes `_c_<uuid>-__READ__NNNNNNNNNN` and `_c_<uuid>-__WRIT__NNNNNNNNNN`). Herd-free: a
 * reader waits only for the nearest writer queued before it, a writer for its immediate
 * predecessor. A reader never overtakes a writer queued before it, so writers do not starve.
 *
 * Each side is re-entrant on its own object. The holder of the write lock may also take the
 * read lock (downgrade: take read, then release write); a reader asking for the write lock
 * waits for itself forever (no upgrade), as in Curator. Connection loss and session expiry
 * behave as for {@link Mutex}: suspended while disconnected, lost on expiry.
 *
 * Make one ReadWriteLock object per holder.
 */
export class ReadWriteLock {
  private readonly writer: ReentrantLock;
  private readonly reader: ReentrantLock;

  constructor(
    zk: ZabClient,
    readonly path: string,
  ) {
    const writeRule: LockRule = (children, index) => (index === 0 ? null : children[index - 1]!);
    const readRule: LockRule = (children, index) => {
      if (this.writer.isHeld) return null;
      for (let i = index - 1; i >= 0; i--) if (children[i]!.includes(writeName)) return children[i]!;
      return null;
    };
    this.writer = new ReentrantLock(zk, path, { name: writeName, rule: writeRule, isContender });
    this.reader = new ReentrantLock(zk, path, { name: readName, rule: readRule, isContender });
  }

  /** The shared side: held by any number of readers at once, never while a writer holds. */
  readLock(): Lock {
    return this.reader;
  }

  /** The exclusive side: held by one writer, while no reader holds. */
  writeLock(): Lock {
    return this.writer;
  }
}
