/**
 * Times, through Apache ZooKeeper's Java client and kazoo, against Apache ZooKeeper 3.8 and
 * zabkit side by side. ZooKeeper stamps each transaction with its leader's wall clock when
 * it prepares it, so ctime and mtime are to the millisecond and a TTL counts from there.
 * The transcripts hide the times themselves; what is compared is how they relate to the
 * wall clock of this process (the servers run on the same machine) and to each other.
 */
import { describe, expect, it } from 'vitest';
import { type ClientKind, javaClientInstalled, kazooInstalled } from './drivers.js';
import { differences, pairForSuite, type ScenarioContext } from './harness.js';
import { zookeeperInstalled } from './servers.js';

const clients: ClientKind[] = [
  ...(javaClientInstalled ? (['java'] as const) : []),
  ...(kazooInstalled ? (['kazoo'] as const) : []),
];
const installed = zookeeperInstalled && clients.length > 0;
if (!installed) console.warn('Apache ZooKeeper or its clients are not installed: skipping');

/** How often both servers look for expired TTL nodes (-Dznode.container.checkIntervalMs). */
const checkIntervalMs = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface StatTimes {
  readonly ctime: string;
  readonly mtime: string;
}

const timesOf = (result: unknown): { ctime: number; mtime: number } => {
  const stat = ((result as { stat?: StatTimes }).stat ?? result) as StatTimes;
  return { ctime: Number(stat.ctime), mtime: Number(stat.mtime) };
};

/** Notes whether `ms` lies within [from, to], with a little room for clock granularity. */
function noteWithin(t: ScenarioContext, label: string, ms: number, from: number, to: number): void {
  t.note(
    label,
    ms >= from - 2 && ms <= to + 2 ? 'within' : `${ms - from} ms after the start of [${from}, ${to}]`,
  );
}

describe.skipIf(!installed)('ctime, mtime and TTLs, zabkit against ZooKeeper', () => {
  const pair = pairForSuite({
    clients,
    config: ['extendedTypesEnabled=true'],
    systemProperties: { 'znode.container.checkIntervalMs': String(checkIntervalMs) },
  });

  for (const client of clients) {
    it(`stamps each write with the time it was made, to the millisecond (${client})`, async () => {
      const transcripts = await pair().run(client, async (t) => {
        await t.connect('a', { timeoutMs: 4000 });
        const root = `/times-${client}`;
        const beforeCreate = Date.now();
        const created = await t.do({ op: 'create', path: root, stat: true });
        const afterCreate = Date.now();
        const createdTimes = timesOf((await t.do({ op: 'exists', path: root })).result);
        noteWithin(t, 'ctime is when the create was made', createdTimes.ctime, beforeCreate, afterCreate);
        t.note('a new node has mtime == ctime', createdTimes.mtime === createdTimes.ctime);
        t.note('create answered', created.ok);
        // Well within one tick (2000 ms) and a quarter tick: only a stamp per write tells them apart.
        await sleep(150);
        const beforeSet = Date.now();
        await t.do({ op: 'setData', path: root, data: 'x' });
        const afterSet = Date.now();
        const setTimes = timesOf((await t.do({ op: 'exists', path: root })).result);
        noteWithin(t, 'mtime is when the setData was made', setTimes.mtime, beforeSet, afterSet);
        t.note('ctime stays', setTimes.ctime === createdTimes.ctime);
        t.note('mtime - ctime covers the pause', setTimes.mtime - setTimes.ctime >= 150);
        // A child's creation moves neither the parent's ctime nor its mtime.
        await sleep(20);
        await t.do({ op: 'create', path: `${root}/kid` });
        const parent = timesOf((await t.do({ op: 'exists', path: root })).result);
        t.note('a child leaves the parent mtime', parent.mtime === setTimes.mtime);
        const kid = timesOf((await t.do({ op: 'exists', path: `${root}/kid` })).result);
        t.note('the child is younger', kid.ctime >= setTimes.mtime + 20);
      });
      expect(differences(transcripts)).toEqual([]);
      expect(
        transcripts.zookeeper.filter((step) => step.command.op === 'note').map((s) => s.answer.result),
      ).toEqual(['within', true, true, 'within', true, true, true, true]);
    });
  }

  it.skipIf(!javaClientInstalled)(
    'deletes a TTL node once its TTL has passed, not before',
    async () => {
      const ttlMs = 1000;
      const transcripts = await pair().run('java', async (t) => {
        await t.connect('a', { timeoutMs: 4000 });
        const beforeCreate = Date.now();
        await t.do({ op: 'create', path: '/ttl-node', mode: 'persistentWithTtl', ttl: ttlMs });
        const afterCreate = Date.now();
        let goneAt: number | undefined;
        for (let attempt = 0; attempt < 400 && goneAt === undefined; attempt++) {
          await sleep(20);
          const answer = await pair().driver('java', t.server).send({ op: 'exists', path: '/ttl-node' });
          if (answer.ok && answer.result === null) goneAt = Date.now();
        }
        t.note('gone', goneAt !== undefined);
        // ZooKeeper deletes it at the first check after mtime + TTL: never before.
        t.note('not before its TTL', goneAt !== undefined && goneAt - beforeCreate >= ttlMs);
        // A check comes every checkIntervalMs; the rest is room for a loaded machine.
        t.note(
          'soon after its TTL',
          goneAt !== undefined && goneAt - afterCreate <= ttlMs + checkIntervalMs + 1500,
        );
      });
      expect(differences(transcripts)).toEqual([]);
      expect(transcripts.zookeeper.slice(-3).map((step) => step.answer.result)).toEqual([true, true, true]);
    },
    60_000,
  );
});
