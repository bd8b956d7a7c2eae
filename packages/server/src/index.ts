/**
 * @zabkit/server: the runtime that drives zabkit's pure core with real timers, storage and
 * transports; the embeddable in-process ensemble; and the ZooKeeper-compatible server that
 * the `zabkit` command runs.
 *
 * @packageDocumentation
 */
export { AdminServerStartError } from './admin/server.js';
export { type ClientPortLimits, defaultClientPortLimits, outstandingShare } from './client-limits.js';
export {
  type ClientPortOptions,
  ClientPortServer,
  type ClientPortStats,
  type ConnectionInfo,
  type RequestServedListener,
} from './client-port.js';
export type { ClientPortSettings } from './client-port-config.js';
export {
  ConfigError,
  type ConfigInput,
  FOUR_LETTER_WORDS,
  loadConfigFile,
  type MemberRole,
  type ParseConfigOptions,
  type ParsedConfig,
  parseConfig,
  readMyId,
  resolveConfig,
  type ServerAddress,
  type ZabkitConfig,
} from './config.js';
export {
  backupStaticConfig,
  type DynamicConfig,
  dynamicConfigFileName,
  dynamicConfigOf,
  formatDynamicConfig,
  formatServerLine,
  keepActivatedConfig,
  nextDynamicConfigSuffix,
  type ParseDynamicConfigOptions,
  parseDynamicConfig,
  readDynamicConfigFile,
  rewriteStaticConfig,
  versionFromFileName,
  type WrittenDynamicConfig,
  writeDynamicConfigFiles,
  writeNextDynamicConfig,
} from './dynamic-config.js';
export {
  ChangesOverflowError,
  type ClosedChange,
  type Departure,
  type FatalChange,
  type JoinChange,
  type LeaderChange,
  type MembershipChange,
  type PeerChange,
  type PeerChangeEvents,
  type RoleChange,
  type SyncChange,
} from './embed/events.js';
export type { JoinOptions } from './embed/join.js';
export type {
  AddServerOptions,
  MembershipChangeOptions,
  MembershipView,
} from './embed/membership.js';
export type { PeerMetricsAttach, PeerMetricsAttachment, PeerMetricsSource } from './embed/metrics.js';
export {
  type ClientPortOption,
  configFromOptions,
  type PeerMember,
  type StartPeerOptions,
} from './embed/options.js';
export {
  type CloseOptions,
  EmbeddedPeer,
  type PeerClientOptions,
  type ReadyOptions,
  startPeer,
} from './embed/peer.js';
export type { EmbeddedPeerRole, PeerHealth, SyncState } from './embed/status.js';
export {
  LeadershipTransferError,
  type TransferLeadershipOptions,
  type TransferLeadershipResult,
} from './embed/transfer.js';
export { type Ensemble, type EnsembleOptions, startEnsemble } from './ensemble.js';
export { type FatalListener, PeerFatalError, type PeerFatalReason } from './fatal.js';
export { answerFourLetterWord, type FourLetterWordContext } from './four-letter-words.js';
export { LocalServer, type LocalServerOptions } from './local-server.js';
export { jsonLogger, type Logger, type LogLevel, silentLogger } from './log.js';
export type { MetricsSettings } from './metrics/config.js';
export {
  attachMetrics,
  type MetricsOptions,
  type MetricsSource,
  type MonitorValue,
  type ReplicaListener,
  ServerMetrics,
} from './metrics/registry.js';
export { isUnmeasuredKey, unmeasuredMetrics } from './metrics/zookeeper-metrics.js';
export { ServerNode, type ServerNodeOptions, zabkitVersion } from './node.js';
export { carryOut, PeerDriver, type PeerDriverObserver, type PeerDriverOptions } from './peer-driver.js';
export type { QuorumSecuritySettings } from './quorum-security-config.js';
export { runShell, type ShellIo } from './shell/index.js';
export type { AdminServerSettings, SystemProperties } from './system-properties.js';
export type { StoreSettings, StoreType, TlsSettings, TlsVersion } from './tls-settings.js';
