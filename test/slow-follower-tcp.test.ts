/**
 * A follower behind a slow link: 3 `zabkit server` processes on LevelDB, every peer link
 * through a TCP proxy, the links between the leader and one follower throttled to 100 KB/s
 * while a client writes on the leader. The leader must keep serving as fast as before (its
 * quorum is itself and the other follower), report the slow follower's lag in mntr, drop it
 * once it is more than zabkit.learnerLagBytesMax behind and close its link, so that the
 * follower knows at once (not after syncLimit) and syncs again; once the throttle goes it
 * catches up, and every server holds the same tree, with every acknowledged write.
 */
import { createHash } from 'node:crypto';
import { connectTcp, type ZabClient } from '@zabkit/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Nemesis } from './support/nemesis.js';
import {
  fourLetterWord,
  logRecords,
  type Member,
  type ProcessEnsemble,
  startProcessEnsemble,
  until,
} from './support/process-ensemble.js';

/** tickTime 1000 ms, syncLimit 5 ticks (process-ensemble's zoo.cfg): a silent leader is noticed after 5 s. */
const tickTimeMs = 1000;
const syncLimitMs = 5 * tickTimeMs;
const lagBytesMax = 2 * 1024 * 1024;
const throttleBytesPerSecond = 100_000;
const keys = 64;
const valueBytes = 8 * 1024;

interface LogLine {
  readonly time: number;
  readonly msg: string;
}

/** A member's JSON log lines whose message matches `pattern`. */
function logged(member: Member, pattern: RegExp): LogLine[] {
  return logRecords(member).flatMap(({ msg, time }) => {
    if (typeof msg !== 'string' || !(typeof time === 'string' || typeof time === 'number')) return [];
    if (!pattern.test(msg)) return [];
    return [{ time: typeof time === 'number' ? time : Date.parse(time), msg }];
  });
}

/** A member's last log lines, to say what it did when a test fails. */
const tail = (member: Member) =>
  logged(member, /./)
    .slice(-25)
    .map((line) => `${new Date(line.time).toISOString()} ${line.msg}`)
    .join('\n');

/** `value` for round `round` of key `key`: distinct per write. */
function value(key: number, round: number): Uint8Array {
  const data = new Uint8Array(valueBytes);
  let x = (key * 7919 + round * 104_729 + 1) >>> 0;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1_103_515_245 + 12_345) >>> 0;
    data[i] = x >>> 24;
  }
  return data;
}

const sha = (data: Uint8Array | null) =>
  data === null ? 'null' : createHash('sha256').update(data).digest('hex');

/** The leader's mntr figure for follower `id`'s unacknowledged proposals (0 when absent). */
async function lagInMntr(leader: Member, id: number): Promise<number> {
  const text = await fourLetterWord(leader.clientPort, 'mntr');
  // A summary keyed by server id, as ZooKeeper prints one: zk_max_<id>_learner_handler_qp_size.
  const figure = new RegExp(`^zk_max_${id}_learner_handler_qp_size\\s+(\\d+)`, 'm').exec(text)?.[1];
  return figure === undefined ? 0 : Number(figure);
}

