import { describe, expect, it } from 'vitest';
import { CreateMode, ErrorCode, EventType, makeZxid, type Stat, zeroZxid } from '../src/index.js';
import { Harness } from './harness.js';
import { create, exists, getChildren, getData } from './requests-helpers.js';

describe('session timeouts', () => {
  it('are negotiated into [2, 20] ticks by default', () => {
    const h = new Harness({ tickTimeMs: 100 });
    expect(h.connect({ timeoutMs: 50 }).timeoutMs).toBe(200);
    expect(h.connect({ timeoutMs: 1500 }).timeoutMs).toBe(1500);
    expect(h.connect({ timeoutMs: 60_000 }).timeoutMs).toBe(2000);
  });

  it('honour configured bounds', () => {
    const h = new Harness({ tickTimeMs: 100, minSessionTimeoutMs: 500, maxSessionTimeoutMs: 700 });
    expect(h.connect({ timeoutMs: 1 }).timeoutMs).toBe(500);
    expect(h.connect({ timeoutMs: 10_000 }).timeoutMs).toBe(700);
  });

  it('reject invalid configuration with a clear error', () => {
    expect(() => new Harness({ tickTimeMs: 0 })).toThrow(/tickTimeMs/);
    expect(() => new Harness({ minSessionTimeoutMs: 10, maxSessionTimeoutMs: 5 })).toThrow(
      /maxSessionTimeoutMs/,
    );
  });

  it('each session gets a distinct id and a 16-byte password', () => {
    const h = new Harness();
    const a = h.connect();
    const b = h.connect();
    expect(a.sessionId).not.toBe(b.sessionId);
    expect(a.password.length).toBe(16);
    expect(Buffer.from(a.password).equals(Buffer.from(b.password))).toBe(false);
  });
});

describe('session expiry', () => {
  it('expires a silent session at its tick bucket and deletes its ephemerals in one transaction', () => {
    const h = new Harness({ tickTimeMs: 100 });
    const owner = h.connect({ timeoutMs: 1000 });
    const watcher = h.connect({ timeoutMs: 20_000 });
    h.ok(owner, create('/e1', { mode: CreateMode.Ephemeral }));
    h.ok(owner, create('/e2', { mode: CreateMode.EphemeralSequential }));
    h.ok(watcher, exists('/e1', true));
    h.ok(watcher, getChildren('/', true));
    const logBefore = h.log.length;
    // Keep the watcher alive while the owner stays silent.
    h.advance(900);
    h.ok(watcher, { op: 'ping' });
    expect(h.request(watcher, exists('/e1')).ok).toBe(true);
    h.advance(300);
    expect(h.code(watcher, exists('/e1'))).toBe(ErrorCode.NoNode);
    expect(h.code(watcher, exists('/e20000000001'))).toBe(ErrorCode.NoNode);
    const closes = h.log.slice(logBefore).filter((txn) => txn.body.kind === 'closeSession');
    expect(closes).toHaveLength(1);
    expect(closes[0]!.body).toEqual({ kind: 'closeSession', ephemeralPaths: ['/e1', '/e20000000001'] });
    const events = h.events(watcher);
    expect(events).toContainEqual({ type: EventType.NodeDeleted, path: '/e1' });
    expect(events.filter((e) => e.type === EventType.NodeChildrenChanged)).toHaveLength(1);
    // The owner's connection is closed with the reason.
    expect(h.peek(owner).at(-1)).toEqual({
      kind: 'close',
      connectionId: owner.connectionId,
      reason: 'sessionExpired',
    });
  });

  it('does not expire a session that keeps talking within its timeout', () => {
    const h = new Harness({ tickTimeMs: 100 });
    const s = h.connect({ timeoutMs: 400 });
    h.ok(s, create('/e', { mode: CreateMode.Ephemeral }));
    for (let i = 0; i < 50; i++) {
      h.advance(150);
      h.ok(s, { op: 'ping' });
    }
    expect(h.request(s, exists('/e')).ok).toBe(true);
  });

  it('answers SessionExpired to requests on an expired session', () => {
    const h = new Harness({ tickTimeMs: 100 });
    const s = h.connect({ timeoutMs: 200 });
    h.advance(1000);
    // The connection is gone; a resume attempt is told the session expired.
    const again = h.connect({ resume: s });
    expect(again.timeoutMs).toBe(0);
    expect(again.sessionId).toBe(0n);
  });

  it('expiry is decided by ticks: a jump of the clock expires everything due at once', () => {
    const h = new Harness({ tickTimeMs: 100 });
    const sessions = [
      h.connect({ timeoutMs: 200 }),
      h.connect({ timeoutMs: 500 }),
      h.connect({ timeoutMs: 2000 }),
    ];
    h.advance(1000);
    expect(h.sessionCount).toBe(1);
    expect(h.peek(sessions[2]!).some((o) => o.kind === 'close')).toBe(false);
  });
});

