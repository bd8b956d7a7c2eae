/**
 * The flagship example as a deployment runs it: three separate processes of
 * examples/embedded-service.mjs, each embedding one durable peer on its own data directory,
 * peer links authenticated with a shared secret. The test kills instances (the leader
 * included, with SIGKILL), restarts one from its disk, stops the leader gracefully with
 * SIGTERM, and checks after each step that the service keeps answering reads and writes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../examples/embedded-service.mjs', import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

interface Instance {
  readonly child: ChildProcess;
  output: string;
  readonly exited: Promise<number | null>;
}

describe('an HTTP service of three processes, each embedding one peer', () => {
  let root = '';
  let ports: number[] = [];
  let peers = '';
  let secretFile = '';
  const instances = new Map<number, Instance>();

  const start = (id: number): Promise<void> => {
    const child = spawn(
      process.execPath,
      [
        script,
        ...['--id', String(id), '--peers', peers, '--data', join(root, `instance-${id}`)],
        ...['--http', String(ports[id + 5]), '--secret-file', secretFile, '--tick-time', '200'],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const instance: Instance = {
      child,
      output: '',
      exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    };
    instances.set(id, instance);
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      instance.output += text;
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`instance ${id} not ready: ${instance.output}`)),
        30_000,
      );
      child.stdout!.on('data', (text: string) => {
        instance.output += text;
        if (instance.output.includes(`ready ${id} `)) {
          clearTimeout(timer);
          resolve();
        }
      });
      void instance.exited.then((code) =>
        reject(new Error(`instance ${id} exited ${code}: ${instance.output}`)),
      );
    });
  };

  const url = (id: number, path: string) => `http://127.0.0.1:${ports[id + 5]}${path}`;

  /** An answer from the instance, retried until `accept` likes it (the cluster may be electing). */
  async function until<T>(what: string, ask: () => Promise<T>, accept: (answer: T) => boolean): Promise<T> {
    const started = Date.now();
    let last: unknown;
    while (Date.now() - started < 30_000) {
      try {
        const answer = await ask();
        if (accept(answer)) return answer;
        last = answer;
      } catch (error) {
        last = error;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${what}: last answer ${JSON.stringify(last) ?? String(last)}`);
  }

  const health = async (id: number) => {
    const response = await fetch(url(id, '/health'), { signal: AbortSignal.timeout(5000) });
    return { status: response.status, body: (await response.json()) as { role: string; leaderId?: number } };
  };
  const read = async (id: number) => {
    const response = await fetch(url(id, '/config'), { signal: AbortSignal.timeout(10_000) });
    return { status: response.status, body: (await response.json()) as { value?: string } };
  };
  const write = async (id: number, value: string) => {
    const response = await fetch(url(id, '/config'), {
      method: 'PUT',
      body: value,
      signal: AbortSignal.timeout(15_000),
    });
    return { status: response.status, body: (await response.json()) as { value?: string } };
  };
  const leaderAmong = async (ids: number[]) => {
    const answers = await Promise.all(ids.map(async (id) => [id, (await health(id)).body.role] as const));
    return answers.find(([, role]) => role === 'leading')?.[0];
  };
  /** Every instance named answers the value, read from its own replica. */
  const allRead = (ids: number[], value: string) =>
    Promise.all(
      ids.map((id) =>
        until(
          `instance ${id} reads ${value}`,
          () => read(id),
          (answer) => answer.status === 200 && answer.body.value === value,
        ),
      ),
    );

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'zabkit-embedded-service-test-'));
    secretFile = join(root, 'quorum.secret');
    await writeFile(secretFile, randomBytes(32).toString('base64'), { mode: 0o600 });
    ports = await Promise.all(Array.from({ length: 9 }, () => freePort()));
    peers = [1, 2, 3].map((id) => `${id}=127.0.0.1:${ports[id - 1]}:${ports[id + 2]}`).join(',');
    await Promise.all([1, 2, 3].map(start));
  }, 60_000);

  afterAll(async () => {
    for (const instance of instances.values()) instance.child.kill('SIGKILL');
    await Promise.all([...instances.values()].map((instance) => instance.exited));
    await rm(root, { recursive: true, force: true });
  });

  it('elects one leader among the processes and shares the configuration', async () => {
    const roles = await Promise.all([1, 2, 3].map(async (id) => (await health(id)).body.role));
    expect(roles.filter((role) => role === 'leading')).toHaveLength(1);
    expect(roles.filter((role) => role === 'following')).toHaveLength(2);
    const written = await until(
      'a first write',
      () => write(2, 'retries=3'),
      (answer) => answer.status === 200,
    );
    expect(written.body.value).toBe('retries=3');
    await allRead([1, 2, 3], 'retries=3');
  }, 60_000);

  it('keeps answering when the leader is killed, and the killed instance comes back from its disk', async () => {
    const leader = (await leaderAmong([1, 2, 3]))!;
    expect(leader).toBeDefined();
    instances.get(leader)!.child.kill('SIGKILL');
    await instances.get(leader)!.exited;
    const survivors = [1, 2, 3].filter((id) => id !== leader);
    // Reads keep coming from the survivors' replicas; a write waits out the election.
    await allRead(survivors, 'retries=3');
    await until(
      'a write after the leader died',
      () => write(survivors[0]!, 'retries=4'),
      (a) => a.status === 200,
    );
    await allRead(survivors, 'retries=4');
    const next = await until(
      'a new leader',
      () => leaderAmong(survivors),
      (id) => id !== undefined,
    );
    expect(survivors).toContain(next);

    await start(leader);
    await allRead([1, 2, 3], 'retries=4');
    const rejoined = await until(
      'rejoined',
      () => health(leader),
      (answer) => answer.status === 200,
    );
    expect(rejoined.body.role).toBe('following');
  }, 90_000);

  it('keeps answering when a follower is killed', async () => {
    const leader = (await leaderAmong([1, 2, 3]))!;
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    instances.get(follower)!.child.kill('SIGKILL');
    await instances.get(follower)!.exited;
    const others = [1, 2, 3].filter((id) => id !== follower);
    await until(
      'a write without the follower',
      () => write(others[0]!, 'retries=5'),
      (a) => a.status === 200,
    );
    await allRead(others, 'retries=5');
    expect(await leaderAmong(others)).toBe(leader);
    await start(follower);
    await allRead([1, 2, 3], 'retries=5');
  }, 90_000);

  it('hands leadership over when the leader stops gracefully (SIGTERM)', async () => {
    const leader = (await leaderAmong([1, 2, 3]))!;
    const instance = instances.get(leader)!;
    instance.child.kill('SIGTERM');
    expect(await instance.exited).toBe(0);
    expect(instance.output).toContain(`instance ${leader}: closed (handedOver)`);
    const survivors = [1, 2, 3].filter((id) => id !== leader);
    await until(
      'a write after the handover',
      () => write(survivors[1]!, 'retries=6'),
      (a) => a.status === 200,
    );
    await allRead(survivors, 'retries=6');
    expect(survivors).toContain(await leaderAmong(survivors));
  }, 90_000);
});
