/**
 * The membership an embedded peer keeps beside its store, as a `zabkit server` keeps
 * `zoo.cfg.dynamic.<version>` beside zoo.cfg: every membership that takes effect on the peer
 * (a committed reconfig, or a newer one it learned while electing or syncing) is written to
 * `<dataLogDir ?? dataDir>/zabkit.membership` (beside `zabkit.db`), and a start prefers it to `peers` when it is
 * newer. The store alone would not do: a membership learned from another peer's election
 * notification is in force here without being in this peer's log or tree, and a restart
 * would fall back to an older one (ZooKeeper writes that one to its dynamic file too).
 *
 * The file holds the text `/zookeeper/config` shows: `server.N` lines and the `version=` line. A membership that does not name this peer (one that removed it) is not
 * written: the peer could not start from it. Writes are atomic; a failed one is logged, and
 * the next start reads the membership from the store (and learns a newer one while electing).
 *
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  type EnsembleConfig,
  EnsembleConfigError,
  formatEnsembleConfig,
  parseEnsembleConfig,
} from '@zabkit/core';
import type { ZabkitConfig } from '../config.js';
import { ConfigError } from '../config-error.js';
import { type DynamicConfig, dynamicConfigOf, writeDynamicConfigText } from '../dynamic-config.js';
import type { Logger } from '../log.js';
import { readOptionalTextFile } from '../read-optional-file.js';

/** The file's name, in the directory of the peer's store. */
export const keptMembershipFileName = 'zabkit.membership';

/** Where a peer with this configuration keeps its membership. */
export function keptMembershipPath(config: Pick<ZabkitConfig, 'dataLogDir'>): string {
  return join(config.dataLogDir, keptMembershipFileName);
}

/** A kept membership: its members and its version. */
export type KeptMembership = DynamicConfig & { readonly version: bigint };

/**
 * The membership kept at `path`, or undefined when there is none yet.
 *
 * @throws {@link ConfigError} naming the file when it does not hold a versioned membership
 */
export async function readKeptMembership(path: string): Promise<KeptMembership | undefined> {
  const text = await readOptionalTextFile(path);
  if (text === undefined) return undefined;
  let config: EnsembleConfig;
  try {
    config = parseEnsembleConfig(text);
  } catch (error) {
    if (!(error instanceof EnsembleConfigError)) throw error;
    throw new ConfigError(keptMembershipFileName, path, `not a membership: ${error.message}`);
  }
  if (config.version === 0n)
    throw new ConfigError(keptMembershipFileName, path, 'not a membership: expected a version= line');
  return dynamicConfigOf(config);
}

/**
 * Keeps the memberships that take effect on one peer, in order, each newer than the last
 * written; `settled()` resolves once every write asked for so far is done.
 */
export class MembershipKeeper {
  private writes = Promise.resolve();
  private version: bigint;

  constructor(
    private readonly path: string,
    private readonly serverId: number,
    private readonly log: Logger,
    /** The version of the membership the peer started from: nothing older is written. */
    startVersion: bigint,
  ) {
    this.version = startVersion;
  }

  /** A membership took effect (a Ready's `activatedConfig`). */
  activated(config: EnsembleConfig): void {
    if (config.version <= this.version) return;
    if (!config.members.some((member) => member.id === this.serverId)) return;
    this.version = config.version;
    const text = formatEnsembleConfig(config);
    this.writes = this.writes.then(async () => {
      try {
        // A store of the embedder's own may keep nothing in dataDir: it may not exist yet.
        await mkdir(dirname(this.path), { recursive: true });
        await writeDynamicConfigText(this.path, text);
        this.log.info(
          { serverId: this.serverId, file: this.path, version: config.version.toString(16) },
          'membership kept',
        );
      } catch (error) {
        this.log.error(
          { serverId: this.serverId, file: this.path, err: error },
          'membership not kept: the next start reads it from the store',
        );
      }
    });
  }

  settled(): Promise<void> {
    return this.writes;
  }
}
