/**
 * @zabkit/recipes: what applications build on ZooKeeper, in the manner of Apache Curator,
 * on zabkit's public client API: against an embedded zabkit, a zabkit server over TCP, or
 * Apache ZooKeeper.
 *
 * @packageDocumentation
 */
export { Barrier } from './barrier.js';
export { ChildrenCache, type ChildrenCacheEvents } from './children-cache.js';
export { SharedCounter, type SharedCounterEvents, type VersionedValue } from './counter.js';
export { DoubleBarrier, type DoubleBarrierOptions } from './double-barrier.js';
export { GroupMember, type GroupMemberEvents, type GroupMemberOptions } from './group-member.js';
export type { CachedNode, CacheOptions, CacheWatchMode } from './internal/cache-engine.js';
export { type EventMap, TypedEmitter } from './internal/util-emitter.js';
export type { SessionFactory } from './internal/util-session.js';
export type { WaitOptions } from './internal/util-zk.js';
export { LeaderLatch, type LeaderLatchEvents } from './leader-latch.js';
export {
  LeaderSelector,
  type LeaderSelectorListener,
  type LeaderSelectorOptions,
} from './leader-selector.js';
export {
  type AcquireOptions,
  type Lock,
  type LockEvents,
  type LockHold,
  LockLostError,
  LockTimeoutError,
  Mutex,
} from './lock.js';
export { NodeCache, type NodeCacheEvents } from './node-cache.js';
export { DistributedPriorityQueue } from './priority-queue.js';
export { DistributedQueue, OutcomeUnknownError, type TakeOptions } from './queue.js';
export { ReadWriteLock } from './read-write-lock.js';
export { type Lease, Semaphore, type SemaphoreAcquireOptions } from './semaphore.js';
export {
  type ProviderStrategy,
  ServiceCache,
  type ServiceCacheEvents,
  ServiceDiscovery,
  type ServiceDiscoveryEvents,
  type ServiceDiscoveryOptions,
  type ServiceInstance,
  ServiceProvider,
  type ServiceProviderOptions,
} from './service-discovery.js';
export { TreeCache, type TreeCacheEvents, type TreeCacheOptions } from './tree-cache.js';
