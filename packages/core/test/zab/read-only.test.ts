import { describe, expect, it } from 'vitest';
import { ErrorCode, Ids } from '../../src/index.js';
import { Cluster } from './cluster.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const create = (path: string) =>
  ({ op: 'create', path, data: bytes('v'), acl: Ids.openAclUnsafe, mode: 0, ttlMs: -1n }) as const;

describe('read-only mode', () => {
  it('serves reads from a partitioned member after its grace period, refuses writes, and ends when it rejoins', () => {
    const cluster = new Cluster({ voters: 3, peer: { readOnlyModeEnabled: true, tickTimeMs: 100 } });
    cluster.stabilize();
    const writer = cluster.connect(1);
    expect(cluster.request(writer, create('/a')).ok).toBe(true);
    cluster.run(200);
    const isolated = cluster.leader() === 3 ? 2 : 3;
    const global = cluster.connect(isolated);
    cluster.isolate(isolated);
    // Before the grace period (max(2 s, tickTime)) the member serves nobody.
    cluster.run(1000);
    expect(cluster.peer(isolated).status()).toMatchObject({ role: 'looking', readOnly: false });
    expect(cluster.connect(isolated, 5000, undefined, true).timeoutMs).toBe(0);
    cluster.run(2500);
    expect(cluster.peer(isolated).status()).toMatchObject({ role: 'looking', readOnly: true });

    // A client that does not allow read-only is refused, and so is a replicated session.
    expect(cluster.connect(isolated).timeoutMs).toBe(0);
    expect(cluster.connect(isolated, 5000, global, true).timeoutMs).toBe(0);
    const reader = cluster.connect(isolated, 5000, undefined, true);
    expect(reader.timeoutMs).toBeGreaterThan(0);
    const connected = cluster.outputsOf(reader).find((output) => output.kind === 'connected');
    expect(connected).toMatchObject({ readOnly: true });
    const read = cluster.request(reader, { op: 'getData', path: '/a', watch: false });
    expect(read.ok && read.op === 'getData' && new TextDecoder().decode(read.result.data!)).toBe('v');
    for (const request of [
      create('/b'),
      { op: 'setData', path: '/a', data: bytes('x'), version: -1 } as const,
      { op: 'delete', path: '/a', version: -1 } as const,
      { op: 'sync', path: '/a' } as const,
    ]) {
      const reply = cluster.request(reader, request);
      expect(reply.ok ? 'ok' : reply.code, request.op).toBe(ErrorCode.NotReadOnly);
    }
    // Its session lives here alone: it resumes here, and expires when not heard of.
    const again = cluster.connect(isolated, 5000, reader, true);
    expect(again.sessionId).toBe(reader.sessionId);
    // The quorum comes back: the member follows again and its read-only clients are let go.
    cluster.heal();
    cluster.run(3000);
    expect(cluster.peer(isolated).status()).toMatchObject({ readOnly: false, serving: true });
    expect(cluster.outputsOf(again).some((output) => output.kind === 'close')).toBe(true);
    expect(cluster.request(cluster.connect(isolated), create('/c')).ok).toBe(true);
  });

  it('stays off unless enabled', () => {
    const cluster = new Cluster({ voters: 3 });
    cluster.stabilize();
    cluster.isolate(3);
    cluster.run(5000);
    expect(cluster.peer(3).status().readOnly).toBe(false);
    expect(cluster.connect(3, 5000, undefined, true).timeoutMs).toBe(0);
  });
});
