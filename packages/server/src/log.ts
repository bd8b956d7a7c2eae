/**
 * The server's logging: the Logger interface and JSON-lines implementation it shares with the
 * client (pino's `(fields, message)` call order, so a pino logger can be passed in).
 */
export { jsonLogger, type LogFn, type Logger, type LogLevel, silentLogger } from '@zabkit/client';
