/**
 * The store's key in `zoo.cfg` (zabkit's own, `zabkit.`-prefixed): whether large log records go
 * to a value log beside LevelDB. config.ts reads the file; this module owns the key's meaning,
 * default and check.
 *
 * @module
 */
import type { SettingsSource } from './client-port-config.js';

/** The store's settings read from `zoo.cfg`. */
export interface StoreSettings {
  /**
   * `zabkit.valueLogThresholdBytes` (default 0: off): log records of this many bytes or more
   * are written once, to the value log's segment files, with only a pointer in LevelDB, which
   * writes each byte it holds twice. A store so written is marked format 3, which a zabkit
   * reading at most format 2 refuses.
   */
  readonly valueLogThresholdBytes: number;
}

/** The keys this module reads. */
export const STORE_KEYS: ReadonlySet<string> = new Set(['zabkit.valueLogThresholdBytes']);

export const defaultStoreSettings: StoreSettings = { valueLogThresholdBytes: 0 };

/**
 * Reads the store's keys.
 *
 * @throws the source's error naming the first invalid key
 */
export function parseStoreSettings(source: SettingsSource): StoreSettings {
  const key = 'zabkit.valueLogThresholdBytes';
  const value = source.get(key);
  if (value === undefined) return defaultStoreSettings;
  if (!/^\+?\d+$/.test(value) || Number(value) > 2 ** 31 - 1)
    throw source.error(key, value, 'expected a non-negative integer (0: no value log)');
  return { valueLogThresholdBytes: Number(value) };
}
