/**
 * Session passwords on a 3-process ensemble: an attacker who reads a victim's session id from
 * `dump` and computes its password the way zabkit used to (from the server list `conf`
 * prints, or from the constant a standalone server used) is refused, and the victim keeps its
 * session and its ephemeral node. The victim's own password still moves the session between
 * servers: after its server dies, after restarts, and onto a member that lost its data and
 * synced again. The same attack on a standalone server whose operator enabled dump and cons
 * explicitly, with every password an attacker can form.
 */
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { connectTcp, type ZabClient, ZabError } from '@zabkit/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, ServerNode } from '../packages/server/src/index.js';
import {
  fourLetterWord,
  type ProcessEnsemble,
  startProcessEnsemble,
  until,
} from './support/process-ensemble.js';

/** The secret zabkit derived before: sha256 of a fixed label and the `server.N` list. */
function formerSecret(conf: string): Uint8Array {
  const members = [...conf.matchAll(/^server\.(\d+)=([^:\n]+):(\d+):/gm)]
    .map(([, id, host, quorumPort]) => `${id}=${host}:${quorumPort}`)
    .sort()
    .join(',');
  return new Uint8Array(createHash('sha256').update(`zabkit-session-secret:${members}`).digest());
}

/** A password as zabkit computes one: the first 16 bytes of sha1(secret || sessionId). */
function passwordFrom(secret: Uint8Array, sessionId: bigint): Uint8Array {
  const id = Buffer.alloc(8);
  id.writeBigInt64BE(BigInt.asIntN(64, sessionId));
  return new Uint8Array(createHash('sha1').update(secret).update(id).digest().subarray(0, 16));
}

