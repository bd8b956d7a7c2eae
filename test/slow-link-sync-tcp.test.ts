/**
 * A SNAP over a slow link: 3 `zabkit server` processes on LevelDB, every peer link through a
 * TCP proxy, the links between the leader and a rejoining follower throttled to 160 KB/s. One
 * 1 MiB chunk of the sync (the default size) then takes about 6.5 s to arrive, longer than
 * initLimit (4 s here) and syncLimit (2 s), and with a window of one chunk the leader waits
 * that long for each credit. The sync is slow but it must finish: liveness is measured by the bytes
 * that arrive, not by whole chunks. A link that carries nothing at all must still fail the
 * sync, on both sides, saying why; once it carries again the follower syncs and serves.
 */
import { createHash } from 'node:crypto';
import { connectTcp, type ZabClient } from '@zabkit/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Nemesis } from './support/nemesis.js';
import {
  type Member,
  type ProcessEnsemble,
  startProcessEnsemble,
  until,
} from './support/process-ensemble.js';

/** tickTime 400 ms with process-ensemble's initLimit 10 and syncLimit 5: 4 s and 2 s. */
const tickTimeMs = 400;
const initLimitMs = 10 * tickTimeMs;
const throttleBytesPerSecond = 160_000;
const chunkBytes = 1024 * 1024;
const nodeBytes = 100 * 1024;
/** 2.4 MB: more than the window and a chunk, so the leader waits for credit mid-stream. */
const bigNodes = 24;

interface LogLine {
  readonly time: number;
  readonly msg: string;
}

/** A member's JSON log lines whose message matches `pattern`. */
function logged(member: Member, pattern: RegExp): LogLine[] {
  return member
    .stderr()
    .split('\n')
    .flatMap((line) => {
      try {
        const { msg, time } = JSON.parse(line) as { msg?: string; time?: string | number };
        if (msg === undefined || time === undefined || !pattern.test(msg)) return [];
        return [{ time: typeof time === 'number' ? time : Date.parse(time), msg }];
      } catch {
        return [];
      }
    });
}

/** A member's last log lines, to say what it did when a test fails. */
const tail = (member: Member) =>
  logged(member, /./)
    .slice(-40)
    .map((line) => `${new Date(line.time).toISOString()} ${line.msg}`)
    .join('\n');

/** Distinct, incompressible-looking contents for node `i`. */
function contents(i: number): Uint8Array {
  const data = new Uint8Array(nodeBytes);
  let x = (i + 1) * 2_654_435_761;
  for (let k = 0; k < data.length; k++) {
    x = (x * 1_103_515_245 + 12_345) >>> 0;
    data[k] = x >>> 24;
  }
  return data;
}

const sha = (data: Uint8Array | null) =>
  data === null ? 'null' : createHash('sha256').update(data).digest('hex');

