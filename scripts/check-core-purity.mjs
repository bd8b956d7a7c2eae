// Enforces the core boundary: packages/core may not import node:* modules, read the clock,
// draw randomness or arm timers. Biome's noRestrictedImports covers named imports; this
// catches the rest (any node: specifier, globals such as Date.now, process, setTimeout).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../packages/core/src/', import.meta.url).pathname;
const forbidden = [
  [/from\s+['"]node:/, 'imports a node:* module'],
  [/import\(\s*['"]node:/, 'imports a node:* module'],
  [/\brequire\s*\(/, 'uses require()'],
  [/\bDate\.now\b|\bnew Date\b|\bperformance\.now\b/, 'reads the clock'],
  [/\bMath\.random\b|\bcrypto\.getRandomValues\b/, 'draws randomness'],
  [/\bset(Timeout|Interval|Immediate)\b|\bqueueMicrotask\b/, 'arms a timer'],
  [/\bprocess\./, 'touches process'],
  [/\bBuffer\b/, 'uses Node Buffer (use Uint8Array)'],
];

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (path.endsWith('.ts')) yield path;
  }
}

let violations = 0;
for (const file of files(root)) {
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, index) => {
    const code = line.replace(/\/\/.*$/, '');
    if (code.trim().startsWith('*')) return;
    for (const [pattern, why] of forbidden) {
      if (pattern.test(code)) {
        console.error(`${file}:${index + 1}: core ${why}: ${line.trim()}`);
        violations++;
      }
    }
  });
}
// A SessionId is minted only where session ids are made, proven or decoded (see session-ids.ts):
// a cast anywhere else would let any bigint pass for one.
const packagesRoot = new URL('../packages/', import.meta.url).pathname;
const mint = join(root, 'sessions', 'session-ids.ts');
for (const name of readdirSync(packagesRoot)) {
  const src = join(packagesRoot, name, 'src');
  if (!statSync(src, { throwIfNoEntry: false })?.isDirectory()) continue;
  for (const file of files(src)) {
    if (file === mint) continue;
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, index) => {
        if (/\bas\s+SessionId\b/.test(line)) {
          console.error(
            `${file}:${index + 1}: mints a SessionId outside sessions/session-ids.ts: ${line.trim()}`,
          );
          violations++;
        }
      });
  }
}

if (violations > 0) {
  console.error(`core purity: ${violations} violation(s)`);
  process.exit(1);
}
console.log('core purity: ok');
