/**
 * Stat: the metadata ZooKeeper keeps for every znode, field for field, and the create modes
 * that decide a znode's ephemeralOwner.
 */
import type { Zxid } from './zxid.js';
import { zeroZxid } from './zxid.js';

/** A znode's metadata. Times are milliseconds since the epoch; zxids and owners are 64-bit. */
export interface Stat {
  /** The zxid of the transaction that created the node. */
  readonly czxid: Zxid;
  /** The zxid of the transaction that last changed the node's data. */
  readonly mzxid: Zxid;
  readonly ctime: number;
  readonly mtime: number;
  /** Data version: incremented by each setData. */
  readonly version: number;
  /** Child version: incremented by each child creation (not by deletion, as in ZooKeeper). */
  readonly cversion: number;
  /** ACL version: incremented by each setACL. */
  readonly aversion: number;
  /**
   * The owning session for an ephemeral, 0 for a persistent node, 0x8000000000000000 (as a
   * signed 64-bit value) for a container, and 0xff00000000000000 | ttl for a TTL node.
   */
  readonly ephemeralOwner: bigint;
  readonly dataLength: number;
  readonly numChildren: number;
  /** The zxid of the last child creation or deletion. */
  readonly pzxid: Zxid;
}

/** A Stat of zeros: what a reply without one decodes to. */
export const emptyStat: Stat = {
  czxid: zeroZxid,
  mzxid: zeroZxid,
  ctime: 0,
  mtime: 0,
  version: 0,
  cversion: 0,
  aversion: 0,
  ephemeralOwner: 0n,
  dataLength: 0,
  numChildren: 0,
  pzxid: zeroZxid,
};

/** ZooKeeper's create flags, with the numbers the wire protocol carries. */
export const CreateMode = {
  Persistent: 0,
  Ephemeral: 1,
  PersistentSequential: 2,
  EphemeralSequential: 3,
  Container: 4,
  PersistentWithTtl: 5,
  PersistentSequentialWithTtl: 6,
} as const;
/** A create flag as the wire carries it. */
export type CreateModeValue = (typeof CreateMode)[keyof typeof CreateMode];

/** True for a create flag ZooKeeper knows (0 to 6). */
export function isCreateMode(flags: number): flags is CreateModeValue {
  return Number.isInteger(flags) && flags >= 0 && flags <= 6;
}

/** True for the modes that append a sequence number. */
export function isSequentialMode(mode: CreateModeValue): boolean {
  return (
    mode === CreateMode.PersistentSequential ||
    mode === CreateMode.EphemeralSequential ||
    mode === CreateMode.PersistentSequentialWithTtl
  );
}

/** True for the modes whose node dies with its session. */
export function isEphemeralMode(mode: CreateModeValue): boolean {
  return mode === CreateMode.Ephemeral || mode === CreateMode.EphemeralSequential;
}

/** True for the TTL modes. */
export function isTtlMode(mode: CreateModeValue): boolean {
  return mode === CreateMode.PersistentWithTtl || mode === CreateMode.PersistentSequentialWithTtl;
}

/** The ephemeralOwner of every container node: Long.MIN_VALUE in ZooKeeper. */
export const containerEphemeralOwner = -(1n << 63n);
const extendedMask = BigInt.asIntN(64, 0xff00_0000_0000_0000n);
/** The longest TTL ZooKeeper can encode: 40 bits of milliseconds, about 34 years. */
export const ttlMaxMs = 0xff_ffff_ffffn;

/** The ephemeralOwner that marks a TTL node and carries its TTL. */
export function ttlEphemeralOwner(ttlMs: bigint): bigint {
  return BigInt.asIntN(64, extendedMask | ttlMs);
}

/** What a stored ephemeralOwner makes a node. */
export type NodeKind = 'persistent' | 'ephemeral' | 'container' | 'ttl';

/** What kind of node an ephemeralOwner describes (ZooKeeper's EphemeralType). */
export function nodeKindOf(ephemeralOwner: bigint): NodeKind {
  if (ephemeralOwner === 0n) return 'persistent';
  if (ephemeralOwner === containerEphemeralOwner) return 'container';
  if ((ephemeralOwner & extendedMask) === extendedMask) return 'ttl';
  return 'ephemeral';
}

/** The TTL of a TTL node's ephemeralOwner, in milliseconds. */
export function ttlOf(ephemeralOwner: bigint): bigint {
  return BigInt.asUintN(64, ephemeralOwner) & ttlMaxMs;
}
