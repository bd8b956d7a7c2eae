/**
 * The young generation `zabkit server` runs with. V8 sizes it from the heap limit, which it
 * sizes from the machine's memory: with a 4 GiB limit it grows to 2 x 64 MiB of semi-spaces
 * while a restart restores a large tree (nearly everything allocated then survives), and never
 * gives them back to an idle server. Capped at 16 MiB each, a server restarted on a million
 * znodes holds about 80 MiB less, and its restore and writes cost no more CPU (the collector
 * copies what survives, and in a server little does).
 */

/** The semi-space size, in MiB, a `zabkit server` process gets unless told otherwise. */
export const serverSemiSpaceMiB = 16;

/** Node flags that already say how large the young generation is. */
const youngGenerationFlag = /--(?:max|min)[-_](?:semi[-_]space|young[-_]generation)[-_]size/;

/**
 * The node flags to start `zabkit server` again with, or undefined to go on as it is: for any
 * other command, or when the young generation was chosen already (node's flags or
 * NODE_OPTIONS), which includes the process started again.
 */
export function youngGenerationRestart(
  argv: readonly string[],
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string[] | undefined {
  if (argv[0] !== 'server') return undefined;
  if (execArgv.some((flag) => youngGenerationFlag.test(flag))) return undefined;
  if (nodeOptions !== undefined && youngGenerationFlag.test(nodeOptions)) return undefined;
  return [`--max-semi-space-size=${serverSemiSpaceMiB}`, ...execArgv];
}

/** The warning `zabkit server` logs when it could not start itself again with its young generation. */
export function youngGenerationFallbackWarning(error: unknown): string {
  const reason = error instanceof Error ? error.message : String(error);
  return `running with V8's own young generation (not --max-semi-space-size=${serverSemiSpaceMiB}): starting again failed: ${reason}`;
}
