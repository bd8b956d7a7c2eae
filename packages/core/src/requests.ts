/**
 * Client operations as a discriminated union on `op`, and what each answers. These are the
 * shapes the in-process client sends and the wire codec decodes into; the names follow
 * ZooKeeper's (create2, getChildren2 and the other wire variants map onto these).
 */
import type { ACL } from './acl.js';
import type { ErrorCodeValue } from './errors.js';
import type { CreateModeValue, Stat } from './stat.js';
import type { AddWatchModeValue, WatcherTypeValue } from './watches/events.js';
import type { Zxid } from './zxid.js';

/**
 * A znode's data as ZooKeeper keeps it: bytes, or null. Null (a jute buffer of length -1 on
 * the wire) is not empty data: a node created or set with null answers getData with null.
 */
export type ZnodeData = Uint8Array | null;

/** Create a znode: opcodes create (1), create2 (15), createContainer (19) and createTTL (21). */
export interface CreateRequest {
  readonly op: 'create';
  readonly path: string;
  readonly data: ZnodeData;
  readonly acl: readonly ACL[];
  readonly mode: CreateModeValue;
  /** Milliseconds for the TTL modes; -1n (ZooKeeper's "none") for every other mode. */
  readonly ttlMs: bigint;
}
/** Delete a znode (opcode 2). */
export interface DeleteRequest {
  readonly op: 'delete';
  readonly path: string;
  /** Expected data version, or -1 for any. */
  readonly version: number;
}
/** Replace a znode's data (opcode 5). */
export interface SetDataRequest {
  readonly op: 'setData';
  readonly path: string;
  readonly data: ZnodeData;
  readonly version: number;
}
/** Replace a znode's ACL (opcode 7). */
export interface SetAclRequest {
  readonly op: 'setACL';
  readonly path: string;
  readonly acl: readonly ACL[];
  /** Expected ACL version (aversion), or -1 for any. */
  readonly version: number;
}
/** Check a znode's version without changing it (opcode 13, in multis). */
export interface CheckRequest {
  readonly op: 'check';
  readonly path: string;
  readonly version: number;
}
/** An operation a multi may hold. */
export type MultiOp = CreateRequest | DeleteRequest | SetDataRequest | CheckRequest;
/** Operations that all succeed or all fail, in one zxid (opcode 14). */
export interface MultiRequest {
  readonly op: 'multi';
  readonly ops: readonly MultiOp[];
}
/** A znode's Stat, or NoNode; `watch` leaves an exists watch (opcode 3). */
export interface ExistsRequest {
  readonly op: 'exists';
  readonly path: string;
  readonly watch: boolean;
}
/** A znode's data and Stat; `watch` leaves a data watch (opcode 4). */
export interface GetDataRequest {
  readonly op: 'getData';
  readonly path: string;
  readonly watch: boolean;
}
/** A znode's children and Stat; `watch` leaves a child watch (opcodes 8 and 12). */
export interface GetChildrenRequest {
  readonly op: 'getChildren';
  readonly path: string;
  readonly watch: boolean;
}
/** The number of znodes below a path (opcode 104). */
export interface GetAllChildrenNumberRequest {
  readonly op: 'getAllChildrenNumber';
  readonly path: string;
}
/** The session's ephemerals under a prefix (opcode 103). */
export interface GetEphemeralsRequest {
  readonly op: 'getEphemerals';
  readonly prefixPath: string;
}
/** A znode's ACL and Stat (opcode 6). */
export interface GetAclRequest {
  readonly op: 'getACL';
  readonly path: string;
}
/** Catch the server up with the leader before the next read (opcode 9). */
export interface SyncRequest {
  readonly op: 'sync';
  readonly path: string;
}
/** An operation a multiRead may hold. */
export type MultiReadOp = GetDataRequest | GetChildrenRequest;
/** Reads answered from one state, each succeeding or failing on its own (opcode 22). */
export interface MultiReadRequest {
  readonly op: 'multiRead';
  readonly ops: readonly MultiReadOp[];
}
/** Set a persistent or persistent recursive watch (opcode 106). */
export interface AddWatchRequest {
  readonly op: 'addWatch';
  readonly path: string;
  readonly mode: AddWatchModeValue;
}
/** Remove this session's watches of a type on a path (opcode 18). */
export interface RemoveWatchesRequest {
  readonly op: 'removeWatches';
  readonly path: string;
  readonly watcherType: WatcherTypeValue;
}
/** Ask whether this session holds watches of a type on a path (opcode 17). */
export interface CheckWatchesRequest {
  readonly op: 'checkWatches';
  readonly path: string;
  readonly watcherType: WatcherTypeValue;
}
/** Re-registers watches after a reconnect, firing those whose condition already changed. */
export interface SetWatchesRequest {
  readonly op: 'setWatches';
  readonly relativeZxid: Zxid;
  readonly dataWatches: readonly string[];
  readonly existWatches: readonly string[];
  readonly childWatches: readonly string[];
  readonly persistentWatches: readonly string[];
  readonly persistentRecursiveWatches: readonly string[];
}
/** Add an identity to the session, e.g. digest `user:password` (opcode 100). */
export interface AuthRequest {
  readonly op: 'auth';
  readonly scheme: string;
  readonly auth: Uint8Array;
}
/** The identities the session holds (opcode 107). */
export interface WhoAmIRequest {
  readonly op: 'whoAmI';
}
/**
 * Change the ensemble's membership (opcode 16), answered like getData of `/zookeeper/config`
 * with the new configuration. Either incremental (`joiningServers` and/or `leavingServers`)
 * or whole (`newMembers`), never both. The lists are comma-separated, in ZooKeeper's form:
 * `server.N=host:quorumPort:electionPort[:participant|observer][;[clientHost:]clientPort]`
 * for servers, plain ids for the leaving ones; null (or empty) for none. `fromConfig` is the
 * configuration version the change applies to (BadVersion when it is not the current one),
 * -1n to skip the check. Answered ReconfigDisabled unless the peer's `reconfigEnabled` is set.
 */
