/**
 * The replicated state: every znode, the ephemerals index and the global session table.
 * `apply` is the only way it changes, one committed transaction at a time, and it reports
 * the changes it made so that the server can fire watches.
 */
import { type ACL, Ids, Perms } from '../acl.js';
import { type EnsembleConfig, parseEnsembleConfig } from '../ensemble-config.js';
import { assert, assertNever, ErrorCode, type ErrorCodeValue } from '../errors.js';
import { basenameOf, configPath, parentOf, quotaPath, rootPath, zookeeperPath } from '../path.js';
import type { OpResult, ZnodeData } from '../requests.js';
import type { Stat } from '../stat.js';
import type { MultiPartTxn, RestoreTxn, SessionId, Txn, TxnBody } from '../txn.js';
import { multiFailed } from '../txn.js';
import { decodeUtf8, encodeUtf8 } from '../utf8.js';
import { type Zxid, zeroZxid } from '../zxid.js';
import { AclCache } from './acl-cache.js';
import { FoundNodes } from './found-nodes.js';
import { lifetimeOf, type NodeLifetime, persistentLifetime } from './lifetime.js';
import {
  parseStatsTrack,
  quotaLimitNode,
  quotaStatNode,
  quotaStatPath,
  quotaSubject,
  StatsTrack,
} from './quotas.js';
import type { SnapshotNode, TreeSnapshot } from './snapshot-node.js';
import { SnapshotStream, snapshotNodeOf } from './snapshot-stream.js';
import { Znode } from './znode.js';

export type { SnapshotNode, TreeSnapshot } from './snapshot-node.js';

/** A change the tree made, with the ACLs watch delivery is filtered by. */
export type TreeChange =
  | {
      readonly kind: 'created';
      readonly path: string;
      readonly acl: readonly ACL[];
      readonly parentAcl: readonly ACL[];
    }
  | {
      readonly kind: 'deleted';
      readonly path: string;
      readonly acl: readonly ACL[];
      readonly parentAcl: readonly ACL[];
    }
  | { readonly kind: 'dataChanged'; readonly path: string; readonly acl: readonly ACL[] };

/**
 * Where applying puts the changes it makes, in order: an array, or a list the caller reuses
 * transaction after transaction.
 */
export interface ChangeSink {
  push(change: TreeChange): void;
}

/** What applying one transaction produced for the client that issued it. */
export type TxnResult =
  | { readonly kind: 'create'; readonly path: string; readonly stat: Stat }
  | { readonly kind: 'setData' | 'setACL'; readonly stat: Stat }
  | { readonly kind: 'reconfig'; readonly data: Uint8Array; readonly stat: Stat }
  | { readonly kind: 'delete' | 'check' | 'createSession' | 'closeSession' | 'restore' }
  | { readonly kind: 'multi'; readonly results: readonly OpResult[] }
  | { readonly kind: 'error'; readonly code: ErrorCodeValue };

/** What applying a transaction did: its result and the changes watches fire on. */
export interface ApplyOutcome {
  readonly result: TxnResult;
  readonly changes: readonly TreeChange[];
}

/**
 * What `applyUnanswered` builds in place of a result, which it drops: a transaction no client
 * of this server waits on needs no Stat (one per write on every replica, most of the cost).
 */
const unbuiltResult: TxnResult = Object.freeze({ kind: 'check' });

/**
 * How many paths `readNode` remembers. Enough for a hot set of reads; when it is full the
 * table starts again empty, so it never holds more (about 1 MiB of Map, the keys being the
 * readers' own path strings) and costs nothing to keep in order.
 */
const hotNodesMax = 16_384;

class ApplyError extends Error {
  constructor(readonly code: ErrorCodeValue) {
    super(`apply failed with ${code}`);
  }
}

