/**
 * Leader election by latch (Curator's LeaderLatch).
 */
import type { ZabClient } from '@zabkit/client';
import {
  abortError,
  bySequence,
  createProtected,
  deleteNode,
  isCode,
  newProtectedPrefix,
  OneShotWatch,
  retry,
  sessionEnded,
  sessionEndedError,
} from './internal/lock-core.js';
import { Emitter, TypedEmitter } from './internal/util-emitter.js';

/** The events a LeaderLatch emits. */
export interface LeaderLatchEvents {
  /** This participant became the leader. */
  isLeader: [];
  /** This participant stopped being the leader (lost the race, disconnected, expired, closed). */
  notLeader: [];
  /** A background step failed with something other than a connection problem. */
  error: [error: unknown];
}

const latchName = 'latch-';

/**
 * One participant in a leader election on `path` (Curator's LeaderLatch). Each participant
 * makes an ephemeral sequential node `_c_<uuid>-latch-NNNNNNNNNN` holding its `id`; the
 * lowest leads, and each other participant watches only its predecessor.
 *
 * Connection loss: leadership is given up at once (`notLeader`), since the session and the
 * node may expire before the connection is back; once reconnected the latch deletes its
 * node and joins the race again with a new one (Curator's reset on RECONNECTED). Session
 * expiry or client close: leadership is lost for good; `awaitLeadership` rejects.
 */
export class LeaderLatch extends TypedEmitter<LeaderLatchEvents> {
  /** Internal: the latch ended (closed, or its session did), for waiters in awaitLeadership. */
  private readonly ended = new Emitter<{ ended: [] }>();
  private state: 'latent' | 'started' | 'closed' = 'latent';
  private leader = false;
  private ourPath: string | undefined;
  private watch: OneShotWatch | undefined;
  private chain: Promise<void> = Promise.resolve();
  private stopState: (() => void) | undefined;
  private wasDisconnected = false;

  constructor(
    private readonly zk: ZabClient,
    readonly path: string,
    /** Stored in this participant's node: who it is (see `getLeader`). */
    readonly id: string = '',
  ) {
    super();
  }

  /** True while this participant leads (and its connection holds). */
  hasLeadership(): boolean {
    return this.leader;
  }

  /** This participant's node, once it has one. */
  get nodePath(): string | undefined {
    return this.ourPath;
  }

  /** Joins the election; resolves once this participant's node is made and first checked. */
  async start(): Promise<void> {
    if (this.state !== 'latent') throw new Error('a LeaderLatch can be started once');
    this.state = 'started';
    this.stopState = this.zk.onStateChange((state) => {
      if (state === 'disconnected') {
        this.wasDisconnected = true;
        this.setLeader(false);
      } else if (state === 'connected' && this.wasDisconnected) {
        this.wasDisconnected = false;
        this.enqueue(() => this.reset());
      } else if (sessionEnded(this.zk)) {
        this.setLeader(false);
        this.watch?.cancel();
        this.ended.fire('ended');
      }
    });
    await this.enqueue(() => this.reset());
  }

