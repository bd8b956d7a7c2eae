/**
 * Session ids and passwords. Ids follow ZooKeeper's layout: the server id in the top byte,
 * then the server's start time, then a counter, so ids from different servers and different
 * runs do not collide. A password is derived from the id and a secret the driver supplies
 * (its only source of randomness), so any server holding the secret can check it.
 */
import { sha1 } from '../acl/sha1.js';
import { assert } from '../errors.js';
import { containerEphemeralOwner } from '../stat.js';

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
  take(): bigint {
    if (this.next === containerEphemeralOwner || this.next === 0n) this.next++;
    const id = this.next;
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
