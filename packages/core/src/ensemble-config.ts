/**
 * The ensemble's membership as `/zookeeper/config` holds it, in the text ZooKeeper's quorum
 * verifier writes: one `server.N=host:quorumPort:electionPort:role[;clientAddress:clientPort]`
 * line per member, in id order, then `version=` and the configuration's version in hex.
 * Membership is static for now; dynamic reconfiguration (issue 17) will give a new version
 * (the zxid of the reconfig) to the same text.
 */
import type { ServerId } from './zab/quorum.js';
import type { Zxid } from './zxid.js';

/** One member of the ensemble, as its `server.N` line names it. */
export interface EnsembleMember {
  readonly id: ServerId;
  /** Host name or address; an IPv6 literal without brackets (the text adds them). */
  readonly host: string;
  readonly quorumPort: number;
  readonly electionPort: number;
  readonly role: 'participant' | 'observer';
  /**
   * The client address a `;[address:]port` suffix of the line gave, if any. ZooKeeper writes
   * it only when it came from the line, never from `clientPort`.
   */
  readonly client?: { readonly address: string; readonly port: number };
}

/** The ensemble's membership and its version (0 for a static configuration). */
export interface EnsembleConfig {
  readonly members: readonly EnsembleMember[];
  readonly version: Zxid;
}

const bracketed = (host: string) => (host.includes(':') ? `[${host}]` : host);

/** The text of `/zookeeper/config` for `config`, byte for byte as ZooKeeper writes it. */
export function formatEnsembleConfig(config: EnsembleConfig): string {
  const lines = [...config.members]
    .sort((a, b) => a.id - b.id)
    .map((member) => {
      const client =
        member.client === undefined ? '' : `;${bracketed(member.client.address)}:${member.client.port}`;
      return `server.${member.id}=${bracketed(member.host)}:${member.quorumPort}:${member.electionPort}:${member.role}${client}\n`;
    });
  return `${lines.join('')}version=${config.version.toString(16)}`;
}
