/**
 * The dashboard the admin server serves at `/dashboard`: one page, its script and styles inline
 * (nothing fetched from the internet), polling two JSON endpoints of its own. `state` reports
 * every member of the ensemble (role, zxid, lag behind the leader, health: the others as they
 * answer `srvr` on their client ports, see member-probe.ts), live figures
 * (packets, latency, connections, outstanding requests) and the sessions. `znode` is a
 * read-only browser that goes through a client session authenticated with the operator's
 * credentials, so it sees what that identity's ACLs allow and nothing else.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ClientLink, type LinkFactory, ZabClient, ZabError } from '@zabkit/client';
import type { AdminTarget } from './commands.js';
import { dashboardPage } from './dashboard-page.js';
import { toJson } from './json.js';
import { type MemberAddress, MemberProbes } from './member-probe.js';

/** Operator sessions kept open for the znode browser, one per distinct credentials. */
export const dashboardSessionsMax = 8;
/** An operator session unused this long is closed. */
const dashboardSessionIdleMs = 60_000;

/** What the dashboard needs beyond the admin commands' target: a way to open client sessions. */
export interface DashboardTarget extends AdminTarget {
  readonly driver: AdminTarget['driver'] & LinkFactory;
}

interface OperatorSession {
  readonly client: Promise<ZabClient>;
  lastUsedMs: number;
}

/** The dashboard's routes on the admin server; `close` ends the operator sessions. */
export class Dashboard {
  private readonly sessions = new Map<string, OperatorSession>();
  /** The other members' own answers, asked on their client ports. */
  private readonly probes = new MemberProbes();
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(private readonly target: DashboardTarget) {
    this.sweeper = setInterval(() => this.sweep(), dashboardSessionIdleMs / 4);
    this.sweeper.unref();
  }

