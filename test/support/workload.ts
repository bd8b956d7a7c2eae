/**
 * Runs workload.py (kazoo, a real ZooKeeper client) against an ensemble and checks what it
 * recorded, as the fault harness of issue 14 asks:
 * - per key, version -> value is a function, and no acknowledged version repeats;
 * - no acknowledged sequential create is lost or doubled (and no create appears twice);
 * - every server converges on the same keys and creates;
 * - reads never go backwards within a session;
 * - writes succeed again within 30 s of the last heal.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connectTcp } from '@zabkit/client';
import type { Member } from './process-ensemble.js';

const script = fileURLToPath(new URL('./workload.py', import.meta.url));
export const keys = ['/k0', '/k1', '/k2'];

/** One operation as the workload recorded it. */
export interface OpRecord {
  readonly client: number;
  /** The session id in hex (JSON numbers cannot hold 64 bits). */
  readonly session: string | null;
  readonly op: 'cas' | 'create' | 'read';
  readonly start: number;
  readonly end: number;
  readonly outcome: 'ok' | 'failed' | 'unknown';
  readonly key?: string;
  readonly value?: string;
  readonly version?: number;
  readonly readVersion?: number;
  readonly readValue?: string;
  readonly path?: string;
  readonly error?: string;
}

/** Connects, trying again for a minute: a server that just recovered may not take sessions yet. */
async function connectPatiently(connectString: string): Promise<Awaited<ReturnType<typeof connectTcp>>> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await connectTcp(connectString, { sessionTimeoutMs: 10_000 });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** Creates the keys (version 0, value "init") and the parent of the sequential creates. */
export async function prepare(connectString: string): Promise<void> {
  const client = await connectPatiently(connectString);
  try {
    for (const key of keys) await client.create(key, 'init');
    await client.create('/seq', '');
  } finally {
    await client.close();
  }
}

/** Runs the workload for `seconds`; resolves with its records. */
export function runWorkload(
  connectString: string,
  seconds: number,
  seed: number,
  clients = 3,
): Promise<OpRecord[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      '/usr/bin/python3',
      [script, connectString, String(seconds), String(seed), String(clients)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    // The workload ends on its own; a hung client must not hang the test.
    const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 60) * 1000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err = (err + chunk).slice(-20_000);
    });
    child.on('exit', (code) => {
      clearTimeout(killer);
      const records = out
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as OpRecord | { op: 'done' });
      if (code !== 0 || !records.some((r) => r.op === 'done')) {
        reject(new Error(`workload exited ${code}: ${err}`));
        return;
      }
      resolve(records.filter((r): r is OpRecord => r.op !== 'done'));
    });
  });
}

/** What one server holds at the end: each key's version and value, and the creates' values by path. */
export interface FinalState {
  readonly keys: Record<string, { version: number; value: string }>;
  readonly creates: Record<string, string>;
}

export async function finalStateOf(member: Member): Promise<FinalState> {
  const client = await connectPatiently(`127.0.0.1:${member.clientPort}`);
  try {
    await client.sync('/');
    const state: FinalState = { keys: {}, creates: {} };
    const decode = (data: Uint8Array | null) => (data === null ? '' : new TextDecoder().decode(data));
    for (const key of keys) {
      const { data, stat } = await client.getData(key);
      state.keys[key] = { version: stat.version, value: decode(data) };
    }
    for (const child of (await client.getChildren('/seq')).sort()) {
      state.creates[`/seq/${child}`] = decode((await client.getData(`/seq/${child}`)).data);
    }
    return state;
  } finally {
    await client.close();
  }
}

/**
 * Every member's final state, read again while they differ, for up to `patienceMs`. A sync only
 * orders a server's reads after what its leader had committed when the sync reached it, and a
 * server that has just rejoined may still be writing what its leader sent; a difference that
 * lasts is a real divergence, which check() then reports with what differs.
 */
