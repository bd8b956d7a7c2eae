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
