/**
 * Request preparation: the leader turns a client's write into a deterministic transaction,
 * validated against the tree plus every outstanding change, with ZooKeeper's checks in
 * ZooKeeper's order so that each failure gives the error code ZooKeeper gives. A request
 * that fails still becomes a transaction (an ErrorTxn) and takes a zxid, as in ZooKeeper.
 */
import { type ACL, checkAcl, fixupAcl, type Id, Perms } from '../acl.js';
import { assert, assertNever, ErrorCode, type ErrorCodeValue, ZabError } from '../errors.js';
import { isSpecialPath, parentOf, pathProblem, sequentialSuffix } from '../path.js';
import type {
  CheckRequest,
  CreateRequest,
  DeleteRequest,
  MultiRequest,
  ReconfigRequest,
  SetAclRequest,
  SetDataRequest,
  WriteRequest,
  ZnodeData,
} from '../requests.js';
import { CreateMode, isCreateMode, isEphemeralMode, isSequentialMode, isTtlMode, ttlMaxMs } from '../stat.js';
import type { DataTree } from '../tree/data-tree.js';
import {
  containerLifetime,
  ephemeralOwnerOf,
  type NodeLifetime,
  persistentLifetime,
} from '../tree/lifetime.js';
import { parseStatsTrack, quotaLimitPath, quotaStatPath } from '../tree/quotas.js';
import type { SnapshotNode } from '../tree/snapshot-node.js';
import type { MultiPartTxn, SessionId, Txn, TxnBody } from '../txn.js';
import type { Zxid } from '../zxid.js';
import {
  type ChangeRecordCounts,
  type NodeRecord,
  nodeRecord,
  OutstandingChanges,
} from './change-records.js';

/** Requests only the service itself issues. */
export type InternalRequest =
  | { readonly op: 'createSession'; readonly timeoutMs: number }
  | { readonly op: 'closeSession' }
  | { readonly op: 'deleteContainer'; readonly path: string };

/**
 * A restore of the whole state from a snapshot (the admin restore command), as a learner
 * forwards it to its leader: it becomes a `RestoreTxn` carrying the same fields.
 */
export interface RestoreRequest {
  readonly op: 'restore';
  readonly token: string;
  readonly nodes: readonly SnapshotNode[];
  readonly sessions: readonly (readonly [SessionId, number])[];
}

/**
 * What a leader turns into a transaction: writes, session changes, reconfigs and restores
 * (the leader prepares those two itself: they depend on its learners, not on the tree alone).
 */
export type PreparableRequest = WriteRequest | InternalRequest | ReconfigRequest | RestoreRequest;

/** One request to prepare, with who sent it and when. */
export interface PrepInput {
  readonly zxid: Zxid;
  readonly timeMs: number;
  readonly sessionId: SessionId;
  /** The client's request id, carried into the transaction so its server can answer it. */
  readonly cxid: number;
  /** The identities the session has authenticated as (ip, digest, super). */
  readonly authInfo: readonly Id[];
  readonly request: Exclude<PreparableRequest, ReconfigRequest | RestoreRequest>;
}

/** The limits and rules preparation checks against. */
export interface PreparerOptions {
  /** Largest znode data accepted, in bytes. */
  readonly dataSizeMaxBytes: number;
  /** Whether TTL nodes may be created (ZooKeeper's zookeeper.extendedTypesEnabled). */
  readonly extendedTypesEnabled: boolean;
  /** Whether a session may issue requests: live and not closing. */
  readonly isSessionActive: (sessionId: SessionId) => boolean;
  /** Whether hard quotas refuse writes with QuotaExceeded (ZooKeeper's zookeeper.enforceQuota). */
  readonly enforceQuota: boolean;
  /** Told of each write that goes past a quota's limit, soft or hard. */
  readonly onQuotaExceeded?: (notice: QuotaNotice) => void;
  /** Where the change records made and forgotten are counted (the peer keeps one for its life). */
  readonly changeCounts?: ChangeRecordCounts;
}

/** A write that went past a quota's limit (ZooKeeper logs "Quota exceeded: ..."). */
export interface QuotaNotice {
  /** The path that has the quota. */
  readonly quotaPath: string;
  readonly limit: 'count' | 'bytes';
  readonly hard: boolean;
  /** The count or bytes the write would make, and the limit it passes. */
  readonly wouldBe: bigint;
  readonly limitValue: bigint;
  /** Whether the write was refused (a hard limit with enforcement on). */
  readonly refused: boolean;
}

