/**
 * The error every configuration check throws, in a module of its own so that the modules
 * config.ts draws on (TLS settings, quorum security) can throw it without an import cycle.
 *
 * @module
 */

/** Thrown for an invalid or missing configuration value; {@link ConfigError.key} names the offending key. */
export class ConfigError extends Error {
  /** The configuration key at fault, e.g. `tickTime`, `server.3` or `myid`. */
  readonly key: string;
  /** The offending raw value, when there is one. */
  readonly value: string | undefined;

  /** Builds an error whose message is `invalid <key>: "<value>" (<expected>)`, or `<key> <expected>` without a value. */
  constructor(key: string, value: string | undefined, expected: string) {
    super(
      value === undefined ? `${key} ${expected}` : `invalid ${key}: ${JSON.stringify(value)} (${expected})`,
    );
    this.name = 'ConfigError';
    this.key = key;
    this.value = value;
  }
}
