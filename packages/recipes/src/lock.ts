/**
 * A distributed mutex (Curator's InterProcessMutex): herd-free, re-entrant within one
 * Mutex object, with timeouts and AbortSignal, safe across ConnectionLoss.
 */
import type { ZabClient } from '@zabkit/client';
import { firstN } from './internal/lock-core.js';
import {
  type AcquireOptions,
  type Lock,
  type LockEvents,
  type LockHold,
  LockLostError,
  LockTimeoutError,
  ReentrantLock,
} from './internal/lock-reentrant.js';

export { type AcquireOptions, type Lock, type LockEvents, type LockHold, LockLostError, LockTimeoutError };

/**
 * A lock on `path` that at most one holder in the ensemble holds at a time.
 *
 * Each contender makes an ephemeral sequential node `_c_<uuid>-lock-NNNNNNNNNN` under
 * `path` (the protected prefix lets it find its own node after a ConnectionLoss on create)
 * and watches only its immediate predecessor, so a release wakes exactly one waiter.
 * One Mutex object is one holder: `acquire` again on a holding object only counts, and the
 * node is deleted at the matching last `release`. Use one object per independent contender.
 *
 * Connection loss while waiting is waited out; while holding, `suspended` is emitted (the
 * lock may be lost if the session expires before reconnecting). When the session expires the
 * lock is lost: `lost` is emitted, `isHeld` is false, a pending `acquire` rejects with
 * SessionExpired. `run(fn)` and `await using held = await mutex.hold()` release the lock
 * however the work ends.
 */
export class Mutex extends ReentrantLock {
  constructor(zk: ZabClient, path: string) {
    super(zk, path, { name: 'lock-', rule: firstN(1) });
  }
}
