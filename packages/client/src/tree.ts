/**
 * Operations on more than one node, as Curator and ZooKeeper's ZKUtil do them: missing parents
 * made on create, subtrees deleted in batches, and protected names found after a lost reply.
 * They run inside one operation's scope, on server paths.
 */
import {
  type ACL,
  basenameOf,
  ErrorCode,
  type MultiOp,
  parentOf,
  rootPath,
  type Stat,
  ZabError,
} from '@zabkit/core';
import type { ParentMode } from './options.js';
import { isCode, type OperationRunner } from './runner.js';
import type { OperationScope } from './scope.js';
import { checkMultiResults, createOp } from './transaction.js';

/** Curator's protected-name prefix: `_c_<id>-`, put in front of a node's own name. */
export function protectedPrefix(id: string): string {
  return `_c_${id}-`;
}

/**
 * `root` and every node below it, parents before children (breadth first, as ZooKeeper's
 * ZKUtil.listSubTreeBFS), found with `children`.
 */
export async function listSubtree(
  root: string,
  children: (path: string) => Promise<readonly string[]>,
): Promise<string[]> {
  const nodes = [root];
  for (let index = 0; index < nodes.length; index++) {
    const parent = nodes[index]!;
    for (const name of await children(parent))
      nodes.push(parent === rootPath ? `/${name}` : `${parent}/${name}`);
  }
  return nodes;
}

/** The most path bytes one multi of deletes carries: half of ZooKeeper's default jute.maxbuffer. */
export const deleteBatchBytesMax = 512 * 1024;

/**
 * The nodes of a subtree (parents first) as batches of deletes, children first, each at most
 * `batchSize` nodes and {@link deleteBatchBytesMax} bytes of paths. The root "/" itself is
 * never deleted (ZooKeeper refuses it); its children are.
 */
export function deleteBatches(nodes: readonly string[], batchSize: number): string[][] {
  const batches: string[][] = [];
  let batch: string[] = [];
  let bytes = 0;
  for (let index = nodes.length - 1; index >= 0; index--) {
    const node = nodes[index]!;
    if (node === rootPath) continue;
    // 12 bytes of op header and version beside the path, as a multi encodes a delete.
    const size = Buffer.byteLength(node) + 12;
    if (batch.length > 0 && (batch.length >= batchSize || bytes + size > deleteBatchBytesMax)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(node);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** `path` with Curator's protected prefix on its last name: `/a/lock-` becomes `/a/_c_<id>-lock-`. */
export function protectedPath(path: string, id: string): string {
  const parent = parentOf(path);
  const name = path.endsWith('/') ? '' : basenameOf(path);
  return `${parent === rootPath ? '' : parent}/${protectedPrefix(id)}${name}`;
}

/** Curator's findProtectedNodeInForeground: the node an earlier attempt created, if any. */
export async function findProtected(
  run: OperationRunner,
  serverPath: string,
  id: string,
  ephemeral: boolean,
  scope: OperationScope,
): Promise<{ path: string; stat: Stat } | undefined> {
  const parent = parentOf(serverPath);
  let children: readonly string[];
  try {
    children = (await run.send({ op: 'getChildren', path: parent, watch: false }, scope, undefined)).children;
  } catch (error) {
    if (isCode(error, ['NoNode'])) return undefined;
    throw error;
  }
  const name = children.find((child) => child.startsWith(protectedPrefix(id)));
  if (name === undefined) return undefined;
  const path = parent === rootPath ? `/${name}` : `${parent}/${name}`;
  const stat = (await run.send({ op: 'exists', path, watch: false }, scope, undefined)).stat;
  if (ephemeral && stat.ephemeralOwner !== run.session.sessionId) {
    // Made by a session that has since expired (a managed client renewed it): not ours to keep.
    run.session.call({ op: 'delete', path, version: -1 }).catch(() => undefined);
    return undefined;
  }
  return { path, stat };
}

/**
 * Curator's ZKPaths.mkdirs: finds the deepest existing ancestor of `serverPath` first (so no
 * read access is needed above it), then creates each missing node; NodeExists is fine.
 */
export async function makeParents(
  run: OperationRunner,
  serverPath: string,
  mode: ParentMode,
  acl: readonly ACL[],
  scope: OperationScope,
): Promise<void> {
  const missing: string[] = [];
  for (let at = serverPath; at !== rootPath; at = parentOf(at)) {
    const exists = await run.session.call({ op: 'exists', path: at, watch: false }, undefined, scope);
    if (exists.ok) break;
    if (exists.code !== ErrorCode.NoNode) throw new ZabError(exists.code, run.clientPath(at));
    missing.unshift(at);
  }
  for (const path of missing) {
    let created = await run.session.call(createOp(path, undefined, { mode, acl }), undefined, scope);
    if (!created.ok && created.code === ErrorCode.Unimplemented && mode === 'container') {
      // A server without containers (before ZooKeeper 3.5): plain persistent parents.
      created = await run.session.call(
        createOp(path, undefined, { mode: 'persistent', acl }),
        undefined,
        scope,
      );
    }
    if (!created.ok && created.code !== ErrorCode.NodeExists)
      throw new ZabError(created.code, run.clientPath(path));
  }
}

/** Listing rounds deleteSubtree goes through while others change the subtree, before giving up. */
export const deleteRoundsMax = 10;

/**
 * One attempt of a recursive delete: lists the subtree, deletes it deepest first in multis, and
 * lists again when someone changed it meanwhile (NoNode, NotEmpty). Done when the root is gone
 * after an earlier round or attempt.
 */
export async function deleteSubtree(
  run: OperationRunner,
  serverPath: string,
  clientPath: string,
  batchSize: number,
  scope: OperationScope,
  earlierMayHaveApplied: boolean,
): Promise<void> {
  const children = async (at: string) =>
    (await run.send({ op: 'getChildren', path: at, watch: false }, scope, run.clientPath(at))).children;
  for (let round = 0; ; round++) {
    let nodes: string[];
    try {
      nodes = await listSubtree(serverPath, children);
    } catch (error) {
      if (isCode(error, ['NoNode']) && (round > 0 || earlierMayHaveApplied)) return;
      throw error;
    }
    try {
      for (const batch of deleteBatches(nodes, batchSize)) {
        const ops: MultiOp[] = batch.map((node) => ({ op: 'delete', path: node, version: -1 }));
        checkMultiResults(ops, (await run.send({ op: 'multi', ops }, scope, clientPath)).results);
      }
      return;
    } catch (error) {
      if (!isCode(error, ['NoNode', 'NotEmpty']) || round + 1 >= deleteRoundsMax) throw error;
    }
  }
}
