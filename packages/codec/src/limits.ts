/**
 * Bounds on what one decoded message or record may hold. A length is checked against its
 * bound and against the bytes left before anything is allocated, so garbage or a hostile
 * peer cannot make a reader allocate much more than the frame it sent.
 */

/** The largest strings, data and lists a decoder accepts. */
export interface PeerCodecLimits {
  /** Longest string (a path, an ACL scheme or id, an ephemeral's path), in UTF-8 bytes. */
  readonly stringBytesMax: number;
  /** Largest byte array (a znode's data), in bytes. */
  readonly dataBytesMax: number;
  /**
   * Most elements in one list: transactions, snapshot nodes, sessions, ACL entries, multi
   * ops, auth ids, ping touches. Each element takes at least one byte, so the frame size
   * bounds it too; this bound is for readers of large frames or records.
   */
  readonly listLengthMax: number;
}

/**
 * 64 MiB, the largest frame a peer link carries by default: a string or data as large as a
 * peer may have accepted (its dataSizeMaxBytes, its clients' jute.maxbuffer, both settings
 * one can raise) must still decode on every other peer, or the ensemble could not
 * replicate it. Lower them together with those settings.
 */
export const defaultStringBytesMax = 64 * 1024 * 1024;
/** 64 MiB, as defaultStringBytesMax. */
export const defaultDataBytesMax = 64 * 1024 * 1024;
/** 2^24 elements: more than a 64 MiB frame can hold of the smallest snapshot nodes. */
export const defaultListLengthMax = 1 << 24;

/** What peer links decode with unless told otherwise. */
export const defaultPeerCodecLimits: PeerCodecLimits = Object.freeze({
  stringBytesMax: defaultStringBytesMax,
  dataBytesMax: defaultDataBytesMax,
  listLengthMax: defaultListLengthMax,
});

/** The limits with every bound checked: a non-integer or negative bound is a programming error. */
export function resolveLimits(limits: Partial<PeerCodecLimits> | undefined): PeerCodecLimits {
  if (limits === undefined) return defaultPeerCodecLimits;
  const resolved = { ...defaultPeerCodecLimits, ...limits };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`${name} must be a non-negative integer, not ${value}`);
  }
  return Object.freeze(resolved);
}
