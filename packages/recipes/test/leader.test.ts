import { ZabError } from '@zabkit/client';
import { startEnsemble } from '@zabkit/server';
import { describe, expect, it } from 'vitest';
import { LeaderLatch } from '../src/leader-latch.js';
import { LeaderSelector } from '../src/leader-selector.js';
import { sleep, until, useServers } from './support.js';

const { clients, start, clientsOf } = useServers();

/** Follows latches' events: how many lead at once, at most. */
function track(latches: LeaderLatch[]) {
  const state = { leading: 0, max: 0, elected: [] as number[] };
  for (const [i, latch] of latches.entries()) {
    latch.on('isLeader', () => {
      state.leading++;
      state.max = Math.max(state.max, state.leading);
      state.elected.push(i);
    });
    latch.on('notLeader', () => state.leading--);
  }
  return state;
}

describe('LeaderLatch', () => {
  it('elects exactly one leader and hands over, one at a time, as leaders close', async () => {
    const zks = await clientsOf(start(), 4);
    const latches = zks.map((zk, i) => new LeaderLatch(zk, '/election/latch', `p${i}`));
    const seen = track(latches);
    for (const latch of latches) await latch.start();
    await until(() => latches.some((latch) => latch.hasLeadership()));
    expect(latches.filter((latch) => latch.hasLeadership())).toHaveLength(1);
    expect(latches[0]!.hasLeadership()).toBe(true);
    expect(await latches[3]!.getLeader()).toBe('p0');
    // Herd-free: each follower watches only the participant just ahead of it.
    const nodes = await latches[0]!.participants();
    for (let i = 1; i < 4; i++) {
      for (const [j, node] of nodes.entries())
        expect(zks[i]!.hasWatch('data', `/election/latch/${node}`)).toBe(j === i - 1);
    }
    for (let round = 0; round < 3; round++) {
      const leader = latches.findIndex((latch) => latch.hasLeadership());
      await latches[leader]!.close();
      await until(() => latches.filter((latch) => latch.hasLeadership()).length === 1);
    }
    expect(seen.max).toBe(1);
    expect(seen.elected).toEqual([0, 1, 2, 3]);
    await latches[3]!.close();
    expect(await zks[0]!.getChildren('/election/latch')).toEqual([]);
  });

  it('hands leadership over when the leader’s session expires', async () => {
    const server = start();
    const [silent] = await clientsOf(server, 1, { sessionTimeoutMs: 600, heartbeat: false });
    const [other] = await clientsOf(server, 1);
    const leader = new LeaderLatch(silent!, '/election/expiry', 'silent');
    await leader.start();
    expect(leader.hasLeadership()).toBe(true);
    let notLeader = 0;
    leader.on('notLeader', () => notLeader++);
    const follower = new LeaderLatch(other!, '/election/expiry', 'other');
    await follower.start();
    expect(follower.hasLeadership()).toBe(false);
    expect(await follower.awaitLeadership({ timeoutMs: 5000 })).toBe(true);
    await until(() => !leader.hasLeadership());
    expect(notLeader).toBe(1);
    await expect(leader.awaitLeadership()).rejects.toSatisfy(
      (error: unknown) => error instanceof ZabError && error.is('SessionExpired'),
    );
    await leader.close();
    await follower.close();
  });

  it('gives leadership up on connection loss and rejoins the race once reconnected', async () => {
    const [a, b] = await clientsOf(start(), 2);
    const first = new LeaderLatch(a!, '/election/loss', 'a');
    const second = new LeaderLatch(b!, '/election/loss', 'b');
    const seen = track([first, second]);
    await first.start();
    await second.start();
    expect(first.hasLeadership()).toBe(true);
    const before = first.nodePath;
    a!.simulateConnectionLoss();
    expect(first.hasLeadership()).toBe(false);
    // Reconnected, it made a new node behind the other participant, who now leads.
    await until(() => second.hasLeadership());
    await until(async () => (await second.participants()).length === 2 && first.nodePath !== before);
    expect(first.hasLeadership()).toBe(false);
    expect((await second.participants())[1]).toBe(first.nodePath!.split('/').pop());
    expect(seen.max).toBe(1);
    await second.close();
    await until(() => first.hasLeadership());
    await first.close();
  });

  it('awaits leadership with a timeout, an abort and a close', async () => {
    const [a, b] = await clientsOf(start(), 2);
    const leader = new LeaderLatch(a!, '/election/await');
    const follower = new LeaderLatch(b!, '/election/await');
    await leader.start();
    await follower.start();
    expect(await leader.await()).toBe(true);
    expect(await follower.awaitLeadership({ timeoutMs: 50 })).toBe(false);
    const controller = new AbortController();
    const aborted = follower.awaitLeadership({ signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    // The rejection is expected before close() resolves: were close to wait a turn of the
    // event loop, an unobserved rejection would be reported as unhandled.
    const closing = expect(follower.awaitLeadership()).rejects.toThrow(/closed/);
    await follower.close();
    await closing;
    await expect(new LeaderLatch(a!, '/x').awaitLeadership()).rejects.toThrow(/latent/);
    await leader.close();
    expect(leader.hasLeadership()).toBe(false);
    expect(a!.hasWatch('data', leader.nodePath ?? '')).toBe(false);
  });

  it('keeps one leader at a time while the ensemble loses its leader', async () => {
    const ensemble = await startEnsemble({
      servers: 3,
      tickTimeMs: 50,
      peer: { maxSessionTimeoutMs: 20_000 },
    });
    try {
      const zks = await Promise.all([0, 1, 2].map(() => ensemble.client({ sessionTimeoutMs: 5000 })));
      clients.push(...zks);
      const latches = zks.map((zk, i) => new LeaderLatch(zk, '/election/ensemble', `p${i}`));
      const seen = track(latches);
      for (const latch of latches) await latch.start();
      await until(() => latches.some((latch) => latch.hasLeadership()));
      const oneLeader = (step: string) =>
        until(() => latches.filter((latch) => latch.hasLeadership()).length === 1, 25_000).catch(
          async (error) => {
            // Say where it stuck: each client's state and the election's queue.
            const queue = await zks.find((zk) => zk.state === 'connected')?.getChildren('/election/ensemble');
            throw new Error(
              `${error} ${step}: states ${zks.map((zk) => zk.state)}; leading ${latches.map((l) => l.hasLeadership())}; queue ${queue}`,
            );
          },
        );
      await ensemble.kill(await ensemble.waitForLeader());
      await oneLeader('after the kill');
      const leader = latches.findIndex((latch) => latch.hasLeadership());
      await latches[leader]!.close();
      await oneLeader('after the close');
      expect(seen.max).toBe(1);
      for (const latch of latches) await latch.close();
    } finally {
      for (const zk of clients.splice(0)) await zk.close().catch(() => undefined);
      await ensemble.close();
    }
  }, 60_000);
});

describe('LeaderSelector', () => {
  it('runs one leader at a time and takes turns with autoRequeue', async () => {
    const zks = await clientsOf(start(), 3);
    let leading = 0;
    let maxLeading = 0;
    const terms: number[] = [];
    const selectors = zks.map((zk, i) =>
      new LeaderSelector(zk, '/selector/turns', {
        async takeLeadership() {
          leading++;
          maxLeading = Math.max(maxLeading, leading);
          terms.push(i);
          await sleep(5);
          leading--;
        },
      }).autoRequeue(),
    );
    for (const selector of selectors) selector.start();
    await until(() => terms.length >= 12);
    for (const selector of selectors) await selector.close();
    expect(maxLeading).toBe(1);
    // Each requeues at the back: every participant leads in turn.
    for (const i of [0, 1, 2]) expect(terms.filter((t) => t === i).length).toBeGreaterThanOrEqual(3);
    expect(await zks[0]!.getChildren('/selector/turns')).toEqual([]);
  });

  it('leads once without autoRequeue, and again on requeue', async () => {
    const [zk] = await clientsOf(start(), 1);
    let terms = 0;
    const selector = new LeaderSelector(zk!, '/selector/once', {
      async takeLeadership() {
        terms++;
      },
    });
    selector.start();
    await until(() => terms === 1);
    await sleep(50);
    expect(terms).toBe(1);
    await until(() => selector.requeue());
    await until(() => terms === 2);
    await selector.close();
  });

  it('aborts the leader on connection loss, and another takes over only after it stopped', async () => {
    const [a, b] = await clientsOf(start(), 2);
    let leading = 0;
    let maxLeading = 0;
    const aborted: string[] = [];
    const lead = (name: string) => ({
      async takeLeadership(signal: AbortSignal) {
        leading++;
        maxLeading = Math.max(maxLeading, leading);
        await new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => resolve(), { once: true }),
        );
        aborted.push(name);
        leading--;
      },
    });
    const first = new LeaderSelector(a!, '/selector/loss', lead('a')).autoRequeue();
    first.start();
    await until(() => first.hasLeadership());
    const second = new LeaderSelector(b!, '/selector/loss', lead('b')).autoRequeue();
    second.start();
    await until(async () => (await second.participants()).length === 2);
    a!.simulateConnectionLoss();
    expect(first.hasLeadership()).toBe(false);
    await until(() => second.hasLeadership());
    expect(aborted).toEqual(['a']);
    expect(maxLeading).toBe(1);
    await second.close();
    expect(aborted).toEqual(['a', 'b']);
    await until(() => first.hasLeadership());
    await first.close();
    expect(await a!.getChildren('/selector/loss')).toEqual([]);
  });

  it('keeps one leader at a time while the ensemble loses its leader', async () => {
    const ensemble = await startEnsemble({
      servers: 3,
      tickTimeMs: 50,
      peer: { maxSessionTimeoutMs: 20_000 },
    });
    try {
      const zks = await Promise.all([0, 1, 2].map(() => ensemble.client({ sessionTimeoutMs: 5000 })));
      clients.push(...zks);
      let leading = 0;
      let maxLeading = 0;
      let terms = 0;
      const selectors = zks.map((zk) =>
        new LeaderSelector(
          zk,
          '/selector/ensemble',
          {
            async takeLeadership(signal) {
              leading++;
              maxLeading = Math.max(maxLeading, leading);
              terms++;
              await sleep(3);
              leading--;
              if (signal.aborted) return;
            },
          },
          { onError: () => undefined },
        ).autoRequeue(),
      );
      for (const selector of selectors) selector.start();
      await until(() => terms >= 3);
      await ensemble.kill(await ensemble.waitForLeader());
      const after = terms;
      await until(() => terms >= after + 9, 25_000).catch(async (error) => {
        // Say where it stuck: each client's state and the lock's queue.
        const queue = await zks.find((zk) => zk.state === 'connected')?.getChildren('/selector/ensemble');
        throw new Error(
          `${error}: ${terms - after} terms; states ${zks.map((zk) => zk.state)}; leading ${selectors.map((s) => s.hasLeadership())}; queue ${queue}`,
        );
      });
      for (const selector of selectors) await selector.close();
      expect(maxLeading).toBe(1);
    } finally {
      for (const zk of clients.splice(0)) await zk.close().catch(() => undefined);
      await ensemble.close();
    }
  }, 60_000);
});
