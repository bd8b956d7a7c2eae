/**
 * The admin restore on a 3-process ensemble over TCP (three `zabkit server` processes on
 * LevelDB): a snapshot taken from one member, restored through a follower's admin port, ends
 * as every member's state; a member killed (SIGKILL) right after and started again comes back
 * with it from its own store.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectTcp, type ZabClient } from '@zabkit/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from './helpers.js';
import { freePort } from './server-process.js';

const bin = fileURLToPath(new URL('../bin/zabkit.js', import.meta.url));
const operator = { authorization: 'digest ops:pw' };
const text = (bytes: Uint8Array | null) => new TextDecoder().decode(bytes ?? new Uint8Array());

interface Member {
  readonly id: number;
  readonly cfg: string;
  readonly clientPort: number;
  readonly adminPort: number;
  child: ChildProcess | undefined;
}

const root = mkdtempSync(join(tmpdir(), 'zabkit-restore-processes-'));
const members: Member[] = [];
const clients: ZabClient[] = [];

function start(member: Member): Promise<void> {
  const child = spawn(process.execPath, [bin, 'server', '--config', member.cfg, '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  member.child = child;
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`member ${member.id} exited with ${code}: ${stderr}`)));
  });
}

async function kill(member: Member): Promise<void> {
  const child = member.child;
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  member.child = undefined;
}

const admin = (member: Member, command: string) => `http://127.0.0.1:${member.adminPort}/commands/${command}`;

async function adminJson(member: Member, command: string): Promise<Record<string, unknown> | undefined> {
  try {
    const response = await fetch(admin(member, command));
    return (await response.json()) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Waits until every member knows its leader (the admin leader command). */
async function serving(): Promise<void> {
  await until(async () => {
    for (const member of members) {
      const stats = await adminJson(member, 'leader');
      if (stats === undefined || stats.leader_id === -1 || stats.error !== null) return false;
    }
    return true;
  }, 60_000);
}

async function leaderId(): Promise<number> {
  const answer = await adminJson(members[0]!, 'leader');
  return answer!.leader_id as number;
}

async function client(member: Member): Promise<ZabClient> {
  const zk = await connectTcp(`127.0.0.1:${member.clientPort}`, { sessionTimeoutMs: 10_000 });
  clients.push(zk);
  return zk;
}

/** Each member's answer for `path`: its data, or null when it has no such node. */
async function everywhere(path: string): Promise<(string | null)[]> {
  const answers: (string | null)[] = [];
  for (const member of members) {
    const zk = await client(member);
    await zk.sync('/');
    const stat = await zk.exists(path);
    answers.push(stat === null ? null : text((await zk.getData(path)).data));
    await zk.close();
  }
  return answers;
}

beforeAll(async () => {
  const ports = [];
  for (let i = 0; i < 3; i++)
    ports.push({
      quorum: await freePort(),
      election: await freePort(),
      client: await freePort(),
      admin: await freePort(),
    });
  const lines = ports
    .map((p, i) => `server.${i + 1}=127.0.0.1:${p.quorum}:${p.election}:participant;127.0.0.1:${p.client}`)
    .join('\n');
  for (const [index, p] of ports.entries()) {
    const id = index + 1;
    const dataDir = join(root, `server-${id}`);
    const cfg = join(root, `zoo-${id}.cfg`);
    writeFileSync(
      cfg,
      `tickTime=100\ninitLimit=30\nsyncLimit=10\ndataDir=${dataDir}\n` +
        `admin.serverAddress=127.0.0.1\nadmin.serverPort=${p.admin}\nadmin.rateLimiterIntervalInMS=0\n${lines}\n`,
    );
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'myid'), `${id}\n`);
    members.push({ id, cfg, clientPort: p.client, adminPort: p.admin, child: undefined });
  }
  await Promise.all(members.map((member) => start(member)));
  await serving();
}, 90_000);

afterAll(async () => {
  for (const zk of clients) await zk.close().catch(() => undefined);
  for (const member of members) await kill(member);
  rmSync(root, { recursive: true, force: true });
});

describe('restore on a 3-process ensemble over TCP', () => {
  it('restored through a follower, every member holds the snapshot; a member killed after it comes back with it', async () => {
    const lead = await leaderId();
    const follower = members.find((m) => m.id !== lead)!;
    const zk = await client(members.find((m) => m.id === lead)!);
    await zk.create('/app', 'v1');
    await zk.create('/app/kept', 'k');
    // The follower's snapshot is of what it has applied: wait until it holds /app/kept.
    await until(async () => (await everywhere('/app/kept')).every((data) => data === 'k'), 30_000);
    const snapshot = await fetch(admin(follower, 'snapshot'), { headers: operator });
    expect(snapshot.status).toBe(200);
    const bytes = new Uint8Array(await snapshot.arrayBuffer());
    await zk.setData('/app', 'v2');
    await zk.create('/app/later', 'l');

    const response = await fetch(admin(follower, 'restore'), {
      method: 'POST',
      body: bytes,
      headers: operator,
    });
    const answer = (await response.json()) as Record<string, unknown>;
    expect(response.status, JSON.stringify(answer)).toBe(200);
    expect(answer).toMatchObject({ command: 'restore', error: null });
    expect(typeof answer.last_zxid).toBe('number');

    await until(async () => (await everywhere('/app')).every((data) => data === 'v1'), 30_000);
    expect(await everywhere('/app/later')).toEqual([null, null, null]);
    expect(await everywhere('/app/kept')).toEqual(['k', 'k', 'k']);

    // A member killed and started again: the restore is in its own store.
    const victim = members.find((m) => m.id !== follower.id)!;
    await kill(victim);
    await start(victim);
    await serving();
    await until(async () => (await everywhere('/app')).every((data) => data === 'v1'), 30_000);
    expect(await everywhere('/app/later')).toEqual([null, null, null]);
  }, 120_000);
});
