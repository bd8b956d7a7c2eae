/** Tab completion for the shell's terminal: command names first, then znode paths. */

/** Lists a znode's children; completion asks it for the parent of the path being typed. */
export type ChildLister = (path: string) => Promise<readonly string[]>;

/**
 * Completions for `line` in node:readline's form `[candidates, the word they replace]`. The
 * first word completes from `names`; a later word starting with `/` completes from the
 * children of its parent znode (`get /app/co` asks for the children of `/app`). A parent that
 * does not exist, or a lister that fails, completes nothing.
 */
export async function completeLine(
  line: string,
  names: readonly string[],
  children: ChildLister,
): Promise<[string[], string]> {
  const start = Math.max(line.lastIndexOf(' '), line.lastIndexOf('\t')) + 1;
  const word = line.slice(start);
  if (line.slice(0, start).trim() === '') {
    return [names.filter((name) => name.startsWith(word)).sort(), word];
  }
  if (!word.startsWith('/')) return [[], word];
  const slash = word.lastIndexOf('/');
  const parent = slash === 0 ? '/' : word.slice(0, slash);
  const prefix = word.slice(slash + 1);
  let found: readonly string[];
  try {
    found = await children(parent);
  } catch {
    return [[], word];
  }
  const base = parent === '/' ? '' : parent;
  const matches = found
    .filter((child) => child.startsWith(prefix))
    .sort()
    .map((child) => `${base}/${child}`);
  return [matches, word];
}
