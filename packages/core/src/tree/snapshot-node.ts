/**
 * A znode and a whole tree as snapshots carry them: plain data, shared by the tree that makes
 * them, the stores that keep them and the codecs that encode them.
 */
import type { ACL } from '../acl.js';
import { configPath, pathProblem, quotaPath, rootPath, zookeeperPath } from '../path.js';
import type { ZnodeData } from '../requests.js';
import type { SessionId } from '../sessions/session-ids.js';
import type { Zxid } from '../zxid.js';

/** A znode as a snapshot stores it. */
export interface SnapshotNode {
  readonly path: string;
  readonly data: ZnodeData;
  readonly acl: readonly ACL[];
  readonly czxid: Zxid;
  readonly mzxid: Zxid;
  readonly pzxid: Zxid;
  readonly ctime: number;
  readonly mtime: number;
  readonly version: number;
  readonly cversion: number;
  readonly aversion: number;
  readonly ephemeralOwner: bigint;
}

/**
 * The whole replicated state at one zxid, as plain data: every node (parents before
 * children) and the global sessions. Enough to rebuild an identical tree.
 */
export interface TreeSnapshot {
  readonly zxid: Zxid;
  readonly nodes: readonly SnapshotNode[];
  readonly sessions: readonly (readonly [SessionId, number])[];
}

/**
 * About how many bytes a snapshot node takes encoded: its data, path and ACL plus the fixed
 * fields. Chunks of snapshots are sized with it, on the wire and in stores.
 */
export function snapshotNodeBytes(node: SnapshotNode): number {
  let bytes = 80 + (node.data === null ? 0 : node.data.length) + node.path.length * 3;
  for (const entry of node.acl) bytes += 8 + (entry.id.scheme.length + entry.id.id.length) * 3;
  return bytes;
}

/**
 * Why `nodes` cannot be restored into a tree at a zxid above `zxidMax`, or undefined when they
 * can: each path valid and listed once, after its parent (or under a node every tree starts
 * with), and no zxid in their Stats beyond `zxidMax` (a snapshot ahead of the history would
 * have later writes take zxids below ones clients have seen). A restore proposed with nodes
 * that fail this would stop every replica applying it: the leader checks first.
 */
export function restoreProblem(nodes: readonly SnapshotNode[], zxidMax: Zxid): string | undefined {
  const listed = new Set<string>([rootPath, zookeeperPath]);
  for (const node of nodes) {
    const { path } = node;
    const newest = node.mzxid > node.pzxid ? node.mzxid : node.pzxid;
    if (newest > zxidMax || node.czxid > zxidMax)
      return `snapshot node ${path} changed at a zxid beyond this ensemble's history (0x${zxidMax.toString(16)})`;
    if (path === rootPath || path === zookeeperPath || path === quotaPath || path === configPath) {
      listed.add(path);
      continue;
    }
    const problem = pathProblem(path);
    if (problem !== undefined) return `snapshot node ${JSON.stringify(path)}: ${problem}`;
    if (listed.has(path)) return `snapshot lists ${path} twice`;
    const parent = path.slice(0, Math.max(1, path.lastIndexOf('/')));
    if (!listed.has(parent)) return `snapshot lists ${path} before its parent`;
    listed.add(path);
  }
  return undefined;
}
