/**
 * A server's LevelDB store, opened as its configuration says: under `dataLogDir`, with
 * autopurge's retention and interval and `forceSync`. `zabkit server` and `startPeer` open
 * their stores here, so that the same configuration gives the same store either way.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { LevelStorage } from '@zabkit/storage-level';
import { purgePolicyOf, type ZabkitConfig } from './config.js';
import type { Logger } from './log.js';

/** The directory of a server's LevelDB store: `<dataLogDir>/zabkit.db`. */
export function levelStoreLocation(config: ZabkitConfig): string {
  return join(config.dataLogDir, 'zabkit.db');
}

/**
 * Opens (creating it if need be) the LevelDB store of a server configured by `config`.
 * `groupCommit: false` is for benchmarks only (one synced batch per transaction).
 */
export async function openLevelStore(
  config: ZabkitConfig,
  log: Logger,
  options: { readonly groupCommit?: boolean } = {},
): Promise<LevelStorage> {
  const location = levelStoreLocation(config);
  await mkdir(location, { recursive: true });
  const storage = await LevelStorage.open(location, {
    retainSnapshots: config.snapRetainCount,
    ...purgePolicyOf(config),
    groupCommit: options.groupCommit ?? true,
    // forceSync=no, as in ZooKeeper: writes are acknowledged before they reach the disk.
    sync: config.systemProperties.forceSync,
    warn: (message) => log.warn({ location }, message),
    info: (message) => log.info({ location }, message),
    ...(config.store.valueLogThresholdBytes > 0
      ? { valueLog: { thresholdBytes: config.store.valueLogThresholdBytes } }
      : {}),
  });
  if (!config.systemProperties.forceSync)
    log.warn('forceSync=no: an acknowledged write may be lost in a crash');
  return storage;
}
