/**
 * `zabkit storage restore --force` over a store that has moved on: the snapshot's state
 * replaces the store's, and its epochs do not go back, so that the zxids the server hands out
 * next stay above those its clients saw before.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectTcp } from '@zabkit/client';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../src/config.js';
import { openLevelStore } from '../src/level-store.js';
import { silentLogger } from '../src/log.js';
import { ServerNode } from '../src/node.js';
import { runRestore } from '../src/tools/backup.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('storage restore --force', () => {
  it("keeps the replaced store's epochs", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'zabkit-restore-epochs-'));
    dirs.push(dataDir);
    const { config } = parseConfig(
      `tickTime=200\ndataDir=${dataDir}\nclientPort=0\nclientPortAddress=127.0.0.1\nadmin.serverAddress=127.0.0.1\nadmin.serverPort=0\nadmin.rateLimiterIntervalInMS=0\n`,
    );
    const start = async () =>
      ServerNode.start({ config, storage: await openLevelStore(config, silentLogger) });
    let node = await start();
    const zk = await connectTcp(`127.0.0.1:${node.address().port}`, { sessionTimeoutMs: 10_000 });
    await zk.create('/kept', 'from the snapshot');
    await zk.close();
    const response = await fetch(`http://127.0.0.1:${node.adminAddress()!.port}/commands/snapshot`, {
      headers: { authorization: 'digest ops:pw' },
    });
    const zxid = BigInt(response.headers.get('last_zxid')!);
    const file = join(dataDir, `snapshot.${zxid.toString(16)}`);
    await writeFile(file, new Uint8Array(await response.arrayBuffer()));
    await node.close();
    // Each start elects anew: the store's epoch moves past the snapshot's.
    for (let i = 0; i < 2; i++) {
      node = await start();
      const client = await connectTcp(`127.0.0.1:${node.address().port}`, { sessionTimeoutMs: 10_000 });
      await client.create(`/later-${i}`, '');
      await client.close();
      await node.close();
    }
    const storage = await openLevelStore(config, silentLogger);
    const before = await storage.readEpochs();
    await storage.close();
    expect(before.acceptedEpoch).toBeGreaterThan(Number(zxid >> 32n));

    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await runRestore([file, dataDir, '--force', '--json'])).toBe(0);
    } finally {
      write.mockRestore();
    }
    const reopened = await openLevelStore(config, silentLogger);
    const after = await reopened.readEpochs();
    await reopened.close();
    expect(after.acceptedEpoch).toBe(before.acceptedEpoch);
    expect(after.currentEpoch).toBe(before.currentEpoch);

    node = await start();
    try {
      const client = await connectTcp(`127.0.0.1:${node.address().port}`, { sessionTimeoutMs: 10_000 });
      expect(await client.exists('/later-0')).toBeNull();
      expect(new TextDecoder().decode((await client.getData('/kept')).data!)).toBe('from the snapshot');
      await client.create('/next', '');
      const next = (await client.exists('/next'))!;
      expect(Number(next.czxid >> 32n)).toBeGreaterThan(before.acceptedEpoch);
      await client.close();
    } finally {
      await node.close();
    }
  });
});
