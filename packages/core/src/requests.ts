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

export interface CreateRequest {
  readonly op: 'create';
  readonly path: string;
  readonly data: Uint8Array;
  readonly acl: readonly ACL[];
  readonly mode: CreateModeValue;
  /** Milliseconds for the TTL modes; -1n (ZooKeeper's "none") for every other mode. */
  readonly ttlMs: bigint;
}
export interface DeleteRequest {
  readonly op: 'delete';
  readonly path: string;
  /** Expected data version, or -1 for any. */
  readonly version: number;
}
export interface SetDataRequest {
  readonly op: 'setData';
  readonly path: string;
  readonly data: Uint8Array;
  readonly version: number;
}
export interface SetAclRequest {
  readonly op: 'setACL';
  readonly path: string;
  readonly acl: readonly ACL[];
  /** Expected ACL version (aversion), or -1 for any. */
  readonly version: number;
}
export interface CheckRequest {
  readonly op: 'check';
  readonly path: string;
  readonly version: number;
}
export type MultiOp = CreateRequest | DeleteRequest | SetDataRequest | CheckRequest;
export interface MultiRequest {
  readonly op: 'multi';
  readonly ops: readonly MultiOp[];
}
export interface ExistsRequest {
  readonly op: 'exists';
  readonly path: string;
  readonly watch: boolean;
}
export interface GetDataRequest {
  readonly op: 'getData';
  readonly path: string;
  readonly watch: boolean;
}
export interface GetChildrenRequest {
  readonly op: 'getChildren';
  readonly path: string;
  readonly watch: boolean;
}
export interface GetAllChildrenNumberRequest {
  readonly op: 'getAllChildrenNumber';
  readonly path: string;
}
export interface GetEphemeralsRequest {
  readonly op: 'getEphemerals';
  readonly prefixPath: string;
}
export interface GetAclRequest {
  readonly op: 'getACL';
  readonly path: string;
}
export interface SyncRequest {
  readonly op: 'sync';
  readonly path: string;
}
export type MultiReadOp = GetDataRequest | GetChildrenRequest;
export interface MultiReadRequest {
  readonly op: 'multiRead';
  readonly ops: readonly MultiReadOp[];
}
export interface AddWatchRequest {
  readonly op: 'addWatch';
  readonly path: string;
  readonly mode: AddWatchModeValue;
}
export interface RemoveWatchesRequest {
  readonly op: 'removeWatches';
  readonly path: string;
  readonly watcherType: WatcherTypeValue;
}
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
export interface AuthRequest {
  readonly op: 'auth';
  readonly scheme: string;
  readonly auth: Uint8Array;
}
export interface WhoAmIRequest {
  readonly op: 'whoAmI';
}
export interface PingRequest {
  readonly op: 'ping';
}
export interface CloseSessionRequest {
  readonly op: 'closeSession';
}

export type WriteRequest =
  | CreateRequest
  | DeleteRequest
  | SetDataRequest
  | SetAclRequest
  | CheckRequest
  | MultiRequest;
export type ReadRequest =
  | ExistsRequest
  | GetDataRequest
  | GetChildrenRequest
  | GetAllChildrenNumberRequest
  | GetEphemeralsRequest
  | GetAclRequest
  | MultiReadRequest;
export type WatchRequest = AddWatchRequest | RemoveWatchesRequest | CheckWatchesRequest | SetWatchesRequest;
export type ClientRequest =
  | WriteRequest
  | ReadRequest
  | WatchRequest
  | SyncRequest
  | AuthRequest
  | WhoAmIRequest
  | PingRequest
  | CloseSessionRequest;
export type OpName = ClientRequest['op'];

const writeOps: ReadonlySet<OpName> = new Set(['create', 'delete', 'setData', 'setACL', 'check', 'multi']);

export function isWriteRequest(request: ClientRequest): request is WriteRequest {
  return writeOps.has(request.op);
}

/** One result inside a multi or multiRead answer. */
export type OpResult =
  | { readonly op: 'create'; readonly path: string; readonly stat: Stat }
  | { readonly op: 'delete' }
  | { readonly op: 'setData'; readonly stat: Stat }
  | { readonly op: 'check' }
  | { readonly op: 'getData'; readonly data: Uint8Array; readonly stat: Stat }
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
  getData: { readonly data: Uint8Array; readonly stat: Stat };
  getChildren: { readonly children: readonly string[]; readonly stat: Stat };
  getAllChildrenNumber: { readonly totalNumber: number };
  getEphemerals: { readonly ephemerals: readonly string[] };
  getACL: { readonly acl: readonly ACL[]; readonly stat: Stat };
  sync: { readonly path: string };
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
export type Reply<Op extends OpName = OpName> =
  | { readonly ok: true; readonly op: Op; readonly result: ResultByOp[Op] }
  | { readonly ok: false; readonly op: Op; readonly code: ErrorCodeValue; readonly path?: string };
