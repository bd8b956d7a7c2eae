/**
 * The size limit, jute.maxbuffer, at and around it, both ways, through Apache ZooKeeper's
 * Java client, against Apache ZooKeeper 3.8 and against zabkit side by side.
 *
 * ZooKeeper has no data cap of its own: a request frame (after its 4-byte length) of up to
 * jute.maxbuffer bytes is read, one byte more and the server closes the connection
 * (NIOServerCnxn.readLength); a reply frame is sent whatever its size, and the Java client
 * drops the connection for one above its own jute.maxbuffer (ClientCnxnSocket.readLength).
 * So data is capped by the frame that carries it: setData of path p carries data + p + 20
 * bytes, getData's reply data + 88. A node can be written that a client with the same limit
 * cannot read back. Raising jute.maxbuffer (-Djute.maxbuffer for the servers and for the
 * client's JVM, whose record reader has its own limit) raises all of it. 3.9 reads and checks these lengths as 3.8 does (the same code in NIOServerCnxn,
 * ClientCnxnSocket and BinaryInputArchive; 3.9 only guards maxbuffer + extrasize against
 * int overflow), so these answers hold for both.
 */
import { describe, expect, it } from 'vitest';
import { javaClientInstalled } from './drivers.js';
import { differences, pairForSuite, type ScenarioContext, type Transcripts } from './harness.js';
import { zookeeperInstalled } from './servers.js';

const installed = zookeeperInstalled && javaClientInstalled;
if (!installed) console.warn('Apache ZooKeeper or its Java client is not installed: skipping');

/** Request payload bytes around the data: RequestHeader 8, path (4 + p), data length 4, version 4. */
const setDataOverhead = (path: string) => 8 + 4 + path.length + 4 + 4;
/** Reply payload bytes around the data: ReplyHeader 16, data length 4, Stat 68. */
const getDataOverhead = 16 + 4 + 68;

/** setData at limit - 1, limit and limit + 1 request bytes; getData replies likewise. */
async function aroundTheLimit(t: ScenarioContext, limit: number): Promise<void> {
  await t.connect('a', { timeoutMs: 20_000, juteMaxBuffer: limit });
  const path = '/big';
  await t.do({ op: 'create', path });
  for (const delta of [-1, 0, 1]) {
    await t.do({ op: 'setData', path, dataSize: limit + delta - setDataOverhead(path) });
    await t.events('a', delta === 1 ? 2 : 0, { settleMs: 100 });
  }
  await t.do({ op: 'exists', path });
  for (const delta of [-1, 0, 1]) {
    const at = `/reply${delta + 1}`;
    await t.do({ op: 'create', path: at, dataSize: limit + delta - getDataOverhead });
    await t.do({ op: 'getData', path: at });
    await t.events('a', delta === 1 ? 2 : 0, { settleMs: 100 });
  }
  // The node written at the limit cannot come back to a client with the same limit.
  await t.do({ op: 'getData', path });
  await t.events('a', 2, { settleMs: 100 });
  await t.do({ op: 'sessionInfo' });
}

/** The outcome of each setData and getData in order: ok, or the failure. */
function outcomes(transcripts: Transcripts): string[] {
  return transcripts.zookeeper
    .filter((step) => step.command.op === 'setData' || step.command.op === 'getData')
    .map((step) => (step.answer.ok ? 'ok' : String(step.answer.codeName ?? step.answer.exception)));
}

describe.skipIf(!installed)('jute.maxbuffer at the default, zabkit against ZooKeeper', () => {
  const pair = pairForSuite({ clients: ['java'] });

  it('accepts requests up to jute.maxbuffer and closes the connection one byte above; replies likewise', async () => {
    const transcripts = await pair().run('java', (t) => aroundTheLimit(t, 0xfffff));
    expect(differences(transcripts), pair().serverLog('zabkit')).toEqual([]);
    expect(outcomes(transcripts)).toEqual([
      'ok',
      'ok',
      'CONNECTIONLOSS',
      'ok',
      'ok',
      'CONNECTIONLOSS',
      'CONNECTIONLOSS',
    ]);
  }, 120_000);
});

describe.skipIf(!installed)('jute.maxbuffer raised to 4 MiB on both, zabkit against ZooKeeper', () => {
  const limit = 4 * 1024 * 1024;
  const pair = pairForSuite({
    clients: ['java'],
    systemProperties: { 'jute.maxbuffer': String(limit) },
    // The Java client reads records with the JVM's jute.maxbuffer, and frames with its own.
    clientSystemProperties: { 'jute.maxbuffer': String(limit) },
  });

  it('raises what a request and a reply may carry with it, data included', async () => {
    const transcripts = await pair().run('java', async (t) => {
      await aroundTheLimit(t, limit);
      // 2 MiB of data: over zabkit's old 1 MiB cap, within the raised frame.
      await t.do({ op: 'create', path: '/two', dataSize: 2 * 1024 * 1024 });
      await t.do({ op: 'exists', path: '/two' });
    });
    expect(differences(transcripts), pair().serverLog('zabkit')).toEqual([]);
    expect(outcomes(transcripts)).toEqual([
      'ok',
      'ok',
      'CONNECTIONLOSS',
      'ok',
      'ok',
      'CONNECTIONLOSS',
      'CONNECTIONLOSS',
    ]);
    const two = transcripts.zookeeper.at(-1)!.answer.result as { dataLength: number };
    expect(two.dataLength).toBe(2 * 1024 * 1024);
  }, 120_000);
});
