/**
 * Session ids and passwords. Ids follow ZooKeeper's layout: the server id in the top byte,
 * then the server's start time, then a counter, so ids from different servers and different
 * runs do not collide. A password is derived from the id and a secret the driver supplies
 * (its only source of randomness), so any server holding the secret can check it.
 *
 * `SessionId` is branded, and this module is where a bigint becomes one: a new id from the
 * generator, a client's claim once its password proves it (`provenSessionId`), an id read
 * back from a record a server wrote (`decodedSessionId`, for decoders only), and
 * `noSessionId` for the transactions no session asks for.
 */
import { sha1 } from '../acl/sha1.js';
import { assert } from '../errors.js';
import { containerEphemeralOwner } from '../stat.js';

/** A session's 64-bit id (signed, as ZooKeeper's `long`), branded so a plain bigint is not taken for one. */
export type SessionId = bigint & { readonly __sessionId: unique symbol };

/** The session of a transaction no session asked for (a container's deletion): 0, as in ZooKeeper. */
export const noSessionId = 0n as SessionId;

const int64Min = -(1n << 63n);
const int64Max = (1n << 63n) - 1n;

/**
 * A session id read back from a record a server wrote: a transaction, a snapshot, a peer
 * message, ZooKeeper's own files. For decoders only; a client's claim goes through
 * `provenSessionId`.
 */
export function decodedSessionId(value: bigint): SessionId {
  assert(value >= int64Min && value <= int64Max, () => `session id out of range: ${value}`);
  return value as SessionId;
}

/**
 * The session a client claims to resume, once `password` proves it: the password of a
 * session id derives from the ensemble's secret, so only a server that made the id (or a
 * client it told) knows it. Undefined when the password does not match.
 */
export function provenSessionId(
  secret: Uint8Array,
  claimed: bigint,
  password: Uint8Array,
): SessionId | undefined {
  if (claimed < int64Min || claimed > int64Max) return undefined;
  return samePassword(sessionPassword(secret, claimed), password) ? (claimed as SessionId) : undefined;
}

/** ZooKeeper caps server ids at 254 when TTL nodes are on: 0xff in the top byte marks a TTL. */
export const serverIdMax = 254;
/** Session passwords are 16 bytes. */
export const passwordLengthBytes = 16;

/** Session ids as ZooKeeper makes them: server id in the high byte, then a time-seeded counter. */
export class SessionIdGenerator {
  private next: bigint;

  constructor(serverId: number, startTimeMs: number) {
    assert(
      Number.isInteger(serverId) && serverId >= 0 && serverId <= serverIdMax,
      `bad server id ${serverId}`,
    );
    const timeBits = BigInt.asUintN(64, BigInt(Math.floor(startTimeMs)) << 24n) >> 8n;
    this.next = BigInt.asIntN(64, timeBits | (BigInt(serverId) << 56n));
  }

  /** The next session id, skipping 0 and the container marker (0x8000000000000000), which are not ids. */
  take(): SessionId {
    if (this.next === containerEphemeralOwner || this.next === 0n) this.next++;
    const id = this.next as SessionId;
    this.next = BigInt.asIntN(64, this.next + 1n);
    return id;
  }
}

/** The password of a session: the first 16 bytes of sha1(secret || sessionId). */
export function sessionPassword(secret: Uint8Array, sessionId: bigint): Uint8Array {
  const input = new Uint8Array(secret.length + 8);
  input.set(secret, 0);
  new DataView(input.buffer).setBigInt64(secret.length, sessionId);
  return sha1(input).subarray(0, passwordLengthBytes);
}

/** True when two passwords match (constant time). */
export function samePassword(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}
