/**
 * Reads answered at once (getDataNow, existsNow, getChildrenNow): from the replica of the
 * server the client is connected to, when it runs in this process, with the ACL checks of
 * every read; they see what this client had acknowledged, not its writes still in flight.
 */
import { type ClientLink, type LinkFactory, type LinkHandlers, ZabClient, ZabError } from '@zabkit/client';
import { ErrorCode, Ids, type Reply } from '@zabkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type Ensemble, LocalServer, startEnsemble } from '../src/index.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array | null) => (data === null ? null : new TextDecoder().decode(data));
const codeOf = (action: () => unknown): string | undefined => {
  try {
    action();
  } catch (error) {
    if (error instanceof ZabError) return error.codeName;
    throw error;
  }
  return undefined;
};

function localServer(): LocalServer {
  const server = LocalServer.start({ tickTimeMs: 2000 });
  cleanups.push(() => server.close());
  return server;
}

async function client(links: LinkFactory): Promise<ZabClient> {
  const zk = await ZabClient.connect(links, { sessionTimeoutMs: 10_000 });
  cleanups.push(() => zk.close());
  return zk;
}

/** The server's links, minus what `without` names; the last link opened is kept for the test. */
function wrapped(server: LocalServer, without: readonly (keyof ClientLink)[] = []) {
  const opened: { link?: ClientLink } = {};
  const links: LinkFactory = {
    open(handlers: LinkHandlers) {
      const link = server.open(handlers);
      const copy: Partial<ClientLink> = { ...link };
      for (const key of without) delete copy[key];
      opened.link = copy as ClientLink;
      return opened.link;
    },
  };
  return { links, opened };
}

describe('reads answered at once', () => {
  it('answer as the promise API does: data and Stat, a missing node, children', async () => {
    const zk = await client(localServer());
    await zk.create('/a', bytes('one'));
    await zk.create('/a/b', bytes('two'));
    await zk.create('/a/c', null);
    const now = zk.getDataNow('/a');
    const promised = await zk.getData('/a');
    expect(text(now.data)).toBe('one');
    expect(now.stat).toEqual(promised.stat);
    expect(text(zk.getDataNow('/a/c').data)).toBeNull();
    expect(zk.existsNow('/a')).toEqual(await zk.exists('/a'));
    expect(zk.existsNow('/missing')).toBeNull();
    expect(codeOf(() => zk.getDataNow('/missing'))).toBe('NoNode');
    expect(codeOf(() => zk.getChildrenNow('/missing'))).toBe('NoNode');
    expect(zk.getChildrenNow('/a').sort()).toEqual(['b', 'c']);
    expect(zk.getChildrenNow('/a').sort()).toEqual((await zk.getChildren('/a')).sort());
  });

  it("check ACLs with the connection's identities", async () => {
    const server = localServer();
    const owner = await client(server);
    await owner.addAuth('digest', 'alice:secret');
    await owner.create('/private', bytes('hers'), { acl: Ids.creatorAllAcl });
    const stranger = await client(server);
    expect(codeOf(() => stranger.getDataNow('/private'))).toBe('NoAuth');
    // exists checks READ too, as ZooKeeper 3.8 does: both APIs answer alike.
    expect(codeOf(() => stranger.existsNow('/private'))).toBe('NoAuth');
    await expect(stranger.exists('/private')).rejects.toSatisfy(
      (error) => error instanceof ZabError && error.is('NoAuth'),
    );
    expect(text(owner.getDataNow('/private').data)).toBe('hers');
    await stranger.addAuth('digest', 'alice:secret');
    expect(text(stranger.getDataNow('/private').data)).toBe('hers');
  });

  it('see every acknowledged write, and none still in flight', async () => {
    const zk = await client(localServer());
    await zk.create('/n', bytes('0'));
    const writing = zk.setData('/n', bytes('1'));
    // Sent, not yet stepped: the replica does not hold it.
    expect(text(zk.getDataNow('/n').data)).toBe('0');
    const stat = await writing;
    expect(text(zk.getDataNow('/n').data)).toBe('1');
    expect(zk.getDataNow('/n').stat).toEqual(stat);
  });

  it("a follower's replica: its own writes at once, another client's once applied", async () => {
    const ensemble: Ensemble = await startEnsemble({ servers: 3, tickTimeMs: 100 });
    cleanups.push(() => ensemble.close());
    const leader = await ensemble.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const onFollower = await ensemble.client({ servers: [follower] });
    cleanups.push(() => onFollower.close());
    const onLeader = await ensemble.client({ servers: [leader] });
    cleanups.push(() => onLeader.close());
    await onFollower.create('/f', bytes('mine'));
    expect(text(onFollower.getDataNow('/f').data)).toBe('mine');
    await onLeader.setData('/f', bytes('theirs'));
    const started = Date.now();
    while (text(onFollower.getDataNow('/f').data) !== 'theirs') {
      if (Date.now() - started > 10_000) throw new Error('the follower never applied the write');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(onFollower.getDataNow('/f').stat).toEqual(await onLeader.exists('/f'));
  });

  it('throw ConnectionLoss when not connected, Unimplemented over a link without them', async () => {
    const server = localServer();
    const zk = await client(server);
    await zk.close();
    expect(codeOf(() => zk.getDataNow('/'))).toBe('ConnectionLoss');
    const { links } = wrapped(server, ['readNow']);
    const remote = await client(links);
    expect(codeOf(() => remote.getDataNow('/'))).toBe('Unimplemented');
    expect(await remote.exists('/')).not.toBeNull();
  });

  it('leave no watch: a link asked for one answers BadArguments; a closed link answers nothing', async () => {
    const server = localServer();
    const { links, opened } = wrapped(server);
    const zk = await client(links);
    const link = opened.link!;
    const reply = link.readNow!({ op: 'getData', path: '/', watch: true }) as Reply;
    expect(reply.ok).toBe(false);
    expect(reply.ok ? undefined : reply.code).toBe(ErrorCode.BadArguments);
    const multi = link.readNow!({ op: 'multiRead', ops: [{ op: 'getChildren', path: '/', watch: true }] });
    expect(multi?.ok).toBe(false);
    expect(link.readNow!({ op: 'getData', path: '/', watch: false })?.ok).toBe(true);
    await zk.close();
    expect(link.readNow!({ op: 'getData', path: '/', watch: false })).toBeUndefined();
  });
});
