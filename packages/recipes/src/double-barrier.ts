/**
 * A double barrier (Curator's DistributedDoubleBarrier, the ZooKeeper recipe): members
 * enter together once `memberCount` have arrived, and leave together once all have left.
 */
import type { WatchedEvent, ZabClient } from '@zabkit/client';
import {
  childPath,
  Deadline,
  ensurePath,
  isCode,
  isConnectionLoss,
  retryIdempotent,
  type WaitOptions,
  waitForConnection,
  waitForWatch,
} from './internal/util-zk.js';

const readyName = 'ready';

/** How a member joins a double barrier. */
export interface DoubleBarrierOptions {
  /**
   * The name of this member's node, unique among the members: by default `m-<id>`, the id
   * drawn from the client's source of chance (`ZabClient.randomId`), so that a client with a
   * seeded source names its members alike on every run. The order of the names decides who
   * waits on whom in `leave`.
   */
  readonly memberName?: string;
}

/**
 * One member of a double barrier at `path` for `memberCount` members.
 *
 * `enter` creates this member's ephemeral node and blocks until `memberCount` members are
 * there (the last one to arrive creates the `ready` node, which releases everyone). `leave`
 * deletes the member's node and blocks until every member's node is gone: the lowest member
 * waits on the highest, every other member deletes its node and waits on the lowest, so no
 * one returns from `leave` before all have left.
 *
 * On ConnectionLoss the steps are retried (member nodes have unique names, so a lost create
 * is found again); when the session expires the member nodes vanish and the calls reject.
 */
export class DoubleBarrier {
  private readonly memberName: string;
  private readonly ourPath: string;
  private readonly readyPath: string;

  constructor(
    private readonly zk: ZabClient,
    readonly path: string,
    readonly memberCount: number,
    options: DoubleBarrierOptions = {},
  ) {
    if (!Number.isInteger(memberCount) || memberCount < 1)
      throw new RangeError('memberCount must be a positive integer');
    this.memberName = options.memberName ?? `m-${zk.randomId()}`;
    this.ourPath = childPath(path, this.memberName);
    this.readyPath = childPath(path, readyName);
  }

  private async members(): Promise<string[]> {
    const children = await retryIdempotent(this.zk, () => this.zk.getChildren(this.path));
    return children.filter((name) => name !== readyName).sort();
  }

  /**
   * Enters the barrier: true once `memberCount` members have entered, false when the
   * timeout passes first (this member's node is then deleted again).
   */
  async enter(options: WaitOptions = {}): Promise<boolean> {
    const deadline = new Deadline(options.timeoutMs);
    await ensurePath(this.zk, this.path);
    let readySeen = false;
    let readyListener: ((event: WatchedEvent) => void) | undefined;
    let wake: (() => void) | undefined;
    // Watch the ready node before joining, so its creation cannot be missed.
    readyListener = (event) => {
      if (event.type === 'NodeCreated') readySeen = true;
      wake?.();
    };
    readySeen =
      (await retryIdempotent(this.zk, () => this.zk.exists(this.readyPath, { watch: readyListener }))) !==
      null;
    await this.createOurNode();
    try {
      if (!readySeen && (await this.members()).length >= this.memberCount) {
        try {
          await retryIdempotent(this.zk, () => this.zk.create(this.readyPath, ''));
        } catch (error) {
          if (!isCode(error, 'NodeExists')) throw error;
        }
        readySeen = true;
      }
      while (!readySeen) {
        const outcome = await waitForWatch(
          this.zk,
          async (w) => {
            wake = w;
            const stat = await this.zk.exists(this.readyPath, { watch: readyListener });
            return {
              ready: stat !== null || readySeen,
              disarm: () => this.zk.removeWatches(this.readyPath, 'data', readyListener!),
            };
          },
          deadline,
          options.signal,
        );
        wake = undefined;
        if (readySeen) break;
        if (outcome === 'timeout') {
          await this.deleteOurNode();
          return false;
        }
        if ((await retryIdempotent(this.zk, () => this.zk.exists(this.readyPath))) !== null) readySeen = true;
      }
      await this.zk.removeWatches(this.readyPath, 'data', readyListener).catch(() => undefined);
      return true;
    } catch (error) {
      await this.zk.removeWatches(this.readyPath, 'data', readyListener).catch(() => undefined);
      if (!isCode(error, 'SessionExpired')) await this.deleteOurNode().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Leaves the barrier: true once every member has left, false when the timeout passes
   * first (this member may already have deleted its node then).
   */
  async leave(options: WaitOptions = {}): Promise<boolean> {
    const deadline = new Deadline(options.timeoutMs);
    for (;;) {
      const members = await this.members();
      if (members.length === 0) break;
      const ours = members.includes(this.memberName);
      if (members.length === 1 && ours) {
        await this.deleteOurNode();
        break;
      }
      const lowest = members[0]!;
      let watched: string;
      if (lowest === this.memberName) {
        // The lowest leaves last: it waits for the highest of the others to go.
        watched = childPath(this.path, members[members.length - 1]!);
      } else {
        if (ours) await this.deleteOurNode();
        watched = childPath(this.path, lowest);
      }
      const outcome = await waitForWatch(
        this.zk,
        async (wake) => {
          const listener = () => wake();
          const stat = await this.zk.exists(watched, { watch: listener });
          return { ready: stat === null, disarm: () => this.zk.removeWatches(watched, 'data', listener) };
        },
        deadline,
        options.signal,
      );
      if (outcome === 'timeout') return false;
    }
    try {
      await retryIdempotent(this.zk, () => this.zk.delete(this.readyPath));
    } catch (error) {
      if (!isCode(error, 'NoNode', 'NotEmpty')) throw error;
    }
    return true;
  }

  private async createOurNode(): Promise<void> {
    for (;;) {
      try {
        await this.zk.create(this.ourPath, '', { mode: 'ephemeral' });
        return;
      } catch (error) {
        if (isCode(error, 'NodeExists')) return; // our own create, whose reply was lost
        if (!isConnectionLoss(error)) throw error;
        await waitForConnection(this.zk);
      }
    }
  }

  private async deleteOurNode(): Promise<void> {
    await retryIdempotent(this.zk, async () => {
      try {
        await this.zk.delete(this.ourPath);
      } catch (error) {
        if (!isCode(error, 'NoNode')) throw error;
      }
    });
  }
}
