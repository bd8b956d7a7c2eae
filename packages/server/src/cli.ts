/**
 * The `zabkit` command's entry point. `zabkit server` first starts itself again, in the same
 * process (execve), with a young generation of its own size (see young-generation.ts), before
 * loading anything else; then the commands load (cli-main.ts), through Node's compile cache.
 */
import * as nodeModule from 'node:module';
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
// Node's compile cache (22.1 on) for the modules loaded from here on, about 220 for a server:
// a start after the first compiles them from the cache, about 30 ms of CPU less (160 ms to
// load them, 130 with the cache). In NODE_COMPILE_CACHE's directory, else the system's
// temporary one; NODE_DISABLE_COMPILE_CACHE=1 turns it off. It never fails a start: a cache
// that cannot be written is left unused.
nodeModule.enableCompileCache?.();
const { runCli } = await import('./cli-main.js');
runCli(argv, startupWarnings);
