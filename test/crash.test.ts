/**
 * Real crashes: a 3-server ensemble of separate processes on LevelDB, a client that records
 * every acknowledged write, and servers killed with SIGKILL at random moments (the leader
 * included, sometimes two at once, sometimes all three), then restarted from their disks.
 * At the end every acknowledged write must be on every server, and the servers' trees must
 * be identical. ZABKIT_CRASH_CYCLES sets the number of cycles (20 by default).
 */
import { connectTcp, type ZabClient } from '@zabkit/client';
import { afterAll, describe, expect, it } from 'vitest';
import { type Member, type ProcessEnsemble, startProcessEnsemble } from './support/process-ensemble.js';

const cycles = Number(process.env.ZABKIT_CRASH_CYCLES ?? 20);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A small seeded PRNG (mulberry32): a failing run prints its seed to replay the schedule. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every znode under `path` with its data and the Stat fields that must agree everywhere. */
async function dump(client: ZabClient, path = '/'): Promise<Map<string, string>> {
  const nodes = new Map<string, string>();
  const visit = async (at: string) => {
    const { data, stat } = await client.getData(at);
    nodes.set(
      at,
      `${new TextDecoder().decode(data)}|${stat.czxid}|${stat.mzxid}|${stat.pzxid}|${stat.version}|${stat.cversion}|${stat.numChildren}`,
    );
    for (const child of await client.getChildren(at)) {
      if (at === '/' && child === 'zookeeper') continue;
      await visit(at === '/' ? `/${child}` : `${at}/${child}`);
    }
  };
  await visit(path);
  return nodes;
}

describe('acknowledged writes survive SIGKILL of real server processes on LevelDB', () => {
  let ensemble: ProcessEnsemble | undefined;
  afterAll(async () => {
    await ensemble?.stop();
  });

  it(`${cycles} kill/restart cycles lose nothing and leave identical trees`, async () => {
    const seed = Number(process.env.ZABKIT_CRASH_SEED ?? Date.now() % 1_000_000);
    const random = prng(seed);
    console.log(`crash test seed ${seed} (ZABKIT_CRASH_SEED=${seed} replays the schedule)`);
    ensemble = await startProcessEnsemble({ size: 3 });
    const { members } = ensemble;
    /** For each path, the number of the last write to it the server acknowledged. */
    const acknowledged = new Map<string, number>();
    let stop = false;
    let attempted = 0;
    /** The paths a create is known to have made. */
    const created = new Set<string>();

    // The writer: creates and overwrites, recording only what the server acknowledged.
    const writer = (async () => {
      let client: ZabClient | undefined;
      while (!stop) {
        try {
          if (client === undefined || client.state === 'expired' || client.state === 'closed') {
            await client?.close().catch(() => undefined);
            client = await connectTcp(ensemble!.connectString, {
              sessionTimeoutMs: 6000,
              connectTimeoutMs: 3000,
            });
          }
          const n = attempted++;
          const path = `/w${n % 150}`;
          const value = `v${n}`;
          // A path is created until a create of it is known to have taken effect, so a run
          // of failed creates early on (a loaded machine, an election) does not leave paths
          // that every later setData of them would miss with NoNode.
          if (created.has(path)) await client.setData(path, value);
          else {
            try {
              await client.create(path, value);
            } catch (error) {
              // An earlier create whose answer was lost did take effect.
              if ((error as { codeName?: string }).codeName !== 'NodeExists') throw error;
              created.add(path);
              await client.setData(path, value);
            }
            created.add(path);
          }
          acknowledged.set(path, n);
        } catch {
          // ConnectionLoss and friends: the outcome is unknown, so nothing is recorded.
          await sleep(20);
        }
      }
      await client?.close().catch(() => undefined);
    })();

    for (let cycle = 0; cycle < cycles; cycle++) {
      await sleep(100 + random() * 400);
      const roll = random();
      let victims: Member[];
      if (roll < 0.15) victims = [...members];
      else if (roll < 0.3) victims = members.filter((_m, i) => i !== Math.floor(random() * 3));
      else if (roll < 0.65) victims = [await ensemble.leader()];
      else victims = [members[Math.floor(random() * 3)]!];
      for (const victim of victims) await victim.kill();
      await sleep(random() * 500);
      for (const victim of victims) victim.start();
      await ensemble.settled(30_000);
    }
    // On a loaded machine the cycles may leave the writer little time between kills: once
    // they are over it writes on, undisturbed, until enough paths hold an acknowledged write
    // for the check below to mean something (or 60 s pass, and the check fails).
    const enoughBy = Date.now() + 60_000;
    while (acknowledged.size <= 50 && Date.now() < enoughBy) await sleep(50);
    stop = true;
    await writer;
    expect(acknowledged.size).toBeGreaterThan(50);

    // Every server, read on its own after a sync, holds every acknowledged write.
    await ensemble.settled(30_000);
    const trees: Map<string, string>[] = [];
    for (const member of members) {
      const client = await connectTcp(`127.0.0.1:${member.clientPort}`);
      await client.sync('/');
      const tree = await dump(client);
      await client.close();
      // The value is the last acknowledged write's, or a later one whose outcome was unknown.
      for (const [path, n] of acknowledged) {
        const value = tree.get(path)?.split('|')[0];
        expect(value, `server ${member.id} lost ${path} (seed ${seed})`).toMatch(/^v\d+$/);
        expect(
          Number(value!.slice(1)),
          `server ${member.id}: ${path} went back (seed ${seed})`,
        ).toBeGreaterThanOrEqual(n);
      }
      trees.push(tree);
    }
    expect(trees[1]).toEqual(trees[0]);
    expect(trees[2]).toEqual(trees[0]);
    console.log(
      `crash test: ${cycles} cycles, ${attempted} writes attempted, ${acknowledged.size} paths acknowledged`,
    );
  }, 300_000);
});
