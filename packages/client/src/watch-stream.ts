/**
 * A persistent watch as an async iterator. Events are buffered between `next` calls, so a
 * slow consumer loses nothing; leaving the loop (or aborting the signal) removes the watch.
 * The stream ends when the session closes and fails when it expires.
 */
import { ErrorCode, ZabError } from '@zabkit/core';
import type { ClientState } from './state.js';
import type { WatchedEvent, WatchListener } from './watch-registry.js';

/** How a WatchStream sets and removes its persistent watch and follows the connection. */
export interface WatchStreamHooks {
  /** Sets the persistent watch that feeds the stream. */
  start(listener: WatchListener): Promise<void>;
  /** Removes it. */
  stop(listener: WatchListener): Promise<void>;
  /** Follows the client's state, so the stream ends with the session. */
  onState(listener: (state: ClientState) => void): () => void;
  signal?: AbortSignal | undefined;
}

/** A persistent watch as an async iterator; leaving the loop removes the watch. */
export class WatchStream implements AsyncIterableIterator<WatchedEvent> {
  private readonly buffered: WatchedEvent[] = [];
  private waiting:
    | { resolve: (result: IteratorResult<WatchedEvent>) => void; reject: (error: Error) => void }
    | undefined;
  private finished = false;
  private failure: Error | undefined;
  private readonly started: Promise<void>;
  private readonly stopStateListener: () => void;
  private readonly listener: WatchListener = (event) => this.push(event);

  constructor(private readonly hooks: WatchStreamHooks) {
    this.stopStateListener = hooks.onState((state) => {
      if (state === 'expired') this.fail(new ZabError(ErrorCode.SessionExpired));
      if (state === 'closed') this.end();
    });
    this.started = hooks.start(this.listener);
    this.started.catch((error: Error) => this.fail(error));
    hooks.signal?.addEventListener('abort', () => void this.return(), { once: true });
  }

  /** Resolves once the server has registered the watch. */
  ready(): Promise<void> {
    return this.started;
  }

  private push(event: WatchedEvent): void {
    if (this.finished) return;
    const waiting = this.waiting;
    if (waiting !== undefined) {
      this.waiting = undefined;
      waiting.resolve({ value: event, done: false });
    } else {
      this.buffered.push(event);
    }
  }

  private fail(error: Error): void {
    if (this.finished) return;
    this.failure = error;
    this.finish();
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(error);
  }

  private end(): void {
    if (this.finished) return;
    this.finish();
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve({ value: undefined, done: true });
  }

  private finish(): void {
    this.finished = true;
    this.stopStateListener();
  }

  /** The next event, waiting for one. */
  next(): Promise<IteratorResult<WatchedEvent>> {
    const event = this.buffered.shift();
    if (event !== undefined) return Promise.resolve({ value: event, done: false });
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  /** Ends the stream and removes the watch. */
  async return(): Promise<IteratorResult<WatchedEvent>> {
    if (!this.finished) {
      this.end();
      await this.started.catch(() => undefined);
      await this.hooks.stop(this.listener);
    }
    this.buffered.length = 0;
    return { value: undefined, done: true };
  }

  /** The stream itself, for `for await`. */
  [Symbol.asyncIterator](): this {
    return this;
  }
}
