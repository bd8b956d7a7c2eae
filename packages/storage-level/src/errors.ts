/** The two ways a store can be unfit to open, each a typed error a host can act on. */
import type { Zxid } from '@zabkit/core';
import { hexZxid, keyHex } from './keys.js';

/** Where in a store a problem is: the key, and the zxids the record there holds (as far as known). */
export interface StoreLocation {
  readonly key?: Uint8Array;
  readonly firstZxid?: Zxid;
  /** Unknown when the record is too damaged to say, and it is the last. */
  readonly lastZxid?: Zxid;
}

/** `log record 0x100000004..0x100000009 (key 6c0000000100000004)`, or as much of it as is known. */
export function describeLocation(what: string, location: StoreLocation): string {
  const { key, firstZxid, lastZxid } = location;
  let text = what;
  if (firstZxid !== undefined) {
    if (lastZxid === undefined) text += ` from ${hexZxid(firstZxid)}`;
    else if (lastZxid === firstZxid) text += ` ${hexZxid(firstZxid)}`;
    else text += ` ${hexZxid(firstZxid)}..${hexZxid(lastZxid)}`;
  }
  if (key !== undefined) text += ` (key ${keyHex(key)})`;
  return text;
}

/**
 * The store holds damage that cannot be passed over without risking committed data: the
 * peer must not start from it. `what` names the record (`log record 0x100000004`, `epochs`,
 * `snapshot`, `log`); `problem` says what is wrong with it. `zabkit storage check` reports
 * every problem of a store; `zabkit storage repair` says what dropping them would lose.
 */
export class StorageCorruptError extends Error {
  override readonly name = 'StorageCorruptError';
  readonly key: Uint8Array | undefined;
  readonly firstZxid: Zxid | undefined;
  readonly lastZxid: Zxid | undefined;

  constructor(
    readonly what: string,
    readonly problem: string,
    location: StoreLocation = {},
  ) {
    super(`storage is corrupt: ${describeLocation(what, location)}: ${problem}`);
    this.key = location.key;
    this.firstZxid = location.firstZxid;
    this.lastZxid = location.lastZxid;
  }
}

/**
 * The store's layout is not one this zabkit reads: written by a newer zabkit (`found` above
 * `supported`), an older layout no longer read, or not a zabkit store at all (`found`
 * undefined). Nothing was changed.
 */
export class StorageFormatError extends Error {
  override readonly name = 'StorageFormatError';

  constructor(
    /** The format version the store's format record names; undefined when it names none. */
    readonly found: number | undefined,
    /** The format version this zabkit writes and reads. */
    readonly supported: number,
    detail: string,
  ) {
    super(detail);
  }
}
