/**
 * Transactions: what a prepared request deterministically becomes. A transaction carries
 * everything applying it needs (final paths of sequential nodes, the parent's new cversion,
 * the owner of an ephemeral, the leader's clock), so every replica applies it identically.
 */
import type { ACL } from './acl.js';
import type { ErrorCodeValue } from './errors.js';
import type { ZnodeData } from './requests.js';
import type { SessionId } from './sessions/session-ids.js';
import type { SnapshotNode } from './tree/snapshot-node.js';
import type { Zxid } from './zxid.js';

export type { SessionId } from './sessions/session-ids.js';

/** A session begins, with its negotiated timeout. */
export interface CreateSessionTxn {
  readonly kind: 'createSession';
  readonly timeoutMs: number;
}
/** A session ends; its ephemerals, named here, go with it. */
export interface CloseSessionTxn {
  readonly kind: 'closeSession';
  /** The session's ephemerals at preparation time, sorted; applying deletes each of them. */
  readonly ephemeralPaths: readonly string[];
}
/** A znode is created, with the parent's new cversion. */
export interface CreateTxn {
  readonly kind: 'create';
  readonly path: string;
  readonly data: ZnodeData;
  readonly acl: readonly ACL[];
  readonly ephemeralOwner: bigint;
  /** The parent's cversion once this child exists. */
  readonly parentCversion: number;
}
/** A znode is deleted. */
export interface DeleteTxn {
  readonly kind: 'delete';
  readonly path: string;
}
/** A znode's data is replaced, with its new version. */
export interface SetDataTxn {
  readonly kind: 'setData';
  readonly path: string;
  readonly data: ZnodeData;
  /** The node's data version after this change. */
  readonly version: number;
}
/** A znode's ACL is replaced, with its new aversion. */
export interface SetAclTxn {
  readonly kind: 'setACL';
  readonly path: string;
  readonly acl: readonly ACL[];
  /** The node's ACL version after this change. */
  readonly aversion: number;
}
/** A version check inside a multi. */
export interface CheckTxn {
  readonly kind: 'check';
  readonly path: string;
  readonly version: number;
}
/** A request that failed in preparation still takes a zxid, as in ZooKeeper. */
export interface ErrorTxn {
  readonly kind: 'error';
  readonly code: ErrorCodeValue;
}
/**
 * The membership changes (a client's reconfig): the new configuration's text as
 * `/zookeeper/config` holds it, its `version=` this transaction's zxid. It takes effect on
 * each replica when applied, that is once committed (ZooKeeper's COMMITANDACTIVATE).
 */
export interface ReconfigTxn {
  readonly kind: 'reconfig';
  readonly config: string;
}
/**
 * The whole state is replaced with a snapshot's (the admin restore command): its nodes, Stats
 * and ACLs and its sessions, at this transaction's zxid. A barrier in the history: what
 * follows it was prepared against the restored state. This server's /zookeeper/config and
 * the membership stay as they are; the snapshot's are not taken.
 */
export interface RestoreTxn {
  readonly kind: 'restore';
  /** Names the restore asked for, so the server that asked recognises it once applied. */
  readonly token: string;
  /** The snapshot's nodes, parents before children. */
  readonly nodes: readonly SnapshotNode[];
  readonly sessions: readonly (readonly [SessionId, number])[];
}
/** One part of a multi transaction. */
export type MultiPartTxn = CreateTxn | DeleteTxn | SetDataTxn | CheckTxn | ErrorTxn;
/** A multi: every part applied, or an error part for each. */
export interface MultiTxn {
  readonly kind: 'multi';
  /**
   * One part per op. When any op failed every part is an ErrorTxn: Ok for the ops before
   * the failure, its code for the failing op, RuntimeInconsistency for the ops after it.
   */
  readonly parts: readonly MultiPartTxn[];
}

/** What a transaction does to the tree. */
export type TxnBody =
  | CreateSessionTxn
  | CloseSessionTxn
  | CreateTxn
  | DeleteTxn
  | SetDataTxn
  | SetAclTxn
  | CheckTxn
  | MultiTxn
  | ReconfigTxn
  | RestoreTxn
  | ErrorTxn;

/** A transaction with its header: the zxid it was given, the leader's clock, the session. */
export interface Txn {
  readonly zxid: Zxid;
  readonly timeMs: number;
  readonly sessionId: SessionId;
  /** The client's request id (xid), or -1 for transactions the service issues itself. */
  readonly cxid: number;
  readonly body: TxnBody;
}

/** True when a multi transaction failed as a whole. */
export function multiFailed(txn: MultiTxn): boolean {
  return txn.parts.some((part) => part.kind === 'error' && part.code !== 0);
}
