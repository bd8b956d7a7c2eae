/**
 * The bytes of the files under a directory, as ZooKeeper's `dirs` reports its data and log
 * directories (FileUtils.sizeOfDirectory). A directory that does not exist holds 0 bytes.
 *
 * @module
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Directories deeper than this are not walked (a loop of bind mounts, a runaway tree). */
const depthMax = 32;

/** Sums the sizes of the regular files under `path` (symbolic links are not followed). */
export function directoryBytes(path: string, depth = 0): number {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(path, { withFileTypes: true });
  } catch {
    return 0;
  }
  let total = 0;
  for (const entry of entries) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) {
      if (depth < depthMax) total += directoryBytes(full, depth + 1);
    } else if (entry.isFile()) {
      try {
        total += lstatSync(full).size;
      } catch {
        // Gone between the listing and the stat: it no longer counts.
      }
    }
  }
  return total;
}
