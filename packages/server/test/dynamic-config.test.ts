/**
 * The dynamic configuration file module: its text round-trips, it reads and writes byte for byte
 * what Apache ZooKeeper 3.8 wrote (fixtures/zookeeper-3.8-dynamic, kept from a real 3-to-5-to-3
 * run: see its README), zoo.cfg is rewritten with the same keys, and a server's configuration
 * is read back from the files at start.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type EnsembleConfig, formatEnsembleConfig, zxid } from '@zabkit/core';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig, type ServerAddress } from '../src/config.js';
import {
  backupStaticConfig,
  type DynamicConfig,
  dynamicConfigFileName,
  dynamicConfigOf,
  formatDynamicConfig,
  keepActivatedConfig,
  nextDynamicConfigSuffix,
  parseDynamicConfig,
  readDynamicConfigFile,
  rewriteStaticConfig,
  versionFromFileName,
  writeDynamicConfigFiles,
  writeNextDynamicConfig,
} from '../src/dynamic-config.js';
import { zooCfg } from './zoo-cfg.js';

const fixtures = fileURLToPath(new URL('./fixtures/zookeeper-3.8-dynamic/', import.meta.url));
/** The directory ZooKeeper ran in when it wrote the fixtures; its paths name it. */
const zookeeperDir = '/tmp/rclient-zk';

const port = fc.integer({ min: 1, max: 65535 });
const host = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.domain(),
  fc.constantFrom('localhost', 'zk1', '127.0.0.1', '::1'),
);
const server = (id: number): fc.Arbitrary<ServerAddress> =>
  fc
    .record({
      host,
      quorumPort: port,
      electionPort: port,
      role: fc.constantFrom('participant' as const, 'observer' as const),
      client: fc.option(fc.record({ address: fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain()), port }), {
        nil: undefined,
      }),
    })
    .filter((s) => s.quorumPort !== s.electionPort)
    .map(({ client, ...rest }) => ({
      id,
      ...rest,
      ...(client === undefined ? {} : { clientAddress: client.address, clientPort: client.port }),
    }));
const dynamicConfig: fc.Arbitrary<DynamicConfig> = fc
  .uniqueArray(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 12 })
  .chain((ids) => fc.tuple(...ids.map(server)))
  .chain((servers) =>
    fc.record({
      servers: fc.constant(new Map([...servers].sort((a, b) => a.id - b.id).map((s) => [s.id, s]))),
      version: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
    }),
  );

const lines = (text: string) => text.split('\n').filter((line) => line !== '');