  /** Answers /dashboard and its API; false for any other path. */
  async route(request: IncomingMessage, response: ServerResponse): Promise<boolean> {
    const url = new URL(request.url ?? '/', 'http://admin');
    if (request.method !== 'GET') return false;
    switch (url.pathname) {
      case '/dashboard':
      case '/dashboard/':
        response.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          // Everything is inline; nothing may be loaded from elsewhere.
          'content-security-policy':
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
        });
        response.end(dashboardPage);
        return true;
      case '/dashboard/api/state':
        this.json(response, 200, await this.state());
        return true;
      case '/dashboard/api/znode':
        await this.znode(url.searchParams.get('path') ?? '/', request.headers.authorization, response);
        return true;
      default:
        return false;
    }
  }

  /** Closes the operator sessions. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const open = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(open.map((s) => s.client.then((c) => c.close()).catch(() => undefined)));
  }

  private json(response: ServerResponse, status: number, body: unknown): void {
    response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    response.end(toJson(body));
  }

  /** The members, figures and sessions the page shows. */
  private async state(): Promise<Record<string, unknown>> {
    const context = this.target.introspect();
    const peer = this.target.driver.peer;
    const status = peer.status();
    const { config } = this.target;
    const zxidText = (zxid: bigint) => `0x${BigInt.asUintN(64, zxid).toString(16)}`;
    const members =
      config.servers.size === 0
        ? [
            {
              id: peer.serverId,
              host: 'standalone',
              role: context.mode,
              zxid: zxidText(status.lastAppliedZxid),
              lag: 0,
              health: context.failure === undefined && context.serving ? 'ok' : 'down',
              self: true,
            },
          ]
        : await this.members(context, zxidText);
    const connectionsBySession = new Map(
      context.connections.filter((c) => c.sessionId !== undefined).map((c) => [c.sessionId!, c]),
    );
    const timeouts = peer.sessionSummary().sessions;
    return {
      serverId: peer.serverId,
      mode: context.mode,
      serving: context.serving,
      failure: context.failure ?? null,
      version: context.version,
      zxid: zxidText(status.lastAppliedZxid),
      members,
      figures: {
        packetsReceived: context.packetsReceived,
        packetsSent: context.packetsSent,
        connections: context.connections.length,
        outstanding: context.connections.reduce((sum, c) => sum + c.outstanding, 0),
        latencyAvgMs: context.latency.avg,
        latencyMaxMs: context.latency.max,
        znodes: context.nodeCount,
        watches: context.watches.watches,
      },
      sessions: context.sessions.map((session) => {
        const connection = connectionsBySession.get(session.sessionId);
        return {
          id: zxidText(session.sessionId),
          timeoutMs: timeouts.get(session.sessionId) ?? 0,
          ephemerals: session.ephemerals.length,
          client: connection === undefined ? null : `${connection.remote}:${connection.remotePort}`,
          lastOperation: connection?.lastOperation ?? null,
        };
      }),
    };
  }

  /**
   * Every member as this server sees it: itself; the others as they answer `srvr` on their
   * client ports (mode and zxid), with what a leader knows of its learners (synced or still
   * syncing). The lag is how many transactions a member's zxid trails the leader's.
   */
  private async members(
    context: ReturnType<AdminTarget['introspect']>,
    zxidText: (zxid: bigint) => string,
  ): Promise<Record<string, unknown>[]> {
    const peer = this.target.driver.peer;
    const status = peer.status();
    const { config } = this.target;
    const learners = new Map(peer.learners().map((l) => [l.serverId, l]));
    const others = [...config.servers.values()].filter((server) => server.id !== peer.serverId);
    const addresses: MemberAddress[] = [];
    for (const server of others) {
      // A member's own client port, else the one this server was given (the usual layout:
      // every member on its host's same port).
      const port = server.clientPort ?? config.clientPort;
      if (port === undefined || port === 0) continue;
      const wildcard = server.clientAddress === undefined || ['0.0.0.0', '::'].includes(server.clientAddress);
      addresses.push({ id: server.id, host: wildcard ? server.host : server.clientAddress!, port });
    }
    const reports = await this.probes.read(addresses);
    const leading = status.role === 'leading' && status.serving;
    const leaderReport = status.leaderId === undefined ? undefined : reports.get(status.leaderId);
    const leaderZxid = leading
      ? status.lastCommittedZxid
      : leaderReport?.state === 'serving' && leaderReport.mode === 'leader'
        ? leaderReport.zxid
        : undefined;
    const lagBehindLeader = (zxid: bigint) =>
      leaderZxid === undefined || zxid >> 32n !== leaderZxid >> 32n
        ? null
        : Math.max(0, Number((leaderZxid & 0xffffffffn) - (zxid & 0xffffffffn)));
    const self = {
      id: peer.serverId,
      host: config.servers.get(peer.serverId)?.host ?? '',
      role: context.mode,
      zxid: zxidText(status.lastAppliedZxid),
      lag: leading ? 0 : lagBehindLeader(status.lastAppliedZxid),
      health: context.failure !== undefined ? 'failed' : context.serving ? 'ok' : 'not serving',
      self: true,
    };
    const rows = others.map((server) => {
      const report = reports.get(server.id);
      const learner = leading ? learners.get(server.id) : undefined;
      const row = { id: server.id, host: server.host, self: false };
      if (report?.state === 'serving') {
        return {
          ...row,
          role: report.mode,
          zxid: zxidText(report.zxid),
          lag: report.mode === 'leader' ? 0 : lagBehindLeader(report.zxid),
          // A leader knows whether its learner has finished syncing.
          health: learner !== undefined && !learner.synced ? 'syncing' : 'ok',
        };
      }
      if (learner !== undefined) {
        // Not answering srvr (no client port known, or not whitelisted) but connected here.
        return {
          ...row,
          role: learner.observer ? 'observer' : 'follower',
          zxid: zxidText(learner.ackedZxid),
          lag: lagBehindLeader(learner.ackedZxid),
          health: learner.synced ? 'ok' : 'syncing',
        };
      }
      return {
        ...row,
        role: report === undefined ? 'unknown (no client port to ask)' : report.state,
        zxid: null,
        lag: null,
        health: report === undefined ? 'unknown' : report.state === 'unreachable' ? 'down' : 'not serving',
        detail: report === undefined ? null : report.detail,
      };
    });
    return [self, ...rows].sort((a, b) => a.id - b.id);
  }

  private async znode(
    path: string,
    authorization: string | undefined,
    response: ServerResponse,
  ): Promise<void> {
    if (authorization === undefined || !/^digest [^:\s]+:\S*$/.test(authorization.trim())) {
      this.json(response, 401, {
        error: 'sign in: an Authorization header "digest user:password" is needed',
      });
      return;
    }
    if (!path.startsWith('/')) {
      this.json(response, 400, { error: `not a path: ${path}` });
      return;
    }
    let client: ZabClient;
    try {
      client = await this.session(authorization.trim());
    } catch (error) {
      this.json(response, 401, { error: error instanceof Error ? error.message : String(error) });
      return;
    }
    try {
      const [{ data, stat }, children] = await Promise.all([
        client.getData(path, { timeoutMs: 5000 }),
        client.getChildren(path, { timeoutMs: 5000 }),
      ]);
      const bytes = data ?? new Uint8Array(0);
      const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
      this.json(response, 200, {
        path,
        data: text,
        dataLength: bytes.length,
        stat: {
          czxid: stat.czxid,
          mzxid: stat.mzxid,
          pzxid: stat.pzxid,
          ctime: stat.ctime,
          mtime: stat.mtime,
          version: stat.version,
          cversion: stat.cversion,
          aversion: stat.aversion,
          ephemeralOwner: stat.ephemeralOwner,
          numChildren: stat.numChildren,
        },
        children: [...children].sort(),
      });
    } catch (error) {
      if (error instanceof ZabError) {
        this.json(response, error.code === -102 ? 403 : 404, { error: error.message, code: error.code });
        return;
      }
      throw error;
    }
  }

  /** The operator session for these credentials, opened (and authenticated) on first use. */
  private session(authorization: string): Promise<ZabClient> {
    const existing = this.sessions.get(authorization);
    if (existing !== undefined) {
      existing.lastUsedMs = Date.now();
      return existing.client;
    }
    if (this.sessions.size >= dashboardSessionsMax) this.evictOldest();
    const credentials = authorization.slice('digest '.length);
    const links: LinkFactory = {
      open: (handlers, attempt) => this.target.driver.open(handlers, attempt) as ClientLink,
    };
    const client = ZabClient.connect(links, { sessionTimeoutMs: dashboardSessionIdleMs }).then(async (zk) => {
      await zk.addAuth('digest', credentials);
      return zk;
    });
    const session: OperatorSession = { client, lastUsedMs: Date.now() };
    this.sessions.set(authorization, session);
    client.catch(() => this.sessions.delete(authorization));
    return client;
  }

  private evictOldest(): void {
    let oldest: [string, OperatorSession] | undefined;
    for (const entry of this.sessions)
      if (oldest === undefined || entry[1].lastUsedMs < oldest[1].lastUsedMs) oldest = entry;
    if (oldest === undefined) return;
    this.sessions.delete(oldest[0]);
    oldest[1].client.then((c) => c.close()).catch(() => undefined);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, session] of this.sessions) {
      if (now - session.lastUsedMs < dashboardSessionIdleMs) continue;
      this.sessions.delete(key);
      session.client.then((c) => c.close()).catch(() => undefined);
    }
  }
}
