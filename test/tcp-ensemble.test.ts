/**
 * A 3-server ensemble of separate processes on loopback, started with `zabkit server
 * --config`, as an operator would. The leader dies by SIGKILL under a connected client; a
 * minority cut off from the others (its peers stopped with SIGSTOP) must refuse writes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectTcp, type ZabClient } from '@zabkit/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../packages/server/dist/cli.js', import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    let text = '';
    socket.on('connect', () => socket.write(word));
    socket.on('data', (chunk) => {
      text += chunk.toString();
    });
    socket.on('error', () => resolve(''));
    socket.on('close', () => resolve(text));
  });
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Member {
  readonly id: number;
  readonly clientPort: number;
  process: ChildProcess | undefined;
}

describe('a 3-server ensemble of separate processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-ensemble-'));
  const members: Member[] = [];
  const clients: ZabClient[] = [];

  const start = (member: Member) => {
    const child = spawn(process.execPath, [cli, 'server', '--config', join(dir, `zoo${member.id}.cfg`)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.resume();
    child.stderr?.resume();
    member.process = child;
  };

  const mode = async (member: Member) => {
    const text = await fourLetterWord(member.clientPort, 'srvr');
    return /Mode: (\w+)/.exec(text)?.[1];
  };

  const leader = () =>
    until(async () => {
      for (const member of members) {
        if (member.process !== undefined && (await mode(member)) === 'leader') return member;
      }
      return undefined;
    });

  beforeAll(async () => {
    const ports = await Promise.all(Array.from({ length: 9 }, () => freePort()));
    const serverLines = [1, 2, 3].map(
      (id) => `server.${id}=127.0.0.1:${ports[(id - 1) * 3]}:${ports[(id - 1) * 3 + 1]}`,
    );
    for (const id of [1, 2, 3]) {
      const dataDir = join(dir, `data${id}`);
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(join(dataDir, 'myid'), `${id}\n`);
      const clientPort = ports[(id - 1) * 3 + 2]!;
      writeFileSync(
        join(dir, `zoo${id}.cfg`),
        [
          'tickTime=200',
          'initLimit=10',
          'syncLimit=5',
          `dataDir=${dataDir}`,
          `clientPort=${clientPort}`,
          'clientPortAddress=127.0.0.1',
          '4lw.commands.whitelist=*',
          ...serverLines,
          '',
        ].join('\n'),
      );
      members.push({ id, clientPort, process: undefined });
    }
    for (const member of members) start(member);
    await leader();
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    for (const member of members) {
      member.process?.kill('SIGCONT');
      member.process?.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a session and its ephemerals when the leader it is connected to is killed', async () => {
    const first = await leader();
    const others = members.filter((member) => member !== first);
    const connectString = [first, ...others].map((member) => `127.0.0.1:${member.clientPort}`).join(',');
    const client = await connectTcp(connectString, { sessionTimeoutMs: 4000, shuffle: false });
    clients.push(client);
    const sessionId = client.sessionId;
    await client.create('/owned', 'mine', { mode: 'ephemeral' });
    await client.create('/before', 'x');

    first.process!.kill('SIGKILL');
    first.process = undefined;
    const next = await leader();
    expect(next).not.toBe(first);

    // The client finds another server and keeps its session; writes go on.
    await until(async () => {
      try {
        await client.create('/after', 'y');
        return true;
      } catch {
        return undefined;
      }
    });
    expect(client.sessionId).toBe(sessionId);
    const observer = await connectTcp(
      `127.0.0.1:${others[0]!.clientPort},127.0.0.1:${others[1]!.clientPort}`,
    );
    clients.push(observer);
    const stat = await observer.exists('/owned');
    expect(stat?.ephemeralOwner).toBe(sessionId);
    expect((await observer.getData('/before')).data).toEqual(new TextEncoder().encode('x'));

    // The killed server comes back and catches up.
    start(first);
    await until(async () => ((await mode(first)) === 'follower' ? true : undefined));
    const late = await connectTcp(`127.0.0.1:${first.clientPort}`);
    clients.push(late);
    await late.sync('/');
    expect(await late.exists('/after')).toBeDefined();
  }, 60_000);

  it('a server cut off from the others (they are stopped) accepts no writes', async () => {
    const lone = members.find((member) => member.process !== undefined)!;
    const client = await connectTcp(`127.0.0.1:${lone.clientPort}`, { sessionTimeoutMs: 4000 });
    clients.push(client);
    await client.create('/while-whole', '');
    const stopped = members.filter((member) => member !== lone);
    for (const member of stopped) member.process?.kill('SIGSTOP');
    try {
      // Once the lone server notices it has no quorum it stops serving; nothing it accepted
      // in the meantime may commit without the others.
      let accepted = 0;
      const deadline = Date.now() + 2000;
      while (Date.now() < deadline) {
        try {
          await client.create(`/while-cut-${accepted}`, '');
          accepted++;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      expect(accepted).toBe(0);
      expect(await mode(lone)).not.toBe('leader');
    } finally {
      for (const member of stopped) member.process?.kill('SIGCONT');
    }
    await until(async () => {
      try {
        await client.create('/healed', '');
        return true;
      } catch {
        return undefined;
      }
    });
  }, 60_000);
});
