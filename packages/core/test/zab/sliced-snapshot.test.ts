/**
 * Snapshots read a slice at a time while an ensemble goes on writing: each replica's stored
 * snapshot is its tree at the snapshot's zxid, whatever was created, changed, deleted or
 * expired with a closed session while the store was still reading it.
 */
import { describe, expect, it } from 'vitest';
import {
  CreateMode,
  DataTree,
  type ServerId,
  type SnapshotNode,
  SnapshotStream,
  type TreeSnapshot,
  type Txn,
} from '../../src/index.js';
import { create, del, setData } from '../requests-helpers.js';
import { Cluster } from './cluster.js';

describe('snapshots read in slices by a slow store', () => {
  it('hold each replica’s tree at their zxid while the writes go on', () => {
    /** Each replica's digest after each transaction it applied. */
    const digests = new Map<string, string>();
    let cluster: Cluster | undefined;
    cluster = new Cluster({
      voters: 3,
      peer: { snapCount: 6 },
      observer: {
        applied: (id: ServerId, txn: Txn) => {
          const snapshot = cluster!.nodes.get(id)!.peer!.treeSnapshot();
          digests.set(`${id}@${txn.zxid}`, DataTree.fromSnapshot(snapshot).digest());
        },
      },
    });
    cluster.stabilize();
    // Every replica's store keeps the streams it is given and reads them only when told.
    const streams: { id: ServerId; stream: SnapshotStream; nodes: SnapshotNode[] }[] = [];
    for (const id of [1, 2, 3]) {
      const image = cluster.nodes.get(id)!.durable;
      const save = image.saveSnapshot.bind(image);
      image.saveSnapshot = (snapshot: TreeSnapshot) => {
        if (snapshot instanceof SnapshotStream) streams.push({ id, stream: snapshot, nodes: [] });
        else save(snapshot);
      };
    }
    const readSome = () => {
      for (const entry of streams)
        for (const node of entry.stream.take(2, 1 << 20) ?? []) entry.nodes.push(node);
    };
    const leader = cluster.leader()!;
    const writer = cluster.connect(leader);
    const owner = cluster.connect(leader);
    const ok = (session: ReturnType<Cluster['connect']>, request: Parameters<Cluster['request']>[1]) => {
      expect(cluster!.request(session, request).ok).toBe(true);
      cluster!.stabilize();
      readSome();
    };
    for (let round = 0; round < 6; round++) {
      ok(writer, create(`/r${round}`, { data: `round ${round}` }));
      for (let i = 0; i < 4; i++) ok(writer, create(`/r${round}/n${i}`, { data: `${i}` }));
      ok(owner, create(`/r${round}/e`, { mode: CreateMode.Ephemeral }));
      ok(writer, setData(`/r${round}/n1`, 'changed'));
      ok(writer, del(`/r${round}/n2`));
      if (round > 0) {
        ok(writer, setData(`/r${round - 1}`, 'older, changed'));
        ok(writer, del(`/r${round - 1}/n3`));
      }
    }
    // The owner's session closes: its ephemerals go while some snapshots are still read.
    expect(cluster.request(owner, { op: 'closeSession' }).ok).toBe(true);
    cluster.stabilize();
    for (let i = 0; i < 5; i++) ok(writer, setData('/r5/n0', `after ${i}`));
    for (let more = true; more; ) {
      more = false;
      for (const entry of streams) {
        const slice = entry.stream.take(3, 1 << 20);
        if (slice === undefined) continue;
        entry.nodes.push(...slice);
        more = true;
      }
    }
    // Several snapshots on each replica, each its tree at its zxid.
    for (const id of [1, 2, 3]) expect(streams.filter((entry) => entry.id === id).length).toBeGreaterThan(2);
    for (const { id, stream, nodes } of streams) {
      const restored = DataTree.fromSnapshot({ zxid: stream.zxid, nodes, sessions: stream.sessions });
      expect(restored.digest(), `server ${id} at ${stream.zxid}`).toBe(digests.get(`${id}@${stream.zxid}`));
    }
  });
});
