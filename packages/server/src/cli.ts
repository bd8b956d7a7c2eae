/**
 * The `zabkit` command's entry point. `zabkit server` first starts itself again, in the same
 * process (execve), with a young generation of its own size (see young-generation.ts), before
 * loading anything else; then the commands load (cli-main.ts).
 */
import { youngGenerationFallbackWarning, youngGenerationRestart } from './young-generation.js';

const argv = process.argv.slice(2);
const flags = youngGenerationRestart(argv, process.execArgv, process.env.NODE_OPTIONS);
/** What the server logs once its log exists: why it runs with V8's own young generation. */
const startupWarnings: string[] = [];
// execve is Node 22.15 and 23.11 on, and not on Windows: elsewhere the server runs as started.
if (flags !== undefined && typeof process.execve === 'function' && process.platform !== 'win32') {
  try {
    process.execve(process.execPath, [process.execPath, ...flags, process.argv[1]!, ...argv], process.env);
  } catch (error) {
    // Not started again (the binary cannot be executed again, say): run as started, and say so,
    // since the server then holds more memory than its figures promise.
    startupWarnings.push(youngGenerationFallbackWarning(error));
  }
}
const { runCli } = await import('./cli-main.js');
runCli(argv, startupWarnings);
