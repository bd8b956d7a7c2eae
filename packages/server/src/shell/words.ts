/**
 * Splitting a shell line into words, as zkCli does: spaces separate, double or single
 * quotes keep spaces inside one word, a backslash escapes the next character.
 */

/** The words of `line`; throws on an unclosed quote. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (char === '\\' && i + 1 < line.length) {
      current += line[++i];
      inWord = true;
    } else if (quote !== undefined) {
      if (char === quote) quote = undefined;
      else current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      inWord = true;
    } else if (char === ' ' || char === '\t') {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += char;
      inWord = true;
    }
  }
  if (quote !== undefined) throw new Error(`unclosed ${quote}`);
  if (inWord) words.push(current);
  return words;
}

/** Flags (`-s`, `-v 3`) and positional words, given which flags take a value. */
export function parseFlags(
  words: readonly string[],
  withValue: readonly string[] = [],
): { flags: Map<string, string | true>; rest: string[] } {
  const flags = new Map<string, string | true>();
  const rest: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (/^-[a-zA-Z]$/.test(word)) {
      const name = word.slice(1);
      if (withValue.includes(name)) {
        const value = words[++i];
        if (value === undefined) throw new Error(`-${name} needs a value`);
        flags.set(name, value);
      } else flags.set(name, true);
    } else rest.push(word);
  }
  return { flags, rest };
}
