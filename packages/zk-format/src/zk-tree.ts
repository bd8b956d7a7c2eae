/**
 * ZooKeeper's own data tree, as far as loading a data directory needs it: the rules by which
 * ZooKeeper's DataTree applies a logged transaction over a fuzzy snapshot (a create over an
 * existing node fails with NodeExists and still moves its parent's cversion forward, a delete
 * of a missing node still moves the parent's pzxid, a multi applies its parts one by one, a
 * closeSession deletes the paths it names and then the session's other ephemerals), quota
 * statistics, and the tree digest (the sum of a CRC32 per node) that ZooKeeper 3.6+ writes
 * into snapshots and after each logged transaction, so a replay can check itself against it.
 * Paths are ZooKeeper's: the root is "", reachable as "/" too.
 */
import { crc32 } from 'node:zlib';
import { type ACL, Ids } from '@zabkit/core';
import { ZkFormatError } from './errors.js';
import { JuteReader, utf8Bytes } from './jute.js';
import { readTxnRecord, type StatPersisted, type TxnHeader, ZkOpCode, type ZkTxn } from './records.js';
import type { ZxidDigest } from './snapshot.js';

/** KeeperException codes the replay produces. */
const Code = { ok: 0, runtimeInconsistency: -2, noNode: -101, nodeExists: -110 } as const;

/** The digest version ZooKeeper 3.6 to 3.9 computes (DigestCalculator). */
export const digestVersion = 2;

const containerOwner = -(1n << 63n);
const extendedMask = BigInt.asIntN(64, 0xff00_0000_0000_0000n);
const reservedBitsMask = 0x00ff_ff00_0000_0000n;
const ttlValueMask = 0x00ff_ffff_ffffn;

const quotaPath = '/zookeeper/quota';
const limitNode = 'zookeeper_limits';
const statNode = 'zookeeper_stats';

class KeeperError extends Error {
  constructor(readonly code: number) {
    super(`keeper error ${code}`);
  }
}

/** A multi part ZooKeeper cannot decode: it stops applying the rest of the multi, silently. */
class MultiStop extends Error {}

/** A znode as ZooKeeper's DataTree holds it, with its ACL list resolved. */
export class ZkNode {
  readonly children = new Set<string>();
  constructor(
    public data: Uint8Array | null,
    /** null when the snapshot referred to an ACL its cache does not hold. */
    public acl: readonly ACL[] | null,
    public stat: StatPersisted,
    /** The unresolved reference, when `acl` is null. */
    public danglingAclRef?: bigint,
  ) {}
}

/** How ZooKeeper was configured, where that changes what it loads. */
export interface ZkTreeOptions {
  /** zookeeper.extendedTypesEnabled: TTL nodes are TTL nodes, not ephemerals of a session that never was. */
  readonly extendedTypesEnabled: boolean;
  /** zookeeper.digest.enabled. */
  readonly digestEnabled: boolean;
}

/** What checking the replay against ZooKeeper's recorded digests found. */
export interface DigestReport {
  /**
   * The snapshot's digest: compared when the replay reached its zxid, or why not.
   * `behindByOneTxn`: it differed there, and the tree matched the digest logged with the next
   * transaction. ZooKeeper's snapshot thread reads the digest after writing the nodes, and a
   * transaction being applied at that moment (a multi applies part by part) may already be in
   * the nodes but not yet in the digest; ZooKeeper counts this in zk_digest_mismatches_count
   * and carries on. The next logged digest checks the tree all the same.
   */
  snapshot: 'matched' | 'behindByOneTxn' | 'mismatched' | 'notReached' | 'absent' | 'disabled';
  /** Logged transaction digests that matched the replayed tree. */
  txnsMatched: number;
  /** Zxids of logged transactions whose digest did not match. */
  txnsMismatched: bigint[];
}

type NodeKind = 'persistent' | 'ephemeral' | 'container' | 'ttl';

