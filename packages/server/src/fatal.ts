/**
 * How a driven peer fails for good. The core never throws for an expected outcome (those are
 * typed results and ZooKeeper error codes), so a throw out of `step` is a broken invariant;
 * a storage action that fails leaves a store the peer can no longer trust. Either way the
 * driver stops the peer (fail-stop: it never serves on), records the first such error as a
 * `PeerFatalError` and tells its listeners, so the host hears of it as a typed error instead
 * of an uncaught throw in some microtask.
 */
import type { ServerId } from '@zabkit/core';

/** Why a peer stopped: the core broke an invariant, or its storage failed. */
export type PeerFatalReason = 'invariant' | 'storage';

/** A driven peer stopped for good; `cause` is what the core or the storage threw. */
export class PeerFatalError extends Error {
  override readonly name = 'PeerFatalError';

  constructor(
    /** The server whose peer stopped. */
    readonly serverId: ServerId,
    /** What failed. */
    readonly reason: PeerFatalReason,
    cause: unknown,
  ) {
    const what = reason === 'storage' ? 'its storage failed' : 'it broke an invariant';
    super(`server ${serverId} stopped: ${what}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

/** Told once, when the peer stops for good. */
export type FatalListener = (error: PeerFatalError) => void;

/** The first fatal error of a driver and the listeners to tell; later errors are dropped. */
export class FatalState {
  private first: PeerFatalError | undefined;
  private readonly listeners = new Set<FatalListener>();

  /** The error the peer stopped with, if it did. */
  get error(): PeerFatalError | undefined {
    return this.first;
  }

  /** Registers a listener; returns a function that removes it. */
  listen(listener: FatalListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Records `error` if it is the first and tells every listener; false when the peer had
   * already failed (the later error is a consequence and is dropped).
   */
  raise(error: PeerFatalError): boolean {
    if (this.first !== undefined) return false;
    this.first = error;
    for (const listener of [...this.listeners]) listener(error);
    return true;
  }
}
