/**
 * Four-letter words: ZooKeeper's plain-text admin commands on the client port. The answers
 * keep ZooKeeper 3.9's line formats, which monitoring scripts, zktop and kazoo parse ("Mode:
 * leader", cons's `/host:port[1](queued=...)`, mntr's tab-separated pairs). Formatting over a
 * snapshot of the server's state; crst, srst and stmk act through {@link FourLetterWordActions}.
 */
import type { ConnectionInfo } from './connection-stats.js';

/** The server's state as the four-letter words report it. */
export interface FourLetterWordContext {
  readonly version: string;
  readonly mode: 'standalone' | 'leader' | 'follower' | 'observer' | 'looking' | 'read-only';
  /**
   * Whether the server answers clients: a follower still syncing with its leader, or a
   * server looking for one, does not.
   */
  readonly serving: boolean;
  /**
   * Set once the server's peer stopped for good (its storage failed, or it broke an
   * invariant): why, in a sentence. Such a server is not healthy: ruok answers nothing, as a
   * ZooKeeper that is not running does, and the words that report on a running server say why.
   */
  readonly failure?: string | undefined;
  readonly serverId: number;
  readonly readOnly: boolean;
  readonly zxid: bigint;
  readonly nodeCount: number;
  readonly approximateDataSize: number;
  readonly ephemeralsCount: number;
  readonly watches: { readonly watchers: number; readonly paths: number; readonly watches: number };
  readonly sessions: readonly { readonly sessionId: bigint; readonly ephemerals: readonly string[] }[];
  readonly packetsReceived: number;
  readonly packetsSent: number;
  readonly latency: { readonly min: number; readonly avg: number; readonly max: number };
  readonly connections: readonly ConnectionInfo[];
  /** Followers connected to this leader, and how many of them are synced. */
  readonly followers?: { readonly total: number; readonly synced: number };
  /** A leader's proposal sizes in bytes (stat's "Proposal sizes last/min/max"). */
  readonly proposalSizes?: { readonly last: number; readonly min: number; readonly max: number };
  /** In an ensemble, QuorumPeer's detailed state: "following - broadcast", "looking", ... */
  readonly peerState?: string;
  readonly config: readonly (readonly [string, string])[];
  readonly environment: readonly (readonly [string, string])[];
  /**
   * mntr's figures after version, server_state and peer_state, as the configured metrics
   * provider dumps them (ServerMetrics.monitorValues): key, value, and whether it is a double.
   */
  readonly metrics: () => Promise<readonly (readonly [key: string, value: number, double: boolean])[]>;
  /** The data watches' paths by session (wchc; wchp inverts it). */
  readonly watchesBySession: () => ReadonlyMap<bigint, readonly string[]>;
  /** Bytes under dataDir and dataLogDir (dirs). */
  readonly dirs: () => { readonly dataDirBytes: number; readonly logDirBytes: number };
  /** The replica's digest at its last applied zxid (hash). */
  readonly digests: () => readonly { readonly zxid: bigint; readonly digest: string }[];
  /** The trace mask gtmk reports (ZooKeeper's default is 306). */
  readonly traceMask: bigint;
}

/** What crst, srst and stmk change. */
export interface FourLetterWordActions {
  resetConnectionStats(): void;
  resetServerStats(): void;
  setTraceMask(mask: bigint): void;
}

const hex = (value: bigint) => `0x${BigInt.asUintN(64, value).toString(16)}`;

function outstanding(context: FourLetterWordContext): number {
  return context.connections.reduce((sum, connection) => sum + connection.outstanding, 0);
}

function latencyLine(context: FourLetterWordContext): string {
  const { min, avg, max } = context.latency;
  return `Latency min/avg/max: ${min}/${avg.toFixed(4)}/${max}\n`;
}

