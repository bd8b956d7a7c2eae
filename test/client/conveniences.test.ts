/**
 * What Curator users expect of a client: parents made on create (as containers), recursive
 * delete in batches, typed data (UTF-8, JSON), and a compare-and-set loop that applies an
 * update once even when a reply is lost.
 */

import { json, RetryNTimes, utf8, ZabError } from '@zabkit/client';
import { describe, expect, it } from 'vitest';
import { ControlledLinks, settle, text, useLocalServers } from './support.js';

const { start, connect } = useLocalServers();

const until = async (condition: () => Promise<boolean>, timeoutMs = 10_000) => {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('null data', () => {
  it('comes back as null where it was written as null, apart from empty data, as ZooKeeper answers', async () => {
    const zk = await connect(start());
    await zk.create('/null', null);
    await zk.create('/empty');
    expect((await zk.getData('/null')).data).toBeNull();
    expect((await zk.getData('/empty')).data).toEqual(new Uint8Array(0));
    expect((await zk.exists('/null'))?.dataLength).toBe(0);
    await zk.setData('/empty', null);
    expect((await zk.getData('/empty')).data).toBeNull();
    await zk.transaction().create('/null/t', null).setData('/null', 'x').commit();
    expect((await zk.getData('/null/t')).data).toBeNull();
    // A codec reads null data as empty bytes: utf8 gives "".
    expect((await zk.getData('/null/t', { codec: utf8 })).data).toBe('');
    const updated = await zk.update('/null/t', (current) => (current === null ? 'was null' : 'was not'));
    expect(text(updated.value as Uint8Array)).toBe('was null');
  });
});

describe('create with parents', () => {
  it('makes missing parents as containers, which the server removes once empty', async () => {
    const server = start({ containerCheckIntervalMs: 50 });
    const zk = await connect(server);
    expect(await zk.create('/a/b/c', 'leaf', { createParents: true })).toBe('/a/b/c');
    expect(await zk.getChildren('/a')).toEqual(['b']);
    await expect(zk.create('/x/y', '')).rejects.toSatisfy(
      (error) => error instanceof ZabError && error.is('NoNode'),
    );
    await zk.delete('/a/b/c');
    await until(async () => (await zk.exists('/a')) === null);
  });

  it('makes persistent parents on request, and leaves existing ones alone', async () => {
    const server = start({ containerCheckIntervalMs: 50 });
    const zk = await connect(server);
    await zk.create('/p', 'mine');
    await zk.create('/p/q/r', '', { createParents: 'persistent' });
    await zk.delete('/p/q/r');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await zk.getChildren('/p')).toEqual(['q']);
    expect(text((await zk.getData('/p')).data)).toBe('mine');
    expect(await zk.create('/p/q/s-', '', { createParents: true, mode: 'ephemeralSequential' })).toBe(
      '/p/q/s-0000000001',
    );
  });
});

describe('deleteRecursive', () => {
  it('deletes a subtree deepest first in multis of batchSize', async () => {
    const server = start();
    const links = new ControlledLinks(server);
    const zk = await connect(links);
    await zk.create('/t', '');
    for (const a of ['a', 'b', 'c']) {
      await zk.create(`/t/${a}`, '');
      for (const b of ['1', '2']) await zk.create(`/t/${a}/${b}`, '');
    }
    await zk.create('/keep', '');
    await zk.deleteRecursive('/t', { batchSize: 4 });
    expect(await zk.exists('/t')).toBeNull();
    expect(await zk.exists('/keep')).not.toBeNull();
    expect(links.count('multi')).toBe(3); // 10 nodes in batches of 4
    await expect(zk.deleteRecursive('/t')).rejects.toSatisfy(
      (error) => error instanceof ZabError && error.is('NoNode'),
    );
  });

  it('lists again when someone adds a child while it deletes', async () => {
    const server = start();
    const links = new ControlledLinks(server);
    const zk = await connect(links);
    const other = await connect(server);
    await zk.create('/busy', '');
    await zk.create('/busy/one', '');
    let injected = false;
    const send = links.open.bind(links);
    links.open = (handlers, attempt) => {
      const link = send(handlers, attempt);
      return {
        ...link,
        send: (xid, request) => {
          if (request.op === 'multi' && !injected) {
            injected = true;
            void other.create('/busy/late', '');
          }
          link.send(xid, request);
        },
      };
    };
    zk.simulateConnectionLoss(); // a new link, through the wrapper above
    await new Promise((resolve) => setTimeout(resolve, 50));
    await zk.deleteRecursive('/busy', { retry: new RetryNTimes(3, 5) });
    expect(injected).toBe(true);
    expect(links.count('multi')).toBe(2); // the first failed NotEmpty, the second had /busy/late
    expect(await other.exists('/busy')).toBeNull();
  });
});

