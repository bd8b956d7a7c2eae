/**
 * Dynamic reconfiguration through clients no one here wrote: kazoo's `reconfig`, Apache
 * ZooKeeper's Java client (ZooKeeperAdmin.reconfigure, getConfig) and zkCli.sh's `config` and
 * `reconfig -add/-remove/-members`, on an ensemble of three processes grown to five and shrunk
 * back to three while a client writes. Each test runs against Apache ZooKeeper 3.8 (Debian's
 * package, reconfigEnabled=true), which proves the test itself, then against zabkit.
 *
 * A reconfig needs the super user (ZooKeeper's default ACL on /zookeeper/config is
 * world:anyone:r): every ensemble here has a superDigest for super:test.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectTcp, type WatchedEvent, type ZabClient, ZabError } from '@zabkit/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDynamicConfig, readDynamicConfigFile } from '../../packages/server/src/dynamic-config.js';
import {
  type Member,
  type ProcessEnsemble,
  startProcessEnsemble,
  until,
} from '../support/process-ensemble.js';
import { type Answer, curatorInstalled, Driver, javaClientInstalled, kazooInstalled } from './drivers.js';
import { type ServerKind, zookeeperInstalled } from './servers.js';

const zkCli = '/usr/share/zookeeper/bin/zkCli.sh';
const installed = zookeeperInstalled && javaClientInstalled && kazooInstalled && existsSync(zkCli);
if (!installed) console.warn('Apache ZooKeeper, zkCli, its Java client or kazoo is not installed: skipping');
else if (!curatorInstalled)
  console.warn("Debian's Curator is not installed: the 3 -> 5 -> 3 test runs without its EnsembleTracker");

/** The servers these tests grow and shrink: Apache ZooKeeper, then zabkit the same way. */
const kinds: ServerKind[] = ['zookeeper', 'zabkit'];

/** super:test, as ZooKeeper's DigestAuthenticationProvider hashes it. */
const superDigest = 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=';
const superProperties = { 'zookeeper.DigestAuthenticationProvider.superDigest': superDigest };

const decode = (answer: Answer) =>
  Buffer.from((answer.result as { data: string }).data, 'base64').toString('utf8');

/** Runs zkCli.sh against `server` with `script` on stdin; resolves with what it printed. */
function zkCliRun(server: string, script: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      zkCli,
      ['-timeout', '30000', '-server', server],
      { timeout: 90_000, env: { ...process.env, ZOO_LOG4J_PROP: 'ERROR,CONSOLE' } },
      (error, stdout, stderr) => {
        if (error?.killed) reject(error);
        else resolve(`${stdout}\n${stderr}`);
      },
    );
    child.stdin!.end([...script, 'quit', ''].join('\n'));
  });
}

const zabkitBin = fileURLToPath(new URL('../../packages/server/bin/zabkit.js', import.meta.url));

/** Runs zabkit's shell the same way. */
function shellRun(server: string, script: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [zabkitBin, 'shell', '-timeout', '30000', '-server', server],
      { timeout: 90_000 },
      (error, stdout, stderr) => {
        if (error?.killed) reject(error);
        else resolve(`${stdout}\n${stderr}`);
      },
    );
    child.stdin!.end([...script, 'quit', ''].join('\n'));
  });
}

/** What a shell printed for its commands: the lines of its banner, log and session events dropped. */
const answers = (printed: string) =>
  printed
    .split('\n')
    .filter(
      (line) =>
        line.trim() !== '' && !/^(SLF4J|Connecting to|Welcome to|JLine|WATCHER::|WatchedEvent)/.test(line),
    );

/** The server ids a configuration text lists, in order. */
const idsOf = (text: string) => [...parseDynamicConfig(text, { versionLine: true }).servers.keys()];
const versionOf = (text: string) => parseDynamicConfig(text, { versionLine: true }).version!;