function summary(context: FourLetterWordContext): string {
  const proposals =
    context.mode === 'leader' && context.proposalSizes !== undefined
      ? `Proposal sizes last/min/max: ${context.proposalSizes.last}/${context.proposalSizes.min}/${context.proposalSizes.max}\n`
      : '';
  return (
    `Received: ${context.packetsReceived}\n` +
    `Sent: ${context.packetsSent}\n` +
    `Connections: ${context.connections.length}\n` +
    `Outstanding: ${outstanding(context)}\n` +
    `Zxid: ${hex(context.zxid)}\n` +
    `Mode: ${context.mode}\n` +
    `Node count: ${context.nodeCount}\n` +
    proposals
  );
}

/** The address as Java's InetSocketAddress prints it: `/host:port` (IPv6 without brackets). */
function socketAddress(connection: ConnectionInfo): string {
  const host = connection.remote.startsWith('::ffff:') ? connection.remote.slice(7) : connection.remote;
  return `/${host}:${connection.remotePort}`;
}

/** ServerCnxn.dumpConnectionInfo: brief for stat, full for cons. */
export function connectionLine(connection: ConnectionInfo, brief: boolean): string {
  let line =
    ` ${socketAddress(connection)}[${connection.interestOps.toString(16)}]` +
    `(queued=${connection.outstanding},recved=${connection.received},sent=${connection.sent}`;
  if (!brief && connection.sessionId !== undefined && connection.sessionId !== 0n) {
    line +=
      `,sid=${hex(connection.sessionId)},lop=${connection.lastOperation},est=${connection.establishedAtMs}` +
      `,to=${connection.timeoutMs}` +
      (connection.lastCxid >= 0 ? `,lcxid=0x${connection.lastCxid.toString(16)}` : '') +
      `,lzxid=${hex(connection.lastZxid)},lresp=${connection.lastResponseTimeMs},llat=${connection.lastLatencyMs}` +
      `,minlat=${connection.latency.min},avglat=${connection.latency.avg},maxlat=${connection.latency.max}`;
  }
  return `${line})`;
}

/** What ZooKeeper answers, word for word, to the words that need a running server. */
export const notServingAnswer = 'This ZooKeeper instance is not currently serving requests\n';

/** The words that report on a running server; as in ZooKeeper, they wait for one. */
const needServing: ReadonlySet<string> = new Set([
  'srvr',
  'stat',
  'cons',
  'conf',
  'wchs',
  'wchc',
  'wchp',
  'dump',
  'mntr',
  'dirs',
  'hash',
  'crst',
  'srst',
]);

/** What a server whose peer stopped for good adds after {@link notServingAnswer}: why. */
export function failureLine(failure: string): string {
  return `zabkit: stopped for good: ${failure.replaceAll('\n', ' ')}\n`;
}

/**
 * The answer to `word`, which the caller has checked is known and allowed. `argument` is
 * stmk's: the 8-byte mask that follows the word.
 */
