/**
 * Consistent ZooKeeper histories for tests: transactions as ZooKeeper's leader would log them
 * (sequential paths, parent cversions, closeSession with the session's ephemerals, failed
 * multis as error parts), each with the digest of the tree after it, computed by applying them
 * to a ZkDataTree as they are made.
 */
import type { ACL } from '@zabkit/core';
import fc from 'fast-check';
import {
  encodeTxnRecord,
  type TxnHeader,
  ZkDataTree,
  type ZkMultiPart,
  ZkOpCode,
  type ZkTxn,
  type ZkTxnEntry,
} from '../src/index.js';

/** One step a test asks for; the builder turns it into a transaction valid at that point. */
export type Step =
  | { kind: 'session'; timeoutMs: number }
  | { kind: 'close'; pick: number }
  | {
      kind: 'create';
      pick: number;
      name: string;
      data: Uint8Array;
      ephemeral: boolean;
      sequential: boolean;
      container: boolean;
      ttl: boolean;
    }
  | { kind: 'delete'; pick: number }
  | { kind: 'setData'; pick: number; data: Uint8Array }
  | { kind: 'setACL'; pick: number; acl: readonly ACL[] }
  | { kind: 'multi'; pick: number; name: string; fail: boolean };

type CreateStep = Extract<Step, { kind: 'create' }>;

/** A create step under the `pick`th node: persistent and plain unless `mode` says otherwise. */
export function createStep(
  pick: number,
  name: string,
  data: Uint8Array,
  mode: Partial<Pick<CreateStep, 'ephemeral' | 'sequential' | 'container' | 'ttl'>> = {},
): CreateStep {
  return {
    kind: 'create',
    pick,
    name,
    data,
    ephemeral: false,
    sequential: false,
    container: false,
    ttl: false,
    ...mode,
  };
}

const aclArbitrary: fc.Arbitrary<readonly ACL[]> = fc.oneof(
  fc.constant([{ perms: 31, id: { scheme: 'world', id: 'anyone' } }]),
  fc.constant([{ perms: 1, id: { scheme: 'world', id: 'anyone' } }]),
  fc.constant([{ perms: 31, id: { scheme: 'digest', id: 'bob:Gx0jsl1WS0MlXMOR4B4s1eEm9dY=' } }]),
  fc.constant([
    { perms: 3, id: { scheme: 'ip', id: '127.0.0.1' } },
    { perms: 1, id: { scheme: 'world', id: 'anyone' } },
  ]),
);

/** Steps for fast-check. */
export const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('session' as const),
      timeoutMs: fc.integer({ min: 2000, max: 40_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), pick: fc.nat() }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      pick: fc.nat(),
      name: fc.constantFrom('a', 'b', 'c', 'd', 'é', 'x-'),
      data: fc.uint8Array({ maxLength: 8 }),
      ephemeral: fc.boolean(),
      sequential: fc.boolean(),
      container: fc.boolean(),
      ttl: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('setData' as const),
      pick: fc.nat(),
      data: fc.uint8Array({ maxLength: 8 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('setACL' as const), pick: fc.nat(), acl: aclArbitrary }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('multi' as const),
      pick: fc.nat(),
      name: fc.constantFrom('m', 'n'),
      fail: fc.boolean(),
    }),
  },
);

const options = { extendedTypesEnabled: true, digestEnabled: true };

/** Builds a history, keeping a tree of what ZooKeeper's would be after each transaction. */
export class HistoryBuilder {
  readonly tree = new ZkDataTree(options);
  readonly sessions = new Map<bigint, number>();
  readonly entries: ZkTxnEntry[] = [];
  private zxid: bigint;
  private nextSession = 0x100n;
  private time = 1_700_000_000_000n;

  constructor(epoch = 1n) {
    this.zxid = epoch << 32n;
  }

  private paths(): string[] {
    return [...this.tree.nodes.keys()].filter((p) => p !== '' && !p.startsWith('/zookeeper')).sort();
  }

  private emit(clientId: bigint, type: number, txn: ZkTxn): ZkTxnEntry {
    this.zxid++;
    this.time += 7n;
    const header: TxnHeader = { clientId, cxid: this.entries.length, zxid: this.zxid, time: this.time, type };
    if (txn.kind === 'createSession') this.sessions.set(clientId, txn.timeoutMs);
    if (txn.kind === 'closeSession') this.sessions.delete(clientId);
    this.tree.processTxn(header, txn);
    const entry = { header, txn, digest: { version: 2, treeDigest: this.tree.treeDigest() } };
    this.entries.push(entry);
    return entry;
  }

