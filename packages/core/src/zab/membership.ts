/**
 * Who is in the ensemble, as one peer knows it: the configuration in force (committed and
 * applied here), and the one proposed after it if this peer has logged a reconfig it has not
 * yet applied (ZooKeeper's quorum verifier and last seen quorum verifier).
 *
 * The invariant reconfiguration keeps: at no moment can two disjoint sets of servers decide
 * (elect, establish a leader, commit). While a proposed configuration may be in force
 * somewhere, this peer's quorum is joint: every decision it takes part in needs a majority
 * of the committed configuration and one of the proposed one. Since a reconfig commits only
 * with a majority of both, any later decision of the new ensemble overlaps the old one's,
 * and the other way round. `quorum` is the verifier every role reads.
 */
import {
  type EnsembleConfig,
  formatEnsembleConfig,
  parseEnsembleConfig,
  quorumOfConfig,
} from '../ensemble-config.js';
import { assert } from '../errors.js';
import type { Txn } from '../txn.js';
import type { Zxid } from '../zxid.js';
import { JointQuorum, MajorityQuorum, type QuorumVerifier, type ServerId } from './quorum.js';

/** A peer's view of the membership: in force, proposed, and the quorum that follows. */
export class Membership {
  private committedConfig: EnsembleConfig | undefined;
  private committedQuorum: MajorityQuorum;
  /**
   * Reconfigs logged and not yet applied here, in zxid order. A leader proposes one at a
   * time, but a learner that lags on commits may log the next before applying the last, and
   * each may be in force somewhere: decisions need a quorum of every one.
   */
  private proposed: {
    readonly config: EnsembleConfig;
    readonly quorum: MajorityQuorum;
    /** False for one the driver kept (`keptProposal`), which the log may never hold. */
    readonly logged: boolean;
  }[] = [];
  private current: QuorumVerifier;
  /** Whether a kept proposal is among `proposed`: appends need not look otherwise. */
  private keptPending = false;

  /**
   * `config` is what the options and the tree say is in force (undefined for an ensemble
   * named by ids alone); `voters` and `observers` the ids when there is no config.
   */
  constructor(
    config: EnsembleConfig | undefined,
    voters: readonly ServerId[],
    observers: readonly ServerId[],
  ) {
    this.committedConfig = config;
    this.committedQuorum =
      config === undefined ? new MajorityQuorum(voters, observers) : quorumOfConfig(config);
    this.current = this.committedQuorum;
  }

  /** The quorum decisions need now: the committed configuration's, joint with a proposed one. */
  get quorum(): QuorumVerifier {
    return this.current;
  }

  /** The quorum of the configuration in force alone, without those proposed after it. */
  get committedQuorumVerifier(): QuorumVerifier {
    return this.committedQuorum;
  }

  /** The configuration in force here, if the ensemble has one (not for one named by ids alone). */
  get committed(): EnsembleConfig | undefined {
    return this.committedConfig;
  }

  /** The configuration a logged reconfig proposes, until it is applied here. */
  get pending(): EnsembleConfig | undefined {
    return this.proposed.at(-1)?.config;
  }

  /** The version of the configuration in force (0 for a static one). */
  get version(): Zxid {
    return (this.committedConfig?.version ?? 0n) as Zxid;
  }

  /** This server's role in the configuration in force, or undefined when it is not a member. */
  roleOf(id: ServerId): 'participant' | 'observer' | undefined {
    if (this.committedQuorum.voters.has(id)) return 'participant';
    if (this.committedQuorum.observers.has(id)) return 'observer';
    return undefined;
  }

  /** Transactions reached the log: a reconfig among them is proposed from now on. */
  logged(txns: readonly Txn[]): void {
    // The log reached a kept proposal's zxid: it holds that reconfig (added again below,
    // from the log) or never will, having passed it.
    const last = txns.at(-1);
    const proposedBefore = this.proposed.length;
    let changed = false;
    if (this.keptPending && last !== undefined) {
      this.proposed = this.proposed.filter((entry) => entry.logged || entry.config.version > last.zxid);
      this.keptPending = this.proposed.some((entry) => !entry.logged);
      changed = this.proposed.length !== proposedBefore;
    }
    for (const txn of txns) {
      if (txn.body.kind !== 'reconfig') continue;
      const config = parseEnsembleConfig(txn.body.config);
      assert(config.version === txn.zxid, 'a reconfig names its own zxid as its version');
      if (config.version <= this.version) continue;
      const last = this.proposed.at(-1);
      if (last !== undefined && config.version <= last.config.version) continue;
      this.proposed.push({ config, quorum: quorumOfConfig(config), logged: true });
      changed = true;
    }
    // Every proposal is logged: most appends change nothing here, and the quorum stays.
    if (changed) this.recompute();
  }

  /**
   * A proposal the driver kept at start (zoo.cfg.dynamic.next) that the log may lack: taken
   * as proposed when it is beyond everything the log holds (`lastLoggedZxid`), as ZooKeeper
   * takes it as its last seen configuration. At or below the log's end it is the log's own
   * proposal (already here) or one truncated away; at or below the one in force, old.
   * Returns whether it was taken.
   */
  keptProposal(config: EnsembleConfig, lastLoggedZxid: Zxid): boolean {
    if (config.version <= this.version || config.version <= lastLoggedZxid) return false;
    this.proposed.push({ config, quorum: quorumOfConfig(config), logged: false });
    this.keptPending = true;
    this.recompute();
    return true;
  }

  /** The log was cut back to `zxid`: a reconfig beyond it was never proposed after all. */
  truncatedTo(zxid: Zxid): void {
    this.proposed = this.proposed.filter((entry) => entry.config.version <= zxid);
    this.recompute();
  }

  /**
   * A reconfig was applied (committed): its configuration is in force. Returns it; the peer
   * tells its driver and its roles.
   */
  applied(txn: Txn): EnsembleConfig | undefined {
    assert(txn.body.kind === 'reconfig', 'only a reconfig changes the membership');
    const config = parseEnsembleConfig(txn.body.config);
    assert(config.version === txn.zxid, 'a reconfig names its own zxid as its version');
    // Already in force when this peer adopted it from another while electing.
    return this.adopt(config) ? config : undefined;
  }

  /**
   * A configuration newer than ours came from elsewhere (a snapshot's /zookeeper/config):
   * it is in force from now on. Returns whether it was newer.
   */
  adopt(config: EnsembleConfig): boolean {
    if (this.committedConfig !== undefined && config.version <= this.committedConfig.version) return false;
    this.committedConfig = config;
    this.committedQuorum = quorumOfConfig(config);
    this.proposed = this.proposed.filter((entry) => entry.config.version > config.version);
    this.recompute();
    return true;
  }

  private recompute(): void {
    this.current =
      this.proposed.length === 0
        ? this.committedQuorum
        : new JointQuorum([this.committedQuorum, ...this.proposed.map((entry) => entry.quorum)]);
    // The invariant, stated where it is kept: while a change is pending, a set that decides
    // holds a majority of the configuration in force and of every one proposed after it.
    assert(
      this.proposed.every(
        (entry, i) => entry.config.version > (this.proposed[i - 1]?.config.version ?? this.version),
      ),
      'proposed configurations follow the one in force, in version order',
    );
  }

  /** The text of /zookeeper/config for the configuration in force. */
  text(): string | undefined {
    return this.committedConfig === undefined ? undefined : formatEnsembleConfig(this.committedConfig);
  }
}
