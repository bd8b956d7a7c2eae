/**
 * How one client operation runs: under its scope (signal, deadline), with its retry policy
 * applied only as far as the operation is safe to repeat, traced, and with paths translated
 * between the caller's root and the server.
 *
 * Safety, as Curator reasons about it:
 * - `safe`: repeating changes nothing (reads, sync, watches, auth).
 * - `guarded`: a repeat cannot apply twice (versioned writes, non-sequential creates, protected
 *   creates). When a retry meets the conflict that its own earlier attempt may have caused, the
 *   operation's `Conflict` check decides (Curator's idempotent mode); when it cannot tell, the
 *   operation rejects with ConnectionLoss, ZooKeeper's word for "may or may not have been applied".
 * - `unsafe`: never retried (unconditional writes, unprotected sequential creates).
 */
import {
  type ClientRequest,
  ErrorCode,
  type ErrorName,
  type Reply,
  type ResultByOp,
  ZabError,
} from '@zabkit/core';
import { RequestCancelledError } from './errors.js';
import type { OperationOptions } from './options.js';
import { toClientPath, toServerPath } from './paths.js';
import type { RetryPolicy } from './retry.js';
import { OperationScope } from './scope.js';
import { type Session, wasNotSent } from './session.js';
import { type OperationTrace, traced, tracingWanted } from './trace.js';
import type { WatchKind, WatchListener } from './watch-registry.js';

/** How far an operation may be repeated. */
export type Safety = 'safe' | 'guarded' | 'unsafe';

/** What a retried write checks when it meets a conflict its own earlier attempt may have caused. */
export interface Conflict<T> {
  readonly codes: readonly ErrorName[];
  /** `{ value }` when the node shows the earlier attempt was applied; undefined when it cannot tell. */
  resolve(): Promise<{ value: T } | undefined>;
}

const identity = <T>(value: T): T => value;

/** Errors the retry loop must pass through untouched. */
const finalErrors = new WeakSet<Error>();

/** True when `error` is a ZabError with one of `names`. */
export function isCode(error: unknown, names: readonly ErrorName[]): error is ZabError {
  return error instanceof ZabError && names.includes(error.codeName);
}

/** ConnectionLoss that says why the outcome is unknown; never retried. */
export function outcomeUnknown(path: string | undefined, detail: string, cause: unknown): ZabError {
  const error = new ZabError(ErrorCode.ConnectionLoss, path, detail);
  (error as { cause?: unknown }).cause = cause;
  finalErrors.add(error);
  return error;
}

/** The client-wide defaults an operation falls back on. */
export interface RunnerDefaults {
  readonly retryPolicy?: RetryPolicy | undefined;
  readonly requestTimeoutMs?: number | undefined;
}

export class OperationRunner {
  /**
   * The scope of every operation with no signal, deadline, retries or tracing: it never
   * cancels, so one is shared, and the common call costs no more than a request and its reply.
   */
  private readonly unbounded: OperationScope;

  constructor(
    readonly session: Session,
    /** The server path the caller's "/" stands for. */
    readonly root: string,
    private readonly defaults: RunnerDefaults,
  ) {
    this.unbounded = new OperationScope(session.timers, 'operation', undefined, {});
  }

  serverPath(path: string): string {
    return toServerPath(this.root, path);
  }

  clientPath(path: string): string {
    return toClientPath(this.root, path);
  }

  private isRetriable(error: unknown): boolean {
    if (!(error instanceof ZabError)) return false;
    if (error.is('SessionExpired')) return this.session.renews;
    return error.is('ConnectionLoss') || error.is('OperationTimeout') || error.is('SessionMoved');
  }