describe('closing a session', () => {
  it('deletes its ephemerals, drops its watches and closes the connection', () => {
    const h = new Harness();
    const s = h.connect();
    const other = h.connect();
    h.ok(s, create('/e', { mode: CreateMode.Ephemeral }));
    h.ok(s, create('/p'));
    h.ok(s, getData('/p', true));
    const reply = h.request(s, { op: 'closeSession' });
    expect(reply.ok).toBe(true);
    expect(h.peek(s).at(-1)).toMatchObject({ kind: 'close', reason: 'sessionClosed' });
    expect(h.code(other, exists('/e'))).toBe(ErrorCode.NoNode);
    h.ok(other, { op: 'setData', path: '/p', data: new Uint8Array(1), version: -1 });
    expect(h.events(s)).toEqual([]);
    expect(h.sessionCount).toBe(1);
  });

  it('does not delete an ephemeral created by a request pipelined before the close', () => {
    const h = new Harness();
    const s = h.connect();
    const other = h.connect();
    h.autoPersist = false;
    h.send(s, create('/late', { mode: CreateMode.Ephemeral }));
    h.send(s, { op: 'closeSession' });
    h.flush();
    h.autoPersist = true;
    // The close saw the outstanding create and deleted it too.
    expect(h.code(other, exists('/late'))).toBe(ErrorCode.NoNode);
  });
});

describe('resuming a session on a new connection', () => {
  it('works with the right password and keeps the ephemerals', () => {
    const h = new Harness();
    const s = h.connect();
    h.ok(s, create('/e', { mode: CreateMode.Ephemeral }));
    h.disconnect(s);
    const resumed = h.connect({ resume: s });
    expect(resumed.sessionId).toBe(s.sessionId);
    expect(resumed.timeoutMs).toBe(s.timeoutMs);
    expect((h.ok(resumed, getData('/e')).stat as Stat).ephemeralOwner).toBe(s.sessionId);
  });

  it('is refused as expired with a wrong password', () => {
    const h = new Harness();
    const s = h.connect();
    const wrong = h.connect({ resume: s, password: new Uint8Array(16).fill(7) });
    expect(wrong.timeoutMs).toBe(0);
    expect(h.lastConnectOutputs.at(-1)).toMatchObject({ kind: 'close', reason: 'sessionExpired' });
  });

  it('closes the previous connection of the session (session moved)', () => {
    const h = new Harness();
    const s = h.connect();
    const resumed = h.connect({ resume: s });
    expect(resumed.sessionId).toBe(s.sessionId);
    expect(h.peek(s).at(-1)).toMatchObject({ kind: 'close', reason: 'sessionMoved' });
  });

  it('is refused when the client has seen a zxid the server has not', () => {
    const h = new Harness();
    const s = h.connect();
    h.disconnect(s);
    const ahead = h.connect({ resume: s, lastZxidSeen: makeZxid(5, 0) });
    expect(ahead.timeoutMs).toBe(0);
    expect(h.lastConnectOutputs).toEqual([
      { kind: 'close', connectionId: ahead.connectionId, reason: 'refused' },
    ]);
    const fine = h.connect({ resume: s, lastZxidSeen: zeroZxid });
    expect(fine.sessionId).toBe(s.sessionId);
  });
});
