/**
 * Barriers. `Barrier` (Curator's DistributedBarrier): waiters block while the barrier node
 * exists. `DoubleBarrier` (DistributedDoubleBarrier): a group of `memberCount` enters
 * together and leaves together, the classic ZooKeeper algorithm.
 */
import { randomUUID } from 'node:crypto';
import type { ZabClient } from '@zabkit/client';
import { ensurePath, isCode, retryOnConnectionLoss, waitFor } from '../internal/support.js';

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

const deadline = (options: WaitOptions) =>
  options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;

export class Barrier {
  constructor(
    private readonly zk: ZabClient,
    readonly path: string,
  ) {}

  /** Raises the barrier (creating its node); raising it twice is fine. */
  async setBarrier(): Promise<void> {
    const parent = this.path.slice(0, this.path.lastIndexOf('/'));
    if (parent.length > 0) await retryOnConnectionLoss(this.zk, () => ensurePath(this.zk, parent));
    try {
      await retryOnConnectionLoss(this.zk, () => this.zk.create(this.path, ''));
    } catch (error) {
      if (!isCode(error, 'NodeExists')) throw error;
    }
  }

  /** Lowers it: every waiter goes on. */
  async removeBarrier(): Promise<void> {
    try {
      await retryOnConnectionLoss(this.zk, () => this.zk.delete(this.path));
    } catch (error) {
      if (!isCode(error, 'NoNode')) throw error;
    }
  }

  /** Resolves true once the barrier is down, false on timeout; rejects on abort or session end. */
  async waitOnBarrier(options: WaitOptions = {}): Promise<boolean> {
    const deadlineMs = deadline(options);
    for (;;) {
      let gone = false;
      const outcome = await waitFor(
        this.zk,
        async (wake) => {
          gone =
            (await retryOnConnectionLoss(this.zk, () => this.zk.exists(this.path, { watch: wake }))) === null;
          if (gone) wake();
        },
        { deadlineMs, signal: options.signal },
      );
      if (gone) return true;
      if (outcome === 'timeout') return false;
    }
  }
}

export class DoubleBarrier {
  private readonly ourPath: string;
  private readonly readyPath: string;

  constructor(
    private readonly zk: ZabClient,
    readonly path: string,
    readonly memberCount: number,
  ) {
    if (!Number.isInteger(memberCount) || memberCount < 1)
      throw new RangeError('memberCount must be a positive integer');
    this.ourPath = `${path}/${randomUUID()}`;
    this.readyPath = `${path}/ready`;
  }

  private async members(watch?: () => void): Promise<string[]> {
    const children = await retryOnConnectionLoss(this.zk, () =>
      this.zk.getChildren(this.path, watch === undefined ? {} : { watch }),
    );
    return children.filter((name) => name !== 'ready').sort();
  }

  /** Enters, then waits until `memberCount` members have; false on timeout (having left again). */
  async enter(options: WaitOptions = {}): Promise<boolean> {
    const deadlineMs = deadline(options);
    await retryOnConnectionLoss(this.zk, () => ensurePath(this.zk, this.path));
    try {
      await retryOnConnectionLoss(this.zk, () => this.zk.create(this.ourPath, '', { mode: 'ephemeral' }));
    } catch (error) {
      if (!isCode(error, 'NodeExists')) throw error;
    }
    for (;;) {
      let ready = false;
      const outcome = await waitFor(
        this.zk,
        async (wake) => {
          ready =
            (await retryOnConnectionLoss(this.zk, () => this.zk.exists(this.readyPath, { watch: wake }))) !==
            null;
          if (!ready && (await this.members()).length >= this.memberCount) {
            try {
              await retryOnConnectionLoss(this.zk, () => this.zk.create(this.readyPath, ''));
            } catch (error) {
              if (!isCode(error, 'NodeExists')) throw error;
            }
            ready = true;
          }
          if (ready) wake();
        },
        { deadlineMs, signal: options.signal },
      );
      if (ready) return true;
      if (outcome === 'timeout') {
        await this.removeOurs();
        return false;
      }
    }
  }

  /** Leaves, then waits until every member has; false on timeout. */
  async leave(options: WaitOptions = {}): Promise<boolean> {
    const deadlineMs = deadline(options);
    const ourName = this.ourPath.slice(this.path.length + 1);
    for (;;) {
      const members = await this.members();
      if (members.length === 0) {
        await this.removeReady();
        return true;
      }
      if (members.length === 1 && members[0] === ourName) {
        await this.removeOurs();
        await this.removeReady();
        return true;
      }
      const ours = members.includes(ourName);
      // The lowest waits for the highest to go; every other member leaves and waits for the lowest.
      const isLowest = members[0] === ourName;
      if (ours && !isLowest) await this.removeOurs();
      const target = `${this.path}/${isLowest ? members[members.length - 1] : members[0]}`;
      const outcome = await waitFor(
        this.zk,
        async (wake) => {
          const stat = await retryOnConnectionLoss(this.zk, () => this.zk.exists(target, { watch: wake }));
          if (stat === null) wake();
        },
        { deadlineMs, signal: options.signal },
      );
      if (outcome === 'timeout') return false;
    }
  }

  private async removeOurs(): Promise<void> {
    try {
      await retryOnConnectionLoss(this.zk, () => this.zk.delete(this.ourPath));
    } catch (error) {
      if (!isCode(error, 'NoNode')) throw error;
    }
  }

  private async removeReady(): Promise<void> {
    try {
      await retryOnConnectionLoss(this.zk, () => this.zk.delete(this.readyPath));
    } catch (error) {
      if (!isCode(error, 'NoNode', 'NotEmpty')) throw error;
    }
  }
}