describe('the dynamic file text', () => {
  it('parses what it formats: the members and, from the name, the version', () => {
    fc.assert(
      fc.property(dynamicConfig, (config) => {
        const text = formatDynamicConfig(config);
        expect(text).not.toMatch(/version=|\n$/);
        const name = dynamicConfigFileName('/etc/zookeeper/zoo.cfg', config.version!);
        expect(parseDynamicConfig(text, { version: versionFromFileName(name) })).toEqual(config);
      }),
    );
  });

  it('keeps the version line in a .dynamic.next file and reads it back', () => {
    fc.assert(
      fc.property(dynamicConfig, (config) => {
        const text = formatDynamicConfig(config, { versionLine: true });
        expect(text).toMatch(new RegExp(`^version=${config.version!.toString(16)}$`, 'm'));
        expect(parseDynamicConfig(text, { versionLine: true })).toEqual(config);
      }),
    );
  });

  it('sorts lines as text, as ZooKeeper does ("server.10=" before "server.1=", "0" < "=")', () => {
    const servers = new Map<number, ServerAddress>(
      [2, 10, 1].map((id) => [
        id,
        { id, host: '10.0.0.1', quorumPort: 2000 + id, electionPort: 3000 + id, role: 'participant' },
      ]),
    );
    expect(lines(formatDynamicConfig({ servers, version: 5n })).map((line) => line.split('=')[0])).toEqual([
      'server.10',
      'server.1',
      'server.2',
    ]);
  });

  it('writes ;port as ;0.0.0.0:port and brackets IPv6 hosts', () => {
    const parsed = parseDynamicConfig('server.1=[::1]:2888:3888;2181\nserver.2=h:1:2:observer;[fe80::1]:9');
    expect(formatDynamicConfig(parsed)).toBe(
      'server.1=[::1]:2888:3888:participant;0.0.0.0:2181\nserver.2=h:1:2:observer;[fe80::1]:9',
    );
  });

  it('refuses what ZooKeeper refuses, naming the key', () => {
    const refused = (text: string, key: string, message: RegExp) => {
      expect(() => parseDynamicConfig(text, { source: 'zoo.cfg.dynamic.3' })).toThrow(ConfigError);
      try {
        parseDynamicConfig(text, { source: 'zoo.cfg.dynamic.3' });
      } catch (error) {
        expect((error as ConfigError).key).toBe(key);
        expect((error as ConfigError).message).toMatch(message);
      }
    };
    refused('server.1=h:1:2\nversion=3', 'version', /holds no version in zoo.cfg.dynamic.3/);
    refused('server.1=h:1:2\ntickTime=2000', 'tickTime', /unrecognised parameter/);
    refused('server.1=h:1:2\ngroup.1=1:2:3', 'group.1', /hierarchical quorums/);
    refused('server.1=h:1:2\nserver.1=h:3:4', 'server.1', /duplicate server id 1/);
    refused('server.0=h:1:2', 'server.0', /positive integer/);
    refused('server.1=h:1:1', 'server.1', /must be different/);
    refused('server.1=h:1:2:voter', 'server.1', /participant or observer/);
    expect(() => parseDynamicConfig('version=zz', { versionLine: true })).toThrow(/hexadecimal/);
  });

  it("writes core's activated membership with the lines core writes into /zookeeper/config", () => {
    fc.assert(
      fc.property(dynamicConfig, (config) => {
        const core: EnsembleConfig = {
          members: [...config.servers.values()].map((server) => ({
            id: server.id,
            host: server.host,
            quorumPort: server.quorumPort,
            electionPort: server.electionPort,
            role: server.role,
            ...(server.clientPort === undefined
              ? {}
              : { client: { address: server.clientAddress!, port: server.clientPort } }),
          })),
          version: zxid(config.version!),
        };
        const converted = dynamicConfigOf(core);
        expect(converted).toEqual(config);
        // The dynamic file is /zookeeper/config's lines, sorted as text, without version=.
        const nodeLines = formatEnsembleConfig(core)
          .split('\n')
          .filter((line) => !line.startsWith('version='));
        expect(formatDynamicConfig(converted)).toBe(nodeLines.sort().join('\n'));
      }),
    );
  });

  it('reads the version from a file name as ZooKeeper does', () => {
    expect(versionFromFileName('/a/zoo.cfg.dynamic.100000000')).toBe(0x100000000n);
    expect(versionFromFileName('zoo.cfg.dynamic.1001')).toBe(0x1001n);
    expect(versionFromFileName('zoo.cfg.dynamic')).toBeUndefined();
    expect(versionFromFileName('zoo.cfg.dynamic.next')).toBeUndefined();
    expect(dynamicConfigFileName('/a/zoo.cfg', 0x10000000bn)).toBe('/a/zoo.cfg.dynamic.10000000b');
  });
});