class PrepFailure extends Error {
  constructor(readonly code: ErrorCodeValue) {
    super(`prep failed with ${code}`);
  }
}

function fail(code: ErrorCodeValue): never {
  throw new PrepFailure(code);
}

/**
 * A failure ZooKeeper meets outside its KeeperException handling (its quota parser
 * throwing): the whole request fails with MarshallingError, a multi too, not only its op.
 */
class WholeRequestFailure extends PrepFailure {
  constructor() {
    super(ErrorCode.MarshallingError);
  }
}

/** Turns requests into transactions against the tree plus what is in flight, as ZooKeeper's PrepRequestProcessor does. */
export class RequestPreparer {
  private readonly changes: OutstandingChanges;

  constructor(
    private readonly tree: DataTree,
    private readonly options: PreparerOptions,
  ) {
    this.changes = new OutstandingChanges(tree, options.changeCounts);
  }

  /** Changes prepared but not yet applied to the tree. */
  get outstandingCount(): number {
    return this.changes.size;
  }

  /** Forgets outstanding changes the tree has applied, up to and including `zxid`. */
  applied(zxid: Zxid): void {
    this.changes.forgetThrough(zxid);
  }

  /** Drops every outstanding change (the preparer's leader stepped down). */
  reset(): void {
    this.changes.clear();
  }

  /**
   * Turns one request into the transaction for `input.zxid`, recording its changes as outstanding.
   * A failed check yields an error body (a multi gets one error part per op) instead of throwing.
   */
  prepare(input: PrepInput): Txn {
    const outstandingBefore = this.changes.size;
    const body = this.prepareBody(input);
    assertOutcome(input.request, body);
    // A failed request leaves nothing outstanding behind it; a multi's failure rolls back.
    if (body.kind === 'error')
      assert(this.changes.size === outstandingBefore, 'a failed request records no change');
    if (body.kind === 'multi' && body.parts.some((part) => part.kind === 'error'))
      assert(this.changes.size === outstandingBefore, 'a failed multi rolls its changes back');
    return { zxid: input.zxid, timeMs: input.timeMs, sessionId: input.sessionId, cxid: input.cxid, body };
  }

  private prepareBody(input: PrepInput): TxnBody {
    const request = input.request;
    if (request.op === 'multi') return this.prepareMulti(input, request);
    if (request.op === 'createSession') return { kind: 'createSession', timeoutMs: request.timeoutMs };
    if (request.op === 'closeSession') return this.prepareCloseSession(input);
    try {
      if (request.op !== 'deleteContainer') this.checkSession(input.sessionId);
      return this.preparePart(input, request);
    } catch (error) {
      return { kind: 'error', code: codeOf(error) };
    }
  }

  private checkSession(sessionId: SessionId): void {
    if (!this.options.isSessionActive(sessionId)) fail(ErrorCode.SessionExpired);
  }

  private preparePart(
    input: PrepInput,
    request: Exclude<
      PreparableRequest,
      MultiRequest | ReconfigRequest | RestoreRequest | { op: 'createSession' } | { op: 'closeSession' }
    >,
  ): MultiPartTxn | TxnBody {
    switch (request.op) {
      case 'create':
        return this.prepareCreate(input, request);
      case 'delete':
        return this.prepareDelete(input, request);
      case 'setData':
        return this.prepareSetData(input, request);
      case 'setACL':
        return this.prepareSetAcl(input, request);
      case 'check':
        return this.prepareCheck(input, request);
      case 'deleteContainer':
        return this.prepareDeleteContainer(input, request.path);
      default:
        return assertNever(request, 'write request');
    }
  }

  private record(path: string): NodeRecord {
    return this.changes.lookup(path) ?? fail(ErrorCode.NoNode);
  }

  private requireAccess(acl: readonly ACL[], perm: number, authInfo: readonly Id[]): void {
    if (!checkAcl(acl, perm, authInfo)) fail(ErrorCode.NoAuth);
  }