/** The znode tree, changed only by applying committed transactions in zxid order. */
export class DataTree {
  // Not readonly only so that `replaceWith` can move a whole state in at once.
  /** The root; every other node is found by name from its parent (see Znode). */
  private root: Znode = newRoot();
  /** Every node, the root included. */
  private count = 1;
  /**
   * Nodes reads found, by the path as the reader gave it (only a node's own path finds it):
   * one hash probe instead of one per name, in a table that stays in cache where a parent
   * of 300,000 children costs several misses to memory per read. A node leaves it when it
   * leaves the tree (`deleteNode`, `initialize`, `replaceWith`); nothing else replaces one.
   */
  private readonly hotNodes = new Map<string, Znode>();
  /**
   * Nodes the leader's preparer found for writes not yet applied (see `nodeForWrite`): their
   * applies take them instead of looking again. Forgotten whenever a node leaves the tree.
   */
  private readonly foundNodes = new FoundNodes();
  /** Every node's ACL list comes from here: one list per distinct ACL, however many nodes. */
  private acls = new AclCache();
  private ephemeralsBySession = new Map<SessionId, Set<string>>();
  private containerPaths = new Set<string>();
  private ttlPaths = new Set<string>();
  /** Global sessions and their negotiated timeouts: replicated through createSession/closeSession. */
  private sessionTimeouts = new Map<SessionId, number>();
  private lastAppliedZxid: Zxid = zeroZxid;
  /** False while `applyUnanswered` runs: results (and their Stats) are not built. */
  private answering = true;
  /**
   * The paths under a quota (each has /zookeeper/quota<path>/zookeeper_limits): ZooKeeper's
   * PathTrie of quota paths. Derived from the nodes, rebuilt when a snapshot is loaded.
   */
  private quotaRoots = new Set<string>();
  /** Told when a quota's stats node could not be read and was counted again (no crash, as ZooKeeper's). */
  onQuotaStatsRecounted: ((path: string) => void) | undefined;
  /** The snapshot being taken in slices, while its walk still needs copies of what changes. */
  private walk: SnapshotStream | undefined = undefined;
  /** Snapshot walks started on this tree: each marks the nodes it copied with its number. */
  private walks = 0;
  /** Bytes of every node's path and data, kept as they change (mntr asks often; a walk is slow). */
  private pathAndDataBytes = 0;
  /** What this server writes into /zookeeper/config, kept across snapshot loads. */
  private ensembleConfig:
    | { readonly data: Uint8Array; readonly version: Zxid; readonly timeMs: number }
    | undefined;

  constructor() {
    this.initialize();
  }

  private initialize(): void {
    // A snapshot still being taken copies what it needs before the nodes go.
    this.walk?.drain();
    this.hotNodes.clear();
    this.foundNodes.clear();
    this.acls.clear();
    this.ephemeralsBySession.clear();
    this.containerPaths.clear();
    this.ttlPaths.clear();
    this.sessionTimeouts.clear();
    this.quotaRoots.clear();
    this.lastAppliedZxid = zeroZxid;
    this.pathAndDataBytes = rootPath.length;
    const root = newRoot();
    root.acl = this.acls.acquire(root.acl);
    this.root = root;
    this.count = 1;
    this.addSystemNode(zookeeperPath, Ids.openAclUnsafe);
    this.addSystemNode(quotaPath, Ids.openAclUnsafe);
    const config = this.addSystemNode(configPath, [{ perms: Perms.Read, id: Ids.anyoneIdUnsafe }]);
    // ZooKeeper sets the config node's ACL with version -1 at start-up, so its aversion is -1.
    config.aversion = -1;
  }

  private addSystemNode(path: string, acl: readonly ACL[]): Znode {
    const node = new Znode(new Uint8Array(0), this.acls.acquire(acl), zeroZxid, 0, persistentLifetime);
    this.lookup(parentOf(path))!.addChild(basenameOf(path), node);
    this.count++;
    this.pathAndDataBytes += path.length;
    return node;
  }

  /** The state as plain data. The node data arrays are shared, not copied: never mutated. */
  snapshot(): TreeSnapshot {
    const nodes: SnapshotNode[] = [];
    for (const [path, node] of this.sortedNodes()) nodes.push(snapshotNodeOf(path, node));
    return { zxid: this.lastAppliedZxid, nodes, sessions: [...this.sessionTimeouts] };
  }

  /**
   * The state at the current zxid as a snapshot read later, a slice at a time, while the tree
   * goes on changing (see SnapshotStream): starting one costs as much as copying the sessions.
   * Nodes come parents before children, depth first, siblings in the order they were
   * created rather than sorted. A walk
   * still under way is first read to its end (its copies kept for it): one walk at a time.
   */
  beginSnapshot(): SnapshotStream {
    this.walk?.drain();
    const stream = new SnapshotStream(
      this.lastAppliedZxid,
      [...this.sessionTimeouts],
      this.root,
      (path) => this.lookup(path),
      ++this.walks,
      () => {
        if (this.walk === stream) this.walk = undefined;
      },
    );
    this.walk = stream;
    return stream;
  }

  /** True while a snapshot begun with `beginSnapshot` has not yet been read to its end. */
  get snapshotInProgress(): boolean {
    return this.walk !== undefined;
  }

  /** Before `node` at `path` changes: the snapshot being taken copies it if it still needs it. */
  private beforeChange(path: string, node: Znode): void {
    if (this.walk !== undefined) this.walk.beforeChange(path, node);
  }

  /** Rebuilds a tree from a snapshot. */
  static fromSnapshot(snapshot: TreeSnapshot): DataTree {
    const tree = new DataTree();
    tree.loadSnapshot(snapshot);
    return tree;
  }

