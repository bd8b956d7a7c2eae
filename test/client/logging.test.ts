/**
 * The client logs through any logger with pino's (fields, message) order: here pino itself.
 */
import { Writable } from 'node:stream';
import { RetryNTimes } from '@zabkit/client';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ControlledLinks, settle, useLocalServers } from './support.js';

const { start, connect } = useLocalServers();

function pinoToMemory() {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  return {
    logger: pino({ level: 'debug' }, destination),
    records: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('client logging', () => {
  it('reports disconnections, retries and throwing listeners to a pino logger', async () => {
    const { logger, records } = pinoToMemory();
    const server = start();
    const links = new ControlledLinks(server);
    const zk = await connect(links, { logger, reconnect: { initialDelayMs: 1 } });
    await zk.create('/n', '');
    await zk.getData('/n', {
      watch: () => {
        throw new Error('careless listener');
      },
    });
    links.holdReplies = true;
    const read = zk.exists('/n', { retry: new RetryNTimes(2, 1) });
    await settle();
    links.drop();
    await read;
    await zk.setData('/n', 'x');
    await settle();
    const logged = records();
    const disconnected = logged.find((record) => String(record.msg).includes('disconnected'));
    expect(disconnected).toMatchObject({ level: 40, reason: 'lost' });
    expect(disconnected?.sessionId).toBeDefined();
    expect(logged.find((record) => record.msg === 'zabkit client: retrying')).toMatchObject({
      level: 20,
      op: 'exists',
      path: '/n',
      code: 'ConnectionLoss',
    });
    const threw = logged.find((record) => String(record.msg).includes('watch listener threw'));
    expect(threw).toMatchObject({ level: 50, event: { type: 'NodeDataChanged', path: '/n' } });
    expect(threw?.err).toMatchObject({ message: 'careless listener' });
  });
});
