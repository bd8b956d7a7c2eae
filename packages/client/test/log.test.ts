import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { jsonLogger, type Logger } from '../src/index.js';

function lines(): { write: (line: string) => void; records: () => Record<string, unknown>[] } {
  const written: string[] = [];
  return {
    write: (line) => written.push(line),
    records: () => written.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** A pino logger writing to memory: the real library, to check the call order matches. */
function pinoLogger(): { logger: Logger; records: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  const logger: Logger = pino({ level: 'debug' }, destination);
  return {
    logger,
    records: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('the logger', () => {
  it('writes one JSON object per line: fields first in the call, message last', () => {
    const out = lines();
    const log = jsonLogger('info', out.write, { component: 'test' });
    log.info({ sessionId: 0x1fn, attempt: 2 }, 'reconnecting');
    log.warn('bare message');
    log.debug({ hidden: true }, 'below the level');
    log.error({ err: new RangeError('boom') }, 'failed');
    const records = out.records();
    expect(records).toHaveLength(3);
    expect(records[0]).toMatchObject({
      level: 'info',
      msg: 'reconnecting',
      component: 'test',
      sessionId: '0x1f',
      attempt: 2,
    });
    expect(typeof records[0]!.time).toBe('string');
    expect(records[1]).toMatchObject({ level: 'warn', msg: 'bare message' });
    expect(records[2]).toMatchObject({
      level: 'error',
      msg: 'failed',
      err: { type: 'RangeError', message: 'boom' },
    });
  });

  it('takes a pino logger as it is: the same calls land as pino means them', () => {
    const { logger, records } = pinoLogger();
    logger.warn({ path: '/a', attempt: 1 }, 'retrying');
    logger.info('plain');
    const [first, second] = records();
    expect(first).toMatchObject({ level: 40, msg: 'retrying', path: '/a', attempt: 1 });
    expect(second).toMatchObject({ level: 30, msg: 'plain' });
  });
});