  /** Replaces the whole state, in place, with a snapshot's. */
  loadSnapshot(snapshot: TreeSnapshot): void {
    this.initialize();
    this.restoreNodes(snapshot.nodes);
    this.finishRestore(snapshot.zxid, snapshot.sessions);
  }

  /**
   * Restores one piece of a snapshot arriving in pieces (a streamed SNAP), into a tree that
   * started empty: nodes in snapshot order, parents before children (asserted).
   */
  restoreNodes(nodes: readonly SnapshotNode[]): void {
    // Siblings come in runs: the parent found for one is most often the next one's too (and a
    // restore only adds nodes, so one found stays).
    let parentPath: string | undefined;
    let parent: Znode | undefined;
    for (const saved of nodes) {
      const path = saved.path;
      const slash = path.lastIndexOf('/');
      const name = path.slice(slash + 1);
      if (
        parentPath === undefined ||
        parentPath.length !== (slash === 0 ? 1 : slash) ||
        !path.startsWith(parentPath)
      ) {
        parentPath = slash === 0 ? rootPath : path.slice(0, slash);
        parent = this.lookup(parentPath);
      }
      this.restoreNode(saved, name, parent);
    }
  }

  /**
   * Ends a restore in pieces: the snapshot's sessions and the zxid it was taken at; then, as
   * after any snapshot load, this server's /zookeeper/config and the quotas the nodes set.
   */
  finishRestore(zxid: Zxid, sessions: readonly (readonly [SessionId, number])[]): void {
    for (const [sessionId, timeoutMs] of sessions) this.sessionTimeouts.set(sessionId, timeoutMs);
    this.preferNewerEnsembleConfig();
    this.writeEnsembleConfig();
    this.setUpQuotas();
    this.lastAppliedZxid = zxid;
  }

  /**
   * Takes over `other`'s whole state at once (its maps move here, nothing is copied) and
   * leaves `other` empty: how a learner switches to the tree it rebuilt from a SNAP while
   * everything holding this tree keeps holding it. This server's /zookeeper/config stays its own.
   */
  replaceWith(other: DataTree): void {
    assert(other !== this, 'a tree replaces itself with another');
    this.walk?.drain();
    other.walk?.drain();
    this.hotNodes.clear();
    this.foundNodes.clear();
    this.root = other.root;
    this.count = other.count;
    this.acls = other.acls;
    this.ephemeralsBySession = other.ephemeralsBySession;
    this.containerPaths = other.containerPaths;
    this.ttlPaths = other.ttlPaths;
    this.sessionTimeouts = other.sessionTimeouts;
    this.quotaRoots = other.quotaRoots;
    this.lastAppliedZxid = other.lastAppliedZxid;
    this.pathAndDataBytes = other.pathAndDataBytes;
    other.acls = new AclCache();
    other.ephemeralsBySession = new Map();
    other.containerPaths = new Set();
    other.ttlPaths = new Set();
    other.sessionTimeouts = new Map();
    other.quotaRoots = new Set();
    other.initialize();
    this.preferNewerEnsembleConfig();
    this.writeEnsembleConfig();
  }

  /**
   * A restore: the snapshot's nodes and sessions become the whole state, at the restore's
   * zxid, in one step. Built apart and moved in, so the tree is never seen half restored;
   * the snapshot's /zookeeper/config is left out, this server's own stays (a restore
   * changes the data, never the membership). Watches fire nothing: every server closes its
   * connections on a restore, and a client's reconnection sets its watches again.
   */
  private applyRestore(txn: Txn, body: RestoreTxn): void {
    const incoming = new DataTree();
    incoming.restoreNodes(body.nodes.filter((node) => node.path !== configPath));
    incoming.finishRestore(txn.zxid, body.sessions);
    this.replaceWith(incoming);
    assert(this.lastAppliedZxid === txn.zxid, 'a restore leaves the tree at its own zxid');
  }

