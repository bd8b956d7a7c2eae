/**
 * Following a recipe's session across expiry: an expired ZabClient is finished, so a recipe
 * that must outlive its session (a group member, a registration, a cache) is given a
 * `renewSession` factory and moves to the new client it returns, or is given a managed
 * client (the client's own `renewSession: true`) and stays on it through its next session.
 */
import type { ClientState, ZabClient } from '@zabkit/client';

/** Makes a new session (a new ZabClient) after the previous one expired. */
export type SessionFactory = () => Promise<ZabClient>;

export interface SessionHandlers {
  /** The client's connection state changed (on the current client). */
  state?(state: ClientState): void;
  /** A new session replaced an expired one. */
  renewed?(client: ZabClient): void;
  /** The session expired and there is no factory (or the recipe is closing): the recipe is done. */
  lost?(state: 'expired' | 'closed'): void;
  /** The factory failed; it is retried with backoff. */
  error?(error: unknown): void;
}

/** Tracks the current client and renews it after expiry with backoff; `close` stops every timer. */
export class SessionKeeper {
  private current: ZabClient;
  private stopState: () => void;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(
    client: ZabClient,
    private readonly factory: SessionFactory | undefined,
    private readonly handlers: SessionHandlers,
  ) {
    this.current = client;
    this.stopState = this.follow(client);
  }

  get client(): ZabClient {
    return this.current;
  }

  private follow(client: ZabClient): () => void {
    const stopState = client.onStateChange((state) => {
      if (this.closed || client !== this.current) return;
      this.handlers.state?.(state);
      // A managed client (renewSession) opens its next session itself: wait for it.
      if (state === 'expired' && client.renewsSession) return;
      if (state === 'expired' && this.factory !== undefined) this.renew(0);
      else if (state === 'expired' || state === 'closed') this.handlers.lost?.(state);
    });
    const onRenewed = () => {
      if (!this.closed && client === this.current) this.handlers.renewed?.(client);
    };
    client.on('sessionRenewed', onRenewed);
    return () => {
      stopState();
      client.off('sessionRenewed', onRenewed);
    };
  }

  private renew(attempt: number): void {
    if (this.closed || this.factory === undefined) return;
    this.factory().then(
      (client) => {
        if (this.closed) {
          void client.close();
          return;
        }
        this.stopState();
        this.current = client;
        this.stopState = this.follow(client);
        this.handlers.renewed?.(client);
      },
      (error: unknown) => {
        if (this.closed) return;
        this.handlers.error?.(error);
        this.timer = setTimeout(
          () => {
            this.timer = undefined;
            this.renew(attempt + 1);
          },
          Math.min(1000, 20 * 2 ** attempt),
        );
      },
    );
  }

  close(): void {
    this.closed = true;
    this.stopState();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
