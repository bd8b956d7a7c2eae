/**
 * Streamed learner syncs over the scripted cluster: SNAP and DIFF in bounded chunks under
 * flow control while the leader keeps writing, a learner or a leader crashing mid-stream, and
 * a stalled stream that is dropped with its reason and retried.
 */
import { describe, expect, it } from 'vitest';
import {
  CreateMode,
  type Envelope,
  Ids,
  type PeerMessage,
  type ServerId,
  snapshotNodeBytes,
  txnBytes,
} from '../../src/index.js';
import { syncSessionBytes } from '../../src/zab/sync-stream.js';
import { Cluster } from './cluster.js';

const chunkBytes = 2000;
const windowBytes = 6000;
const syncOptions = { syncChunkBytes: chunkBytes, syncWindowBytes: windowBytes };

const payload = (i: number, bytes: number) => new Uint8Array(bytes).fill(i & 0xff);
const create = (path: string, bytes = 0, i = 0) => ({
  op: 'create' as const,
  path,
  data: payload(i, bytes),
  acl: Ids.openAclUnsafe,
  mode: CreateMode.Persistent,
  ttlMs: -1n,
});
const exists = (path: string) => ({ op: 'exists' as const, path, watch: false });

function converged(cluster: Cluster): boolean {
  for (let i = 0; i < 100 && cluster.deliverOnce() > 0; i++);
  const states = [...cluster.digests().values()].map((d) => `${d.zxid}:${d.digest}`);
  return new Set(states).size === 1;
}

/** The bytes of a stream chunk, as the leader counts them against its window. */
function chunkSize(message: PeerMessage): number | undefined {
  if (message.kind === 'syncSnapshotChunk')
    return (
      message.nodes.reduce((sum, node) => sum + snapshotNodeBytes(node), 0) +
      message.sessions.length * syncSessionBytes
    );
  if (message.kind === 'syncTxns') return message.txns.reduce((sum, txn) => sum + txnBytes(txn), 0);
  return undefined;
}

/** Messages delivered to `to` since its last SYNCBEGIN, in order. */
function lastStream(cluster: Cluster, to: ServerId): PeerMessage[] {
  const messages = cluster.trace.filter((e) => e.to === to).map((e) => e.message);
  return messages.slice(messages.findLastIndex((m) => m.kind === 'syncBegin'));
}

/**
 * Runs the cluster in small rounds until `done`, writing on `writer` every few rounds (the
 * leader keeps serving during the sync) and checking the leader's window after each round.
 */
function runWhileWriting(
  cluster: Cluster,
  writer: ReturnType<Cluster['connect']>,
  done: () => boolean,
  options: { rounds?: number; writeEvery?: number; prefix?: string } = {},
): number {
  let writes = 0;
  for (let round = 0; round < (options.rounds ?? 4000) && !done(); round++) {
    if (round % (options.writeEvery ?? 3) === 0)
      cluster.send(writer, create(`/${options.prefix ?? 'w'}${writes++}`, 300, writes));
    if (cluster.deliverOnce() === 0) cluster.tick(20);
    const leader = cluster.leader();
    if (leader === undefined || !cluster.alive(leader)) continue;
    for (const sync of cluster.peer(leader).status().syncs) {
      // One chunk may be in flight beyond the window: the one that filled it.
      expect(sync.unacknowledgedBytes).toBeLessThanOrEqual(windowBytes + chunkBytes);
    }
  }
  return writes;
}

/** A 3-voter cluster whose follower 1 is so far behind that it needs a SNAP of ~`nodes` nodes. */
function behindBySnapshot(nodes: number) {
  const cluster = new Cluster({ voters: 3, peer: { snapCount: 25, ...syncOptions } });
  cluster.stabilize();
  cluster.crash(1);
  const leader = cluster.leader()!;
  const writer = cluster.connect(leader);
  for (let i = 0; i < nodes; i++) cluster.request(writer, create(`/big${i}`, 700, i));
  return { cluster, leader, writer };
}

/** The stall limit of these clusters: initLimitTicks (10) x tickTimeMs (100). */
const stallLimitMs = 10 * 100;

