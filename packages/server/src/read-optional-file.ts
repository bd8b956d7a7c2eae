import { readFile } from 'node:fs/promises';

/**
 * A text file's content, or undefined when it does not exist: for files a server may or may
 * not have yet (myid, kept membership, `zoo.cfg.dynamic.next`).
 *
 * @throws every file system error other than ENOENT, as `readFile` throws it
 */
export async function readOptionalTextFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
