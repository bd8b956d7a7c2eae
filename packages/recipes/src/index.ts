/**
 * @zabkit/recipes: what applications build on ZooKeeper, in the manner of Apache Curator,
 * on zabkit's public client API: against an embedded zabkit, a zabkit server over TCP, or
 * Apache ZooKeeper.
 *
 * @packageDocumentation
 */
export {
  type CachedNode,
  type CacheEvents,
  ChildrenCache,
  NodeCache,
  TreeCache,
  type TreeCacheOptions,
} from './cache/tree-cache.js';
export { Barrier, DoubleBarrier, type WaitOptions } from './coordination/barrier.js';
export { SharedCounter, type VersionedValue } from './coordination/counter.js';
export {
  DistributedPriorityQueue,
  DistributedQueue,
  OutcomeUnknownError,
  type TakeOptions,
} from './coordination/queue.js';
export { GroupMember } from './discovery/group-member.js';
export { ServiceDiscovery, type ServiceInstance, ServiceProvider } from './discovery/service-discovery.js';
export { LeaderLatch, type LeaderLatchEvents } from './leader/leader-latch.js';
export { LeaderSelector, type LeaderSelectorListener } from './leader/leader-selector.js';
export { LockInternals, type LockRule } from './locks/lock-internals.js';
export { type AcquireOptions, Mutex } from './locks/mutex.js';
export { ReadWriteLock, ReadWriteLockSide } from './locks/read-write-lock.js';
export { type Lease, Semaphore } from './locks/semaphore.js';
