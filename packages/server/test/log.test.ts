import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { jsonLogger } from '../src/index.js';
import { ServerNode } from '../src/node.js';

const config = () =>
  parseConfig('tickTime=200\ndataDir=/tmp/zabkit-test\nclientPort=0\nclientPortAddress=127.0.0.1\n').config;

describe('the server logs through the shared Logger', () => {
  it('logs to a pino logger with its fields where pino puts them', async () => {
    const chunks: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, callback) {
        chunks.push(String(chunk));
        callback();
      },
    });
    const node = await ServerNode.start({ config: config(), log: pino(destination) });
    await node.close();
    const records = chunks
      .join('')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const listening = records.find((record) => record.msg === 'zabkit server listening');
    expect(listening).toMatchObject({ level: 30, mode: 'standalone', serverId: expect.any(Number) });
    expect(records.some((record) => record.msg === 'zabkit server stopped')).toBe(true);
  });

  it('writes JSON lines by default', async () => {
    const written: string[] = [];
    const node = await ServerNode.start({
      config: config(),
      log: jsonLogger('info', (line) => written.push(line)),
    });
    await node.close();
    const first = JSON.parse(written[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({ level: 'info', msg: 'zabkit server listening', mode: 'standalone' });
  });
});