/**
 * Runs `cluster` with the link from `leader` to server 1 as a slow serial line: messages go
 * in order, and each stream chunk takes `chunkTransitMs` to come whole (everything behind it
 * waits). While one is on its way the transport reports its bytes arriving (`linkProgress`)
 * at every tick, until `carriesUntilMs`: from then on the line carries nothing at all. Other
 * links are instant. Runs until `done` or for `forMs`.
 */
function runSlowLink(
  cluster: Cluster,
  leader: ServerId,
  options: {
    readonly chunkTransitMs: number;
    readonly reportsProgress: boolean;
    readonly carriesUntilMs?: number;
    readonly forMs: number;
    readonly done: () => boolean;
  },
): void {
  const line: Envelope[] = [];
  let headDueMs: number | undefined;
  const onLine = (e: Envelope) => e.from === leader && e.to === 1;
  const isChunk = (m: PeerMessage) => m.kind === 'syncSnapshotChunk' || m.kind === 'syncTxns';
  const endMs = cluster.nowMs + options.forMs;
  while (cluster.nowMs < endMs && !options.done()) {
    for (let i = 0; i < 20; i++) {
      line.push(...cluster.queue.filter(onLine));
      cluster.queue = cluster.queue.filter((e) => !onLine(e));
      const carries = options.carriesUntilMs === undefined || cluster.nowMs < options.carriesUntilMs;
      let moved = 0;
      while (carries && line.length > 0 && cluster.alive(1)) {
        const head = line[0]!;
        if (isChunk(head.message)) {
          headDueMs ??= cluster.nowMs + options.chunkTransitMs;
          if (cluster.nowMs < headDueMs) break;
        }
        line.shift();
        headDueMs = undefined;
        cluster.step(1, { kind: 'message', from: leader, message: head.message });
        moved++;
      }
      if (cluster.deliverOnce((e) => !onLine(e)) + moved === 0) break;
    }
    cluster.tick(50);
    const carries = options.carriesUntilMs === undefined || cluster.nowMs < options.carriesUntilMs;
    if (options.reportsProgress && carries && headDueMs !== undefined)
      cluster.step(1, { kind: 'linkProgress', from: leader });
  }
  // What is still on the line was lost with it.
}