describe('typed data', () => {
  it('reads and writes strings and JSON through codecs', async () => {
    const zk = await connect(start());
    interface Config {
      retries: number;
      hosts: string[];
    }
    const config = json<Config>();
    await zk.create('/cfg', { retries: 3, hosts: ['a'] }, { codec: config });
    const { data, stat } = await zk.getData('/cfg', { codec: config });
    expect(data).toEqual({ retries: 3, hosts: ['a'] });
    await zk.setData('/cfg', { ...data, retries: 5 }, { codec: config, version: stat.version });
    expect(JSON.parse(text((await zk.getData('/cfg')).data))).toEqual({ retries: 5, hosts: ['a'] });
    await zk.create('/name', 'zabkit ✓', { codec: utf8 });
    expect((await zk.getData('/name', { codec: utf8 })).data).toBe('zabkit ✓');
    await zk.create('/bytes', new Uint8Array([0xff, 0xfe]));
    await expect(zk.getData('/bytes', { codec: utf8 })).rejects.toThrow(TypeError);
    await zk.create('/empty', '');
    await expect(zk.getData('/empty', { codec: json() })).rejects.toThrow(SyntaxError);
  });
});

describe('update (compare-and-set loop)', () => {
  it('applies concurrent increments from two sessions exactly once each', async () => {
    const server = start();
    const [a, b] = [await connect(server), await connect(server)];
    const counter = json<number>();
    await a.create('/count', 0, { codec: counter });
    const results = await Promise.all(
      Array.from({ length: 30 }, (_v, i) =>
        (i % 2 === 0 ? a : b).update('/count', (n) => n + 1, { codec: counter }),
      ),
    );
    expect((await a.getData('/count', { codec: counter })).data).toBe(30);
    expect(new Set(results.map((result) => result.value)).size).toBe(30);
    expect(results.every((result) => result.updated)).toBe(true);
  });

  it('writes nothing when the updater says so', async () => {
    const zk = await connect(start());
    await zk.create('/same', 'x');
    const result = await zk.update('/same', () => undefined);
    expect(result.updated).toBe(false);
    expect(text(result.value)).toBe('x');
    expect((await zk.exists('/same'))?.version).toBe(0);
  });

  it('gives up with BadVersion after conflictsMax conflicts', async () => {
    const server = start();
    const zk = await connect(server);
    const other = await connect(server);
    await zk.create('/hot', '0');
    let calls = 0;
    const attempt = zk.update(
      '/hot',
      async (current) => {
        calls++;
        await other.setData('/hot', `${text(current)}!`); // someone always gets there first
        return 'mine';
      },
      { conflictsMax: 3 },
    );
    await expect(attempt).rejects.toSatisfy((error) => error instanceof ZabError && error.is('BadVersion'));
    expect(calls).toBe(3);
  });

  it('an increment whose reply was lost is applied once, not re-run', async () => {
    const server = start();
    const links = new ControlledLinks(server);
    const zk = await connect(links, { reconnect: { initialDelayMs: 1, maxDelayMs: 5 } });
    const counter = json<number>();
    await zk.create('/once', 10, { codec: counter });
    let calls = 0;
    links.holdReplies = false;
    const updating = zk.update(
      '/once',
      (n: number) => {
        calls++;
        links.holdReplies = true; // the setData that follows loses its reply
        queueMicrotask(() => queueMicrotask(() => setTimeout(() => links.drop(), 0)));
        return n + 1;
      },
      { codec: counter, retry: new RetryNTimes(5, 2) },
    );
    const result = await updating;
    await settle();
    expect(calls).toBe(1);
    // The lost write and its retry, which found the write applied (BadVersion, then the check).
    expect(links.count('setData')).toBe(2);
    expect(result).toMatchObject({ updated: true, value: 11 });
    expect((await zk.getData('/once', { codec: counter })).data).toBe(11);
  });
});
