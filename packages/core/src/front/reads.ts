/**
 * Reads served from the local tree, as pure functions: `serveRead` takes the tree, the reader
 * and the request and returns the reply, a result or ZooKeeper's error code. Expected
 * outcomes (NoNode, NoAuth, BadArguments) are replies, never exceptions, and nothing is
 * changed. `leaveWatches` says which watches a served read leaves; the front registers them.
 *
 * The checks are ZooKeeper's: a read looks its path up as given, so a malformed path is
 * simply missing and "" names the root (its key in ZooKeeper's tree); only exists checks
 * its path, for a NUL. A watch is left only by a read that succeeds, except that exists
 * leaves its watch on a missing node too (that is how a client waits for a node to appear).
 */
import { type ACL, checkAcl, type Id, Perms } from '../acl.js';
import { assertNever, ErrorCode, type ErrorCodeValue } from '../errors.js';
import { rootPath } from '../path.js';
import type {
  GetChildrenRequest,
  GetDataRequest,
  OpResult,
  ReadRequest,
  Reply,
  ResultByOp,
} from '../requests.js';
import type { DataTree } from '../tree/data-tree.js';
import type { Znode } from '../tree/znode.js';
import type { SessionId } from '../txn.js';

/** Who reads: the session (for getEphemerals) and the identities ACLs are checked against. */
export interface Reader {
  readonly sessionId: SessionId;
  readonly authInfo: readonly Id[];
}

/** Which of ZooKeeper's two tables a one-shot watch goes in: data and existence, or children. */
export type WatchTable = 'data' | 'child';

/** Told of each one-shot watch a read leaves, at `path`. */
export type LeaveWatch = (table: WatchTable, path: string) => void;

/**
 * The node a read may see, or the error code that says why not. A code rather than a
 * result object: this is on every read's path, and it allocates nothing.
 */
type Lookup = Znode | ErrorCodeValue;

/** Serves a read against `tree` as `reader`; never throws for what a client can cause. */
export function serveRead(tree: DataTree, reader: Reader, request: ReadRequest): Reply {
  switch (request.op) {
    case 'exists':
      return exists(tree, reader, request.path);
    case 'getData': {
      const result = getData(tree, reader.authInfo, request.path);
      if (typeof result === 'number') return failed('getData', result, request.path);
      return { ok: true, op: 'getData', result };
    }
    case 'getChildren': {
      const result = getChildren(tree, reader.authInfo, request.path);
      if (typeof result === 'number') return failed('getChildren', result, request.path);
      return { ok: true, op: 'getChildren', result };
    }
    case 'getAllChildrenNumber': {
      const found = lookup(tree, request.path, reader.authInfo, Perms.Read);
      if (typeof found === 'number') return failed('getAllChildrenNumber', found, request.path);
      return {
        ok: true,
        op: 'getAllChildrenNumber',
        result: { totalNumber: tree.descendantCount(request.path) },
      };
    }
    case 'getEphemerals': {
      const prefix = request.prefixPath.trim();
      const all = tree.ephemeralsOf(reader.sessionId);
      const ephemerals =
        prefix === '' || prefix === '/' ? all : all.filter((path) => path.startsWith(prefix));
      return { ok: true, op: 'getEphemerals', result: { ephemerals } };
    }
    case 'getACL': {
      const result = getAcl(tree, reader.authInfo, request.path);
      if (typeof result === 'number') return failed('getACL', result, request.path);
      return { ok: true, op: 'getACL', result };
    }
    case 'multiRead':
      return {
        ok: true,
        op: 'multiRead',
        result: { results: multiRead(tree, reader.authInfo, request.ops) },
      };
    default:
      return assertNever(request, 'read request');
  }
}

/**
 * Tells `leave` of each one-shot watch `request` leaves now that it was answered `reply`: its
 * watch when it asked for one and succeeded, and for exists also when the node is missing;
 * for a multiRead, the watch of each op that succeeded. It allocates nothing, being on the
 * path of every read.
 */
