/**
 * An embedded peer keeps the membership in force beside its store (`zabkit.membership`) and
 * starts from it: one learned only while electing, in no log or tree of its own, survives a
 * restart, as ZooKeeper's dynamic file keeps the one its election adopted.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config-error.js';
import { keptMembershipFileName, readKeptMembership } from '../src/embed/kept-membership.js';
import type { PeerMember } from '../src/embed/options.js';
import { type EmbeddedPeer, startPeer } from '../src/embed/peer.js';
import { peerMembers, until, untilVersioned } from './embed-ensemble.js';

const roles = (peer: EmbeddedPeer) =>
  peer
    .membership()
    ?.members.map((m) => `${m.id}:${m.observer === true ? 'observer' : 'participant'}`)
    .join(',');

describe('the membership an embedded peer keeps', () => {
  const running = new Set<EmbeddedPeer>();
  let root: string | undefined;
  afterEach(async () => {
    for (const peer of running) await peer.close().catch(() => undefined);
    running.clear();
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it('a membership learned only while electing is the one a restart starts from', async () => {
    root = await mkdtemp(join(tmpdir(), 'zabkit-kept-'));
    const members = await peerMembers(3);
    const dataDir = (id: number) => join(root!, `peer-${id}`);
    const start = async (member: PeerMember) => {
      const peer = await startPeer({
        id: member.id,
        peers: members,
        dataDir: dataDir(member.id),
        storage: 'level',
        tickTime: 200,
        reconfigEnabled: true,
      });
      running.add(peer);
      return peer;
    };
    const stop = async (peer: EmbeddedPeer) => {
      await peer.close();
      running.delete(peer);
    };
    const [one, two, three] = [await start(members[0]!), await start(members[1]!), await start(members[2]!)];
    await Promise.all([one, two, three].map((peer) => peer.ready({ timeoutMs: 30_000 })));
    await untilVersioned([one, two, three]);
    const before = three.membership()!.version;
    await stop(three);

    // Without server 3, servers 1 and 2 make it an observer: voters {1, 2}, both synced.
    const changed = await one.addServer(members[2]!, { as: 'observer' });
    expect(changed.version).toBeGreaterThan(before);
    await until(() => two.membership()?.version === changed.version);
    // Server 2 goes too: server 1 alone is no quorum of {1, 2} and elects for ever.
    await stop(two);
    await until(() => one.status().role === 'looking');

    // Server 3 starts from its store, which knows the old membership only. Electing, it hears
    // the new one from server 1 and adopts it; with no leader it never syncs, so the change
    // never reaches its log.
    const again = await start(members[2]!);
    expect(again.membership()!.version).toBe(before);
    await until(() => again.membership()?.version === changed.version);
    expect(roles(again)).toBe('1:participant,2:participant,3:observer');
    await stop(again);
    await stop(one);

    // Alone, with no one to learn from: it starts from the membership it kept.
    const kept = await readFile(join(dataDir(3), keptMembershipFileName), 'utf8');
    expect(kept).toContain(`version=${changed.version.toString(16)}`);
    const restarted = await start(members[2]!);
    expect(restarted.membership()!.version).toBe(changed.version);
    expect(roles(restarted)).toBe('1:participant,2:participant,3:observer');
  }, 120_000);

  it('a file that holds no membership stops the start, naming it', async () => {
    root = await mkdtemp(join(tmpdir(), 'zabkit-kept-'));
    const path = join(root, keptMembershipFileName);
    expect(await readKeptMembership(path)).toBeUndefined();
    await writeFile(path, 'server.1=127.0.0.1:2888:2888:participant');
    await expect(readKeptMembership(path)).rejects.toThrow(ConfigError);
    await writeFile(path, 'version=100000000');
    await expect(readKeptMembership(path)).rejects.toThrow(/participant/);
    await writeFile(path, 'server.1=127.0.0.1:2888:2888:participant\nclientPort=2181\nversion=1');
    await expect(readKeptMembership(path)).rejects.toThrow(ConfigError);
    await writeFile(path, 'server.1=127.0.0.1:2888:2888:participant\nversion=1');
    expect((await readKeptMembership(path))?.version).toBe(1n);
    const members = await peerMembers(1);
    await writeFile(path, 'version=1\nsurprise=1');
    await expect(
      startPeer({ id: 1, peers: [...members, { id: 2, host: '127.0.0.1', port: 1 }], dataDir: root }),
    ).rejects.toThrow(ConfigError);
  });
});
