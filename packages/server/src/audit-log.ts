/**
 * The audit log (`audit.enable=true`), in ZooKeeper 3.9's format: one line per write operation
 * a client of this server asked for, with its result, as ZooKeeper's AuditHelper writes them:
 * tab-separated `key=value` pairs in the order session, user, ip, operation, znode,
 * znode_type, acl, then result (success, failure, or invoked); a field without a value is left
 * out. `user` is the client's identities as ZooKeeper's AuthUtil lists them: its address, then
 * each digest user it authenticated as. Also, as ZooKeeper: serverStart and serverStop, and
 * every ephemeral node a closed or expired session loses (logged by every server that
 * applies it, with the server's OS user and no ip).
 *
 * Where lines go: `zabkit.audit.file=<path>` appends them in the layout of ZooKeeper's
 * audit appender (`%d{ISO8601} %p %c{2}: %m%n`, so tools that read zookeeper_audit.log read
 * this one); without it they go to the server's log stream as records with `audit: true`.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { ACL, ClientRequest, MultiOp, OpResult, Reply } from '@zabkit/core';
import { ConfigError } from './config-error.js';
import type { Logger } from './log.js';

/** The audit keys in `zoo.cfg`. */
export const AUDIT_KEYS: ReadonlySet<string> = new Set([
  'audit.enable',
  'audit.impl.class',
  'zabkit.audit.file',
]);

/** What `zoo.cfg` says about auditing. */
export interface AuditSettings {
  /** `audit.enable` (ZooKeeper's key; default false). */
  readonly enabled: boolean;
  /** `zabkit.audit.file`: where the lines go; undefined for the log stream. */
  readonly file: string | undefined;
}

/** Reads the audit keys. */
export function parseAuditSettings(
  get: (key: string) => string | undefined,
  warnings: string[],
): AuditSettings {
  const value = get('audit.enable');
  let enabled = false;
  if (value !== undefined) {
    const lower = value.trim().toLowerCase();
    if (lower !== 'true' && lower !== 'false')
      throw new ConfigError('audit.enable', value, 'expected true or false');
    enabled = lower === 'true';
  }
  const implementation = get('audit.impl.class');
  if (implementation !== undefined)
    throw new ConfigError(
      'audit.impl.class',
      implementation,
      'a Java audit logger cannot be loaded by zabkit; lines go to zabkit.audit.file or the log',
    );
  const file = get('zabkit.audit.file')?.trim();
  if (file === '') throw new ConfigError('zabkit.audit.file', file, 'expected a file path');
  if (file !== undefined && !enabled)
    warnings.push('zabkit.audit.file has no effect without audit.enable=true');
  return { enabled, file };
}

/** One audited event. */
export interface AuditEvent {
  readonly session?: string | undefined;
  readonly user?: string | undefined;
  readonly ip?: string | undefined;
  readonly operation: string;
  readonly znode?: string | undefined;
  readonly znodeType?: string | undefined;
  readonly acl?: string | undefined;
  readonly result: 'success' | 'failure' | 'invoked';
}

/** The line ZooKeeper's AuditEvent.toString gives. */
export function formatAuditEvent(event: AuditEvent): string {
  const fields: [string, string | undefined][] = [
    ['session', event.session],
    ['user', event.user],
    ['ip', event.ip],
    ['operation', event.operation],
    ['znode', event.znode],
    ['znode_type', event.znodeType],
    ['acl', event.acl],
  ];
  return [
    ...fields.filter(([, value]) => value !== undefined).map(([key, value]) => `${key}=${value}`),
    `result=${event.result}`,
  ].join('\t');
}

/** ZooKeeper's permission letters, in its order (ZKUtil.getPermString). */
function permString(perms: number): string {
  return ['c', 'd', 'r', 'w', 'a'].filter((_letter, i) => (perms & [4, 8, 1, 2, 16][i]!) !== 0).join('');
}

/** ZooKeeper's ZKUtil.aclToString: `scheme:id:perms` for each entry, with nothing between them. */
export function aclToString(acl: readonly ACL[]): string {
  return acl.map((entry) => `${entry.id.scheme}:${entry.id.id}:${permString(entry.perms)}`).join('');
}