/** The data tree, with ZooKeeper's rules for applying transactions. */
export class ZkDataTree {
  readonly nodes = new Map<string, ZkNode>();
  /** Sessions and their ephemerals. Like ZooKeeper's, an emptied set stays until its session is killed. */
  readonly ephemerals = new Map<bigint, Set<string>>();
  lastProcessedZxid = 0n;
  /** The snapshot's digest while the replay is still in the fuzzy range before it. */
  digestFromLoadedSnapshot: ZxidDigest | null = null;
  readonly digestReport: DigestReport;
  /**
   * The snapshot's digest when it differed from the tree at its zxid: the next transaction's
   * logged digest settles whether the snapshot was one transaction ahead of it or wrong.
   */
  private unsettledSnapshotDigest: ZxidDigest | null = null;
  private hash = 0n;
  private readonly quotas = new PathTrie();

  constructor(
    readonly options: ZkTreeOptions,
    private readonly warn: (message: string) => void = () => undefined,
  ) {
    this.digestReport = {
      snapshot: options.digestEnabled ? 'absent' : 'disabled',
      txnsMatched: 0,
      txnsMismatched: [],
    };
    const empty = () => ({
      czxid: 0n,
      mzxid: 0n,
      ctime: 0n,
      mtime: 0n,
      version: 0,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: 0n,
      pzxid: 0n,
    });
    this.put('', new ZkNode(new Uint8Array(0), Ids.openAclUnsafe, empty()));
    this.root().children.add('zookeeper');
    this.put('/zookeeper', new ZkNode(new Uint8Array(0), Ids.openAclUnsafe, empty()));
    this.get('/zookeeper')!.children.add('quota');
    this.put(quotaPath, new ZkNode(new Uint8Array(0), Ids.openAclUnsafe, empty()));
    this.get('/zookeeper')!.children.add('config');
    // DataTree.addConfigNode sets the config node's ACL with version -1.
    this.put(
      '/zookeeper/config',
      new ZkNode(new Uint8Array(0), Ids.readAclUnsafe, { ...empty(), aversion: -1 }),
    );
  }

  root(): ZkNode {
    return this.nodes.get('')!;
  }

  /** The node at a path; "/" is the root too. */
  get(path: string): ZkNode | undefined {
    return this.nodes.get(path === '/' ? '' : path);
  }

  /** The tree digest: the 64-bit sum of every node's digest outside /zookeeper/. */
  treeDigest(): bigint {
    return this.hash;
  }

  // ---- digests ---------------------------------------------------------------------------

  private nodeDigest(path: string, node: ZkNode): bigint {
    return this.options.digestEnabled ? zkNodeDigest(path, node.data, node.stat) : 0n;
  }

  private addDigest(path: string, node: ZkNode): void {
    this.hash = BigInt.asIntN(64, this.hash + this.nodeDigest(path, node));
  }

  private removeDigest(path: string, node: ZkNode): void {
    this.hash = BigInt.asIntN(64, this.hash - this.nodeDigest(path, node));
  }

  /** Changes a node between taking its digest out and putting the new one in (NodeHashMap pre/postChange). */
  private change(path: string, node: ZkNode, mutate: () => void): void {
    this.removeDigest(path, node);
    mutate();
    this.addDigest(path, node);
  }

  private put(path: string, node: ZkNode): void {
    const old = this.nodes.get(path);
    this.nodes.set(path, node);
    this.addDigest(path, node);
    if (old !== undefined) this.removeDigest(path, old);
  }

  // ---- node kinds --------------------------------------------------------------------------

  /** EphemeralType.get, which depends on zookeeper.extendedTypesEnabled. */
  private kindOf(owner: bigint, path: string): NodeKind {
    if (this.options.extendedTypesEnabled && (owner & extendedMask) === extendedMask) {
      if ((owner & reservedBitsMask) >> 40n !== 0n)
        // ZooKeeper fails with an IllegalArgumentException and does not start.
        throw new ZkFormatError(
          'badRecord',
          path,
          -1,
          `invalid ephemeralOwner 0x${BigInt.asUintN(64, owner).toString(16)}`,
        );
      return 'ttl';
    }
    if (owner === containerOwner) return 'container';
    return owner === 0n ? 'persistent' : 'ephemeral';
  }

