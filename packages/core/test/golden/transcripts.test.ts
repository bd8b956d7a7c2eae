/**
 * Runs every golden transcript under packages/core/testdata/ (see runner.ts for the
 * language) and compares each command's output with the one checked in. After a deliberate
 * change of behaviour, rewrite them and read the diff:
 *
 *     ZABKIT_REWRITE_TRANSCRIPTS=1 npx vitest run packages/core/test/golden
 *     git diff packages/core/testdata
 */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runTranscriptFile } from './runner.js';

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

describe('golden transcripts', () => {
  it('exist', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files.map((path) => [relative(root, path), path]))('%s', (_name, path) => {
    const result = runTranscriptFile(path, rewrite);
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
