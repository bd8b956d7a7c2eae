/**
 * A znode and a whole tree as snapshots carry them: plain data, shared by the tree that makes
 * them, the stores that keep them and the codecs that encode them.
 */
import type { ACL } from '../acl.js';
import type { ZnodeData } from '../requests.js';
import type { SessionId } from '../txn.js';
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