  private indexEphemeral(path: string, owner: bigint): void {
    if (this.kindOf(owner, path) !== 'ephemeral') return;
    let paths = this.ephemerals.get(owner);
    if (paths === undefined) this.ephemerals.set(owner, (paths = new Set()));
    paths.add(path);
  }

  // ---- loading a snapshot ------------------------------------------------------------------

  /** DataTree.deserialize's start: nodes, digest and quotas cleared; the ephemerals index is not, as in ZooKeeper. */
  beginSnapshot(): void {
    this.nodes.clear();
    this.hash = 0n;
    this.quotas.clear();
  }

  /** One node of a snapshot, in file order. */
  loadNode(
    path: string,
    data: Uint8Array | null,
    acl: readonly ACL[] | null,
    aclRef: bigint,
    stat: StatPersisted,
    file: string,
    offset: number,
  ): void {
    const node = new ZkNode(data, acl, stat, acl === null ? aclRef : undefined);
    const slash = path.lastIndexOf('/');
    if (slash === -1 && path !== '')
      throw new ZkFormatError(
        'badRecord',
        file,
        offset,
        `node path ${JSON.stringify(path)} does not start with /`,
      );
    this.put(path, node);
    if (slash === -1) return;
    const parent = this.nodes.get(path.slice(0, slash));
    if (parent === undefined)
      throw new ZkFormatError('badTree', file, offset, `node ${path} comes before its parent`);
    parent.children.add(path.slice(slash + 1));
    this.indexEphemeral(path, stat.ephemeralOwner);
  }

  /** DataTree.deserialize's end: quota statistics recomputed from the tree. */
  endSnapshot(): void {
    if (this.nodes.has(quotaPath)) this.traverseQuotas(quotaPath);
  }

  /** FileSnap.deserialize's last step: the snapshot's zxid, and its digest to check the replay with. */
  snapshotLoaded(zxid: bigint, digest: ZxidDigest | null): void {
    this.lastProcessedZxid = zxid;
    this.digestFromLoadedSnapshot =
      digest !== null && digest.zxid > 0n && digest.zxid >= zxid ? digest : null;
    if (this.digestFromLoadedSnapshot !== null) {
      this.digestReport.snapshot = 'notReached';
      this.compareSnapshotDigest(zxid);
    }
  }

  // ---- applying transactions ---------------------------------------------------------------

