import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Ids } from '../../src/acl.js';
import { OutstandingChanges } from '../../src/prep/change-records.js';
import type { SessionId } from '../../src/sessions/session-ids.js';
import { DataTree } from '../../src/tree/data-tree.js';
import { persistentLifetime } from '../../src/tree/lifetime.js';
import { zxid } from '../../src/zxid.js';

const sessions = [1n, 2n, 3n] as SessionId[];
const paths = ['/a', '/b', '/c', '/d', '/e'];

type Op =
  | { kind: 'add'; path: string; node: 'deleted' | 'persistent' | SessionId }
  | { kind: 'multi'; adds: { path: string; node: 'deleted' | SessionId }[]; fails: boolean }
  | { kind: 'forget'; back: number };

const nodeArb = fc.oneof(
  fc.constant('deleted' as const),
  fc.constant('persistent' as const),
  fc.constantFrom(...sessions),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), path: fc.constantFrom(...paths), node: nodeArb }),
  fc.record({
    kind: fc.constant('multi' as const),
    adds: fc.array(
      fc.record({
        path: fc.constantFrom(...paths),
        node: fc.oneof(fc.constant('deleted' as const), fc.constantFrom(...sessions)),
      }),
      { maxLength: 4 },
    ),
    fails: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('forget' as const), back: fc.integer({ min: 0, max: 5 }) }),
);

function record(node: 'deleted' | 'persistent' | SessionId) {
  if (node === 'deleted') return undefined;
  return {
    data: null,
    acl: Ids.openAclUnsafe,
    version: 0,
    cversion: 0,
    aversion: 0,
    lifetime: node === 'persistent' ? persistentLifetime : { kind: 'ephemeral' as const, sessionId: node },
    childCount: 0,
  };
}

describe('outstanding changes: the pending ephemerals of a session', () => {
  it('are exactly the paths whose latest record makes them its ephemerals, through rollbacks and forgetting', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        // An empty tree: what lookup answers comes from the records alone.
        const changes = new OutstandingChanges(new DataTree());
        let z = 1;
        for (const op of ops) {
          if (op.kind === 'add') changes.add(zxid(BigInt(z++)), op.path, record(op.node));
          else if (op.kind === 'multi') {
            const checkpoint = changes.checkpoint();
            const at = zxid(BigInt(z++));
            for (const add of op.adds) changes.add(at, add.path, record(add.node));
            if (op.fails) changes.rollback(checkpoint);
          } else changes.forgetThrough(zxid(BigInt(Math.max(0, z - 1 - op.back))));
          for (const sessionId of sessions) {
            const expected = paths.filter((path) => {
              const lifetime = changes.lookup(path)?.lifetime;
              return lifetime?.kind === 'ephemeral' && lifetime.sessionId === sessionId;
            });
            expect(changes.pendingEphemeralsOf(sessionId).sort()).toEqual(expected);
          }
          for (const path of paths) {
            // A path with no record and no node in the tree looks the same as a pending deletion
            // to lookup; isPendingDeletion tells them apart.
            if (changes.isPendingDeletion(path)) expect(changes.lookup(path)).toBeUndefined();
          }
        }
        // Everything forgotten: no record, and (asserted inside) no index entry left behind.
        changes.forgetThrough(zxid(BigInt(z)));
        expect(changes.size).toBe(0);
        for (const sessionId of sessions) expect(changes.pendingEphemeralsOf(sessionId)).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });
});

describe('outstanding changes: lookup and size against a list of records', () => {
  it('agree with the records not yet forgotten, through long runs that compact the applied front', () => {
    type Ref = { zxid: number; path: string; version: number | undefined };
    const stepArb = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          kind: fc.constant('add' as const),
          path: fc.constantFrom(...paths),
          deleted: fc.boolean(),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('multi' as const),
          count: fc.integer({ min: 1, max: 4 }),
          fails: fc.boolean(),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('forget' as const),
          back: fc.integer({ min: 0, max: 600 }),
        }),
      },
    );
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 300, maxLength: 1500 }), (steps) => {
        const changes = new OutstandingChanges(new DataTree());
        let reference: Ref[] = [];
        let z = 1;
        let version = 0;
        const add = (at: number, path: string, deleted: boolean) => {
          const v = deleted ? undefined : version++;
          const node = v === undefined ? undefined : { ...record('persistent')!, version: v };
          changes.add(zxid(BigInt(at)), path, node);
          reference.push({ zxid: at, path, version: v });
        };
        for (const step of steps) {
          if (step.kind === 'add') add(z++, step.path, step.deleted);
          else if (step.kind === 'multi') {
            const checkpoint = changes.checkpoint();
            const saved = reference.length;
            const at = z++;
            for (let i = 0; i < step.count; i++) add(at, paths[(at + i) % paths.length]!, i % 2 === 1);
            if (step.fails) {
              changes.rollback(checkpoint);
              reference = reference.slice(0, saved);
            }
          } else {
            const through = Math.max(0, z - 1 - step.back);
            changes.forgetThrough(zxid(BigInt(through)));
            reference = reference.filter((entry) => entry.zxid > through);
          }
          expect(changes.size).toBe(reference.length);
          for (const path of paths) {
            const latest = reference.findLast((entry) => entry.path === path);
            expect(changes.lookup(path)?.version).toBe(latest?.version);
            expect(changes.isPendingDeletion(path)).toBe(
              latest !== undefined && latest.version === undefined,
            );
          }
        }
        changes.forgetThrough(zxid(BigInt(z)));
        expect(changes.size).toBe(0);
      }),
      { numRuns: 30 },
    );
  });
});

describe('outstanding changes: the counts of records made and forgotten', () => {
  it('count every record added, rolled back or not, and each forgotten once it is applied', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const counts = { queued: 0, removed: 0 };
        const changes = new OutstandingChanges(new DataTree(), counts);
        let z = 1;
        let added = 0;
        let rolledBack = 0;
        for (const op of ops) {
          if (op.kind === 'add') {
            changes.add(zxid(BigInt(z++)), op.path, record(op.node));
            added++;
          } else if (op.kind === 'multi') {
            const checkpoint = changes.checkpoint();
            const at = zxid(BigInt(z++));
            for (const add of op.adds) changes.add(at, add.path, record(add.node));
            added += op.adds.length;
            if (op.fails) {
              changes.rollback(checkpoint);
              rolledBack += op.adds.length;
            }
          } else changes.forgetThrough(zxid(BigInt(Math.max(0, z - 1 - op.back))));
          // Made: every add, as ZooKeeper's addChangeRecord counts; forgotten: those no longer
          // outstanding that a rollback did not take back.
          expect(counts.queued).toBe(added);
          expect(counts.removed).toBe(added - rolledBack - changes.size);
        }
        changes.forgetThrough(zxid(BigInt(z)));
        expect(counts.removed).toBe(added - rolledBack);
      }),
      { numRuns: 300 },
    );
  });
});