export async function answerFourLetterWord(
  word: string,
  context: FourLetterWordContext,
  actions?: FourLetterWordActions,
  argument?: bigint,
): Promise<string> {
  if (context.failure !== undefined) {
    // Not healthy any more: ruok stays silent (a supervisor's probe sees a dead server) and
    // the words that need a running server say why it is not one.
    if (word === 'ruok') return '';
    if (needServing.has(word)) return notServingAnswer + failureLine(context.failure);
  }
  if (!context.serving && needServing.has(word)) return notServingAnswer;
  switch (word) {
    case 'ruok':
      return 'imok';
    case 'isro':
      return context.serving ? (context.readOnly ? 'ro' : 'rw') : 'null';
    case 'srvr':
      return `Zookeeper version: ${context.version}\n${latencyLine(context)}${summary(context)}`;
    case 'stat':
      return (
        `Zookeeper version: ${context.version}\nClients:\n` +
        context.connections.map((c) => `${connectionLine(c, true)}\n`).join('') +
        `\n${latencyLine(context)}${summary(context)}`
      );
    case 'cons':
      return `${context.connections.map((c) => `${connectionLine(c, false)}\n`).join('')}\n`;
    case 'conf':
      return context.config.map(([key, value]) => `${key}=${value}\n`).join('');
    case 'envi':
      return `Environment:\n${context.environment.map(([key, value]) => `${key}=${value}\n`).join('')}`;
    case 'wchs':
      return (
        `${context.watches.watchers} connections watching ${context.watches.paths} paths\n` +
        `Total watches:${context.watches.watches}\n`
      );
    case 'wchc':
      return `${[...context.watchesBySession()]
        .map(([sessionId, paths]) => `${hex(sessionId)}\n${paths.map((path) => `\t${path}\n`).join('')}`)
        .join('')}\n`;
    case 'wchp':
      return `${[...watchersByPath(context.watchesBySession())]
        .map(([path, sessions]) => `${path}\n${sessions.map((id) => `\t${hex(id)}\n`).join('')}`)
        .join('')}\n`;
    case 'dirs': {
      const { dataDirBytes, logDirBytes } = context.dirs();
      return `datadir_size: ${dataDirBytes}\nlogdir_size: ${logDirBytes}\n`;
    }
    case 'hash':
      return context
        .digests()
        .map(({ zxid, digest }) => `${BigInt.asUintN(64, zxid).toString(16)}: ${BigInt(`0x${digest}`)}\n`)
        .join('');
    case 'crst':
      actions?.resetConnectionStats();
      return 'Connection stats reset.\n';
    case 'srst':
      actions?.resetServerStats();
      return 'Server stats reset.\n';
    case 'gtmk':
      return String(context.traceMask);
    case 'stmk': {
      const mask = argument ?? context.traceMask;
      actions?.setTraceMask(mask);
      return String(mask);
    }
    case 'dump': {
      const withEphemerals = context.sessions.filter((session) => session.ephemerals.length > 0);
      return (
        `SessionTracker dump:\nGlobal Sessions(${context.sessions.length}):\n` +
        context.sessions.map((session) => `${hex(session.sessionId)}\n`).join('') +
        `ephemeral nodes dump:\nSessions with Ephemerals (${withEphemerals.length}):\n` +
        withEphemerals
          .map(
            (session) =>
              `${hex(session.sessionId)}:\n${session.ephemerals.map((path) => `\t${path}\n`).join('')}`,
          )
          .join('')
      );
    }
    case 'mntr':
      return mntr(context);
    default:
      return `${word} is not supported by zabkit.\n`;
  }
}

/** wchp's view: the sessions watching each path, paths sorted. */
export function watchersByPath(bySession: ReadonlyMap<bigint, readonly string[]>): Map<string, bigint[]> {
  const byPath = new Map<string, bigint[]>();
  for (const [sessionId, paths] of bySession) {
    for (const path of paths) {
      const sessions = byPath.get(path);
      if (sessions === undefined) byPath.set(path, [sessionId]);
      else sessions.push(sessionId);
    }
  }
  return new Map([...byPath].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * mntr as ZooKeeper 3.9 prints it: version, server_state, peer_state (in an ensemble), then
 * its metrics provider's dump: the default provider's gauges (learners, synced_followers and
 * the other leader gauges only on a leader), counters and summaries, or the Prometheus
 * provider's samples. Integers print as integers, doubles as Java prints them.
 */
async function mntr(context: FourLetterWordContext): Promise<string> {
  const pairs: [string, string][] = [
    ['version', context.version],
    ['server_state', context.mode],
  ];
  if (context.peerState !== undefined) pairs.push(['peer_state', context.peerState]);
  for (const [key, value, double] of await context.metrics())
    pairs.push([key, double ? javaDouble(value) : String(Math.trunc(value))]);
  return pairs.map(([key, value]) => `zk_${key}\t${value}\n`).join('');
}

/**
 * A double as Java's Double.toString prints it: `4.0`, `0.25`, `1.0E7`, `1.5E-4`, `NaN`,
 * `Infinity` (plain decimals from 10^-3 up to 10^7, computerized scientific notation beyond).
 */
export function javaDouble(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    const text = String(value);
    return text.includes('.') ? text : `${text}.0`;
  }
  const [mantissa, exponent] = value.toExponential().split('e') as [string, string];
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
}
