/**
 * One member of an embedded ensemble, as `startPeer`'s `peers` and the membership calls name
 * it.
 *
 * @module
 */

/** One member of the ensemble, as every instance of the service lists it. */
export interface PeerMember {
  /** The member's server id (ZooKeeper's myid), a positive integer. */
  readonly id: number;
  /** Where the other members reach its peer port. */
  readonly host: string;
  /** Its peer (quorum) port: ZAB's election and broadcast share it. */
  readonly port: number;
  /** A non-voting observer (default false: a voting participant). */
  readonly observer?: boolean;
  /**
   * Its client port, if it opens one: the other members' in-process clients fall back to it
   * when their own peer is not serving, and tools (zkCli, `connectTcp`) connect there.
   */
  readonly clientPort?: number;
}
