/**
 * In process, a client and its server share a heap: the bytes a client writes and the bytes
 * and ACLs it reads must still be its own, as they are over a socket. A caller that reuses
 * its buffer, or changes what it read, never changes a replica.
 */
import type { ZabClient } from '@zabkit/client';
import { Ids } from '@zabkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalServer, startEnsemble } from '../src/index.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const text = (data: Uint8Array | null) => (data === null ? null : new TextDecoder().decode(data));

async function localClient(): Promise<ZabClient> {
  const server = LocalServer.start({ tickTimeMs: 2000 });
  cleanups.push(() => server.close());
  const zk = await server.client();
  cleanups.push(() => zk.close());
  return zk;
}

describe("bytes in process are the caller's own", () => {
  it('a buffer written and then reused leaves the znode as written (create, setData, multi)', async () => {
    const zk = await localClient();
    const buffer = new TextEncoder().encode('aaaa');
    await zk.create('/a', buffer);
    buffer.fill(0x7a);
    expect(text((await zk.getData('/a')).data)).toBe('aaaa');
    buffer.set(new TextEncoder().encode('bbbb'));
    await zk.setData('/a', buffer);
    buffer.fill(0x7a);
    expect(text((await zk.getData('/a')).data)).toBe('bbbb');
    buffer.set(new TextEncoder().encode('cccc'));
    await zk.transaction().setData('/a', buffer).commit();
    buffer.fill(0x7a);
    expect(text(zk.getDataNow('/a').data)).toBe('cccc');
    const codecBuffer = new Uint8Array(4);
    const reusing = {
      encode: (value: string) => {
        codecBuffer.set(new TextEncoder().encode(value));
        return codecBuffer;
      },
      decode: (bytes: Uint8Array) => new TextDecoder().decode(bytes),
    };
    await zk.setData('/a', 'dddd', { codec: reusing });
    await zk.create('/b', 'eeee', { codec: reusing });
    expect(text((await zk.getData('/a')).data)).toBe('dddd');
    expect(text((await zk.getData('/b')).data)).toBe('eeee');
  });

  it('data and ACLs read and then changed leave the replica as it was', async () => {
    const zk = await localClient();
    await zk.create('/r', 'read me', { acl: Ids.openAclUnsafe });
    (await zk.getData('/r')).data!.fill(0);
    zk.getDataNow('/r').data!.fill(0);
    const [first] = await zk.multiRead([{ op: 'getData', path: '/r', watch: false }]);
    if (first?.op !== 'getData') throw new Error(`unexpected ${first?.op}`);
    first.data!.fill(0);
    const { acl } = await zk.getACL('/r');
    (acl[0] as { perms: number }).perms = 0;
    (acl[0]!.id as { id: string }).id = 'nobody';
    expect(text((await zk.getData('/r')).data)).toBe('read me');
    expect(text(zk.getDataNow('/r').data)).toBe('read me');
    expect((await zk.getACL('/r')).acl).toEqual(Ids.openAclUnsafe);
    // Another node with the same ACL shares the replica's one list of it: still intact.
    await zk.create('/s', 'x', { acl: Ids.openAclUnsafe });
    expect((await zk.getACL('/s')).acl).toEqual(Ids.openAclUnsafe);
  });

  it("a follower's client in a 3-server ensemble reads its own bytes too", async () => {
    const ensemble = await startEnsemble({ servers: 3, tickTimeMs: 100 });
    cleanups.push(() => ensemble.close());
    const leader = await ensemble.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const zk = await ensemble.client({ servers: [follower] });
    cleanups.push(() => zk.close());
    await zk.create('/f', 'replicated');
    zk.getDataNow('/f').data!.fill(0);
    (await zk.getData('/f')).data!.fill(0);
    await zk.sync('/f');
    expect(text(zk.getDataNow('/f').data)).toBe('replicated');
    const onLeader = await ensemble.client({ servers: [leader] });
    cleanups.push(() => onLeader.close());
    expect(text((await onLeader.getData('/f')).data)).toBe('replicated');
  });
});