  /**
   * ZooKeeper's checkQuota: the limits and the current counts are read from the applied
   * tree (not what is in flight), as there. A soft limit passed is told; a hard one too,
   * and refused with QuotaExceeded when enforcement is on. Limits or stats that do not
   * parse fail the write with MarshallingError where ZooKeeper's parser throws (with
   * enforcement on: without it ZooKeeper reads neither).
   */
  private checkQuota(path: string, bytesDiff: number, countDiff: number): void {
    const root = this.tree.quotaRootOf(path);
    if (root === undefined) return;
    const limitNode = this.tree.getNode(quotaLimitPath(root));
    if (limitNode === undefined) return;
    const enforce = this.options.enforceQuota;
    const limits = parseStatsTrack(limitNode.data);
    if (limits === undefined) {
      if (enforce) throw new WholeRequestFailure();
      return;
    }
    const checkCount = countDiff !== 0 && (limits.count > -1n || limits.countHardLimit > -1n);
    const checkBytes = bytesDiff !== 0 && (limits.bytes > -1n || limits.byteHardLimit > -1n);
    if (!checkCount && !checkBytes) return;
    const statNode = this.tree.getNode(quotaStatPath(root));
    if (statNode === undefined) return;
    const stats = parseStatsTrack(statNode.data);
    if (stats === undefined) {
      if (enforce) throw new WholeRequestFailure();
      return;
    }
    const over = (limit: 'count' | 'bytes', wouldBe: bigint, hardLimit: bigint, softLimit: bigint) => {
      const hard = hardLimit > -1n;
      const limitValue = hard ? hardLimit : softLimit;
      if (wouldBe <= limitValue) return;
      const refused = hard && enforce;
      this.options.onQuotaExceeded?.({ quotaPath: root, limit, hard, wouldBe, limitValue, refused });
      if (refused) fail(ErrorCode.QuotaExceeded);
    };
    if (checkCount) over('count', stats.count + BigInt(countDiff), limits.countHardLimit, limits.count);
    if (checkBytes) over('bytes', stats.bytes + BigInt(bytesDiff), limits.byteHardLimit, limits.bytes);
  }

  private checkDataSize(data: ZnodeData): void {
    if (data !== null && data.length > this.options.dataSizeMaxBytes) fail(ErrorCode.BadArguments);
  }

  private prepareCreate(input: PrepInput, request: CreateRequest): TxnBody {
    const { path, data, mode, ttlMs } = request;
    if (!isCreateMode(mode)) fail(ErrorCode.BadArguments);
    if (isTtlMode(mode) && !this.options.extendedTypesEnabled) fail(ErrorCode.Unimplemented);
    if (isTtlMode(mode) ? ttlMs <= 0n || ttlMs > ttlMaxMs : ttlMs >= 0n) fail(ErrorCode.BadArguments);
    if (typeof path !== 'string' || path.lastIndexOf('/') === -1 || path.includes('\0'))
      fail(ErrorCode.BadArguments);
    const parentPath = parentOf(path);
    const acl = this.fixAcl(path, input.authInfo, request.acl);
    const parent = this.record(parentPath);
    this.requireAccess(parent.acl, Perms.Create, input.authInfo);
    const finalPath = isSequentialMode(mode) ? path + sequentialSuffix(parent.cversion) : path;
    if (pathProblem(finalPath) !== undefined) fail(ErrorCode.BadArguments);
    if (this.changes.lookup(finalPath) !== undefined) fail(ErrorCode.NodeExists);
    if (parent.lifetime.kind === 'ephemeral') fail(ErrorCode.NoChildrenForEphemerals);
    this.checkQuota(finalPath, dataLength(data), 1);
    this.checkDataSize(data);
    assert(parentOf(finalPath) === parentPath, 'a sequential name stays under its parent');
    const parentCversion = (parent.cversion + 1) | 0;
    const lifetime: NodeLifetime =
      mode === CreateMode.Container
        ? containerLifetime
        : isTtlMode(mode)
          ? { kind: 'ttl', ttlMs: Number(ttlMs) }
          : isEphemeralMode(mode)
            ? { kind: 'ephemeral', sessionId: input.sessionId }
            : persistentLifetime;
    this.changes.add(
      input.zxid,
      parentPath,
      nodeRecord(
        parent.data,
        parent.acl,
        parent.version,
        parentCversion,
        parent.aversion,
        parent.lifetime,
        parent.childCount + 1,
      ),
    );
    this.changes.add(input.zxid, finalPath, nodeRecord(data, acl, 0, 0, 0, lifetime, 0));
    const ephemeralOwner = ephemeralOwnerOf(lifetime);
    return { kind: 'create', path: finalPath, data, acl, ephemeralOwner, parentCversion };
  }