  /**
   * Leaves the election: gives leadership up and deletes this participant's node (waiting
   * out a ConnectionLoss; a session that ended took the node already).
   */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasStarted = this.state === 'started';
    this.state = 'closed';
    this.stopState?.();
    this.watch?.cancel();
    this.setLeader(false);
    this.ended.fire('ended');
    const path = this.ourPath;
    this.ourPath = undefined;
    if (wasStarted && path !== undefined) await deleteNode(this.zk, path);
  }

  /**
   * Waits to be leader. Resolves true once leading, false on timeout. Rejects on abort,
   * when the latch is closed (or not started) and when the session ends.
   */
  awaitLeadership(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<boolean> {
    if (this.leader) return Promise.resolve(true);
    if (this.state !== 'started') return Promise.reject(new Error(`the LeaderLatch is ${this.state}`));
    if (sessionEnded(this.zk)) return Promise.reject(sessionEndedError(this.zk));
    const { signal, timeoutMs } = options;
    return new Promise((resolve, reject) => {
      const finish = (outcome: boolean | Error) => {
        stopLeader();
        stopEnded();
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const onAbort = () => finish(abortError(signal!));
      const onLeader = () => finish(true);
      this.on('isLeader', onLeader);
      const stopLeader = () => this.off('isLeader', onLeader);
      const stopEnded = this.ended.subscribe('ended', () =>
        finish(
          this.state === 'closed' ? new Error('the LeaderLatch was closed') : sessionEndedError(this.zk),
        ),
      );
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => finish(false), timeoutMs);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Alias of {@link LeaderLatch.awaitLeadership}, as Curator names it. */
  await(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<boolean> {
    return this.awaitLeadership(options);
  }

  /** The participants' node names, in election order (the first leads). */
  async participants(): Promise<string[]> {
    try {
      const all = await retry(this.zk, () => this.zk.getChildren(this.path));
      return bySequence(all.filter((name) => name.includes(latchName)));
    } catch (error) {
      if (isCode(error, 'NoNode')) return [];
      throw error;
    }
  }

  /** The leader's id (the data of the first node), or undefined when nobody takes part. */
  async getLeader(): Promise<string | undefined> {
    for (;;) {
      const first = (await this.participants())[0];
      if (first === undefined) return undefined;
      try {
        const { data } = await retry(this.zk, () => this.zk.getData(`${this.path}/${first}`));
        return new TextDecoder().decode(data);
      } catch (error) {
        if (!isCode(error, 'NoNode')) throw error;
      }
    }
  }

  private setLeader(leader: boolean): void {
    // A step still in flight when the latch closed, or the connection dropped, must not crown it.
    if (leader && (this.state !== 'started' || this.wasDisconnected)) return;
    if (this.leader === leader) return;
    this.leader = leader;
    this.fire(leader ? 'isLeader' : 'notLeader');
  }

  /** Runs steps one at a time; a step's failure is reported, not thrown at the next. */
  private enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.chain.then(step).catch((error: unknown) => {
      if (this.state !== 'started' || sessionEnded(this.zk)) return;
      if (isCode(error, 'ConnectionLoss')) return; // the reconnect resets
      this.fire('error', error);
    });
    this.chain = run;
    return run;
  }

  /** Drops leadership and the old node, and joins again with a new node. */
  private async reset(): Promise<void> {
    if (this.state !== 'started') return;
    this.setLeader(false);
    this.watch?.cancel();
    this.watch = undefined;
    const old = this.ourPath;
    this.ourPath = undefined;
    if (old !== undefined) await deleteNode(this.zk, old);
    const made = await createProtected(this.zk, this.path, newProtectedPrefix(this.zk), latchName, this.id);
    if (this.state !== 'started') {
      await deleteNode(this.zk, made);
      return;
    }
    this.ourPath = made;
    await this.check();
  }

  /** Leads if first; otherwise watches the participant just ahead. */
  private async check(): Promise<void> {
    for (;;) {
      const ours = this.ourPath;
      if (this.state !== 'started' || ours === undefined) return;
      const ourName = ours.slice(this.path.length + 1);
      const prefix = ourName.slice(0, ourName.indexOf(latchName));
      const all = await retry(this.zk, () => this.zk.getChildren(this.path));
      if (this.ourPath !== ours) return;
      // A create whose reply was lost can land after its retry: such a stray is ours.
      for (const stray of all) {
        if (stray.startsWith(prefix) && stray !== ourName) await deleteNode(this.zk, `${this.path}/${stray}`);
      }
      const children = bySequence(
        all.filter((name) => name.includes(latchName) && (!name.startsWith(prefix) || name === ourName)),
      );
      const index = children.indexOf(ourName);
      if (index < 0) return this.reset();
      if (index === 0) {
        this.setLeader(true);
        return;
      }
      this.setLeader(false);
      const predecessor = `${this.path}/${children[index - 1]}`;
      this.watch?.cancel();
      const watch = new OneShotWatch(this.zk, predecessor, 'data', () => {
        if (this.watch === watch) this.enqueue(() => this.check());
      });
      this.watch = watch;
      try {
        await retry(this.zk, () => this.zk.getData(predecessor, { watch: watch.listener }));
        watch.armed();
        return;
      } catch (error) {
        if (!isCode(error, 'NoNode')) throw error;
        // The predecessor went before we could watch it: look again.
      }
    }
  }
}
