/**
 * A multi as a builder: `await zk.transaction().create(...).setData(...).commit()`.
 * All or nothing: either every op is applied or none is, and a failure names the op.
 */
import { ErrorCode, type ErrorCodeValue, Ids, type MultiOp, type OpResult, ZabError } from '@zabkit/core';
import { createModeNumber } from './modes.js';
import type { CreateOptions, OperationOptions } from './options.js';

export type { CreateOptions };

/**
 * Znode data: bytes, a string stored as UTF-8, or null. Null is not empty data: ZooKeeper
 * keeps it apart (a node created or set with null answers getData with null).
 */
export type Data = Uint8Array | string | null;

const encoder = new TextEncoder();

/**
 * The data a request carries: no data given is empty data, null stays null. Bytes are
 * copied: a server in this process keeps what it is handed as the znode's data, so a caller
 * reusing its buffer (an encoder's, say) would otherwise change the replica under it.
 */
export function toBytes(data: Data | undefined): Uint8Array | null {
  if (data === undefined) return new Uint8Array(0);
  return typeof data === 'string' ? encoder.encode(data) : ownBytes(data);
}

/**
 * A copy of `bytes` that no one else holds (null stays null): what a request may keep. It
 * gets a buffer of its own (about 0.7 us for small data, where a read's copy shares a slab,
 * see core's `ownedCopy`): a write's bytes may stay in the tree as long as the znode does, and
 * a slab would keep 8 KiB alive for each.
 */
export function ownBytes(bytes: Uint8Array | null): Uint8Array | null {
  return bytes === null ? null : new Uint8Array(bytes);
}

export function createOp(path: string, data: Data | undefined, options: CreateOptions = {}): MultiOp {
  return {
    op: 'create',
    path,
    data: toBytes(data),
    acl: options.acl ?? Ids.openAclUnsafe,
    mode: createModeNumber(options.mode ?? 'persistent'),
    ttlMs: options.ttlMs === undefined ? -1n : BigInt(options.ttlMs),
  };
}

/** A multi that failed: `results` holds ZooKeeper's per-op outcome, `failedIndex` the culprit. */
export class TransactionError extends ZabError {
  constructor(
    code: ErrorCodeValue,
    readonly results: readonly OpResult[],
    readonly failedIndex: number,
    path: string | undefined,
  ) {
    super(code, path, `transaction op ${failedIndex} failed`);
    this.name = 'TransactionError';
  }
}

/** Throws a TransactionError for a failed multi's results; returns them otherwise. */
export function checkMultiResults(
  ops: readonly MultiOp[],
  results: readonly OpResult[],
): readonly OpResult[] {
  const failedIndex = results.findIndex(
    (result) =>
      result.op === 'error' && result.code !== ErrorCode.Ok && result.code !== ErrorCode.RuntimeInconsistency,
  );
  if (failedIndex < 0) return results;
  const failed = results[failedIndex] as Extract<OpResult, { op: 'error' }>;
  throw new TransactionError(failed.code, results, failedIndex, ops[failedIndex]?.path);
}

/** A multi being built: operations that all succeed or all fail, committed as one. */
export class Transaction {
  private readonly ops: MultiOp[] = [];

  constructor(
    private readonly run: (
      ops: readonly MultiOp[],
      options?: OperationOptions,
    ) => Promise<readonly OpResult[]>,
  ) {}

  /** Adds a create. */
  create(path: string, data?: Data, options?: CreateOptions): this {
    this.ops.push(createOp(path, data, options));
    return this;
  }

  /** Adds a delete, checked against `version` (-1: any). */
  delete(path: string, version = -1): this {
    this.ops.push({ op: 'delete', path, version });
    return this;
  }

  /** Adds a setData, checked against `version` (-1: any). */
  setData(path: string, data: Data, version = -1): this {
    this.ops.push({ op: 'setData', path, data: toBytes(data), version });
    return this;
  }

  /** Fails the whole transaction unless `path` is at `version`. */
  check(path: string, version: number): this {
    this.ops.push({ op: 'check', path, version });
    return this;
  }

  /** How many operations have been added so far. */
  get size(): number {
    return this.ops.length;
  }

  /**
   * Sends the multi; resolves with every result, or rejects with a TransactionError naming the
   * op that failed. `options` bound it and choose its retries, as for any operation.
   */
  commit(options?: OperationOptions): Promise<readonly OpResult[]> {
    return this.run([...this.ops], options);
  }

  /** The operations added so far, in order. */
  get operations(): readonly MultiOp[] {
    return this.ops;
  }
}
