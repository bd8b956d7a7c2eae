/**
 * A client that keeps creating /w/n-0, /w/n-1, ... while a test changes the ensemble under
 * it, and remembers which creates were acknowledged: the membership and failover tests check
 * that none of those is lost.
 */
import { type ZabClient, ZabError } from '@zabkit/client';

export interface SteadyWriter {
  /** The names under /w whose create was acknowledged, in order. */
  readonly acknowledged: readonly string[];
  /** Stops after the create in flight; resolves once the loop has ended. */
  stop(): Promise<void>;
  /** The acknowledged names that `reader`'s /w lacks after a sync: [] when none was lost. */
  missingFrom(reader: ZabClient): Promise<string[]>;
}

/**
 * Creates /w, then writes until stopped. A create that fails with a ZabError (its server went
 * away, no quorum yet) may or may not have happened: it is not counted, and the next one
 * comes `retryMs` later. Any other error ends the loop and rejects `stop()`.
 */
export async function startSteadyWriter(writer: ZabClient, retryMs: number): Promise<SteadyWriter> {
  await writer.create('/w');
  const acknowledged: string[] = [];
  let writing = true;
  const writes = (async () => {
    for (let i = 0; writing; i++) {
      try {
        await writer.create(`/w/n-${i}`, String(i));
        acknowledged.push(`n-${i}`);
      } catch (error) {
        if (!(error instanceof ZabError)) throw error;
        await new Promise((resolve) => setTimeout(resolve, retryMs));
      }
    }
  })();
  return {
    acknowledged,
    stop: async () => {
      writing = false;
      await writes;
    },
    missingFrom: async (reader) => {
      await reader.sync('/w');
      const children = new Set(await reader.getChildren('/w'));
      return acknowledged.filter((name) => !children.has(name));
    },
  };
}
