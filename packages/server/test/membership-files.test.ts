import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EnsembleConfig, makeZxid } from '@zabkit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { keepMembership, keepProposedMembership } from '../src/membership-files.js';
import { ServerNode } from '../src/node.js';
import { freePort } from './server-process.js';
import { zooCfg } from './zoo-cfg.js';

const member = (id: number, role: 'participant' | 'observer' = 'participant') => ({
  id,
  host: '127.0.0.1',
  quorumPort: 2887 + id,
  electionPort: 3887 + id,
  role,
  client: { address: '127.0.0.1', port: 2180 + id },
});

describe('a membership that takes effect on a server', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zabkit-membership-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the transport every other member address and is read back from zoo.cfg.dynamic at the next start', async () => {
    const cfg = join(dir, 'zoo.cfg');
    await writeFile(
      cfg,
      zooCfg(dir, [
        'clientPort=2181',
        'reconfigEnabled=true',
        'server.1=127.0.0.1:2888:3888',
        'server.2=127.0.0.1:2889:3889',
        'server.3=127.0.0.1:2890:3890',
      ]),
    );
    const grown: EnsembleConfig = {
      members: [member(1), member(2), member(3), member(4), member(5, 'observer')],
      version: makeZxid(1, 3),
    };
    const dialled: [number, string][] = [];
    const transport = {
      setPeer: (id: number, a: { host: string; port: number }) => dialled.push([id, `${a.host}:${a.port}`]),
    };
    await keepMembership(grown, 1, transport, cfg, silentLogger);
    // Everyone but itself, the two added at runtime included.
    expect(dialled).toEqual([
      [2, '127.0.0.1:2889'],
      [3, '127.0.0.1:2890'],
      [4, '127.0.0.1:2891'],
      [5, '127.0.0.1:2892'],
    ]);
    const dynamicFile = join(dir, 'zoo.cfg.dynamic.100000003');
    expect(await readFile(dynamicFile, 'utf8')).toContain(
      'server.4=127.0.0.1:2891:3891:participant;127.0.0.1:2184',
    );
    const { config } = await loadConfigFile(cfg, { myid: 1 });
    expect(config.configVersion).toBe(0x100000003n);
    expect(config.dynamicConfigFile).toBe(dynamicFile);
    expect([...config.servers.values()].map((s) => `${s.id}:${s.role}`)).toEqual([
      '1:participant',
      '2:participant',
      '3:participant',
      '4:participant',
      '5:observer',
    ]);
    expect(config.systemProperties.reconfigEnabled).toBe(true);

    // Shrunk back: the next file replaces the pointer, and a restart reads the newest.
    const shrunk: EnsembleConfig = { members: [member(1), member(2), member(4)], version: makeZxid(1, 9) };
    await keepMembership(shrunk, 1, transport, cfg, silentLogger);
    const again = await loadConfigFile(cfg, { myid: 1 });
    expect(again.config.configVersion).toBe(0x100000009n);
    expect([...again.config.servers.keys()]).toEqual([1, 2, 4]);
  });

  it('does not write a membership without this server: zoo.cfg keeps one this server can start from', async () => {
    const cfg = join(dir, 'zoo.cfg');
    const text = zooCfg(dir, [
      'reconfigEnabled=true',
      'server.1=127.0.0.1:2888:3888',
      'server.4=127.0.0.1:2891:3891:participant;127.0.0.1:2184',
    ]);
    await writeFile(cfg, text);
    const infos: string[] = [];
    const log = { ...silentLogger, info: (_fields: unknown, message?: string) => infos.push(message ?? '') };
    const dialled: number[] = [];
    // Server 4 waits to be added: the ensemble's membership names 1, 2 and 3 only.
    await keepMembership(
      { members: [member(1), member(2), member(3)], version: makeZxid(1, 1) },
      4,
      { setPeer: (id) => dialled.push(id) },
      cfg,
      log as typeof silentLogger,
    );
    expect(dialled).toEqual([1, 2, 3]);
    expect(await readFile(cfg, 'utf8')).toBe(text);
    expect(infos.some((message) => message.startsWith('dynamic configuration file not written'))).toBe(true);
    const { config } = await loadConfigFile(cfg, { myid: 4 });
    expect([...config.servers.keys()]).toEqual([1, 4]);
  });

  it('writes a proposed membership to zoo.cfg.dynamic.next until a configuration as new takes effect', async () => {
    const cfg = join(dir, 'zoo.cfg');
    await writeFile(
      cfg,
      zooCfg(dir, ['reconfigEnabled=true', 'server.1=127.0.0.1:2888:3888', 'server.2=127.0.0.1:2889:3889']),
    );
    const next = `${cfg}.dynamic.next`;
    const transport = { setPeer: () => undefined };
    const proposed: EnsembleConfig = { members: [member(1), member(2), member(4)], version: makeZxid(1, 5) };
    await keepProposedMembership(proposed, cfg, silentLogger);
    const text = await readFile(next, 'utf8');
    // As ZooKeeper writes it: the members, then the version it would have.
    expect(text).toContain('server.4=127.0.0.1:2891:3891:participant;127.0.0.1:2184');
    expect(text).toMatch(/^version=100000005$/m);
    // An older configuration taking effect leaves the proposal in place.
    await keepMembership(
      { members: [member(1), member(2)], version: makeZxid(1, 1) },
      1,
      transport,
      cfg,
      silentLogger,
    );
    expect(await readFile(next, 'utf8')).toBe(text);
    // Its commit removes it.
    await keepMembership(proposed, 1, transport, cfg, silentLogger);
    await expect(readFile(next, 'utf8')).rejects.toThrow(/ENOENT/);
    // So does a decided membership this server is not in.
    await keepProposedMembership(
      { members: [member(2), member(4)], version: makeZxid(1, 7) },
      cfg,
      silentLogger,
    );
    await keepMembership(
      { members: [member(2), member(4)], version: makeZxid(1, 7) },
      1,
      transport,
      cfg,
      silentLogger,
    );
    await expect(readFile(next, 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('reads zoo.cfg.dynamic.next back at start as ZooKeeper does: the peer counts it as proposed', async () => {
    const cfg = join(dir, 'zoo.cfg');
    const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
    const line = (id: number) => `server.${id}=127.0.0.1:${ports[id - 1]}:${ports[id - 1]! + 1}:participant`;
    const dynamicFile = join(dir, 'zoo.cfg.dynamic.100000001');
    await writeFile(dynamicFile, [line(1), line(2), line(3)].join('\n'));
    await writeFile(cfg, zooCfg(dir, ['reconfigEnabled=true', `dynamicConfigFile=${dynamicFile}`]));
    const next = `${cfg}.dynamic.next`;
    // A crash between writing the proposal down and logging it: the file alone knows it.
    await writeFile(next, [line(1), line(2), line(3), line(4), 'version=100000005'].join('\n'));
    const { config } = await loadConfigFile(cfg, { myid: 1 });
    expect(config.proposedConfig?.version).toBe(0x100000005n);
    expect([...config.proposedConfig!.servers.keys()]).toEqual([1, 2, 3, 4]);
    const node = await ServerNode.start({ config, listen: false });
    try {
      const peer = node.driver.peer;
      expect(peer.ensembleConfig?.version).toBe(0x100000001n);
      expect(peer.pendingEnsembleConfig?.version).toBe(0x100000005n);
      // Decisions need a majority of {1, 2, 3, 4} too: {1, 2} is not one.
      expect(peer.quorum.voters.has(4)).toBe(true);
      expect(peer.quorum.containsQuorum([1, 2])).toBe(false);
    } finally {
      await node.close();
    }

    // One no newer than the membership in force is over, as ZooKeeper's check of versions finds.
    await writeFile(next, [line(1), line(2), line(4), 'version=100000001'].join('\n'));
    expect((await loadConfigFile(cfg, { myid: 1 })).config.proposedConfig).toBeUndefined();
    // Without a dynamicConfigFile ZooKeeper does not look for the file.
    await writeFile(cfg, zooCfg(dir, ['reconfigEnabled=true', line(1), line(2), line(3)]));
    await writeFile(next, [line(1), line(2), line(3), line(4), 'version=100000005'].join('\n'));
    expect((await loadConfigFile(cfg, { myid: 1 })).config.proposedConfig).toBeUndefined();
    // What ZooKeeper refuses there stops the start, naming the key.
    await writeFile(cfg, zooCfg(dir, ['reconfigEnabled=true', `dynamicConfigFile=${dynamicFile}`]));
    await writeFile(next, [line(1), 'weight.1=1', 'version=100000005'].join('\n'));
    await expect(loadConfigFile(cfg, { myid: 1 })).rejects.toThrow(/weight\.1/);
  });

  it('logs a file it cannot write, and still tells the transport', async () => {
    const errors: string[] = [];
    const log = {
      ...silentLogger,
      error: (_fields: unknown, message?: string) => errors.push(message ?? ''),
    };
    const dialled: number[] = [];
    await keepMembership(
      { members: [member(1), member(2)], version: makeZxid(2, 1) },
      1,
      { setPeer: (id) => dialled.push(id) },
      join(dir, 'missing', 'zoo.cfg'),
      log as typeof silentLogger,
    );
    expect(dialled).toEqual([2]);
    expect(errors).toEqual([
      'dynamic configuration file not written: the next start reads the membership from the data directory',
    ]);
  });
});
