/**
 * Opening a zabkit LevelDB store for the storage tools: a directory given either as the
 * store itself or as the data directory holding it (`<dataLogDir>/zabkit.db`, where `zabkit
 * server` keeps it), and errors an operator can act on (a missing store, a store in use).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { LevelStorage } from '@zabkit/storage-level';

/** A tool's failure that needs no stack: its message is for the operator. */
export class ToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolError';
  }
}

/** A bad invocation (exit code 2). */
export class UsageError extends ToolError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Where the LevelDB store of a directory is: the directory itself if it is one, else its zabkit.db. */
export function storeLocation(dir: string): string {
  return existsSync(join(dir, 'CURRENT')) ? dir : join(dir, 'zabkit.db');
}

/** True when the directory holds a zabkit store. */
export function hasStore(dir: string): boolean {
  return existsSync(join(storeLocation(dir), 'CURRENT'));
}

/**
 * Opens the store of `dir`. Without `create`, a directory without a store is an error (so a
 * typo does not make an empty store). A store a running server holds is refused by LevelDB's
 * lock, said plainly.
 */
export async function openStore(
  dir: string,
  options: { create?: boolean; warn?: (message: string) => void } = {},
): Promise<{ storage: LevelStorage; location: string }> {
  const location = storeLocation(dir);
  if (!options.create && !existsSync(join(location, 'CURRENT')))
    throw new ToolError(`no zabkit store in ${dir} (expected ${location})`);
  if (options.create) await mkdir(location, { recursive: true });
  try {
    const storage = await LevelStorage.open(
      location,
      options.warn === undefined ? {} : { warn: options.warn },
    );
    return { storage, location };
  } catch (error) {
    const text = `${String(error)} ${String((error as { cause?: unknown }).cause ?? '')}`;
    if (/lock/i.test(text)) throw new ToolError(`${location} is in use (is a zabkit server running on it?)`);
    throw error;
  }
}
