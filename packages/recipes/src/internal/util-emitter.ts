/**
 * The recipes' events: Node's EventEmitter, typed, so `on`, `once`, `off` and
 * `events.once(cache, 'initialized')` / `for await (... of events.on(latch, 'isLeader'))` work
 * as everywhere in Node. Two differences, both about keeping a recipe alive: a listener that
 * throws does not keep the others from hearing the event (its error goes to
 * `onListenerError`), and an `error` event nobody listens to is logged, not thrown.
 */
import { EventEmitter } from 'node:events';

/** Event name → listener argument tuple. */
export type EventMap = { [event: string]: unknown[] };

/** A typed EventEmitter; the recipes emit with `fire`, which no listener can break. */
export class TypedEmitter<Events extends { [E in keyof Events]: unknown[] }> extends EventEmitter<Events> {
  constructor() {
    super();
    // Waiters each listen for the event that ends their wait: many listeners are normal here.
    this.setMaxListeners(0);
  }

  /** Emits `event` to every listener (once-listeners included), each shielded from the others. */
  protected fire<E extends keyof Events & (string | symbol)>(event: E, ...args: Events[E]): void {
    const listeners = (this as EventEmitter).rawListeners(event) as ((...values: unknown[]) => void)[];
    if (listeners.length === 0 && event === 'error') {
      this.onListenerError(args[0]);
      return;
    }
    for (const listener of listeners) {
      try {
        listener.apply(this, args);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  /** Where a throwing listener's error (or an unheard `error` event) goes; by default the console. */
  protected onListenerError(error: unknown): void {
    console.error('zabkit recipes: an event listener threw, or an error event had no listener', error);
  }
}

/** A TypedEmitter whose `fire` is open to the object that owns it (a private member). */
export class Emitter<Events extends { [E in keyof Events]: unknown[] }> extends TypedEmitter<Events> {
  override fire<E extends keyof Events & (string | symbol)>(event: E, ...args: Events[E]): void {
    super.fire(event, ...args);
  }

  /** Listens to `event`; returns a function that stops it. */
  subscribe<E extends keyof Events & (string | symbol)>(
    event: E,
    listener: (...args: Events[E]) => void,
  ): () => void {
    const untyped = listener as (...args: unknown[]) => void;
    (this as EventEmitter).on(event, untyped);
    return () => (this as EventEmitter).off(event, untyped);
  }
}
