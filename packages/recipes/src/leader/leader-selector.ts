/**
 * Leader election by selection (Curator's LeaderSelector): participants queue on a mutex;
 * the holder runs `takeLeadership` and leads until it returns, then gives leadership up and,
 * with `autoRequeue`, queues again. The signal passed to `takeLeadership` aborts when the
 * connection drops or the session ends: a leader must stop acting then.
 */
import type { ZabClient } from '@zabkit/client';
import { Mutex } from '../locks/mutex.js';

export interface LeaderSelectorListener {
  /** Leads until it returns. Must stop promptly when `signal` aborts. */
  takeLeadership(signal: AbortSignal): Promise<void>;
}

export class LeaderSelector {
  private readonly mutex: Mutex;
  private requeue = false;
  private closed = false;
  private running: Promise<void> | undefined;
  private current: AbortController | undefined;
  private readonly closing = new AbortController();

  constructor(
    private readonly zk: ZabClient,
    readonly path: string,
    private readonly listener: LeaderSelectorListener,
  ) {
    this.mutex = new Mutex(zk, path);
  }

  /** Queue again each time leadership is given up. */
  autoRequeue(): this {
    this.requeue = true;
    return this;
  }

  /** True while `takeLeadership` runs here. */
  hasLeadership(): boolean {
    return this.current !== undefined && !this.current.signal.aborted;
  }

  /** Joins the queue. */
  start(): void {
    if (this.running !== undefined) throw new Error('a selector starts once');
    this.running = this.loop();
  }

  /** Leaves the queue, stopping a running leadership. */
  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    this.current?.abort();
    await this.running?.catch(() => undefined);
  }

  private async loop(): Promise<void> {
    do {
      let acquired = false;
      try {
        acquired = await this.mutex.acquire({ signal: this.closing.signal });
      } catch {
        if (this.closed || this.zk.state === 'expired' || this.zk.state === 'closed') return;
        continue;
      }
      if (!acquired) continue;
      const leadership = new AbortController();
      this.current = leadership;
      const stopSuspended = this.mutex.onSuspended(() => leadership.abort());
      const stopLost = this.mutex.onLost(() => leadership.abort());
      try {
        await this.listener.takeLeadership(leadership.signal);
      } catch {
        // A leader that fails gives leadership up like one that returns.
      } finally {
        leadership.abort();
        this.current = undefined;
        stopSuspended();
        stopLost();
        if (this.mutex.isHeld) await this.mutex.release().catch(() => undefined);
      }
    } while (this.requeue && !this.closed && this.zk.state !== 'expired' && this.zk.state !== 'closed');
  }
}