export async function finalStatesOf(members: readonly Member[], patienceMs = 30_000): Promise<FinalState[]> {
  const deadline = Date.now() + patienceMs;
  for (;;) {
    const finals: FinalState[] = [];
    for (const member of members) finals.push(await finalStateOf(member));
    const agree = finals.every((f) => JSON.stringify(f) === JSON.stringify(finals[0]));
    if (agree || Date.now() > deadline) return finals;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

/** Where two final states differ, briefly: the keys and created paths whose entries are not equal. */
export function differences(a: FinalState, b: FinalState, limit = 5): string[] {
  const found: string[] = [];
  const compare = (what: string, left: Record<string, unknown>, right: Record<string, unknown>) => {
    for (const name of new Set([...Object.keys(left), ...Object.keys(right)])) {
      const l = JSON.stringify(left[name]);
      const r = JSON.stringify(right[name]);
      if (l !== r) found.push(`${what} ${name}: ${l ?? 'absent'} vs ${r ?? 'absent'}`);
    }
  };
  compare('key', a.keys, b.keys);
  compare('create', a.creates, b.creates);
  return found.length > limit ? [...found.slice(0, limit), `and ${found.length - limit} more`] : found;
}

/** Every violation of the checks above; empty when the history passes. */
export function check(
  records: readonly OpRecord[],
  finals: readonly FinalState[],
  lastHealMs: number,
): string[] {
  const problems: string[] = [];
  // Per key: version -> value, from acknowledged CAS and from every read.
  for (const key of keys) {
    const valueAt = new Map<number, string>([[0, 'init']]);
    const ackedVersions = new Map<number, OpRecord>();
    const see = (version: number | undefined, value: string | undefined, what: string) => {
      if (version === undefined || value === undefined) return;
      const known = valueAt.get(version);
      if (known === undefined) valueAt.set(version, value);
      else if (known !== value)
        problems.push(`${key} version ${version} is both "${known}" and "${value}" (${what})`);
    };
    for (const r of records) {
      if (r.key !== key) continue;
      if (r.op === 'read' && r.outcome === 'ok') see(r.version, r.value, `read by client ${r.client}`);
      if (r.op === 'cas') see(r.readVersion, r.readValue, `read for a CAS by client ${r.client}`);
      if (r.op === 'cas' && r.outcome === 'ok') {
        see(r.version, r.value, `CAS by client ${r.client}`);
        const earlier = ackedVersions.get(r.version!);
        if (earlier !== undefined)
          problems.push(
            `${key} version ${r.version} acknowledged twice: "${earlier.value}" and "${r.value}"`,
          );
        ackedVersions.set(r.version!, r);
        if (r.version !== r.readVersion! + 1)
          problems.push(`${key}: a CAS from version ${r.readVersion} acknowledged version ${r.version}`);
      }
    }
    for (const final of finals) see(final.keys[key]?.version, final.keys[key]?.value, 'final state');
  }
  // Sequential creates: each acknowledged one exactly once, none twice.
  const final = finals[0];
  if (final !== undefined) {
    const pathsByValue = new Map<string, string[]>();
    for (const [path, value] of Object.entries(final.creates))
      pathsByValue.set(value, [...(pathsByValue.get(value) ?? []), path]);
    for (const [value, paths] of pathsByValue)
      if (paths.length > 1)
        problems.push(`create "${value}" made ${paths.length} nodes: ${paths.join(', ')}`);
    for (const r of records) {
      if (r.op !== 'create') continue;
      const paths = pathsByValue.get(r.value!) ?? [];
      if (r.outcome === 'ok' && (paths.length !== 1 || paths[0] !== r.path))
        problems.push(
          `acknowledged create "${r.value}" at ${r.path} is ${paths.length === 0 ? 'lost' : `at ${paths.join(', ')}`}`,
        );
      if (r.outcome === 'failed' && paths.length > 0)
        problems.push(`failed create "${r.value}" exists at ${paths.join(', ')}`);
    }
  }
  // Convergence.
  for (let i = 1; i < finals.length; i++) {
    if (JSON.stringify(finals[i]) !== JSON.stringify(finals[0]))
      problems.push(
        `server ${i + 1}'s final state differs from server 1's (${differences(finals[0]!, finals[i]!).join('; ')})`,
      );
  }
  // Reads never go backwards within a session (a client's calls are sequential).
  const lastSeen = new Map<string, number>();
  for (const r of [...records].sort((a, b) => a.start - b.start)) {
    if (r.key === undefined || r.session === null) continue;
    const observed = r.op === 'read' ? (r.outcome === 'ok' ? r.version : undefined) : r.readVersion;
    if (observed === undefined) continue;
    const slot = `${r.session}:${r.key}`;
    const before = lastSeen.get(slot);
    if (before !== undefined && observed < before)
      problems.push(`session ${r.session} read ${r.key} at version ${observed} after version ${before}`);
    lastSeen.set(
      slot,
      Math.max(before ?? observed, observed, r.op === 'cas' && r.outcome === 'ok' ? r.version! : observed),
    );
  }
  // Writes succeed again within 30 s of the last heal.
  const firstWriteAfterHeal = records
    .filter((r) => r.op !== 'read' && r.outcome === 'ok' && r.start >= lastHealMs)
    .reduce((min, r) => Math.min(min, r.end), Number.POSITIVE_INFINITY);
  if (firstWriteAfterHeal - lastHealMs > 30_000)
    problems.push(
      `no write succeeded within 30 s of the heal (first after ${firstWriteAfterHeal - lastHealMs} ms)`,
    );
  return problems;
}

/** Counts of outcomes per operation, for the test's report. */
export function summary(records: readonly OpRecord[]): string {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(`${r.op} ${r.outcome}`, (counts.get(`${r.op} ${r.outcome}`) ?? 0) + 1);
  return [...counts]
    .sort()
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
}
