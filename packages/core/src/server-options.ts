/**
 * A server's settings, apart from its place in an ensemble (those are the peer options):
 * tick time, session bounds, data limits, znode types, container collection, the super
 * user, and the driver's randomness and clock reading at start. Every server of an ensemble,
 * a one-voter one (standalone) included, resolves them here once.
 */

import type { QuotaNotice } from './prep/preparer.js';
import type { EventTypeValue } from './watches/events.js';

/** A server's settings: tick time, session bounds, limits, secrets. */
export interface ServerOptions {
  /** The length of a tick: the unit of session expiry buckets. */
  readonly tickTimeMs?: number;
  /** Defaults to 2 ticks. */
  readonly minSessionTimeoutMs?: number;
  /** Defaults to 20 ticks. */
  readonly maxSessionTimeoutMs?: number;
  /** Largest znode data accepted; 1 MiB by default. */
  readonly dataSizeMaxBytes?: number;
  /** TTL nodes; on by default in zabkit (off by default in ZooKeeper). */
  readonly extendedTypesEnabled?: boolean;
  /** How often empty containers and expired TTL nodes are looked for. */
  readonly containerCheckIntervalMs?: number;
  /**
   * ZooKeeper's readonlymode.enabled: a member cut off from its quorum, once it has looked
   * for a leader for max(2 s, tickTime), serves reads to clients that allow read-only
   * connections (sessions of its own, not replicated) and refuses writes with NotReadOnly.
   */
  readonly readOnlyModeEnabled?: boolean;
  /** Whether hard quotas refuse writes with QuotaExceeded (ZooKeeper's zookeeper.enforceQuota; off by default). */
  readonly enforceQuota?: boolean;
  /**
   * Told when a write passes a quota's limit (soft or hard, enforced or not), and when a
   * quota's stats node did not parse and was counted again: the driver logs these.
   */
  readonly onQuotaNotice?: (notice: QuotaNotice | { readonly recounted: string }) => void;
  /**
   * Told of each watch trigger that matched watchers: the event type and how many watchers it
   * matched (ZooKeeper's node_*_watch_count). An observer: the peer does not depend on it.
   */
  readonly onWatchesTriggered?: (type: EventTypeValue, watchers: number) => void;
  /** `user:base64(sha1(user:password))` of the super user, if any. */
  readonly superDigest?: string;
  /**
   * `enforce.auth.schemes` when `enforce.auth.enabled`: a connection that holds no identity of
   * one of these schemes has every request but auth refused (SessionClosedRequireSaslAuth) and
   * is closed, as ZooKeeper's AuthenticationHelper does. Empty (the default): nothing enforced.
   */
  readonly enforceAuthSchemes?: readonly string[];
  /** Secret bytes that session passwords derive from: the driver's randomness. */
  readonly sessionSecret: Uint8Array;
  /** The clock when the server starts; session ids and the first tick derive from it. */
  readonly startTimeMs: number;
}

/** Server options with every default filled in. */
export type ResolvedServerOptions = Required<
  Omit<ServerOptions, 'superDigest' | 'onQuotaNotice' | 'onWatchesTriggered'>
> & {
  readonly superDigest: string | undefined;
  readonly onQuotaNotice: ServerOptions['onQuotaNotice'];
  readonly onWatchesTriggered: ServerOptions['onWatchesTriggered'];
};

/** Fills in defaults and checks the options; throws RangeError naming what is wrong. */
export function resolveServerOptions(options: ServerOptions): ResolvedServerOptions {
  const tickTimeMs = options.tickTimeMs ?? 2000;
  const resolved = {
    tickTimeMs,
    minSessionTimeoutMs: options.minSessionTimeoutMs ?? 2 * tickTimeMs,
    maxSessionTimeoutMs: options.maxSessionTimeoutMs ?? 20 * tickTimeMs,
    dataSizeMaxBytes: options.dataSizeMaxBytes ?? 1024 * 1024,
    extendedTypesEnabled: options.extendedTypesEnabled ?? true,
    containerCheckIntervalMs: options.containerCheckIntervalMs ?? 60_000,
    enforceQuota: options.enforceQuota ?? false,
    readOnlyModeEnabled: options.readOnlyModeEnabled ?? false,
    onQuotaNotice: options.onQuotaNotice,
    onWatchesTriggered: options.onWatchesTriggered,
    superDigest: options.superDigest,
    enforceAuthSchemes: options.enforceAuthSchemes ?? [],
    sessionSecret: options.sessionSecret,
    startTimeMs: options.startTimeMs,
  };
  const problems: string[] = [];
  if (!(tickTimeMs > 0)) problems.push('tickTimeMs must be positive');
  if (!(resolved.minSessionTimeoutMs > 0)) problems.push('minSessionTimeoutMs must be positive');
  if (resolved.maxSessionTimeoutMs < resolved.minSessionTimeoutMs) {
    problems.push('maxSessionTimeoutMs must not be below minSessionTimeoutMs');
  }
  if (!(resolved.dataSizeMaxBytes >= 0)) problems.push('dataSizeMaxBytes must not be negative');
  if (!(resolved.containerCheckIntervalMs > 0)) problems.push('containerCheckIntervalMs must be positive');
  if (resolved.sessionSecret.length === 0) problems.push('sessionSecret must not be empty');
  if (problems.length > 0) throw new RangeError(`invalid server options: ${problems.join('; ')}`);
  return resolved;
}
