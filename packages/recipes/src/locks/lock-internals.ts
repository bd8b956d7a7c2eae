/**
 * The herd-free lock protocol shared by the mutex, the read/write lock and the semaphore's
 * guard (Curator's LockInternals): each contender makes an ephemeral sequential node and
 * watches only the one node that must go before it may proceed, never the parent.
 */
import type { ZabClient } from '@zabkit/client';
import {
  bySequence,
  createProtected,
  ensurePath,
  isCode,
  protectedPrefix,
  retryOnConnectionLoss,
  waitFor,
} from '../internal/support.js';

/** Whether the contender at `index` among `children` (in sequence order) may proceed. */
export type LockRule = (children: readonly string[], index: number) => { acquired: true } | { watch: string };

/** One contender's node in a lock directory. */
export class LockInternals {
  private readonly prefix = protectedPrefix();

  constructor(
    private readonly zk: ZabClient,
    readonly path: string,
    private readonly nodeName: string,
    private readonly rule: LockRule,
    /** Which children take part (the read/write lock shares one directory between kinds). */
    private readonly isContender: (name: string) => boolean = () => true,
  ) {}

  /**
   * Makes this contender's node and waits its turn. Resolves with the node's path, or
   * undefined on timeout; the node is removed on timeout or abort.
   */
  async attempt(options: {
    timeoutMs?: number | undefined;
    signal?: AbortSignal | undefined;
  }): Promise<string | undefined> {
    const deadlineMs = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
    await retryOnConnectionLoss(this.zk, () => ensurePath(this.zk, this.path));
    const ours = await createProtected(this.zk, this.path, this.prefix, this.nodeName, 'ephemeralSequential');
    const ourName = ours.slice(this.path.length + 1);
    try {
      for (;;) {
        const children = bySequence(
          (await retryOnConnectionLoss(this.zk, () => this.zk.getChildren(this.path))).filter(
            this.isContender,
          ),
        );
        const index = children.indexOf(ourName);
        if (index < 0) throw new Error(`lock node ${ours} vanished: the session was lost`);
        const verdict = this.rule(children, index);
        if ('acquired' in verdict) return ours;
        const predecessor = `${this.path}/${verdict.watch}`;
        const outcome = await waitFor(
          this.zk,
          async (wake) => {
            // Watch the one node in our way; if it is already gone, look again at once.
            const stat = await retryOnConnectionLoss(this.zk, () =>
              this.zk.exists(predecessor, { watch: wake }),
            );
            if (stat === null) wake();
          },
          { deadlineMs, signal: options.signal },
        );
        if (outcome === 'timeout') {
          await this.remove(ours);
          return undefined;
        }
      }
    } catch (error) {
      await this.remove(ours).catch(() => undefined);
      throw error;
    }
  }

  /** Deletes a contender's node, retrying through connection loss; gone already is fine. */
  async remove(path: string): Promise<void> {
    try {
      await retryOnConnectionLoss(this.zk, () => this.zk.delete(path));
    } catch (error) {
      // NoNode: already gone. SessionExpired: the server removes it with the session.
      if (!isCode(error, 'NoNode', 'SessionExpired')) throw error;
    }
  }
}

/** At most `leases` contenders at once, each waiting for the one `leases` places ahead. */
export function firstN(leases: number): LockRule {
  return (children, index) => (index < leases ? { acquired: true } : { watch: children[index - leases]! });
}
