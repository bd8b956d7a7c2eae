/**
 * The session's life on the client's own clock: expiry noticed by the client when no server
 * is heard (ZooKeeper 3.9's client-side expiry), managed sessions renewed after expiry,
 * reconnect backoff with jitter, and events with Node's EventEmitter semantics.
 */
import { on, once } from 'node:events';
import {
  type ClientOptions,
  type ClientState,
  type Logger,
  RetryForever,
  type SessionExpiredEvent,
  type SessionRenewedEvent,
  ZabError,
} from '@zabkit/client';
import { describe, expect, it } from 'vitest';
import { ControlledLinks, ManualTimers, seededRandom, useLocalServers } from './support.js';

const { start, connect } = useLocalServers();

/** A server and a client on one manual clock. */
async function onManualClock(options: ClientOptions = {}) {
  const timers = new ManualTimers();
  const server = start({ clock: () => timers.nowMs, autoTick: false });
  timers.onAdvance = () => server.tick();
  const links = new ControlledLinks(server);
  links.clock = () => timers.nowMs;
  const connecting = connect(links, { timers, sessionTimeoutMs: 3000, heartbeat: false, ...options });
  await timers.advance(0);
  const zk = await connecting;
  links.client = zk;
  const states: ClientState[] = [];
  zk.on('state', (state) => states.push(state));
  return { timers, server, links, zk, states };
}

describe('client-side session expiry', () => {
  it('reports the session expired 4/3 of the timeout after it last heard a server, with no server to say so', async () => {
    const { timers, links, zk, states } = await onManualClock();
    expect(zk.sessionTimeoutMs).toBe(3000);
    await timers.advance(1000);
    await zk.exists('/'); // last heard at 1000
    const expired: SessionExpiredEvent[] = [];
    zk.on('expired', (event) => expired.push(event));
    const sessionId = zk.sessionId;
    links.reachable = false;
    links.drop();
    const waiting = zk.exists('/', { retry: new RetryForever(50) });
    const outcome = waiting.then(
      () => 'resolved',
      (error: unknown) => (error instanceof ZabError ? error.codeName : String(error)),
    );
    await timers.advance(3999); // until 4999
    expect(zk.state).toBe('disconnected');
    await timers.advance(1); // 5000 = 1000 + 4/3 * 3000
    expect(zk.state).toBe('expired');
    expect(expired).toEqual([{ sessionId, detectedBy: 'client' }]);
    expect(states).toEqual(['disconnected', 'expired']);
    expect(await outcome).toBe('SessionExpired');
    await expect(zk.getData('/')).rejects.toSatisfy(
      (error) => error instanceof ZabError && error.is('SessionExpired'),
    );
  });

  it('waits for a server with expireLocally: false', async () => {
    const { timers, links, zk } = await onManualClock({ expireLocally: false });
    links.reachable = false;
    links.drop();
    await timers.advance(20_000);
    expect(zk.state).toBe('disconnected');
  });

  it('says who noticed: a server that already expired the session', async () => {
    const { timers, links, zk } = await onManualClock({
      expireLocally: false,
      reconnect: { initialDelayMs: 10, maxDelayMs: 10, jitter: 0 },
    });
    const expired = once(zk, 'expired');
    links.reachable = false;
    links.drop();
    await timers.advance(3500); // the server expired it (timeout 3000, ticks of 50)
    links.reachable = true;
    await timers.advance(20);
    expect(zk.state).toBe('expired');
    const [event] = (await expired) as [SessionExpiredEvent];
    expect(event.detectedBy).toBe('server');
  });
});

describe('managed sessions', () => {
  it('opens a new session after expiry, tells its owner, and keeps working', async () => {
    const { timers, links, zk, states, server } = await onManualClock({ renewSession: true });
    await zk.addAuth('digest', 'alice:secret');
    await zk.create('/mine', '', { mode: 'ephemeral' });
    const previousSessionId = zk.sessionId;
    const renewed = once(zk, 'sessionRenewed');
    links.reachable = false;
    links.drop();
    await timers.advance(4000);
    expect(zk.state).not.toBe('connected');
    links.reachable = true;
    await timers.advanceUntil(() => zk.state === 'connected');
    const [event] = (await renewed) as [SessionRenewedEvent];
    expect(event.previousSessionId).toBe(previousSessionId);
    expect(event.sessionId).toBe(zk.sessionId);
    expect(zk.sessionId).not.toBe(previousSessionId);
    expect(zk.renewsSession).toBe(true);
    expect(states).toEqual(['disconnected', 'expired', 'connecting', 'connected']);
    // The credentials were presented again to the new session.
    expect((await zk.whoAmI()).some((info) => info.authScheme === 'digest' && info.user === 'alice')).toBe(
      true,
    );
    // The old session's ephemeral went with it (the server expired it on its own clock).
    const observer = await connect(server);
    expect(await observer.exists('/mine')).toBeNull();
    await zk.create('/mine', '', { mode: 'ephemeral' });
    expect((await observer.exists('/mine'))?.ephemeralOwner).toBe(zk.sessionId);
  });

  it('lets a retried operation ride over the renewal', async () => {
    const { timers, links, zk } = await onManualClock({ renewSession: true });
    links.reachable = false;
    links.drop();
    let created: string | undefined;
    void zk.create('/after', 'x', { retry: new RetryForever(100) }).then((path) => {
      created = path;
    });
    await timers.advance(4500);
    links.reachable = true;
    await timers.advanceUntil(() => created !== undefined);
    expect(created).toBe('/after');
  });
});

