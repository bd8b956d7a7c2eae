import { describe, expect, it } from 'vitest';
import { clockAt, zeroZxid } from '../../src/index.js';
import { Harness } from '../harness.js';
import { create, getData } from '../requests-helpers.js';

describe('the client front: connections', () => {
  it('refuses a second ConnectRequest on an attached connection, and serves on', () => {
    const h = new Harness();
    const s = h.connect();
    const other = h.connect();
    h.ok(other, create('/a'));
    const ready = h.server.step(
      {
        kind: 'connect',
        connectionId: s.connectionId,
        request: {
          sessionId: 0n,
          password: new Uint8Array(16),
          timeoutMs: 1000,
          lastZxidSeen: zeroZxid,
          readOnly: false,
          clientAddress: '127.0.0.1',
        },
      },
      clockAt(h.nowMs),
    );
    expect(ready.toClients).toEqual([{ kind: 'close', connectionId: s.connectionId, reason: 'refused' }]);
    expect(h.server.status().connections).toBe(1);
    expect(h.ok(other, getData('/a')).stat.version).toBe(0);
  });

  it('moves a session to its new connection: the old one closes and forgets its watches', () => {
    const h = new Harness();
    const s = h.connect();
    h.ok(s, create('/a'));
    h.ok(s, getData('/a', true));
    expect(h.server.replicaStats().watches.watches).toBe(1);
    const moved = h.connect({ resume: s });
    expect(moved.sessionId).toBe(s.sessionId);
    expect(h.take(s.connectionId)).toEqual([
      { kind: 'close', connectionId: s.connectionId, reason: 'sessionMoved' },
    ]);
    expect(h.server.replicaStats().watches.watches).toBe(0);
    // The session answers on its new connection.
    expect(h.request(moved, getData('/a')).ok).toBe(true);
    expect(h.server.status().connections).toBe(1);
  });
});
