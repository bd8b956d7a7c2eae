/** Friendly names for ZooKeeper's create modes and watcher types, mapped to wire numbers. */
import { CreateMode, type CreateModeValue, WatcherType, type WatcherTypeValue } from '@zabkit/core';

/** ZooKeeper's create modes by name, as `create` takes them. */
export type CreateModeName =
  | 'persistent'
  | 'ephemeral'
  | 'persistentSequential'
  | 'ephemeralSequential'
  | 'container'
  | 'persistentWithTtl'
  | 'persistentSequentialWithTtl';

const modeNumbers: Record<CreateModeName, CreateModeValue> = {
  persistent: CreateMode.Persistent,
  ephemeral: CreateMode.Ephemeral,
  persistentSequential: CreateMode.PersistentSequential,
  ephemeralSequential: CreateMode.EphemeralSequential,
  container: CreateMode.Container,
  persistentWithTtl: CreateMode.PersistentWithTtl,
  persistentSequentialWithTtl: CreateMode.PersistentSequentialWithTtl,
};

export function createModeNumber(mode: CreateModeName | CreateModeValue): CreateModeValue {
  return typeof mode === 'number' ? mode : (modeNumbers[mode] ?? (-1 as CreateModeValue));
}

/** Which watches removeWatches and checkWatches address. */
export type WatcherTypeName = 'children' | 'data' | 'any' | 'persistent' | 'persistentRecursive';

const watcherTypeNumbers: Record<WatcherTypeName, WatcherTypeValue> = {
  children: WatcherType.Children,
  data: WatcherType.Data,
  any: WatcherType.Any,
  persistent: WatcherType.Persistent,
  persistentRecursive: WatcherType.PersistentRecursive,
};

export function watcherTypeNumber(type: WatcherTypeName): WatcherTypeValue {
  return watcherTypeNumbers[type];
}
