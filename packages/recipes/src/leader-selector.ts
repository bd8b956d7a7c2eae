/**
 * Leader election by selection (Curator's LeaderSelector).
 */
import type { ZabClient } from '@zabkit/client';
import { firstN, isConnected, sessionEnded } from './internal/lock-core.js';
import { ReentrantLock } from './internal/lock-reentrant.js';
import { Emitter } from './internal/util-emitter.js';

/** What a LeaderSelector runs while it leads. */
export interface LeaderSelectorListener {
  /**
   * Leads until it returns (or throws). `signal` aborts when leadership must stop at once:
   * the connection dropped, the session ended, or the selector is closing. A leader must
   * stop acting then, and return promptly.
   */
  takeLeadership(signal: AbortSignal): Promise<void>;
}

/** What a LeaderSelector may be given. */
export interface LeaderSelectorOptions {
  /** Stored in this participant's lock node: who it is. */
  readonly id?: string;
  /** Told of a takeLeadership that threw, or of a failed attempt to queue (default: console). */
  readonly onError?: (error: unknown) => void;
}

/**
 * One participant in a leader election on `path` that runs `takeLeadership` while it leads
 * (Curator's LeaderSelector). Participants queue on a herd-free mutex at `path`; the holder
 * leads until `takeLeadership` returns, then releases, and with `autoRequeue` queues again at
 * the back, so participants take turns. At most one `takeLeadership` runs at a time across
 * the ensemble while sessions live.
 *
 * Connection loss or session expiry aborts the signal given to `takeLeadership`; once it has
 * returned, the lock is released (after reconnecting) and, with `autoRequeue`, the
 * participant queues again. An expired client cannot queue again.
 */
export class LeaderSelector {
  private readonly lock: ReentrantLock;
  private requeueing = false;
  private started = false;
  private closed = false;
  private running: Promise<void> | undefined;
  private current: AbortController | undefined;
  private readonly closing = new AbortController();
  private readonly events = new Emitter<{ error: [unknown] }>();
  private backoffTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly zk: ZabClient,
    readonly path: string,
    private readonly listener: LeaderSelectorListener,
    options: LeaderSelectorOptions = {},
  ) {
    this.lock = new ReentrantLock(zk, path, { name: 'lock-', rule: firstN(1) }, options.id ?? '');
    const onError = options.onError;
    this.events.on('error', (error) =>
      onError !== undefined ? onError(error) : console.error('zabkit LeaderSelector:', error),
    );
  }

  /** Queue again each time leadership is given up. Returns this. */
  autoRequeue(): this {
    this.requeueing = true;
    return this;
  }

  /** True while `takeLeadership` runs here and its signal has not aborted. */
  hasLeadership(): boolean {
    return this.current !== undefined && !this.current.signal.aborted;
  }

  /** Joins the queue (once). */
  start(): void {
    if (this.started) throw new Error('a LeaderSelector can be started once');
    if (this.closed) throw new Error('the LeaderSelector is closed');
    this.started = true;
    this.requeue();
  }

  /**
   * Queues again for leadership if not already queued or leading. Returns false when it
   * already was (or the selector is closed or not started).
   */
  requeue(): boolean {
    if (!this.started || this.closed || this.running !== undefined) return false;
    this.running = this.run().finally(() => {
      this.running = undefined;
    });
    return true;
  }

  /** The participants' lock node names, in queue order (the first leads). */
  participants(): Promise<string[]> {
    return this.lock.participants();
  }

  /** Leaves the queue, aborting a running leadership and waiting for it to return. */
  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    this.current?.abort(new Error('the LeaderSelector is closing'));
    if (this.backoffTimer !== undefined) clearTimeout(this.backoffTimer);
    await this.running;
  }

  private async run(): Promise<void> {
    let failures = 0;
    do {
      try {
        if (!(await this.lock.acquire({ signal: this.closing.signal }))) continue;
        failures = 0;
      } catch (error) {
        if (this.closed || sessionEnded(this.zk)) return;
        this.events.fire('error', error);
        await this.backoff(failures++);
        continue;
      }
      await this.lead();
    } while (this.requeueing && !this.closed && !sessionEnded(this.zk));
  }

  private backoff(attempt: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        if (this.backoffTimer !== undefined) clearTimeout(this.backoffTimer);
        this.backoffTimer = undefined;
        this.closing.signal.removeEventListener('abort', done);
        resolve();
      };
      this.backoffTimer = setTimeout(done, Math.min(1000, 20 * 2 ** attempt));
      this.closing.signal.addEventListener('abort', done, { once: true });
    });
  }

  private async lead(): Promise<void> {
    const leadership = new AbortController();
    this.current = leadership;
    const suspend = () => leadership.abort(new Error('leadership lost: the connection dropped'));
    const stopState = this.zk.onStateChange(() => {
      if (!isConnected(this.zk)) suspend();
    });
    const stopLost = this.lock.onLost(suspend);
    if (!isConnected(this.zk) || !this.lock.isHeld) suspend();
    if (this.closed) leadership.abort(new Error('the LeaderSelector is closing'));
    try {
      await this.listener.takeLeadership(leadership.signal);
    } catch (error) {
      if (!leadership.signal.aborted) this.events.fire('error', error);
    } finally {
      stopState();
      stopLost();
      leadership.abort(new Error('leadership given up'));
      this.current = undefined;
      if (this.lock.isHeld)
        await this.lock.release().catch((error: unknown) => this.events.fire('error', error));
    }
  }
}
