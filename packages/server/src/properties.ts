/**
 * The `java.util.Properties` text format zoo.cfg and ZooKeeper's dynamic configuration files
 * are written in, as zabkit reads it: key and value apart, escapes not interpreted.
 *
 * @module
 */

/** A `key=value` pair read from the properties text, with its 1-based line number. */
export interface PropertyEntry {
  /** The trimmed key. */
  readonly key: string;
  /** The trimmed value (may be empty). */
  readonly value: string;
  /** 1-based line number in the source text. */
  readonly line: number;
}

/**
 * Splits properties text into entries the way `java.util.Properties` separates keys from values: the key
 * ends at the first `=`, `:` or whitespace; whitespace and one `=`/`:` after it are skipped. Comment
 * (`#`, `!`) and blank lines are dropped; keys and values are trimmed. Escapes are not interpreted.
 */
export function parseProperties(text: string): PropertyEntry[] {
  const entries: PropertyEntry[] = [];
  const lines = text.split(/\r\n|\r|\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const separator = line.search(/[=:\s]/);
    if (separator === -1) {
      entries.push({ key: line, value: '', line: index + 1 });
      continue;
    }
    const key = line.slice(0, separator);
    let rest = line.slice(separator);
    if (/^\s/.test(rest)) rest = rest.trimStart();
    if (rest.startsWith('=') || rest.startsWith(':')) rest = rest.slice(1);
    entries.push({ key, value: rest.trim(), line: index + 1 });
  }
  return entries;
}
