/**
 * `metricsProvider.*` in zoo.cfg, as ZooKeeper reads them: `className` picks the provider (none
 * by default), and ZooKeeper's Prometheus provider takes `httpHost`, `httpPort` (7000) and
 * `exportJvmInfo` (true), which here exports Node's process metrics instead of the JVM's.
 *
 * @module
 */

/** ZooKeeper's Prometheus provider: the one `metricsProvider.className` zabkit serves. */
export const prometheusProviderClass = 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider';

/** ZooKeeper's default provider, which exports nothing. */
const nullProviderClass = 'org.apache.zookeeper.metrics.impl.NullMetricsProvider';

/** The Prometheus endpoint's settings, when `metricsProvider.className` asks for it. */
export interface MetricsSettings {
  /** `metricsProvider.httpHost`; default 0.0.0.0. */
  readonly host: string;
  /** `metricsProvider.httpPort`; default 7000 (0 picks a free port). */
  readonly port: number;
  /** `metricsProvider.exportJvmInfo`: Node's process metrics; default true. */
  readonly exportProcessMetrics: boolean;
}

/** The keys this module reads. */
export const METRICS_KEYS: ReadonlySet<string> = new Set([
  'metricsProvider.className',
  'metricsProvider.httpHost',
  'metricsProvider.httpPort',
  'metricsProvider.exportJvmInfo',
  'metricsProvider.numWorkerThreads',
  'metricsProvider.maxQueueSize',
  'metricsProvider.workerShutdownTimeoutMs',
]);

/** How config.ts hands values over, and the error it throws (its ConfigError). */
export interface MetricsSettingsSource {
  get(key: string): string | undefined;
  error(key: string, value: string | undefined, expected: string): Error;
}

/**
 * Reads `metricsProvider.*`: undefined when no provider (or ZooKeeper's null provider) is named.
 *
 * @throws the source's error for another provider class or a bad value
 */
export function parseMetricsSettings(
  source: MetricsSettingsSource,
  warnings: string[],
): MetricsSettings | undefined {
  const className = source.get('metricsProvider.className')?.trim();
  const others = [...METRICS_KEYS].filter(
    (key) => key !== 'metricsProvider.className' && source.get(key) !== undefined,
  );
  if (className === undefined || className === nullProviderClass) {
    if (others.length > 0) warnings.push(`${others.join(', ')}: no effect without metricsProvider.className`);
    return undefined;
  }
  if (className !== prometheusProviderClass)
    throw source.error(
      'metricsProvider.className',
      className,
      `zabkit provides only ${prometheusProviderClass}`,
    );
  const port = source.get('metricsProvider.httpPort')?.trim() ?? '7000';
  if (!/^\d+$/.test(port) || Number(port) > 65535)
    throw source.error('metricsProvider.httpPort', port, 'expected a port 0..65535');
  const exportJvmInfo = source.get('metricsProvider.exportJvmInfo')?.trim().toLowerCase() ?? 'true';
  if (exportJvmInfo !== 'true' && exportJvmInfo !== 'false')
    throw source.error('metricsProvider.exportJvmInfo', exportJvmInfo, 'expected true or false');
  for (const key of ['numWorkerThreads', 'maxQueueSize', 'workerShutdownTimeoutMs']) {
    if (source.get(`metricsProvider.${key}`) !== undefined)
      warnings.push(`metricsProvider.${key} has no effect: zabkit records summaries on its own thread`);
  }
  return {
    host: source.get('metricsProvider.httpHost')?.trim() ?? '0.0.0.0',
    port: Number(port),
    exportProcessMetrics: exportJvmInfo === 'true',
  };
}

/**
 * ZooKeeper's JVM pause monitor (`jvm.pause.*`), off by default as there: a timer that sleeps
 * `sleepTimeMs` and reports how much longer the sleep took (jvm_pause_time_ms), logging a
 * pause past `infoThresholdMs` at info and one past `warnThresholdMs` at warn.
 */
export interface PauseMonitorSettings {
  /** `jvm.pause.sleep.time.ms`; default 500. */
  readonly sleepTimeMs: number;
  /** `jvm.pause.info-threshold.ms`; default 1000. */
  readonly infoThresholdMs: number;
  /** `jvm.pause.warn-threshold.ms`; default 10000. */
  readonly warnThresholdMs: number;
}

/** The keys of ZooKeeper's pause monitor. */
export const PAUSE_MONITOR_KEYS: ReadonlySet<string> = new Set([
  'jvm.pause.monitor',
  'jvm.pause.sleep.time.ms',
  'jvm.pause.info-threshold.ms',
  'jvm.pause.warn-threshold.ms',
]);

/** Longest sleep or threshold taken, in ms (a day): a timer cannot wait longer than 2^31 - 1 ms. */
const pauseSettingMaxMs = 86_400_000;

/**
 * Reads `jvm.pause.*`: undefined unless `jvm.pause.monitor=true`.
 *
 * @throws the source's error for a value that is not true/false or a whole number of ms in range
 */
export function parsePauseMonitorSettings(
  source: MetricsSettingsSource,
  warnings: string[],
): PauseMonitorSettings | undefined {
  const enabled = source.get('jvm.pause.monitor')?.trim().toLowerCase() ?? 'false';
  if (enabled !== 'true' && enabled !== 'false')
    throw source.error('jvm.pause.monitor', enabled, 'expected true or false');
  const ms = (key: string, fallback: number, min: number) => {
    const value = source.get(key)?.trim();
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > pauseSettingMaxMs)
      throw source.error(key, value, `expected a number of ms ${min}..${pauseSettingMaxMs}`);
    return Number(value);
  };
  const settings = {
    sleepTimeMs: ms('jvm.pause.sleep.time.ms', 500, 1),
    infoThresholdMs: ms('jvm.pause.info-threshold.ms', 1000, 0),
    warnThresholdMs: ms('jvm.pause.warn-threshold.ms', 10_000, 0),
  };
  if (enabled === 'true') return settings;
  const others = [...PAUSE_MONITOR_KEYS].filter(
    (key) => key !== 'jvm.pause.monitor' && source.get(key) !== undefined,
  );
  if (others.length > 0) warnings.push(`${others.join(', ')}: no effect without jvm.pause.monitor=true`);
  return undefined;
}
