/**
 * Reads served from the local tree, as pure functions: each takes the tree, the reader and
 * the request, and returns the reply with the watches the read leaves behind. Expected
 * outcomes (NoNode, NoAuth, BadArguments) are replies, never exceptions, and nothing is
 * changed: the front registers the watches.
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

/** A one-shot watch a read leaves: on a node's data and existence, or on its children. */
export interface WatchRegistration {
  readonly table: 'data' | 'child';
  readonly path: string;
}

/** A read's reply and the watches it leaves. */
export interface ServedRead {
  readonly reply: Reply;
  readonly watches: readonly WatchRegistration[];
}

/** One read's outcome before it becomes a reply: its result and watch, or an error code. */
type ReadResult<T> =
  | { readonly ok: true; readonly result: T; readonly watch: WatchRegistration | undefined }
  | { readonly ok: false; readonly code: ErrorCodeValue };

/** The node a read may see, or why it may not. */
type Lookup =
  | { readonly ok: true; readonly node: Znode }
  | { readonly ok: false; readonly code: ErrorCodeValue };

const noWatches: readonly WatchRegistration[] = [];

/** Serves a read against `tree` as `reader`; never throws for what a client can cause. */
export function serveRead(tree: DataTree, reader: Reader, request: ReadRequest): ServedRead {
  switch (request.op) {
    case 'exists':
      return exists(tree, reader, request.path, request.watch);
    case 'getData':
      return single('getData', request.path, getData(tree, reader.authInfo, request));
    case 'getChildren':
      return single('getChildren', request.path, getChildren(tree, reader.authInfo, request));
    case 'getAllChildrenNumber': {
      const found = lookup(tree, request.path, reader.authInfo, Perms.Read);
      if (!found.ok) return failed('getAllChildrenNumber', found.code, request.path);
      const result = { totalNumber: tree.descendantCount(request.path) };
      return { reply: { ok: true, op: 'getAllChildrenNumber', result }, watches: noWatches };
    }
    case 'getEphemerals': {
      const prefix = request.prefixPath.trim();
      const all = tree.ephemeralsOf(reader.sessionId);
      const ephemerals =
        prefix === '' || prefix === '/' ? all : all.filter((path) => path.startsWith(prefix));
      return { reply: { ok: true, op: 'getEphemerals', result: { ephemerals } }, watches: noWatches };
    }
    case 'getACL':
      return single('getACL', request.path, getAcl(tree, reader.authInfo, request.path));
    case 'multiRead':
      return multiRead(tree, reader.authInfo, request.ops);
    default:
      return assertNever(request, 'read request');
  }
}

/** exists: BadArguments for a NUL in the path, before any watch; a missing node keeps the watch. */
function exists(tree: DataTree, reader: Reader, path: string, watch: boolean): ServedRead {
  if (path.includes('\0')) return failed('exists', ErrorCode.BadArguments, path);
  const node = nodeAt(tree, path);
  if (node !== undefined && !checkAcl(node.acl, Perms.Read, reader.authInfo)) {
    return failed('exists', ErrorCode.NoAuth, path);
  }
  const watches = watch ? [{ table: 'data', path } as const] : noWatches;
  if (node === undefined)
    return { reply: { ok: false, op: 'exists', code: ErrorCode.NoNode, path }, watches };
  return { reply: { ok: true, op: 'exists', result: { stat: node.stat() } }, watches };
}

function getData(
  tree: DataTree,
  authInfo: readonly Id[],
  request: GetDataRequest,
): ReadResult<ResultByOp['getData']> {
  const found = lookup(tree, request.path, authInfo, Perms.Read);
  if (!found.ok) return found;
  const watch = request.watch ? ({ table: 'data', path: request.path } as const) : undefined;
  return { ok: true, result: { data: found.node.data, stat: found.node.stat() }, watch };
}

function getChildren(
  tree: DataTree,
  authInfo: readonly Id[],
  request: GetChildrenRequest,
): ReadResult<ResultByOp['getChildren']> {
  const found = lookup(tree, request.path, authInfo, Perms.Read);
  if (!found.ok) return found;
  const watch = request.watch ? ({ table: 'child', path: request.path } as const) : undefined;
  const result = { children: found.node.sortedChildren(), stat: found.node.stat() };
  return { ok: true, result, watch };
}

/** getACL needs READ or ADMIN; without ADMIN, digest hashes are masked as ZooKeeper does. */
function getAcl(tree: DataTree, authInfo: readonly Id[], path: string): ReadResult<ResultByOp['getACL']> {
  const found = lookup(tree, path, authInfo, Perms.Read | Perms.Admin);
  if (!found.ok) return found;
  const { node } = found;
  const acl: readonly ACL[] = checkAcl(node.acl, Perms.Admin, authInfo)
    ? node.acl
    : node.acl.map((entry) =>
        entry.id.scheme === 'digest'
          ? { perms: entry.perms, id: { scheme: 'digest', id: entry.id.id.replace(/:.*/, ':x') } }
          : entry,
      );
  return { ok: true, result: { acl, stat: node.stat() }, watch: undefined };
}

/** Each op of a multiRead is answered on its own: one failing does not stop the others. */
function multiRead(
  tree: DataTree,
  authInfo: readonly Id[],
  ops: readonly (GetDataRequest | GetChildrenRequest)[],
): ServedRead {
  const results: OpResult[] = [];
  const watches: WatchRegistration[] = [];
  for (const op of ops) {
    if (op.op === 'getData') {
      const read = getData(tree, authInfo, op);
      if (read.ok && read.watch !== undefined) watches.push(read.watch);
      results.push(read.ok ? { op: 'getData', ...read.result } : { op: 'error', code: read.code });
    } else {
      const read = getChildren(tree, authInfo, op);
      if (read.ok && read.watch !== undefined) watches.push(read.watch);
      results.push(
        read.ok ? { op: 'getChildren', children: read.result.children } : { op: 'error', code: read.code },
      );
    }
  }
  return { reply: { ok: true, op: 'multiRead', result: { results } }, watches };
}

/** The node at `path` after ZooKeeper's read checks: NoNode when missing, NoAuth without `perm`. */
function lookup(tree: DataTree, path: string, authInfo: readonly Id[], perm: number): Lookup {
  const node = nodeAt(tree, path);
  if (node === undefined) return { ok: false, code: ErrorCode.NoNode };
  if (!checkAcl(node.acl, perm, authInfo)) return { ok: false, code: ErrorCode.NoAuth };
  return { ok: true, node };
}

function nodeAt(tree: DataTree, path: string): Znode | undefined {
  return tree.getNode(path === '' ? rootPath : path);
}

function single<Op extends 'getData' | 'getChildren' | 'getACL'>(
  op: Op,
  path: string,
  read: ReadResult<ResultByOp[Op]>,
): ServedRead {
  if (!read.ok) return failed(op, read.code, path);
  const reply: Reply<Op> = { ok: true, op, result: read.result };
  return { reply, watches: read.watch === undefined ? noWatches : [read.watch] };
}

function failed(op: ReadRequest['op'], code: ErrorCodeValue, path: string): ServedRead {
  return { reply: { ok: false, op, code, path }, watches: noWatches };
}