  /** Restores one node, given its name and its parent (undefined when it has none: refused). */
  private restoreNode(saved: SnapshotNode, name: string, parent: Znode | undefined): void {
    // Only the nodes every tree starts with (the root, /zookeeper...) can be there already: the
    // others are added without a lookup first (the parent's Map refuses a name twice).
    const path = saved.path;
    let node = path.length === 1 || path.startsWith(zookeeperPath) ? this.lookup(path) : undefined;
    if (node === undefined) {
      assert(parent !== undefined, () => `snapshot lists ${path} before its parent`);
      const acl = this.acls.acquire(saved.acl);
      node = new Znode(saved.data, acl, saved.czxid, saved.ctime, lifetimeOf(saved.ephemeralOwner));
      assert(parent.addChild(name, node), () => `snapshot lists ${path} twice`);
      this.count++;
      this.pathAndDataBytes += path.length + node.dataLength;
      this.indexNode(path, node.lifetime);
    } else {
      // A node every tree starts with (the root, /zookeeper...): the snapshot's ACL replaces its own.
      this.beforeChange(saved.path, node);
      const acl = this.acls.acquire(saved.acl);
      this.acls.release(node.acl);
      node.acl = acl;
    }
    const bytesBefore = node.dataLength;
    node.setLoadedData(saved.data);
    this.pathAndDataBytes += node.dataLength - bytesBefore;
    // Equal zxids share one BigInt, as they do in a node the tree created (each zxid a snapshot
    // decodes is a 24-byte object of its own, and most nodes never change after their create).
    const { czxid } = node;
    node.mzxid = saved.mzxid === czxid ? czxid : saved.mzxid;
    node.pzxid = saved.pzxid === czxid ? czxid : saved.pzxid === node.mzxid ? node.mzxid : saved.pzxid;
    node.mtime = saved.mtime;
    node.version = saved.version;
    node.cversion = saved.cversion;
    node.aversion = saved.aversion;
  }

  /**
   * A digest of the whole state (FNV-1a over every node and session), for checking that
   * replicas agree. Linear in the tree's size: for tests and checkers, not the hot path.
   */
  digest(): string {
    let hash = 0x811c9dc5;
    const mix = (text: string) => {
      for (let i = 0; i < text.length; i++) {
        hash ^= text.charCodeAt(i);
        hash = Math.imul(hash, 0x01000193) >>> 0;
      }
    };
    for (const node of this.snapshot().nodes) {
      mix(node.path);
      // Each server stamps /zookeeper/config with its own clock: the time is not replicated.
      // Nor is a static configuration (mzxid 0): each server writes its own, and a server
      // joining may list itself where the others do not yet. A reconfig's is replicated.
      const mtime = node.path === configPath ? 0 : node.mtime;
      const ownConfig = node.path === configPath && node.mzxid === zeroZxid;
      mix(
        `${node.czxid},${node.mzxid},${node.pzxid},${node.ctime},${mtime},${node.version},${node.cversion}`,
      );
      const data = ownConfig ? '' : node.data === null ? 'null' : node.data.join('.');
      mix(`${node.aversion},${node.ephemeralOwner},${data}`);
      for (const entry of node.acl) mix(`${entry.perms}:${entry.id.scheme}:${entry.id.id}`);
    }
    for (const [sessionId, timeoutMs] of [...this.sessionTimeouts].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      mix(`${sessionId}=${timeoutMs}`);
    }
    return hash.toString(16).padStart(8, '0');
  }

  /**
   * Sets /zookeeper/config to this server's view of the ensemble, as ZooKeeper's
   * initConfigInZKDatabase does: not a transaction (each server writes its own, and again
   * after loading a snapshot), data version -1, mzxid the configuration's version, mtime
   * when it was written.
   */
  setEnsembleConfig(data: Uint8Array, version: Zxid, timeMs: number): void {
    this.ensembleConfig = { data, version, timeMs };
    this.writeEnsembleConfig();
  }

