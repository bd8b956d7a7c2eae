/**
 * One client connection's figures, as ZooKeeper's ServerCnxn keeps them for `cons`, `stat`
 * and the admin server's `connections`: packets, the last operation (in FinalRequestProcessor's
 * four-letter abbreviations), the last cxid, zxid and response time, and latencies. `crst`
 * resets them.
 *
 * @module
 */
import { OpCode } from '@zabkit/wire';

/** One client connection, as cons and stat report it. */
export interface ConnectionInfo {
  readonly remote: string;
  /** The client's port. */
  readonly remotePort: number;
  /** Whether the connection came in over TLS. */
  readonly secure: boolean;
  readonly sessionId: bigint | undefined;
  readonly timeoutMs: number;
  readonly received: number;
  readonly sent: number;
  readonly outstanding: number;
  /** ZooKeeper's interest ops: 1 (read) while the socket is read, 0 while it is throttled. */
  readonly interestOps: number;
  /** When the connection was accepted, ms since the epoch. */
  readonly establishedAtMs: number;
  /** The last request answered, as FinalRequestProcessor names it (GETD, SETD, ...; NA before any). */
  readonly lastOperation: string;
  /** The xid of the last request answered; -1 before any. */
  readonly lastCxid: number;
  /** The zxid of the last response; -1 before any. */
  readonly lastZxid: bigint;
  /** When the last response left, ms since the epoch; 0 before any. */
  readonly lastResponseTimeMs: number;
  /** The last response's latency and the connection's min/avg/max, whole ms. */
  readonly lastLatencyMs: number;
  readonly latency: { readonly min: number; readonly avg: number; readonly max: number };
}

/** FinalRequestProcessor's names for the last operation, by opcode. */
const lastOperationNames: ReadonlyMap<number, string> = new Map([
  [OpCode.ping, 'PING'],
  [OpCode.createSession, 'SESS'],
  [OpCode.multi, 'MULT'],
  [OpCode.multiRead, 'MLTR'],
  [OpCode.create, 'CREA'],
  [OpCode.create2, 'CREA'],
  [OpCode.createTTL, 'CREA'],
  [OpCode.createContainer, 'CREA'],
  [OpCode.delete, 'DELE'],
  [OpCode.deleteContainer, 'DELE'],
  [OpCode.setData, 'SETD'],
  [OpCode.reconfig, 'RECO'],
  [OpCode.setACL, 'SETA'],
  [OpCode.closeSession, 'CLOS'],
  [OpCode.sync, 'SYNC'],
  [OpCode.check, 'CHEC'],
  [OpCode.exists, 'EXIS'],
  [OpCode.getData, 'GETD'],
  [OpCode.setWatches, 'SETW'],
  [OpCode.setWatches2, 'STW2'],
  [OpCode.addWatch, 'ADDW'],
  [OpCode.getACL, 'GETA'],
  [OpCode.getChildren, 'GETC'],
  [OpCode.getChildren2, 'GETC'],
  [OpCode.getAllChildrenNumber, 'GETACN'],
  [OpCode.checkWatches, 'CHKW'],
  [OpCode.removeWatches, 'REMW'],
  [OpCode.whoAmI, 'HOMI'],
  [OpCode.getEphemerals, 'GETE'],
]);

/** The name `cons` shows for an opcode's last operation ("NA" for those ZooKeeper leaves unnamed). */
export function lastOperationName(opcode: number): string {
  return lastOperationNames.get(opcode) ?? 'NA';
}

/** A connection's running figures; `reset` is crst. */
export class ConnectionStats {
  /** When the connection was accepted, ms since the epoch (ZooKeeper's `established`). */
  readonly establishedAtMs = Date.now();
  received = 0;
  sent = 0;
  lastOperation = 'NA';
  lastCxid = -1;
  lastZxid = -1n;
  /**
   * When the last response went out, on the monotonic clock (performance.now), or undefined
   * before any: the client port reads that clock for the response's latency anyway, and the
   * wall-clock time is worked out from it only when asked (cons), not at every response.
   */
  private lastResponseAtMs: number | undefined;
  lastLatencyMs = 0;
  private latencyCount = 0;
  private latencyTotalMs = 0;
  private latencyMinMs = Number.POSITIVE_INFINITY;
  private latencyMaxMs = 0;

  /** When the last response went out, ms since the epoch; 0 before any. */
  get lastResponseTimeMs(): number {
    const atMs = this.lastResponseAtMs;
    if (atMs === undefined) return 0;
    return Math.round(Date.now() - (performance.now() - atMs));
  }

  /**
   * A response to `opcode`'s request `cxid` left at `zxid`, `latencyMs` after it came, at
   * `atMs` on the monotonic clock (performance.now).
   */
  responded(opcode: number, cxid: number, zxid: bigint, latencyMs: number, atMs: number): void {
    const whole = Math.trunc(latencyMs);
    this.lastOperation = lastOperationName(opcode);
    this.lastCxid = cxid;
    this.lastZxid = zxid;
    this.lastResponseAtMs = atMs;
    this.lastLatencyMs = whole;
    this.latencyCount++;
    this.latencyTotalMs += whole;
    if (whole < this.latencyMinMs) this.latencyMinMs = whole;
    if (whole > this.latencyMaxMs) this.latencyMaxMs = whole;
  }

  /** Latencies in whole ms, 0 before any response (as ZooKeeper reports them). */
  latency(): { min: number; avg: number; max: number } {
    if (this.latencyCount === 0) return { min: 0, avg: 0, max: 0 };
    return {
      min: this.latencyMinMs,
      avg: Math.trunc(this.latencyTotalMs / this.latencyCount),
      max: this.latencyMaxMs,
    };
  }

  /** crst: everything but the establishment time starts again. */
  reset(): void {
    this.received = 0;
    this.sent = 0;
    this.lastOperation = 'NA';
    this.lastCxid = -1;
    this.lastZxid = -1n;
    this.lastResponseAtMs = undefined;
    this.lastLatencyMs = 0;
    this.latencyCount = 0;
    this.latencyTotalMs = 0;
    this.latencyMinMs = Number.POSITIVE_INFINITY;
    this.latencyMaxMs = 0;
  }
}
