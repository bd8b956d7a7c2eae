/**
 * Splitting a shell line into words, as zkCli does (and a little more): spaces separate,
 * double or single quotes keep spaces inside one word, a backslash escapes the next
 * character. Then flags from positional words, as zkCli's option parser does.
 */
import { ShellError } from './errors.js';

/** The words of `line`; throws a ShellError on an unclosed quote. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (char === '\\' && quote !== "'" && i + 1 < line.length) {
      current += line[++i];
      inWord = true;
    } else if (quote !== undefined) {
      if (char === quote) quote = undefined;
      else current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      inWord = true;
    } else if (char === ' ' || char === '\t' || char === '\r' || char === '\n') {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += char;
      inWord = true;
    }
  }
  if (quote !== undefined) throw new ShellError(`unclosed quote ${quote}`);
  if (inWord) words.push(current);
  return words;
}

/** What zkCli prints for an option it does not know: commons-cli's exception, as toString gives it. */
export const unrecognizedOption = (word: string) =>
  `org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: ${word}`;

/** What zkCli prints for an option whose value is missing. */
export const missingArgument = (name: string) =>
  `org.apache.commons.cli.MissingArgumentException: Missing argument for option: ${name}`;

/** Which flags a command accepts: letters alone (`s`, `w`) and letters that take a value (`v`). */
export interface FlagSpec {
  /** The letters of flags without a value, `'swR'`. */
  readonly switches?: string;
  /** The letters of flags that take a value, `'v'` for `-v 3`. */
  readonly values?: string;
}

/** A command's words split into flags and positional words. */
export interface ParsedWords {
  /** Each flag given: `true` for a switch, the value for a flag that takes one. */
  readonly flags: Map<string, string | true>;
  /** The positional words, in order. */
  readonly rest: string[];
}

/**
 * Flags (`-s`, `-v 3`, also `-sw`) and positional words. A flag not in `spec` fails with
 * zkCli's `org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x` (it prints
 * the parser's exception whole); a value flag at the end with its MissingArgumentException.
 * A word after `--`, and one not starting with `-` and a letter (`-1`, `-`), is positional.
 */
export function parseFlags(words: readonly string[], spec: FlagSpec = {}): ParsedWords {
  const switches = spec.switches ?? '';
  const values = spec.values ?? '';
  const flags = new Map<string, string | true>();
  const rest: string[] = [];
  let positionalOnly = false;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (positionalOnly || !/^-[a-zA-Z]/.test(word)) {
      if (word === '--' && !positionalOnly) positionalOnly = true;
      else rest.push(word);
      continue;
    }
    const letters = word.slice(1);
    for (let j = 0; j < letters.length; j++) {
      const name = letters[j]!;
      if (values.includes(name)) {
        // `-v3` or `-v 3`
        const inline = letters.slice(j + 1);
        const value = inline !== '' ? inline : words[++i];
        if (value === undefined) throw new ShellError(missingArgument(name));
        flags.set(name, value);
        break;
      }
      if (!switches.includes(name)) throw new ShellError(unrecognizedOption(`-${name}`));
      flags.set(name, true);
    }
  }
  return { flags, rest };
}