describe('streamed learner syncs', () => {
  it('SNAP: many bounded chunks under flow control while the leader writes; NEWLEADER only after the stream', () => {
    const { cluster, leader, writer } = behindBySnapshot(120);
    cluster.restart(1);
    const writes = runWhileWriting(
      cluster,
      writer,
      () => cluster.alive(1) && cluster.peer(1).status().serving,
    );
    expect(cluster.peer(1).status().serving).toBe(true);
    expect(writes).toBeGreaterThan(5);
    expect(cluster.learnerSyncModes(1).at(-1)).toBe('snap');
    const stream = lastStream(cluster, 1);
    const snapshotChunks = stream.filter((m) => m.kind === 'syncSnapshotChunk');
    expect(snapshotChunks.length).toBeGreaterThan(20);
    expect(snapshotChunks.filter((m) => m.kind === 'syncSnapshotChunk' && m.last)).toHaveLength(1);
    // Every chunk bounded: about chunkBytes, or a single item larger than that.
    for (const message of stream) {
      const size = chunkSize(message);
      if (size === undefined) continue;
      const items =
        message.kind === 'syncSnapshotChunk'
          ? message.nodes.length
          : message.kind === 'syncTxns'
            ? message.txns.length
            : 0;
      if (items > 1) expect(size).toBeLessThanOrEqual(chunkBytes);
    }
    // Chunks numbered 1, 2, 3...; the snapshot first, then transactions, then NEWLEADER.
    const seqs = stream.flatMap((m) =>
      m.kind === 'syncSnapshotChunk' || m.kind === 'syncTxns' ? [m.seq] : [],
    );
    expect(seqs).toEqual(seqs.map((_s, i) => i + 1));
    const lastSnapshot = stream.findIndex((m) => m.kind === 'syncSnapshotChunk' && m.last);
    const firstTxns = stream.findIndex((m) => m.kind === 'syncTxns');
    const newLeader = stream.findIndex((m) => m.kind === 'newLeader');
    expect(newLeader).toBeGreaterThan(lastSnapshot);
    if (firstTxns >= 0) expect(firstTxns).toBeGreaterThan(lastSnapshot);
    expect(
      stream.slice(newLeader + 1).some((m) => m.kind === 'syncSnapshotChunk' || m.kind === 'syncTxns'),
    ).toBe(false);
    // The writes made during the stream reached the learner: through the stream or after NEWLEADER.
    const t = cluster.connect(1);
    cluster.request(writer, { op: 'sync', path: '/' });
    cluster.request(t, { op: 'sync', path: '/' });
    expect(cluster.request(t, exists('/big119')).ok).toBe(true);
    expect(cluster.request(t, exists(`/w${writes - 1}`)).ok).toBe(true);
    expect(converged(cluster)).toBe(true);
    // Both ends report it: started and finished, sizes and all.
    const finished = cluster.events(leader).filter((e) => e.kind === 'syncFinished' && e.peer === 1);
    expect(finished.at(-1)).toMatchObject({ side: 'leader', mode: 'snap' });
    expect(cluster.events(1).some((e) => e.kind === 'syncFinished' && e.side === 'learner')).toBe(true);
  });

  it('a learner acknowledges a chunk only once it is durable', () => {
    const { cluster } = behindBySnapshot(60);
    cluster.autoPersist = false;
    cluster.restart(1);
    let checked = 0;
    /** The chunks the leader sent, by seq: how many snapshot chunks through each seq. */
    const snapshotChunksThrough = new Map<number, number>();
    let snapshotChunks = 0;
    for (let round = 0; round < 3000 && !(cluster.alive(1) && cluster.peer(1).status().serving); round++) {
      for (const envelope of cluster.queue) {
        const message = envelope.message;
        if (message.kind === 'syncSnapshotChunk' && !snapshotChunksThrough.has(message.seq))
          snapshotChunksThrough.set(message.seq, ++snapshotChunks);
        if (message.kind === 'syncAck' && envelope.from === 1) {
          const durable = cluster.nodes.get(1)!.durable;
          const staged = snapshotChunksThrough.get(message.seq);
          // Staged and durable (or already committed into the snapshot).
          const committed = durable.snapshots.length > 0 && durable.staged === undefined;
          if (staged !== undefined && !committed)
            expect(durable.staged?.chunks.length).toBeGreaterThanOrEqual(staged);
          checked++;
        }
      }
      if (cluster.deliverOnce() === 0) {
        cluster.tick(20);
        for (const id of [1, 2, 3]) cluster.flushStorage(id);
      }
    }
    expect(cluster.peer(1).status().serving).toBe(true);
    expect(checked).toBeGreaterThan(10);
  });

  it('a learner that crashes mid-SNAP keeps its previous state, discards the staged part, then syncs cleanly', () => {
    const cluster = new Cluster({ voters: 3, peer: { snapCount: 25, ...syncOptions } });
    cluster.stabilize();
    const leader = cluster.leader()!;
    const writer = cluster.connect(leader);
    for (let i = 0; i < 10; i++) cluster.request(writer, create(`/early${i}`, 100, i));
    cluster.request(writer, { op: 'sync', path: '/' });
    for (let i = 0; i < 20 && cluster.deliverOnce() > 0; i++);
    const follower: ServerId = [1, 2, 3].find((id) => id !== leader)!;
    cluster.crash(follower);
    const before = cluster.nodes.get(follower)!.durable.clone().load();
    for (let i = 0; i < 100; i++) cluster.request(writer, create(`/big${i}`, 700, i));
    cluster.restart(follower);
    // Deliver until the follower has staged a good part of the snapshot, then crash it.
    for (let round = 0; round < 2000; round++) {
      const staged = cluster.nodes.get(follower)!.durable.staged?.chunks.length ?? 0;
      if (staged >= 10) break;
      if (cluster.deliverOnce() === 0) cluster.tick(20);
    }
    const mid = cluster.nodes.get(follower)!.durable;
    expect(mid.staged?.chunks.length).toBeGreaterThanOrEqual(10);
    expect(cluster.peer(follower).status().syncs[0]).toMatchObject({ side: 'learner', mode: 'snap' });
    cluster.crash(follower);
    // The previous state is intact and durable: same snapshot, same log, same epochs.
    const after = cluster.nodes.get(follower)!.durable.clone().load();
    expect(after.snapshot?.zxid).toBe(before.snapshot?.zxid);
    expect(after.log).toEqual(before.log);
    expect(after.epochs.currentEpoch).toBe(before.epochs.currentEpoch);
    expect(after.incompleteSnapshots).toEqual([mid.staged!.zxid]);
    cluster.restart(follower);
    expect(cluster.events(follower).some((e) => e.kind === 'incompleteSnapshotsDiscarded')).toBe(true);
    cluster.stabilize();
    expect(cluster.learnerSyncModes(follower).at(-1)).toBe('snap');
    expect(cluster.nodes.get(follower)!.durable.staged).toBeUndefined();
    const t = cluster.connect(follower);
    expect(cluster.request(t, exists('/big99')).ok).toBe(true);
    expect(converged(cluster)).toBe(true);
  });

  it('a leader that crashes mid-stream leaves the learner as it was; the next leader syncs it', () => {
    const cluster = new Cluster({ voters: 3, peer: { snapCount: 25, ...syncOptions } });
    cluster.stabilize();
    const leader = cluster.leader()!;
    const [lagging, other] = [1, 2, 3].filter((id) => id !== leader) as [ServerId, ServerId];
    const writer = cluster.connect(leader);
    cluster.crash(lagging);
    const before = cluster.nodes.get(lagging)!.durable.clone().load();
    for (let i = 0; i < 100; i++) cluster.request(writer, create(`/big${i}`, 700, i));
    cluster.request(writer, { op: 'sync', path: '/' });
    for (let i = 0; i < 20 && cluster.deliverOnce() > 0; i++);
    cluster.restart(lagging);
    for (let round = 0; round < 2000; round++) {
      if ((cluster.nodes.get(lagging)!.durable.staged?.chunks.length ?? 0) >= 5) break;
      if (cluster.deliverOnce() === 0) cluster.tick(20);
    }
    expect(cluster.peer(lagging).status().syncs).toHaveLength(1);
    cluster.crash(leader);
    // Its disk never mixed the two: the staged part is apart, the old state is what loads.
    for (const id of [lagging, other]) cluster.flushStorage(id);
    const durable = cluster.nodes.get(lagging)!.durable.clone().load();
    expect(durable.snapshot?.zxid).toBe(before.snapshot?.zxid);
    expect(durable.log).toEqual(before.log);
    // The learner gives up the dead leader's sync and says why.
    cluster.run(3000);
    const failure = cluster.peer(lagging).status().lastSyncFailure;
    expect(failure).toMatchObject({ side: 'learner', peer: leader, mode: 'snap' });
    expect(cluster.events(lagging).some((e) => e.kind === 'syncFailed')).toBe(true);
    cluster.stabilize();
    const newLeader = cluster.leader()!;
    expect(newLeader).toBe(other);
    const t = cluster.connect(lagging);
    expect(cluster.request(t, exists('/big99')).ok).toBe(true);
    expect(converged(cluster)).toBe(true);
  });

  it('DIFF: a long diff streams in chunks while the leader writes, and ends with the leader history', () => {
    const cluster = new Cluster({ voters: 3, peer: { snapCount: 100_000, ...syncOptions } });
    cluster.stabilize();
    const leader = cluster.leader()!;
    const writer = cluster.connect(leader);
    cluster.crash(1 === leader ? 2 : 1);
    const lagging: ServerId = 1 === leader ? 2 : 1;
    for (let i = 0; i < 150; i++) cluster.request(writer, create(`/d${i}`, 400, i));
    cluster.restart(lagging);
    const writes = runWhileWriting(
      cluster,
      writer,
      () => cluster.alive(lagging) && cluster.peer(lagging).status().serving,
      {
        prefix: 'during',
      },
    );
    expect(cluster.learnerSyncModes(lagging).at(-1)).toBe('diff');
    const stream = lastStream(cluster, lagging);
    expect(stream.filter((m) => m.kind === 'syncTxns').length).toBeGreaterThan(20);
    expect(stream.some((m) => m.kind === 'syncSnapshotChunk')).toBe(false);
    const t = cluster.connect(lagging);
    cluster.request(writer, { op: 'sync', path: '/' });
    cluster.request(t, { op: 'sync', path: '/' });
    expect(cluster.request(t, exists('/d149')).ok).toBe(true);
    if (writes > 0) expect(cluster.request(t, exists(`/during${writes - 1}`)).ok).toBe(true);
    expect(converged(cluster)).toBe(true);
  });

  it('a stalled stream is dropped with its reason on both ends, and the learner syncs again once healed', () => {
    const { cluster, leader } = behindBySnapshot(80);
    cluster.restart(1);
    // Let the stream start, then lose every credit the learner sends.
    for (let round = 0; round < 2000 && cluster.peer(1).status().syncs.length === 0; round++)
      if (cluster.deliverOnce() === 0) cluster.tick(20);
    expect(cluster.peer(1).status().syncs).toHaveLength(1);
    const started = cluster.events(leader).filter((e) => e.kind === 'syncStarted').length;
    const stallMs = 10 * 100; // initLimitTicks (10) x tickTimeMs (100)
    const lostCredit = (e: Envelope) => !(e.from === 1 && e.message.kind === 'syncAck');
    for (let elapsed = 0; elapsed < stallMs * 3; elapsed += 20) {
      cluster.tick(20);
      for (let i = 0; i < 20; i++) {
        // Credit dropped on the way; everything else (ping replies included) gets through.
        cluster.queue = cluster.queue.filter(lostCredit);
        if (cluster.deliverOnce() === 0) break;
      }
    }
    const leaderFailure = cluster.peer(leader).status().lastSyncFailure;
    expect(leaderFailure).toMatchObject({ side: 'leader', peer: 1, mode: 'snap' });
    expect(leaderFailure!.reason).toMatch(/stalled: no credit from the learner/);
    // The leader closed the link as it gave the stream up: the learner learnt of it at once,
    // not from its own stall timer.
    expect(cluster.linksClosed(leader)).toContain(1);
    const learnerFailure = cluster.peer(1).status().lastSyncFailure;
    expect(learnerFailure?.reason).toMatch(new RegExp(`lost the link to leader ${leader}`));
    const failedEvents = cluster.events(leader).filter((e) => e.kind === 'syncFailed');
    expect(failedEvents.length).toBeGreaterThan(0);
    // Retried, as a new sync, once credit flows again.
    cluster.stabilize();
    expect(cluster.peer(1).status().serving).toBe(true);
    expect(cluster.events(leader).filter((e) => e.kind === 'syncStarted').length).toBeGreaterThan(started);
    expect(converged(cluster)).toBe(true);
  });

  it('a leader slow to read its own snapshot is not a stall: the learner, still pinged, waits, then syncs', () => {
    const { cluster, leader } = behindBySnapshot(80);
    const stallMs = 10 * 100; // initLimitTicks (10) x tickTimeMs (100)
    // The leader's storage answers no read for three stall limits.
    cluster.autoRead = false;
    cluster.restart(1);
    for (let elapsed = 0; elapsed < stallMs * 3; elapsed += 20) {
      cluster.tick(20);
      for (let i = 0; i < 20 && cluster.deliverOnce() > 0; i++);
    }
    expect(cluster.peer(1).status().syncs).toHaveLength(1);
    expect(cluster.peer(leader).status().syncs).toHaveLength(1);
    expect(cluster.events(1).filter((e) => e.kind === 'syncFailed')).toEqual([]);
    expect(cluster.events(leader).filter((e) => e.kind === 'syncFailed')).toEqual([]);
    // Then the reads come back, and the stream goes through.
    cluster.autoRead = true;
    cluster.answerReads(leader);
    cluster.stabilize();
    expect(cluster.peer(1).status().serving).toBe(true);
    expect(cluster.learnerSyncModes(1).at(-1)).toBe('snap');
    expect(converged(cluster)).toBe(true);
  });

  it('sessions stream in bounded chunks too: a thousand sessions, no message above a chunk', () => {
    const cluster = new Cluster({
      voters: 3,
      peer: { snapCount: 25, ...syncOptions, maxSessionTimeoutMs: 3_600_000 },
    });
    cluster.stabilize();
    cluster.crash(1);
    const leader = cluster.leader()!;
    const writer = cluster.connect(leader, 3_600_000);
    for (let i = 0; i < 40; i++) cluster.request(writer, create(`/n${i}`, 100, i));
    // A thousand sessions: 12 KB of them, six chunks' worth, where the first chunk carried all.
    for (let i = 0; i < 1000; i++) expect(cluster.connect(leader, 3_600_000).sessionId).not.toBe(0n);
    for (let i = 40; i < 80; i++) cluster.request(writer, create(`/n${i}`, 100, i));
    const sessions = cluster.peer(leader).sessionSummary().sessions;
    expect(sessions.size).toBe(1001);
    cluster.restart(1);
    cluster.stabilize();
    expect(cluster.peer(1).status().serving).toBe(true);
    expect(cluster.learnerSyncModes(1).at(-1)).toBe('snap');
    const chunks = lastStream(cluster, 1).flatMap((m) => (m.kind === 'syncSnapshotChunk' ? [m] : []));
    // Every message within a chunk's bytes, sessions counted; several carry sessions only.
    for (const chunk of chunks) expect(chunkSize(chunk)).toBeLessThanOrEqual(chunkBytes);
    expect(chunks.filter((m) => m.nodes.length === 0 && m.sessions.length > 0).length).toBeGreaterThanOrEqual(
      5,
    );
    expect(chunks.reduce((sum, m) => sum + m.sessions.length, 0)).toBe(1001);
    // The learner holds every session, with its timeout, and the same tree.
    expect(cluster.peer(1).sessionSummary().sessions).toEqual(cluster.peer(leader).sessionSummary().sessions);
    expect(converged(cluster)).toBe(true);
  });

  it('a learner taking the stream slower than the writes come is dropped, saying so, then syncs once they slow', () => {
    const cluster = new Cluster({ voters: 3, peer: { snapCount: 1000, ...syncOptions } });
    cluster.stabilize();
    cluster.crash(1);
    const leader = cluster.leader()!;
    const writer = cluster.connect(leader, 20_000);
    for (let i = 0; i < 30; i++) cluster.request(writer, create(`/d${i}`, 1000, i));
    cluster.autoPersist = false;
    cluster.restart(1);
    const failed = () =>
      cluster.events(leader).filter((e) => e.kind === 'syncFailed' && e.peer === 1 && e.side === 'leader');
    const behind: number[] = [];
    // Writes of 1.5 KB every 20 ms; the learner's disk takes a window (6 KB) per 200 ms.
    for (let round = 0; round < 2000 && failed().length === 0; round++) {
      cluster.send(writer, create(`/f${round}`, 1500, round));
      for (let i = 0; i < 20 && cluster.deliverOnce() > 0; i++);
      cluster.flushStorage(leader);
      for (const id of [2, 3]) if (id !== leader) cluster.flushStorage(id);
      if (round % 10 === 0) cluster.flushStorage(1);
      cluster.tick(20);
      const sync = cluster
        .peer(leader)
        .status()
        .syncs.find((s) => s.peer === 1);
      if (sync !== undefined) behind.push(sync.behindTxns);
    }
    const [failure] = failed();
    expect(failure).toMatchObject({
      reason: expect.stringMatching(/slower than the writes come: \d+ transactions behind/),
    });
    // status() said how far behind it was, and that it grew.
    expect(behind.length).toBeGreaterThan(10);
    expect(Math.max(...behind)).toBeGreaterThan(behind[0]!);
    // The writes stop; with its disk keeping up again it syncs and serves.
    cluster.autoPersist = true;
    for (let round = 0; round < 3000 && !(cluster.alive(1) && cluster.peer(1).status().serving); round++) {
      for (const id of [1, 2, 3]) cluster.flushStorage(id);
      if (cluster.deliverOnce() === 0) cluster.tick(50);
    }
    expect(cluster.peer(1).status().serving).toBe(true);
    expect(converged(cluster)).toBe(true);
  });

  it('a link too slow to bring a chunk whole within the stall limit: the SNAP is as slow as the link, and finishes', () => {
    const { cluster, leader } = behindBySnapshot(80);
    cluster.restart(1);
    runSlowLink(cluster, leader, {
      chunkTransitMs: 2.5 * stallLimitMs,
      reportsProgress: true,
      forMs: 200 * stallLimitMs,
      done: () => cluster.peer(1).status().serving,
    });
    expect(cluster.peer(1).status().serving).toBe(true);
    // It went at the link's pace: many chunks, each longer than the stall limit on its way.
    const finished = cluster.events(1).findLast((e) => e.kind === 'syncFinished');
    expect(finished).toMatchObject({ side: 'learner', mode: 'snap' });
    expect(finished!.kind === 'syncFinished' && finished!.durationMs).toBeGreaterThan(10 * stallLimitMs);
    // Neither end gave it up on the way.
    expect(cluster.events(1).filter((e) => e.kind === 'syncFailed')).toEqual([]);
    expect(cluster.events(leader).filter((e) => e.kind === 'syncFailed')).toEqual([]);
    cluster.stabilize();
    expect(converged(cluster)).toBe(true);
  });

  it('over the same link with no bytes reported on the way, a chunk that takes longer than the limit fails the sync', () => {
    const { cluster, leader } = behindBySnapshot(80);
    cluster.restart(1);
    runSlowLink(cluster, leader, {
      chunkTransitMs: 2.5 * stallLimitMs,
      reportsProgress: false,
      forMs: 4 * stallLimitMs,
      done: () => cluster.events(1).some((e) => e.kind === 'syncFailed'),
    });
    expect(cluster.peer(1).status().lastSyncFailure).toMatchObject({
      mode: 'snap',
      reason: expect.stringMatching(/stalled: nothing from leader/),
    });
  });

  it('a slow link that then carries nothing at all fails the sync on both ends, saying why; it syncs once healed', () => {
    const { cluster, leader } = behindBySnapshot(80);
    cluster.restart(1);
    const deadFromMs = cluster.nowMs + 4 * stallLimitMs;
    runSlowLink(cluster, leader, {
      chunkTransitMs: 2.5 * stallLimitMs,
      reportsProgress: true,
      carriesUntilMs: deadFromMs,
      forMs: 8 * stallLimitMs,
      done: () => cluster.peer(leader).status().lastSyncFailure !== undefined,
    });
    // The stream moved until the line went dead, and neither end gave it up before.
    expect(cluster.events(1).filter((e) => e.kind === 'syncFailed')).toHaveLength(1);
    const failed = cluster.events(1).find((e) => e.kind === 'syncFailed')!;
    expect(failed.kind === 'syncFailed' && failed.durationMs).toBeGreaterThan(4 * stallLimitMs);
    expect(cluster.peer(1).status().lastSyncFailure?.reason).toMatch(/stalled: nothing from leader/);
    const leaderFailure = cluster.peer(leader).status().lastSyncFailure;
    expect(leaderFailure?.reason).toMatch(
      /stalled: no credit from the learner .* nor any of the stream arriving/,
    );
    // Within about the limit of the line going dead, not at once and not never.
    expect(cluster.nowMs - deadFromMs).toBeGreaterThan(stallLimitMs);
    expect(cluster.nowMs - deadFromMs).toBeLessThan(3 * stallLimitMs);
    cluster.stabilize();
    expect(cluster.peer(1).status().serving).toBe(true);
    expect(converged(cluster)).toBe(true);
  });

  it('no message of a sync grows with the state: the largest is about one chunk', () => {
    const { cluster } = behindBySnapshot(150);
    cluster.restart(1);
    cluster.stabilize();
    const toLearner: Envelope[] = cluster.trace.filter((e) => e.to === 1);
    const largest = Math.max(...toLearner.map((e) => chunkSize(e.message) ?? 0));
    const state = cluster.peer(1).replicaStats().approximateDataSize;
    expect(state).toBeGreaterThan(100_000);
    expect(largest).toBeLessThanOrEqual(chunkBytes);
  });
});
