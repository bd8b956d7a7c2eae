/**
 * Read-only mode (-Dreadonlymode.enabled=true), against an ensemble of three Apache
 * ZooKeeper 3.8 servers and one of three zabkit servers side by side, through the Java
 * client (canBeReadOnly) and kazoo (read_only=True). Two members are killed: once the
 * survivor has looked for a leader for its grace period (max(2 s, tickTime)) it serves
 * reads to clients that allow read-only connections, answers `isro` with `ro`, refuses
 * writes with NotReadOnly and refuses clients that do not allow read-only; when the two
 * come back it serves as a follower or leader again and its clients reconnect read-write.
 * 3.8 and 3.9 agree here (3.9's ReadOnlyZooKeeperServer differs from 3.8.0's in logging).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fourLetterWord,
  type ProcessEnsemble,
  startProcessEnsemble,
  until,
} from '../support/process-ensemble.js';
import { type ClientKind, javaClientInstalled, kazooInstalled } from './drivers.js';
import { DifferentialPair, differences } from './harness.js';
import { type RunningServer, type ServerKind, zookeeperInstalled } from './servers.js';

const clients: ClientKind[] = [
  ...(javaClientInstalled ? (['java'] as const) : []),
  ...(kazooInstalled ? (['kazoo'] as const) : []),
];
const installed = zookeeperInstalled && clients.length > 0;
if (!installed) console.warn('Apache ZooKeeper or its clients are not installed: skipping');

function memberServer(kind: ServerKind, ensemble: ProcessEnsemble): RunningServer {
  const member = ensemble.members[0]!;
  return {
    kind,
    port: member.clientPort,
    connectString: `127.0.0.1:${member.clientPort}`,
    stderr: () => member.stderr(),
    stop: () => ensemble.stop(),
  };
}

describe.skipIf(!installed)('read-only mode, zabkit against ZooKeeper', () => {
  let pair: DifferentialPair;
  const ensembles = {} as Record<ServerKind, ProcessEnsemble>;

  beforeAll(async () => {
    const options = { size: 3, tickTime: 500, systemProperties: { 'readonlymode.enabled': 'true' } };
    const [zookeeper, zabkit] = await Promise.all([
      // ZooKeeper's read-only server takes new sessions only as local sessions: with its
      // default localSessionsEnabled=false, 3.8 (and 3.9) refuse every client in read-only
      // mode. zabkit's read-only sessions are its own without a setting.
      startProcessEnsemble({
        ...options,
        kind: 'zookeeper',
        extraConfig: () => ['localSessionsEnabled=true'],
      }),
      startProcessEnsemble(options),
    ]);
    ensembles.zookeeper = zookeeper;
    ensembles.zabkit = zabkit;
    await Promise.all([zookeeper.settled(60_000), zabkit.settled(60_000)]);
    pair = await DifferentialPair.around(
      { zookeeper: memberServer('zookeeper', zookeeper), zabkit: memberServer('zabkit', zabkit) },
      { clients },
    );
  }, 180_000);

  afterAll(async () => {
    await pair?.stop();
  });

  for (const client of clients) {
    it(`serves reads, refuses writes and moves clients back once the quorum returns (${client})`, async () => {
      const root = `/ro-${client}`;
      const transcripts = await pair.run(client, async (t) => {
        const ensemble = ensembles[t.server];
        const [survivor, ...others] = ensemble.members;
        const port = survivor!.clientPort;
        const isro = () => fourLetterWord(port, 'isro');
        /** Waits until isro answers `want`; a timeout is noted, not thrown, so the transcripts show it. */
        const isroBecomes = (want: string) =>
          until(async () => ((await isro()) === want ? want : undefined), 60_000).catch(
            async () => `still ${await isro()} after 60 s`,
          );
        await t.connect('w', { timeoutMs: 6000, connectString: ensemble.connectString });
        await t.do({ op: 'create', session: 'w', path: root, data: 'before' });
        await t.do({ op: 'sync', session: 'w', path: root });
        await t.do({ op: 'close', session: 'w' });
        t.note('isro while in the quorum', await isro());
        for (const member of others) await member.kill();
        t.note('isro once partitioned', await isroBecomes('ro'));
        t.note('srvr mode', /Mode: (.*)/.exec(await fourLetterWord(port, 'srvr'))?.[1]);
        // A client that does not allow read-only connections is refused.
        await t.connect('n', { timeoutMs: 6000, connectString: `127.0.0.1:${port}`, waitMs: 3000 });
        await t.do({ op: 'close', session: 'n' });
        await t.connect('r', { timeoutMs: 6000, connectString: `127.0.0.1:${port}`, canBeReadOnly: true });
        await t.do({ op: 'getData', session: 'r', path: root });
        await t.do({ op: 'getChildren', session: 'r', path: '/', stat: false });
        await t.do({ op: 'exists', session: 'r', path: `${root}/none` });
        await t.do({ op: 'create', session: 'r', path: `${root}/x` });
        await t.do({ op: 'setData', session: 'r', path: root, data: 'after' });
        await t.do({ op: 'delete', session: 'r', path: root });
        await t.do({ op: 'sync', session: 'r', path: root });
        await t.events('r', 1, { timeoutMs: 2000 });
        for (const member of others) member.start();
        t.note('isro once the quorum is back', await isroBecomes('rw'));
        // The client reconnects read-write by itself (to the same server: the only one it knows).
        await t.events('r', 2, { timeoutMs: 30_000 });
        await t.do({ op: 'create', session: 'r', path: `${root}/x` });
        await t.do({ op: 'getData', session: 'r', path: `${root}/x` });
      });
      expect(differences(transcripts)).toEqual([]);
      const notes = transcripts.zookeeper
        .filter((step) => step.command.op === 'note')
        .map((step) => step.answer.result);
      expect(notes).toEqual(['rw', 'ro', 'read-only', 'rw']);
    }, 240_000);
  }
});