describe('a follower behind a throttled link (processes, TCP proxies, LevelDB)', () => {
  const nemesis = new Nemesis();
  let ensemble: ProcessEnsemble;
  const clients: ZabClient[] = [];

  beforeAll(async () => {
    ensemble = await startProcessEnsemble({
      size: 3,
      tickTime: tickTimeMs,
      logLevel: 'info',
      route: (from, to, port) => nemesis.route(from, to, port),
      extraConfig: () => [`zabkit.learnerLagBytesMax=${lagBytesMax}`],
    });
    await ensemble.settled(60_000);
  }, 90_000);

  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await ensemble?.stop();
    await nemesis.close();
  });

  it('the leader keeps serving, drops the slow follower and closes its link; it catches up once the link is fast', async () => {
    const leader = await ensemble.leader();
    const [slow, other] = ensemble.members.filter((member) => member !== leader) as [Member, Member];
    const client = await connectTcp(`127.0.0.1:${leader.clientPort}`, { sessionTimeoutMs: 20_000 });
    clients.push(client);
    const latest = new Map<number, number>();
    for (let key = 0; key < keys; key++) {
      await client.create(`/k${key}`, value(key, 0));
      latest.set(key, 0);
    }
    let round = 0;
    /** Four writers set the keys in turn for `ms`; writes per second and the slowest, in ms. */
    async function write(
      ms: number,
      meanwhile?: () => Promise<void>,
    ): Promise<{ rate: number; worstMs: number }> {
      const started = Date.now();
      let done = 0;
      let worstMs = 0;
      const writer = async () => {
        while (Date.now() - started < ms) {
          const key = done++ % keys;
          const r = ++round;
          const t = Date.now();
          await client.setData(`/k${key}`, value(key, r));
          worstMs = Math.max(worstMs, Date.now() - t);
          if ((latest.get(key) ?? -1) < r) latest.set(key, r);
        }
      };
      const watching = meanwhile?.();
      await Promise.all([writer(), writer(), writer(), writer()]);
      await watching;
      return { rate: (done * 1000) / (Date.now() - started), worstMs };
    }

    const before = await write(3000);
    expect(before.rate).toBeGreaterThan(10);

    // Throttled: the slow follower takes 100 KB/s, the clients write far more.
    const dropLine = new RegExp(`^dropping server ${slow.id}, which fell behind`);
    const closeLine = new RegExp(`^closing the link to server ${slow.id}: `);
    nemesis.throttle(leader.id, slow.id, throttleBytesPerSecond);
    let lagSeen = 0;
    const during = await write(8000, async () => {
      const until = Date.now() + 7000;
      while (Date.now() < until) {
        lagSeen = Math.max(lagSeen, await lagInMntr(leader, slow.id));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });
    // The leader served as fast as before (a third of it, on a machine shared with others).
    expect(during.rate).toBeGreaterThan(before.rate / 3);
    expect(during.worstMs).toBeLessThan(syncLimitMs);
    // The lag showed in mntr, and the leader dropped it for it, saying so, and closed its link.
    expect(lagSeen).toBeGreaterThan(0);
    const [drop] = await until(async () => {
      const lines = logged(leader, dropLine);
      return lines.length > 0 ? lines : undefined;
    }, 10_000);
    expect(drop!.msg).toMatch(/learnerLagBytesMax \(2097152\)/);
    const closed = logged(leader, closeLine).find((line) => line.time >= drop!.time);
    expect(closed, 'the leader closed the dropped follower’s link').toBeDefined();
    // The follower learnt of it from the closed link, at once: not from syncLimit's silence.
    const left = await until(async () =>
      logged(
        slow,
        new RegExp(`^no longer follower of ${leader.id} .*lost the link to leader ${leader.id}`),
      ).find((line) => line.time >= closed!.time - 50),
    ).catch((error: unknown) => {
      throw new Error(
        `server ${slow.id} did not say it lost its leader; its last log lines:\n${tail(slow)}\nthe leader's:\n${tail(leader)}`,
        {
          cause: error,
        },
      );
    });
    expect(left.time - closed!.time).toBeLessThan(syncLimitMs / 2);
    console.log(
      `slow follower: ${before.rate.toFixed(0)} writes/s before the throttle, ${during.rate.toFixed(0)} during it (slowest ${during.worstMs} ms); ` +
        `lag in mntr up to ${lagSeen} proposals; the follower left its leader ${left.time - closed!.time} ms after the leader closed the link`,
    );
    // It looked for a leader and started syncing again (the sync may fail while throttled).
    await until(
      async () =>
        logged(leader, new RegExp(`^learner sync to server ${slow.id} started`)).find(
          (line) => line.time > closed!.time,
        ),
      20_000,
    );
    // The other follower was never dropped.
    expect(logged(leader, new RegExp(`^dropping server ${other.id}`))).toEqual([]);

    // The throttle goes: it syncs and serves, while writes go on.
    nemesis.throttle(leader.id, slow.id, 0);
    const serving = until(async () => ((await slow.mode()) === 'follower' ? true : undefined), 60_000);
    await write(2000);
    await serving;
    await write(1000);

    // Every server holds every key's last acknowledged value: the same tree everywhere.
    for (const member of ensemble.members) {
      const reader = await connectTcp(`127.0.0.1:${member.clientPort}`, { sessionTimeoutMs: 20_000 });
      clients.push(reader);
      await reader.sync('/');
      for (let key = 0; key < keys; key++) {
        const { data } = await reader.getData(`/k${key}`);
        expect(sha(data), `server ${member.id} /k${key}`).toBe(sha(value(key, latest.get(key)!)));
      }
    }
  }, 180_000);
});