export interface ReconfigRequest {
  readonly op: 'reconfig';
  readonly joiningServers: string | null;
  readonly leavingServers: string | null;
  readonly newMembers: string | null;
  readonly fromConfig: bigint;
}
/** A heartbeat: keeps the session alive (opcode 11). */
export interface PingRequest {
  readonly op: 'ping';
}
/** End the session: its ephemerals go (opcode -11). */
export interface CloseSessionRequest {
  readonly op: 'closeSession';
}

/** The requests that change the tree. */
export type WriteRequest =
  | CreateRequest
  | DeleteRequest
  | SetDataRequest
  | SetAclRequest
  | CheckRequest
  | MultiRequest;
/** The requests a server answers from its own state. */
export type ReadRequest =
  | ExistsRequest
  | GetDataRequest
  | GetChildrenRequest
  | GetAllChildrenNumberRequest
  | GetEphemeralsRequest
  | GetAclRequest
  | MultiReadRequest;
/** The requests that manage watches. */
export type WatchRequest = AddWatchRequest | RemoveWatchesRequest | CheckWatchesRequest | SetWatchesRequest;
/** Every request a client can send. */
export type ClientRequest =
  | WriteRequest
  | ReadRequest
  | WatchRequest
  | SyncRequest
  | ReconfigRequest
  | AuthRequest
  | WhoAmIRequest
  | PingRequest
  | CloseSessionRequest;
/** The name of a request kind. */
export type OpName = ClientRequest['op'];

const writeOps: ReadonlySet<OpName> = new Set(['create', 'delete', 'setData', 'setACL', 'check', 'multi']);

/** True for the requests that go through the leader and take a zxid. */
export function isWriteRequest(request: ClientRequest): request is WriteRequest {
  return writeOps.has(request.op);
}

/** One result inside a multi or multiRead answer. */
export type OpResult =
  | { readonly op: 'create'; readonly path: string; readonly stat: Stat }
  | { readonly op: 'delete' }
  | { readonly op: 'setData'; readonly stat: Stat }
  | { readonly op: 'check' }
  | { readonly op: 'getData'; readonly data: ZnodeData; readonly stat: Stat }
  | { readonly op: 'getChildren'; readonly children: readonly string[] }
  | { readonly op: 'error'; readonly code: ErrorCodeValue };

/** What each operation answers when it succeeds. */
export interface ResultByOp {
  create: { readonly path: string; readonly stat: Stat };
  delete: Record<string, never>;
  setData: { readonly stat: Stat };
  setACL: { readonly stat: Stat };
  check: Record<string, never>;
  multi: { readonly results: readonly OpResult[] };
  exists: { readonly stat: Stat };
  getData: { readonly data: ZnodeData; readonly stat: Stat };
  getChildren: { readonly children: readonly string[]; readonly stat: Stat };
  getAllChildrenNumber: { readonly totalNumber: number };
  getEphemerals: { readonly ephemerals: readonly string[] };
  getACL: { readonly acl: readonly ACL[]; readonly stat: Stat };
  sync: { readonly path: string };
  /** The new configuration's text (as `/zookeeper/config` holds it) and that node's Stat. */
  reconfig: { readonly data: ZnodeData; readonly stat: Stat };
  multiRead: { readonly results: readonly OpResult[] };
  addWatch: Record<string, never>;
  removeWatches: Record<string, never>;
  checkWatches: Record<string, never>;
  setWatches: Record<string, never>;
  auth: Record<string, never>;
  whoAmI: { readonly clientInfo: readonly { readonly authScheme: string; readonly user: string }[] };
  ping: Record<string, never>;
  closeSession: Record<string, never>;
}

/**
 * A reply: the zxid the server had reached when it answered (ReplyHeader.zxid) and either a
 * result or ZooKeeper's error code. A failed multi is `ok: true` with error results, as on
 * the wire; the client turns it into a rejected promise.
 */
export type Reply<Op extends OpName = OpName> = Op extends OpName
  ?
      | { readonly ok: true; readonly op: Op; readonly result: ResultByOp[Op] }
      | { readonly ok: false; readonly op: Op; readonly code: ErrorCodeValue; readonly path?: string }
  : never;