  /**
   * The configuration a reconfig left in /zookeeper/config (replicated, its mzxid the
   * reconfig's zxid), if any: a restored tree's, which wins over an older static one.
   */
  replicatedEnsembleConfig(): EnsembleConfig | undefined {
    const node = this.lookup(configPath);
    if (node === undefined || node.mzxid === zeroZxid || node.data === null || node.data.length === 0)
      return undefined;
    try {
      const config = parseEnsembleConfig(decodeUtf8(node.data));
      return config.version === node.mzxid ? config : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * After a snapshot load: a configuration the snapshot's /zookeeper/config holds that is
   * newer than this server's own (a reconfig's) becomes this server's own.
   */
  private preferNewerEnsembleConfig(): void {
    const node = this.lookup(configPath);
    if (node === undefined || node.mzxid === zeroZxid || node.data === null) return;
    if (this.ensembleConfig !== undefined && node.mzxid <= this.ensembleConfig.version) return;
    this.ensembleConfig = { data: node.data, version: node.mzxid, timeMs: node.mtime };
  }

  private writeEnsembleConfig(): void {
    const config = this.ensembleConfig;
    const node = this.lookup(configPath);
    if (config === undefined || node === undefined) return;
    this.beforeChange(configPath, node);
    this.replaceData(node, config.data);
    node.version = -1;
    node.mzxid = config.version;
    node.mtime = config.timeMs;
  }

  /** The zxid of the last transaction applied (or of the snapshot loaded). */
  get lastZxid(): Zxid {
    return this.lastAppliedZxid;
  }

  /** Every node in the tree, the root and /zookeeper nodes included (ZooKeeper's znode_count). */
  get nodeCount(): number {
    return this.count;
  }

  /** How many distinct ACLs the nodes hold (each kept once, however many nodes share it). */
  get distinctAclCount(): number {
    return this.acls.size;
  }

  /** Bytes of paths and data held, as ZooKeeper's mntr reports it (approximate_data_size). */
  approximateDataSize(): number {
    return this.pathAndDataBytes;
  }

  /** Replaces a node's data, keeping the count of bytes held. */
  private replaceData(node: Znode, data: ZnodeData): void {
    this.pathAndDataBytes += (data === null ? 0 : data.length) - node.dataLength;
    node.data = data;
  }

  /** The live node at `path`, if any; it belongs to the tree, so callers only read it. */
  getNode(path: string): Znode | undefined {
    return this.lookup(path);
  }

  /**
   * `getNode` for the preparation of the write that will be `zxid` (the leader's), by the
   * path it will apply at: the node found is remembered for that apply, which then need not
   * look it up again (see FoundNodes). Remembered in zxid order, at most one per path and
   * zxid: only setData asks.
   */
  nodeForWrite(zxid: Zxid, path: string): Znode | undefined {
    const node = this.lookup(path);
    if (node !== undefined) this.foundNodes.remember(zxid, path, node);
    return node;
  }

  /**
   * `getNode` for a client's read: the same answer, remembered by path (see `hotNodes`), so
   * that a path read again costs one lookup in a small table rather than one per name in
   * maps that may be large and out of cache. Writes keep to `getNode`: they would fill the
   * table with paths read once.
   */
  readNode(path: string): Znode | undefined {
    let node = this.hotNodes.get(path);
    if (node !== undefined) return node;
    node = this.lookup(path);
    if (node === undefined) return undefined;
    if (this.hotNodes.size >= hotNodesMax) this.hotNodes.clear();
    this.hotNodes.set(path, node);
    return node;
  }

  /**
   * The node at `path`, found name by name from the root; undefined for a path that names no
   * node (a malformed one included: no node has an empty name).
   */
  private lookup(path: string): Znode | undefined {
    let node: Znode | undefined = this.root;
    if (path === rootPath) return node;
    if (path.charCodeAt(0) !== 0x2f) return undefined;
    for (let start = 1; ; ) {
      const slash = path.indexOf('/', start);
      if (slash === -1) return node.child(path.slice(start));
      node = node.child(path.slice(start, slash));
      if (node === undefined) return undefined;
      start = slash + 1;
    }
  }

  /** A copy of the Stat of the node at `path`, if it exists. */
  statOf(path: string): Stat | undefined {
    return this.lookup(path)?.stat();
  }

  /** Paths of the ephemerals a session owns, sorted. */
  ephemeralsOf(sessionId: SessionId): string[] {
    return [...(this.ephemeralsBySession.get(sessionId) ?? [])].sort();
  }

  /**
   * How many ephemerals exist, over every owner: read by mntr and metrics on every scrape, so
   * it sums set sizes rather than listing and sorting each session's paths.
   */
  ephemeralCount(): number {
    let count = 0;
    for (const paths of this.ephemeralsBySession.values()) count += paths.size;
    return count;
  }

  /** Every session that owns at least one ephemeral. */
  sessionsWithEphemerals(): SessionId[] {
    return [...this.ephemeralsBySession.keys()];
  }

  /** Paths of every container node, for the periodic check that deletes empty ones. */
  containers(): readonly string[] {
    return [...this.containerPaths];
  }

  /** Paths of every TTL node, for the periodic check that deletes expired ones. */
  ttlNodes(): readonly string[] {
    return [...this.ttlPaths];
  }

  /** Sessions created and not yet closed by applied transactions, with their timeouts in ms. */
  sessions(): ReadonlyMap<SessionId, number> {
    return this.sessionTimeouts;
  }

  /** True when a createSession for the id has been applied and no closeSession since. */
  hasSession(sessionId: SessionId): boolean {
    return this.sessionTimeouts.has(sessionId);
  }

  /** The number of nodes below `path` (ZooKeeper's getAllChildrenNumber). */
  descendantCount(path: string): number {
    if (path === rootPath) return this.count - 1;
    const top = this.lookup(path);
    if (top === undefined) return 0;
    let count = 0;
    const pending = [top];
    while (pending.length > 0) {
      const children = pending.pop()!.childEntries();
      if (children === undefined) continue;
      for (let next = children.next(); next.done !== true; next = children.next()) {
        count++;
        pending.push(next.value[1]);
      }
    }
    return count;
  }

  /** Every path in the tree, parents before children, siblings sorted. */
  *paths(): Generator<string> {
    for (const [path] of this.sortedNodes()) yield path;
  }

  /** Every node with its path, parents before children, siblings sorted. */
  private *sortedNodes(): Generator<[string, Znode]> {
    const pending: [string, Znode][] = [[rootPath, this.root]];
    while (pending.length > 0) {
      const entry = pending.pop()!;
      yield entry;
      const [path, node] = entry;
      const names = node.sortedChildren();
      for (let i = names.length - 1; i >= 0; i--) {
        const name = names[i]!;
        pending.push([path === rootPath ? `/${name}` : `${path}/${name}`, node.child(name)!]);
      }
    }
  }

  /** Applies a committed transaction. Zxids must arrive in increasing order. */
  apply(txn: Txn): ApplyOutcome {
    const changes: TreeChange[] = [];
    const result = this.applyTxn(txn, changes);
    return { result, changes };
  }

  /**
   * Applies a committed transaction as `apply` does, for one no client of this server waits
   * on: the tree ends the same, but no result is built, and the changes go to `changes`,
   * which the caller may reuse (a new array per transaction, on every replica, costs more
   * than the change in it).
   */
  applyUnanswered(txn: Txn, changes: ChangeSink): void {
    this.answering = false;
    try {
      this.applyTxn(txn, changes);
    } finally {
      this.answering = true;
    }
  }

  private applyTxn(txn: Txn, changes: ChangeSink): TxnResult {
    assert(txn.zxid > this.lastAppliedZxid, () => `zxid ${txn.zxid} applied after ${this.lastAppliedZxid}`);
    this.lastAppliedZxid = txn.zxid;
    return this.applyBody(txn, txn.body, changes);
  }

  private applyBody(txn: Txn, body: TxnBody, changes: ChangeSink): TxnResult {
    try {
      switch (body.kind) {
        case 'createSession':
          this.sessionTimeouts.set(txn.sessionId, body.timeoutMs);
          return { kind: 'createSession' };
        case 'closeSession':
          for (const path of body.ephemeralPaths) {
            if (this.lookup(path) !== undefined) this.deleteNode(path, txn.zxid, changes);
          }
          this.sessionTimeouts.delete(txn.sessionId);
          return { kind: 'closeSession' };
        case 'multi':
          return this.applyMulti(txn, body.parts, changes);
        case 'error':
          return { kind: 'error', code: body.code };
        case 'reconfig':
          return this.applyReconfig(txn, body.config, changes);
        case 'restore':
          this.applyRestore(txn, body);
          return { kind: 'restore' };
        default:
          return this.applyPart(txn, body, changes);
      }
    } catch (error) {
      if (error instanceof ApplyError) return { kind: 'error', code: error.code };
      throw error;
    }
  }

  private applyMulti(txn: Txn, parts: readonly MultiPartTxn[], changes: ChangeSink): TxnResult {
    if (multiFailed({ kind: 'multi', parts })) {
      const results = parts.map((part): OpResult => {
        assert(part.kind === 'error', 'a failed multi holds only error parts');
        return { op: 'error', code: part.code };
      });
      return { kind: 'multi', results };
    }
    if (!this.answering) {
      for (const part of parts) {
        this.applyPart(txn, part, changes);
        // Where toOpResult would refuse the part's result, and stop the multi there.
        if (!multiResultKinds.has(part.kind)) throw new ApplyError(ErrorCode.MarshallingError);
      }
      return unbuiltResult;
    }
    const results = parts.map((part) => toOpResult(this.applyPart(txn, part, changes)));
    return { kind: 'multi', results };
  }

  private applyPart(txn: Txn, part: MultiPartTxn | TxnBody, changes: ChangeSink): TxnResult {
    switch (part.kind) {
      case 'create': {
        const node = this.createNode(
          part.path,
          part.data,
          part.acl,
          part.ephemeralOwner,
          part.parentCversion,
          txn,
          changes,
        );
        return this.answering ? { kind: 'create', path: part.path, stat: node.stat() } : unbuiltResult;
      }
      case 'delete':
        this.deleteNode(part.path, txn.zxid, changes);
        return { kind: 'delete' };
      case 'setData': {
        const node = this.setData(part.path, part.data, part.version, txn, changes);
        return this.answering ? { kind: 'setData', stat: node.stat() } : unbuiltResult;
      }
      case 'setACL': {
        const node = this.requireNode(part.path);
        this.beforeChange(part.path, node);
        const acl = this.acls.acquire(part.acl);
        this.acls.release(node.acl);
        node.acl = acl;
        node.aversion = part.aversion;
        return this.answering ? { kind: 'setACL', stat: node.stat() } : unbuiltResult;
      }
      case 'check':
        return { kind: 'check' };
      case 'error':
        return { kind: 'error', code: part.code };
      case 'createSession':
      case 'closeSession':
      case 'multi':
      case 'reconfig':
      case 'restore':
        throw new ApplyError(ErrorCode.MarshallingError);
      default:
        return assertNever(part, 'transaction');
    }
  }

  /**
   * The deepest path at or above `path` that has a quota (ZooKeeper's
   * getMaxPrefixWithQuota), or undefined; the root never has one.
   */
  quotaRootOf(path: string): string | undefined {
    if (this.quotaRoots.size === 0) return undefined;
    for (let at = path; at !== rootPath && at !== ''; at = parentOf(at)) {
      if (this.quotaRoots.has(at)) return at;
    }
    return undefined;
  }

  /** Moves the counts in the stats node of the quota `path` falls under, if any. */
  private updateQuotaStats(path: string, bytesDiff: number, countDiff: number): void {
    const root = this.quotaRootOf(path);
    if (root === undefined) return;
    const statPath = quotaStatPath(root);
    const statNode = this.lookup(statPath);
    if (statNode === undefined) return; // ZooKeeper logs this and goes on
    const stats = parseStatsTrack(statNode.data);
    if (stats === undefined) {
      // Where ZooKeeper's parser throws mid-apply (a client wrote garbage into the stats
      // node), count the subtree again instead.
      this.countQuota(root);
      this.onQuotaStatsRecounted?.(root);
      return;
    }
    stats.set('count', stats.count + BigInt(countDiff)).set('bytes', stats.bytes + BigInt(bytesDiff));
    this.beforeChange(statPath, statNode);
    this.replaceData(statNode, stats.toBytes());
  }

  /** Sets the stats node of the quota on `path` to what its subtree holds (updateQuotaForPath). */
  private countQuota(path: string): void {
    let count = 0;
    let bytes = 0;
    const top = this.lookup(path);
    if (top !== undefined) {
      const pending = [top];
      while (pending.length > 0) {
        const node = pending.pop()!;
        count += 1;
        bytes += node.dataLength;
        const children = node.childEntries();
        if (children === undefined) continue;
        for (let next = children.next(); next.done !== true; next = children.next())
          pending.push(next.value[1]);
      }
    }
    const statPath = quotaStatPath(path);
    const statNode = this.lookup(statPath);
    if (statNode === undefined) return;
    this.beforeChange(statPath, statNode);
    this.replaceData(
      statNode,
      new StatsTrack().set('count', BigInt(count)).set('bytes', BigInt(bytes)).toBytes(),
    );
  }

  /**
   * After a snapshot: every limits node makes a quota again. Unlike ZooKeeper's setupQuota, the
   * stats nodes are not counted anew: ZooKeeper's snapshots are fuzzy and its recount mends
   * them, ours are exact at their zxid, and a recount would make a restored replica differ from
   * the one it was copied from wherever the counts are not the subtree's (a client may write a
   * stats node, or write it before the limits node exists).
   */
  private setUpQuotas(): void {
    // Only /zookeeper/quota's subtree can name a quota: walk it, not every node of the tree.
    const pending = [quotaPath];
    while (pending.length > 0) {
      const at = pending.pop()!;
      const node = this.lookup(at);
      if (node === undefined) continue;
      for (const child of node.childNames()) {
        const subject = quotaSubject(at);
        if (subject !== undefined && child === quotaLimitNode && subject !== '') this.quotaRoots.add(subject);
        pending.push(`${at}/${child}`);
      }
    }
  }

  private requireNode(path: string): Znode {
    const node = this.lookup(path);
    if (node === undefined) throw new ApplyError(ErrorCode.NoNode);
    return node;
  }

  private createNode(
    path: string,
    data: ZnodeData,
    acl: readonly ACL[],
    ephemeralOwner: bigint,
    parentCversion: number,
    txn: Txn,
    changes: ChangeSink,
  ): Znode {
    const parent = this.requireNode(parentOf(path));
    const name = basenameOf(path);
    if (parent.child(name) !== undefined) throw new ApplyError(ErrorCode.NodeExists);
    this.beforeChange(parentOf(path), parent);
    // Only move the parent forward: replaying a create over a newer state must not regress it.
    if (parentCversion > parent.cversion) {
      parent.cversion = parentCversion;
      parent.pzxid = txn.zxid;
    }
    const node = new Znode(data, this.acls.acquire(acl), txn.zxid, txn.timeMs, lifetimeOf(ephemeralOwner));
    parent.addChild(name, node);
    this.count++;
    this.pathAndDataBytes += path.length + node.dataLength;
    this.indexNode(path, node.lifetime);
    const subject = quotaSubject(parentOf(path));
    if (subject !== undefined) {
      if (basenameOf(path) === quotaLimitNode) this.quotaRoots.add(subject);
      if (basenameOf(path) === quotaStatNode) this.countQuota(subject);
    }
    this.updateQuotaStats(path, dataBytes(data), 1);
    changes.push({ kind: 'created', path, acl: node.acl, parentAcl: parent.acl });
    return node;
  }

  private indexNode(path: string, lifetime: NodeLifetime): void {
    switch (lifetime.kind) {
      case 'container':
        this.containerPaths.add(path);
        break;
      case 'ttl':
        this.ttlPaths.add(path);
        break;
      case 'ephemeral': {
        let paths = this.ephemeralsBySession.get(lifetime.sessionId);
        if (paths === undefined) this.ephemeralsBySession.set(lifetime.sessionId, (paths = new Set()));
        paths.add(path);
        break;
      }
      case 'persistent':
        break;
    }
  }

  private unindexNode(path: string, lifetime: NodeLifetime): void {
    this.containerPaths.delete(path);
    this.ttlPaths.delete(path);
    if (lifetime.kind !== 'ephemeral') return;
    const paths = this.ephemeralsBySession.get(lifetime.sessionId);
    if (paths === undefined) return;
    paths.delete(path);
    if (paths.size === 0) this.ephemeralsBySession.delete(lifetime.sessionId);
  }

  private deleteNode(path: string, zxid: Zxid, changes: ChangeSink): void {
    const parent = this.requireNode(parentOf(path));
    const name = basenameOf(path);
    const node = parent.child(name);
    if (node === undefined) throw new ApplyError(ErrorCode.NoNode);
    if (node.childCount > 0) throw new ApplyError(ErrorCode.NotEmpty);
    this.beforeChange(parentOf(path), parent);
    this.beforeChange(path, node);
    parent.removeChild(name);
    this.hotNodes.delete(path);
    // Whatever was remembered was found before this node left: perhaps it.
    this.foundNodes.clear();
    // ZooKeeper moves pzxid on a delete but leaves cversion alone.
    if (zxid > parent.pzxid) parent.pzxid = zxid;
    this.count--;
    this.pathAndDataBytes -= path.length + node.dataLength;
    this.acls.release(node.acl);
    this.unindexNode(path, node.lifetime);
    const subject = quotaSubject(parentOf(path));
    if (subject !== undefined && basenameOf(path) === quotaLimitNode) this.quotaRoots.delete(subject);
    this.updateQuotaStats(path, -node.dataLength, -1);
    changes.push({ kind: 'deleted', path, acl: node.acl, parentAcl: parent.acl });
  }

  /**
   * A reconfig: /zookeeper/config takes the new configuration, as ZooKeeper's setData of the
   * node with version -1 (mzxid the reconfig's zxid), and keeps it across snapshot loads from
   * now on; its data watches fire.
   */
  private applyReconfig(txn: Txn, config: string, changes: ChangeSink): TxnResult {
    const data = encodeUtf8(config);
    this.setEnsembleConfig(data, txn.zxid, txn.timeMs);
    const node = this.requireNode(configPath);
    changes.push({ kind: 'dataChanged', path: configPath, acl: node.acl });
    return this.answering ? { kind: 'reconfig', data, stat: node.stat() } : unbuiltResult;
  }

  private setData(path: string, data: ZnodeData, version: number, txn: Txn, changes: ChangeSink): Znode {
    const node = this.foundNodes.take(txn.zxid, path) ?? this.requireNode(path);
    this.beforeChange(path, node);
    const bytesBefore = node.dataLength;
    this.replaceData(node, data);
    this.updateQuotaStats(path, dataBytes(data) - bytesBefore, 0);
    node.version = version;
    node.mtime = txn.timeMs;
    node.mzxid = txn.zxid;
    changes.push({ kind: 'dataChanged', path, acl: node.acl });
    return node;
  }
}

/** The kinds of part whose results a multi's results hold (those toOpResult takes). */
const multiResultKinds: ReadonlySet<string> = new Set(['create', 'setData', 'delete', 'check', 'error']);

function toOpResult(result: TxnResult): OpResult {
  switch (result.kind) {
    case 'create':
      return { op: 'create', path: result.path, stat: result.stat };
    case 'setData':
      return { op: 'setData', stat: result.stat };
    case 'delete':
      return { op: 'delete' };
    case 'check':
      return { op: 'check' };
    case 'error':
      return { op: 'error', code: result.code };
    default:
      throw new ApplyError(ErrorCode.MarshallingError);
  }
}

/** An empty tree's root (its ACL taken from the tree's cache by the tree). */
function newRoot(): Znode {
  return new Znode(new Uint8Array(0), Ids.openAclUnsafe, zeroZxid, 0, persistentLifetime);
}

function dataBytes(data: ZnodeData): number {
  return data === null ? 0 : data.length;
}
