/**
 * What the other members of the ensemble say of themselves, for the dashboard: each one's
 * `srvr` on its client port (the four-letter word every ZooKeeper and zabkit server answers by
 * default), read for its mode and zxid. A follower knows nothing of its fellow followers
 * through ZAB; asking them is what lets any member's dashboard show the whole ensemble, and it
 * works for Apache ZooKeeper members too. Probes are bounded: one at a time per member, each
 * with a timeout, at most once per interval however many pages poll.
 *
 * @module
 */
import { connect } from 'node:net';

/** How long a probe waits for a member's answer. */
export const memberProbeTimeoutMs = 1000;
/** Answers younger than this are reused rather than asked again. */
export const memberProbeIntervalMs = 1000;
/** The most bytes read of a `srvr` answer (a few hundred in practice). */
const srvrAnswerBytesMax = 16 * 1024;

/** A member's answer: its mode and last zxid, or why there is none. */
export type MemberReport =
  | { readonly state: 'serving'; readonly mode: string; readonly zxid: bigint }
  | { readonly state: 'not serving'; readonly detail: string }
  | { readonly state: 'unreachable'; readonly detail: string };

/** Reads a `srvr` answer: ZooKeeper's "Zxid: 0x..." and "Mode: ..." lines. */
export function parseSrvr(text: string): MemberReport {
  if (text.includes('not currently serving'))
    return { state: 'not serving', detail: text.trim().split('\n')[0] ?? '' };
  const zxid = /^Zxid: (0x[0-9a-fA-F]+)$/m.exec(text)?.[1];
  const mode = /^Mode: (\S+)$/m.exec(text)?.[1];
  if (zxid === undefined || mode === undefined)
    return { state: 'not serving', detail: `unexpected srvr answer: ${text.trim().slice(0, 80)}` };
  return { state: 'serving', mode, zxid: BigInt(zxid) };
}

/** Asks `host:port` for `srvr`; never rejects. */
export function probeMember(
  host: string,
  port: number,
  timeoutMs = memberProbeTimeoutMs,
): Promise<MemberReport> {
  return new Promise((resolve) => {
    let text = '';
    let settled = false;
    const socket = connect({ host, port });
    const finish = (report: MemberReport) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(report);
    };
    const timer = setTimeout(
      () => finish({ state: 'unreachable', detail: `no answer from ${host}:${port} in ${timeoutMs} ms` }),
      timeoutMs,
    );
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write('srvr'));
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > srvrAnswerBytesMax) finish(parseSrvr(text.slice(0, srvrAnswerBytesMax)));
    });
    socket.on('end', () => finish(parseSrvr(text)));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish({ state: 'unreachable', detail: `${host}:${port}: ${error.code ?? error.message}` }),
    );
  });
}

/** Where a member's client port is asked. */
export interface MemberAddress {
  readonly id: number;
  readonly host: string;
  readonly port: number;
}

/** The members' latest answers, refreshed at most once per interval. */
export class MemberProbes {
  private readonly reports = new Map<number, { report: MemberReport; atMs: number }>();
  private refreshing: Promise<void> | undefined;

  constructor(private readonly intervalMs = memberProbeIntervalMs) {}

  /** Each member's answer, asking again those older than the interval (and waiting for them). */
  async read(members: readonly MemberAddress[]): Promise<ReadonlyMap<number, MemberReport>> {
    const nowMs = performance.now();
    const stale = members.filter((m) => {
      const known = this.reports.get(m.id);
      return known === undefined || nowMs - known.atMs >= this.intervalMs;
    });
    if (stale.length > 0) {
      // Pages that poll together share one round of probes.
      this.refreshing ??= Promise.all(
        stale.map(async (member) => {
          const report = await probeMember(member.host, member.port);
          this.reports.set(member.id, { report, atMs: performance.now() });
        }),
      ).then(
        () => {
          this.refreshing = undefined;
        },
        () => {
          this.refreshing = undefined;
        },
      );
      await this.refreshing;
    }
    const answers = new Map<number, MemberReport>();
    for (const member of members) {
      const known = this.reports.get(member.id);
      if (known !== undefined) answers.set(member.id, known.report);
    }
    return answers;
  }
}
