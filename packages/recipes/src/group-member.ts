/** Group membership (Curator's GroupMember over a PersistentNode). */
import type { Data, WatchedEvent, ZabClient } from '@zabkit/client';
import { TypedEmitter } from './internal/util-emitter.js';
import { type SessionFactory, SessionKeeper } from './internal/util-session.js';
import {
  childPath,
  ensurePath,
  isCode,
  isConnectionLoss,
  retryIdempotent,
  waitForConnection,
} from './internal/util-zk.js';

export type { SessionFactory } from './internal/util-session.js';

/** Options of a {@link GroupMember}. */
export interface GroupMemberOptions {
  /**
   * Makes a new session after this member's session expired; the member then joins again
   * on it. Without it, an expiry ends the membership (event `lost`).
   */
  readonly renewSession?: SessionFactory;
}

/** The events of a {@link GroupMember}. */
export type GroupMemberEvents = {
  /** The member node was (re)created, on `client`. */
  joined: [client: ZabClient];
  /** The membership ended with the session and no renewal is configured. */
  lost: [];
  error: [error: unknown];
};

/**
 * A member of the group at `groupPath`: the ephemeral node `groupPath/memberId` holding the
 * payload. Like Curator's PersistentNode it keeps the node there: when it is deleted it is
 * created again, and after a session expiry it is created again on the session that
 * `renewSession` makes. A NodeExists from a lost reply is recognised (the node's owner is
 * this session); a node of the same id owned by another session makes `start` fail.
 */
export class GroupMember extends TypedEmitter<GroupMemberEvents> {
  private readonly keeper: SessionKeeper;
  private readonly memberPath: string;
  private payload: Data;
  private active = false;
  private readonly listener = (event: WatchedEvent) => {
    if (event.type === 'NodeDeleted' && this.active)
      void this.join().catch((error) => this.fire('error', error));
  };

  constructor(
    zk: ZabClient,
    readonly groupPath: string,
    readonly memberId: string,
    payload: Data = '',
    options: GroupMemberOptions = {},
  ) {
    super();
    if (memberId.length === 0 || memberId.includes('/'))
      throw new RangeError('a member id is one path segment');
    this.payload = payload;
    this.memberPath = childPath(groupPath, memberId);
    this.keeper = new SessionKeeper(zk, options.renewSession, {
      renewed: () => {
        if (this.active) void this.join().catch((error) => this.fire('error', error));
      },
      lost: () => {
        if (this.active) this.fire('lost');
      },
      error: (error) => this.fire('error', error),
    });
  }

  /** The client the member currently lives on (a new one after a renewal). */
  get client(): ZabClient {
    return this.keeper.client;
  }

  /** Joins the group; resolves once the member node exists. */
  async start(): Promise<void> {
    this.active = true;
    await this.join();
  }

  private async join(): Promise<void> {
    const zk = this.keeper.client;
    await ensurePath(zk, this.groupPath);
    for (;;) {
      try {
        await zk.create(this.memberPath, this.payload, { mode: 'ephemeral' });
        break;
      } catch (error) {
        if (isConnectionLoss(error)) {
          await waitForConnection(zk);
          continue;
        }
        if (!isCode(error, 'NodeExists')) throw error;
        const stat = await retryIdempotent(zk, () => zk.exists(this.memberPath));
        if (stat === null) continue;
        if (stat.ephemeralOwner !== zk.sessionId)
          throw new Error(`member ${this.memberId} of ${this.groupPath} is held by another session`);
        break;
      }
    }
    // Watch the node so that a deletion by someone else is repaired.
    const stat = await retryIdempotent(zk, () => zk.exists(this.memberPath, { watch: this.listener }));
    if (stat === null && this.active) return this.join();
    if (this.active) this.fire('joined', zk);
  }

  /** Changes this member's payload. */
  async setPayload(payload: Data): Promise<void> {
    this.payload = payload;
    const zk = this.keeper.client;
    await retryIdempotent(zk, () => zk.setData(this.memberPath, payload));
  }

  /** A fresh snapshot of the group: member id → payload. */
  async members(): Promise<Map<string, Uint8Array | null>> {
    const zk = this.keeper.client;
    let names: string[];
    try {
      names = await retryIdempotent(zk, () => zk.getChildren(this.groupPath));
    } catch (error) {
      if (isCode(error, 'NoNode')) return new Map();
      throw error;
    }
    const members = new Map<string, Uint8Array | null>();
    for (const name of names) {
      try {
        members.set(
          name,
          (await retryIdempotent(zk, () => zk.getData(childPath(this.groupPath, name)))).data,
        );
      } catch (error) {
        if (!isCode(error, 'NoNode')) throw error;
      }
    }
    return members;
  }

  /** Leaves the group: deletes the member node and stops watching and renewing. */
  async close(): Promise<void> {
    this.active = false;
    this.keeper.close();
    const zk = this.keeper.client;
    await zk.removeWatches(this.memberPath, 'data', this.listener).catch(() => undefined);
    try {
      await retryIdempotent(zk, () => zk.delete(this.memberPath));
    } catch (error) {
      if (!isCode(error, 'NoNode', 'SessionExpired') && zk.state !== 'closed') throw error;
    }
  }
}
