/**
 * Writes are linearizable: Wing and Gong's search with Lowe's memoisation (as in
 * anishathalye/porcupine), partitioned by znode path (P-compositionality), with union-find joining the paths a multi
touches into one group. A write whose
 * outcome is unknown (its connection broke) may have taken effect at any point after its
 * call, or never. The search has a budget of steps and answers "unknown" rather than hang:
 * counted in steps, not milliseconds, so a verdict depends on the history alone, never on how
 * loaded the machine is (the same seed gives the same result anywhere).
 */
import { ErrorCode } from '@zabkit/core';
import { pathsOf, type SingleWrite, type WriteInput, type WriteRecord } from '../clients.js';
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
  /** For a failed multi: the op that failed. */
  readonly failedIndex?: number | undefined;
}

/** A group's state: every path it covers (a missing path does not exist). */
type GroupState = ReadonlyMap<string, PathState>;

const absent: PathState = { exists: false, version: 0 };

/** What one write does to one path: its code and the path's next state. */
function apply(state: PathState, write: SingleWrite): { code: number; next: PathState } {
  if (write.op === 'create') {
    return state.exists
      ? { code: ErrorCode.NodeExists, next: state }
      : { code: ErrorCode.Ok, next: { exists: true, version: 0 } };
  }
  if (!state.exists) return { code: ErrorCode.NoNode, next: state };
  if (write.version !== -1 && write.version !== state.version)
    return { code: ErrorCode.BadVersion, next: state };
  if (write.op === 'check') return { code: ErrorCode.Ok, next: state };
  if (write.op === 'delete') return { code: ErrorCode.Ok, next: absent };
  return { code: ErrorCode.Ok, next: { exists: true, version: nextVersion(state.version) } };
}

/** The model: the next state, or undefined when the op's reported outcome is impossible here. */
function step(state: GroupState, op: Op): GroupState | undefined {
  const writes = op.input.op === 'multi' ? op.input.ops : [op.input];
  const next = new Map(state);
  let failedIndex = -1;
  let failedCode: number = ErrorCode.Ok;
  for (const [index, write] of writes.entries()) {
    const result = apply(next.get(write.path) ?? absent, write);
    if (result.code !== ErrorCode.Ok) {
      failedIndex = index;
      failedCode = result.code;
      break;
    }
    next.set(write.path, result.next);
  }
  // All or nothing: a multi with a failing op changes nothing.
  const after = failedIndex >= 0 ? state : next;
  if (op.code === undefined) return after;
  if (op.code !== failedCode) return undefined;
  if (op.input.op === 'multi' && failedIndex >= 0 && op.failedIndex !== failedIndex) return undefined;
  if (op.input.op === 'setData' && failedIndex < 0 && op.version !== undefined) {
    if (after.get(op.input.path)?.version !== op.version) return undefined;
  }
  return after;
}

function keyOf(state: GroupState): string {
  return [...state]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([path, node]) => `${path}=${node.exists ? node.version : '-'}`)
    .join(',');
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

/**
 * Search steps one group may take before its verdict is "unknown". The sim's groups take
 * tens of thousands at most (27k over seeds 1-60); this many take a few seconds on this
 * project's 2-core machine.
 */
export const searchStepsMax = 2_000_000;

/** Checks one path's operations, in at most `stepsMax` search steps. */
export function checkPathHistory(ops: readonly Op[], stepsMax = searchStepsMax): LinearizabilityVerdict {
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
  const stack: { entry: Entry; state: GroupState }[] = [];
  let linearized = 0n;
  let state: GroupState = new Map();
  let entry = head.next;
  let steps = 0;
  while (head.next !== undefined) {
    if (++steps > stepsMax) return 'unknown';
    // Only unknown-outcome operations are left: they may never have happened.
    if (!head.next.isCall && ops[head.next.op]!.code === undefined) return 'ok';
    if (entry === undefined) return 'illegal';
    if (entry.isCall) {
      const next = step(state, ops[entry.op]!);
      const bit = 1n << BigInt(entry.op);
      const key = next === undefined ? '' : `${(linearized | bit).toString(36)}|${keyOf(next)}`;
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

/**
 * Groups the run's writes by the paths they touch and checks each group; ephemerals are left out.
 * `unknown` counts the groups whose search ran out of its `stepsMax` steps: neither proved nor
 * refuted, so a run reports them rather than passing them silently.
 */
export function checkWritesLinearizable(
  writes: readonly WriteRecord[],
  stepsMax = searchStepsMax,
): {
  violations: Violation[];
  groups: number;
  unknown: number;
} {
  const parent = new Map<string, string>();
  const find = (path: string): string => {
    let root = path;
    while (parent.has(root) && parent.get(root) !== root) root = parent.get(root)!;
    parent.set(path, root);
    return root;
  };
  const ops: { op: Op; paths: string[] }[] = [];
  for (const write of writes) {
    const paths = pathsOf(write.input);
    // Session expiry deletes ephemerals outside the client history: those paths are not modelled.
    if (paths.some((path) => path.startsWith('/e'))) continue;
    const code = write.output?.code;
    // Refused before it could take effect (the session was gone, say): no effect to place.
    const known = [ErrorCode.Ok, ErrorCode.NodeExists, ErrorCode.NoNode, ErrorCode.BadVersion] as number[];
    if (code !== undefined && !known.includes(code)) continue;
    ops.push({
      op: {
        input: write.input,
        call: write.callTime,
        ret: write.returnTime ?? Number.POSITIVE_INFINITY,
        code,
        version: write.output?.version,
        failedIndex: write.output?.failedIndex,
      },
      paths,
    });
    for (const path of paths) if (!parent.has(path)) parent.set(path, path);
    for (const path of paths.slice(1)) parent.set(find(path), find(paths[0]!));
  }
  const groups = new Map<string, Op[]>();
  for (const { op, paths } of ops) {
    const root = find(paths[0]!);
    let list = groups.get(root);
    if (list === undefined) groups.set(root, (list = []));
    list.push(op);
  }
  const violations: Violation[] = [];
  let unknown = 0;
  for (const [root, group] of groups) {
    const verdict = checkPathHistory(group, stepsMax);
    if (verdict === 'unknown') unknown++;
    if (verdict === 'illegal') {
      violations.push({
        check: 'linearizability',
        message: `the ${group.length} writes to the group of ${root} have no legal order`,
      });
    }
  }
  return { violations, groups: groups.size, unknown };
}

export type { Op as LinearizableWrite };
