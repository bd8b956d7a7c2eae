/**
 * The peer links' keys in `zoo.cfg` (zabkit's own, `zabkit.`-prefixed: ZooKeeper has no such
 * settings): how large a learner sync's chunks are, how many bytes of one may be unacknowledged
 * (its flow-control window), and the largest frame a peer link carries. config.ts reads the
 * file; this module owns these keys' meanings, defaults and checks.
 *
 * @module
 */
import type { SettingsSource } from './client-port-config.js';

/** The peer links' settings read from `zoo.cfg`. */
export interface PeerLinkSettings {
  /** `zabkit.syncChunkBytes` (default 1 MiB): about how many bytes one chunk of a learner sync carries. */
  readonly syncChunkBytes: number;
  /**
   * `zabkit.syncWindowBytes` (default 8 MiB): most bytes of a learner sync sent and not yet
   * acknowledged as durable; with the chunk size it bounds what a sync holds in memory.
   */
  readonly syncWindowBytes: number;
  /**
   * `zabkit.peerMaxFrameBytes` (default 64 MiB, or more when a chunk or `jute.maxbuffer` needs
   * it): the largest message a peer link carries (and accepts). It must hold a whole chunk and a
   * whole record (`jute.maxbuffer`) with room to spare.
   */
  readonly peerMaxFrameBytes: number;
  /**
   * `zabkit.learnerLagBytesMax` (default 64 MiB): most bytes of proposals a follower may have
   * unacknowledged before its leader drops it (and closes its link) to sync it again.
   */
  readonly learnerLagBytesMax: number;
}

/** The keys this module reads. */
export const PEER_LINK_KEYS: ReadonlySet<string> = new Set([
  'zabkit.syncChunkBytes',
  'zabkit.syncWindowBytes',
  'zabkit.peerMaxFrameBytes',
  'zabkit.learnerLagBytesMax',
]);

/** The defaults: the core's chunk, window and lag bound, the TCP transport's frame cap. */
export const defaultPeerLinkSettings: PeerLinkSettings = {
  syncChunkBytes: 1024 * 1024,
  syncWindowBytes: 8 * 1024 * 1024,
  peerMaxFrameBytes: 64 * 1024 * 1024,
  learnerLagBytesMax: 64 * 1024 * 1024,
};

/** Room a frame keeps beyond its largest chunk or record, for the message's own fields. */
const frameSlackBytes = 64 * 1024;

function integer(source: SettingsSource, key: string, fallback: number): number {
  const value = source.get(key);
  if (value === undefined) return fallback;
  if (!/^\+?\d+$/.test(value)) throw source.error(key, value, 'expected a positive integer');
  const parsed = Number(value);
  if (parsed < 1 || parsed > 2 ** 31 - 1) throw source.error(key, value, 'expected a positive integer');
  return parsed;
}

/**
 * Reads the peer links' keys; `juteMaxBuffer` is the largest record a frame must still carry.
 *
 * @throws the source's error naming the first invalid key
 */
export function parsePeerLinkSettings(source: SettingsSource, juteMaxBuffer: number): PeerLinkSettings {
  const d = defaultPeerLinkSettings;
  const syncChunkBytes = integer(source, 'zabkit.syncChunkBytes', d.syncChunkBytes);
  const syncWindowBytes = integer(source, 'zabkit.syncWindowBytes', d.syncWindowBytes);
  if (syncWindowBytes < syncChunkBytes)
    throw source.error(
      'zabkit.syncWindowBytes',
      String(syncWindowBytes),
      `must not be below zabkit.syncChunkBytes (${syncChunkBytes})`,
    );
  const needed = Math.max(syncChunkBytes, juteMaxBuffer) + frameSlackBytes;
  // Unset, the cap grows with what it must carry; set, it is checked.
  const peerMaxFrameBytes = integer(
    source,
    'zabkit.peerMaxFrameBytes',
    Math.max(d.peerMaxFrameBytes, needed),
  );
  if (peerMaxFrameBytes < needed)
    throw source.error(
      'zabkit.peerMaxFrameBytes',
      String(peerMaxFrameBytes),
      `must be at least ${needed}: a sync chunk (zabkit.syncChunkBytes) or a record (jute.maxbuffer) and ${frameSlackBytes} bytes more`,
    );
  const learnerLagBytesMax = integer(source, 'zabkit.learnerLagBytesMax', d.learnerLagBytesMax);
  return { syncChunkBytes, syncWindowBytes, peerMaxFrameBytes, learnerLagBytesMax };
}
