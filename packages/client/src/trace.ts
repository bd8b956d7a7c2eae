/**
 * Tracing through `node:diagnostics_channel`, for APM tools and ad-hoc probes, at no cost when
 * nobody listens.
 *
 * - The tracing channel `zabkit:client` (`tracing:zabkit:client:start`, `:end`, `:asyncStart`,
 *   `:asyncEnd`, `:error`) wraps every operation; its context is an {@link OperationTrace},
 *   complete (duration, outcome) by `asyncStart`.
 * - One plain channel per operation, `zabkit:client:<op>` (`zabkit:client:getData`, ...),
 *   receives the finished {@link OperationTrace} once the operation settles.
 */
import { type Channel, channel, type TracingChannel, tracingChannel } from 'node:diagnostics_channel';

/** What a traced operation reports: filled in as it runs, complete once it settles. */
export interface OperationTrace {
  /** The operation: `create`, `getData`, `multi`, `deleteRecursive`, ... */
  readonly op: string;
  /** The path as the caller gave it (for multi and multiRead, the first op's). */
  readonly path: string | undefined;
  /** The chroot or namespace the path is under ("/" for none). */
  readonly root: string;
  /** The session the operation started on. */
  readonly sessionId: bigint;
  /** Attempts made, 1 without retries. */
  attempts: number;
  /** Milliseconds from start to settlement, on the client's clock. */
  durationMs?: number;
  /** `ok`, `error` (a ZooKeeper or other error), `aborted` or `timeout`. */
  outcome?: 'ok' | 'error' | 'aborted' | 'timeout';
  /** ZooKeeper's error name when the outcome is a ZooKeeper error (`NoNode`, ...). */
  code?: string;
  /** The error an unsuccessful operation rejected with. */
  error?: unknown;
  /** Set by the tracing channel: the value a successful operation resolved with. */
  result?: unknown;
}

/** The name of the tracing channel that wraps every client operation. */
export const operationTracingChannelName = 'zabkit:client';

/** The name of the plain channel that gets each finished `op`. */
export function operationChannelName(op: string): string {
  return `zabkit:client:${op}`;
}

const operations: TracingChannel<OperationTrace, OperationTrace> =
  tracingChannel(operationTracingChannelName);

/** The per-operation channels, held so that checking for subscribers is a map lookup. */
const perOperation = new Map<string, Channel<OperationTrace>>();

function channelOf(op: string): Channel<OperationTrace> {
  let found = perOperation.get(op);
  if (found === undefined)
    perOperation.set(op, (found = channel(operationChannelName(op)) as Channel<OperationTrace>));
  return found;
}

/** True when someone listens to the tracing channel or to `op`'s channel. */
export function tracingWanted(op: string): boolean {
  return operations.hasSubscribers || channelOf(op).hasSubscribers;
}

/** Runs `run` inside the tracing channel with `context`, then publishes the finished context on `op`'s channel. */
export async function traced<T>(context: OperationTrace, run: () => Promise<T>): Promise<T> {
  try {
    return operations.hasSubscribers ? await operations.tracePromise(run, context) : await run();
  } finally {
    const finished = channelOf(context.op);
    if (finished.hasSubscribers) finished.publish(context);
  }
}