async function refused(connectString: string, sessionId: bigint, password: Uint8Array): Promise<unknown> {
  try {
    const client = await connectTcp(connectString, { sessionId, password, sessionTimeoutMs: 20_000 });
    await client.close();
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('session passwords on an ensemble of processes', () => {
  let ensemble: ProcessEnsemble;
  let victim: ZabClient;

  beforeAll(async () => {
    // The 20 s sessions below need a maximum above tickTime x 20 (4 s here): on a loaded
    // machine a session of 4 s can expire while its client moves after a kill.
    ensemble = await startProcessEnsemble({ size: 3, extraConfig: () => ['maxSessionTimeout=30000'] });
    await ensemble.settled();
    victim = await connectTcp(ensemble.connectString, { sessionTimeoutMs: 20_000 });
    expect(victim.sessionTimeoutMs).toBe(20_000);
    await victim.create('/lock', 'held', { mode: 'ephemeral' });
  }, 60_000);

  afterAll(async () => {
    await victim?.close().catch(() => undefined);
    await ensemble?.stop();
  });

  it('refuses a hijack with an id from dump and a password computed the old ways', async () => {
    const port = ensemble.members[1]!.clientPort;
    const dump = await fourLetterWord(port, 'dump');
    const ids = [...dump.matchAll(/^0x([0-9a-f]+)$/gm)].map(([, hex]) => BigInt(`0x${hex}`));
    expect(ids).toContain(victim.sessionId);
    const conf = await fourLetterWord(port, 'conf');
    expect(conf).toMatch(/^server\.1=/m);
    const candidates = [
      passwordFrom(formerSecret(conf), victim.sessionId),
      passwordFrom(formerSecret(''), victim.sessionId),
    ];
    for (const password of candidates) {
      const error = await refused(ensemble.connectString, victim.sessionId, password);
      expect(error).toBeInstanceOf(ZabError);
      expect((error as ZabError).is('SessionExpired')).toBe(true);
    }
    // The victim noticed nothing: its session and its lock stand.
    expect(victim.state).toBe('connected');
    expect((await victim.exists('/lock'))?.ephemeralOwner).toBe(victim.sessionId);
  });

  it('moves the real session between servers, across restarts and onto a server that lost its data', async () => {
    const ephemeralOwner = async (client: ZabClient) => (await client.exists('/lock'))?.ephemeralOwner;
    // Kill each member in turn: the victim's client moves with its session every time.
    for (const member of ensemble.members) {
      await member.kill();
      await until(async () => ((await ephemeralOwner(victim).catch(() => undefined)) ? true : undefined));
      expect(await ephemeralOwner(victim)).toBe(victim.sessionId);
      member.start();
      await ensemble.settled();
    }
    // A member loses everything but its myid, starts again, and syncs.
    const wiped = ensemble.members[2]!;
    await wiped.kill();
    rmSync(join(wiped.dataDir, 'zabkit.db'), { recursive: true, force: true });
    wiped.start();
    await ensemble.settled();
    const moved = await connectTcp(`127.0.0.1:${wiped.clientPort}`, {
      sessionId: victim.sessionId,
      password: victim.sessionPassword,
      sessionTimeoutMs: 20_000,
    });
    try {
      expect(moved.sessionId).toBe(victim.sessionId);
      expect(await ephemeralOwner(moved)).toBe(victim.sessionId);
    } finally {
      await moved.close();
    }
  }, 120_000);
});

describe('a session hijack on a standalone server with dump and cons enabled', () => {
  let node: ServerNode;
  let victim: ZabClient;

  beforeAll(async () => {
    const { config } = parseConfig(
      [
        'tickTime=200',
        'dataDir=/tmp/zabkit-hijack-standalone',
        'clientPort=0',
        'clientPortAddress=127.0.0.1',
        // Enabled explicitly: `zabkit server` answers only srvr by default, as ZooKeeper.
        '4lw.commands.whitelist=dump,cons,conf',
        '',
      ].join('\n'),
    );
    node = await ServerNode.start({ config });
    victim = await connectTcp(`127.0.0.1:${node.address().port}`, { sessionTimeoutMs: 20_000 });
    await victim.create('/lock', 'held', { mode: 'ephemeral' });
  });

  afterAll(async () => {
    await victim?.close().catch(() => undefined);
    await node?.close();
  });

  it('refuses every password an attacker can form for an id read from dump or cons', async () => {
    const port = node.address().port;
    const target = `127.0.0.1:${port}`;
    const dump = await fourLetterWord(port, 'dump');
    const ids = [...dump.matchAll(/^0x([0-9a-f]+)$/gm)].map(([, hex]) => BigInt(`0x${hex}`));
    expect(ids).toContain(victim.sessionId);
    expect(await fourLetterWord(port, 'cons')).toMatch(new RegExp(`sid=0x${victim.sessionId.toString(16)}`));
    const conf = await fourLetterWord(port, 'conf');
    const candidates = [
      new Uint8Array(16),
      new Uint8Array(16).fill(0xff),
      new Uint8Array(randomBytes(16)),
      // The two ways zabkit once derived passwords, from what anyone could read.
      passwordFrom(formerSecret(conf), victim.sessionId),
      passwordFrom(formerSecret(''), victim.sessionId),
      // The victim's password with one bit flipped, and cut short.
      Uint8Array.from(victim.sessionPassword, (byte, i) => (i === 0 ? byte ^ 1 : byte)),
      victim.sessionPassword.subarray(0, 8),
    ];
    for (const password of candidates) {
      const error = await refused(target, victim.sessionId, password);
      expect(error).toBeInstanceOf(ZabError);
      expect((error as ZabError).is('SessionExpired')).toBe(true);
    }
    // The victim noticed nothing: its session and its lock stand.
    expect(victim.state).toBe('connected');
    expect((await victim.exists('/lock'))?.ephemeralOwner).toBe(victim.sessionId);
    await victim.setData('/lock', 'still mine');
  });

  it('by default, dump and cons are not answered at all', async () => {
    const { config } = parseConfig('tickTime=200\ndataDir=/tmp/zabkit-hijack-default\nclientPort=0\n');
    const plain = await ServerNode.start({ config });
    try {
      for (const word of ['dump', 'cons'])
        expect(await fourLetterWord(plain.address().port, word)).toBe(
          `${word} is not executed because it is not in the whitelist.\n`,
        );
    } finally {
      await plain.close();
    }
  });
});
