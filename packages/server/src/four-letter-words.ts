/**
 * Four-letter words: ZooKeeper's plain-text admin commands on the client port. The answers
 * keep ZooKeeper's line formats, which monitoring scripts and kazoo parse ("Mode: leader",
 * mntr's tab-separated pairs). Pure formatting over a snapshot of the server's state.
 */

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
  readonly connections: readonly {
    readonly remote: string;
    readonly sessionId: bigint | undefined;
    readonly timeoutMs: number;
    readonly received: number;
    readonly sent: number;
    readonly outstanding: number;
  }[];
  /** Followers connected to this leader, and how many of them are synced. */
  readonly followers?: { readonly total: number; readonly synced: number };
  readonly config: readonly (readonly [string, string])[];
  readonly environment: readonly (readonly [string, string])[];
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
  return (
    `Received: ${context.packetsReceived}\n` +
    `Sent: ${context.packetsSent}\n` +
    `Connections: ${context.connections.length}\n` +
    `Outstanding: ${outstanding(context)}\n` +
    `Zxid: ${hex(context.zxid)}\n` +
    `Mode: ${context.mode}\n` +
    `Node count: ${context.nodeCount}\n`
  );
}

function connectionLine(connection: FourLetterWordContext['connections'][number]): string {
  const session = connection.sessionId === undefined ? '' : `,sid=${hex(connection.sessionId)}`;
  return ` /${connection.remote}[1](queued=${connection.outstanding},recved=${connection.received},sent=${connection.sent}${session},to=${connection.timeoutMs})\n`;
}

/** What ZooKeeper answers, word for word, to the words that need a running server. */
export const notServingAnswer = 'This ZooKeeper instance is not currently serving requests\n';

/** The words that report on a running server; as in ZooKeeper, they wait for one. */
const needServing: ReadonlySet<string> = new Set(['srvr', 'stat', 'cons', 'conf', 'wchs', 'dump', 'mntr']);

/** What a server whose peer stopped for good adds after {@link notServingAnswer}: why. */
export function failureLine(failure: string): string {
  return `zabkit: stopped for good: ${failure.replaceAll('\n', ' ')}\n`;
}

/** The answer to `word`, which the caller has checked is known and allowed. */
export function answerFourLetterWord(word: string, context: FourLetterWordContext): string {
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
        context.connections.map(connectionLine).join('') +
        `\n${latencyLine(context)}${summary(context)}`
      );
    case 'cons':
      return `${context.connections.map(connectionLine).join('')}\n`;
    case 'conf':
      return context.config.map(([key, value]) => `${key}=${value}\n`).join('');
    case 'envi':
      return `Environment:\n${context.environment.map(([key, value]) => `${key}=${value}\n`).join('')}`;
    case 'wchs':
      return (
        `${context.watches.watchers} connections watching ${context.watches.paths} paths\n` +
        `Total watches:${context.watches.watches}\n`
      );
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

function mntr(context: FourLetterWordContext): string {
  const pairs: [string, string | number][] = [
    ['zk_version', context.version],
    ['zk_server_state', context.mode],
    ['zk_avg_latency', context.latency.avg.toFixed(4)],
    ['zk_max_latency', context.latency.max],
    ['zk_min_latency', context.latency.min],
    ['zk_packets_received', context.packetsReceived],
    ['zk_packets_sent', context.packetsSent],
    ['zk_num_alive_connections', context.connections.length],
    ['zk_outstanding_requests', outstanding(context)],
    ['zk_znode_count', context.nodeCount],
    ['zk_watch_count', context.watches.watches],
    ['zk_ephemerals_count', context.ephemeralsCount],
    ['zk_approximate_data_size', context.approximateDataSize],
    ['zk_global_sessions', context.sessions.length],
    ['zk_last_zxid', hex(context.zxid)],
  ];
  if (context.followers !== undefined) {
    pairs.push(['zk_followers', context.followers.total], ['zk_synced_followers', context.followers.synced]);
  }
  return pairs.map(([key, value]) => `${key}\t${value}\n`).join('');
}