/** CreateMode.toString().toLowerCase() in ZooKeeper, by the wire's create flag. */
const createModeNames = [
  'persistent',
  'ephemeral',
  'persistent_sequential',
  'ephemeral_sequential',
  'container',
  'persistent_with_ttl',
  'persistent_sequential_with_ttl',
];

/** Who asked: the connection's session, identities and address. */
export interface AuditContext {
  readonly sessionId: bigint | undefined;
  /** The user names of its identities, as AuthUtil.getUsers lists them. */
  readonly users: readonly string[];
  readonly ip: string;
}

/** Java's String.hashCode. */
function javaStringHash(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return hash;
}

/**
 * A connection's identities as ZooKeeper's audit lists them: its authInfo is a set backed by
 * a ConcurrentHashMap, so AuthUtil.getUsers walks them in that table's order (the bins of
 * jute's Id.hashCode, then insertion order), not in the order they were added. With a table
 * of 16 bins, as long as a connection has fewer than 12 identities.
 */
export class AuditIdentities {
  private readonly ids: { readonly scheme: string; readonly id: string }[] = [];

  /** Every connection starts with its address, as ZooKeeper's `ip` identity. */
  constructor(address: string) {
    this.add('ip', address);
  }

  /** A digest identity, from the `user:password` a client authenticated with. */
  addDigest(credentials: string): void {
    const user = credentials.slice(0, Math.max(0, credentials.indexOf(':')));
    const hash = createHash('sha1').update(credentials, 'utf8').digest('base64');
    this.add('digest', `${user}:${hash}`);
  }

  /**
   * An identity the connection's transport proved (sasl, x509). super has no provider, so
   * ZooKeeper names no user for it, and neither does this.
   */
  addVerified(scheme: string, id: string): void {
    if (scheme !== 'super') this.add(scheme, id);
  }

  private add(scheme: string, id: string): void {
    if (this.ids.some((known) => known.scheme === scheme && known.id === id)) return;
    this.ids.push({ scheme, id });
  }

  /** The user names, in ZooKeeper's order: for digest the part before the colon, else the id. */
  users(): string[] {
    const bins = this.ids.length < 12 ? 16 : 2 ** Math.ceil(Math.log2((this.ids.length + 1) / 0.75));
    const bin = (entry: { scheme: string; id: string }) => {
      let hash = 17;
      hash = (Math.imul(37, hash) + javaStringHash(entry.scheme)) | 0;
      hash = (Math.imul(37, hash) + javaStringHash(entry.id)) | 0;
      return (hash ^ (hash >>> 16)) & 0x7fffffff & (bins - 1);
    };
    return this.ids
      .map((entry, order) => ({ entry, order, bin: bin(entry) }))
      .sort((a, b) => a.bin - b.bin || a.order - b.order)
      .map(({ entry }) => (entry.scheme === 'digest' ? entry.id.slice(0, entry.id.indexOf(':')) : entry.id));
  }
}

const hexSession = (sessionId: bigint | undefined) =>
  sessionId === undefined ? undefined : `0x${BigInt.asUintN(64, sessionId).toString(16)}`;

/** Whether a request is one the audit log records. */
export function isAudited(request: ClientRequest): boolean {
  return (
    request.op === 'create' ||
    request.op === 'delete' ||
    request.op === 'setData' ||
    request.op === 'setACL' ||
    request.op === 'multi'
  );
}

/**
 * The events a write and its reply make, as ZooKeeper's AuditHelper makes them: one line per
 * operation; for a multi that succeeded, one per create, delete and setData in it; for one
 * that failed, a single multiOperation failure.
 */
