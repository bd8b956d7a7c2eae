/** A small typed event emitter for the recipes: `on` returns its own unsubscribe. */

/** Event name → listener argument tuple. */
export type EventMap = { [event: string]: unknown[] };

// biome-ignore lint/suspicious/noExplicitAny: listeners of every event share one table
type Listener = (...args: any[]) => void;

/** A typed emitter; a throwing listener is reported to `onListenerError` and does not stop the others. */
export class TypedEmitter<Events extends { [E in keyof Events]: unknown[] }> {
  private readonly listeners = new Map<keyof Events, Set<Listener>>();

  /** Calls `listener` on each `event`; returns a function that stops it. */
  on<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener);
    return () => this.off(event, listener);
  }

  /** Calls `listener` on the next `event` only. */
  once<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): () => void {
    const stop = this.on(event, (...args) => {
      stop();
      listener(...args);
    });
    return stop;
  }

  off<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): void {
    this.listeners.get(event)?.delete(listener as Listener);
  }

  /** Removes every listener. */
  removeAllListeners(): void {
    this.listeners.clear();
  }

  protected emit<E extends keyof Events>(event: E, ...args: Events[E]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        listener(...args);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  /** Where a throwing listener's error goes; by default the console. */
  protected onListenerError(error: unknown): void {
    console.error('zabkit recipes: an event listener threw', error);
  }
}