  private fixAcl(path: string, authInfo: readonly Id[], acl: readonly ACL[]): ACL[] {
    try {
      return fixupAcl(path, authInfo, acl);
    } catch (error) {
      return fail(codeOf(error));
    }
  }

  private prepareDelete(input: PrepInput, request: DeleteRequest): TxnBody {
    const { path } = request;
    if (
      typeof path !== 'string' ||
      path.lastIndexOf('/') === -1 ||
      path.includes('\0') ||
      isSpecialPath(path)
    ) {
      fail(ErrorCode.BadArguments);
    }
    const parentPath = parentOf(path);
    const parent = this.record(parentPath);
    this.requireAccess(parent.acl, Perms.Delete, input.authInfo);
    const node = this.record(path);
    checkAndIncrementVersion(node.version, request.version);
    if (node.childCount > 0) fail(ErrorCode.NotEmpty);
    this.recordDeletion(input.zxid, parentPath, parent, path);
    return { kind: 'delete', path };
  }

  private recordDeletion(zxid: Zxid, parentPath: string, parent: NodeRecord, path: string): void {
    this.changes.add(
      zxid,
      parentPath,
      nodeRecord(
        parent.data,
        parent.acl,
        parent.version,
        parent.cversion,
        parent.aversion,
        parent.lifetime,
        parent.childCount - 1,
      ),
    );
    this.changes.add(zxid, path, undefined);
  }

  private prepareDeleteContainer(input: PrepInput, path: string): TxnBody {
    if (path.lastIndexOf('/') === -1 || path.includes('\0') || isSpecialPath(path))
      fail(ErrorCode.BadArguments);
    const node = this.record(path);
    if (node.childCount > 0) fail(ErrorCode.NotEmpty);
    const kind = node.lifetime.kind;
    // ZooKeeper answers BadVersion when the node is not a container or TTL node any more.
    if (kind !== 'container' && kind !== 'ttl') fail(ErrorCode.BadVersion);
    const parentPath = parentOf(path);
    this.recordDeletion(input.zxid, parentPath, this.record(parentPath), path);
    return { kind: 'delete', path };
  }

  private prepareSetData(input: PrepInput, request: SetDataRequest): TxnBody {
    const { path, data } = request;
    if (pathProblem(path) !== undefined) fail(ErrorCode.BadArguments);
    const node = this.changes.lookupForWrite(input.zxid, path) ?? fail(ErrorCode.NoNode);
    this.requireAccess(node.acl, Perms.Write, input.authInfo);
    this.checkQuota(path, dataLength(data) - dataLength(node.data), 0);
    this.checkDataSize(data);
    const version = checkAndIncrementVersion(node.version, request.version);
    this.changes.add(
      input.zxid,
      path,
      nodeRecord(data, node.acl, version, node.cversion, node.aversion, node.lifetime, node.childCount),
    );
    return { kind: 'setData', path, data, version };
  }

  private prepareSetAcl(input: PrepInput, request: SetAclRequest): TxnBody {
    const { path } = request;
    if (pathProblem(path) !== undefined) fail(ErrorCode.BadArguments);
    const acl = this.fixAcl(path, input.authInfo, request.acl);
    const node = this.record(path);
    this.requireAccess(node.acl, Perms.Admin, input.authInfo);
    const aversion = checkAndIncrementVersion(node.aversion, request.version);
    this.changes.add(
      input.zxid,
      path,
      nodeRecord(node.data, acl, node.version, node.cversion, aversion, node.lifetime, node.childCount),
    );
    return { kind: 'setACL', path, acl, aversion };
  }

  private prepareCheck(input: PrepInput, request: CheckRequest): TxnBody {
    const { path } = request;
    if (pathProblem(path) !== undefined) fail(ErrorCode.BadArguments);
    const node = this.record(path);
    this.requireAccess(node.acl, Perms.Read, input.authInfo);
    checkAndIncrementVersion(node.version, request.version);
    return { kind: 'check', path, version: node.version };
  }

