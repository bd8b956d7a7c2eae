/**
 * Znode paths: ZooKeeper's validation rules and the small helpers every layer needs.
 * The rules are PathUtils.validatePath's: a leading '/', no trailing '/', no empty, '.' or
 * '..' segment, no NUL, and none of the code points ZooKeeper disallows (C0 and C1 controls,
 * U+D800..U+F8FF which includes every surrogate, and U+FFF0..U+FFFF).
 */
import { ErrorCode, ZabError } from './errors.js';

/** The root znode, `/`. */
export const rootPath = '/';
/** ZooKeeper's own subtree; its four special nodes cannot be deleted. */
export const zookeeperPath = '/zookeeper';
/** `/zookeeper/quota`, where ZooKeeper keeps quotas. */
export const quotaPath = '/zookeeper/quota';
/** `/zookeeper/config`, the ensemble configuration node (read-only to clients). */
export const configPath = '/zookeeper/config';

const specialPaths = new Set([rootPath, zookeeperPath, quotaPath, configPath]);

/** Why `path` is not a valid znode path, or `undefined` when it is. */
export function pathProblem(path: string): string | undefined {
  if (typeof path !== 'string') return 'path must be a string';
  if (path.length === 0) return 'path must not be empty';
  if (path.charCodeAt(0) !== 0x2f) return 'path must start with /';
  if (path.length === 1) return undefined;
  if (path.endsWith('/')) return 'path must not end with /';
  let segmentStart = 1;
  for (let i = 1; i <= path.length; i++) {
    const c = i < path.length ? path.charCodeAt(i) : 0x2f;
    if (c === 0x2f) {
      // Read in place, not sliced: every request's path passes here.
      const length = i - segmentStart;
      if (length === 0) return `empty node name at ${i}`;
      if (
        path.charCodeAt(segmentStart) === 0x2e &&
        (length === 1 || (length === 2 && path.charCodeAt(segmentStart + 1) === 0x2e))
      )
        return `relative paths not allowed at ${segmentStart}`;
      segmentStart = i + 1;
      continue;
    }
    if (c === 0) return `null character not allowed at ${i}`;
    if (isDisallowedCodeUnit(c)) return `invalid character at ${i}`;
  }
  return undefined;
}

function isDisallowedCodeUnit(c: number): boolean {
  return (
    (c > 0x00 && c <= 0x1f) ||
    (c >= 0x7f && c <= 0x9f) ||
    (c >= 0xd800 && c <= 0xf8ff) ||
    (c >= 0xfff0 && c <= 0xffff)
  );
}

/** True when ZooKeeper would accept `path` (PathUtils.validatePath). */
export function isValidPath(path: string): boolean {
  return pathProblem(path) === undefined;
}

/** Throws BadArguments naming the problem when `path` is invalid. */
export function validatePath(path: string): void {
  const problem = pathProblem(path);
  if (problem !== undefined) throw new ZabError(ErrorCode.BadArguments, String(path), problem);
}

/** The parent of a valid non-root path ("/a/b" -> "/a", "/a" -> "/"). */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? rootPath : path.slice(0, slash);
}

/** The last segment of a valid non-root path. */
export function basenameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** A child's path from its parent's and its name. */
export function joinPath(parent: string, child: string): string {
  return parent === rootPath ? `/${child}` : `${parent}/${child}`;
}

/** True for "/", "/zookeeper", "/zookeeper/quota" and "/zookeeper/config". */
export function isSpecialPath(path: string): boolean {
  return specialPaths.has(path);
}

/** True when `path` is `ancestor` or lies below it. */
export function isWithin(path: string, ancestor: string): boolean {
  if (ancestor === rootPath) return true;
  return path === ancestor || path.startsWith(`${ancestor}/`);
}

/** `path` and each of its ancestors up to the root, nearest first. */
export function* selfAndAncestors(path: string): Generator<string> {
  let current = path;
  yield current;
  while (current !== rootPath) {
    current = parentOf(current);
    yield current;
  }
}

/**
 * The suffix ZooKeeper appends to a sequential node: Java's `%010d` of the parent's
 * cversion. cversion is a 32-bit signed int, so after 2^31 - 1 children the counter wraps
 * to negative numbers and the suffix becomes e.g. "-2147483648" (eleven characters), as it
 * does in ZooKeeper.
 */
export function sequentialSuffix(parentCversion: number): string {
  if (parentCversion >= 0) return String(parentCversion).padStart(10, '0');
  return `-${String(-parentCversion).padStart(9, '0')}`;
}
