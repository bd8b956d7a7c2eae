/**
 * What a server does when a membership takes effect (a committed reconfig, or a newer one its
 * peer learned while electing): its transport learns every member's quorum address, so a
 * server added at runtime is dialled from now on, and the membership is kept as ZooKeeper
 * keeps it, `zoo.cfg.dynamic.<version>` beside zoo.cfg with zoo.cfg pointing at it, so that
 * a restart starts from it. A membership that does not name this server (one it adopted while
 * waiting to be added, or one that removed it) is not written: zoo.cfg would then point at a
 * file without this server's own line, and it could not start from it. A failed write is logged, never thrown: the peer's log and
 * snapshots hold the membership too, and the newer of the two wins at the next start.
 *
 * @module
 */

import { rm } from 'node:fs/promises';
import type { EnsembleConfig, ServerId } from '@zabkit/core';
import {
  dynamicConfigOf,
  keepActivatedConfig,
  nextDynamicConfigSuffix,
  writeNextDynamicConfig,
} from './dynamic-config.js';
import type { Logger } from './log.js';

/** The part of a transport that learns addresses. */
export interface PeerAddressBook {
  setPeer(id: ServerId, address: { readonly host: string; readonly port: number }): void;
}

/**
 * Tells `transport` the members' quorum addresses and writes the dynamic configuration file
 * (when zoo.cfg's path is known). Resolves once the file is written, or its failure logged.
 */
export async function keepMembership(
  config: EnsembleConfig,
  serverId: ServerId,
  transport: PeerAddressBook,
  configFilePath: string | undefined,
  log: Logger,
): Promise<void> {
  for (const member of config.members)
    if (member.id !== serverId) transport.setPeer(member.id, { host: member.host, port: member.quorumPort });
  log.info(
    {
      version: config.version.toString(16),
      members: config.members.map((member) => `${member.id}:${member.role}`).join(','),
    },
    'membership changed',
  );
  if (configFilePath === undefined) return;
  if (!config.members.some((member) => member.id === serverId)) {
    log.info(
      { version: config.version.toString(16) },
      'dynamic configuration file not written: this server is not in the membership, and zoo.cfg keeps the one it can start from',
    );
    // The proposal it held is decided either way: no longer the next configuration.
    await rm(`${configFilePath}${nextDynamicConfigSuffix}`, { force: true }).catch(() => undefined);
    return;
  }
  try {
    const written = await keepActivatedConfig(configFilePath, config, serverId);
    log.info({ file: written.dynamicFile }, 'dynamic configuration file written');
  } catch (error) {
    log.error(
      { error: error instanceof Error ? error.message : String(error) },
      'dynamic configuration file not written: the next start reads the membership from the data directory',
    );
  }
}

/**
 * A reconfig was logged here (proposed, not yet committed): its membership goes to
 * `zoo.cfg.dynamic.next`, with its `version=` line, as ZooKeeper's setLastSeenQuorumVerifier
 * writes it. It is removed once a configuration at least as new takes effect. A restart
 * reads it back (config.ts, as ZooKeeper's QuorumPeerConfig): the peer counts it as proposed
 * when its log ends before it (a crash came before the proposal was durable). A failed write
 * is logged, never thrown.
 */
export async function keepProposedMembership(
  config: EnsembleConfig,
  configFilePath: string | undefined,
  log: Logger,
): Promise<void> {
  if (configFilePath === undefined) return;
  try {
    const path = await writeNextDynamicConfig(configFilePath, dynamicConfigOf(config));
    log.info({ file: path, version: config.version.toString(16) }, 'proposed configuration written');
  } catch (error) {
    log.error(
      { error: error instanceof Error ? error.message : String(error) },
      'proposed configuration (zoo.cfg.dynamic.next) not written',
    );
  }
}
