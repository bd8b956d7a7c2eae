/**
 * Runs every golden transcript under packages/core/testdata/ (see runner.ts for the
 * language) and compares each command's output with the one checked in. After a deliberate
 * change of behaviour, rewrite them and read the diff:
 *
 *     ZABKIT_REWRITE_TRANSCRIPTS=1 npx vitest run packages/core/test/golden
 *     git diff packages/core/testdata
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runTranscript, runTranscriptFile, type TranscriptResult } from './runner.js';

const root = fileURLToPath(new URL('../../testdata/', import.meta.url));
const rewrite = process.env.ZABKIT_REWRITE_TRANSCRIPTS === '1';

function transcripts(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return transcripts(path);
      return entry.name.endsWith('.txt') ? [path] : [];
    })
    .sort();
}

const files = transcripts(root);

/** The lines of failed checks and of commands that could not run: never an expectation. */
function failures(result: TranscriptResult): string[] {
  return result.outputs.flatMap(({ directive, actual }) =>
    actual
      .split('\n')
      .filter((line) => line.startsWith('CHECK FAILED') || line.startsWith('error:'))
      .map((line) => `line ${directive.line} (${directive.command}): ${line}`),
  );
}

describe('golden transcripts', () => {
  it('exist', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files.map((path) => [relative(root, path), path]))('%s', (_name, path) => {
    const result = runTranscriptFile(path, rewrite);
    // A failed check fails the test whatever the file expects, rewritten or not.
    expect(failures(result), relative(root, path)).toEqual([]);
    // Rewriting takes the actual output as the new expectation: the diff is to be read in git.
    if (rewrite) return;
    for (const { directive, actual } of result.outputs) {
      // One expectation per command, so a failure names the command and shows a line diff.
      expect(actual, `${relative(root, path)}:${directive.line}: ${directive.command}`).toBe(
        directive.expected,
      );
    }
  });

  it('replays: the same transcript prints the same output twice', () => {
    for (const path of files) {
      const first = runTranscriptFile(path, false).rewritten;
      expect(runTranscriptFile(path, false).rewritten, relative(root, path)).toBe(first);
    }
  });
});

describe('the checks of the transcript language', () => {
  it('catch a driver that lets acknowledgements leave before the disk has what they promise', () => {
    const text = readFileSync(join(root, 'sync-acks-wait-for-durability.txt'), 'utf8');
    expect(failures(runTranscript(text))).toEqual([]);
    const broken = text.replace(/^cluster (.*)$/m, 'cluster $1 unsafe=send-before-durable');
    expect(broken).not.toBe(text);
    const caught = failures(runTranscript(broken));
    for (const kind of ['ackEpoch', 'ackNewLeader', 'ack '])
      expect(
        caught.some((line) => line.includes(`left before durable`) && line.includes(kind)),
        kind,
      ).toBe(true);
  });

  it('fail when what they state is false', () => {
    const text = [
      'cluster voters=3 quiet',
      'settle quiet',
      'connect c1 3',
      'stabilize quiet',
      'create c1 /x',
      'stabilize quiet',
      'check reply c1 xid=1 NoNode',
      'check znode /x absent',
      'check log 1 lacks /x',
      'check status 3 role=following',
      'check status 1 currentEpoch>=5',
      'check closed c1 sessionExpired',
      'check reply c1 xid=1 ok',
      'check znode /x present',
      'check converged',
    ]
      .map((command) => `${command}\n----\n`)
      .join('\n');
    const result = runTranscript(text);
    const failed = failures(result).map((line) => line.slice(line.indexOf('(') + 1, line.indexOf(')')));
    expect(failed).toEqual([
      'check reply c1 xid=1 NoNode',
      'check znode /x absent',
      'check log 1 lacks /x',
      'check status 3 role=following',
      'check status 1 currentEpoch>=5',
      'check closed c1 sessionExpired',
    ]);
  });
});