describe('a SNAP over a slow link (processes, TCP proxies, LevelDB)', () => {
  const nemesis = new Nemesis();
  let ensemble: ProcessEnsemble;
  const clients: ZabClient[] = [];

  beforeAll(async () => {
    ensemble = await startProcessEnsemble({
      size: 3,
      tickTime: tickTimeMs,
      // A snapshot every few writes: the leader's log soon no longer reaches an absent follower.
      snapCount: 8,
      logLevel: 'info',
      route: (from, to, port) => nemesis.route(from, to, port),
      extraConfig: () => [`zabkit.syncChunkBytes=${chunkBytes}`, `zabkit.syncWindowBytes=${chunkBytes}`],
    });
    await ensemble.settled(60_000);
  }, 90_000);

  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await ensemble?.stop();
    await nemesis.close();
  });

  it('finishes slowly rather than never; fails, saying why, when the link carries nothing', async () => {
    const leader = await ensemble.leader();
    const follower = ensemble.members.find((member) => member !== leader)!;
    const client = await connectTcp(`127.0.0.1:${leader.clientPort}`, { sessionTimeoutMs: 20_000 });
    clients.push(client);

    // Away while the state grows past a chunk and the log past where it stopped: a SNAP.
    await follower.kill();
    const paths: string[] = [];
    const digests: string[] = [];
    for (let i = 0; i < bigNodes; i++) {
      const data = contents(i);
      paths.push(await client.create(`/big${i}`, data));
      digests.push(sha(data));
    }
    for (let i = 0; i < 20; i++) await client.create(`/small${i}`, 's');

    // First the link stops carrying anything from the leader once the sync began: the sync
    // must fail, and say so.
    const fromLeader = (what: string) => new RegExp(`^learner sync from leader ${leader.id} ${what}`);
    const toFollower = (what: string) => new RegExp(`^learner sync to server ${follower.id} ${what}`);
    nemesis.throttle(leader.id, follower.id, throttleBytesPerSecond);
    const startedMs = Date.now();
    follower.start();
    await until(
      async () => logged(follower, fromLeader('started \\(SNAP')).find((line) => line.time >= startedMs),
      30_000,
    );
    nemesis.cutOneWay(leader.id, follower.id);
    const cutMs = Date.now();
    // Both sides give it up, saying why: the follower for the lack of progress; the leader for
    // that, or for the follower's silence once it gave up (when the window held what was left
    // to send, NEWLEADER has gone and the leader waits on the follower alone).
    const gaveUp = async (member: Member, pattern: RegExp) =>
      await until(
        async () => logged(member, pattern).find((line) => line.time >= cutMs),
        4 * initLimitMs,
      ).catch((error: unknown) => {
        throw new Error(
          `server ${member.id} never gave the dead sync up; the leader's last log lines:\n${tail(leader)}\nthe follower's:\n${tail(follower)}`,
          { cause: error },
        );
      });
    const followerGaveUp = await gaveUp(follower, fromLeader('failed: '));
    const leaderGaveUp = await gaveUp(leader, toFollower('failed: .*(stalled|silent)'));
    // Not before the limit: it is the lack of progress that ends it, not the slowness.
    expect(Math.min(followerGaveUp.time, leaderGaveUp.time) - cutMs).toBeGreaterThanOrEqual(
      initLimitMs - 500,
    );

    // Then it carries, slowly: the SNAP takes many times initLimit, and finishes.
    nemesis.heal();
    nemesis.throttle(leader.id, follower.id, throttleBytesPerSecond);
    const slowFromMs = Date.now();
    await until(async () => ((await follower.mode()) === 'follower' ? true : undefined), 40_000).catch(
      (error: unknown) => {
        throw new Error(
          `server ${follower.id} did not serve over the slow link; its last log lines:\n${tail(follower)}\nthe leader's:\n${tail(leader)}`,
          { cause: error },
        );
      },
    );
    const finished = await until(async () =>
      logged(follower, fromLeader('finished')).find((line) => line.time >= slowFromMs),
    );
    expect(finished.msg).toMatch(/\(SNAP, \d+ bytes/);
    // It went as slowly as the link: several times initLimit, so no chunk could have come whole in it.
    const tookMs = Number(/bytes in (\d+) ms/.exec(finished.msg)![1]);
    expect(tookMs).toBeGreaterThan(initLimitMs);
    // Neither side gave this sync up on the way.
    expect(logged(follower, fromLeader('failed')).filter((line) => line.time >= slowFromMs)).toEqual([]);
    expect(logged(leader, toFollower('failed')).filter((line) => line.time >= slowFromMs)).toEqual([]);
    console.log(
      `slow-link SNAP: ${/\(SNAP, (\d+) bytes/.exec(finished.msg)![1]} bytes in ${tookMs} ms at ${throttleBytesPerSecond} B/s; ` +
        `the dead link was given up ${followerGaveUp.time - cutMs} ms after the cut by the follower (${followerGaveUp.msg}), ${leaderGaveUp.time - cutMs} ms by the leader (${leaderGaveUp.msg})`,
    );

    nemesis.throttle(leader.id, follower.id, 0);
    const reader = await connectTcp(`127.0.0.1:${follower.clientPort}`, { sessionTimeoutMs: 20_000 });
    clients.push(reader);
    await reader.sync('/');
    for (let i = 0; i < bigNodes; i++) {
      const { data } = await reader.getData(paths[i]!);
      expect(sha(data), paths[i]).toBe(digests[i]);
    }
    expect(await reader.exists('/small19')).not.toBeNull();
  }, 120_000);
});