describe('reconnect backoff', () => {
  it('waits exponentially longer with seeded jitter, up to the cap', async () => {
    const draws = seededRandom(42);
    const { timers, links } = await onManualClock({
      random: seededRandom(42),
      expireLocally: false,
      reconnect: { initialDelayMs: 20, maxDelayMs: 300, jitter: 0.5 },
    });
    links.reachable = false;
    const before = links.openedAtMs.length;
    const droppedAtMs = timers.nowMs;
    links.drop();
    await timers.advance(3000);
    const opens = [droppedAtMs, ...links.openedAtMs.slice(before)];
    const waits = opens.slice(1).map((at, i) => at - opens[i]!);
    const expected = [0];
    for (let attempt = 1; expected.length < waits.length; attempt++) {
      const ceiling = Math.min(300, 20 * 2 ** (attempt - 1));
      expected.push(Math.round(ceiling * 0.5 + ceiling * 0.5 * draws()));
    }
    expect(waits.length).toBeGreaterThan(8);
    expect(waits).toEqual(expected);
    expect(Math.max(...waits)).toBeLessThanOrEqual(300);
  });

  it('gives up on a server that accepts but never answers the handshake, after a third of the timeout', async () => {
    const { timers, links, zk } = await onManualClock({ expireLocally: false });
    links.swallowHandshakes = true;
    const before = links.openedAtMs.length;
    links.drop();
    await timers.advance(1500);
    const opens = links.openedAtMs.slice(before);
    expect(opens.length).toBeGreaterThanOrEqual(2);
    // The first link at once; the next one after the 1000 ms handshake deadline and a backoff.
    expect(opens[1]! - opens[0]!).toBeGreaterThanOrEqual(1000);
    expect(opens[1]! - opens[0]!).toBeLessThanOrEqual(1020);
    links.swallowHandshakes = false;
    // Back before the server's 3000 ms expire the session.
    await timers.advanceUntil(() => zk.state === 'connected');
    expect(timers.nowMs).toBeLessThan(3000);
  });

  it('moves on to the next server after losing one, also after a connection that worked', async () => {
    const { timers, links, zk } = await onManualClock();
    links.drop();
    await timers.advanceUntil(() => zk.state === 'connected');
    links.drop();
    await timers.advanceUntil(() => zk.state === 'connected');
    // A factory picks `(start + attempt) % servers`: each link goes to the next server.
    expect(links.attempts).toEqual([0, 1, 2]);
  });

  it('refuses a bad backoff up front', async () => {
    const server = start();
    await expect(connect(server, { reconnect: { jitter: 2 } })).rejects.toThrow(RangeError);
  });
});

describe('events', () => {
  it('work with events.once and events.on, and name each state', async () => {
    const { timers, links, zk } = await onManualClock();
    const disconnected = once(zk, 'disconnected');
    const seen: ClientState[] = [];
    const iterate = (async () => {
      for await (const [state] of on(zk, 'state')) {
        seen.push(state as ClientState);
        if (state === 'connected') break;
      }
    })();
    links.drop();
    await disconnected;
    const connected = once(zk, 'connected');
    await timers.advance(10);
    await connected;
    await iterate;
    expect(seen).toEqual(['disconnected', 'connected']);
    // events.on removed its listener when the loop ended.
    expect(zk.listenerCount('state')).toBe(1); // the helper's own
  });

  it('a listener that throws does not keep the others from hearing, and goes to the logger', async () => {
    const logged: unknown[] = [];
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (fields: unknown) => logged.push(fields),
    };
    const { links, zk } = await onManualClock({ logger });
    const heard: string[] = [];
    zk.on('disconnected', () => {
      throw new Error('bad listener');
    });
    zk.once('disconnected', () => heard.push('once'));
    zk.on('disconnected', () => heard.push('on'));
    links.drop();
    links.drop();
    expect(heard).toEqual(['once', 'on']);
    expect(logged).toHaveLength(1);
    expect(zk.listenerCount('disconnected')).toBe(2);
  });

  it('a namespace view emits the same events, and stops following when nobody listens', async () => {
    const { timers, links, zk } = await onManualClock();
    const view = zk.namespace('/app');
    const states: ClientState[] = [];
    const listener = (state: ClientState) => states.push(state);
    view.on('state', listener);
    links.drop();
    expect(states).toEqual(['disconnected']);
    view.off('state', listener);
    const connected = once(zk, 'connected');
    await timers.advance(10);
    await connected;
    expect(states).toEqual(['disconnected']);
  });
});
