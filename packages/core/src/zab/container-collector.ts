/**
 * Container and TTL collection, which the leader runs: every `containerCheckIntervalMs` it
 * looks for containers that had children and have none left, and for TTL nodes without
 * children whose last change is older than their TTL, and proposes their deletion
 * (ZooKeeper's ContainerManager). A deletion proposed and not yet applied is not proposed again.
 */
import { assert } from '../errors.js';
import type { DataTree } from '../tree/data-tree.js';
import type { Zxid } from '../zxid.js';

/** Decides which containers and TTL nodes are due for deletion. */
export class ContainerCollector {
  private nextCheckMs: number;
  /** Deletions proposed and not yet applied, by zxid. */
  private readonly inFlight = new Map<Zxid, string>();

  constructor(
    private readonly checkIntervalMs: number,
    nowMs: number,
  ) {
    assert(checkIntervalMs > 0, 'containerCheckIntervalMs must be positive');
    this.nextCheckMs = nowMs + checkIntervalMs;
  }

  /** Deletions proposed and not yet applied. */
  get deletionsInFlight(): number {
    return this.inFlight.size;
  }

  /**
   * The paths to delete now, sorted, leaving out those already proposed; empty until a
   * check is due (by the timer clock, `nowMs`), and the next one is scheduled an interval
   * from now. A TTL counts from the node's mtime, a wall-clock stamp, so it is measured
   * against `wallMs`, as ZooKeeper's ContainerManager does.
   */
  due(tree: DataTree, nowMs: number, wallMs: number): string[] {
    if (nowMs < this.nextCheckMs) return [];
    this.nextCheckMs = nowMs + this.checkIntervalMs;
    const candidates: string[] = [];
    for (const path of tree.containers()) {
      const node = tree.getNode(path)!;
      if (node.cversion > 0 && node.childCount === 0) candidates.push(path);
    }
    for (const path of tree.ttlNodes()) {
      const node = tree.getNode(path)!;
      const { lifetime } = node;
      assert(lifetime.kind === 'ttl', 'the TTL index holds only TTL nodes');
      if (node.childCount === 0 && wallMs - node.mtime > lifetime.ttlMs) candidates.push(path);
    }
    const proposed = new Set(this.inFlight.values());
    return candidates.sort().filter((path) => !proposed.has(path));
  }

  /** The deletion of `path` was proposed as `zxid`. */
  proposed(zxid: Zxid, path: string): void {
    assert(!this.inFlight.has(zxid), 'one deletion per zxid');
    this.inFlight.set(zxid, path);
  }

  /** A transaction was applied: a deletion with its zxid is no longer in flight. */
  applied(zxid: Zxid): void {
    this.inFlight.delete(zxid);
  }
}