  /** DataTree.processTxn: applies one transaction (or multi part); returns its error code. */
  processTxn(header: TxnHeader, txn: ZkTxn | null, isSubTxn = false): number {
    let err: number = Code.ok;
    let path: string | undefined;
    try {
      switch (header.type) {
        case ZkOpCode.create:
        case ZkOpCode.create2: {
          const t = expect(txn, 'create');
          path = t.path;
          this.createNode(
            t.path,
            t.data,
            t.acl,
            t.ephemeral ? header.clientId : 0n,
            t.parentCversion,
            header,
          );
          break;
        }
        case ZkOpCode.createTTL: {
          const t = expect(txn, 'createTTL');
          path = t.path;
          if (t.ttl <= 0n || t.ttl > ttlValueMask)
            throw new ZkFormatError(
              'badRecord',
              t.path,
              -1,
              `TTL ${t.ttl} is out of range (ZooKeeper fails on it too)`,
            );
          this.createNode(
            t.path,
            t.data,
            t.acl,
            BigInt.asIntN(64, extendedMask | t.ttl),
            t.parentCversion,
            header,
          );
          break;
        }
        case ZkOpCode.createContainer: {
          const t = expect(txn, 'createContainer');
          path = t.path;
          this.createNode(t.path, t.data, t.acl, containerOwner, t.parentCversion, header);
          break;
        }
        case ZkOpCode.delete:
        case ZkOpCode.deleteContainer:
          path = expect(txn, 'delete').path;
          this.deleteNode(path, header.zxid);
          break;
        case ZkOpCode.setData:
        case ZkOpCode.reconfig: {
          const t = expect(txn, 'setData');
          path = t.path;
          this.setData(t.path, t.data, t.version, header);
          break;
        }
        case ZkOpCode.setACL: {
          const t = expect(txn, 'setACL');
          path = t.path;
          this.setAcl(t.path, t.acl, t.version);
          break;
        }
        case ZkOpCode.closeSession: {
          const paths = txn?.kind === 'closeSession' ? txn.paths : null;
          const local = this.ephemerals.get(header.clientId);
          this.ephemerals.delete(header.clientId);
          this.killSession(header.zxid, local, paths);
          break;
        }
        case ZkOpCode.error:
          err = expect(txn, 'error').err;
          break;
        case ZkOpCode.multi:
          err = this.applyMulti(header, expect(txn, 'multi').parts);
          break;
      }
    } catch (error) {
      if (error instanceof KeeperError) err = error.code;
      else if (!(error instanceof MultiStop)) throw error;
    }
    if (
      header.type === ZkOpCode.create &&
      err === Code.nodeExists &&
      path !== undefined &&
      txn?.kind === 'create'
    ) {
      // A node deleted by a session's close and re-created by another session after its
      // parent was serialized: the create fails, and the parent's cversion still moves on.
      try {
        this.setCversionPzxid(path.slice(0, path.lastIndexOf('/')), txn.parentCversion, header.zxid);
      } catch (error) {
        if (!(error instanceof KeeperError)) throw error;
        err = error.code;
      }
    }
    if (!isSubTxn) {
      if (header.zxid > this.lastProcessedZxid) this.lastProcessedZxid = header.zxid;
      if (this.digestFromLoadedSnapshot !== null) this.compareSnapshotDigest(header.zxid);
    }
    return err;
  }

  /**
   * Compares the tree with a logged transaction's digest (DataTree.compareDigest), called
   * after the transaction is applied. The first one after a snapshot digest that differed
   * settles it (see `DigestReport.snapshot`).
   */
  compareTxnDigest(zxid: bigint, digest: { version: number; treeDigest: bigint } | null): void {
    if (!this.options.digestEnabled) return;
    if (this.digestFromLoadedSnapshot !== null) return;
    const unsettled = this.unsettledSnapshotDigest;
    if (unsettled !== null && zxid === unsettled.zxid && digest?.treeDigest === unsettled.digest)
      // The snapshot's digest zxid replayed: its logged digest is the snapshot's, compared already.
      return;
    const comparable = digest !== null && digest.version === digestVersion;
    const matched = comparable && digest.treeDigest === this.hash;
    if (unsettled !== null && zxid > unsettled.zxid) {
      this.unsettledSnapshotDigest = null;
      if (matched) {
        this.digestReport.snapshot = 'behindByOneTxn';
        this.warn(
          `the snapshot's digest at 0x${unsettled.zxid.toString(16)} lags what the snapshot holds by the txn ZooKeeper was applying as it took it (ZooKeeper counts this in zk_digest_mismatches_count); the tree matches the digest logged after 0x${zxid.toString(16)}`,
        );
      } else
        this.snapshotDigestMismatched(
          unsettled.zxid,
          `nor the digest logged after the next txn 0x${zxid.toString(16)}`,
        );
    }
    if (!comparable) return;
    if (matched) this.digestReport.txnsMatched++;
    else {
      if (this.digestReport.txnsMismatched.length === 0)
        this.warn(`the tree digest after txn 0x${zxid.toString(16)} differs from the one ZooKeeper logged`);
      this.digestReport.txnsMismatched.push(zxid);
    }
  }

  /** The end of the replay: a snapshot digest that differed and no transaction came to settle it. */
  finishReplay(): void {
    const unsettled = this.unsettledSnapshotDigest;
    if (unsettled === null) return;
    this.unsettledSnapshotDigest = null;
    this.snapshotDigestMismatched(unsettled.zxid, 'and no logged txn follows to check the tree');
  }

