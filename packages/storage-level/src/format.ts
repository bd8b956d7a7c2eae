/**
 * The store's format record: written when a store is created, checked at every open. A
 * store a newer zabkit wrote is refused (its records could mean something else here); so
 * is one older than any layout still read. A store written before format records existed
 * (no record, only zabkit's keys) has format 1's layout byte for byte. Format 2 reads every
 * format 1 record unchanged, so an older store is read as it is and marked format 2 when
 * opened for writing (with a warning when it had no record).
 */
import {
  decodeFormatRecord,
  encodeFormatRecord,
  StorageRecordError,
  storageFormatVersion,
} from '@zabkit/codec';
import { StorageCorruptError, StorageFormatError } from './errors.js';
import { formatKey, keyHex, Section } from './keys.js';
import type { BytesLevel } from './level.js';

/** The oldest format this zabkit still reads (upgrading it when opened for writing). */
export const oldestReadableFormat = 1;

/**
 * Format 3: log keys may hold pointer records into the value log (values.ts) instead of the
 * records. Written only by a store opened with a value log; a store without one stays at
 * @zabkit/codec's `storageFormatVersion` (2), which an older zabkit still opens. A zabkit
 * reading at most format 2 refuses a format 3 store by its version, before it could take a
 * pointer for a damaged record.
 */
export const valueLogFormat = 3;

/** The newest format this zabkit reads. */
export const newestReadableFormat = valueLogFormat;

/** What a store's format record says, read without changing anything. */
export type FormatFinding =
  /** A format record naming `version`. */
  | { readonly kind: 'marked'; readonly version: number }
  /** No keys at all: a store about to be created. */
  | { readonly kind: 'empty' }
  /** zabkit's keys but no format record: written before format records, so format 1. */
  | { readonly kind: 'unmarked' };

/** Key ranges outside every section zabkit writes (epochs e, format f, session secret k, log l, snapshots s). */
const foreignRanges = [
  { lt: Uint8Array.of(Section.epochs) },
  { gt: Uint8Array.of(Section.epochs), lt: Uint8Array.of(Section.format) },
  { gt: Uint8Array.of(Section.format), lt: Uint8Array.of(Section.sessionSecret) },
  { gt: Uint8Array.of(Section.sessionSecret), lt: Uint8Array.of(Section.log) },
  { gte: Uint8Array.of(Section.log + 1), lt: Uint8Array.of(Section.snapshot) },
  { gte: Uint8Array.of(Section.snapshot + 1) },
];

/** The first key outside zabkit's sections, if any. */
export async function firstForeignKey(db: BytesLevel): Promise<Uint8Array | undefined> {
  for (const range of foreignRanges) {
    const [key] = await db.keys({ ...range, limit: 1 }).all();
    if (key !== undefined) return key;
  }
  return undefined;
}

/** Reads the format record; throws when it is damaged or the store is not zabkit's. */
export async function findFormat(db: BytesLevel): Promise<FormatFinding> {
  const record = await db.get(formatKey);
  if (record !== undefined) {
    try {
      return { kind: 'marked', version: decodeFormatRecord(record) };
    } catch (error) {
      if (!(error instanceof StorageRecordError)) throw error;
      throw new StorageCorruptError(
        'format record',
        `${error.problem}: the store's layout version is unknown`,
        {
          key: formatKey,
        },
      );
    }
  }
  const foreign = await firstForeignKey(db);
  if (foreign !== undefined)
    throw new StorageFormatError(
      undefined,
      storageFormatVersion,
      `not a zabkit store: no format record, and key ${keyHex(foreign)} is not one zabkit writes`,
    );
  const [any] = await db.keys({ limit: 1 }).all();
  return any === undefined ? { kind: 'empty' } : { kind: 'unmarked' };
}

/** Refuses a version this zabkit cannot read, naming both versions. */
export function checkVersion(version: number): void {
  if (version > newestReadableFormat)
    throw new StorageFormatError(
      version,
      newestReadableFormat,
      `store format ${version} is newer than this zabkit reads (format ${newestReadableFormat}): run a zabkit that reads format ${version}, or empty the data directory so that this server syncs from the ensemble anew`,
    );
  if (version < oldestReadableFormat)
    throw new StorageFormatError(
      version,
      newestReadableFormat,
      `store format ${version} is older than any this zabkit reads (formats ${oldestReadableFormat} to ${newestReadableFormat}): open it with an older zabkit that upgrades it`,
    );
}

/** The layout a store without a format record has: it was written before format records, and format 1 is that layout. */
export const unmarkedFormat = 1;

/**
 * Makes sure the store is in the format it is to be written in before it is used: creates the
 * format record of a new store, marks a store from before format records, upgrades an older
 * format (a store is never marked down: one at format 3 stays so), refuses the rest.
 * Resolves with the store's format.
 */
export async function prepareFormat(
  db: BytesLevel,
  options: {
    readonly sync: boolean;
    readonly warn: (message: string) => void;
    /** The format to write: `valueLogFormat` for a store with a value log. Default `storageFormatVersion`. */
    readonly version?: number;
  },
): Promise<number> {
  const target = options.version ?? storageFormatVersion;
  const found = await findFormat(db);
  if (found.kind === 'empty') {
    await db.put(formatKey, encodeFormatRecord(target), { sync: options.sync } as never);
    return target;
  }
  const version = found.kind === 'marked' ? found.version : unmarkedFormat;
  checkVersion(version);
  if (found.kind === 'unmarked')
    options.warn(
      `the store has no format record (it was written before zabkit kept one): its layout is format ${unmarkedFormat}, marking it format ${target}`,
    );
  // Format 2 only adds null znode data, which no record of format 1 holds: a format 1 store
  // reads as it is and is marked format 2 before anything new is written, so that an older
  // zabkit refuses it up front rather than at the first null. Format 3 only adds pointer
  // records, likewise marked before the first is written.
  if (version < target) {
    await db.put(formatKey, encodeFormatRecord(target), { sync: options.sync } as never);
    return target;
  }
  return version;
}