describe.skipIf(!installed).each(kinds)('reconfiguration by real clients (%s)', (kind) => {
  let ensemble: ProcessEnsemble;
  let java: Driver;
  let kazoo: Driver;
  let zabkit: ZabClient;
  const members = () => ensemble.members;
  const at = (member: Member) => `127.0.0.1:${member.clientPort}`;

  beforeAll(async () => {
    ensemble = await startProcessEnsemble({
      size: 3,
      standby: 2,
      kind,
      tickTime: 500,
      reconfigEnabled: true,
      systemProperties: superProperties,
    });
    await ensemble.settled(60_000);
    java = Driver.start('java');
    kazoo = Driver.start('kazoo');
    for (const driver of [java, kazoo]) {
      const connected = await driver.send({
        op: 'connect',
        connectString: ensemble.connectString,
        timeoutMs: 10_000,
      });
      expect(connected.ok, JSON.stringify(connected)).toBe(true);
    }
    zabkit = await connectTcp(ensemble.connectString, { sessionTimeoutMs: 10_000 });
  }, 180_000);

  afterAll(async () => {
    await Promise.all([java?.stop(), kazoo?.stop(), zabkit?.close()]);
    await ensemble?.stop();
  });

  /** The configuration as the Java client's getConfig reads it, after a sync. */
  const config = async () => {
    await java.send({ op: 'sync', path: '/' });
    const answer = await java.send({ op: 'getConfig' });
    expect(answer.ok, JSON.stringify(answer)).toBe(true);
    return decode(answer);
  };

  it('shows the first membership in /zookeeper/config with its version, and keeps it in zoo.cfg.dynamic.<version>', async () => {
    const text = await config();
    expect(idsOf(text)).toEqual([1, 2, 3]);
    expect(text).toMatch(/^version=[0-9a-f]+$/m);
    expect(versionOf(text)).toBeGreaterThan(0n);
    // Each member rewrote its zoo.cfg to name the dynamic file of that version.
    const member = members()[0]!;
    const pointer = await until(async () => {
      const line = /^dynamicConfigFile=(.*)$/m.exec(readFileSync(member.configFile, 'utf8'))?.[1];
      return line?.endsWith(`.dynamic.${versionOf(text).toString(16)}`) ? line : undefined;
    });
    const kept = await readDynamicConfigFile(pointer);
    expect(kept.version).toBe(versionOf(text));
    expect([...kept.servers.keys()]).toEqual([1, 2, 3]);
    expect(readFileSync(member.configFile, 'utf8')).not.toMatch(/^server\./m);
  }, 60_000);

  it('refuses a reconfig without the super user (NoAuth), from a stale version (BadVersion), without a quorum (NewConfigNoQuorum) or of one server (BadArguments)', async () => {
    const joining = members()[3]!.serverLine;
    const denied = await kazoo.send({ op: 'reconfig', joining });
    expect(denied).toMatchObject({ ok: false, code: -102 });
    expect(await zkCliRun(at(members()[0]!), [`reconfig -add ${joining}`])).toMatch(
      /^Insufficient permission : $/m,
    );
    await expect(zabkit.reconfig({ joining })).rejects.toMatchObject({ codeName: 'NoAuth' });
    for (const driver of [java, kazoo]) {
      const authed = await driver.send({ op: 'addAuth', scheme: 'digest', auth: 'super:test' });
      expect(authed.ok, JSON.stringify(authed)).toBe(true);
    }
    await zabkit.addAuth('digest', 'super:test');
    const version = versionOf(await config());
    const stale = await kazoo.send({ op: 'reconfig', joining, fromConfig: String(version + 1n) });
    expect(stale).toMatchObject({ ok: false, code: -103 });
    // Servers 4 and 5 are not running: a membership of 1, 4 and 5 has no synced quorum.
    const lines = members().map((member) => member.serverLine);
    const noQuorum = await java.send({
      op: 'reconfig',
      newMembers: [lines[0], lines[3], lines[4]].join(','),
    });
    expect(noQuorum).toMatchObject({ ok: false, code: -13 });
    const alone = await java.send({ op: 'reconfig', newMembers: lines[0] });
    expect(alone).toMatchObject({ ok: false, code: -8 });
    const refused = await zabkit
      .reconfig({ newMembers: [lines[0]!, lines[3]!, lines[4]!] })
      .catch((error) => error);
    expect(refused).toBeInstanceOf(ZabError);
    expect((refused as ZabError).codeName).toBe('NewConfigNoQuorum');
    expect(idsOf(await config())).toEqual([1, 2, 3]);
    expect(versionOf(await config())).toBe(version);
  }, 120_000);

  it("grows from 3 to 5 (kazoo adds 4, zkCli 5), zabkit's shell removes 5 and its client adds it back, zkCli's -members shrinks to 3, losing no write", async () => {
    const writer = Driver.start('kazoo');
    const written: string[] = [];
    let writing = true;
    let failures = 0;
    try {
      expect((await writer.send({ op: 'connect', connectString: ensemble.connectString })).ok).toBe(true);
      expect((await writer.send({ op: 'create', path: '/w' })).ok).toBe(true);
      const writes = (async () => {
        while (writing) {
          const answer = await writer.send({ op: 'create', path: '/w/n-', mode: 'persistentSequential' });
          if (answer.ok) written.push((answer.result as { path: string }).path);
          else failures++;
        }
      })();
      const [, , , four, five] = members() as [Member, Member, Member, Member, Member];
      four.start();
      five.start();
      // A server outside the membership syncs with the leader before it is added.
      await until(async () => ((await four.mode()) && (await five.mode()) ? true : undefined), 60_000);

      // A client under a chroot reads and watches /zookeeper/config itself, not /chroot/zookeeper/config.
      const chrooted = await connectTcp(`${ensemble.connectString}/chroot`, { sessionTimeoutMs: 10_000 });
      const events: WatchedEvent[] = [];
      expect((await chrooted.getConfig({ watch: (event) => events.push(event) })).text).toBe(await config());
      // Curator's EnsembleTracker follows the configuration (when Debian's Curator is there).
      if (curatorInstalled) {
        const started = await java.send({
          op: 'curatorStart',
          session: 'curator',
          connectString: ensemble.connectString,
        });
        expect(started.ok, JSON.stringify(started)).toBe(true);
      }
      /** Waits until Curator holds configuration `text` and connects to its client addresses. */
      const curatorFollows = async (text: string) => {
        if (!curatorInstalled) return;
        const clients = [...parseDynamicConfig(text, { versionLine: true }).servers.values()]
          .filter((server) => server.clientPort !== undefined)
          .map((server) => `${server.clientAddress}:${server.clientPort}`)
          .sort();
        await until(async () => {
          const answer = await java.send({ op: 'curatorEnsemble', session: 'curator' });
          const held = answer.result as { version: string; connectionString: string };
          return held.version === versionOf(text).toString(16) &&
            held.connectionString.split(',').sort().join(',') === clients.join(',')
            ? true
            : undefined;
        }, 30_000);
      };
      const before = versionOf(await config());
      const added = await kazoo.send({
        op: 'reconfig',
        joining: four.serverLine,
        fromConfig: String(before),
      });
      expect(added.ok, JSON.stringify(added)).toBe(true);
      expect(idsOf(decode(added))).toEqual([1, 2, 3, 4]);
      expect(decode(added)).toContain(four.serverLine);
      await until(async () => (events.length > 0 ? true : undefined));
      expect(events).toEqual([{ type: 'NodeDataChanged', path: '/zookeeper/config' }]);
      await chrooted.close();

      const printed = await zkCliRun(at(members()[0]!), [
        'addauth digest super:test',
        `reconfig -s -add ${five.serverLine}`,
      ]);
      expect(printed).toMatch(/^Committed new configuration:$/m);
      expect(printed).toContain(five.serverLine);
      expect(printed).toMatch(/^dataVersion = -1$/m);
      const grown = await config();
      expect(idsOf(grown)).toEqual([1, 2, 3, 4, 5]);
      await curatorFollows(grown);
      // Server 5 serves a client that reads the same configuration from it.
      const [theirConfig, ourConfig] = await Promise.all([
        zkCliRun(at(five), ['config', 'config -c']),
        shellRun(at(five), ['config', 'config -c']),
      ]);
      expect(theirConfig).toContain(grown);
      expect(answers(ourConfig)).toEqual(answers(theirConfig));
      // zkCli lists client addresses in java.util.Properties' order, empty for lines without one.
      expect(answers(theirConfig).at(-1)).toMatch(/^[0-9a-f]+ [0-9.:,]*127\.0\.0\.1:\d+/);
      await until(async () => {
        const modes = await Promise.all(members().map((member) => member.mode()));
        return modes.every((mode) => mode === 'leader' || mode === 'follower') ? true : undefined;
      }, 60_000);

      // zabkit's shell removes server 5 and prints what zkCli prints for it.
      const removed = await shellRun(at(members()[1]!), [
        'addauth digest super:test',
        'reconfig -s -remove 5',
        'config',
      ]);
      const afterRemove = await config();
      expect(idsOf(afterRemove)).toEqual([1, 2, 3, 4]);
      expect(answers(removed).join('\n')).toContain(
        `Committed new configuration:\n${afterRemove}\ncZxid = 0x0`,
      );
      expect(answers(removed)).toContain(`mZxid = 0x${versionOf(afterRemove).toString(16)}`);
      expect(answers(removed)).toContain('dataVersion = -1');

      // zabkit's client adds it back, from the version it read.
      const reading = await zabkit.getConfig();
      expect(reading.text).toBe(afterRemove);
      const readded = await zabkit.reconfig({ joining: [five.serverLine], fromConfig: reading.version! });
      expect(idsOf(readded.text)).toEqual([1, 2, 3, 4, 5]);
      expect(readded.stat.mzxid).toBe(readded.version);
      await expect(zabkit.reconfig({ leaving: [5], fromConfig: reading.version! })).rejects.toMatchObject({
        codeName: 'BadVersion',
      });

      // zkCli sets the first three as the whole membership.
      const first = members()
        .slice(0, 3)
        .map((member) => member.serverLine);
      const shrunk = await zkCliRun(at(members()[2]!), [
        'addauth digest super:test',
        `reconfig -members ${first.join(',')}`,
      ]);
      expect(shrunk).toMatch(/^Committed new configuration:$/m);
      const final = await config();
      expect(idsOf(final)).toEqual([1, 2, 3]);
      for (const line of first) expect(final).toContain(line);
      expect((await zabkit.getConfig()).version).toBe(versionOf(final));
      await curatorFollows(final);

      writing = false;
      await writes;
      expect(written.length).toBeGreaterThan(0);
      const listed = await writer.send({ op: 'getChildren', path: '/w' });
      const children = new Set(
        (listed.result as { children: string[] }).children.map((name) => `/w/${name}`),
      );
      expect(written.filter((path) => !children.has(path))).toEqual([]);
      // A write may fail while the leader changes (ConnectionLoss); none acknowledged is lost.
      expect(failures).toBeLessThan(written.length);

      // Server 1 keeps the final membership on disk and points zoo.cfg at it.
      const kept = await readDynamicConfigFile(
        /^dynamicConfigFile=(.*)$/m.exec(readFileSync(members()[0]!.configFile, 'utf8'))![1]!,
      );
      expect(kept.version).toBe(versionOf(final));
      expect([...kept.servers.keys()]).toEqual([1, 2, 3]);
      // Servers 4 and 5 are members no more: stopped, they leave the next test no quorum of 1, 4, 5.
      await Promise.all([four.kill(), five.kill()]);
    } finally {
      writing = false;
      await writer.stop();
    }
  }, 300_000);

  it('words what it refuses as zkCli words it: usage, -v, mixed modes, -file, BadVersion, NoAuth, BadArguments, NewConfigNoQuorum', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zabkit-reconfig-'));
    try {
      const lines = members().map((member) => member.serverLine);
      const file = join(dir, 'members.cfg');
      writeFileSync(file, `${lines.slice(0, 3).join('\n')}\nversion=1\n`);
      // One participant alone: refused by the server (BadArguments), a path on the command line.
      const alone = join(dir, 'alone.cfg');
      writeFileSync(alone, `${lines[0]}\nversion=1\n`);
      const version = versionOf(await config());
      const script = [
        `reconfig -add ${lines[3]}`,
        'addauth digest super:test',
        'reconfig',
        'reconfig -v zz -remove 4',
        `reconfig -members ${lines[0]} -add ${lines[3]}`,
        `reconfig -file ${file} -members ${lines[0]}`,
        `reconfig -file ${join(dir, 'missing.cfg')}`,
        `reconfig -v ${(version + 1n).toString(16)} -remove 4`,
        `reconfig -members ${lines[0]}`,
        `reconfig -members ${[lines[0], lines[3], lines[4]].join(',')}`,
        `reconfig -file ${alone}`,
        `reconfig -file ${file}`,
        'reconfig -x',
        'reconfig -remove',
      ];
      const [theirs, ours] = [
        await zkCliRun(at(members()[0]!), script),
        await shellRun(at(members()[1]!), script),
      ];
      const interesting = (printed: string) =>
        answers(printed).filter((line) => !/^(server\.|version=|Committed new configuration)/.test(line));
      expect(interesting(ours)).toEqual(interesting(theirs));
      expect(interesting(theirs)).toEqual(
        expect.arrayContaining([
          'Insufficient permission : ',
          '-v must be followed by a long (configuration version)',
          'version No is not valid : ',
          'Arguments are not valid : ',
        ]),
      );
      // Only -file went through, each time setting the membership it already had.
      expect(idsOf(await config())).toEqual([1, 2, 3]);
      expect(versionOf(await config())).toBeGreaterThan(version);
      for (const printed of [theirs, ours])
        expect(answers(printed).filter((line) => line.startsWith('Committed'))).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
