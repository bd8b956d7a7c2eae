/**
 * A znode's lifetime: persistent, ephemeral (it dies with its session), a container (deleted
 * once its last child is) or a TTL node (deleted once unchanged and childless for its TTL).
 * ZooKeeper packs all of this into one signed 64-bit field, Stat's `ephemeralOwner`: the
 * owning session's id, 0 for a persistent node, Long.MIN_VALUE for a container, and 0xff in
 * the top byte with the TTL in the low 40 bits for a TTL node.
 *
 * The tree keeps the lifetime as a union. The packed encoding is made only where one of
 * ZooKeeper's formats carries it: the Stat clients see, and the transaction and snapshot
 * records (`CreateTxn`, `SnapshotNode`) that the codecs write as ZooKeeper does.
 */
import { assert } from '../errors.js';
import { decodedSessionId, type SessionId } from '../sessions/session-ids.js';
import { containerEphemeralOwner, nodeKindOf, ttlEphemeralOwner, ttlMaxMs, ttlOf } from '../stat.js';

/** What a znode's lifetime is, and what it depends on. */
export type NodeLifetime =
  | { readonly kind: 'persistent' }
  | { readonly kind: 'ephemeral'; readonly sessionId: SessionId }
  | { readonly kind: 'container' }
  | { readonly kind: 'ttl'; readonly ttlMs: number };

/** A persistent node's lifetime. */
export const persistentLifetime: NodeLifetime = { kind: 'persistent' };
/** A container's lifetime. */
export const containerLifetime: NodeLifetime = { kind: 'container' };

/** The lifetime an encoded `ephemeralOwner` describes (ZooKeeper's EphemeralType). */
export function lifetimeOf(ephemeralOwner: bigint): NodeLifetime {
  switch (nodeKindOf(ephemeralOwner)) {
    case 'persistent':
      return persistentLifetime;
    case 'container':
      return containerLifetime;
    case 'ttl':
      return { kind: 'ttl', ttlMs: Number(ttlOf(ephemeralOwner)) };
    case 'ephemeral':
      return { kind: 'ephemeral', sessionId: decodedSessionId(ephemeralOwner) };
  }
}

/** ZooKeeper's encoding of a lifetime, as Stat, CreateTxn and snapshots carry it. */
export function ephemeralOwnerOf(lifetime: NodeLifetime): bigint {
  switch (lifetime.kind) {
    case 'persistent':
      return 0n;
    case 'container':
      return containerEphemeralOwner;
    case 'ttl':
      assert(
        Number.isSafeInteger(lifetime.ttlMs) && BigInt(lifetime.ttlMs) <= ttlMaxMs,
        'a TTL fits 40 bits',
      );
      return ttlEphemeralOwner(BigInt(lifetime.ttlMs));
    case 'ephemeral':
      return lifetime.sessionId;
  }
}

/** True when the node is an ephemeral of `sessionId`. */
export function isEphemeralOf(lifetime: NodeLifetime, sessionId: SessionId): boolean {
  return lifetime.kind === 'ephemeral' && lifetime.sessionId === sessionId;
}
