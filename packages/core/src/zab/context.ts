/**
 * What the leader and learner roles may use of the peer that hosts them. The roles hold
 * only their own protocol state; the peer owns the tree, the log, durability bookkeeping,
 * the client front and the outgoing Ready.
 */
import type { Id } from '../acl.js';
import type { ClientFront, WriteOrigin } from '../front/client-front.js';
import type { ChangeRecordCounts } from '../prep/change-records.js';
import type { PreparableRequest } from '../prep/preparer.js';
import type { ResolvedServerOptions } from '../server-options.js';
import type { SnapshotChunk, StorageAction } from '../storage.js';
import type { DataTree } from '../tree/data-tree.js';
import type { SessionId, Txn } from '../txn.js';
import type { Zxid } from '../zxid.js';
import type { PeerEvent } from './events.js';
import type { Membership } from './membership.js';
import type { PeerMessage, Vote } from './messages.js';
import type { PeerBound, ResolvedPeerOptions } from './options.js';
import type { QuorumVerifier, ServerId } from './quorum.js';
import type { TxnLog } from './txn-log.js';

/** An identity and credentials a forwarded request carries. */
export interface ForwardedRequest {
  readonly sessionId: SessionId;
  readonly cxid: number;
  readonly authInfo: readonly Id[];
  readonly request: PreparableRequest;
}

/** What the leader and learner roles may use of their peer. */
export interface PeerContext {
  readonly serverId: ServerId;
  readonly options: ResolvedPeerOptions;
  readonly server: ResolvedServerOptions;
  /** The change records this peer's preparers made and forgot, over its life (for metrics). */
  readonly changeRecordCounts: ChangeRecordCounts;
  /** The quorum decisions need now (joint while a reconfig is proposed and not applied). */
  readonly quorum: QuorumVerifier;
  /** The membership in force and proposed: the leader checks a reconfig against it. */
  readonly membership: Membership;
  readonly tree: DataTree;
  readonly log: TxnLog;
  readonly front: ClientFront;
  /** The clock timers and deadlines read. */
  readonly nowMs: number;
  /** The wall clock as last stepped: transaction times (ctime, mtime) and TTL expiry. */
  readonly wallMs: number;
  readonly acceptedEpoch: number;
  readonly currentEpoch: number;
  /** The highest zxid known to be durable in this peer's log. */
  readonly lastPersistedZxid: Zxid;
  /** The session secret this peer checks passwords with: its own, or its leader's. */
  readonly sessionSecret: Uint8Array;
  /** The zxid of the newest snapshot known durable in storage, if any. */
  readonly storedSnapshotZxid: Zxid | undefined;

  /** Sends at once, without waiting for storage; messages to this peer itself are dropped. */
  send(to: ServerId, message: PeerMessage): void;
  /** Sends once everything persisted so far (this step included) is durable. */
  sendAfterPersist(to: ServerId, message: PeerMessage): void;
  /** Has the driver break the link to `peer` after this step's messages, saying why. */
  closeLink(peer: ServerId, reason: string): void;
  /** Schedules a storage action; `onDurable` runs in the step that reports it durable. */
  persist(action: StorageAction, onDurable?: () => void): void;
  /** Runs `callback` once everything persisted so far is durable (at once if nothing is pending). */
  whenDurable(callback: () => void): void;
  /**
   * Snapshots the tree now (unless a snapshot at its zxid is on its way already) and returns
   * the snapshot's zxid; `onDurable` runs once it is stored.
   */
  takeSnapshot(onDurable: () => void): Zxid;
  /**
   * Asks storage for part of the stored snapshot at `zxid`. Exactly one callback runs, in a
   * later step, unless the peer changes role first (then neither does).
   */
  readSnapshot(
    zxid: Zxid,
    cursor: number,
    bytesMax: number,
    onChunk: (chunk: SnapshotChunk) => void,
    onFailure: (reason: string) => void,
  ): void;
  /**
   * Switches to the snapshot a SNAP rebuilt: the tree takes over `tree`'s state, the log
   * starts after `zxid`, storage commits the staged chunks in one atomic step.
   */
  installSnapshot(
    tree: DataTree,
    zxid: Zxid,
    chunks: number,
    nodes: number,
    sessions: readonly (readonly [SessionId, number])[],
  ): void;
  /** Reports something for the driver to log (and, for a failed sync, for `status()`). */
  event(event: PeerEvent): void;
  /**
   * Records new epochs and persists them; acceptedEpoch never goes down and currentEpoch never
   * exceeds it (both asserted). `onDurable` runs once they are durable.
   */
  setEpochs(acceptedEpoch: number, currentEpoch: number, onDurable?: () => void): void;
  /** Takes the leader's session secret, persisting it when it differs from this peer's. */
  adoptSessionSecret(secret: Uint8Array): void;
  /** Appends to the log mirror and schedules the durable append. */
  appendToLog(txns: readonly Txn[]): void;
  /** Raises the commit point; committed and durable transactions are applied. */
  commitThrough(zxid: Zxid): void;
  /**
   * Gives up the current role and starts a new election; after a leadership transfer, voting
   * for the successor's vote (preferred in ties for a while).
   */
  lookForLeader(reason: string, successor?: Vote): void;
  /** Counts a bound reached, for `status()`. */
  boundReached(bound: PeerBound): void;
  /** Remembers which local client a forwarded write or session creation will answer. */
  expectTxn(sessionId: SessionId, cxid: number, origin: TxnOrigin): void;
}

/**
 * The cxid of a transaction no client request numbered: a createSession, a session's expiry, a
 * container's deletion. It only keys the transaction's origin; whether a proposal is a
 * client's is told by its typed source, never by this number.
 */
export const internalCxid = -1;

/** Who a transaction answers once it is applied on this peer. */
export type TxnOrigin =
  | { readonly kind: 'client'; readonly origin: WriteOrigin }
  | { readonly kind: 'connect'; readonly connectionId: number; readonly sessionId: SessionId };