  /**
   * All or nothing: every op is prepared in order against the changes of the ops before it;
   * on the first failure the multi's changes are rolled back and every part becomes an
   * ErrorTxn (Ok before, the failure's code, RuntimeInconsistency after).
   */
  private prepareMulti(input: PrepInput, request: MultiRequest): TxnBody {
    const checkpoint = this.changes.checkpoint();
    const parts: MultiPartTxn[] = [];
    let failedAt = -1;
    let failedCode: ErrorCodeValue = ErrorCode.Ok;
    for (const op of request.ops) {
      try {
        this.checkSession(input.sessionId);
        parts.push(this.preparePart(input, op) as MultiPartTxn);
      } catch (error) {
        if (error instanceof WholeRequestFailure) {
          this.changes.rollback(checkpoint);
          return { kind: 'error', code: error.code };
        }
        failedAt = parts.length;
        failedCode = codeOf(error);
        break;
      }
    }
    if (failedAt < 0) return { kind: 'multi', parts };
    this.changes.rollback(checkpoint);
    const errorParts = request.ops.map(
      (_op, index): MultiPartTxn => ({
        kind: 'error',
        code:
          index < failedAt ? ErrorCode.Ok : index === failedAt ? failedCode : ErrorCode.RuntimeInconsistency,
      }),
    );
    return { kind: 'multi', parts: errorParts };
  }

  private prepareCloseSession(input: PrepInput): TxnBody {
    // ZooKeeper's rule: the session's ephemerals in the tree, less those an outstanding change
    // deletes, plus those an outstanding change makes ephemerals of this session.
    const ephemerals = new Set<string>();
    for (const path of this.tree.ephemeralsOf(input.sessionId))
      if (!this.changes.isPendingDeletion(path)) ephemerals.add(path);
    for (const path of this.changes.pendingEphemeralsOf(input.sessionId)) ephemerals.add(path);
    const ephemeralPaths = [...ephemerals].sort();
    for (const path of ephemeralPaths) {
      const parentPath = parentOf(path);
      const parent = this.changes.lookup(parentPath);
      if (parent !== undefined) this.recordDeletion(input.zxid, parentPath, parent, path);
      else this.changes.add(input.zxid, path, undefined);
    }
    return { kind: 'closeSession', ephemeralPaths };
  }
}

/**
 * ZooKeeper's compare-and-set on versions: -1 matches any version. The next version skips
 * -1 when a counter wraps past Integer.MAX_VALUE (ZOOKEEPER-4743), so that a client can
 * always name the version it expects.
 */
export function checkAndIncrementVersion(current: number, expected: number): number {
  if (expected !== -1 && expected !== current) fail(ErrorCode.BadVersion);
  const next = (current + 1) | 0;
  const version = next === -1 ? 0 : next;
  assert(version !== -1, 'no version a client could not name');
  return version;
}

/** The body each request turns into when it succeeds (an error body is always possible). */
const successKind: { readonly [op in PreparableRequest['op']]: TxnBody['kind'] } = {
  create: 'create',
  delete: 'delete',
  setData: 'setData',
  setACL: 'setACL',
  check: 'check',
  multi: 'multi',
  createSession: 'createSession',
  closeSession: 'closeSession',
  deleteContainer: 'delete',
  reconfig: 'reconfig',
  restore: 'restore',
};

/** Postconditions of a preparation: the body fits the request, a multi answers every op. */
function assertOutcome(request: PreparableRequest, body: TxnBody): void {
  if (request.op === 'multi') {
    // A multi fails whole only where ZooKeeper's does (WholeRequestFailure).
    if (body.kind === 'error') return;
    assert(body.kind === 'multi', 'a multi prepares into a multi');
    assert(body.parts.length === request.ops.length, 'a multi answers every op');
    return;
  }
  if (request.op === 'createSession' || request.op === 'closeSession') {
    assert(body.kind === request.op, 'a session change always prepares');
    return;
  }
  // Checked before asserting: a message closure would be allocated for every write.
  if (body.kind !== 'error' && body.kind !== successKind[request.op])
    assert(false, `${request.op} prepared into ${body.kind}`);
}

function codeOf(error: unknown): ErrorCodeValue {
  if (error instanceof PrepFailure) return error.code;
  if (error instanceof ZabError) return error.code;
  throw error;
}

function dataLength(data: ZnodeData): number {
  return data === null ? 0 : data.length;
}