  private snapshotDigestMismatched(zxid: bigint, why: string): void {
    this.digestReport.snapshot = 'mismatched';
    this.warn(`the tree digest at 0x${zxid.toString(16)} differs from the snapshot's, ${why}`);
  }

  /** DataTree.compareSnapshotDigests: at the digest's zxid, after that transaction is applied. */
  private compareSnapshotDigest(zxid: bigint): void {
    const target = this.digestFromLoadedSnapshot!;
    if (zxid === target.zxid) {
      if (target.digestVersion === digestVersion) {
        if (this.hash === target.digest) this.digestReport.snapshot = 'matched';
        else {
          // Mismatched unless the next logged digest shows the snapshot one txn ahead of it.
          this.digestReport.snapshot = 'mismatched';
          this.unsettledSnapshotDigest = target;
        }
      }
      this.digestFromLoadedSnapshot = null;
    }
  }

  private applyMulti(header: TxnHeader, parts: readonly { type: number; data: Uint8Array }[]): number {
    let err: number = Code.ok;
    const failed = parts.some((part) => part.type === ZkOpCode.error);
    let postFailed = false;
    for (const part of parts) {
      let type = part.type;
      let record: ZkTxn | undefined;
      const known = [
        ZkOpCode.create,
        ZkOpCode.createTTL,
        ZkOpCode.createContainer,
        ZkOpCode.delete,
        ZkOpCode.deleteContainer,
        ZkOpCode.setData,
        ZkOpCode.error,
        ZkOpCode.check,
      ] as number[];
      if (!known.includes(type)) {
        this.warn(
          `multi 0x${header.zxid.toString(16)} has a part of type ${type}: ZooKeeper stops applying the multi there`,
        );
        throw new MultiStop();
      }
      try {
        record = readTxnRecord(new JuteReader(part.data, `multi 0x${header.zxid.toString(16)}`), type);
      } catch (error) {
        if (!(error instanceof ZkFormatError) || error.code === 'badRecord') throw error;
        this.warn(
          `multi 0x${header.zxid.toString(16)} has a part that does not decode: ZooKeeper stops applying the multi there`,
        );
        throw new MultiStop();
      }
      if (type === ZkOpCode.error) postFailed = true;
      if (failed && type !== ZkOpCode.error) {
        type = ZkOpCode.error;
        record = { kind: 'error', err: postFailed ? Code.runtimeInconsistency : Code.ok };
      }
      const subErr = this.processTxn({ ...header, type }, record ?? null, true);
      if (subErr !== 0 && err === 0) err = subErr;
    }
    return err;
  }

  private createNode(
    path: string,
    data: Uint8Array | null,
    acl: readonly ACL[] | null,
    owner: bigint,
    parentCversion: number,
    header: TxnHeader,
  ): void {
    const slash = checkedSlash(path);
    const parentName = path.slice(0, slash);
    const childName = path.slice(slash + 1);
    const parent = this.nodes.get(parentName);
    if (parent === undefined) throw new KeeperError(Code.noNode);
    if (parent.children.has(childName)) throw new KeeperError(Code.nodeExists);
    this.change(parentName, parent, () => {
      const cversion = parentCversion === -1 ? parent.stat.cversion + 1 : parentCversion;
      // A create replayed over a node created and deleted in the fuzzy range must not move it back.
      if (cversion > parent.stat.cversion) {
        parent.stat.cversion = cversion;
        parent.stat.pzxid = header.zxid;
      }
      parent.children.add(childName);
    });
    const stat: StatPersisted = {
      czxid: header.zxid,
      mzxid: header.zxid,
      pzxid: header.zxid,
      ctime: header.time,
      mtime: header.time,
      version: 0,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: owner,
    };
    const child = new ZkNode(data, acl ?? Ids.openAclUnsafe, stat);
    this.put(path, child);
    this.indexEphemeral(path, owner);
    if (parentName.startsWith(quotaPath)) {
      if (childName === limitNode) this.quotas.add(trimQuotaPath(parentName, path));
      if (childName === statNode) this.updateQuotaForPath(trimQuotaPath(parentName, path));
    }
    const prefix = this.maxPrefixWithQuota(path);
    if (prefix !== undefined) this.updateQuotaStat(prefix, BigInt(data?.length ?? 0), 1n);
  }

