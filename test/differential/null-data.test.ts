/**
 * Null data, through Apache ZooKeeper's Java client and kazoo, against Apache ZooKeeper 3.8
 * and zabkit side by side. ZooKeeper keeps a node created or set with null data (a jute
 * buffer of length -1) as null and answers getData with null, apart from empty data; its
 * Stat says dataLength 0 for both. 3.8 and 3.9 agree here.
 */
import { describe, expect, it } from 'vitest';
import { type ClientKind, javaClientInstalled, kazooInstalled } from './drivers.js';
import { differences, pairForSuite } from './harness.js';
import { zookeeperInstalled } from './servers.js';

const clients: ClientKind[] = [
  ...(javaClientInstalled ? (['java'] as const) : []),
  ...(kazooInstalled ? (['kazoo'] as const) : []),
];
const installed = zookeeperInstalled && clients.length > 0;
if (!installed) console.warn('Apache ZooKeeper or its clients are not installed: skipping');

describe.skipIf(!installed)('null data, zabkit against ZooKeeper', () => {
  const pair = pairForSuite({ clients });

  for (const client of clients) {
    it(`keeps null data apart from empty data in create, setData, multi and reads (${client})`, async () => {
      const root = `/null-${client}`;
      const transcripts = await pair().run(client, async (t) => {
        await t.connect('a', { timeoutMs: 4000 });
        await t.do({ op: 'create', path: root, dataNull: true });
        await t.do({ op: 'create', path: `${root}/empty`, data: '' });
        await t.do({ op: 'getData', path: root });
        await t.do({ op: 'getData', path: `${root}/empty` });
        await t.do({ op: 'exists', path: root });
        await t.do({ op: 'setData', path: `${root}/empty`, dataNull: true });
        await t.do({ op: 'getData', path: `${root}/empty` });
        await t.do({ op: 'setData', path: root, data: '' });
        await t.do({ op: 'getData', path: root });
        const writes = [
          { op: 'create', path: `${root}/m`, dataNull: true },
          { op: 'setData', path: root, dataNull: true },
        ];
        // kazoo's transaction refuses None data itself (TypeError): one write at a time there.
        if (client === 'java') await t.do({ op: 'multi', ops: writes });
        else for (const write of writes) await t.do(write);
        await t.do({ op: 'getData', path: `${root}/m` });
        await t.do({ op: 'getData', path: root });
        if (client === 'java') {
          // A multiRead (opcode 22) carries each getData's buffer, null included.
          await t.do({
            op: 'multi',
            ops: [
              { op: 'getData', path: `${root}/m` },
              { op: 'getData', path: `${root}/empty` },
            ],
          });
        }
        await t.do({ op: 'getChildren', path: root, stat: true });
      });
      expect(differences(transcripts)).toEqual([]);
      // What ZooKeeper itself answered: null for null data, "" for empty data.
      const data = transcripts.zookeeper
        .filter((step) => step.command.op === 'getData')
        .map((step) => (step.answer.result as { data?: unknown }).data);
      expect(data).toEqual([null, '', null, '', null, null]);
    });
  }
});
