// Every top-level export of the public packages carries TSDoc: typedoc's notDocumented
// validation, per package, over classes, interfaces, functions, types, variables and enums.
// Prints what is missing and exits non-zero if anything is.
import { execFileSync } from 'node:child_process';

const packages = [
  'core',
  'wire',
  'codec',
  'client',
  'recipes',
  'server',
  'storage-memory',
  'storage-level',
  'transport-memory',
  'transport-tcp',
  'zk-format',
];
const kinds = ['Class', 'Interface', 'Function', 'TypeAlias', 'Variable', 'Enum'];
// Terminal colour codes typedoc puts around its words.
const colourCodes = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
let missing = 0;
for (const name of packages) {
  const args = [
    'typedoc',
    '--entryPointStrategy',
    'resolve',
    '--entryPoints',
    `packages/${name}/src/index.ts`,
    '--tsconfig',
    `packages/${name}/tsconfig.json`,
    '--validation.notDocumented',
    'true',
    '--emit',
    'none',
    ...kinds.flatMap((kind) => ['--requiredToBeDocumented', kind]),
  ];
  let output;
  try {
    output = execFileSync('npx', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    output = `${error.stdout ?? ''}${error.stderr ?? ''}`;
  }
  const lines = output
    .split('\n')
    .map((line) => line.replaceAll(colourCodes, ''))
    .filter(
      (line) =>
        line.includes('does not have any documentation') && !/\((CallSignature|Property)\)/.test(line),
    );
  for (const line of lines) console.log(`${name}: ${line.replace(/^\[warning\] /, '')}`);
  missing += lines.length;
}
if (missing > 0) {
  console.log(`${missing} exports without TSDoc`);
  process.exit(1);
}
console.log(`every top-level export of ${packages.length} packages is documented`);
