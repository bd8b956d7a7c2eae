/**
 * Leader election by latch (Curator's LeaderLatch): every participant makes an ephemeral
 * sequential node; the lowest leads, each other watches only its predecessor. Leadership is
 * given up as soon as the connection drops (the session, and the node, may expire before
 * it is back) and sought again once reconnected; a participant whose session expired has
 * lost for good.
 */
import { EventEmitter } from 'node:events';
import type { ZabClient } from '@zabkit/client';
import {
  abortError,
  bySequence,
  createProtected,
  ensurePath,
  isCode,
  protectedPrefix,
  retryOnConnectionLoss,
} from '../internal/support.js';

/** The events a latch emits: leadership gained, leadership lost. */
export interface LeaderLatchEvents {
  isLeader: [];
  notLeader: [];
}

export class LeaderLatch extends EventEmitter<LeaderLatchEvents> {
  private readonly prefix = protectedPrefix();
  private ourPath: string | undefined;
  private leader = false;
  private state: 'latent' | 'started' | 'closed' = 'latent';
  private stopWatchingState: (() => void) | undefined;

  constructor(
    private readonly zk: ZabClient,
    readonly path: string,
    /** Stored in the participant's node: who this participant is. */
    readonly id: string = '',
  ) {
    super();
  }

  /** True while this participant leads and its connection holds. */
  hasLeadership(): boolean {
    return this.leader;
  }

  /** Joins the election. */
  async start(): Promise<void> {
    if (this.state !== 'latent') throw new Error('a latch starts once');
    this.state = 'started';
    this.stopWatchingState = this.zk.onStateChange((state) => {
      if (state === 'disconnected' || state === 'expired' || state === 'closed') this.setLeader(false);
      if (state === 'connected' && this.state === 'started') this.check().catch(() => undefined);
    });
    await retryOnConnectionLoss(this.zk, () => ensurePath(this.zk, this.path));
    this.ourPath = await createProtected(
      this.zk,
      this.path,
      this.prefix,
      'latch-',
      'ephemeralSequential',
      this.id,
    );
    await this.check();
  }

  /** Leaves the election (and leadership): deletes this participant's node. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.stopWatchingState?.();
    this.setLeader(false);
    const path = this.ourPath;
    this.ourPath = undefined;
    if (path === undefined) return;
    try {
      await retryOnConnectionLoss(this.zk, () => this.zk.delete(path));
    } catch (error) {
      if (!isCode(error, 'NoNode', 'SessionExpired')) throw error;
    }
  }

  /** Resolves once this participant leads; rejects on timeout, abort or close. */
  awaitLeadership(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    if (this.leader) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (error?: Error) => {
        this.off('isLeader', onLeader);
        if (timer !== undefined) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onLeader = () => done();
      const onAbort = () => done(abortError(options.signal!));
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => done(new Error(`not leader within ${options.timeoutMs} ms`)), options.timeoutMs);
      this.on('isLeader', onLeader);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.signal?.aborted) onAbort();
    });
  }

  private setLeader(leader: boolean): void {
    // A check still in flight when the latch closed must not crown it.
    if (leader && this.state !== 'started') return;
    if (this.leader === leader) return;
    this.leader = leader;
    this.emit(leader ? 'isLeader' : 'notLeader');
  }

  /** Looks at the participants: lead if first, else watch the one just ahead. */
  private async check(): Promise<void> {
    if (this.state !== 'started' || this.ourPath === undefined) return;
    const ourName = this.ourPath.slice(this.path.length + 1);
    const all = await this.zk.getChildren(this.path);
    if (this.state !== 'started') return;
    // A create whose reply was lost can still land after we made another: drop the stray.
    for (const stray of all.filter((name) => name.startsWith(this.prefix) && name !== ourName)) {
      await this.zk.delete(`${this.path}/${stray}`).catch(() => undefined);
    }
    const children = bySequence(all.filter((name) => !name.startsWith(this.prefix) || name === ourName));
    const index = children.indexOf(ourName);
    if (index < 0) {
      // Our node is gone (the session expired and came back is impossible; a reset is not):
      // join again with a new node.
      this.ourPath = await createProtected(
        this.zk,
        this.path,
        this.prefix,
        'latch-',
        'ephemeralSequential',
        this.id,
      );
      await this.check();
      return;
    }
    if (index === 0) {
      this.setLeader(true);
      return;
    }
    this.setLeader(false);
    const predecessor = `${this.path}/${children[index - 1]}`;
    const stat = await this.zk.exists(predecessor, {
      watch: (event) => {
        if (event.type === 'NodeDeleted') this.check().catch(() => undefined);
      },
    });
    if (stat === null) await this.check();
  }
}