  private deleteNode(path: string, zxid: bigint): void {
    const slash = checkedSlash(path);
    const parentName = path.slice(0, slash);
    const childName = path.slice(slash + 1);
    const parent = this.nodes.get(parentName);
    if (parent === undefined) throw new KeeperError(Code.noNode);
    // The child may be gone already (a fuzzy snapshot), but the parent's pzxid moves all the same.
    this.change(parentName, parent, () => {
      parent.children.delete(childName);
      if (zxid > parent.stat.pzxid) parent.stat.pzxid = zxid;
    });
    const node = this.nodes.get(path);
    if (node === undefined) throw new KeeperError(Code.noNode);
    this.nodes.delete(path);
    this.removeDigest(path, node);
    const owner = node.stat.ephemeralOwner;
    if (this.kindOf(owner, path) === 'ephemeral') this.ephemerals.get(owner)?.delete(path);
    if (parentName.startsWith('/zookeeper') && childName === limitNode)
      this.quotas.remove(trimQuotaPath(parentName, path));
    const prefix = this.maxPrefixWithQuota(path);
    if (prefix !== undefined) this.updateQuotaStat(prefix, -BigInt(node.data?.length ?? 0), -1n);
  }

  private setData(path: string, data: Uint8Array | null, version: number, header: TxnHeader): void {
    const node = this.get(path);
    if (node === undefined) throw new KeeperError(Code.noNode);
    const previous = node.data;
    this.change(path, node, () => {
      node.data = data;
      node.stat.mtime = header.time;
      node.stat.mzxid = header.zxid;
      node.stat.version = version;
    });
    const prefix = this.maxPrefixWithQuota(path);
    if (prefix !== undefined)
      this.updateQuotaStat(prefix, BigInt((data?.length ?? 0) - (previous?.length ?? 0)), 0n);
  }

  private setAcl(path: string, acl: readonly ACL[] | null, version: number): void {
    const node = this.get(path);
    if (node === undefined) throw new KeeperError(Code.noNode);
    this.change(path, node, () => {
      node.stat.aversion = version;
      node.acl = acl ?? Ids.openAclUnsafe;
      node.danglingAclRef = undefined;
    });
  }

  private setCversionPzxid(path: string, cversion: number, zxid: bigint): void {
    const key = path.endsWith('/') ? path.slice(0, -1) : path;
    const node = this.nodes.get(key);
    if (node === undefined) throw new KeeperError(Code.noNode);
    const next = cversion === -1 ? node.stat.cversion + 1 : cversion;
    if (next > node.stat.cversion) {
      this.change(key, node, () => {
        node.stat.cversion = next;
        node.stat.pzxid = zxid;
      });
    }
  }

  /** DataTree.killSession: the paths the closeSession names, then the session's other ephemerals. */
  killSession(zxid: bigint, local: Set<string> | undefined, inTxn: readonly string[] | null): void {
    if (inTxn !== null) this.deleteNodes(inTxn, zxid);
    if (local === undefined) return;
    if (inTxn !== null) for (const path of inTxn) local.delete(path);
    this.deleteNodes([...local], zxid);
  }

  private deleteNodes(paths: readonly string[], zxid: bigint): void {
    for (const path of paths) {
      try {
        this.deleteNode(path, zxid);
      } catch (error) {
        // ZooKeeper logs and ignores a NoNode here.
        if (!(error instanceof KeeperError)) throw error;
      }
    }
  }

  /** ZooKeeperServer.loadData: ephemerals of sessions the session table does not hold are deleted at the last zxid. */
  killDeadSessions(sessions: ReadonlyMap<bigint, number>): bigint[] {
    const dead = [...this.ephemerals.keys()].filter((sessionId) => !sessions.has(sessionId));
    for (const sessionId of dead) {
      const local = this.ephemerals.get(sessionId);
      this.ephemerals.delete(sessionId);
      this.killSession(this.lastProcessedZxid, local, null);
    }
    return dead;
  }

