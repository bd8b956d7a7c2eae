// Runs `zabkit shell` from the built package, for the pseudo-terminal test: a child node
// process cannot load the TypeScript sources, so this needs `npx tsc -b packages/server` first.
import { runShell } from '../dist/shell/index.js';

process.exitCode = await runShell(process.argv.slice(2));
process.exit();
