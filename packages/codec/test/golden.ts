/**
 * Golden bytes: checked-in hex that an encoder must reproduce exactly. A change to the
 * layout of a message or record fails here until the file is rewritten on purpose
 * (`ZABKIT_UPDATE_GOLDEN=1 npx vitest run packages/codec`), and the diff shows what moved.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** True when the run was asked to rewrite the golden files instead of checking them. */
export const updatingGolden = process.env.ZABKIT_UPDATE_GOLDEN === '1';

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** The entries of a golden file: one `name hex` line each, after `#` comment lines. */
export function readGolden(file: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [name, hex, extra] = line.split(' ');
    if (name === undefined || hex === undefined || extra !== undefined || !/^([0-9a-f]{2})*$/.test(hex))
      throw new Error(`${file}: malformed line: ${line}`);
    if (entries.has(name)) throw new Error(`${file}: ${name} appears twice`);
    entries.set(name, hex);
  }
  return entries;
}

export function writeGolden(file: string, header: string, entries: ReadonlyMap<string, Uint8Array>): void {
  const lines = header
    .trim()
    .split('\n')
    .map((line) => `# ${line}`);
  for (const [name, bytes] of entries) lines.push(`${name} ${toHex(bytes)}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
}