  /** Runs one operation: its scope (signal, deadline), its retry policy and its trace. */
  perform<T>(
    op: string,
    path: string | undefined,
    options: OperationOptions | undefined,
    readOnly: boolean,
    body: (scope: OperationScope, policy: RetryPolicy | undefined) => Promise<T>,
  ): Promise<T> {
    const timeoutMs = options?.timeoutMs ?? this.defaults.requestTimeoutMs;
    const policy = options?.retry === false ? undefined : (options?.retry ?? this.defaults.retryPolicy);
    const tracing = tracingWanted(op);
    if (options?.signal === undefined && timeoutMs === undefined && policy === undefined && !tracing) {
      try {
        return body(this.unbounded, undefined);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.performScoped(op, path, options?.signal, timeoutMs, readOnly, policy, tracing, body);
  }

  /**
   * The shared scope when an operation with these options is one plain attempt (no signal,
   * deadline, retry policy or tracing), so that the caller can send it without perform's
   * closures; undefined otherwise. The attempt is counted as `withRetries` would.
   */
  plainAttempt(op: string, options: OperationOptions | undefined): OperationScope | undefined {
    if (!this.isPlain(op, options)) return undefined;
    this.unbounded.attempts++;
    return this.unbounded;
  }

  /** True when an operation with these options would be one plain attempt (see `plainAttempt`). */
  isPlain(op: string, options: OperationOptions | undefined): boolean {
    if (options !== undefined && (options.signal !== undefined || options.timeoutMs !== undefined))
      return false;
    if (this.defaults.requestTimeoutMs !== undefined) return false;
    const policy = options?.retry === false ? undefined : (options?.retry ?? this.defaults.retryPolicy);
    return policy === undefined && !tracingWanted(op);
  }

  private async performScoped<T>(
    op: string,
    path: string | undefined,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    readOnly: boolean,
    policy: RetryPolicy | undefined,
    tracing: boolean,
    body: (scope: OperationScope, policy: RetryPolicy | undefined) => Promise<T>,
  ): Promise<T> {
    const timers = this.session.timers;
    const scope = new OperationScope(timers, op, path, { signal, timeoutMs }, readOnly);
    if (!tracing) {
      try {
        return await body(scope, policy);
      } finally {
        scope.dispose();
      }
    }
    const context: OperationTrace = {
      op,
      path,
      root: this.root,
      sessionId: this.session.sessionId,
      attempts: 0,
    };
    const startedMs = timers.now();
    return traced(context, async () => {
      try {
        const value = await body(scope, policy);
        context.outcome = 'ok';
        return value;
      } catch (error) {
        context.outcome =
          error instanceof RequestCancelledError
            ? error.reason === 'timeout'
              ? 'timeout'
              : 'aborted'
            : 'error';
        if (error instanceof ZabError) context.code = error.codeName;
        context.error = error;
        throw error;
      } finally {
        context.attempts = scope.attempts;
        context.durationMs = timers.now() - startedMs;
        scope.dispose();
      }
    });
  }

  /**
   * Makes attempts until one succeeds, the error is not worth retrying, the policy gives up or
   * the scope is cancelled. `attempt` learns whether an earlier attempt may have been applied.
   */
  withRetries<T>(
    scope: OperationScope,
    policy: RetryPolicy | undefined,
    safety: Safety,
    attempt: (earlierMayHaveApplied: boolean) => Promise<T>,
    conflict?: Conflict<T>,
  ): Promise<T> {
    if (scope.cancelled !== undefined) return Promise.reject(scope.cancelled);
    if (policy === undefined || safety === 'unsafe') {
      // Nothing to retry: one attempt, without the loop's bookkeeping (and its await hops).
      scope.attempts++;
      return attempt(false);
    }
    return this.retryLoop(scope, policy, safety, attempt, conflict);
  }

  private async retryLoop<T>(
    scope: OperationScope,
    policy: RetryPolicy,
    safety: Safety,
    attempt: (earlierMayHaveApplied: boolean) => Promise<T>,
    conflict: Conflict<T> | undefined,
  ): Promise<T> {
    const startedMs = this.session.timers.now();
    let retries = 0;
    let ambiguous = false;
    for (;;) {
      // As ZooKeeper's Java client queues requests while it reconnects: no retry is spent on that.
      await this.session.whenConnected(scope);
      if (scope.cancelled !== undefined) throw scope.cancelled;
      scope.attempts++;
      try {
        return await attempt(ambiguous);
      } catch (error) {
        if (error instanceof RequestCancelledError || (error instanceof Error && finalErrors.has(error)))
          throw error;
        if (conflict !== undefined && ambiguous && isCode(error, conflict.codes))
          return this.resolveConflict(scope, conflict, error);
        if (!this.isRetriable(error)) throw error;
        if (!wasNotSent(error)) {
          ambiguous = true;
          if (safety !== 'safe') scope.maybeApplied = true;
        }
        const delayMs = policy.nextRetryDelayMs(retries++, this.session.timers.now() - startedMs);
        if (delayMs === undefined) throw error;
        this.session.logger?.debug(
          { op: scope.op, path: scope.path, retry: retries, delayMs, code: (error as ZabError).codeName },
          'zabkit client: retrying',
        );
        await scope.sleep(delayMs);
      }
    }
  }

  private async resolveConflict<T>(
    scope: OperationScope,
    conflict: Conflict<T>,
    error: ZabError,
  ): Promise<T> {
    let resolved: { value: T } | undefined;
    let cause: unknown = error;
    try {
      resolved = await conflict.resolve();
    } catch (checkError) {
      if (checkError instanceof RequestCancelledError) throw checkError;
      cause = checkError;
    }
    if (resolved !== undefined) return resolved.value;
    throw outcomeUnknown(
      scope.path,
      `a retry met ${error.codeName} after a connection loss: the first attempt may have been applied`,
      cause,
    );
  }

  /** One request, its reply unwrapped: the result, or ZooKeeper's error for the caller's path. */
  send<Op extends ClientRequest['op']>(
    request: ClientRequest & { op: Op },
    scope: OperationScope,
    clientPath: string | undefined,
    onReply?: (reply: Reply) => void,
  ): Promise<ResultByOp[Op]> {
    return this.sendMapped<Op, ResultByOp[Op]>(request, scope, clientPath, identity, onReply);
  }

  /** `send`, with `map` applied to the result in the same reaction (one promise, not two). */
  sendMapped<Op extends ClientRequest['op'], T>(
    request: ClientRequest & { op: Op },
    scope: OperationScope,
    clientPath: string | undefined,
    map: (result: ResultByOp[Op]) => T,
    onReply?: (reply: Reply) => void,
  ): Promise<T> {
    return this.session.callMapped(request, onReply, scope, clientPath, this.root, map);
  }

  /** Registers `listener` for `kind` at `serverPath` once a reply says the server set the watch. */
  watchRegistration(kind: WatchKind, serverPath: string, listener: WatchListener | undefined) {
    if (listener === undefined) return undefined;
    return (reply: Reply) => {
      if (reply.ok) this.session.watches.add(kind, serverPath, listener, this.root);
    };
  }

  /** A read (or any request safe to repeat): retried whenever the policy allows. */
  read<Op extends ClientRequest['op']>(
    request: ClientRequest & { op: Op },
    path: string | undefined,
    options: OperationOptions | undefined,
    onReply?: (reply: Reply) => void,
  ): Promise<ResultByOp[Op]> {
    const plain = this.plainAttempt(request.op, options);
    if (plain !== undefined) return this.send<Op>(request, plain, path, onReply);
    return this.perform(request.op, path, options, true, (scope, policy) =>
      this.withRetries(scope, policy, 'safe', () => this.send<Op>(request, scope, path, onReply)),
    );
  }
}