describe('the files Apache ZooKeeper 3.8 wrote', () => {
  it('reads each zoo.cfg.dynamic.<version> and writes it back byte for byte', async () => {
    const names = (await readdir(fixtures)).filter((name) => name.startsWith('zoo.cfg.dynamic.'));
    expect(names.length).toBe(8);
    for (const name of names) {
      const path = join(fixtures, name);
      const config = await readDynamicConfigFile(path);
      expect(config.version).toBe(BigInt(`0x${name.slice('zoo.cfg.dynamic.'.length)}`));
      expect(formatDynamicConfig(config)).toBe(await readFile(path, 'utf8'));
    }
    const grown = await readDynamicConfigFile(join(fixtures, 'zoo.cfg.dynamic.100000007'));
    expect([...grown.servers.keys()]).toEqual([1, 2, 3, 4, 5]);
    expect(grown.servers.get(4)).toMatchObject({ clientAddress: '127.0.0.1', clientPort: 21814 });
    const observer = await readDynamicConfigFile(join(fixtures, 'zoo.cfg.dynamic.100000010'));
    expect(observer.servers.get(4)?.role).toBe('observer');
  });

  it('rewrites zoo.cfg with the keys ZooKeeper kept (it writes them in hash order)', async () => {
    const given = await readFile(join(fixtures, 'zoo.cfg.given'), 'utf8');
    const after0b = await readFile(join(fixtures, 'zoo.cfg.after-10000000b'), 'utf8');
    const after11 = await readFile(join(fixtures, 'zoo.cfg.after-100000011'), 'utf8');
    const sorted = (text: string) => lines(text).sort();
    const first = rewriteStaticConfig(given, `${zookeeperDir}/zoo1.cfg.dynamic.10000000b`, false);
    expect(sorted(first)).toEqual(sorted(after0b));
    // zabkit keeps the given order: only the server.N lines went, the pointer is last.
    expect(lines(first).slice(0, -1)).toEqual(lines(given).filter((line) => !line.startsWith('server.')));
    const second = rewriteStaticConfig(first, `${zookeeperDir}/zoo1.cfg.dynamic.100000011`, true);
    expect(sorted(second)).toEqual(sorted(after11));
    expect(lines(second).filter((line) => line.startsWith('dynamicConfigFile'))).toHaveLength(1);
  });

  it('keeps comments and blank lines in place', () => {
    const text = '# my ensemble\ntickTime=2000\n\n# members\nserver.1=h:1:2\nclientPort=2181\n';
    expect(rewriteStaticConfig(text, '/d/zoo.cfg.dynamic.5', false)).toBe(
      '# my ensemble\ntickTime=2000\n\n# members\nclientPort=2181\ndynamicConfigFile=/d/zoo.cfg.dynamic.5\n',
    );
  });
});

