/**
 * Structured logs: one JSON object per line on stderr, so a supervisor or `jq` can read them
 * and stdout stays free for what a command prints on purpose.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Where the server reports what happens: a message and structured fields per line. */
export interface Logger {
  /** Detail for debugging. */
  debug(message: string, fields?: Record<string, unknown>): void;
  /** Normal operation: start, stop, where it listens. */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Something unusual the server survived: a refused connection, a repaired store. */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** Something that stops a part of the server. */
  error(message: string, fields?: Record<string, unknown>): void;
}

const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A logger writing JSON lines to `write` (stderr by default), from `level` up. */
export function jsonLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stderr.write(line),
  base: Record<string, unknown> = {},
): Logger {
  const emit = (at: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (rank[at] < rank[level]) return;
    const record = { time: new Date().toISOString(), level: at, msg: message, ...base, ...fields };
    write(
      `${JSON.stringify(record, (_key, value) => (typeof value === 'bigint' ? `0x${value.toString(16)}` : value))}\n`,
    );
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
  };
}

/** Drops everything: for tests and embedding. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
