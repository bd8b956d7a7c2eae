/**
 * Writes are linearizable: Wing and Gong's search with Lowe's memoisation (as in
 * anishathalye/porcupine), partitioned by znode path (P-compositionality). A write whose
 * outcome is unknown (its connection broke) may have taken effect at any point after its
 * call, or never. The search has a time budget and answers "unknown" rather than hang.
 */
import { ErrorCode } from '@zabkit/core';
import type { WriteInput, WriteRecord } from '../clients.js';
import type { Violation } from '../world.js';

interface PathState {
  readonly exists: boolean;
  readonly version: number;
}

interface Op {
  readonly input: WriteInput;
  readonly call: number;
  /** Infinity when the outcome is unknown. */
  readonly ret: number;
  /** undefined when the outcome is unknown. */
  readonly code: number | undefined;
  readonly version: number | undefined;
}

/** The model: what a write does to its path, and whether its reported outcome is legal. */
function step(state: PathState, op: Op): PathState | undefined {
  const { input } = op;
  let code: number;
  let next = state;
  if (input.op === 'create') {
    code = state.exists ? ErrorCode.NodeExists : ErrorCode.Ok;
    if (!state.exists) next = { exists: true, version: 0 };
  } else if (!state.exists) {
    code = ErrorCode.NoNode;
  } else if (input.version !== -1 && input.version !== state.version) {
    code = ErrorCode.BadVersion;
  } else {
    code = ErrorCode.Ok;
    next =
      input.op === 'delete'
        ? { exists: false, version: 0 }
        : { exists: true, version: nextVersion(state.version) };
  }
  if (op.code === undefined) return next;
  if (op.code !== code) return undefined;
  if (
    input.op === 'setData' &&
    code === ErrorCode.Ok &&
    op.version !== undefined &&
    op.version !== next.version
  )
    return undefined;
  return next;
}

function nextVersion(version: number): number {
  const next = (version + 1) | 0;
  return next === -1 ? 0 : next;
}

interface Entry {
  readonly op: number;
  readonly isCall: boolean;
  readonly time: number;
  prev: Entry | undefined;
  next: Entry | undefined;
  match: Entry | undefined;
}

export type LinearizabilityVerdict = 'ok' | 'illegal' | 'unknown';

/** Checks one path's operations. */
export function checkPathHistory(
  ops: readonly Op[],
  budgetMs = 5000,
  now: () => number = Date.now,
): LinearizabilityVerdict {
  const entries: Entry[] = [];
  ops.forEach((op, index) => {
    const call: Entry = {
      op: index,
      isCall: true,
      time: op.call,
      prev: undefined,
      next: undefined,
      match: undefined,
    };
    const ret: Entry = {
      op: index,
      isCall: false,
      time: op.ret,
      prev: undefined,
      next: undefined,
      match: call,
    };
    call.match = ret;
    entries.push(call, ret);
  });
  entries.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));
  const head: Entry = {
    op: -1,
    isCall: false,
    time: -Infinity,
    prev: undefined,
    next: undefined,
    match: undefined,
  };
  let last = head;
  for (const entry of entries) {
    last.next = entry;
    entry.prev = last;
    last = entry;
  }
  const lift = (entry: Entry) => {
    for (const e of [entry, entry.match!]) {
      e.prev!.next = e.next;
      if (e.next !== undefined) e.next.prev = e.prev;
    }
  };
  const unlift = (entry: Entry) => {
    for (const e of [entry.match!, entry]) {
      e.prev!.next = e;
      if (e.next !== undefined) e.next.prev = e;
    }
  };
  const cache = new Set<string>();
  const stack: { entry: Entry; state: PathState }[] = [];
  let linearized = 0n;
  let state: PathState = { exists: false, version: 0 };
  let entry = head.next;
  const started = now();
  let steps = 0;
  while (head.next !== undefined) {
    if (++steps % 1000 === 0 && now() - started > budgetMs) return 'unknown';
    // Only unknown-outcome operations are left: they may never have happened.
    if (!head.next.isCall && ops[head.next.op]!.code === undefined) return 'ok';
    if (entry === undefined) return 'illegal';
    if (entry.isCall) {
      const next = step(state, ops[entry.op]!);
      const bit = 1n << BigInt(entry.op);
      const key = `${(linearized | bit).toString(36)}|${next?.exists}:${next?.version}`;
      if (next !== undefined && !cache.has(key)) {
        cache.add(key);
        stack.push({ entry, state });
        state = next;
        linearized |= bit;
        lift(entry);
        entry = head.next;
      } else {
        entry = entry.next;
      }
      continue;
    }
    // A return reached before its call was linearized: undo the last choice.
    const top = stack.pop();
    if (top === undefined) return 'illegal';
    state = top.state;
    linearized &= ~(1n << BigInt(top.entry.op));
    unlift(top.entry);
    entry = top.entry.next;
  }
  return 'ok';
}

/** Groups the run's writes by path and checks each group; ephemeral paths are left out. */
export function checkWritesLinearizable(writes: readonly WriteRecord[]): {
  violations: Violation[];
  unknown: number;
} {
  const byPath = new Map<string, Op[]>();
  for (const write of writes) {
    // Session expiry deletes ephemerals outside the client history: those paths are not modelled.
    if (write.input.op === 'create' && write.input.ephemeral) continue;
    if (write.input.path.startsWith('/e')) continue;
    const code = write.output?.code;
    // Refused before it could take effect (the session was gone, say): no effect to place.
    if (
      code !== undefined &&
      ![ErrorCode.Ok, ErrorCode.NodeExists, ErrorCode.NoNode, ErrorCode.BadVersion].includes(code as never)
    )
      continue;
    const op: Op = {
      input: write.input,
      call: write.callTime,
      ret: write.returnTime ?? Number.POSITIVE_INFINITY,
      code,
      version: write.output?.version,
    };
    let list = byPath.get(write.input.path);
    if (list === undefined) byPath.set(write.input.path, (list = []));
    list.push(op);
  }
  const violations: Violation[] = [];
  let unknown = 0;
  for (const [path, ops] of byPath) {
    const verdict = checkPathHistory(ops);
    if (verdict === 'unknown') unknown++;
    if (verdict === 'illegal')
      violations.push({
        check: 'linearizability',
        message: `the writes to ${path} (${ops.length}) have no legal order`,
      });
  }
  return { violations, unknown };
}

export type { Op as LinearizableWrite };