describe('keeping a configuration on disk and reading it back', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zabkit-dynamic-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts from the files ZooKeeper wrote: members and version from the dynamic file', async () => {
    const dataDir = join(dir, 'data');
    const cfg = join(dir, 'zoo.cfg');
    const copy = async (name: string, to: string) =>
      writeFile(to, (await readFile(join(fixtures, name), 'utf8')).replaceAll(zookeeperDir, dir));
    await copy('zoo.cfg.after-10000000b', cfg);
    await copy('zoo.cfg.dynamic.10000000b', join(dir, 'zoo1.cfg.dynamic.10000000b'));
    await rm(dataDir, { recursive: true, force: true });
    const { config } = await loadConfigFile(cfg, { myid: 1 });
    expect(config.configVersion).toBe(0x10000000bn);
    expect(config.dynamicConfigFile).toBe(join(dir, 'zoo1.cfg.dynamic.10000000b'));
    expect([...config.servers.keys()]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(config.clientPort).toBe(21811);
    expect(config.servers.get(6)).toMatchObject({ clientAddress: '0.0.0.0', clientPort: 21816 });
  });

  it('writes the new file and zoo.cfg, drops a stale .dynamic.next, and reads them back', async () => {
    const cfg = join(dir, 'zoo.cfg');
    await writeFile(
      cfg,
      zooCfg(dir, [
        'clientPort=2181',
        'server.1=127.0.0.1:2888:3888',
        'server.2=127.0.0.1:2889:3889',
        'server.3=127.0.0.1:2890:3890',
      ]),
    );
    const { config: before } = parseConfig(await readFile(cfg, 'utf8'), { myid: 1 });
    expect(before.configVersion).toBe(0n);
    const servers = new Map(before.servers);
    servers.set(4, { id: 4, host: '127.0.0.1', quorumPort: 2891, electionPort: 3891, role: 'observer' });
    await writeNextDynamicConfig(cfg, { servers, version: 0x100000003n });
    expect(await readFile(`${cfg}${nextDynamicConfigSuffix}`, 'utf8')).toMatch(/^version=100000003$/m);
    const written = await writeDynamicConfigFiles(cfg, { servers, version: 0x100000003n }, 1);
    expect(written.dynamicFile).toBe(join(dir, 'zoo.cfg.dynamic.100000003'));
    await expect(readFile(`${cfg}${nextDynamicConfigSuffix}`)).rejects.toThrow(/ENOENT/);
    expect(await readFile(cfg, 'utf8')).toBe(
      `tickTime=500\ninitLimit=10\nsyncLimit=5\ndataDir=${dir}\nclientPort=2181\ndynamicConfigFile=${written.dynamicFile}\n`,
    );
    const { config } = await loadConfigFile(cfg, { myid: 1 });
    expect(config.configVersion).toBe(0x100000003n);
    expect(config.servers).toEqual(servers);
    expect(config.clientPort).toBe(2181);
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);

    // A membership whose line for this server gives its client address takes clientPort out of zoo.cfg.
    servers.set(1, { ...servers.get(1)!, clientAddress: '127.0.0.1', clientPort: 2181 });
    await writeDynamicConfigFiles(cfg, { servers, version: 0x100000004n }, 1);
    expect(await readFile(cfg, 'utf8')).not.toMatch(/clientPort/);
    const { config: after } = await loadConfigFile(cfg, { myid: 1 });
    expect(after.clientPort).toBe(2181);
    expect(after.clientPortAddress).toBe('127.0.0.1');
  });

  it('keeps an activated membership and a backup as ZooKeeper names them', async () => {
    const cfg = join(dir, 'zoo.cfg');
    const given = `dataDir=${dir}\ninitLimit=5\nsyncLimit=2\nserver.1=h:1:2\nserver.2=h:3:4\nserver.3=h:5:6\n`;
    await writeFile(cfg, given);
    expect(await backupStaticConfig(cfg)).toBe(`${cfg}.bak`);
    expect(await readFile(`${cfg}.bak`, 'utf8')).toBe(given);
    const { config: before } = await loadConfigFile(cfg, { myid: 2 });
    expect(before.configFile).toBe(cfg);
    const activated: EnsembleConfig = {
      members: [
        { id: 1, host: 'h', quorumPort: 1, electionPort: 2, role: 'participant' },
        {
          id: 2,
          host: 'h',
          quorumPort: 3,
          electionPort: 4,
          role: 'observer',
          client: { address: '0.0.0.0', port: 2182 },
        },
      ],
      version: zxid(0x200000001n),
    };
    const written = await keepActivatedConfig(cfg, activated, 2);
    expect(await readFile(written.dynamicFile, 'utf8')).toBe(
      'server.1=h:1:2:participant\nserver.2=h:3:4:observer;0.0.0.0:2182',
    );
    const { config } = await loadConfigFile(cfg, { myid: 2 });
    expect(config.configVersion).toBe(0x200000001n);
    expect(config.peerType).toBe('observer');
    expect(config.clientPort).toBe(2182);
    expect(await readFile(`${cfg}.bak`, 'utf8')).toBe(given);
  });

  it('refuses server.N lines beside dynamicConfigFile, and a file it was not given', () => {
    const base = 'dataDir=/d\ninitLimit=5\nsyncLimit=2\ndynamicConfigFile=/d/zoo.cfg.dynamic.1\n';
    expect(() => parseConfig(`${base}server.1=h:1:2\n`, { myid: 1 })).toThrow(
      /server\.1 must be in the dynamic config file/,
    );
    expect(() => parseConfig(base, { myid: 1 })).toThrow(/dynamicConfigFile.*was not read/);
    const dynamicConfig = parseDynamicConfig('server.1=h:1:2\nserver.2=h:3:4\nserver.3=h:5:6', {
      version: 1n,
    });
    const { config, warnings } = parseConfig(base, { myid: 2, dynamicConfig });
    expect(config.servers.size).toBe(3);
    expect(config.configVersion).toBe(1n);
    expect(warnings.join('\n')).not.toMatch(/dynamicConfigFile/);
  });
});