  // ---- quotas -------------------------------------------------------------------------------

  private maxPrefixWithQuota(path: string): string | undefined {
    const prefix = this.quotas.maxPrefix(path);
    return prefix === '/' || prefix === '' ? undefined : prefix;
  }

  private updateQuotaStat(prefix: string, bytesDiff: bigint, countDiff: bigint): void {
    const node = this.nodes.get(`${quotaPath}${prefix}/${statNode}`);
    if (node === undefined) return;
    const stats = parseStatsTrack(node.data, prefix);
    stats.set('count', (stats.get('count') ?? -1n) + countDiff);
    stats.set('bytes', (stats.get('bytes') ?? -1n) + bytesDiff);
    // The stat node's data changes without its digest being recomputed: it is under /zookeeper/.
    node.data = formatStatsTrack(stats);
  }

  private updateQuotaForPath(path: string): void {
    let count = 0n;
    let bytes = 0n;
    const pending = [path];
    while (pending.length > 0) {
      const current = pending.pop()!;
      const node = this.get(current);
      if (node === undefined) continue;
      count++;
      bytes += BigInt(node.data?.length ?? 0);
      for (const child of node.children) pending.push(`${current}/${child}`);
    }
    const stat = this.nodes.get(`${quotaPath}${path}/${statNode}`);
    if (stat === undefined) {
      this.warn(`quota statistics node ${quotaPath}${path}/${statNode} is missing`);
      return;
    }
    this.change(`${quotaPath}${path}/${statNode}`, stat, () => {
      stat.data = formatStatsTrack(
        new Map([
          ['count', count],
          ['bytes', bytes],
        ]),
      );
    });
  }

  private traverseQuotas(path: string): void {
    const node = this.nodes.get(path)!;
    if (node.children.size === 0) {
      const end = `/${limitNode}`;
      if (path.endsWith(end)) {
        const real = path.slice(quotaPath.length, path.indexOf(end));
        if (real === '')
          throw new ZkFormatError('badRecord', path, -1, 'a quota on the root (ZooKeeper fails on it too)');
        this.updateQuotaForPath(real);
        this.quotas.add(real);
      }
      return;
    }
    for (const child of node.children) this.traverseQuotas(`${path}/${child}`);
  }
}

/**
 * One node's part of ZooKeeper's tree digest (DigestCalculator, version 2): a CRC32 of the
 * path ("" for the root), the data and the Stat's fields; 0 under /zookeeper/.
 */
export function zkNodeDigest(path: string, data: Uint8Array | null, s: StatPersisted): bigint {
  if (path.startsWith('/zookeeper/')) return 0n;
  const stat = new DataView(new ArrayBuffer(60));
  stat.setBigInt64(0, s.czxid);
  stat.setBigInt64(8, s.mzxid);
  stat.setBigInt64(16, s.pzxid);
  stat.setBigInt64(24, s.ctime);
  stat.setBigInt64(32, s.mtime);
  stat.setInt32(40, s.version);
  stat.setInt32(44, s.cversion);
  stat.setInt32(48, s.aversion);
  stat.setBigInt64(52, s.ephemeralOwner);
  let crc = crc32(utf8Bytes(path === '/' ? '' : path));
  // Empty data adds nothing to a CRC, and is not given to zlib.crc32: Node 20 and 22 return 0
  // for it instead of the running CRC when its ArrayBuffer is an empty one held outside the
  // heap (`new Uint8Array(new ArrayBuffer(0))`, or an empty array whose `.buffer` was read),
  // since zlib's crc32 of a NULL buffer is its initial value. Node 24 returns the CRC.
  if (data !== null && data.length > 0) crc = crc32(data, crc);
  crc = crc32(new Uint8Array(stat.buffer), crc);
  return BigInt(crc);
}