  private childPath(parent: string, name: string, sequential: boolean): string {
    const node = this.tree.get(parent)!;
    const base = `${parent === '' ? '' : parent}/${name}`;
    return sequential ? `${base}${String(node.stat.cversion).padStart(10, '0')}` : base;
  }

  /** Applies one step; steps that make no sense at this point become a createSession or nothing. */
  step(step: Step): void {
    const paths = this.paths();
    const sessions = [...this.sessions.keys()];
    const session =
      sessions.length > 0 ? sessions[(('pick' in step ? step.pick : 0) as number) % sessions.length]! : 0n;
    switch (step.kind) {
      case 'session':
        this.emit(this.nextSession++, ZkOpCode.createSession, {
          kind: 'createSession',
          timeoutMs: step.timeoutMs,
        });
        return;
      case 'close': {
        if (sessions.length === 0) return;
        const ephemerals = [...(this.tree.ephemerals.get(session) ?? [])].sort();
        this.emit(session, ZkOpCode.closeSession, { kind: 'closeSession', paths: ephemerals });
        return;
      }
      case 'create': {
        const candidates = ['', ...paths].filter((p) => this.tree.get(p)!.stat.ephemeralOwner === 0n);
        const parent = candidates[step.pick % candidates.length]!;
        const path = this.childPath(parent, step.name, step.sequential);
        if (this.tree.get(path) !== undefined) return;
        const parentCversion = this.tree.get(parent)!.stat.cversion + 1;
        const acl = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
        if (step.ephemeral && sessions.length > 0)
          this.emit(session, ZkOpCode.create, {
            kind: 'create',
            path,
            data: step.data,
            acl,
            ephemeral: true,
            parentCversion,
          });
        else if (step.container)
          this.emit(session, ZkOpCode.createContainer, {
            kind: 'createContainer',
            path,
            data: step.data,
            acl,
            parentCversion,
          });
        else if (step.ttl)
          this.emit(session, ZkOpCode.createTTL, {
            kind: 'createTTL',
            path,
            data: step.data,
            acl,
            parentCversion,
            ttl: 60_000n,
          });
        else
          this.emit(session, ZkOpCode.create2, {
            kind: 'create',
            path,
            data: step.data,
            acl,
            ephemeral: false,
            parentCversion,
          });
        return;
      }
      case 'delete': {
        const leaves = paths.filter((p) => this.tree.get(p)!.children.size === 0);
        if (leaves.length === 0) return;
        this.emit(session, ZkOpCode.delete, { kind: 'delete', path: leaves[step.pick % leaves.length]! });
        return;
      }
      case 'setData': {
        if (paths.length === 0) return;
        const path = paths[step.pick % paths.length]!;
        const version = this.tree.get(path)!.stat.version + 1;
        this.emit(session, ZkOpCode.setData, { kind: 'setData', path, data: step.data, version });
        return;
      }
      case 'setACL': {
        if (paths.length === 0) return;
        const path = paths[step.pick % paths.length]!;
        const version = this.tree.get(path)!.stat.aversion + 1;
        this.emit(session, ZkOpCode.setACL, { kind: 'setACL', path, acl: step.acl, version });
        return;
      }
      case 'multi': {
        const path = this.childPath('', step.name, true);
        const parentCversion = this.tree.root().stat.cversion + 1;
        const create: ZkTxn = {
          kind: 'create',
          path,
          data: new Uint8Array([1]),
          acl: null,
          ephemeral: false,
          parentCversion,
        };
        const parts: ZkMultiPart[] = step.fail
          ? [
              { type: ZkOpCode.error, data: encodeTxnRecord({ kind: 'error', err: 0 }) },
              { type: ZkOpCode.error, data: encodeTxnRecord({ kind: 'error', err: -101 }) },
              { type: ZkOpCode.error, data: encodeTxnRecord({ kind: 'error', err: -2 }) },
            ]
          : [
              { type: ZkOpCode.create, data: encodeTxnRecord(create) },
              {
                type: ZkOpCode.setData,
                data: encodeTxnRecord({ kind: 'setData', path, data: new Uint8Array([2]), version: 1 }),
              },
              { type: ZkOpCode.check, data: encodeTxnRecord({ kind: 'check', path, version: 1 }) },
            ];
        this.emit(session, ZkOpCode.multi, { kind: 'multi', parts });
        return;
      }
    }
  }
}
