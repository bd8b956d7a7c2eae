/**
 * A client's root: a chroot from the connect string (`host:2181/app`) or a namespace view
 * (`zk.namespace('/app')`). Paths the caller gives are below it; the server sees them with
 * the root in front, and paths coming back (created names, watch events, multi results) have
 * it taken off again, as ZooKeeper's Java client does with its chroot.
 */
import { ErrorCode, pathProblem, rootPath, ZabError } from '@zabkit/core';

/** Checks a chroot or namespace: a valid absolute path; "/" means none. */
export function checkRoot(root: string): string {
  const problem = pathProblem(root);
  if (problem !== undefined)
    throw new RangeError(`invalid chroot or namespace ${JSON.stringify(root)}: ${problem}`);
  return root;
}

/** The root of `child` seen from `parent`: `/app` and `/tenant` make `/app/tenant`. */
export function joinRoots(parent: string, child: string): string {
  checkRoot(child);
  if (child === rootPath) return parent;
  return parent === rootPath ? child : `${parent}${child}`;
}

/** The server's path for a caller's `path` under `root`. */
export function toServerPath(root: string, path: string): string {
  if (root === rootPath) return path;
  // Without this check "x" under "/app" would become the valid but unintended "/appx".
  if (typeof path !== 'string' || !path.startsWith('/'))
    throw new ZabError(ErrorCode.BadArguments, String(path), 'path must start with /');
  return path === rootPath ? root : `${root}${path}`;
}

/**
 * The caller's path for a server `path` under `root`. A path outside the root (it cannot come
 * from a request made under it) is returned unchanged.
 */
export function toClientPath(root: string, path: string): string {
  if (root === rootPath) return path;
  if (path === root) return rootPath;
  return path.startsWith(`${root}/`) ? path.slice(root.length) : path;
}
