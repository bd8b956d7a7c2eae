/**
 * Backups: `zabkit snapshot <host:adminPort>` takes a snapshot of a running server through its
 * admin server (the `snapshot` command, authenticated as 3.9 requires) and writes it as
 * `snapshot.<zxid>` in ZooKeeper's format; `zabkit storage restore <snapshot> <dataDir>` puts
 * one into a stopped server's (or a fresh) data directory, the way import-zookeeper loads a
 * ZooKeeper data directory. Apache ZooKeeper starts from the same file.
 *
 * @module
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { runImport } from './migration.js';
import { Progress } from './progress.js';
import { ToolError, UsageError } from './store.js';

/** The `zabkit snapshot` usage line. */
export const snapshotUsage =
  'usage: zabkit snapshot <host:adminPort> [--out DIR] [--auth "digest user:password"] [--command-url /commands]';

/** `zabkit snapshot <host:adminPort>`: resolves with the exit code. */
export async function runSnapshot(args: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    process.stderr.write(
      `zabkit snapshot: ${error instanceof Error ? error.message : String(error)}\n${snapshotUsage}\n`,
    );
    return 2;
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    process.stderr.write(`${snapshotUsage}\n`);
    return 2;
  }
  const target = positionals[0]!;
  const base = target.includes('://') ? target : `http://${target}`;
  const url = `${base.replace(/\/+$/, '')}${values['command-url']}/snapshot?streaming=true`;
  const auth = values.auth ?? process.env.ZABKIT_ADMIN_AUTH;
  let response: Response;
  try {
    response = await fetch(url, auth === undefined ? {} : { headers: { authorization: auth } });
  } catch (error) {
    process.stderr.write(
      `zabkit snapshot: cannot reach ${url}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  }
  if (response.status !== 200) {
    const text = await response.text();
    let why = text;
    try {
      why = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {
      // Not JSON: the text says it.
    }
    process.stderr.write(`zabkit snapshot: ${url} answered ${response.status}: ${why}\n`);
    return 1;
  }
  const zxid = response.headers.get('last_zxid');
  const size = Number(response.headers.get('snapshot_size') ?? Number.NaN);
  if (zxid === null || !/^0x[0-9a-f]+$/i.test(zxid) || response.body === null) {
    process.stderr.write(`zabkit snapshot: ${url} sent no snapshot (no last_zxid header)\n`);
    return 1;
  }
  const progress = new Progress('downloading snapshot');
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      chunks.push(chunk);
      received += chunk.length;
      progress.update(received, Number.isFinite(size) ? size : undefined, 'bytes');
    }
  } finally {
    progress.finish();
  }
  if (Number.isFinite(size) && received !== size) {
    process.stderr.write(`zabkit snapshot: got ${received} bytes of ${size}: the download was cut short\n`);
    return 1;
  }
  mkdirSync(values.out, { recursive: true });
  const file = join(values.out, `snapshot.${BigInt(zxid).toString(16)}`);
  writeFileSync(file, Buffer.concat(chunks));
  process.stdout.write(`wrote ${file} (${received} bytes, zxid ${zxid})\n`);
  return 0;
}

/** The `zabkit restore` usage line. */
export const restoreUsage =
  'usage: zabkit restore <host:adminPort> <snapshot file> [--auth "digest user:password"] [--command-url /commands]';

/**
 * `zabkit restore <host:adminPort> <snapshot>`: posts the snapshot to a running server's admin
 * `restore` command (ZooKeeper 3.9's), which replaces its state; resolves with the exit code.
 */
export async function runRestoreOnline(args: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    process.stderr.write(
      `zabkit restore: ${error instanceof Error ? error.message : String(error)}\n${restoreUsage}\n`,
    );
    return 2;
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 2) {
    process.stderr.write(`${restoreUsage}\n`);
    return 2;
  }
  const [target, file] = positionals as [string, string];
  let body: Uint8Array;
  try {
    body = new Uint8Array(readFileSync(file));
  } catch (error) {
    process.stderr.write(
      `zabkit restore: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? error}\n`,
    );
    return 1;
  }
  const base = target.includes('://') ? target : `http://${target}`;
  const url = `${base.replace(/\/+$/, '')}${values['command-url']}/restore`;
  const auth = values.auth ?? process.env.ZABKIT_ADMIN_AUTH;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/octet-stream',
        ...(auth === undefined ? {} : { authorization: auth }),
      },
    });
  } catch (error) {
    process.stderr.write(
      `zabkit restore: cannot reach ${url}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  }
  const text = await response.text();
  let answer: { error?: string | null } = {};
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    // Not JSON: the text says it.
  }
  if (response.status !== 200 || (answer.error ?? null) !== null) {
    process.stderr.write(`zabkit restore: ${url} answered ${response.status}: ${answer.error ?? text}\n`);
    return 1;
  }
  // Read from the text: a 64-bit zxid does not survive JSON.parse's doubles.
  const exact = /"last_zxid"\s*:\s*(-?\d+)/.exec(text)?.[1];
  const zxid = exact === undefined ? '?' : `0x${BigInt.asUintN(64, BigInt(exact)).toString(16)}`;
  process.stdout.write(`restored ${file} (${body.length} bytes) into ${target}: zxid ${zxid}\n`);
  return 0;
}

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      out: { type: 'string', default: '.' },
      auth: { type: 'string' },
      'command-url': { type: 'string', default: '/commands' },
    },
  });
}

/** `zabkit storage restore <snapshot.ZXID> <zabkitDataDir> [--force] [--json]`. */
export async function runRestore(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { force: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 2)
    throw new UsageError('usage: zabkit storage restore <snapshot.ZXID> <zabkitDataDir> [--force] [--json]');
  const [snapshot, dataDir] = positionals as [string, string];
  const name = basename(snapshot);
  // ZooKeeper's loader takes the snapshot's zxid from its name, as `zabkit snapshot` writes it.
  if (!/^snapshot\.[0-9a-f]+$/.test(name))
    throw new ToolError(
      `${snapshot}: a snapshot file is named snapshot.<zxid in hex>, as zabkit snapshot writes it`,
    );
  const scratch = mkdtempSync(join(tmpdir(), 'zabkit-restore-'));
  try {
    mkdirSync(join(scratch, 'version-2'));
    copyFileSync(snapshot, join(scratch, 'version-2', name));
    return await runImport([
      scratch,
      dataDir,
      ...(values.force ? ['--force'] : []),
      ...(values.json ? ['--json'] : []),
    ]);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
