/**
 * The vocabulary of ZooKeeper watches, with the numbers the wire protocol carries: event
 * types, connection (keeper) states, the watcher types removeWatches and checkWatches name,
 * and the modes addWatch accepts.
 */

/** What happened to a watched znode. None is for connection-state notifications. */
export const EventType = {
  None: -1,
  NodeCreated: 1,
  NodeDeleted: 2,
  NodeDataChanged: 3,
  NodeChildrenChanged: 4,
  DataWatchRemoved: 5,
  ChildWatchRemoved: 6,
  PersistentWatchRemoved: 7,
} as const;
/** A watch event type as the wire carries it. */
export type EventTypeValue = (typeof EventType)[keyof typeof EventType];

/** The state of a client's connection, as carried in every watch notification. */
export const KeeperState = {
  Unknown: -1,
  Disconnected: 0,
  SyncConnected: 3,
  AuthFailed: 4,
  ConnectedReadOnly: 5,
  SaslAuthenticated: 6,
  Expired: -112,
  Closed: 7,
} as const;
/** A connection state as the wire carries it. */
export type KeeperStateValue = (typeof KeeperState)[keyof typeof KeeperState];

/** Which registrations removeWatches and checkWatches address. */
export const WatcherType = { Children: 1, Data: 2, Any: 3, Persistent: 4, PersistentRecursive: 5 } as const;
/** A watcher type as the wire carries it. */
export type WatcherTypeValue = (typeof WatcherType)[keyof typeof WatcherType];

/** The two kinds of watch addWatch can set; neither is consumed by firing. */
export const AddWatchMode = { Persistent: 0, PersistentRecursive: 1 } as const;
/** An addWatch mode as the wire carries it. */
export type AddWatchModeValue = (typeof AddWatchMode)[keyof typeof AddWatchMode];

/** A watch event as a server emits it. */
export interface WatchEvent {
  readonly type: EventTypeValue;
  readonly path: string;
}
