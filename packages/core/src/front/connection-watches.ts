/**
 * The watches of the front's connections: registering what reads and watch requests leave,
 * re-registering a reconnecting client's watches, and firing what an applied transaction
 * triggers, each event filtered by its watcher's READ permission as ZooKeeper filters it.
 * The tables themselves, and ZooKeeper's rules for which registration sees which event, are
 * the WatchManager's.
 */
import { type ACL, checkAcl, type Id, Perms } from '../acl.js';
import { assertNever, ErrorCode } from '../errors.js';
import type { Reply, SetWatchesRequest, WatchRequest } from '../requests.js';
import type { DataTree, TreeChange } from '../tree/data-tree.js';
import { AddWatchMode, EventType, type EventTypeValue } from '../watches/events.js';
import { type Delivery, WatchManager } from '../watches/watch-manager.js';
import type { Zxid } from '../zxid.js';
import type { ClientOutput, ConnectionId } from './client-io.js';
import type { WatchTable } from './reads.js';

/** The identities of an attached connection, undefined once it is gone. */
export type AuthInfoOf = (connectionId: ConnectionId) => readonly Id[] | undefined;

/** Watch registration and delivery for every connection of one front. */
export class ConnectionWatches {
  private readonly manager = new WatchManager();

  constructor(
    /** Where fired events go: the front's outputs, in order with its replies. */
    private readonly emit: (output: ClientOutput) => void,
    private readonly authInfoOf: AuthInfoOf,
  ) {}

  /** Told of each trigger that matched watchers, and how many (see WatchManager.onTriggered). */
  set onTriggered(listener: ((type: EventTypeValue, watchers: number) => void) | undefined) {
    this.manager.onTriggered = listener;
  }

  /** How many watchers, watched paths and watches there are (mntr's and wchs's figures). */
  counts(): { watchers: number; paths: number; watches: number } {
    return this.manager.counts();
  }

  /** mntr's watch_count: registrations in the data and child tables together. */
  watchCount(): number {
    return this.manager.watchCount();
  }

  /** The data watches' paths by connection, sorted (wchc, wchp). */
  dataWatchesByConnection(): Map<ConnectionId, string[]> {
    return this.manager.dataWatchesByWatcher();
  }

  /** Registers a one-shot watch a read left for `connectionId` at `path`. */
  add(connectionId: ConnectionId, table: WatchTable, path: string): void {
    if (table === 'data') this.manager.addDataWatch(path, connectionId);
    else this.manager.addChildWatch(path, connectionId);
  }

  /** Forgets every watch of a connection that closed. */
  forget(connectionId: ConnectionId): void {
    this.manager.removeWatcher(connectionId);
  }

  /**
   * Answers addWatch, removeWatches, checkWatches and setWatches for `connectionId`. No path
   * check, as in ZooKeeper: a watch on a malformed path is registered and never fires;
   * removing one where none was registered is NoWatcher.
   */
  serve(tree: DataTree, connectionId: ConnectionId, request: WatchRequest): Reply {
    switch (request.op) {
      case 'setWatches':
        this.setWatches(tree, connectionId, request);
        return { ok: true, op: 'setWatches', result: {} };
      case 'addWatch':
        if (request.mode !== AddWatchMode.Persistent && request.mode !== AddWatchMode.PersistentRecursive) {
          return { ok: false, op: 'addWatch', code: ErrorCode.BadArguments, path: request.path };
        }
        this.manager.addPersistentWatch(
          request.path,
          connectionId,
          request.mode === AddWatchMode.PersistentRecursive,
        );
        return { ok: true, op: 'addWatch', result: {} };
      case 'removeWatches':
        if (!isWatcherType(request.watcherType)) {
          return { ok: false, op: 'removeWatches', code: ErrorCode.BadArguments, path: request.path };
        }
        if (this.manager.removeWatches(request.path, request.watcherType, connectionId)) {
          return { ok: true, op: 'removeWatches', result: {} };
        }
        return { ok: false, op: 'removeWatches', code: ErrorCode.NoWatcher, path: request.path };
      case 'checkWatches':
        if (!isWatcherType(request.watcherType)) {
          return { ok: false, op: 'checkWatches', code: ErrorCode.BadArguments, path: request.path };
        }
        if (this.manager.containsWatcher(request.path, request.watcherType, connectionId)) {
          return { ok: true, op: 'checkWatches', result: {} };
        }
        return { ok: false, op: 'checkWatches', code: ErrorCode.NoWatcher, path: request.path };
      default:
        return assertNever(request, 'watch request');
    }
  }

  /** Fires the watches one change of an applied transaction triggers, for the watchers allowed to see it. */
  fire(change: TreeChange, zxid: Zxid): void {
    let deliveries: readonly Delivery[];
    switch (change.kind) {
      case 'created':
        deliveries = this.manager.nodeCreated(change.path);
        break;
      case 'deleted':
        deliveries = this.manager.nodeDeleted(change.path);
        break;
      case 'dataChanged':
        deliveries = this.manager.nodeDataChanged(change.path);
        break;
      default:
        assertNever(change, 'tree change');
    }
    for (const delivery of deliveries) {
      const authInfo = this.authInfoOf(delivery.watcher);
      if (authInfo === undefined) continue;
      // ZooKeeper filters every event by the watcher's READ permission on the node.
      if (!checkAcl(aclForEvent(change, delivery.event.type), Perms.Read, authInfo)) continue;
      this.emit({ kind: 'watch', connectionId: delivery.watcher, zxid, event: delivery.event });
    }
  }

  /**
   * Re-registers a reconnecting client's watches. A watch whose condition already changed
   * since `relativeZxid` fires at once instead (with zxid -1, as ZooKeeper sends it).
   */
  private setWatches(tree: DataTree, connectionId: ConnectionId, request: SetWatchesRequest): void {
    const fire = (type: EventTypeValue, path: string) =>
      this.emit({ kind: 'watch', connectionId, zxid: -1n, event: { type, path } });
    for (const path of request.dataWatches) {
      const node = tree.getNode(path);
      if (node === undefined) fire(EventType.NodeDeleted, path);
      else if (node.mzxid > request.relativeZxid) fire(EventType.NodeDataChanged, path);
      else this.manager.addDataWatch(path, connectionId);
    }
    for (const path of request.existWatches) {
      if (tree.getNode(path) !== undefined) fire(EventType.NodeCreated, path);
      else this.manager.addDataWatch(path, connectionId);
    }
    for (const path of request.childWatches) {
      const node = tree.getNode(path);
      if (node === undefined) fire(EventType.NodeDeleted, path);
      else if (node.pzxid > request.relativeZxid) fire(EventType.NodeChildrenChanged, path);
      else this.manager.addChildWatch(path, connectionId);
    }
    for (const path of request.persistentWatches) this.manager.addPersistentWatch(path, connectionId, false);
    for (const path of request.persistentRecursiveWatches) {
      this.manager.addPersistentWatch(path, connectionId, true);
    }
  }
}

/** Watcher types come off the wire as numbers: only ZooKeeper's five are accepted. */
function isWatcherType(type: number): boolean {
  return Number.isInteger(type) && type >= 1 && type <= 5;
}

/** The ACL a watcher needs READ on to see an event: the parent's for a child change. */
function aclForEvent(change: TreeChange, type: EventTypeValue): readonly ACL[] {
  if (type === EventType.NodeChildrenChanged && change.kind !== 'dataChanged') return change.parentAcl;
  return change.acl;
}