function expect<K extends ZkTxn['kind']>(txn: ZkTxn | null, kind: K): Extract<ZkTxn, { kind: K }> {
  if (txn === null || txn.kind !== kind)
    throw new ZkFormatError(
      'badRecord',
      'a transaction',
      -1,
      `expected a ${kind} record, found ${txn?.kind ?? 'none'}`,
    );
  return txn as Extract<ZkTxn, { kind: K }>;
}

function checkedSlash(path: string): number {
  const slash = path.lastIndexOf('/');
  // ZooKeeper fails with a StringIndexOutOfBoundsException on such a path and does not start.
  if (!path.startsWith('/') || path === '/')
    throw new ZkFormatError(
      'badRecord',
      path,
      -1,
      `transaction path ${JSON.stringify(path)} is not a node's path`,
    );
  return slash;
}

function trimQuotaPath(parentName: string, path: string): string {
  const real = parentName.slice(quotaPath.length);
  if (parentName.length < quotaPath.length || real === '')
    throw new ZkFormatError(
      'badRecord',
      path,
      -1,
      'a quota node outside a quota path (ZooKeeper fails on it too)',
    );
  return real;
}

/** StatsTrack's parser: `key=value` pairs separated by `,` or `;`. */
function parseStatsTrack(data: Uint8Array | null, prefix: string): Map<string, bigint> {
  const stats = new Map<string, bigint>();
  const text = data === null ? '' : new TextDecoder().decode(data);
  if (text.length === 0) return stats;
  for (const pair of text.split(/[,;]+/)) {
    if (pair === '') continue;
    const kv = pair.split('=').filter((part, index, all) => index < all.length - 1 || part !== '');
    const value = kv[1] === undefined || kv[1] === '' ? '-1' : kv[1];
    if (!/^[+-]?\d+$/.test(value))
      throw new ZkFormatError(
        'badRecord',
        `${quotaPath}${prefix}/${statNode}`,
        -1,
        `quota statistics ${JSON.stringify(text)} do not parse (ZooKeeper fails on them too)`,
      );
    stats.set(kv[0]!, BigInt(value));
  }
  return stats;
}

/** StatsTrack.toString: count and bytes first, then any other keys sorted, after an extra "=". */
function formatStatsTrack(stats: Map<string, bigint>): Uint8Array {
  let text = `count=${stats.get('count') ?? -1n},bytes=${stats.get('bytes') ?? -1n}`;
  const others = [...stats.keys()].filter((key) => key !== 'count' && key !== 'bytes').sort();
  if (others.length > 0) text += `=${others.map((key) => `;${key}=${stats.get(key)}`).join('')}`;
  return utf8Bytes(text);
}

/** ZooKeeper's PathTrie: the paths with a quota, and the deepest one above a path. */
class PathTrie {
  private readonly root: TrieNode = { children: new Map(), quota: false };

  clear(): void {
    this.root.children.clear();
  }

  add(path: string): void {
    let node = this.root;
    for (const part of components(path)) {
      let child = node.children.get(part);
      if (child === undefined) node.children.set(part, (child = { children: new Map(), quota: false }));
      node = child;
    }
    node.quota = true;
  }

  /** Removes the path's trie node and everything below it, as PathTrie.deletePath does. */
  remove(path: string): void {
    const parts = components(path);
    let parent = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      const child = parent.children.get(parts[i]!);
      if (child === undefined) return;
      parent = child;
    }
    if (parts.length > 0) parent.children.delete(parts[parts.length - 1]!);
  }

  maxPrefix(path: string): string {
    let node = this.root;
    const parts: string[] = [];
    let deepest: string[] | undefined;
    for (const part of components(path)) {
      const child = node.children.get(part);
      if (child === undefined) break;
      parts.push(part);
      node = child;
      if (child.quota) deepest = [...parts];
    }
    return deepest === undefined ? '/' : `/${deepest.join('/')}`;
  }
}

interface TrieNode {
  readonly children: Map<string, TrieNode>;
  quota: boolean;
}

function components(path: string): string[] {
  return path.split('/').filter((part) => part.trim() !== '');
}
