/**
 * Structured logging shared by the client and the server. The interface follows pino's call
 * order, fields first and the message last (`log.warn({ path }, 'retrying')`), so a pino
 * logger (or any logger with that shape: bunyan, a pino child) can be passed in unchanged.
 * The default implementation writes one JSON object per line on stderr, so a supervisor or
 * `jq` can read it and stdout stays free for what a command prints on purpose.
 */

/** The levels zabkit logs at, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One level's log call: `(fields, message)` as pino takes it, or a bare message. */
export interface LogFn {
  /** Structured fields, then an optional message. */
  (fields: object, message?: string): void;
  /** A message without fields. */
  (message: string): void;
}

/** Where zabkit reports what happens; a pino logger satisfies it. */
export interface Logger {
  /** Detail for debugging: reconnect attempts, retries. */
  debug: LogFn;
  /** Normal operation: start, stop, where a server listens, a session established. */
  info: LogFn;
  /** Something unusual that was survived: a refused connection, a listener that threw. */
  warn: LogFn;
  /** Something that stops a part of the system. */
  error: LogFn;
}

const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Bigints as hex (session ids, zxids), errors with their name, message and stack. */
function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return `0x${value.toString(16)}`;
  if (value instanceof Error) {
    return { type: value.name, message: value.message, ...(value.stack ? { stack: value.stack } : {}) };
  }
  return value;
}

/**
 * A logger writing JSON lines to `write` (stderr by default), from `level` up. Each line holds
 * `time`, `level`, `msg`, the `base` fields, then the call's own fields.
 */
export function jsonLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stderr.write(line),
  base: Record<string, unknown> = {},
): Logger {
  const at = (logLevel: LogLevel): LogFn =>
    ((fieldsOrMessage: object | string, message?: string) => {
      if (rank[logLevel] < rank[level]) return;
      const fields = typeof fieldsOrMessage === 'string' ? {} : fieldsOrMessage;
      const msg = typeof fieldsOrMessage === 'string' ? fieldsOrMessage : message;
      const record = {
        time: new Date().toISOString(),
        level: logLevel,
        ...(msg === undefined ? {} : { msg }),
        ...base,
        ...fields,
      };
      write(`${JSON.stringify(record, replacer)}\n`);
    }) as LogFn;
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

const drop: LogFn = () => {};

/** Drops everything: for tests and embedding. */
export const silentLogger: Logger = { debug: drop, info: drop, warn: drop, error: drop };
