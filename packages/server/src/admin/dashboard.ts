/**
 * The dashboard the admin server serves at `/dashboard`: one page, its script and styles inline
 * (nothing fetched from the internet), polling two JSON endpoints of its own. `state` reports
 * the ensemble's members as this server knows them (role, zxid, lag, health), live figures
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
        this.json(response, 200, this.state());
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
  private state(): Record<string, unknown> {
    const context = this.target.introspect();
    const peer = this.target.driver.peer;
    const status = peer.status();
    const { config } = this.target;
    const learners = new Map(peer.learners().map((l) => [l.serverId, l]));
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
        : [...config.servers.values()].map((server) => {
            if (server.id === peer.serverId) {
              return {
                id: server.id,
                host: server.host,
                role: context.mode,
                zxid: zxidText(status.lastAppliedZxid),
                lag: 0,
                health: context.failure !== undefined ? 'failed' : context.serving ? 'ok' : 'not serving',
                self: true,
              };
            }
            const learner = learners.get(server.id);
            if (status.role === 'leading' && learner !== undefined) {
              const lag =
                learner.ackedZxid >> 32n === status.lastCommittedZxid >> 32n
                  ? Number((status.lastCommittedZxid & 0xffffffffn) - (learner.ackedZxid & 0xffffffffn))
                  : null;
              return {
                id: server.id,
                host: server.host,
                role: learner.observer ? 'observer' : 'follower',
                zxid: learner.observer ? null : zxidText(learner.ackedZxid),
                lag: learner.observer ? null : Math.max(0, lag ?? 0),
                health: learner.synced ? 'ok' : 'syncing',
                self: false,
              };
            }
            return {
              id: server.id,
              host: server.host,
              role:
                status.leaderId === server.id
                  ? 'leader'
                  : status.role === 'leading'
                    ? 'not connected'
                    : 'unknown here',
              zxid: null,
              lag: null,
              health: status.role === 'leading' ? 'down' : status.leaderId === server.id ? 'ok' : 'unknown',
              self: false,
            };
          });
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