export function auditEventsOf(request: ClientRequest, reply: Reply, context: AuditContext): AuditEvent[] {
  const base = {
    session: hexSession(context.sessionId),
    user: context.users.length === 0 ? undefined : context.users.join(','),
    ip: context.ip,
  };
  const result = reply.ok ? 'success' : 'failure';
  switch (request.op) {
    case 'create': {
      const created = reply.ok && reply.op === 'create' ? (reply.result as { path: string }).path : undefined;
      return [
        {
          ...base,
          operation: 'create',
          znode: created ?? request.path,
          znodeType: createModeNames[request.mode],
          result,
        },
      ];
    }
    case 'delete':
      return [{ ...base, operation: 'delete', znode: request.path, result }];
    case 'setData':
      return [{ ...base, operation: 'setData', znode: request.path, result }];
    case 'setACL':
      return [{ ...base, operation: 'setAcl', znode: request.path, acl: aclToString(request.acl), result }];
    case 'multi': {
      const results =
        reply.ok && reply.op === 'multi' ? (reply.result as { results: readonly OpResult[] }).results : [];
      const failed = !reply.ok || results.some((one) => one.op === 'error');
      if (failed) return [{ ...base, operation: 'multiOperation', result: 'failure' }];
      return request.ops.flatMap((op: MultiOp, i): AuditEvent[] => {
        const one = results[i];
        switch (op.op) {
          case 'create':
            return [
              {
                ...base,
                operation: 'create',
                znode: one?.op === 'create' ? one.path : op.path,
                znodeType: createModeNames[op.mode],
                result: 'success',
              },
            ];
          case 'delete':
            return [{ ...base, operation: 'delete', znode: op.path, result: 'success' }];
          case 'setData':
            return [{ ...base, operation: 'setData', znode: op.path, result: 'success' }];
          default:
            return [];
        }
      });
    }
    default:
      return [];
  }
}

/** log4j's %d{ISO8601}: `yyyy-MM-dd HH:mm:ss,SSS`, local time. */
function iso8601(date: Date): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())},${pad(date.getMilliseconds(), 3)}`
  );
}

/** Where audit lines go, once enabled. */
export class AuditLog {
  private fd: number | undefined;
  /** The OS user the server runs as: ZooKeeper's ZKAuditProvider.getZKUser. */
  readonly serverUser: string;

  private constructor(
    settings: AuditSettings,
    private readonly log: Logger,
  ) {
    this.serverUser = userInfo().username;
    if (settings.file !== undefined) {
      try {
        this.fd = openSync(settings.file, 'a');
      } catch (error) {
        throw new ConfigError(
          'zabkit.audit.file',
          settings.file,
          `cannot be opened: ${(error as Error).message}`,
        );
      }
    }
  }

  /** The audit log `settings` ask for, or undefined when auditing is off. */
  static open(settings: AuditSettings, log: Logger): AuditLog | undefined {
    return settings.enabled ? new AuditLog(settings, log) : undefined;
  }

  /**
   * Writes one event. To a file, synchronously: an audit line is written before the client
   * hears its answer, never dropped nor left in a buffer a crash would lose.
   */
  record(event: AuditEvent): void {
    const line = formatAuditEvent(event);
    if (this.fd !== undefined) {
      const level = event.result === 'failure' ? 'ERROR' : 'INFO';
      writeSync(this.fd, `${iso8601(new Date())} ${level} audit.Slf4jAuditLogger: ${line}\n`);
      return;
    }
    if (event.result === 'failure') this.log.warn({ audit: true }, line);
    else this.log.info({ audit: true }, line);
  }

  /** ZooKeeper's serverStart line. */
  started(): void {
    this.record({ user: this.serverUser, operation: 'serverStart', result: 'success' });
  }

  /** The ephemerals a closed or expired session lost, as every server applies it. */
  ephemeralsDeleted(sessionId: bigint, paths: readonly string[]): void {
    for (const path of paths) {
      this.record({
        session: hexSession(sessionId),
        user: this.serverUser,
        operation: 'ephemeralZNodeDeletionOnSessionCloseOrExpire',
        znode: path,
        result: 'success',
      });
    }
  }

  /** ZooKeeper's serverStop line, then the file is closed. */
  stopped(): void {
    this.record({ user: this.serverUser, operation: 'serverStop', result: 'invoked' });
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