export function leaveWatches(request: ReadRequest, reply: Reply, leave: LeaveWatch): void {
  switch (request.op) {
    case 'exists':
      if (request.watch && (reply.ok || reply.code === ErrorCode.NoNode)) leave('data', request.path);
      return;
    case 'getData':
      if (request.watch && reply.ok) leave('data', request.path);
      return;
    case 'getChildren':
      if (request.watch && reply.ok) leave('child', request.path);
      return;
    case 'multiRead': {
      if (!reply.ok) return;
      const { results } = reply.result as ResultByOp['multiRead'];
      for (let index = 0; index < request.ops.length; index++) {
        const op = request.ops[index]!;
        if (op.watch && results[index]?.op !== 'error')
          leave(op.op === 'getData' ? 'data' : 'child', op.path);
      }
      return;
    }
    case 'getAllChildrenNumber':
    case 'getEphemerals':
    case 'getACL':
      return;
    default:
      assertNever(request, 'read request');
  }
}

/** exists: BadArguments for a NUL in the path; NoNode or the node's Stat. */
function exists(tree: DataTree, reader: Reader, path: string): Reply {
  if (path.includes('\0')) return failed('exists', ErrorCode.BadArguments, path);
  const node = nodeAt(tree, path);
  if (node === undefined) return failed('exists', ErrorCode.NoNode, path);
  if (!checkAcl(node.acl, Perms.Read, reader.authInfo)) return failed('exists', ErrorCode.NoAuth, path);
  return { ok: true, op: 'exists', result: { stat: node.stat() } };
}

function getData(
  tree: DataTree,
  authInfo: readonly Id[],
  path: string,
): ResultByOp['getData'] | ErrorCodeValue {
  const node = lookup(tree, path, authInfo, Perms.Read);
  if (typeof node === 'number') return node;
  return { data: node.data, stat: node.stat() };
}

function getChildren(
  tree: DataTree,
  authInfo: readonly Id[],
  path: string,
): ResultByOp['getChildren'] | ErrorCodeValue {
  const node = lookup(tree, path, authInfo, Perms.Read);
  if (typeof node === 'number') return node;
  return { children: node.sortedChildren(), stat: node.stat() };
}

/** getACL needs READ or ADMIN; without ADMIN, digest hashes are masked as ZooKeeper does. */
function getAcl(
  tree: DataTree,
  authInfo: readonly Id[],
  path: string,
): ResultByOp['getACL'] | ErrorCodeValue {
  const node = lookup(tree, path, authInfo, Perms.Read | Perms.Admin);
  if (typeof node === 'number') return node;
  const acl: readonly ACL[] = checkAcl(node.acl, Perms.Admin, authInfo)
    ? node.acl
    : node.acl.map((entry) =>
        entry.id.scheme === 'digest'
          ? { perms: entry.perms, id: { scheme: 'digest', id: entry.id.id.replace(/:.*/, ':x') } }
          : entry,
      );
  return { acl, stat: node.stat() };
}

/** Each op of a multiRead is answered on its own: one failing does not stop the others. */
function multiRead(
  tree: DataTree,
  authInfo: readonly Id[],
  ops: readonly (GetDataRequest | GetChildrenRequest)[],
): OpResult[] {
  return ops.map((op): OpResult => {
    if (op.op === 'getData') {
      const result = getData(tree, authInfo, op.path);
      return typeof result === 'number' ? { op: 'error', code: result } : { op: 'getData', ...result };
    }
    const result = getChildren(tree, authInfo, op.path);
    return typeof result === 'number'
      ? { op: 'error', code: result }
      : { op: 'getChildren', children: result.children };
  });
}

/** The node at `path` after ZooKeeper's read checks: NoNode when missing, NoAuth without `perm`. */
function lookup(tree: DataTree, path: string, authInfo: readonly Id[], perm: number): Lookup {
  const node = nodeAt(tree, path);
  if (node === undefined) return ErrorCode.NoNode;
  if (!checkAcl(node.acl, perm, authInfo)) return ErrorCode.NoAuth;
  return node;
}

function nodeAt(tree: DataTree, path: string): Znode | undefined {
  return tree.readNode(path === '' ? rootPath : path);
}

function failed(op: ReadRequest['op'], code: ErrorCodeValue, path: string): Reply {
  return { ok: false, op, code, path };
}
