/**
 * Group membership (Curator's GroupMember): a member is an ephemeral node holding its
 * payload, so it leaves the group when it says so or when its session ends; the live set is
 * kept by a ChildrenCache.
 */
import type { ZabClient } from '@zabkit/client';
import { ChildrenCache } from '../cache/tree-cache.js';
import { ensurePath, isCode, retryOnConnectionLoss } from '../internal/support.js';

export class GroupMember {
  private readonly cache: ChildrenCache;
  private readonly memberPath: string;

  constructor(
    private readonly zk: ZabClient,
    readonly groupPath: string,
    readonly memberId: string,
    private readonly payload: Uint8Array | string = '',
  ) {
    if (memberId.length === 0 || memberId.includes('/'))
      throw new RangeError('a member id is one path segment');
    this.cache = new ChildrenCache(zk, groupPath);
    this.memberPath = `${groupPath}/${memberId}`;
  }

  /** Joins the group and starts following its membership. */
  async start(): Promise<void> {
    await retryOnConnectionLoss(this.zk, () => ensurePath(this.zk, this.groupPath));
    try {
      await retryOnConnectionLoss(this.zk, () =>
        this.zk.create(this.memberPath, this.payload, { mode: 'ephemeral' }),
      );
    } catch (error) {
      // Ours from before a lost reply, or someone else's with the same id.
      if (!isCode(error, 'NodeExists')) throw error;
      const stat = await this.zk.exists(this.memberPath);
      if (stat?.ephemeralOwner !== this.zk.sessionId) throw error;
    }
    await this.cache.start();
  }

  /** The live members and their payloads, as far as this member knows. */
  currentMembers(): Map<string, Uint8Array> {
    return new Map([...this.cache.currentChildren()].map(([id, node]) => [id, node.data]));
  }

  /** Told of every change to the membership. Returns an unsubscribe. */
  onChange(listener: () => void): () => void {
    for (const event of ['nodeAdded', 'nodeUpdated', 'nodeRemoved'] as const) this.cache.on(event, listener);
    return () => {
      for (const event of ['nodeAdded', 'nodeUpdated', 'nodeRemoved'] as const)
        this.cache.off(event, listener);
    };
  }

  /** Leaves the group. */
  async close(): Promise<void> {
    await this.cache.close();
    try {
      await retryOnConnectionLoss(this.zk, () => this.zk.delete(this.memberPath));
    } catch (error) {
      if (!isCode(error, 'NoNode', 'SessionExpired')) throw error;
    }
  }
}
