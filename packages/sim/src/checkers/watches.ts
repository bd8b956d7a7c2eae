/**
 * Watches: a one-shot data watch set by a read that saw the state at zxid r fires exactly
 * once, for the first committed change of its node after r, with that change's zxid and
 * type, and before any reply on the same connection that shows state at or past the change.
 * Checked per connection, from what the connection received in order; a watch on a
 * connection that closed is no longer owed.
 */
import { EventType, type Txn } from '@zabkit/core';
import type { ConnectionEntry } from '../clients.js';
import type { Violation } from '../world.js';

interface Change {
  readonly zxid: bigint;
  readonly type: number;
}

interface PathChange extends Change {
  readonly path: string;
}

/** Every event a persistent recursive watch on '/' must see, in commit order. */
function allChanges(committed: readonly Txn[]): PathChange[] {
  const changes: PathChange[] = [];
  const add = (part: Txn['body'], zxid: bigint) => {
    if (part.kind === 'create') changes.push({ path: part.path, zxid, type: EventType.NodeCreated });
    else if (part.kind === 'delete') changes.push({ path: part.path, zxid, type: EventType.NodeDeleted });
    else if (part.kind === 'setData')
      changes.push({ path: part.path, zxid, type: EventType.NodeDataChanged });
    else if (part.kind === 'closeSession') {
      for (const path of part.ephemeralPaths) changes.push({ path, zxid, type: EventType.NodeDeleted });
    } else if (part.kind === 'multi') for (const inner of part.parts) add(inner, zxid);
    // A reconfig changes /zookeeper/config's data, as ZooKeeper's setData of it does.
    else if (part.kind === 'reconfig')
      changes.push({ path: '/zookeeper/config', zxid, type: EventType.NodeDataChanged });
  };
  for (const txn of committed) add(txn.body, txn.zxid);
  return changes;
}

/** Per path, the committed changes a data watch would fire on, in order. */
function changesByPath(committed: readonly Txn[]): Map<string, Change[]> {
  const changes = new Map<string, Change[]>();
  const add = (path: string, zxid: bigint, type: number) => {
    let list = changes.get(path);
    if (list === undefined) changes.set(path, (list = []));
    list.push({ zxid, type });
  };
  for (const txn of committed) {
    const body = txn.body;
    if (body.kind === 'setData') add(body.path, txn.zxid, EventType.NodeDataChanged);
    else if (body.kind === 'reconfig') add('/zookeeper/config', txn.zxid, EventType.NodeDataChanged);
    else if (body.kind === 'delete') add(body.path, txn.zxid, EventType.NodeDeleted);
    else if (body.kind === 'closeSession')
      for (const path of body.ephemeralPaths) add(path, txn.zxid, EventType.NodeDeleted);
    else if (body.kind === 'multi') {
      for (const part of body.parts) {
        if (part.kind === 'setData') add(part.path, txn.zxid, EventType.NodeDataChanged);
        if (part.kind === 'delete') add(part.path, txn.zxid, EventType.NodeDeleted);
      }
    }
  }
  return changes;
}

function firstAfter(changes: readonly Change[] | undefined, zxid: bigint): Change | undefined {
  return changes?.find((change) => change.zxid > zxid);
}

export function checkWatches(
  connections: ReadonlyMap<number, readonly ConnectionEntry[]>,
  committed: readonly Txn[],
): Violation[] {
  const changes = changesByPath(committed);
  const everything = allChanges(committed);
  const violations: Violation[] = [];
  for (const [connection, entries] of connections) {
    if (entries.some((entry) => entry.kind === 'persistent')) {
      violations.push(...checkPersistent(connection, entries, everything));
      continue;
    }
    /** Armed watches: path -> the change that must fire them (undefined: none committed yet). */
    const armed = new Map<string, Change | undefined>();
    for (const entry of entries) {
      if (entry.kind === 'register') {
        if (!armed.has(entry.path)) armed.set(entry.path, firstAfter(changes.get(entry.path), entry.zxid));
        continue;
      }
      if (entry.kind === 'event') {
        if (!armed.has(entry.path)) {
          violations.push({
            check: 'watches',
            message: `connection ${connection} got an event for ${entry.path} with no watch set`,
          });
          continue;
        }
        const expected = armed.get(entry.path);
        armed.delete(entry.path);
        if (expected === undefined || expected.zxid !== entry.zxid || expected.type !== entry.type) {
          violations.push({
            check: 'watches',
            message: `connection ${connection}: ${entry.path} fired type ${entry.type} at ${entry.zxid.toString(16)}, expected ${expected === undefined ? 'nothing' : `type ${expected.type} at ${expected.zxid.toString(16)}`}`,
          });
        }
        continue;
      }
      for (const [path, expected] of armed) {
        if (expected !== undefined && expected.zxid <= entry.zxid) {
          violations.push({
            check: 'watches',
            message: `connection ${connection} got a reply at ${entry.zxid.toString(16)} before the event for ${path} at ${expected.zxid.toString(16)}`,
          });
          armed.delete(path);
        }
      }
    }
  }
  return violations;
}

/**
 * A persistent recursive watch on '/' sees every change committed after it took effect, in
 * commit order, each before any reply that shows a later state, for as long as its
 * connection lives.
 */
function checkPersistent(
  connection: number,
  entries: readonly ConnectionEntry[],
  everything: readonly PathChange[],
): Violation[] {
  let next = -1;
  for (const entry of entries) {
    if (entry.kind === 'persistent') {
      next = everything.findIndex((change) => change.zxid > entry.zxid);
      if (next < 0) next = everything.length;
      continue;
    }
    if (next < 0) continue;
    if (entry.kind === 'event') {
      const expected = everything[next];
      if (
        expected === undefined ||
        expected.path !== entry.path ||
        expected.type !== entry.type ||
        expected.zxid !== entry.zxid
      ) {
        const want =
          expected === undefined
            ? 'nothing'
            : `${expected.type} ${expected.path} at ${expected.zxid.toString(16)}`;
        return [
          {
            check: 'watches',
            message: `persistent watch on connection ${connection} got ${entry.type} ${entry.path} at ${entry.zxid.toString(16)}, expected ${want}`,
          },
        ];
      }
      next++;
    } else if (entry.kind === 'reply') {
      const expected = everything[next];
      if (expected !== undefined && expected.zxid <= entry.zxid) {
        return [
          {
            check: 'watches',
            message: `persistent watch on connection ${connection} missed ${expected.type} ${expected.path} at ${expected.zxid.toString(16)} before a reply at ${entry.zxid.toString(16)}`,
          },
        ];
      }
    }
  }
  return [];
}
