/** zoo.cfg text for the configuration-file tests. */

/** The timing every such test uses, `dataDir`, then `lines`, one a line, ending in a newline. */
export function zooCfg(dataDir: string, lines: readonly string[]): string {
  return ['tickTime=500', 'initLimit=10', 'syncLimit=5', `dataDir=${dataDir}`, ...lines, ''].join('\n');
}
